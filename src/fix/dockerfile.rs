//! Dockerfiles (`docker-npm-token-build-arg`, `docker-npmrc-in-layer`): the
//! token leaves the image and the installs read it from a build secret.
//!
//! - `ARG NPM_TOKEN` / `ENV NODE_AUTH_TOKEN=…` is removed;
//! - a command writing the token into `.npmrc` is removed from its `RUN`
//!   (the whole `RUN` when it was the only command), and a later `RUN` that
//!   only deletes that file goes too (a `rm` without `-f` would fail); with
//!   the `ARG` gone, a write-use-delete `RUN` loses the write and the delete;
//! - `.npmrc` is removed from `COPY`/`ADD` sources;
//! - every later `RUN` of the stage that installs (or otherwise reads the
//!   registry: `npx`, `npm exec`, publish) gets
//!   `--mount=type=secret,id=npmrc,target=/root/.npmrc`, so the build
//!   reads `docker build --secret id=npmrc,src=$HOME/.npmrc`.
//!
//! The instructions come from the detector's model (continuations and
//! heredocs followed) and `RUN` bodies from its shell parser; edits remove
//! or insert text at those positions. Refused with the reason: the token
//! used by name elsewhere in the stage, a non-root `USER` (its home is not
//! `/root`), heredoc and exec-form `RUN`s, a write inside a pipeline.

use super::{Edit, FindingFix};
use crate::detect::dockerfile::{
    Instruction, RULE_BUILD_ARG, RULE_NPMRC_LAYER, instructions, run_body,
};
use crate::detect::kind::FileKind;
use crate::detect::workflow::shell::{self, Command, Script, Stdout, normalize_path};
use crate::detect::yaml::Positions;
use crate::finding::Finding;
use crate::rules::Policy;
use std::ops::Range;

pub const RULES: [&str; 2] = [RULE_BUILD_ARG, RULE_NPMRC_LAYER];

/// The flag every install gets.
pub const MOUNT: &str = "--mount=type=secret,id=npmrc,target=/root/.npmrc";

/// The build command that provides it.
pub fn build_command(dockerfile: &str) -> String {
    format!("docker build --secret id=npmrc,src=$HOME/.npmrc -f {dockerfile} .")
}

/// Does the command talk to a registry (install, fetch, run a package,
/// publish)? `npm run build` does not.
fn reads_registry(c: &Command) -> bool {
    let sub = c.argv().find(|a| !a.starts_with('-')).unwrap_or("");
    match c.name.as_str() {
        "npx" | "pnpx" | "bunx" => true,
        "npm" => matches!(
            sub,
            "ci" | "install"
                | "i"
                | "add"
                | "update"
                | "up"
                | "exec"
                | "x"
                | "publish"
                | "audit"
                | "outdated"
        ),
        "pnpm" => matches!(
            sub,
            "install" | "i" | "add" | "fetch" | "update" | "up" | "dlx" | "publish"
        ),
        "yarn" => matches!(
            sub,
            "" | "install" | "add" | "up" | "upgrade" | "dlx" | "npm" | "publish"
        ),
        "bun" => matches!(sub, "install" | "i" | "add" | "x" | "update" | "publish"),
        _ => false,
    }
}

fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// The whole instruction, from its line's start to the end of its last line.
fn whole(text: &str, ins: &Instruction) -> Range<usize> {
    line_start(text, ins.args.start)..ins.args.end
}

/// A `RUN` body parsed as shell, with the offset its ranges are relative to.
struct RunScript {
    base: usize,
    script: Script,
    flags: Vec<String>,
}

fn run_script(text: &str, ins: &Instruction) -> Option<RunScript> {
    let (flags, body) = run_body(text, ins.args.clone());
    let t = text[body.clone()].trim_start();
    if t.starts_with('[') || t.starts_with("<<") {
        return None;
    }
    let script = shell::parse(&text[body.clone()]);
    if script.not_analysed.is_some() {
        return None;
    }
    Some(RunScript {
        base: body.start,
        script,
        flags,
    })
}

fn file_range(rs: &RunScript, r: &Range<usize>) -> Range<usize> {
    rs.base + r.start..rs.base + r.end
}

/// Does this command write (by redirect or `npm config set`) into `path`
/// at `at` (a file offset inside the command)?
fn writes_at(rs: &RunScript, c: &Command, at: usize) -> bool {
    file_range(rs, &c.range).contains(&at)
        || matches!(&c.stdout, Stdout::File(_, r) if file_range(rs, r).contains(&at))
}

