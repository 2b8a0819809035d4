//! Publishing through indirection: a step that runs `pnpm release`,
//! `npm run release`, `yarn release`, `node scripts/publish.js` or
//! `./scripts/release.sh` publishes when what it runs does. This follows
//! those commands through the files of the item's own tree (see
//! [`crate::detect::tree`]): the `scripts` of the `package.json` the
//! step's working directory uses (nearest one at or above it, as npm, pnpm
//! and Yarn look it up; pre/post scripts included), shell scripts of the
//! repository (parsed like `run:` bodies, recursively), and JavaScript or
//! TypeScript release scripts (publish commands in `exec`/`spawn` strings,
//! release-tool APIs). `changesets/action`'s `publish:` input is followed
//! the same way.
//!
//! Bounded: at most [`MAX_DEPTH`] hops and [`MAX_READS`] files per workflow,
//! each file at most [`crate::detect::tree::MAX_TREE_FILE`] bytes.

use super::publish::{Publish, Tool, command_publish, publish_action, publish_command};
use super::shell::{self, Command};
use super::{Src, Step, Workflow};
use crate::detect::tree::{self, TreeView};
use crate::detect::yaml;
use std::collections::HashMap;
use std::rc::Rc;

/// Hops from a step to a publish command (`pnpm release` → script → a shell
/// script → `npm publish` is 3).
const MAX_DEPTH: usize = 6;
/// Files read per workflow (package manifests and scripts).
const MAX_READS: usize = 64;
/// Longest command shown in a message.
const MAX_SHOWN: usize = 80;

/// Find every step's publishes through indirection, in `wf`'s own tree.
pub fn resolve(wf: &mut Workflow, view: TreeView) {
    let root = repository_root(view.path);
    let mut r = Resolver {
        files: view,
        cache: HashMap::new(),
        reads: 0,
        opaque: false,
        root: root.clone(),
        action_depth: 0,
    };
    let wf_dir = wf.default_working_directory.clone();
    for job in &mut wf.jobs {
        let job_dir = job.default_working_directory.clone();
        for step in &mut job.steps {
            let dir = step
                .working_directory
                .clone()
                .or_else(|| job_dir.clone())
                .or_else(|| wf_dir.clone());
            let Some(cwd) = working_directory(&root, dir.as_deref()) else {
                continue;
            };
            r.resolve_step(step, &cwd);
        }
    }
}

/// The directory the workflow's repository is checked out at, in the tree:
/// what is in front of `.github/`. A composite action elsewhere runs its
/// steps in the workspace of the workflow using it: the tree's root.
pub fn repository_root(path: &str) -> String {
    match path.find(".github/") {
        Some(i) => path[..i].trim_end_matches('/').to_string(),
        None => String::new(),
    }
}

/// A step's working directory in the tree, when it is static.
fn working_directory(root: &str, dir: Option<&str>) -> Option<String> {
    let Some(dir) = dir else {
        return Some(root.to_string());
    };
    let dir = shell::normalize_path(dir);
    if dir.contains("${{") || dir.contains('$') || !shell::in_workspace(&dir) {
        return None;
    }
    tree::join(root, &dir)
}

/// A publish found at the end of a chain of hops.
struct Found {
    publish: Publish,
    hops: Vec<String>,
}

struct Resolver<'a> {
    files: TreeView<'a>,
    cache: HashMap<String, Option<Rc<Vec<u8>>>>,
    reads: usize,
    /// Following met something it could not see through (a missing script
    /// or file, a JavaScript file without a known publish, `make release`,
    /// the depth or read limit).
    opaque: bool,
    /// The repository root in the tree: where `uses: ./…` actions live.
    root: String,
    /// Local composite actions being followed (`uses: ./.github/actions/x`).
    action_depth: usize,
}

/// Local composite actions followed inside one another.
const MAX_ACTION_DEPTH: usize = 3;

