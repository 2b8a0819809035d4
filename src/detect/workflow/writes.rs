//! Files a job writes a token into: redirections, `tee`, heredocs,
//! `npm config set …:_authToken`, `yarn config set npmAuthToken`.

use super::shell;
use super::{Ctx, Job, StepShell};
use std::ops::Range;

/// A file that a step fills with an expanded credential.
#[derive(Clone, Debug)]
pub struct TokenWrite {
    pub step: usize,
    /// Normalised path (see [`shell::normalize_path`]).
    pub path: String,
    /// Where the write happens in the file.
    pub range: Range<usize>,
    pub source: String,
    pub registered: bool,
}

/// Config files npm, pnpm and Yarn read credentials from.
pub fn is_npm_config_file(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(name, ".npmrc" | "npmrc" | ".yarnrc.yml" | ".yarnrc")
        || path.contains("NPM_CONFIG_USERCONFIG")
}

/// Where `npm config set` writes: the user config unless told otherwise.
fn npm_config_target(args: &[&str]) -> String {
    for (i, a) in args.iter().enumerate() {
        let loc = if *a == "--location" || *a == "-L" {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix("--location=")
        };
        match loc {
            Some("project") => return ".npmrc".into(),
            Some("global") => return "$NPM_GLOBALCONFIG".into(),
            _ => {}
        }
        if *a == "--userconfig" {
            if let Some(p) = args.get(i + 1) {
                return shell::normalize_path(p);
            }
        } else if let Some(p) = a.strip_prefix("--userconfig=") {
            return shell::normalize_path(p);
        }
    }
    "~/.npmrc".into()
}

/// Files each step of a job writes a credential into, in step order.
pub fn token_writes(cx: &Ctx, job: &Job) -> Vec<TokenWrite> {
    let mut out = Vec::new();
    for step in &job.steps {
        let Some(mut sh) = StepShell::new(cx, job, step) else {
            continue;
        };
        let cmds = &sh.script.commands;
        for (ci, c) in cmds.iter().enumerate() {
            sh.assign(c);
            let args: Vec<&str> = c.argv().collect();
            // `npm config set //host/:_authToken=$X` / `yarn config set npmAuthToken $X`.
            let config_set = matches!(c.name.as_str(), "npm" | "pnpm" | "pn" | "yarn")
                && (args.starts_with(&["config", "set"]) || args.first() == Some(&"set"));
            if config_set {
                let auth_key = args.iter().any(|a| {
                    a.contains("_authToken")
                        || a.contains("_auth")
                        || a.contains("_password")
                        || a.contains("npmAuthToken")
                        || a.contains("npmAuthIdent")
                });
                if auth_key && let Some(cred) = c.args.iter().find_map(|w| sh.word_cred(w)) {
                    let path = if c.name == "yarn" {
                        if args.contains(&"-H") || args.contains(&"--home") {
                            "~/.yarnrc.yml".into()
                        } else {
                            ".yarnrc.yml".into()
                        }
                    } else {
                        npm_config_target(&args)
                    };
                    out.push(TokenWrite {
                        step: step.index,
                        path,
                        range: step.file_range(c.range.clone()),
                        source: cred.source,
                        registered: cred.registered,
                    });
                }
                continue;
            }
            // Output of this command (and of commands piped into it) that
            // lands in a file.
            let Some(cred) = c.words().find_map(|w| sh.word_cred(w)) else {
                continue;
            };
            let mut idx = ci;
            let mut guard = 0;
            loop {
                guard += 1;
                let cur = &cmds[idx];
                if cur.name == "tee" {
                    for w in cur.args.iter().filter(|w| !w.value.starts_with('-')) {
                        out.push(TokenWrite {
                            step: step.index,
                            path: shell::normalize_path(&w.value),
                            range: step.file_range(w.range.clone()),
                            source: cred.source.clone(),
                            registered: cred.registered,
                        });
                    }
                }
                match &cur.stdout {
                    shell::Stdout::File(p, r) if p != "/dev/null" => {
                        out.push(TokenWrite {
                            step: step.index,
                            path: shell::normalize_path(p),
                            range: step.file_range(r.clone()),
                            source: cred.source.clone(),
                            registered: cred.registered,
                        });
                        break;
                    }
                    shell::Stdout::Pipe(next) if guard < 16 && *next > idx => idx = *next,
                    _ => break,
                }
            }
        }
    }
    out
}

/// Is the file removed by a step at or after `from` and before `to`
/// (`rm .npmrc`)?
pub fn removed_between(job: &Job, path: &str, from: usize, to: usize) -> bool {
    job.steps
        .iter()
        .filter(|s| s.index >= from && s.index < to)
        .flat_map(|s| s.commands())
        .any(|c| {
            c.name == "rm"
                && c.args
                    .iter()
                    .any(|w| shell::normalize_path(&w.value) == path)
        })
}
