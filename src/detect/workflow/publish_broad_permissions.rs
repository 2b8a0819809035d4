//! `gha-npm-publish-broad-permissions`: a job that publishes runs with
//! `permissions: write-all` or with no `permissions` block at all (then
//! the repository default applies, which may be write access to
//! everything). A publishing job should ask only for what it uses.

use super::{Ctx, Permissions, job_publishes, key};
use crate::detect::{Hit, Sink};
use std::collections::BTreeSet;

pub const RULE: &str = "gha-npm-publish-broad-permissions";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    // Reusable workflows get their permissions from the caller.
    if wf.is_action || wf.is_reusable_only() {
        return;
    }
    let mut seen = BTreeSet::new();
    for job in &wf.jobs {
        if !job_publishes(job) {
            continue;
        }
        match wf.effective_permissions(job) {
            None => {
                sink.hit(
                    Hit::new(
                        RULE,
                        job.key.clone(),
                        format!(
                            "job {} publishes to npm with no `permissions` block at job or workflow level, so its GITHUB_TOKEN gets the repository default (possibly write access to everything)",
                            job.id
                        ),
                    )
                    .with_key(key(job, None, "permissions=default")),
                );
            }
            // One finding per `write-all` block, however many jobs it covers.
            Some(b) if b.perms == Permissions::WriteAll && seen.insert(b.key.start) => {
                sink.hit(
                    Hit::new(
                        RULE,
                        b.key.clone(),
                        format!(
                            "job {} publishes to npm with `permissions: write-all`",
                            job.id
                        ),
                    )
                    .with_key(key(job, None, "permissions=write-all")),
                );
            }
            _ => {}
        }
    }
}
