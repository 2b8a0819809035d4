//! `gha-npm-long-lived-publish-token`: a publish authenticated by a
//! long-lived token on a GitHub-hosted runner, to the public registry —
//! exactly where OIDC trusted publishing works and needs no token at all.
//! Jobs with `id-token: write` are left to `gha-npm-token-with-oidc`.

use super::{Ctx, Tool, is_job_token, key, private_registry, publish_auth, publishing_steps};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-long-lived-publish-token";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    if wf.is_action {
        return;
    }
    for (job, step, publishes) in publishing_steps(wf) {
        if job.self_hosted() || wf.id_token_write(job) {
            continue;
        }
        for p in publishes {
            // Bun has no trusted-publishing support to move to.
            if p.tool == Tool::Bun || private_registry(wf, job, step.index, &p).is_some() {
                continue;
            }
            // The job's GITHUB_TOKEN is not long-lived (and only works on GitHub Packages).
            let Some(auth) = publish_auth(cx, job, step, &p).filter(|a| !is_job_token(&a.source))
            else {
                continue;
            };
            sink.hit(
                Hit::new(
                    RULE,
                    p.range.clone(),
                    format!(
                        "`{}` in job {} authenticates with a long-lived token ({}, from {}) on a GitHub-hosted runner; npm trusted publishing (OIDC) would need no token",
                        p.what, job.id, auth.what, auth.source
                    ),
                )
                .with_key(key(job, Some(step), &format!("publish={}", p.what)))
                .with_detail("credential", auth.source),
            );
        }
    }
}
