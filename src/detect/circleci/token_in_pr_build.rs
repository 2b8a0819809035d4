//! `circleci-npm-token-in-pr-build`: a job that uses an npm token runs for
//! pull-request builds — a workflow runs it on every branch (no branch
//! filter keeping it to the default branch or tags, no approval job, no
//! schedule or `when:` condition). A pull request's build runs the pull
//! request's own code (its `package.json` scripts, its dependencies) with
//! the job's environment; for a fork's pull request that happens only when
//! the project setting *Pass secrets to builds from forked pull requests*
//! is on — which the file cannot show, so the finding names it. Publishing
//! credentials belong in a restricted context used by jobs filtered to the
//! default branch or release tags.

use super::{CircleCtx, key, token_origin};
use crate::detect::ci_pipeline::script_token_uses;
use crate::detect::workflow::{read_only_name, real_publishes};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;

pub const RULE: &str = "circleci-npm-token-in-pr-build";

pub fn check(ccx: &CircleCtx, sink: &mut Sink) {
    let c = ccx.c;
    for (j, job) in c.workflow.jobs.iter().enumerate() {
        let Some(inv) = c.jobs[j]
            .invocations
            .iter()
            .find(|i| i.runs_on_pull_requests())
        else {
            continue;
        };
        // The first place the job brings a token in: its environment, or a
        // script expanding one.
        let from_env = job.steps.iter().find_map(|s| {
            ccx.cx
                .wf
                .step_credentials(job, s, ccx.cx.opts)
                .into_iter()
                .find(|(_, cr)| !cr.read_only)
                .map(|(e, cr)| (e.key.clone(), cr.source))
        });
        let from_script = || {
            script_token_uses(&ccx.cx, job)
                .into_iter()
                .next()
                .map(|(_, r, s)| (r, s))
        };
        let Some((range, source)) = from_env.or_else(from_script) else {
            continue;
        };
        if read_only_name(source.trim_start_matches('$')) {
            continue;
        }
        let publishes = job.steps.iter().any(|s| !real_publishes(s).is_empty());
        let runs = if inv.workflow.is_empty() {
            "the config has no workflows, so CircleCI runs this `build` job on every push"
                .to_string()
        } else {
            format!("workflow {} runs it on every branch", inv.workflow)
        };
        let origin = if source.starts_with('$') {
            format!(" ({})", token_origin(c, j))
        } else {
            String::new()
        };
        sink.hit(
            Hit::new(
                RULE,
                range,
                format!(
                    "job {} uses the npm token from {source}{origin} and {runs}, so pull requests' builds run their own code with it{}; a fork's pull request gets it too if the project passes secrets to builds from forked pull requests (a project setting the file cannot show)",
                    job.id,
                    if publishes { " (and the job publishes)" } else { "" },
                ),
            )
            .with_key(key(job, None, &format!("pr-token={source}")))
            .with_severity(if publishes { Severity::High } else { Severity::Medium })
            .with_detail("credential", source),
        );
    }
}
