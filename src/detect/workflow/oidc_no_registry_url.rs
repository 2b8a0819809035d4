//! `gha-npm-oidc-no-registry-url` (note, low confidence): a trusted-
//! publishing job whose `actions/setup-node` step has no `registry-url`.
//! npm's own documentation sets it; npm itself uses its configured
//! registry (the public one by default) for the OIDC exchange, so this is
//! only a hint when debugging a failing trusted publish.

use super::{Ctx, Tool, key, real_publishes, setup_node_before, token_configured};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-oidc-no-registry-url";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    for job in &wf.jobs {
        if !wf.id_token_write(job) {
            continue;
        }
        for step in &job.steps {
            // semantic-release and changesets write their own npm config, so
            // setup-node's registry-url says nothing about their publish.
            let Some(p) = real_publishes(step)
                .into_iter()
                .find(|p| matches!(p.tool, Tool::Npm | Tool::Pnpm))
            else {
                continue;
            };
            // A token written into npm's config first (`npm config set
            // …:_authToken`, `echo … >> ~/.npmrc`) makes it a token publish,
            // whatever setup-node did (`gha-npm-token-with-oidc` reports the
            // mix). A token in `env:` alone is not: without `registry-url`
            // setup-node writes no `.npmrc` naming it.
            if token_configured(cx, job, step, &p).is_some() {
                continue;
            }
            let Some(setup) = setup_node_before(job, step.index) else {
                continue;
            };
            if setup
                .with_value("registry-url")
                .is_some_and(|v| !v.value.trim().is_empty())
            {
                continue;
            }
            let Some(uses) = &setup.uses else {
                continue;
            };
            sink.hit(
                Hit::new(
                    RULE,
                    uses.range.clone(),
                    format!(
                        "job {} publishes with trusted publishing ({}) but actions/setup-node has no `registry-url`; npm's documented setup sets `registry-url: https://registry.npmjs.org`",
                        job.id, p.shown()
                    ),
                )
                .with_key(key(job, Some(setup), "setup-node")),
            );
            break;
        }
    }
}
