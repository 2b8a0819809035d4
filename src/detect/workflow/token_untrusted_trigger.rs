//! `gha-npm-token-untrusted-trigger`: an npm credential in a workflow run
//! by `pull_request_target`, `workflow_run` or comment events. These run
//! with the base repository's secrets while being triggerable by outsiders;
//! with a checkout of the pull request's head that is then run (install,
//! build, test) the attacker's code runs next to the token (critical).
//! Job and step `if:` conditions are evaluated from an outsider's point of
//! view ([`super::expr`]): a job only same-repository events or members
//! reach is not reported.

use super::gates::Reach;
use super::{Ctx, Step, Workflow, job_token_note, key};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;
use std::collections::BTreeSet;

pub const RULE: &str = "gha-npm-token-untrusted-trigger";

pub(super) const UNTRUSTED: &[&str] = &[
    "pull_request_target",
    "workflow_run",
    "issue_comment",
    "pull_request_review_comment",
];

/// The first untrusted trigger of the workflow.
pub fn untrusted(wf: &Workflow) -> Option<&'static str> {
    UNTRUSTED.iter().copied().find(|t| wf.has_trigger(t))
}

/// Does this step check out (or fetch) the pull request's head?
fn checks_out_head(s: &Step) -> bool {
    const HEAD: &[&str] = &[
        "pull_request.head",
        "github.head_ref",
        "workflow_run.head",
        "refs/pull/",
        "issue.pull_request",
    ];
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
                    || c.args
                        .iter()
                        .any(|w| !w.exprs.is_empty() && HEAD.iter().any(|h| w.value.contains(h)))))
    });
    checkout || scripted
}

/// Does this step run code from the working tree: a local action, a
/// package manager (install scripts, `run` scripts), a build tool or a
/// script of the repository?
fn runs_tree_code(s: &Step) -> bool {
    if s.uses
        .as_ref()
        .is_some_and(|u| u.value.trim().starts_with("./"))
    {
        return true;
    }
    s.commands().iter().any(|c| {
        let n = c.name.as_str();
        matches!(
            n,
            "npm"
                | "npx"
                | "pnpm"
                | "pn"
                | "pnpx"
                | "yarn"
                | "bun"
                | "bunx"
                | "node"
                | "deno"
                | "make"
                | "python"
                | "python3"
                | "sh"
                | "bash"
                | "lerna"
                | "nx"
                | "turbo"
                | "tsc"
                | "jest"
                | "vitest"
                | "mocha"
                | "eslint"
                | "prettier"
                | "cargo"
                | "go"
                | "mvn"
                | "gradle"
                | "docker"
                | "composer"
                | "bundle"
                | "rake"
                | "pip"
        ) || n.starts_with("./")
            || (n.contains('/') && !n.starts_with('/'))
    })
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    let triggers: Vec<&str> = UNTRUSTED
        .iter()
        .copied()
        .filter(|t| wf.has_trigger(t))
        .collect();
    if triggers.is_empty() {
        return;
    }
    let mut seen = BTreeSet::new();
    let reach = Reach::new(cx);
    for job in &wf.jobs {
        // The untrusted events through which an outsider reaches the job:
        // `if: github.event_name == 'push'`, a same-repository check, or a
        // needed job that stops non-members keeps them out.
        let events: Vec<&str> = triggers
            .iter()
            .copied()
            .filter(|t| reach.job(job, t))
            .collect();
        let Some(&trigger) = events.first() else {
            continue;
        };
        let steps: Vec<&Step> = job
            .steps
            .iter()
            .filter(|s| events.iter().any(|e| reach.step(job, s, e)))
            .collect();
        let head = steps.iter().position(|s| checks_out_head(s));
        let runs = head.is_some_and(|i| steps[i..].iter().any(|s| runs_tree_code(s)));
        let (severity, why) = match (head, runs) {
            (Some(_), true) => (
                Severity::Critical,
                " and checks out the pull request's head and runs it, so untrusted code runs with it",
            ),
            (Some(_), false) => (
                Severity::High,
                " and checks out the pull request's head (its files are read, not run: keep it that way)",
            ),
            (None, _) => (Severity::High, ""),
        };
        let mut exposures: Vec<(std::ops::Range<usize>, String, String)> = Vec::new();
        for step in &steps {
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
