//! `gha-npm-secret-printed`: a step writes an npm credential to the job
//! log — `echo`/`printf` of it, `cat` of a file a token was written to,
//! environment dumps, or shell tracing (`set -x`) while it is expanded.
//!
//! GitHub masks exact matches of registered secrets, but not transformed
//! values (`base64`, substrings) nor values that were never registered
//! (step outputs, derived variables), so printing is reported either way;
//! the verbatim-and-masked case is lowered to medium.

use super::shell::{Command, Stdout, normalize_path};
use super::{Ctx, Job, ShellCred, Step, StepShell, key, token_writes};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;

pub const RULE: &str = "gha-npm-secret-printed";

/// Commands that pass their input through, transformed or not.
const FILTERS: &[&str] = &[
    "base64", "xxd", "od", "hexdump", "rev", "cut", "tr", "sed", "awk", "head", "tail", "fold",
    "sort", "jq", "cat", "tee", "grep", "basenc", "openssl",
];

/// Commands that print the files named in their arguments.
const FILE_PRINTERS: &[&str] = &[
    "cat", "head", "tail", "less", "more", "nl", "bat", "base64", "xxd", "od", "hexdump",
    "strings", "grep", "sed", "awk", "tac",
];

/// Where output of command `i` ends: the log (with "was it transformed")
/// or somewhere else.
fn reaches_log(cmds: &[Command], mut i: usize) -> Option<bool> {
    let mut transformed = false;
    for _ in 0..16 {
        match &cmds[i].stdout {
            Stdout::Log => return Some(transformed),
            Stdout::File(p, _)
                if matches!(p.as_str(), "/dev/stdout" | "/dev/stderr" | "/dev/tty") =>
            {
                return Some(transformed);
            }
            Stdout::Pipe(n) if *n > i => {
                let next = &cmds[*n];
                if !FILTERS.contains(&next.name.as_str()) {
                    return None;
                }
                transformed |= !matches!(next.name.as_str(), "cat" | "tee");
                i = *n;
            }
            _ => return None,
        }
    }
    None
}

fn severity(cred: &ShellCred, transformed: bool) -> Severity {
    if cred.registered && !cred.transformed && !transformed {
        Severity::Medium
    } else {
        Severity::High
    }
}

fn masking_note(cred: &ShellCred, transformed: bool) -> &'static str {
    if transformed || cred.transformed {
        "; the value is transformed, so GitHub's log masking will not hide it"
    } else if cred.registered {
        "; GitHub masks exact matches of registered secrets, but masking is best effort"
    } else {
        "; the value is not a registered secret, so GitHub will not mask it"
    }
}

/// Key suffix: a verbatim and a transformed print are two problems.
fn variant(cred: &ShellCred, transformed: bool) -> &'static str {
    if transformed || cred.transformed {
        "/transformed"
    } else {
        ""
    }
}

/// `set -x`, `set -ex`, `set -o xtrace` turn tracing on; `+x` off.
fn xtrace_change(c: &Command) -> Option<bool> {
    if c.name != "set" {
        return None;
    }
    let args: Vec<&str> = c.argv().collect();
    let mut state = None;
    for (i, a) in args.iter().enumerate() {
        if (*a == "-o" || *a == "+o") && args.get(i + 1) == Some(&"xtrace") {
            state = Some(*a == "-o");
        } else if let Some(f) = a.strip_prefix('-')
            && !f.starts_with('-')
            && f.contains('x')
        {
            state = Some(true);
        } else if let Some(f) = a.strip_prefix('+')
            && f.contains('x')
        {
            state = Some(false);
        }
    }
    state
}

/// Does the step's `shell:` trace (`bash -x {0}`)?
fn shell_traces(shell: Option<&str>) -> bool {
    shell.is_some_and(|s| {
        s.split_whitespace()
            .any(|w| w.starts_with('-') && !w.starts_with("--") && w.contains('x'))
    })
}

/// An environment dump: `env`, `printenv`, `set`, `export -p`, `declare -p`.
fn dumps_env(c: &Command) -> bool {
    let pos: Vec<&str> = c.argv().filter(|a| !a.starts_with('-')).collect();
    match c.name.as_str() {
        "env" | "printenv" => pos.is_empty() && c.assigns.is_empty(),
        "set" => c.args.is_empty(),
        "export" | "declare" | "typeset" => {
            c.assigns.is_empty() && pos.is_empty() && c.argv().any(|a| a == "-p" || a == "-x")
                || (c.name == "export" && c.args.is_empty() && c.assigns.is_empty())
        }
        _ => false,
    }
}

