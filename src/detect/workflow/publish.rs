//! Publishing: which commands and actions publish a package, with which
//! tool, to which registry, and with which credential.

use super::shell::Command;
use super::{Ctx, Job, Step, Workflow, is_npm_config_file, token_writes};
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Npm,
    Pnpm,
    Yarn,
    Bun,
    SemanticRelease,
    Changesets,
    Lerna,
    Nx,
    ReleaseIt,
    Np,
    /// Ship.js: `shipjs trigger` publishes (its default `publishCommand` is
    /// `npm publish`, or `yarn publish` in a Yarn project) and pushes a tag.
    ShipJs,
}

impl Tool {
    /// Publishes through the npm CLI (so npm's version matters for OIDC).
    pub fn uses_npm_cli(self) -> bool {
        matches!(
            self,
            Tool::Npm
                | Tool::SemanticRelease
                | Tool::Changesets
                | Tool::Lerna
                | Tool::Nx
                | Tool::ReleaseIt
                | Tool::Np
                | Tool::ShipJs
        )
    }

    /// Runs the npm of the runner or image (so its version decides whether
    /// the OIDC exchange is tried). `@semantic-release/npm` depends on npm
    /// itself (npm 11 since June 2025) and runs that one in preference.
    pub fn runs_system_npm(self) -> bool {
        self.uses_npm_cli() && self != Tool::SemanticRelease
    }
}

/// A publish command or action in a step.
#[derive(Clone, Debug)]
pub struct Publish {
    pub tool: Tool,
    /// What it looks like (`npm publish`, `changesets/action`).
    pub what: String,
    /// File range of the command (or the `uses:` value).
    pub range: Range<usize>,
    pub dry_run: bool,
    pub provenance: bool,
    /// `--registry` given on the command line.
    pub registry: Option<String>,
    /// Staged (`npm stage publish`, `pnpm stage publish`): uploaded for a
    /// maintainer to approve with 2FA, not published directly.
    pub staged: bool,
    /// How the publish was recognised when the step does not spell it out:
    /// the chain from what the step runs to the publishing command
    /// (`` `pnpm release` runs `changeset publish` ``).
    pub via: Option<String>,
}

/// `npm stage publish` / `pnpm stage publish`: staged publishing (npm's
/// approval queue). Other `stage` subcommands (`list`, `approve`…) do not
/// upload anything.
fn is_stage_publish(pos: &[&str]) -> bool {
    pos.first() == Some(&"stage") && pos.get(1) == Some(&"publish")
}

impl Publish {
    /// The publish as messages name it: the command, and the chain that
    /// leads to it when there is one.
    pub fn shown(&self) -> String {
        match &self.via {
            Some(via) => format!("`{}` ({via})", self.what),
            None => format!("`{}`", self.what),
        }
    }
}

impl crate::detect::Hit {
    /// Say how an indirect publish was recognised (`publish_via` detail).
    pub fn with_publish_via(self, p: &Publish) -> crate::detect::Hit {
        match &p.via {
            Some(via) => self.with_detail("publish_via", via.clone()),
            None => self,
        }
    }
}

/// Options of npm/pnpm/yarn that take a value (so the value is not the
/// subcommand).
const VALUE_FLAGS: &[&str] = &[
    "-w",
    "--workspace",
    "--prefix",
    "-C",
    "--dir",
    "--registry",
    "--userconfig",
    "--tag",
    "--access",
    "--otp",
    "--filter",
    "-F",
    "--cwd",
];

/// Positional arguments, skipping options and their values.
fn positionals<'a>(args: &'a [&'a str]) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut skip = false;
    for a in args {
        if skip {
            skip = false;
            continue;
        }
        if a.starts_with('-') {
            skip = VALUE_FLAGS.contains(a);
            continue;
        }
        out.push(*a);
    }
    out
}

