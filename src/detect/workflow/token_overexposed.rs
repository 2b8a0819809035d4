//! `gha-npm-token-overexposed`: an npm credential in workflow- or
//! job-level `env:` (or exported through `$GITHUB_ENV`) reaches every step
//! of its scope — checkout, caches, third-party actions — although only
//! the publishing or installing step needs it.

use super::{Ctx, EnvVar, Job, Level, key, step_consumes, token_writes};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-token-overexposed";

/// Steps of `jobs` that receive `var` without needing it; the first
/// third-party action among them.
fn idle_steps<'a>(jobs: impl Iterator<Item = &'a Job>, var: &EnvVar) -> (usize, Option<String>) {
    let mut idle = 0;
    let mut third_party = None;
    for job in jobs {
        // A job-level entry of the same name shadows the workflow one.
        if var.level == Level::Workflow && job.env.iter().any(|e| e.name == var.name) {
            continue;
        }
        for step in &job.steps {
            if step.env.iter().any(|e| e.name == var.name) {
                continue;
            }
            if !step_consumes(step, &[var.name.as_str()]) {
                idle += 1;
                if let Some(a) = step.action()
                    && !a.starts_with("actions/")
                    && !a.starts_with("./")
                    && third_party.is_none()
                {
                    third_party = Some(a);
                }
            }
        }
    }
    (idle, third_party)
}

fn report(
    sink: &mut Sink,
    var: &EnvVar,
    source: &str,
    scope: &str,
    idle: usize,
    tp: Option<String>,
    k: String,
) {
    let tp = tp
        .map(|a| format!(", including the third-party action {a}"))
        .unwrap_or_default();
    sink.hit(
        Hit::new(
            RULE,
            var.key.clone(),
            format!(
                "{} (from {source}) is set in {scope} env and reaches {idle} step(s) that do not use it{tp}; set it only on the step that needs it",
                var.name
            ),
        )
        .with_key(k)
        .with_detail("variable", var.name.clone()),
    );
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    for var in &wf.env {
        // The job's GITHUB_TOKEN reaches every step through `github.token` anyway.
        let Some(c) = cx
            .wf
            .credential(&var.name, &var.value.value, cx.opts)
            .filter(|c| !c.job_token)
        else {
            continue;
        };
        let (idle, tp) = idle_steps(wf.jobs.iter(), var);
        if idle > 0 {
            report(
                sink,
                var,
                &c.source,
                "workflow-level",
                idle,
                tp,
                format!("workflow/env={}", var.name),
            );
        }
    }
    for job in &wf.jobs {
        for var in &job.env {
            let Some(c) = cx
                .wf
                .credential(&var.name, &var.value.value, cx.opts)
                .filter(|c| !c.job_token)
            else {
                continue;
            };
            let (idle, tp) = idle_steps(std::iter::once(job), var);
            if idle > 0 {
                report(
                    sink,
                    var,
                    &c.source,
                    &format!("job {}", job.id),
                    idle,
                    tp,
                    key(job, None, &format!("env={}", var.name)),
                );
            }
        }
        // `echo "NPM_TOKEN=…" >> $GITHUB_ENV` exports to every later step.
        for w in token_writes(cx, job) {
            if matches!(w.path.as_str(), "$GITHUB_ENV" | "${GITHUB_ENV}") {
                let step = &job.steps[w.step];
                sink.hit(
                    Hit::new(
                        RULE,
                        w.range.clone(),
                        format!(
                            "step {} of job {} writes the npm credential from {} to $GITHUB_ENV, so every later step of the job receives it",
                            step.label, job.id, w.source
                        ),
                    )
                    .with_key(key(job, Some(step), "github-env"))
                    .with_detail("credential", w.source.clone()),
                );
            }
        }
    }
}