/// The text removing command `i` of a `RUN` takes: the command and the
/// `&&` / `;` joining it to the next one (or to the previous one when it is
/// last). `None` when it is the only command.
fn command_cut(text: &str, rs: &RunScript, i: usize) -> Result<Option<Range<usize>>, String> {
    let cmds = &rs.script.commands;
    if cmds.len() == 1 {
        return Ok(None);
    }
    let joined = |a: usize, b: usize| {
        let between = text[a..b].replace(['\\', '\n', '\r'], " ");
        matches!(between.trim(), "&&" | ";")
    };
    // The command with its redirect (not in its range).
    let mut this = file_range(rs, &cmds[i].range);
    if let Stdout::File(_, r) = &cmds[i].stdout {
        let r = file_range(rs, r);
        this = this.start.min(r.start)..this.end.max(r.end);
    }
    if let Some(next) = cmds.get(i + 1) {
        let next = file_range(rs, &next.range);
        if joined(this.end, next.start) {
            return Ok(Some(this.start..next.start));
        }
    } else if i > 0 {
        let prev = file_range(rs, &cmds[i - 1].range);
        if joined(prev.end, this.start) {
            return Ok(Some(prev.end..this.end));
        }
    }
    Err("the command writing the file is part of a pipeline or a compound command; edit the RUN by hand".into())
}

/// The npm config file a command writes a credential into: a redirect to
/// `.npmrc` / `.yarnrc.yml`, or `npm config set …:_authToken=…`.
fn token_write_path(c: &Command) -> Option<String> {
    if let Stdout::File(p, _) = &c.stdout {
        let path = normalize_path(p);
        let name = path.rsplit('/').next().unwrap_or(&path);
        return matches!(name, ".npmrc" | "npmrc" | ".yarnrc.yml" | ".yarnrc").then_some(path);
    }
    let args: Vec<&str> = c.argv().collect();
    let config_set = matches!(c.name.as_str(), "npm" | "pnpm" | "yarn")
        && (args.starts_with(&["config", "set"]) || args.first() == Some(&"set"))
        && args
            .iter()
            .any(|a| a.contains("_authToken") || a.contains("npmAuthToken"));
    config_set.then(|| {
        if c.name == "yarn" {
            ".yarnrc.yml".to_string()
        } else {
            "~/.npmrc".to_string()
        }
    })
}

/// Is `c` a `rm` of `path` and nothing else?
fn removes_only(c: &Command, path: &str) -> bool {
    c.name == "rm"
        && c.args.iter().any(|w| normalize_path(&w.value) == path)
        && c.args
            .iter()
            .all(|w| w.value.starts_with('-') || normalize_path(&w.value) == path)
}

/// The words of a `COPY`/`ADD` naming an npm config file (`.npmrc`,
/// `.npmrc-ci`, `npmrc.docker`, `.yarnrc.yml`).
fn npmrc_words(text: &str, ins: &Instruction) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut off = ins.args.start;
    for w in text[ins.args.clone()].split_inclusive(char::is_whitespace) {
        let t = w.trim();
        let name = t.trim_matches(['"', '\'', '[', ']', ',']);
        let name = name.rsplit('/').next().unwrap_or(name);
        if !t.starts_with("--") && (name.contains("npmrc") || name.contains("yarnrc")) {
            let start = off + (w.len() - w.trim_start().len());
            out.push(start..start + t.len());
        }
        off += w.len();
    }
    out
}

/// What one finding's fix removes, and the variables that no longer exist.
struct Removal {
    /// The instruction the finding is in.
    at: usize,
    edits: Vec<Edit>,
    /// Ranges whose commands are gone (not checked for token use).
    gone: Vec<Range<usize>>,
    /// Build variables removed from the stage.
    vars: Vec<String>,
}

fn cut(range: Range<usize>) -> Edit {
    Edit {
        range,
        replacement: String::new(),
        rank: 0,
    }
}

