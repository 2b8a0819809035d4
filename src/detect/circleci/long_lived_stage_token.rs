//! `circleci-npm-long-lived-stage-token`: a staged publish (`npm stage
//! publish`) authenticated by a long-lived token. Staging keeps working
//! after npm's 2FA-bypass tokens lose direct publishing (a maintainer
//! approves each version with 2FA), but the token is still a long-lived
//! credential in the project's settings or a context; trusted publishing
//! can stage too, without one.

use super::{CircleCtx, key, other_registry, publish_token, publishes};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "circleci-npm-long-lived-stage-token";

pub fn check(ccx: &CircleCtx, sink: &mut Sink) {
    let c = ccx.c;
    let policy = Policy::global();
    for (j, job, step, publish) in publishes(c) {
        let cj = &c.jobs[j];
        // With the npm OIDC token the token is a fallback: circleci-npm-oidc-broken's.
        if !publish.staged || cj.wants_oidc() || other_registry(c, job, step, &publish).is_some() {
            continue;
        }
        let Some(auth) = publish_token(ccx, job, step, &publish) else {
            continue;
        };
        let cloud = match cj.executor.runner() {
            Some(rc) => format!(
                "; trusted publishing needs CircleCI cloud, not the runner resource class {rc}"
            ),
            None => String::new(),
        };
        sink.hit(
            Hit::new(
                RULE,
                publish.range.clone(),
                format!(
                    "{} in job {} stages with a long-lived token ({}, from {}): it keeps working after {} (a maintainer approves each version with 2FA), but the token is still a long-lived credential that can stage versions and read private packages; stage with trusted publishing (`NPM_ID_TOKEN` from `circleci run oidc get`) instead and delete the variable{cloud}",
                    publish.shown(),
                    job.id,
                    auth.what,
                    auth.source,
                    policy.value("bypass_2fa_publish_end"),
                ),
            )
            .with_key(key(job, Some(step), &format!("stage={}", publish.what)))
            .with_detail("credential", auth.source)
            .with_detail("readiness", "token-staged")
            .with_publish_via(&publish),
        );
    }
}