/// What a command runs, when it runs something of the repository's.
enum Target {
    /// A `package.json` script, looked up from `dir`.
    Script { dir: String, name: String },
    /// A file of the repository.
    File { path: String, lang: Lang },
    /// A shell string (`bash -c '…'`).
    Inline(String),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Lang {
    Shell,
    Js,
    /// Decided by its first line.
    Unknown,
}

impl Resolver<'_> {
    fn read(&mut self, path: &str) -> Option<Rc<Vec<u8>>> {
        if let Some(known) = self.cache.get(path) {
            return known.clone();
        }
        if self.reads >= MAX_READS {
            return None;
        }
        self.reads += 1;
        let bytes = self.files.files.read(path).map(Rc::new);
        self.cache.insert(path.to_string(), bytes.clone());
        bytes
    }

    fn resolve_step(&mut self, step: &mut Step, cwd: &str) {
        let mut found = Vec::new();
        let mut unfollowed = None;
        let mut renamed = None;
        let mut direct = Vec::new();
        if let Some(run) = &step.run {
            let mut cwd = cwd.to_string();
            for c in &run.script.commands {
                if change_directory(c, &mut cwd) || publish_command(c).is_some() {
                    continue;
                }
                let first = shown(&run.body, c);
                let before = found.len();
                self.opaque = false;
                self.follow(c, &run.body, &cwd, 0, &mut vec![first.clone()], &mut found);
                for f in &mut found[before..] {
                    f.publish.range = step_range(step, c);
                }
                // Named like a release, leading to no publish we know, and
                // not fully seen through (an API of a release library, a
                // helper module, a script missing from the tree): unknown.
                if found.len() == before
                    && self.opaque
                    && unfollowed.is_none()
                    && looks_like_release(c)
                {
                    unfollowed = Some(first);
                }
            }
        } else if publish_action(step).is_some_and(|(t, _)| t == Tool::Changesets)
            && let Some(input) = step.with_value("publish")
        {
            // changesets/action runs `publish:` in its `cwd:` input.
            let cwd = match step.with_value("cwd") {
                Some(d) => match working_directory(cwd, Some(&d.value)) {
                    Some(c) => c,
                    None => return,
                },
                None => cwd.to_string(),
            };
            let script = shell::parse(&input.value);
            let range = input.range.clone();
            let action = step.action().unwrap_or_default();
            for c in &script.commands {
                let first = format!("`publish: {}`", command_text(&input.value, c));
                if let Some((tool, what)) = publish_command(c) {
                    let mut p = command_publish(c, tool, action.clone(), range.clone());
                    p.via = Some(format!("{first} runs `{what}`"));
                    direct.push(p);
                    continue;
                }
                let before = found.len();
                self.follow(c, &input.value, &cwd, 0, &mut vec![first], &mut found);
                for f in &mut found[before..] {
                    f.publish.range = range.clone();
                }
            }
            // The finding's identity stays the action's.
            renamed = Some(action);
        } else if let Some(uses) = &step.uses
            && let Some(dir) = uses.value.trim().strip_prefix("./")
        {
            // A local composite action publishes when one of its steps does.
            let shown_uses = format!("`{}`", uses.value.trim());
            let (publishes, opaque) = self.local_action(dir, cwd);
            for mut p in publishes {
                let inner = p.via.take().unwrap_or_else(|| format!("`{}`", p.what));
                p.via = Some(format!("{shown_uses} runs {inner}"));
                p.range = uses.range.clone();
                direct.push(p);
            }
            if opaque && direct.is_empty() {
                unfollowed = Some(shown_uses);
            }
        }
        for f in found {
            let mut p = f.publish;
            let last = format!("`{}`", p.what);
            p.via = Some(
                f.hops
                    .into_iter()
                    .chain([last])
                    .collect::<Vec<_>>()
                    .join(" runs "),
            );
            if let Some(action) = &renamed {
                p.what = action.clone();
            }
            direct.push(p);
        }
        step.indirect = direct;
        step.unfollowed = unfollowed;
    }