/// Does an Nx command run a publish target? `nx publish …`, `nx run
/// proj:publish`, `nx run-many -t publish`, `nx affected --target=…`;
/// `publish` is the conventional target name and `nx-release-publish` the
/// one `nx release` adds to every project.
fn nx_publish_target(pos: &[&str], rest: &[&str]) -> bool {
    let publishing = |t: &str| {
        t.split(',')
            .any(|t| matches!(t.trim(), "publish" | "nx-release-publish"))
    };
    match pos.first().copied() {
        Some("run") => pos
            .get(1)
            .and_then(|t| t.split(':').nth(1))
            .is_some_and(publishing),
        Some("run-many" | "affected") => {
            rest.iter()
                .enumerate()
                .any(|(i, a)| match a.split_once('=') {
                    Some(("-t" | "--target" | "--targets", v)) => publishing(v),
                    _ => {
                        matches!(*a, "-t" | "--target" | "--targets")
                            && rest.get(i + 1).is_some_and(|v| publishing(v))
                    }
                })
        }
        Some(target) => publishing(target),
        None => false,
    }
}

fn strip_version(pkg: &str) -> &str {
    let p = pkg.trim();
    // `@scope/name@1` keeps the scope: the version `@` is one after the
    // first character (which may be multi-byte: `npx étoile`).
    match p.char_indices().skip(1).find(|&(_, c)| c == '@') {
        Some((i, _)) => &p[..i],
        None => p,
    }
}

/// Classify a runner-of-packages invocation (`npx X`, `pnpm dlx X`…) by the
/// package it runs.
fn tool_of_package(pkg: &str, rest: &[&str]) -> Option<(Tool, String)> {
    let pkg = strip_version(pkg);
    let pos = positionals(rest);
    match pkg {
        "semantic-release" => Some((Tool::SemanticRelease, "semantic-release".into())),
        // Forks and monorepo wrappers that publish the same way.
        "semantic-release-plus"
        | "multi-semantic-release"
        | "@qiwi/multi-semantic-release"
        | "@anolilab/multi-semantic-release" => Some((Tool::SemanticRelease, pkg.to_string())),
        "changeset" | "@changesets/cli" if pos.first() == Some(&"publish") => {
            Some((Tool::Changesets, "changeset publish".into()))
        }
        "lerna" if pos.first() == Some(&"publish") => Some((Tool::Lerna, "lerna publish".into())),
        "nx" if pos.first() == Some(&"release") && !rest.contains(&"--skip-publish") => {
            if pos.get(1).is_none_or(|s| *s == "publish") {
                Some((Tool::Nx, "nx release".into()))
            } else {
                None
            }
        }
        "nx" if nx_publish_target(&pos, rest) => Some((Tool::Nx, "nx publish target".into())),
        "npm" if pos.first() == Some(&"publish") => Some((Tool::Npm, "npm publish".into())),
        "pnpm" if pos.first() == Some(&"publish") => Some((Tool::Pnpm, "pnpm publish".into())),
        // Both publish to npm unless told not to.
        "release-it"
            if !rest
                .iter()
                .any(|a| *a == "--no-npm" || a.starts_with("--no-npm.publish")) =>
        {
            Some((Tool::ReleaseIt, "release-it".into()))
        }
        "np" if !rest.contains(&"--no-publish") && !rest.contains(&"--help") => {
            Some((Tool::Np, "np".into()))
        }
        // `shipjs prepare` only opens the release PR; `trigger` publishes.
        "shipjs" if pos.first() == Some(&"trigger") => {
            Some((Tool::ShipJs, "shipjs trigger".into()))
        }
        _ => None,
    }
}

