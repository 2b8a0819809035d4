//! `gitlab-npm-token-printed`: a job writes an npm token to its log (the
//! shared checks of `gha-npm-secret-printed`: `echo`/`printf`, `cat` of a
//! file the token went into, environment dumps, `set -x`) or into a file
//! the job keeps as `artifacts:` (downloadable by anyone who can read the
//! pipeline) or `cache:` (restored into other jobs and branches' pipelines).
//!
//! GitLab hides a CI/CD variable in logs only when it is *masked*, and
//! masking does not cover transformed values, so printing is reported
//! whatever the variable's settings (which the file does not show).

use super::{GitlabCtx, key};
use crate::detect::ci_pipeline::kept_by;
use crate::detect::workflow::{secret_printed, token_writes};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;

pub const RULE: &str = "gitlab-npm-token-printed";

/// GitHub's masking notes, told for GitLab.
fn gitlab_wording(message: &str) -> String {
    message
        .replace(
            "; the value is transformed, so GitHub's log masking will not hide it",
            "; the value is transformed, so GitLab's masking of masked variables will not hide it",
        )
        .replace(
            "; GitHub masks exact matches of registered secrets, but masking is best effort",
            "; GitLab hides it only if the CI/CD variable is masked",
        )
        .replace(
            "; the value is not a registered secret, so GitHub will not mask it",
            "; GitLab hides it only if the CI/CD variable is masked",
        )
        .replace(" in step ", " in ")
}

pub fn check(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    // 1. The log: the shared analysis, re-labelled and placed in the root file.
    let mut own = Sink::default();
    secret_printed::check(&gx.cx, &mut own);
    for mut h in own.hits {
        let job_id = h
            .key
            .as_deref()
            .and_then(|k| k.strip_prefix("job="))
            .and_then(|k| k.split('/').next())
            .unwrap_or_default()
            .to_string();
        let Some(j) = p.workflow.jobs.iter().position(|job| job.id == job_id) else {
            continue;
        };
        h.rule_id = RULE;
        h.message = format!("{}{}", gitlab_wording(&h.message), p.where_(j, &h.range));
        h.range = p.at(j, h.range.clone());
        sink.hit(h);
    }
    // 2. A file with the token, kept after the job.
    for (j, job) in p.workflow.jobs.iter().enumerate() {
        let kept = &p.jobs[j].kept;
        if kept.is_empty() {
            continue;
        }
        for w in token_writes(&gx.cx, job) {
            let Some((what, k)) = kept.iter().find(|(_, k)| kept_by(&w.path, k)) else {
                continue;
            };
            let step = &job.steps[w.step];
            let why = if *what == "artifacts" {
                "artifacts can be downloaded by anyone who can read the pipeline, and stay after the job"
            } else {
                "the cache is restored into later jobs and pipelines, other branches' included"
            };
            sink.hit(
                Hit::new(
                    RULE,
                    p.at(j, w.range.clone()),
                    format!(
                        "job {} writes the npm token from {} into {} and keeps it as {what} (`{k}`): {why}{}",
                        job.id,
                        w.source,
                        w.path,
                        p.where_(j, &w.range)
                    ),
                )
                .with_key(key(job, Some(step), &format!("kept={what}:{}", w.path)))
                .with_severity(Severity::High)
                .with_detail("credential", w.source.clone())
                .with_detail("file", w.path.clone()),
            );
        }
    }
}
