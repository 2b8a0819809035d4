//! `gha-npm-oidc-no-registry-url` (note, low confidence): a trusted-
//! publishing job whose `actions/setup-node` step has no `registry-url`.
//! npm's own documentation sets it; npm itself uses its configured
//! registry (the public one by default) for the OIDC exchange, so this is
//! only a hint when debugging a failing trusted publish.

use super::{Ctx, Tool, key, real_publishes, setup_node_before};
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
                        "job {} publishes with trusted publishing (`{}`) but actions/setup-node has no `registry-url`; npm's documented setup sets `registry-url: https://registry.npmjs.org`",
                        job.id, p.what
                    ),
                )
                .with_key(key(job, Some(setup), "setup-node")),
            );
            break;
        }
    }
}
