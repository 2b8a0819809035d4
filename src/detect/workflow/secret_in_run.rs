//! `gha-npm-secret-in-run`: `${{ secrets.NPM_TOKEN }}` written inside a
//! `run:` script. GitHub pastes the value into the script file on disk
//! before the shell starts, so it sits in a file, may end up on a command
//! line (visible to `ps`), and escapes masking once the script transforms
//! it. Passing it through `env:` keeps it out of the script text.

use super::{Ctx, Job, Step, Workflow, expr_credential, key, posix_shell};
use crate::detect::{Hit, Sink};
use std::collections::BTreeSet;

pub const RULE: &str = "gha-npm-secret-in-run";

/// An environment-variable name for the value (`npm-token` → `NPM_TOKEN`).
fn shell_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// How the step's script reads an environment variable: `"$NAME"` in a
/// POSIX shell, `$env:NAME` in PowerShell, `%NAME%` in cmd,
/// `os.environ["NAME"]` in Python.
fn env_reference(wf: &Workflow, job: &Job, step: &Step, name: &str) -> String {
    if posix_shell(wf, job, step) {
        return format!("\"${name}\"");
    }
    let shell = step
        .shell
        .as_ref()
        .map(|s| s.value.as_str())
        .or(job.default_shell.as_deref())
        .or(wf.default_shell.as_deref())
        .unwrap_or("pwsh");
    let first = shell.split_whitespace().next().unwrap_or("");
    let exe = first.rsplit(['/', '\\']).next().unwrap_or(first);
    match exe.to_ascii_lowercase().trim_end_matches(".exe") {
        "cmd" => format!("%{name}%"),
        "python" | "python3" => format!("os.environ[\"{name}\"]"),
        _ => format!("$env:{name}"),
    }
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    for job in &cx.wf.jobs {
        for step in &job.steps {
            let Some(run) = &step.run else {
                continue;
            };
            let mut seen = BTreeSet::new();
            for e in &run.script.exprs {
                let Some(r) = expr_credential(&e.inner, cx.opts) else {
                    continue;
                };
                let what = format!("{}.{}", r.context, r.name);
                if cx.wf.secret_uses.foreign(&what) || !seen.insert(what.clone()) {
                    continue;
                }
                sink.hit(
                    Hit::new(
                        RULE,
                        run.file_range(e.range.clone()),
                        format!(
                            "`${{{{ {what} }}}}` is pasted into the script of step {} in job {}; pass it through the step's `env:` and use `{}`",
                            step.label,
                            job.id,
                            env_reference(cx.wf, job, step, &shell_name(&r.name)),
                        ),
                    )
                    .with_key(key(job, Some(step), &format!("expr={what}")))
                    .with_detail("credential", what),
                );
            }
        }
    }
}
