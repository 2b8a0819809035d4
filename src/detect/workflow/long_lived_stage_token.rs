//! `gha-npm-long-lived-stage-token`: a staged publish (`npm stage publish`)
//! authenticated by a long-lived token. Staging keeps working after npm's
//! 2FA-bypass tokens lose direct publishing (a maintainer approves each
//! version with 2FA), but the token is still a long-lived credential in the
//! repository's secrets; trusted publishing can stage too, without one.

use super::{Ctx, key, private_registry, publish_auth, publishing_steps};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "gha-npm-long-lived-stage-token";

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
            if !p.staged || private_registry(wf, job, step.index, &p).is_some() {
                continue;
            }
            let Some(auth) = publish_auth(cx, job, step, &p) else {
                continue;
            };
            let hosted = if job.self_hosted() {
                "; trusted publishing needs a GitHub-hosted runner"
            } else {
                ""
            };
            sink.hit(
                Hit::new(
                    RULE,
                    p.range.clone(),
                    format!(
                        "`{}` in job {} stages with a long-lived token ({}, from {}): it keeps working after {} (a maintainer approves each version with 2FA), but the token is still a long-lived credential that can stage versions and read private packages; stage with trusted publishing (OIDC) instead and delete the secret{hosted}",
                        p.what,
                        job.id,
                        auth.what,
                        auth.source,
                        policy.value("bypass_2fa_publish_end"),
                    ),
                )
                .with_key(key(job, Some(step), &format!("stage={}", p.what)))
                .with_detail("credential", auth.source)
                .with_detail("readiness", "token-staged"),
            );
        }
    }
}
