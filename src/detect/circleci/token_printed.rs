//! `circleci-npm-token-printed`: a job writes an npm token to its log (the
//! shared checks of `gha-npm-secret-printed`: `echo`/`printf`, `cat` of a
//! file the token went into, environment dumps, `set -x`) or into a file a
//! later step keeps: `persist_to_workspace` (attached by downstream jobs),
//! `store_artifacts` (downloadable from the job page; public for public
//! projects) or `save_cache` (restored into other branches' builds, pull
//! requests' included).
//!
//! CircleCI masks the values of project environment variables and context
//! variables in job output, but not a transformed value (`base64`, a
//! substring) and not a value shorter than four characters, so printing is
//! reported whatever the settings the file does not show.

use super::model::project_relative;
use super::{CircleCtx, key};
use crate::detect::ci_pipeline::kept_by;
use crate::detect::workflow::{secret_printed, token_writes};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;

pub const RULE: &str = "circleci-npm-token-printed";

/// GitHub's masking notes, told for CircleCI.
fn circleci_wording(message: &str) -> String {
    message
        .replace(
            "; the value is transformed, so GitHub's log masking will not hide it",
            "; the value is transformed, so CircleCI's secrets masking will not hide it",
        )
        .replace(
            "; GitHub masks exact matches of registered secrets, but masking is best effort",
            "; CircleCI masks project and context variables in job output, but masking is best effort",
        )
        .replace(
            "; the value is not a registered secret, so GitHub will not mask it",
            "; CircleCI masks it only if it is a project or context variable",
        )
}

pub fn check(ccx: &CircleCtx, sink: &mut Sink) {
    let c = ccx.c;
    // 1. The log: the shared analysis, re-labelled.
    let mut own = Sink::default();
    secret_printed::check(&ccx.cx, &mut own);
    for mut h in own.hits {
        h.rule_id = RULE;
        h.message = circleci_wording(&h.message);
        sink.hit(h);
    }
    // 2. A file with the token, kept by a later step.
    for (j, job) in c.workflow.jobs.iter().enumerate() {
        let kept = &c.jobs[j].kept;
        if kept.is_empty() {
            continue;
        }
        for w in token_writes(&ccx.cx, job) {
            let path = project_relative(&w.path, &c.jobs[j].working_directory);
            let Some(k) = kept
                .iter()
                .find(|k| k.step > w.step && kept_by(&path, &k.path))
            else {
                continue;
            };
            let step = &job.steps[w.step];
            let why = match k.what {
                "persist_to_workspace" => {
                    "the workspace is attached by every downstream job of the workflow and kept for days"
                }
                "store_artifacts" => {
                    "artifacts can be downloaded from the job page (by anyone, for a public project) and stay after the job"
                }
                _ => {
                    "the cache is restored into later builds, other branches' and pull requests' included"
                }
            };
            sink.hit(
                Hit::new(
                    RULE,
                    w.range.clone(),
                    format!(
                        "job {} writes the npm token from {} into {} and `{}` keeps it (`{}`): {why}",
                        job.id, w.source, w.path, k.what, k.path
                    ),
                )
                .with_key(key(job, Some(step), &format!("kept={}:{}", k.what, w.path)))
                .with_severity(Severity::High)
                .with_detail("credential", w.source.clone())
                .with_detail("file", w.path.clone()),
            );
        }
    }
}