    /// Follow one command; `hops` describes how it was reached. Returns
    /// whether the command named something that could be read.
    fn follow(
        &mut self,
        c: &Command,
        body: &str,
        cwd: &str,
        depth: usize,
        hops: &mut Vec<String>,
        out: &mut Vec<Found>,
    ) -> bool {
        if let Some((tool, what)) = publish_command(c) {
            out.push(Found {
                publish: command_publish(c, tool, what, 0..0),
                hops: hops.clone(),
            });
            return true;
        }
        if depth >= MAX_DEPTH {
            self.opaque = true;
            return false;
        }
        match target(c, body, cwd) {
            Some(Target::Script { dir, name }) => {
                let Some((pkg_dir, scripts)) = self.scripts(&dir) else {
                    self.opaque = true;
                    return false;
                };
                if !scripts.contains_key(&name) {
                    self.opaque = true;
                    return false;
                }
                // npm and Yarn 1 run pre<name> and post<name> around it.
                for n in [format!("pre{name}"), name.clone(), format!("post{name}")] {
                    let Some(body) = scripts.get(&n) else {
                        continue;
                    };
                    self.follow_shell(body, &pkg_dir, depth + 1, hops, out, true);
                }
                true
            }
            Some(Target::File { path, lang }) => {
                // `ts-node ./tools/scripts/release` names `release.ts`.
                let Some(bytes) = self.read(&path).or_else(|| {
                    if lang_of(&path).is_some() || lang != Lang::Js {
                        return None;
                    }
                    [
                        ".ts",
                        ".js",
                        ".mjs",
                        ".cjs",
                        ".mts",
                        "/index.ts",
                        "/index.js",
                    ]
                    .iter()
                    .find_map(|ext| self.read(&format!("{path}{ext}")))
                }) else {
                    self.opaque = true;
                    return false;
                };
                let text = String::from_utf8_lossy(&bytes).into_owned();
                let lang = match lang {
                    Lang::Unknown => sniff(&text),
                    l => l,
                };
                match lang {
                    Lang::Shell => self.follow_shell(&text, cwd, depth + 1, hops, out, true),
                    Lang::Js => {
                        let publishes = js_publishes(&text);
                        self.opaque |= publishes.is_empty();
                        for (tool, what) in publishes {
                            out.push(Found {
                                publish: Publish {
                                    tool,
                                    what,
                                    range: 0..0,
                                    dry_run: false,
                                    provenance: false,
                                    registry: None,
                                    staged: false,
                                    via: None,
                                },
                                hops: hops.clone(),
                            });
                        }
                    }
                    Lang::Unknown => self.opaque = true,
                }
                true
            }
            Some(Target::Inline(body)) => {
                // A wrapper's command is the same hop (`npx env-cmd npm run x`).
                self.follow_shell(&body, cwd, depth + 1, hops, out, false);
                true
            }
            None => {
                self.opaque |= looks_like_release(c);
                false
            }
        }
    }

    fn follow_shell(
        &mut self,
        body: &str,
        cwd: &str,
        depth: usize,
        hops: &mut Vec<String>,
        out: &mut Vec<Found>,
        new_hops: bool,
    ) {
        let script = shell::parse(body);
        let mut cwd = cwd.to_string();
        for c in &script.commands {
            if change_directory(c, &mut cwd) {
                continue;
            }
            let hop = new_hops && publish_command(c).is_none();
            if hop {
                hops.push(shown(body, c));
            }
            self.follow(c, body, &cwd, depth, hops, out);
            if hop {
                hops.pop();
            }
        }
    }

