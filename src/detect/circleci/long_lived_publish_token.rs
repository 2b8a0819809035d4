//! `circleci-npm-long-lived-publish-token`: a job publishes directly to the
//! public registry with a long-lived npm token where trusted publishing
//! works (CircleCI cloud). Tokens that bypass 2FA lose direct publishing
//! from about January 2027 (`rules/npm-policy.toml`), so this job stops
//! working then. Jobs that request the npm OIDC token are
//! `circleci-npm-oidc-broken`'s (a token next to it hides OIDC failures).

use super::{CircleCtx, key, other_registry, publish_token, publishes, token_origin};
use crate::detect::workflow::Tool;
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "circleci-npm-long-lived-publish-token";

pub fn check(ccx: &CircleCtx, sink: &mut Sink) {
    let c = ccx.c;
    let policy = Policy::global();
    for (j, job, step, publish) in publishes(c) {
        let cj = &c.jobs[j];
        if publish.staged || cj.wants_oidc() || other_registry(c, job, step, &publish).is_some() {
            continue;
        }
        let Some(auth) = publish_token(ccx, job, step, &publish) else {
            continue;
        };
        let way_forward = if let Some(rc) = cj.executor.runner() {
            format!(
                "trusted publishing works only on CircleCI cloud and this job runs on the self-hosted runner resource class {rc}: move the publish to a cloud executor with trusted publishing, or stage it with `npm stage publish` for a maintainer to approve with 2FA"
            )
        } else if publish.tool == Tool::Bun {
            "`bun publish` has no trusted publishing: publish with npm and trusted publishing, or stage with `npm stage publish` for a maintainer to approve with 2FA".to_string()
        } else {
            "move to npm trusted publishing (`export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.org\"}')` before the publish, no token), or stage with `npm stage publish` for a maintainer to approve with 2FA".to_string()
        };
        let source = if auth.source.starts_with('$') {
            format!("{} ({})", auth.source, token_origin(c, j))
        } else {
            auth.source.clone()
        };
        sink.hit(
            Hit::new(
                RULE,
                publish.range.clone(),
                format!(
                    "{} in job {} publishes with a long-lived token ({}, from {source}); npm tokens that bypass 2FA lose direct publishing from {}, so this publish stops working then: {way_forward}",
                    publish.shown(),
                    job.id,
                    auth.what,
                    policy.value("bypass_2fa_publish_end"),
                ),
            )
            .with_key(key(job, Some(step), &format!("publish={}", publish.what)))
            .with_detail("credential", auth.source)
            .with_detail("readiness", "will-break")
            .with_publish_via(&publish),
        );
    }
}
