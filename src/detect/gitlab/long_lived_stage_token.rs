//! `gitlab-npm-long-lived-stage-token`: a staged publish (`npm stage
//! publish`) authenticated by a long-lived token. Staging keeps working
//! after npm's 2FA-bypass tokens lose direct publishing (a maintainer
//! approves each version with 2FA), but the token is still a long-lived
//! credential in the project's CI/CD variables; trusted publishing can stage
//! too, without one.

use super::{GitlabCtx, key, other_registry, publish_token, publishes};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "gitlab-npm-long-lived-stage-token";

pub fn check(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    let policy = Policy::global();
    for (j, job, step, publish) in publishes(p) {
        let gl = &p.jobs[j];
        // With the npm ID token the token is a fallback: gitlab-npm-oidc-broken's.
        if !publish.staged
            || gl.npm_id_token().is_some()
            || other_registry(p, job, step, &publish).is_some()
        {
            continue;
        }
        let Some(auth) = publish_token(gx, job, step, &publish) else {
            continue;
        };
        let hosted = if gl.self_managed_tags().is_empty() {
            ""
        } else {
            "; trusted publishing needs a GitLab.com hosted runner"
        };
        sink.hit(
            Hit::new(
                RULE,
                p.at(j, publish.range.clone()),
                format!(
                    "{} in job {} stages with a long-lived token ({}, from {}): it keeps working after {} (a maintainer approves each version with 2FA), but the token is still a long-lived credential that can stage versions and read private packages; stage with trusted publishing (`id_tokens: NPM_ID_TOKEN`) instead and delete the variable{hosted}{}",
                    publish.shown(),
                    job.id,
                    auth.what,
                    auth.source,
                    policy.value("bypass_2fa_publish_end"),
                    p.where_(j, &publish.range),
                ),
            )
            .with_key(key(job, Some(step), &format!("stage={}", publish.what)))
            .with_detail("credential", auth.source)
            .with_detail("readiness", "token-staged")
            .with_publish_via(&publish),
        );
    }
}