    /// The publishes of the local composite action in `dir` (relative to
    /// the repository root), its steps followed like a workflow's; and
    /// whether one of them may publish unseen.
    fn local_action(&mut self, dir: &str, cwd: &str) -> (Vec<Publish>, bool) {
        if self.action_depth >= MAX_ACTION_DEPTH {
            return (Vec::new(), true);
        }
        let Some(base) = tree::join(&self.root, dir) else {
            return (Vec::new(), false);
        };
        let bytes = ["action.yml", "action.yaml"]
            .iter()
            .find_map(|name| self.read(&tree::join(&base, name)?));
        let Some(bytes) = bytes else {
            return (Vec::new(), false);
        };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            return (Vec::new(), false);
        };
        let Some(map) = yaml::parse_all(text)
            .ok()
            .and_then(|mut docs| (!docs.is_empty()).then(|| docs.swap_remove(0)))
        else {
            return (Vec::new(), false);
        };
        let Some(map) = map.as_mapping() else {
            return (Vec::new(), false);
        };
        let mut action = Workflow::parse(&Src::new(text), map, true);
        self.action_depth += 1;
        let mut opaque = false;
        for job in &mut action.jobs {
            for step in &mut job.steps {
                let Some(step_cwd) = working_directory(cwd, step.working_directory.as_deref())
                else {
                    continue;
                };
                self.resolve_step(step, &step_cwd);
                opaque |= step.unfollowed.is_some();
            }
        }
        self.action_depth -= 1;
        let publishes = action
            .jobs
            .iter()
            .flat_map(|j| j.steps.iter())
            .flat_map(super::publish::real_publishes)
            .collect();
        (publishes, opaque)
    }

    /// The scripts of the `package.json` that npm, pnpm and Yarn use in
    /// `dir`: the nearest one at or above it, inside the tree.
    fn scripts(&mut self, dir: &str) -> Option<(String, HashMap<String, String>)> {
        let mut at = dir.to_string();
        loop {
            let path = tree::join(&at, "package.json")?;
            if let Some(bytes) = self.read(&path) {
                let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
                let scripts = json
                    .get("scripts")
                    .and_then(|s| s.as_object())
                    .map(|m| {
                        m.iter()
                            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                            .collect()
                    })
                    .unwrap_or_default();
                return Some((at, scripts));
            }
            if at.is_empty() {
                return None;
            }
            at = tree::parent(&at).to_string();
        }
    }
}

/// The command as written, in backquotes, for a message.
fn shown(body: &str, c: &Command) -> String {
    format!("`{}`", command_text(body, c))
}

/// The command for a message: its name as written and its arguments, on
/// one line, shortened. Assignments (`NPM_TOKEN=… npm publish`) are left
/// out and any argument that could carry a value (`--x=…`, a long word) is
/// elided, so no credential written in a script reaches a message.
fn command_text(body: &str, c: &Command) -> String {
    let name = body
        .get(c.name_range.clone())
        .filter(|n| !n.is_empty())
        .unwrap_or(c.name.as_str());
    let mut words = vec![name.to_string()];
    for a in c.argv() {
        let risky = a.contains('=')
            || a.contains(':') && a.contains("//")
            || a.len() > 40
            || a.to_ascii_lowercase().contains("token")
            || a.starts_with("npm_");
        // One elision for a run of elided arguments.
        if !risky {
            words.push(a.to_string());
        } else if words.last().is_none_or(|w| w != "…") {
            words.push("…".to_string());
        }
    }
    let text = words
        .join(" ")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if text.chars().count() > MAX_SHOWN {
        let cut: String = text.chars().take(MAX_SHOWN).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn step_range(step: &Step, c: &Command) -> std::ops::Range<usize> {
    step.file_range(c.range.start..c.range.end)
}

/// `cd DIR` (static): the following commands run there.
fn change_directory(c: &Command, cwd: &mut String) -> bool {
    if c.name != "cd" {
        return false;
    }
    if let Some(dir) = c.argv().next() {
        let dir = shell::normalize_path(dir);
        if shell::in_workspace(&dir)
            && !dir.contains('$')
            && let Some(next) = tree::join(cwd, &dir)
        {
            *cwd = next;
        }
    }
    true
}

/// A command that we could not follow but whose name says it releases: the
/// job may publish, so it must not be told it only installs.
fn looks_like_release(c: &Command) -> bool {
    let words = std::iter::once(c.name.as_str()).chain(c.argv().take(3));
    let runs_something = matches!(
        c.name.as_str(),
        "npm"
            | "pnpm"
            | "pn"
            | "yarn"
            | "bun"
            | "make"
            | "just"
            | "node"
            | "tsx"
            | "ts-node"
            | "bash"
            | "sh"
            | "turbo"
            | "nx"
            | "lerna"
            | "deno"
    ) || lang_of(&c.name).is_some();
    runs_something
        && words.into_iter().any(|w| {
            let w = w.to_ascii_lowercase();
            w.contains("release") || w.contains("publish") || w.contains("deploy")
        })
}

/// Package-manager subcommands that are not scripts (`pnpm install` runs
/// pnpm's install even when a script is named `install`).
const PNPM_BUILTINS: &[&str] = &[
    "add",
    "i",
    "install",
    "ci",
    "up",
    "update",
    "upgrade",
    "remove",
    "rm",
    "uninstall",
    "un",
    "link",
    "ln",
    "unlink",
    "import",
    "rebuild",
    "rb",
    "prune",
    "fetch",
    "patch",
    "patch-commit",
    "audit",
    "list",
    "ls",
    "ll",
    "la",
    "outdated",
    "why",
    "licenses",
    "publish",
    "pack",
    "run",
    "exec",
    "dlx",
    "create",
    "test",
    "t",
    "tst",
    "start",
    "init",
    "store",
    "env",
    "setup",
    "server",
    "deploy",
    "config",
    "c",
    "get",
    "set",
    "root",
    "bin",
    "doctor",
    "self-update",
    "recursive",
    "multi",
    "m",
    "dedupe",
    "version",
    "help",
    "login",
    "logout",
    "whoami",
    "dist-tag",
    "owner",
    "team",
    "token",
    "access",
    "stage",
    "workspace",
    "workspaces",
    "npm",
    "info",
    "cache",
    "node",
    "explain",
    "plugin",
    "constraints",
    "unplug",
    "global",
    "tag",
    "search",
    "check",
    "policies",
    "install-test",
    "it",
    "sbom",
    "approve-builds",
];

/// Options that take a value, for every runner below.
const VALUE_FLAGS: &[&str] = &[
    "-w",
    "--workspace",
    "--prefix",
    "-C",
    "--dir",
    "--cwd",
    "--filter",
    "-F",
    "-r",
    "--require",
    "--import",
    "--loader",
    "--experimental-loader",
    "--tsconfig",
    "-P",
    "--project",
];

fn option_value<'a>(args: &[&'a str], names: &[&str]) -> Option<&'a str> {
    args.iter().enumerate().find_map(|(i, a)| {
        names.iter().find_map(|n| {
            if a == n {
                args.get(i + 1).copied()
            } else {
                a.strip_prefix(n)?.strip_prefix('=')
            }
        })
    })
}

