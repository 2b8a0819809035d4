//! `gitlab-npm-long-lived-publish-token`: a job publishes directly to the
//! public registry with a long-lived npm token where trusted publishing
//! works (GitLab.com hosted runners). Tokens that bypass 2FA lose direct
//! publishing from about January 2027 (`rules/npm-policy.toml`), so this
//! job stops working then. Jobs that request the npm ID token are
//! `gitlab-npm-oidc-broken`'s (a token next to it hides OIDC failures).

use super::{GitlabCtx, key, other_registry, publish_token, publishes};
use crate::detect::workflow::Tool;
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "gitlab-npm-long-lived-publish-token";

pub fn check(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    let policy = Policy::global();
    for (j, job, step, publish) in publishes(p) {
        let gl = &p.jobs[j];
        if publish.staged
            || gl.npm_id_token().is_some()
            || other_registry(p, job, step, &publish).is_some()
        {
            continue;
        }
        let Some(auth) = publish_token(gx, job, step, &publish) else {
            continue;
        };
        let tags = gl.self_managed_tags();
        let way_forward = if !tags.is_empty() {
            format!(
                "trusted publishing works only on GitLab.com hosted runners and this job is tagged for self-managed ones ({}): move the publish to a hosted runner with trusted publishing, or stage it with `npm stage publish` for a maintainer to approve with 2FA",
                tags.join(", ")
            )
        } else if publish.tool == Tool::Bun {
            "`bun publish` has no trusted publishing: publish with npm and trusted publishing, or stage with `npm stage publish` for a maintainer to approve with 2FA".to_string()
        } else {
            "move to npm trusted publishing (`id_tokens: NPM_ID_TOKEN: aud: \"npm:registry.npmjs.org\"`, no token), or stage with `npm stage publish` for a maintainer to approve with 2FA".to_string()
        };
        sink.hit(
            Hit::new(
                RULE,
                p.at(j, publish.range.clone()),
                format!(
                    "{} in job {} publishes with a long-lived token ({}, from {}); npm tokens that bypass 2FA lose direct publishing from {}, so this publish stops working then: {way_forward}{}",
                    publish.shown(),
                    job.id,
                    auth.what,
                    auth.source,
                    policy.value("bypass_2fa_publish_end"),
                    p.where_(j, &publish.range),
                ),
            )
            .with_key(key(job, Some(step), &format!("publish={}", publish.what)))
            .with_detail("credential", auth.source)
            .with_detail("readiness", "will-break")
            .with_publish_via(&publish),
        );
    }
}