/// The removal a finding asks for.
fn removal(f: &Finding, text: &str, all: &[Instruction]) -> Result<Removal, String> {
    if FileKind::of(&f.path) == FileKind::Workflow {
        return Err("a `--build-arg` in a workflow: pass the .npmrc as a build secret (`docker build --secret id=npmrc,…`, or docker/build-push-action's `secret-files`) by hand".into());
    }
    let offset = Positions::new(text).offset_of(f.span.start_line, f.span.start_column);
    let at = all
        .iter()
        .position(|i| i.args.contains(&offset))
        .ok_or("the instruction was not found again")?;
    let ins = &all[at];
    let mut r = Removal {
        at,
        edits: Vec::new(),
        gone: Vec::new(),
        vars: Vec::new(),
    };
    match (f.rule_id.as_str(), ins.keyword.as_str()) {
        (RULE_BUILD_ARG, "ARG" | "ENV") => {
            let name = f
                .details
                .get("variable")
                .map(|v| v.as_str().to_string())
                .ok_or("the finding does not name the variable")?;
            let words: Vec<&str> = text[ins.args.clone()]
                .split_whitespace()
                .filter(|w| *w != "\\")
                .collect();
            let single = match ins.keyword.as_str() {
                "ARG" => words.len() == 1,
                // `ENV NAME=value` or the legacy `ENV NAME value`.
                _ => words.len() == 1 || (words.len() == 2 && !words[0].contains('=')),
            };
            if !single {
                return Err(format!(
                    "the {} declares more than {name}; remove {name} by hand",
                    ins.keyword
                ));
            }
            r.edits.push(cut(whole(text, ins)));
            r.gone.push(whole(text, ins));
            r.vars.push(name);
        }
        (RULE_NPMRC_LAYER, "RUN") => {
            let rs = run_script(text, ins).ok_or(
                "the RUN is a heredoc or exec form, or not analysed as shell; edit it by hand",
            )?;
            let i = rs
                .script
                .commands
                .iter()
                .position(|c| writes_at(&rs, c, offset))
                .ok_or("the command writing the file was not found again")?;
            let path = normalize_path(
                f.details
                    .get("file")
                    .map(|v| v.as_str())
                    .unwrap_or(".npmrc"),
            );
            match command_cut(text, &rs, i)? {
                Some(range) => {
                    r.gone.push(range.clone());
                    r.edits.push(cut(range));
                }
                None => {
                    r.gone.push(whole(text, ins));
                    r.edits.push(cut(whole(text, ins)));
                }
            }
            // Later `RUN rm -f .npmrc`: nothing left to delete.
            for later in all[at + 1..].iter().filter(|l| l.stage == ins.stage) {
                let Some(lrs) = (later.keyword == "RUN")
                    .then(|| run_script(text, later))
                    .flatten()
                else {
                    continue;
                };
                let cmds = &lrs.script.commands;
                if cmds.iter().any(|c| removes_only(c, &path)) {
                    if cmds.len() != 1 || !lrs.flags.is_empty() {
                        return Err(format!(
                            "a later RUN deletes {path} along with other work; edit it by hand"
                        ));
                    }
                    r.edits.push(cut(whole(text, later)));
                    r.gone.push(whole(text, later));
                }
            }
        }
        (RULE_NPMRC_LAYER, "COPY" | "ADD") => {
            let args = &text[ins.args.clone()];
            let mut words: Vec<(usize, &str)> = Vec::new();
            let mut off = 0;
            for w in args.split_inclusive(char::is_whitespace) {
                let t = w.trim();
                if !t.is_empty() && t != "\\" {
                    words.push((ins.args.start + off, t));
                }
                off += w.len();
            }
            if args.trim_start().starts_with('[') {
                return Err("COPY in JSON form; remove .npmrc from it by hand".into());
            }
            let sources: Vec<&(usize, &str)> =
                words.iter().filter(|(_, w)| !w.starts_with("--")).collect();
            let (w_at, word) = **sources
                .iter()
                .find(|(s, w)| (*s..*s + w.len()).contains(&offset))
                .ok_or("the copied file was not found again")?;
            if sources.len() <= 2 {
                r.edits.push(cut(whole(text, ins)));
                r.gone.push(whole(text, ins));
            } else {
                // The word and the blanks after it.
                let rest = &text[w_at + word.len()..];
                let blanks = rest.len() - rest.trim_start_matches([' ', '\t']).len();
                r.edits.push(cut(w_at..w_at + word.len() + blanks));
                r.gone.push(w_at..w_at + word.len());
            }
        }
        _ => return Err("no automatic fix for this instruction".into()),
    }
    Ok(r)
}