fn positionals<'a>(args: &[&'a str], value_flags: &[&str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') {
            skip = value_flags.contains(a) && !a.contains('=');
            continue;
        }
        out.push(*a);
    }
    out
}

/// What `c` (a command of `body`) runs of the repository's, if anything.
fn target(c: &Command, body: &str, cwd: &str) -> Option<Target> {
    let args: Vec<&str> = c.argv().collect();
    let name = c.name.as_str();
    // The parser keeps a command's base name; a path names a file.
    let written = body
        .get(c.name_range.clone())
        .unwrap_or(name)
        .trim_matches(|ch| ch == '"' || ch == '\'');
    if let Some(rest) = unwrapped(name, &args) {
        return Some(Target::Inline(rest));
    }
    match name {
        "npm" | "pnpm" | "pn" | "yarn" | "bun" => {
            // Several packages at once (`-r`, `--filter`, `--workspaces`):
            // which package.json is not known.
            let pm_flags = [
                "-w",
                "--workspace",
                "--prefix",
                "-C",
                "--dir",
                "--cwd",
                "--filter",
                "-F",
            ];
            if args.iter().any(|a| {
                matches!(*a, "-r" | "--recursive" | "--workspaces" | "-ws")
                    || a.starts_with("--filter")
                    || *a == "-F"
            }) {
                return None;
            }
            let mut dir = cwd.to_string();
            if let Some(d) = option_value(&args, &["--prefix", "-C", "--dir", "--cwd"]) {
                dir = tree::join(cwd, &shell::normalize_path(d))?;
            }
            if name == "npm"
                && let Some(w) = option_value(&args, &["-w", "--workspace"])
            {
                // A workspace named by its path; a package name is not resolved.
                dir = tree::join(&dir, &shell::normalize_path(w))?;
            }
            let pos = positionals(&args, &pm_flags);
            let first = *pos.first()?;
            // `bun scripts/x.ts` runs a file.
            if name == "bun"
                && let Some(lang) = lang_of(first)
            {
                return Some(Target::File {
                    path: tree::join(&dir, &shell::normalize_path(first))?,
                    lang,
                });
            }
            let script = match (name, first) {
                ("npm", "run" | "run-script" | "rum" | "urn") => *pos.get(1)?,
                ("npm", _) => return None,
                (_, "run") => *pos.get(1)?,
                ("bun", _) => return None,
                (_, other) if !PNPM_BUILTINS.contains(&other) => other,
                _ => return None,
            };
            if script.contains('$') {
                return None;
            }
            // `bun run x.ts` / `yarn run ./x.js` run a file.
            if let Some(lang) = lang_of(script) {
                return Some(Target::File {
                    path: tree::join(&dir, script)?,
                    lang,
                });
            }
            Some(Target::Script {
                dir,
                name: script.to_string(),
            })
        }
        "node" | "tsx" | "ts-node" | "ts-node-esm" | "zx" | "deno" | "esno" | "jiti" => {
            let pos = positionals(&args, VALUE_FLAGS);
            let file = pos.into_iter().find(|p| *p != "run")?;
            if file.contains('$') {
                return None;
            }
            Some(Target::File {
                path: tree::join(cwd, &shell::normalize_path(file))?,
                lang: Lang::Js,
            })
        }
        "bash" | "sh" | "zsh" | "dash" => {
            if let Some(i) = args.iter().position(|a| *a == "-c") {
                return args.get(i + 1).map(|s| Target::Inline(s.to_string()));
            }
            let file = positionals(&args, &[]).into_iter().next()?;
            if file.contains('$') {
                return None;
            }
            Some(Target::File {
                path: tree::join(cwd, &shell::normalize_path(file))?,
                lang: Lang::Shell,
            })
        }
        _ if written.contains('/') && !written.contains('$') => {
            let path = shell::normalize_path(written);
            if !shell::in_workspace(&path) {
                return None;
            }
            Some(Target::File {
                lang: lang_of(&path).unwrap_or(Lang::Unknown),
                path: tree::join(cwd, &path)?,
            })
        }
        _ => None,
    }
}

