//! `gitlab-npm-token-in-mr-pipeline`: a job that runs in merge-request
//! pipelines uses an npm token. Merge-request pipelines run the merge
//! request's own code (its `package.json` scripts, its dependencies); a
//! maintainer running a fork's merge request in the parent project hands
//! that code the project's CI/CD variables, and any unprotected variable
//! reaches every branch's merge requests. Publishing credentials belong in
//! protected variables used by jobs on protected branches or tags only.

use super::{GitlabCtx, job_token_uses, key};
use crate::detect::workflow::{read_only_name, real_publishes};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;

pub const RULE: &str = "gitlab-npm-token-in-mr-pipeline";

pub fn check(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    for (j, job) in p.workflow.jobs.iter().enumerate() {
        let Some(why) = &p.jobs[j].merge_requests else {
            continue;
        };
        // The first place the job brings a token in: a variable, or a
        // script expanding one.
        let from_var = job.steps.first().and_then(|s| {
            gx.cx
                .wf
                .step_credentials(job, s, gx.cx.opts)
                .into_iter()
                .find(|(_, c)| !c.read_only)
                .map(|(e, c)| (e.key.clone(), c.source))
        });
        let from_script = || {
            job_token_uses(gx, job)
                .into_iter()
                .next()
                .map(|(_, r, s)| (r, s))
        };
        let Some((range, source)) = from_var.or_else(from_script) else {
            continue;
        };
        if read_only_name(source.trim_start_matches('$')) {
            continue;
        }
        let publishes = job.steps.iter().any(|s| !real_publishes(s).is_empty());
        sink.hit(
            Hit::new(
                RULE,
                p.at(j, range.clone()),
                format!(
                    "job {} uses the npm token from {source} and {why}: the merge request's code runs with it{}{}",
                    job.id,
                    if publishes { " (and the job publishes)" } else { "" },
                    p.where_(j, &range),
                ),
            )
            .with_key(key(job, None, &format!("mr-token={source}")))
            .with_severity(if publishes { Severity::High } else { Severity::Medium })
            .with_detail("credential", source),
        );
    }
}
