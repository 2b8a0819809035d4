//! `gha-npm-token-with-oidc`: a job set up for trusted publishing
//! (`id-token: write`) whose publish step still sees a token. npm tries
//! OIDC first and silently falls back to the token, so a broken
//! trusted-publisher setup goes unnoticed and the token stays in use.

use super::{Ctx, key, private_registry, publish_auth, publishing_steps};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "gha-npm-token-with-oidc";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    for (job, step, publishes) in publishing_steps(wf) {
        if !wf.id_token_write(job) {
            continue;
        }
        let p = &publishes[0];
        // Trusted publishing exists only on the public registry: a token for
        // another registry (GitHub Packages, a publishing proxy) is the only
        // way in there, and `id-token: write` serves provenance.
        if private_registry(wf, job, step.index, p).is_some() {
            continue;
        }
        let Some(auth) = publish_auth(cx, job, step, p) else {
            continue;
        };
        sink.hit(
            Hit::new(
                RULE,
                auth.range.clone(),
                format!(
                    "job {} has `id-token: write` for trusted publishing, but {} also gets a token ({}, from {}); npm (and pnpm) try OIDC first and silently fall back to the token when it fails, and that fallback can no longer publish directly from {}",
                    job.id,
                    p.shown(),
                    auth.what,
                    auth.source,
                    Policy::global().value("bypass_2fa_publish_end"),
                ),
            )
            .with_key(key(job, Some(step), &format!("publish={}", p.what)))
            .with_detail("credential", auth.source)
            .with_publish_via(p),
        );
    }
}