/// The command a wrapper runs (`env X=1 cmd`, `cross-env`, `env-cmd`,
/// `dotenv --`, `sudo`, `time`, and those run through `npx`), as shell text
/// to parse again.
fn unwrapped(name: &str, args: &[&str]) -> Option<String> {
    let (wrapper, args) = match name {
        "npx" | "pnpx" | "bunx" => {
            let i = args.iter().position(|a| !a.starts_with('-'))?;
            (args[i], &args[i + 1..])
        }
        _ => (name, args),
    };
    let value_flags: &[&str] = match wrapper {
        "env" | "cross-env" | "sudo" | "time" | "nohup" => &["-u", "-C", "--chdir"],
        "env-cmd" => &["-f", "--file", "-e", "--environments", "-r", "--rc-file"],
        "dotenv" | "dotenv-cli" => &["-e", "-c", "-v", "-p"],
        _ => return None,
    };
    let mut i = 0;
    while i < args.len() && (args[i].starts_with('-') || args[i].contains('=')) {
        if args[i] == "--" {
            i += 1;
            break;
        }
        i += if value_flags.contains(&args[i]) { 2 } else { 1 };
    }
    let rest = args.get(i..)?;
    (!rest.is_empty()).then(|| rest.join(" "))
}

fn lang_of(path: &str) -> Option<Lang> {
    let lower = path.to_ascii_lowercase();
    if [".sh", ".bash", ".zsh"].iter().any(|e| lower.ends_with(e)) {
        Some(Lang::Shell)
    } else if [".js", ".mjs", ".cjs", ".ts", ".mts", ".cts"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        Some(Lang::Js)
    } else {
        None
    }
}

/// An extensionless script by its shebang.
fn sniff(text: &str) -> Lang {
    let first = text.lines().next().unwrap_or("");
    if !first.starts_with("#!") {
        return Lang::Unknown;
    }
    if ["node", "tsx", "ts-node", "zx", "bun", "deno"]
        .iter()
        .any(|i| first.contains(i))
    {
        Lang::Js
    } else if ["sh", "bash", "zsh"].iter().any(|i| first.contains(i)) {
        Lang::Shell
    } else {
        Lang::Unknown
    }
}

