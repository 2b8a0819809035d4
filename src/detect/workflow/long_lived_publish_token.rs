//! `gha-npm-long-lived-publish-token`: a direct publish to the public
//! registry authenticated by a long-lived token. npm tokens that bypass 2FA
//! (what a CI job publishing without a one-time password uses) lose direct
//! publishing from about January 2027 (`rules/npm-policy.toml`): this job
//! stops working then. Staged publishes are `long_lived_stage_token`'s;
//! jobs with `id-token: write` are left to `gha-npm-token-with-oidc`.

use super::{Ctx, Tool, is_job_token, key, private_registry, publish_auth, publishing_steps};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "gha-npm-long-lived-publish-token";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    if wf.is_action {
        return;
    }
    let policy = Policy::global();
    for (job, step, publishes) in publishing_steps(wf) {
        if wf.id_token_write(job) {
            continue;
        }
        for p in publishes {
            if p.staged || private_registry(wf, job, step.index, &p).is_some() {
                continue;
            }
            // The job's GITHUB_TOKEN is not long-lived (and only works on GitHub Packages).
            let Some(auth) = publish_auth(cx, job, step, &p).filter(|a| !is_job_token(&a.source))
            else {
                continue;
            };
            // The way forward depends on where the job runs and what it runs.
            let way_forward = if job.self_hosted() {
                "trusted publishing does not support self-hosted runners: move the publish to a GitHub-hosted runner with trusted publishing (OIDC), or stage it with `npm stage publish` for a maintainer to approve with 2FA"
            } else if p.tool == Tool::Bun {
                "`bun publish` has no trusted publishing: publish with npm and trusted publishing (OIDC), or stage with `npm stage publish` for a maintainer to approve with 2FA"
            } else {
                "move to npm trusted publishing (OIDC, no token), or stage with `npm stage publish` for a maintainer to approve with 2FA"
            };
            sink.hit(
                Hit::new(
                    RULE,
                    p.range.clone(),
                    format!(
                        "{} in job {} publishes with a long-lived token ({}, from {}); npm tokens that bypass 2FA lose direct publishing from {}, so this publish stops working then: {way_forward}",
                        p.shown(),
                        job.id,
                        auth.what,
                        auth.source,
                        policy.value("bypass_2fa_publish_end"),
                    ),
                )
                .with_key(key(job, Some(step), &format!("publish={}", p.what)))
                .with_detail("credential", auth.source)
                .with_detail("readiness", "will-break")
                .with_publish_via(&p),
            );
        }
    }
}