/// Does this shell command publish a package? Returns the tool and a label.
pub fn publish_command(c: &Command) -> Option<(Tool, String)> {
    let args: Vec<&str> = c.argv().collect();
    let pos = positionals(&args);
    let first = pos.first().copied();
    match c.name.as_str() {
        "npm" => match first {
            Some("publish") => Some((Tool::Npm, "npm publish".into())),
            Some("stage") if is_stage_publish(&pos) => {
                Some((Tool::Npm, "npm stage publish".into()))
            }
            Some("exec") | Some("x") => {
                let i = args.iter().position(|a| *a == pos[0])? + 1;
                let rest = &args[i..];
                let p = positionals(rest);
                let pkg = p.first()?;
                let j = rest.iter().position(|a| a == pkg)? + 1;
                tool_of_package(pkg, &rest[j..])
            }
            _ => None,
        },
        // `pn`/`pnx` are pnpm 11's short names.
        "pnpm" | "pn" => match first {
            Some("publish") => Some((Tool::Pnpm, "pnpm publish".into())),
            Some("stage") if is_stage_publish(&pos) => {
                Some((Tool::Pnpm, "pnpm stage publish".into()))
            }
            Some("dlx") | Some("exec") => {
                let pkg = pos.get(1)?;
                let j = args.iter().position(|a| a == pkg)? + 1;
                tool_of_package(pkg, &args[j..])
            }
            Some(other) => {
                let j = args.iter().position(|a| *a == other)? + 1;
                tool_of_package(other, &args[j..])
            }
            None => None,
        },
        "yarn" => match first {
            Some("publish") => Some((Tool::Yarn, "yarn publish".into())),
            Some("npm") if pos.get(1) == Some(&"publish") => {
                Some((Tool::Yarn, "yarn npm publish".into()))
            }
            Some("workspaces") if args.windows(2).any(|w| w == ["npm", "publish"]) => {
                Some((Tool::Yarn, "yarn npm publish".into()))
            }
            Some("dlx") | Some("exec") => {
                let pkg = pos.get(1)?;
                let j = args.iter().position(|a| a == pkg)? + 1;
                tool_of_package(pkg, &args[j..])
            }
            Some(other) => {
                let j = args.iter().position(|a| *a == other)? + 1;
                tool_of_package(other, &args[j..])
            }
            None => None,
        },
        "bun" if first == Some("publish") => Some((Tool::Bun, "bun publish".into())),
        "npx" | "bunx" | "pnpx" | "pnx" => {
            let pkg = first?;
            let j = args.iter().position(|a| *a == pkg)? + 1;
            tool_of_package(pkg, &args[j..])
        }
        "semantic-release"
        | "semantic-release-plus"
        | "multi-semantic-release"
        | "changeset"
        | "lerna"
        | "nx"
        | "release-it"
        | "np"
        | "shipjs" => tool_of_package(&c.name, &args),
        _ => None,
    }
}

/// How deep wrappers are followed (`sudo sh -c 'xargs npm publish'` is 3).
const MAX_WRAPPED: usize = 3;

/// The commands a wrapper runs: `sudo`/`env`/`nice`/`time`/`command` CMD…,
/// `find … -exec CMD … ;`, `xargs [options] CMD …`, `sh -c 'SCRIPT'` (the
/// script parsed as shell). Each keeps the wrapper's range, so a finding
/// sits on the line written in the file.
pub fn wrapped_commands(c: &Command) -> Vec<Command> {
    let args = &c.args;
    let value = |i: usize| args.get(i).map(|w| w.value.as_str());
    let rest_from = |i: usize, end: usize| -> Vec<Command> {
        let Some(name) = value(i) else {
            return Vec::new();
        };
        vec![Command {
            name: name.rsplit('/').next().unwrap_or(name).to_string(),
            name_range: args[i].range.clone(),
            range: c.range.clone(),
            args: args[i + 1..end.max(i + 1)].to_vec(),
            assigns: Vec::new(),
            stdout: c.stdout.clone(),
            stdin: None,
        }]
    };
    // Options of a wrapper that take a value.
    let skip = |with_value: &[&str], keep_assigns: bool| {
        let mut i = 0;
        while let Some(a) = value(i) {
            if with_value.contains(&a) {
                i += 2;
            } else if a.starts_with('-') || (keep_assigns && a.contains('=')) {
                i += 1;
            } else {
                break;
            }
        }
        i
    };
    match c.name.as_str() {
        "sudo" => rest_from(
            skip(&["-u", "-g", "-C", "-D", "-h", "-p"], false),
            args.len(),
        ),
        "env" => rest_from(skip(&["-u", "-C", "-S"], true), args.len()),
        "nice" | "time" | "command" | "exec" | "nohup" => {
            rest_from(skip(&["-n"], false), args.len())
        }
        "xargs" => rest_from(
            skip(&["-I", "-n", "-P", "-d", "-L", "-s", "-a", "-E"], false),
            args.len(),
        ),
        "find" => {
            let Some(start) = args
                .iter()
                .position(|w| matches!(w.value.as_str(), "-exec" | "-execdir"))
            else {
                return Vec::new();
            };
            let end = args[start..]
                .iter()
                .position(|w| matches!(w.value.as_str(), ";" | "\\;" | "+"))
                .map_or(args.len(), |e| start + e);
            rest_from(start + 1, end)
        }
        "sh" | "bash" | "dash" | "zsh" => {
            let Some(i) = args.iter().position(|w| w.value == "-c") else {
                return Vec::new();
            };
            let Some(script) = value(i + 1) else {
                return Vec::new();
            };
            super::shell::parse(script)
                .commands
                .into_iter()
                .map(|mut inner| {
                    inner.range = c.range.clone();
                    inner.name_range = c.name_range.clone();
                    inner
                })
                .collect()
        }
        _ => Vec::new(),
    }
}

