//! `gha-npm-oidc-self-hosted`: npm trusted publishing accepts OIDC tokens
//! from GitHub-hosted runners only; a job on a self-hosted runner (or a
//! runner group) cannot publish that way.

use super::{Ctx, key, real_publishes};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-oidc-self-hosted";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    for job in &wf.jobs {
        if !job.self_hosted() || !wf.id_token_write(job) {
            continue;
        }
        let Some(p) = job.steps.iter().flat_map(real_publishes).next() else {
            continue;
        };
        let range = job.runs_on_range.clone().unwrap_or(job.key.clone());
        sink.hit(
            Hit::new(
                RULE,
                range,
                format!(
                    "job {} publishes ({}) with `id-token: write` on a self-hosted runner; npm trusted publishing does not accept self-hosted runners",
                    job.id, p.shown()
                ),
            )
            .with_key(key(job, None, "runs-on")),
        );
    }
}
