//! `gha-npm-token-in-install-job`: an npm credential handed to a job that
//! never publishes (install, build, test). Such a job needs at most a
//! read-only granular token; a publish-capable one is exposed to every
//! dependency's install scripts for nothing. Token scope cannot be read
//! from the string, so a secret whose name says "read" is trusted.

use super::token_untrusted_trigger::untrusted;
use super::{Ctx, job_publishes, key};
use crate::detect::{Hit, Sink};
use std::collections::BTreeSet;

pub const RULE: &str = "gha-npm-token-in-install-job";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    if wf.is_action || untrusted(wf).is_some() {
        return;
    }
    let mut seen = BTreeSet::new();
    for job in &wf.jobs {
        // A release command that could not be followed may publish: never
        // tell such a job that a read-only token is enough.
        if job.steps.is_empty()
            || job_publishes(job)
            || job.steps.iter().any(|s| s.unfollowed.is_some())
        {
            continue;
        }
        for step in &job.steps {
            for (e, c) in wf.step_credentials(job, step, cx.opts) {
                // GITHUB_TOKEN (GitHub Packages) is scoped by `permissions:`.
                if c.read_only
                    || !c.source.starts_with("secrets.")
                    || c.source.eq_ignore_ascii_case("secrets.GITHUB_TOKEN")
                {
                    continue;
                }
                if !seen.insert((e.key.start, job.id.clone())) {
                    continue;
                }
                let on_pr = if wf.has_trigger("pull_request") {
                    " on pull requests"
                } else {
                    ""
                };
                sink.hit(
                    Hit::new(
                        RULE,
                        e.key.clone(),
                        format!(
                            "job {} never publishes but gets {} (from {}){on_pr}; a read-only granular token is enough to install",
                            job.id, e.name, c.source
                        ),
                    )
                    .with_key(key(job, None, &format!("env={}", e.name)))
                    .with_detail("credential", c.source.clone()),
                );
            }
        }
    }
}