/// The publish a command runs, itself or through wrappers
/// ([`wrapped_commands`]), with the command that publishes.
pub fn publish_through_wrappers(c: &Command) -> Option<(Tool, String, Command)> {
    let mut level = vec![c.clone()];
    for _ in 0..=MAX_WRAPPED {
        let mut next = Vec::new();
        for c in level {
            if let Some((tool, what)) = publish_command(&c) {
                return Some((tool, what, c));
            }
            next.extend(wrapped_commands(&c));
        }
        if next.is_empty() {
            return None;
        }
        level = next;
    }
    None
}

/// Publishing actions and the tool behind them.
pub(super) fn publish_action(step: &Step) -> Option<(Tool, String)> {
    let action = step.action()?;
    match action.as_str() {
        "changesets/action/publish" => Some((Tool::Changesets, action.clone())),
        "changesets/action" => step
            .with_value("publish")
            .filter(|v| !v.value.trim().is_empty())
            .map(|_| (Tool::Changesets, action.clone())),
        "cycjimmy/semantic-release-action" | "codfish/semantic-release-action" => {
            Some((Tool::SemanticRelease, action.clone()))
        }
        "js-devtools/npm-publish"
        | "pascalgn/npm-publish-action"
        | "mikeal/merge-release"
        | "primer/publish" => Some((Tool::Npm, action.clone())),
        _ => None,
    }
}

/// Every publish in a step (a script may publish several times).
pub fn step_publishes(step: &Step) -> Vec<Publish> {
    let mut out = Vec::new();
    // A `changesets/action` whose `publish:` input was followed is
    // represented by what that input runs.
    if let Some((tool, what)) = publish_action(step).filter(|_| step.indirect.is_empty()) {
        let dry_run = step
            .with_value("dry-run")
            .or_else(|| step.with_value("dry_run"))
            .is_some_and(|v| v.value.trim() == "true");
        out.push(Publish {
            tool,
            what,
            range: step
                .uses
                .as_ref()
                .map(|u| u.range.clone())
                .unwrap_or(step.range.clone()),
            dry_run,
            provenance: step
                .with_value("provenance")
                .is_some_and(|v| v.value.trim() == "true"),
            registry: step.with_value("registry").map(|v| v.value.clone()),
            staged: false,
            via: None,
        });
    }
    for c in step.commands() {
        let Some((tool, what, publishing)) = publish_through_wrappers(c) else {
            continue;
        };
        out.push(command_publish(
            &publishing,
            tool,
            what,
            step.file_range(c.range.start..c.range.end),
        ));
    }
    out.extend(step.indirect.iter().cloned());
    out
}

/// A publish command's flags: `--dry-run`, `--provenance`, `--registry`.
pub fn command_publish(c: &Command, tool: Tool, what: String, range: Range<usize>) -> Publish {
    let args: Vec<&str> = c.argv().collect();
    let flag = |f: &str| {
        args.iter()
            .any(|a| *a == f || a.strip_prefix(f).is_some_and(|r| r == "=true"))
    };
    // `--registry URL`, or `npm_config_registry=URL npm publish` (npm reads
    // any `npm_config_*` variable of its environment, case-insensitively).
    let registry = args
        .iter()
        .enumerate()
        .find_map(|(i, a)| {
            if *a == "--registry" {
                args.get(i + 1).map(|s| s.to_string())
            } else {
                a.strip_prefix("--registry=").map(str::to_string)
            }
        })
        .or_else(|| {
            c.assigns
                .iter()
                .find(|a| a.name.eq_ignore_ascii_case("npm_config_registry"))
                .map(|a| a.value.value.clone())
        });
    Publish {
        tool,
        what,
        range,
        dry_run: flag("--dry-run") || (tool == Tool::SemanticRelease && flag("-d")),
        provenance: flag("--provenance"),
        registry,
        staged: matches!(c.name.as_str(), "npm" | "pnpm" | "pn")
            && is_stage_publish(&positionals(&args)),
        via: None,
    }
}