/// Publishes in a JavaScript or TypeScript release script: publish commands
/// in strings handed to `exec`/`execSync`/`execa`/zx (`"npm publish"`,
/// `` `pnpm publish --tag ${tag}` ``), argument lists (`spawn("npm",
/// ["publish"])`), and release-tool APIs (`semantic-release`,
/// `libnpmpublish`, `release-it`, `@lerna/publish`, Nx's `releasePublish`).
/// Comments are skipped; strings are only looked at, never run.
pub fn js_publishes(text: &str) -> Vec<(Tool, String)> {
    let literals = string_literals(text);
    let mut out: Vec<(Tool, String)> = Vec::new();
    let mut add = |t: Tool, w: &str| {
        if !out.iter().any(|(_, x)| x == w) {
            out.push((t, w.to_string()));
        }
    };
    for (i, (range, value)) in literals.iter().enumerate() {
        if value.contains("publish") || value.contains("release") {
            for c in shell::parse(value).commands {
                if let Some((tool, what)) = publish_command(&c) {
                    add(tool, &what);
                }
            }
        }
        // spawn('npm', ['publish', …]) / execa('yarn', ['npm', 'publish'])
        let after_yarn = i > 0 && literals[i - 1].1 == "yarn";
        if matches!(value.as_str(), "npm" | "pnpm" | "yarn" | "bun") && !after_yarn {
            let rest: Vec<&str> = literals[i + 1..]
                .iter()
                .take(3)
                .scan(range.end, |end, (r, v)| {
                    let gap = text.get(*end..r.start).unwrap_or("x");
                    *end = r.end;
                    gap.chars()
                        .all(|ch| {
                            ch.is_whitespace() || matches!(ch, ',' | '[' | '(' | '`' | '\'' | '"')
                        })
                        .then_some(v.as_str())
                })
                .collect();
            let publishes = match value.as_str() {
                "yarn" => rest.first() == Some(&"publish") || rest.starts_with(&["npm", "publish"]),
                _ => rest.first() == Some(&"publish"),
            };
            if publishes {
                let (tool, what) = match value.as_str() {
                    "npm" => (Tool::Npm, "npm publish"),
                    "pnpm" => (Tool::Pnpm, "pnpm publish"),
                    "bun" => (Tool::Bun, "bun publish"),
                    _ => (Tool::Yarn, "yarn npm publish"),
                };
                add(tool, what);
            }
        }
        // import … from 'X' / require('X') / import('X')
        let before = text[..range.start.saturating_sub(1)].trim_end();
        let imported = before.ends_with("from")
            || before.ends_with("require(")
            || before.ends_with("import(")
            || before.ends_with("import");
        if imported {
            match value.as_str() {
                "semantic-release" => add(Tool::SemanticRelease, "semantic-release"),
                "libnpmpublish" => add(Tool::Npm, "libnpmpublish"),
                "release-it" => add(Tool::ReleaseIt, "release-it"),
                // Vite's and Vue's shared release scripts: `publish()` runs
                // the package manager's publish.
                "@vitejs/release-scripts" if text.contains("publish(") => {
                    add(Tool::Npm, "@vitejs/release-scripts publish")
                }
                "@lerna/publish" | "lerna/commands/publish" => add(Tool::Lerna, "lerna publish"),
                "nx/release" | "nx/src/command-line/release" if text.contains("releasePublish") => {
                    add(Tool::Nx, "nx release publish")
                }
                _ => {}
            }
        }
    }
    out
}

