//! `gha-npm-provenance-no-id-token`: `npm publish --provenance` (or
//! `NPM_CONFIG_PROVENANCE=true`) in a job without `id-token: write`: npm
//! refuses to publish (EUSAGE), since provenance needs the OIDC token.

use super::{Ctx, key, real_publishes};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-provenance-no-id-token";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    if wf.is_action {
        return;
    }
    for job in &wf.jobs {
        if wf.id_token_write(job) {
            continue;
        }
        // A reusable workflow without a block inherits the caller's.
        if wf.has_trigger("workflow_call") && wf.effective_permissions(job).is_none() {
            continue;
        }
        for step in &job.steps {
            let env_provenance = wf.effective_env(job, step).iter().any(|e| {
                e.name.eq_ignore_ascii_case("NPM_CONFIG_PROVENANCE")
                    && e.value.value.trim() == "true"
            });
            for p in real_publishes(step) {
                if !(p.provenance || (env_provenance && p.tool.uses_npm_cli())) {
                    continue;
                }
                sink.hit(
                    Hit::new(
                        RULE,
                        p.range.clone(),
                        format!(
                            "{} in job {} asks for provenance, but the job lacks `permissions: id-token: write`; npm will refuse to publish",
                            p.shown(), job.id
                        ),
                    )
                    .with_key(key(job, Some(step), &format!("publish={}", p.what))),
                );
            }
        }
    }
}