/// A command that prints a credential to the log: `via` says how it got
/// there (`cmd` for an argument, `stdin` for a here-string or heredoc),
/// which keeps the two findings of one command apart.
fn printed(
    job: &Job,
    step: &Step,
    range: std::ops::Range<usize>,
    c: &Command,
    via: &str,
    cred: &ShellCred,
    transformed: bool,
) -> Hit {
    Hit::new(
        RULE,
        range,
        format!(
            "`{}` prints the npm credential from {} to the job log{}",
            c.name,
            cred.source,
            masking_note(cred, transformed)
        ),
    )
    .with_key(key(
        job,
        Some(step),
        &format!(
            "{via}={}#{}{}",
            c.name,
            cred.source,
            variant(cred, transformed)
        ),
    ))
    .with_severity(severity(cred, transformed))
    .with_detail("credential", &cred.source)
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    for job in &cx.wf.jobs {
        let writes = token_writes(cx, job);
        for step in &job.steps {
            let Some(mut sh) = StepShell::new(cx, job, step) else {
                continue;
            };
            let cmds = &sh.script.commands;
            let shell = step.shell.as_ref().map(|s| s.value.as_str());
            let shell = shell
                .or(job.default_shell.as_deref())
                .or(cx.wf.default_shell.as_deref());
            let mut xtrace = shell_traces(shell);
            let mut traced_reported = false;
            for (ci, c) in cmds.iter().enumerate() {
                if let Some(on) = xtrace_change(c) {
                    xtrace = on;
                }
                let range = step.file_range(c.range.clone());
                // 1. Tracing echoes every expanded command, assignments included.
                if xtrace
                    && !traced_reported
                    && let Some(cred) = c.words().find_map(|w| sh.word_cred(w))
                {
                    traced_reported = true;
                    sink.hit(
                        Hit::new(
                            RULE,
                            range.clone(),
                            format!(
                                "shell tracing (set -x) prints the npm credential from {} in step {} of job {}{}",
                                cred.source,
                                step.label,
                                job.id,
                                masking_note(&cred, false)
                            ),
                        )
                        .with_key(key(job, Some(step), "trace"))
                        .with_severity(severity(&cred, false))
                        .with_detail("credential", &cred.source),
                    );
                }
                // 2. echo/printf of the credential.
                // `::add-mask::` is the workflow command that *hides* a value.
                if matches!(c.name.as_str(), "echo" | "printf" | "print")
                    && !c.argv().any(|a| a.trim_start().starts_with("::add-mask::"))
                    && let Some(cred) = c.args.iter().find_map(|w| sh.word_cred(w))
                    && let Some(transformed) = reaches_log(cmds, ci)
                {
                    sink.hit(printed(
                        job,
                        step,
                        range.clone(),
                        c,
                        "cmd",
                        &cred,
                        transformed,
                    ));
                }
                // 3. A here-string or heredoc with the credential into a filter.
                if FILTERS.contains(&c.name.as_str())
                    && c.args.iter().all(|w| w.value.starts_with('-'))
                    && let Some(cred) = c.stdin.as_ref().and_then(|w| sh.word_cred(w))
                    && let Some(transformed) = reaches_log(cmds, ci)
                {
                    let transformed = transformed || !matches!(c.name.as_str(), "cat" | "tee");
                    sink.hit(printed(
                        job,
                        step,
                        range.clone(),
                        c,
                        "stdin",
                        &cred,
                        transformed,
                    ));
                }
                // 4. A file that received an expanded token, printed.
                if FILE_PRINTERS.contains(&c.name.as_str()) && reaches_log(cmds, ci).is_some() {
                    let here = range.start;
                    for w in &c.args {
                        let p = normalize_path(&w.value);
                        if let Some(tw) = writes.iter().find(|tw| {
                            tw.path == p
                                && (tw.step < step.index
                                    || (tw.step == step.index && tw.range.start < here))
                        }) {
                            let cred = ShellCred {
                                source: tw.source.clone(),
                                registered: tw.registered,
                                transformed: false,
                            };
                            let transformed = c.name != "cat"
                                && c.name != "tac"
                                && c.name != "more"
                                && c.name != "less"
                                && c.name != "bat";
                            sink.hit(
                                Hit::new(
                                    RULE,
                                    range.clone(),
                                    format!(
                                        "`{} {}` prints a file that holds the npm credential from {} (written earlier in job {}){}",
                                        c.name,
                                        w.value,
                                        tw.source,
                                        job.id,
                                        masking_note(&cred, transformed)
                                    ),
                                )
                                .with_key(key(job, Some(step), &format!("file={p}")))
                                .with_severity(severity(&cred, transformed))
                                .with_detail("file", p.clone()),
                            );
                            break;
                        }
                    }
                }
                // 5. Environment dumps while a credential is in the environment.
                if dumps_env(c) && reaches_log(cmds, ci).is_some() {
                    if let Some((name, cred)) = sh.vars.iter().next() {
                        sink.hit(
                            Hit::new(
                                RULE,
                                range.clone(),
                                format!(
                                    "`{}` dumps the environment, including {name} (from {}){}",
                                    c.name,
                                    cred.source,
                                    masking_note(cred, false)
                                ),
                            )
                            .with_key(key(job, Some(step), &format!("dump={}", c.name)))
                            .with_severity(severity(cred, false))
                            .with_detail("variable", name.clone()),
                        );
                    }
                } else if c.name == "printenv"
                    && reaches_log(cmds, ci).is_some()
                    && let Some((name, cred)) = c
                        .argv()
                        .find_map(|a| sh.vars.get(a).map(|cr| (a.to_string(), cr.clone())))
                {
                    sink.hit(
                        Hit::new(
                            RULE,
                            range.clone(),
                            format!(
                                "`printenv {name}` prints the npm credential from {}{}",
                                cred.source,
                                masking_note(&cred, false)
                            ),
                        )
                        .with_key(key(job, Some(step), &format!("printenv={name}")))
                        .with_severity(severity(&cred, false))
                        .with_detail("variable", name),
                    );
                }
                sh.assign(c);
            }
        }
    }
}