/// Every step that really publishes, with its job and its publishes, in
/// document order: the loop each publishing audit starts from.
pub fn publishing_steps(wf: &Workflow) -> impl Iterator<Item = (&Job, &Step, Vec<Publish>)> {
    wf.jobs.iter().flat_map(|job| {
        job.steps.iter().filter_map(move |step| {
            let publishes = real_publishes(step);
            (!publishes.is_empty()).then_some((job, step, publishes))
        })
    })
}

/// Publishes that really publish: not `--dry-run`, and not to a registry
/// on the runner itself (an end-to-end test publishing to a Verdaccio on
/// `localhost` reaches no one).
pub fn real_publishes(step: &Step) -> Vec<Publish> {
    step_publishes(step)
        .into_iter()
        .filter(|p| !p.dry_run && !p.registry.as_deref().is_some_and(is_loopback_registry))
        .collect()
}

/// Commands that need a write-capable token besides publishing.
pub fn write_command(c: &Command) -> bool {
    let args: Vec<&str> = c.argv().collect();
    let pos = positionals(&args);
    matches!(c.name.as_str(), "npm" | "pnpm" | "pn" | "yarn")
        && matches!(
            pos.first().copied(),
            Some("dist-tag" | "deprecate" | "unpublish" | "access" | "owner" | "team" | "token")
        )
}

/// Does the job publish (or change registry state)?
pub fn job_publishes(job: &Job) -> bool {
    job.steps
        .iter()
        .any(|s| !real_publishes(s).is_empty() || s.commands().iter().any(write_command))
}

/// The credential a publish authenticates with: an env var in scope, a
/// `with:` input, or a config file a token was written to before it.
#[derive(Clone, Debug)]
pub struct PublishAuth {
    pub source: String,
    /// The env key, input key or write that brings it in.
    pub range: Range<usize>,
    pub what: String,
}

pub fn publish_auth(cx: &Ctx, job: &Job, step: &Step, p: &Publish) -> Option<PublishAuth> {
    if let Some((e, c)) = cx
        .wf
        .step_credentials(job, step, cx.opts)
        .into_iter()
        .next()
    {
        return Some(PublishAuth {
            source: c.source,
            range: e.key.clone(),
            what: format!("{} in {}-level env", e.name, e.level.as_str()),
        });
    }
    for (k, r, v) in &step.with {
        if let Some(c) = cx.wf.credential(k, &v.value, cx.opts) {
            return Some(PublishAuth {
                source: c.source,
                range: r.clone(),
                what: format!("input `{k}`"),
            });
        }
    }
    // `${{ secrets.NPM_TOKEN }}` pasted into the publishing script itself
    // (`npm publish --//registry.npmjs.org/:_authToken=${{ … }}`): the same
    // credential as through `env:`, so the same findings.
    if let Some(run) = &step.run {
        for e in &run.script.exprs {
            let Some(r) = super::expr_credential(&e.inner, cx.opts) else {
                continue;
            };
            let value = format!("${{{{ {} }}}}", e.inner.trim());
            if let Some(c) = cx.wf.credential(&r.name, &value, cx.opts) {
                return Some(PublishAuth {
                    what: format!("`${{{{ {} }}}}` in the script", c.source),
                    source: c.source,
                    range: run.file_range(e.range.clone()),
                });
            }
        }
    }
    token_configured(cx, job, step, p).map(|w| PublishAuth {
        what: format!("{} written in step {}", w.path, job.steps[w.step].label),
        source: w.source,
        range: w.range,
    })
}

/// A token written into npm's configuration before the publish (`npm
/// config set //…/:_authToken "$T"`, `echo … >> ~/.npmrc`): npm then holds a
/// token whatever setup-node did. (A token in `env:` alone reaches npm only
/// through an `.npmrc` that names its variable.)
pub fn token_configured(
    cx: &Ctx,
    job: &Job,
    step: &Step,
    p: &Publish,
) -> Option<super::TokenWrite> {
    token_writes(cx, job)
        .into_iter()
        .filter(|w| is_npm_config_file(&w.path))
        .find(|w| w.step < step.index || (w.step == step.index && w.range.start < p.range.start))
}

