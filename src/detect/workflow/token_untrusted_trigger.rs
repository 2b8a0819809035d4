//! `gha-npm-token-untrusted-trigger`: an npm credential in a workflow run
//! by `pull_request_target`, `workflow_run` or comment events. These run
//! with the base repository's secrets while being triggerable by outsiders;
//! with a checkout of the pull request's head the attacker's code runs
//! next to the token (critical).

use super::{Ctx, Job, Workflow, job_token_note, key};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;
use std::collections::BTreeSet;

pub const RULE: &str = "gha-npm-token-untrusted-trigger";

const UNTRUSTED: &[&str] = &[
    "pull_request_target",
    "workflow_run",
    "issue_comment",
    "pull_request_review_comment",
];

/// The first untrusted trigger of the workflow.
pub fn untrusted(wf: &Workflow) -> Option<&'static str> {
    UNTRUSTED.iter().copied().find(|t| wf.has_trigger(t))
}

/// Does the job check out (or fetch) the pull request's head?
fn checks_out_head(job: &Job) -> bool {
    const HEAD: &[&str] = &[
        "pull_request.head",
        "github.head_ref",
        "workflow_run.head",
        "refs/pull/",
        "issue.pull_request",
    ];
    job.steps.iter().any(|s| {
        let checkout = s.action().as_deref() == Some("actions/checkout")
            && ["ref", "repository"]
                .iter()
                .filter_map(|k| s.with_value(k))
                .any(|v| HEAD.iter().any(|h| v.value.contains(h)));
        let scripted = s.commands().iter().any(|c| {
            let args: Vec<&str> = c.argv().collect();
            (c.name == "gh" && args.starts_with(&["pr", "checkout"]))
                || (c.name == "git"
                    && matches!(args.first(), Some(&"fetch") | Some(&"checkout"))
                    && (args.iter().any(|a| a.contains("pull/"))
                        || c.args.iter().any(|w| {
                            !w.exprs.is_empty() && HEAD.iter().any(|h| w.value.contains(h))
                        })))
        });
        checkout || scripted
    })
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    let Some(trigger) = untrusted(wf) else {
        return;
    };
    let mut seen = BTreeSet::new();
    for job in &wf.jobs {
        let head = checks_out_head(job);
        let (severity, why) = if head {
            (
                Severity::Critical,
                " and checks out the pull request's head, so untrusted code runs with it",
            )
        } else {
            (Severity::High, "")
        };
        let mut exposures: Vec<(std::ops::Range<usize>, String, String)> = Vec::new();
        for step in &job.steps {
            for (e, c) in wf.step_credentials(job, step, cx.opts) {
                exposures.push((e.key.clone(), e.name.clone(), c.source));
            }
        }
        for e in &job.secrets {
            if let Some(c) = wf.credential(&e.name, &e.value.value, cx.opts) {
                exposures.push((e.key.clone(), e.name.clone(), c.source));
            }
        }
        if let Some(r) = &job.secrets_inherit {
            exposures.push((r.clone(), "secrets: inherit".into(), "every secret".into()));
        }
        if let Some((range, name, source)) = exposures.into_iter().next() {
            if !seen.insert(range.start) {
                continue;
            }
            sink.hit(
                Hit::new(
                    RULE,
                    range,
                    format!(
                        "job {} of a workflow triggered by `{trigger}` receives an npm credential ({name}, from {source}){why}{}",
                        job.id,
                        job_token_note(&source)
                    ),
                )
                .with_key(key(job, None, &format!("trigger={trigger}/{name}")))
                .with_severity(severity)
                .with_detail("trigger", trigger),
            );
        }
    }
}
