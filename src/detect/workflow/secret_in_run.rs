//! `gha-npm-secret-in-run`: `${{ secrets.NPM_TOKEN }}` written inside a
//! `run:` script. GitHub pastes the value into the script file on disk
//! before the shell starts, so it sits in a file, may end up on a command
//! line (visible to `ps`), and escapes masking once the script transforms
//! it. Passing it through `env:` keeps it out of the script text.

use super::{Ctx, expr_credential, key};
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
                if !seen.insert(what.clone()) {
                    continue;
                }
                sink.hit(
                    Hit::new(
                        RULE,
                        run.file_range(e.range.clone()),
                        format!(
                            "`${{{{ {what} }}}}` is pasted into the script of step {} in job {}; pass it through the step's `env:` and use `\"${}\"`",
                            step.label,
                            job.id,
                            shell_name(&r.name),
                        ),
                    )
                    .with_key(key(job, Some(step), &format!("expr={what}")))
                    .with_detail("credential", what),
                );
            }
        }
    }
}