// Setup-node and the public registry

pub const PUBLIC_REGISTRY_HOSTS: &[&str] = &["registry.npmjs.org", "registry.npmjs.com"];

/// Does a registry URL point at the public npm registry?
pub fn is_public_registry(url: &str) -> bool {
    let host = url
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://")
        .trim_start_matches("//")
        .split('/')
        .next()
        .unwrap_or("");
    PUBLIC_REGISTRY_HOSTS.contains(&host) || host == "registry.yarnpkg.com"
}

/// Does a registry URL point at the machine it runs on (`localhost`,
/// `127.0.0.0/8`, `[::1]`, `0.0.0.0`)?
pub fn is_loopback_registry(url: &str) -> bool {
    let v = url.trim().trim_matches(['"', '\'']);
    let rest = v.split_once("://").map_or(v, |(_, r)| r);
    let authority = rest
        .trim_start_matches("//")
        .split('/')
        .next()
        .unwrap_or("");
    // Drop credentials and the port; an IPv6 literal keeps its brackets.
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = match host.strip_prefix('[') {
        Some(h) => h.split(']').next().unwrap_or(""),
        None => host.split(':').next().unwrap_or(""),
    };
    let host = host.to_ascii_lowercase();
    host == "localhost"
        || host.ends_with(".localhost")
        || host == "::1"
        || host == "0.0.0.0"
        || host
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The last `actions/setup-node` step before step `before`.
pub fn setup_node_before(job: &Job, before: usize) -> Option<&Step> {
    job.steps[..before.min(job.steps.len())]
        .iter()
        .rev()
        .find(|s| s.action().as_deref() == Some("actions/setup-node"))
}

/// The registry a publish in step `i` goes to, when it is not the public
/// one: `--registry`, `NPM_CONFIG_REGISTRY`, or setup-node's `registry-url`.
pub fn private_registry(wf: &Workflow, job: &Job, i: usize, p: &Publish) -> Option<String> {
    if let Some(r) = &p.registry {
        return (!is_public_registry(r)).then(|| r.clone());
    }
    let step = &job.steps[i];
    for e in wf.effective_env(job, step) {
        let n = e.name.to_ascii_uppercase();
        if (n == "NPM_CONFIG_REGISTRY"
            || n == "YARN_NPM_REGISTRY_SERVER"
            || n == "YARN_NPM_PUBLISH_REGISTRY")
            && !e.value.value.contains("${{")
            && !is_public_registry(&e.value.value)
        {
            return Some(e.value.value.clone());
        }
    }
    if let Some(url) = setup_node_before(job, i).and_then(|s| s.with_value("registry-url")) {
        let v = url.value.trim();
        if !v.is_empty() && !v.contains("${{") && !is_public_registry(v) {
            return Some(v.to_string());
        }
    }
    if let Some(url) = step.with_value("registry")
        && !is_public_registry(&url.value)
    {
        return Some(url.value.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::workflow::shell;

    fn cmd(s: &str) -> Command {
        shell::parse(s).commands.remove(0)
    }

    #[test]
    fn staged_publishes_are_flagged() {
        let staged = |s: &str| {
            let c = cmd(s);
            let args: Vec<&str> = c.argv().collect();
            matches!(c.name.as_str(), "npm" | "pnpm" | "pn")
                && is_stage_publish(&positionals(&args))
        };
        assert!(staged("npm stage publish --tag next"));
        assert!(staged("pnpm stage publish -r"));
        assert!(!staged("npm publish"));
        assert!(!staged("npm stage list"));
        assert_eq!(
            publish_command(&cmd("npm stage publish")).unwrap().1,
            "npm stage publish"
        );
    }

    #[test]
    fn loopback_registries() {
        for yes in [
            "http://localhost:4873/",
            "http://localhost:4872",
            "\"http://127.0.0.1:4873\"",
            "http://[::1]:4873/",
            "https://user:pw@localhost/",
            "//localhost:4873/",
            "http://verdaccio.localhost/",
            "http://0.0.0.0:4873",
        ] {
            assert!(is_loopback_registry(yes), "{yes}");
        }
        for no in [
            "https://registry.npmjs.org/",
            "https://npm.pkg.github.com",
            "http://localhost.example.com/",
            "http://10.0.0.1:4873",
            "",
        ] {
            assert!(!is_loopback_registry(no), "{no}");
        }
        let local = |s: &str| {
            let c = cmd(s);
            let (tool, what) = publish_command(&c).unwrap();
            command_publish(&c, tool, what, 0..0).registry
        };
        assert_eq!(
            local("npx lerna publish from-package --registry=http://localhost:4872/ --yes")
                .as_deref(),
            Some("http://localhost:4872/")
        );
        assert_eq!(
            local("npm_config_registry=http://localhost:4873 npm publish").as_deref(),
            Some("http://localhost:4873")
        );
        assert_eq!(local("npm publish"), None);
    }

    #[test]
    fn publish_commands() {
        let yes = [
            "npm publish",
            "npm publish --access public --provenance",
            "npm -w pkg publish",
            "pnpm -r publish --no-git-checks",
            "yarn npm publish",
            "yarn publish",
            "yarn workspaces foreach -A npm publish",
            "npx semantic-release",
            "npx --yes semantic-release@24",
            "pnpm changeset publish",
            "npx changeset publish",
            "yarn changeset publish",
            "npx lerna publish from-package --yes",
            "bun publish",
            "pnpm dlx semantic-release",
            "pn publish --filter=!pnpm --access=public",
            "pnx semantic-release",
            "npm stage publish",
            "npm stage publish --access public",
            "pnpm stage publish -r",
            "npx semantic-release-plus",
            "npx release-it --ci",
            "npx np --yolo",
            "npx shipjs trigger",
            "yarn shipjs trigger",
            "shipjs trigger",
            "npx nx release publish",
            // Nx publish targets (typescript-eslint's canary job).
            "npx nx publish premajor --canary --dist-tag rc-v8",
            "npx nx run my-lib:publish",
            "nx run-many -t build,publish",
            "npx nx affected --target=nx-release-publish",
        ];
        for s in yes {
            assert!(publish_command(&cmd(s)).is_some(), "{s}");
        }
        let no = [
            "npm ci",
            "npm run build",
            "npm pack",
            "pnpm install --frozen-lockfile",
            "yarn install --immutable",
            "npx changeset version",
            "echo npm publish",
            "npm stage list",
            "npm stage approve 1234",
            "pnpm stage view 1234",
            "npx release-it --no-npm.publish",
            "np --no-publish",
            "npx shipjs prepare",
            "npx nx run-many -t build test",
            "npx nx run my-lib:build",
            "npx nx release version",
        ];
        for s in no {
            assert!(publish_command(&cmd(s)).is_none(), "{s}");
        }
    }

    #[test]
    fn publishes_through_wrappers() {
        let yes = [
            (
                "find . -name '*.tgz' -exec npm publish {} \\;",
                "npm publish",
            ),
            (
                "find ./build -name '*.tgz' -print0 | xargs -0 -I{} sh -c 'npm publish \"{}\" --access public'",
                "npm publish",
            ),
            ("sudo -E npm publish --provenance", "npm publish"),
            (
                "env NPM_CONFIG_PROVENANCE=true npx semantic-release",
                "semantic-release",
            ),
            ("bash -c 'cd dist && npm publish'", "npm publish"),
        ];
        for (s, what) in yes {
            let found = shell::parse(s)
                .commands
                .iter()
                .find_map(publish_through_wrappers)
                .map(|(_, w, _)| w);
            assert_eq!(found.as_deref(), Some(what), "{s}");
        }
        for s in [
            "find . -name '*.js' -exec rm {} \\;",
            "xargs -n1 echo npm publish",
            "sh -c 'npm ci'",
            "sudo apt-get install -y jq",
        ] {
            assert!(
                shell::parse(s)
                    .commands
                    .iter()
                    .all(|c| publish_through_wrappers(c).is_none()),
                "{s}"
            );
        }
        // Flags are read from the publishing command, not the wrapper.
        let c = cmd("sudo npm publish --dry-run");
        let (tool, what, inner) = publish_through_wrappers(&c).unwrap();
        assert!(command_publish(&inner, tool, what, 0..1).dry_run);
    }
}