/// String literals of JavaScript/TypeScript source (`'…'`, `"…"`,
/// `` `…` ``), with the byte range of their contents; comments skipped.
/// Escapes are kept as written: only command words matter here.
fn string_literals(text: &str) -> Vec<(std::ops::Range<usize>, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                i = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |n| i + n);
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = memchr::memmem::find(&b[i + 2..], b"*/").map_or(b.len(), |n| i + 2 + n + 2);
            }
            q @ (b'\'' | b'"' | b'`') => {
                let start = i + 1;
                let mut j = start;
                while j < b.len() && b[j] != q {
                    if b[j] == b'\\' {
                        j += 1;
                    } else if b[j] == b'\n' && q != b'`' {
                        break;
                    }
                    j += 1;
                }
                let end = j.min(b.len());
                if let Some(s) = text.get(start..end) {
                    out.push((start..end, s.to_string()));
                }
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tools(text: &str) -> Vec<String> {
        js_publishes(text).into_iter().map(|(_, w)| w).collect()
    }

    #[test]
    fn js_release_scripts() {
        assert_eq!(
            tools(
                "const { execSync } = require('child_process');\nexecSync(`npm publish --tag ${tag}`, { stdio: 'inherit' });"
            ),
            ["npm publish"]
        );
        assert_eq!(
            tools("await execa('pnpm', ['publish', '--access', 'public'])"),
            ["pnpm publish"]
        );
        assert_eq!(
            tools("spawnSync(\"yarn\", [\"npm\", \"publish\"])"),
            ["yarn npm publish"]
        );
        assert_eq!(
            tools("import semanticRelease from 'semantic-release';\nawait semanticRelease({})"),
            ["semantic-release"]
        );
        assert_eq!(
            tools("const { publish } = require('libnpmpublish')"),
            ["libnpmpublish"]
        );
        assert_eq!(
            tools("await $`pnpm -r publish --no-git-checks`"),
            ["pnpm publish"]
        );
        // Comments, other commands and words in prose are not publishes.
        assert!(tools("// then run npm publish by hand\nexecSync('npm pack')").is_empty());
        assert!(tools("/* npm publish */ console.log('ready to publish')").is_empty());
        assert!(tools("execSync('npm publish --dry-run')").len() == 1);
    }

    #[test]
    fn targets() {
        let cmd = |s: &str| shell::parse(s).commands.remove(0);
        let script = |s: &str| match target(&cmd(s), s, "") {
            Some(Target::Script { dir, name }) => Some(format!("{dir}:{name}")),
            Some(Target::File { path, .. }) => Some(format!("file {path}")),
            Some(Target::Inline(b)) => Some(format!("inline {b}")),
            None => None,
        };
        assert_eq!(script("pnpm release").as_deref(), Some(":release"));
        assert_eq!(
            script("npm run release -- --tag next").as_deref(),
            Some(":release")
        );
        assert_eq!(
            script("yarn run ci:publish").as_deref(),
            Some(":ci:publish")
        );
        assert_eq!(
            script("pnpm -C packages/cli run release").as_deref(),
            Some("packages/cli:release")
        );
        assert_eq!(script("pnpm install --frozen-lockfile"), None);
        assert_eq!(script("pnpm -r run release"), None);
        assert_eq!(script("npm ci"), None);
        assert_eq!(
            script("node scripts/release.js").as_deref(),
            Some("file scripts/release.js")
        );
        assert_eq!(
            script("node --require ts-node/register ./scripts/publish.ts").as_deref(),
            Some("file scripts/publish.ts")
        );
        assert_eq!(
            script("./scripts/publish.sh").as_deref(),
            Some("file scripts/publish.sh")
        );
        assert_eq!(
            script("bash scripts/x.sh").as_deref(),
            Some("file scripts/x.sh")
        );
        assert_eq!(script("node ../../etc/x.js"), None);
        let body = "npm publish --a=1 --b=2 --tag next";
        let c = shell::parse(body).commands.remove(0);
        assert_eq!(command_text(body, &c), "npm publish … --tag next");
        assert_eq!(
            script("npx env-cmd npm run lerna-release -- --tag=latest").as_deref(),
            Some("inline npm run lerna-release -- --tag=latest")
        );
        assert_eq!(
            script("cross-env NODE_ENV=production pnpm release").as_deref(),
            Some("inline pnpm release")
        );
    }

    #[test]
    fn shown_commands_carry_no_values() {
        let body =
            "NPM_TOKEN=abc123secret npm publish --//registry.npmjs.org/:_authToken=xyz --tag next";
        let c = shell::parse(body).commands.remove(0);
        let text = command_text(body, &c);
        assert_eq!(text, "npm publish … --tag next");
    }
}