pub fn fix(f: &Finding, text: &str, siblings: &[&Finding]) -> Result<FindingFix, String> {
    let all = instructions(text);
    let mine = removal(f, text, &all)?;
    let ins = &all[mine.at];
    // What every fixed finding of this file removes: a variable removed by
    // one fix may be used only by a write another fix removes.
    let others: Vec<Removal> = siblings
        .iter()
        .filter(|s| RULES.contains(&s.rule_id.as_str()) && s.fingerprint != f.fingerprint)
        .filter_map(|s| removal(s, text, &all).ok())
        .collect();
    let gone = |r: &Range<usize>| {
        mine.gone
            .iter()
            .chain(others.iter().flat_map(|o| o.gone.iter()))
            .any(|g| g.start <= r.start && r.end <= g.end)
    };
    // An npm config copied in (`COPY .npmrc-ci .npmrc`) may read the
    // variable (`${NPM_TOKEN}`): npm stops when it is not set.
    if !mine.vars.is_empty()
        && let Some(copy) = all.iter().find(|l| {
            l.stage == ins.stage
                && matches!(l.keyword.as_str(), "COPY" | "ADD")
                && npmrc_words(text, l).iter().any(|w| !gone(w))
        })
    {
        return Err(format!(
            "the stage copies an npm config file (`{} {}`) that may read ${}: with the variable gone npm stops; mount that file as the secret by hand",
            copy.keyword,
            text[copy.args.clone()].trim(),
            mine.vars[0]
        ));
    }
    let mut edits = mine.edits.clone();
    let mut user: Option<String> = None;
    for later in all.iter().filter(|l| l.stage == ins.stage) {
        if later.keyword == "USER" {
            user = Some(text[later.args.clone()].trim().to_string());
        }
        if later.keyword != "RUN" || later.args.start < ins.args.start || gone(&whole(text, later))
        {
            continue;
        }
        let Some(rs) = run_script(text, later) else {
            continue;
        };
        // A RUN that writes the variable into an npm config and deletes it
        // again (`echo … > .npmrc && npm ci && rm -f .npmrc`) loses the
        // write and the delete; any other use of the variable is refused.
        let cmds = &rs.script.commands;
        let mut cut_here: Vec<usize> = Vec::new();
        for (i, c) in cmds.iter().enumerate() {
            if gone(&file_range(&rs, &c.range)) {
                continue;
            }
            let Some(v) = c
                .words()
                .flat_map(|w| w.vars.iter())
                .find(|v| mine.vars.contains(&v.name))
            else {
                continue;
            };
            let Some(path) = token_write_path(c) else {
                return Err(format!(
                    "a later RUN uses ${} by name; pass it as a build secret by hand",
                    v.name
                ));
            };
            cut_here.push(i);
            for (j, o) in cmds.iter().enumerate() {
                if removes_only(o, &path) && !cut_here.contains(&j) {
                    cut_here.push(j);
                }
            }
        }
        let live: Vec<&Command> = cmds
            .iter()
            .enumerate()
            .filter(|(i, c)| !cut_here.contains(i) && !gone(&file_range(&rs, &c.range)))
            .map(|(_, c)| c)
            .collect();
        if !cut_here.is_empty() && live.is_empty() {
            edits.push(cut(whole(text, later)));
            continue;
        }
        for i in &cut_here {
            edits.push(cut(command_cut(text, &rs, *i)?.ok_or("nothing to cut")?));
        }
        if !live.iter().any(|c| reads_registry(c)) {
            continue;
        }
        if rs.flags.iter().any(|fl| {
            fl.starts_with("--mount=")
                && fl.contains("type=secret")
                && fl.split(',').any(|kv| {
                    matches!(
                        kv,
                        "target=/root/.npmrc" | "dst=/root/.npmrc" | "destination=/root/.npmrc"
                    )
                })
        }) {
            continue;
        }
        if let Some(u) = user
            .as_deref()
            .filter(|u| !matches!(*u, "root" | "0" | "0:0" | "root:root"))
        {
            return Err(format!(
                "the RUN runs as USER {u}, whose npm config is not /root/.npmrc; mount the secret at that user's ~/.npmrc by hand"
            ));
        }
        edits.push(Edit {
            range: later.args.start..later.args.start,
            replacement: format!(" {MOUNT}"),
            rank: 0,
        });
    }
    let policy = Policy::global();
    Ok(FindingFix {
        edits,
        removed_values: Vec::new(),
        checklist: vec![
            format!(
                "Build {} with the npm config as a build secret: `{}` (BuildKit, the default builder since Docker 23; in GitHub Actions, docker/build-push-action's `secret-files: npmrc=…`), and drop any `--build-arg` carrying the token. That .npmrc must hold the registry settings the build needs.",
                f.path,
                build_command(&f.path)
            ),
            "Add `.npmrc` to `.dockerignore`, so `COPY . .` cannot put a local one in a layer."
                .into(),
            format!(
                "Images already built with the token still hold it: revoke it ({}), and delete the images and build caches that carried it.",
                policy.value("revoke_npm_token")
            ),
        ],
        left: Vec::new(),
    })
}
