//! GitHub Actions analysis: where an npm credential enters a workflow (or a
//! composite action), which steps see it, what they do with it, and whether
//! the job could publish with OIDC trusted publishing instead.
//!
//! This module holds the model — workflow → jobs → steps, with `env` at
//! each level, effective permissions, runner, `uses` + `with`, `run` parsed
//! as shell ([`shell`]) — and the facts several rules share (credentials in
//! scope, publish commands, files a token was written to). Each rule lives
//! in its own module and names its rule id.

pub mod shell;

mod docker_build_arg;
mod long_lived_publish_token;
mod oidc_no_registry_url;
mod oidc_npm_too_old;
mod oidc_reusable_workflow;
mod oidc_self_hosted;
mod provenance_no_id_token;
mod publish_broad_permissions;
mod secret_in_run;
mod secret_printed;
mod secrets_inherit;
mod token_in_install_job;
mod token_overexposed;
mod token_persisted;
mod token_untrusted_trigger;
mod token_with_oidc;

use super::envassign::is_credential_name;
use super::values::{ValueClass, classify};
use super::{DetectOptions, FileKind, Item, Sink, yaml};
use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use regex::Regex;
use shell::{Command, Script, Word};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::OnceLock;

/// Entry point registered in [`super::DETECTORS`].
pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        sink.warn(item.path, "not valid UTF-8; workflow not analysed");
        return;
    };
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            sink.warn(item.path, format!("{e}; workflow not analysed"));
            return;
        }
    };
    let is_action = FileKind::of(item.path) == FileKind::Action;
    let Some(map) = root.as_mapping() else {
        if !matches!(&root, Node::Scalar(s) if s.as_str().trim().is_empty()) {
            sink.warn(
                item.path,
                "top level is not a mapping; workflow not analysed",
            );
        }
        return;
    };
    let wf = Workflow::parse(text, map, is_action);
    let cx = Ctx {
        item,
        text,
        wf: &wf,
        opts,
    };
    for check in CHECKS {
        check(&cx, sink);
    }
}

/// Every workflow rule, one module each.
const CHECKS: &[fn(&Ctx, &mut Sink)] = &[
    secret_printed::check,
    secret_in_run::check,
    token_overexposed::check,
    token_persisted::check,
    long_lived_publish_token::check,
    token_with_oidc::check,
    oidc_npm_too_old::check,
    oidc_self_hosted::check,
    oidc_reusable_workflow::check,
    oidc_no_registry_url::check,
    provenance_no_id_token::check,
    token_in_install_job::check,
    token_untrusted_trigger::check,
    publish_broad_permissions::check,
    secrets_inherit::check,
    docker_build_arg::check,
];

/// What every rule gets.
pub struct Ctx<'a> {
    pub item: &'a Item<'a>,
    pub text: &'a str,
    pub wf: &'a Workflow,
    pub opts: &'a DetectOptions,
}

// ---------------------------------------------------------------------------
// Model

/// A scalar value and where it is written.
#[derive(Clone, Debug)]
pub struct Scalar {
    pub value: String,
    pub range: Range<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Workflow,
    Job,
    Step,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Workflow => "workflow",
            Level::Job => "job",
            Level::Step => "step",
        }
    }
}

/// An `env:` entry.
#[derive(Clone, Debug)]
pub struct EnvVar {
    pub name: String,
    pub key: Range<usize>,
    pub value: Scalar,
    pub level: Level,
}

/// Where a credential value comes from.
#[derive(Clone, Debug)]
pub struct Credential {
    /// `secrets.NPM_TOKEN`, `vars.NPM_TOKEN`, or the value's description.
    pub source: String,
    /// A registered secret: GitHub masks exact matches of it in logs.
    pub registered: bool,
    /// The secret's name says it is read-only (`NPM_READ_TOKEN`…).
    pub read_only: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Permissions {
    WriteAll,
    ReadAll,
    /// Scope → `read` / `write` / `none`; `{}` is an empty map.
    Scopes(BTreeMap<String, String>),
    /// An expression or something unrecognised.
    Unknown,
}

#[derive(Clone, Debug)]
pub struct PermBlock {
    pub perms: Permissions,
    /// The `permissions` key.
    pub key: Range<usize>,
}

impl PermBlock {
    pub fn id_token_write(&self) -> bool {
        match &self.perms {
            Permissions::WriteAll => true,
            Permissions::Scopes(m) => m.get("id-token").is_some_and(|v| v == "write"),
            _ => false,
        }
    }
}

/// A `run:` body, parsed, with the map back to file offsets.
#[derive(Debug)]
pub struct Run {
    pub body: String,
    pub script: Script,
    /// Offset of the value's first character in the file.
    start: usize,
    /// `(body offset of line, file offset of line)` when the line appears
    /// verbatim in the file (block scalars).
    lines: Vec<(usize, Option<usize>)>,
    pub verbatim: bool,
}

impl Run {
    fn new(text: &str, value: &str, start: usize) -> Run {
        let script = shell::parse(value);
        let verbatim = text[start..].starts_with(value);
        let mut lines = Vec::new();
        let mut cursor = start;
        let mut off = 0;
        for line in value.split_inclusive('\n') {
            let content = line.trim_end_matches('\n').trim_end_matches('\r');
            let file = if verbatim {
                Some(start + off)
            } else if content.is_empty() {
                None
            } else {
                text[cursor..].find(content).map(|i| cursor + i)
            };
            if let Some(f) = file {
                cursor = f + content.len();
            }
            lines.push((off, file));
            off += line.len();
        }
        Run {
            body: value.to_string(),
            script,
            start,
            lines,
            verbatim,
        }
    }

    /// File range of a range of the body (cut at the end of its line).
    pub fn file_range(&self, r: Range<usize>) -> Range<usize> {
        let idx = self
            .lines
            .iter()
            .rposition(|(b, _)| *b <= r.start)
            .unwrap_or(0);
        match self.lines.get(idx) {
            Some((b, Some(f))) => {
                let line_end = self.body[*b..]
                    .find('\n')
                    .map(|i| b + i)
                    .unwrap_or(self.body.len());
                let end = r.end.min(line_end).max(r.start + 1);
                f + (r.start - b)..f + (end - b)
            }
            _ => self.start..self.start + 1,
        }
    }
}

#[derive(Debug)]
pub struct Step {
    pub index: usize,
    /// `id`, else `name`, else `#<index>`: a stable identity for keys.
    pub label: String,
    /// Start of the step's first key.
    pub range: Range<usize>,
    pub uses: Option<Scalar>,
    pub with: Vec<(String, Range<usize>, Scalar)>,
    pub run: Option<Run>,
    pub shell: Option<Scalar>,
    pub env: Vec<EnvVar>,
}

impl Step {
    /// The action name without its `@ref`, lower-cased (`actions/setup-node`).
    pub fn action(&self) -> Option<String> {
        self.uses.as_ref().map(|u| {
            u.value
                .split('@')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
    }

    /// The action's `@ref`.
    pub fn action_ref(&self) -> Option<&str> {
        self.uses
            .as_ref()
            .and_then(|u| u.value.split_once('@').map(|(_, r)| r.trim()))
    }

    pub fn with_value(&self, key: &str) -> Option<&Scalar> {
        self.with
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, _, v)| v)
    }

    pub fn commands(&self) -> &[Command] {
        self.run
            .as_ref()
            .map(|r| r.script.commands.as_slice())
            .unwrap_or(&[])
    }

    /// File range of a body range of this step's `run:`.
    pub fn file_range(&self, r: Range<usize>) -> Range<usize> {
        match &self.run {
            Some(run) => run.file_range(r),
            None => self.range.clone(),
        }
    }
}

#[derive(Debug)]
pub struct Job {
    pub id: String,
    pub key: Range<usize>,
    /// Runner labels (a scalar becomes one label).
    pub runs_on: Vec<String>,
    pub runs_on_range: Option<Range<usize>>,
    /// `runs-on: { group: … }`.
    pub runner_group: bool,
    pub permissions: Option<PermBlock>,
    pub env: Vec<EnvVar>,
    pub steps: Vec<Step>,
    /// A reusable-workflow call: `uses:` at job level.
    pub uses: Option<Scalar>,
    pub with: Vec<(String, Range<usize>, Scalar)>,
    /// The `secrets` key when its value is `inherit`.
    pub secrets_inherit: Option<Range<usize>>,
    /// Explicit `secrets:` passed to a reusable workflow.
    pub secrets: Vec<EnvVar>,
}

impl Job {
    pub fn self_hosted(&self) -> bool {
        self.runner_group
            || self
                .runs_on
                .iter()
                .any(|l| l.trim().eq_ignore_ascii_case("self-hosted"))
    }
}

#[derive(Debug)]
pub struct Workflow {
    pub is_action: bool,
    /// Trigger names (`push`, `pull_request_target`, `workflow_call`…).
    pub triggers: Vec<String>,
    pub env: Vec<EnvVar>,
    pub permissions: Option<PermBlock>,
    pub jobs: Vec<Job>,
}

impl Workflow {
    fn parse(text: &str, map: &MarkedMappingNode, is_action: bool) -> Workflow {
        let mut wf = Workflow {
            is_action,
            triggers: Vec::new(),
            env: Vec::new(),
            permissions: None,
            jobs: Vec::new(),
        };
        for (k, v) in map.iter() {
            match k.as_str() {
                "on" | "true" => wf.triggers = triggers(v),
                "env" => wf.env = env_vars(text, v, Level::Workflow),
                "permissions" => wf.permissions = Some(perm_block(text, k, v)),
                "jobs" => {
                    if let Some(jobs) = v.as_mapping() {
                        for (jk, jv) in jobs.iter() {
                            if let Some(jm) = jv.as_mapping() {
                                wf.jobs.push(parse_job(text, jk, jm));
                            }
                        }
                    }
                }
                "runs" if is_action => {
                    // A composite action: its steps form one pseudo-job.
                    if let Some(steps) = v.as_mapping().and_then(|m| m.get_node("steps")) {
                        let key = key_range(text, k);
                        wf.jobs.push(Job {
                            id: "composite".into(),
                            key,
                            runs_on: Vec::new(),
                            runs_on_range: None,
                            runner_group: false,
                            permissions: None,
                            env: Vec::new(),
                            steps: parse_steps(text, steps),
                            uses: None,
                            with: Vec::new(),
                            secrets_inherit: None,
                            secrets: Vec::new(),
                        });
                    }
                }
                _ => {}
            }
        }
        wf
    }

    pub fn has_trigger(&self, name: &str) -> bool {
        self.triggers.iter().any(|t| t == name)
    }

    /// Only callable by other workflows: permissions and runner come from
    /// the caller.
    pub fn is_reusable_only(&self) -> bool {
        !self.triggers.is_empty() && self.triggers.iter().all(|t| t == "workflow_call")
    }

    /// Permissions in force for a job: the job's block replaces the
    /// workflow's; `None` means the repository default (which never grants
    /// `id-token`).
    pub fn effective_permissions<'a>(&'a self, job: &'a Job) -> Option<&'a PermBlock> {
        job.permissions.as_ref().or(self.permissions.as_ref())
    }

    pub fn id_token_write(&self, job: &Job) -> bool {
        self.effective_permissions(job)
            .is_some_and(PermBlock::id_token_write)
    }

    /// Environment a step runs with: step over job over workflow.
    pub fn effective_env<'a>(&'a self, job: &'a Job, step: &'a Step) -> Vec<&'a EnvVar> {
        let mut out: Vec<&EnvVar> = Vec::new();
        for e in step.env.iter().chain(&job.env).chain(&self.env) {
            if !out.iter().any(|o| o.name == e.name) {
                out.push(e);
            }
        }
        out
    }

    /// Credentials in a step's environment (and `with:` inputs that carry
    /// one), most specific level first.
    pub fn step_credentials<'a>(
        &'a self,
        job: &'a Job,
        step: &'a Step,
        opts: &DetectOptions,
    ) -> Vec<(&'a EnvVar, Credential)> {
        self.effective_env(job, step)
            .into_iter()
            .filter_map(|e| credential(&e.name, &e.value.value, opts).map(|c| (e, c)))
            .collect()
    }
}

fn triggers(v: &Node) -> Vec<String> {
    match v {
        Node::Scalar(s) => vec![s.as_str().trim().to_string()],
        Node::Sequence(seq) => seq
            .iter()
            .filter_map(|n| n.as_scalar().map(|s| s.as_str().trim().to_string()))
            .collect(),
        Node::Mapping(m) => m.iter().map(|(k, _)| k.as_str().to_string()).collect(),
    }
}

fn key_range(text: &str, k: &MarkedScalarNode) -> Range<usize> {
    yaml::scalar_range(text, k.span(), k.as_str())
}

fn scalar(text: &str, s: &MarkedScalarNode) -> Scalar {
    Scalar {
        value: s.as_str().to_string(),
        range: yaml::scalar_range(text, s.span(), s.as_str()),
    }
}

/// Any node as a scalar (flow sequences and mappings keep their start).
fn scalar_of(text: &str, n: &Node) -> Scalar {
    match n {
        Node::Scalar(s) => scalar(text, s),
        other => {
            let start = yaml::span_start(text, other.span());
            Scalar {
                value: String::new(),
                range: start..start + 1,
            }
        }
    }
}

fn env_vars(text: &str, v: &Node, level: Level) -> Vec<EnvVar> {
    let Some(m) = v.as_mapping() else {
        return Vec::new();
    };
    m.iter()
        .map(|(k, v)| EnvVar {
            name: k.as_str().to_string(),
            key: key_range(text, k),
            value: scalar_of(text, v),
            level,
        })
        .collect()
}

fn perm_block(text: &str, k: &MarkedScalarNode, v: &Node) -> PermBlock {
    let perms = match v {
        Node::Scalar(s) => match s.as_str().trim() {
            "write-all" => Permissions::WriteAll,
            "read-all" => Permissions::ReadAll,
            "" => Permissions::Scopes(BTreeMap::new()),
            _ => Permissions::Unknown,
        },
        Node::Mapping(m) => Permissions::Scopes(
            m.iter()
                .map(|(k, v)| {
                    let val = v.as_scalar().map(|s| s.as_str().trim()).unwrap_or("");
                    (k.as_str().to_string(), val.to_string())
                })
                .collect(),
        ),
        Node::Sequence(_) => Permissions::Unknown,
    };
    PermBlock {
        perms,
        key: key_range(text, k),
    }
}

fn with_inputs(text: &str, v: &Node) -> Vec<(String, Range<usize>, Scalar)> {
    let Some(m) = v.as_mapping() else {
        return Vec::new();
    };
    m.iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                key_range(text, k),
                scalar_of(text, v),
            )
        })
        .collect()
}

fn parse_job(text: &str, k: &MarkedScalarNode, m: &MarkedMappingNode) -> Job {
    let mut job = Job {
        id: k.as_str().to_string(),
        key: key_range(text, k),
        runs_on: Vec::new(),
        runs_on_range: None,
        runner_group: false,
        permissions: None,
        env: Vec::new(),
        steps: Vec::new(),
        uses: None,
        with: Vec::new(),
        secrets_inherit: None,
        secrets: Vec::new(),
    };
    for (jk, jv) in m.iter() {
        match jk.as_str() {
            "runs-on" => {
                job.runs_on_range = Some(key_range(text, jk));
                match jv {
                    Node::Scalar(s) => job.runs_on = vec![s.as_str().to_string()],
                    Node::Sequence(seq) => {
                        job.runs_on = seq
                            .iter()
                            .filter_map(|n| n.as_scalar().map(|s| s.as_str().to_string()))
                            .collect()
                    }
                    Node::Mapping(rm) => {
                        job.runner_group = rm.get_node("group").is_some();
                        match rm.get_node("labels") {
                            Some(Node::Scalar(s)) => job.runs_on = vec![s.as_str().to_string()],
                            Some(Node::Sequence(seq)) => {
                                job.runs_on = seq
                                    .iter()
                                    .filter_map(|n| n.as_scalar().map(|s| s.as_str().to_string()))
                                    .collect()
                            }
                            _ => {}
                        }
                    }
                }
            }
            "permissions" => job.permissions = Some(perm_block(text, jk, jv)),
            "env" => job.env = env_vars(text, jv, Level::Job),
            "steps" => job.steps = parse_steps(text, jv),
            "uses" => job.uses = jv.as_scalar().map(|s| scalar(text, s)),
            "with" => job.with = with_inputs(text, jv),
            "secrets" => match jv {
                Node::Scalar(s) if s.as_str().trim() == "inherit" => {
                    job.secrets_inherit = Some(key_range(text, jk))
                }
                other => job.secrets = env_vars(text, other, Level::Job),
            },
            _ => {}
        }
    }
    job
}

fn parse_steps(text: &str, v: &Node) -> Vec<Step> {
    let Some(seq) = v.as_sequence() else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    for (index, n) in seq.iter().enumerate() {
        let Some(m) = n.as_mapping() else {
            continue;
        };
        let start = yaml::span_start(text, n.span());
        let mut step = Step {
            index,
            label: format!("#{}", index + 1),
            range: start..start + 1,
            uses: None,
            with: Vec::new(),
            run: None,
            shell: None,
            env: Vec::new(),
        };
        if let Some((k, _)) = m.iter().next() {
            step.range = key_range(text, k);
        }
        let mut id = None;
        let mut name = None;
        for (k, v) in m.iter() {
            match k.as_str() {
                "id" => id = v.as_scalar().map(|s| s.as_str().to_string()),
                "name" => name = v.as_scalar().map(|s| s.as_str().to_string()),
                "uses" => step.uses = v.as_scalar().map(|s| scalar(text, s)),
                "with" => step.with = with_inputs(text, v),
                "shell" => step.shell = v.as_scalar().map(|s| scalar(text, s)),
                "env" => step.env = env_vars(text, v, Level::Step),
                "run" => {
                    if let Some(s) = v.as_scalar() {
                        let start = yaml::span_start(text, s.span());
                        let start = match text.as_bytes().get(start) {
                            Some(b'"') | Some(b'\'') => start + 1,
                            _ => start,
                        };
                        step.run = Some(Run::new(text, s.as_str(), start));
                    }
                }
                _ => {}
            }
        }
        if let Some(l) = id.or(name) {
            step.label = l;
        }
        steps.push(step);
    }
    steps
}

// ---------------------------------------------------------------------------
// Credentials

/// A `secrets.NAME` or `vars.NAME` reference inside a value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContextRef {
    pub context: String,
    pub name: String,
}

fn context_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r#"\b(secrets|vars|inputs|env)\s*(?:\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\[\s*['"]([^'"]+)['"]\s*\])"#)
            .expect("valid regex")
    })
}

/// `secrets.X` / `vars.X` / `inputs.X` / `env.X` references in an
/// expression or a value.
pub fn context_refs(text: &str) -> Vec<ContextRef> {
    context_re()
        .captures_iter(text)
        .map(|c| ContextRef {
            context: c[1].to_string(),
            name: c
                .get(2)
                .or_else(|| c.get(3))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        })
        .collect()
}

/// A secret name that says the token can only read.
pub fn read_only_name(name: &str) -> bool {
    let up = name.to_ascii_uppercase();
    up.contains("READ") || up.ends_with("_RO") || up.contains("_RO_") || up.contains("INSTALL")
}

/// A credential name that does not rely on `key`/`secret` alone.
fn strong_credential_name(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    ["token", "auth", "pass"].iter().any(|w| l.contains(w)) && !l.ends_with("always_auth")
}

/// Is this `name: value` (an env entry or input) an npm credential?
pub fn credential(name: &str, value: &str, opts: &DetectOptions) -> Option<Credential> {
    let extra = &opts.extra_credential_names;
    let refs = context_refs(value);
    if let Some(r) = refs.iter().find(|r| is_credential_name(&r.name, extra)) {
        return Some(Credential {
            source: format!("{}.{}", r.context, r.name),
            registered: r.context == "secrets",
            read_only: read_only_name(&r.name),
        });
    }
    if !is_credential_name(name, extra) {
        return None;
    }
    if let Some(r) = refs.first() {
        return Some(Credential {
            source: format!("{}.{}", r.context, r.name),
            registered: r.context == "secrets",
            read_only: read_only_name(&r.name),
        });
    }
    let v = value.trim();
    // Without a secret behind it, only a name that plainly says "token"
    // (not `NPM_CACHE_KEY`) and a value that could be one count.
    if !strong_credential_name(name) {
        return None;
    }
    if v.contains("${{") {
        // A step output or another expression: not a registered secret.
        return Some(Credential {
            source: v.to_string(),
            registered: false,
            read_only: read_only_name(name),
        });
    }
    match classify(v, &opts.extra_placeholders) {
        ValueClass::Empty | ValueClass::Placeholder => None,
        ValueClass::EnvReference => Some(Credential {
            source: v.to_string(),
            registered: false,
            read_only: read_only_name(name),
        }),
        _ if v.len() < 16 || v.contains(char::is_whitespace) => None,
        _ => Some(Credential {
            source: "a literal value".into(),
            registered: false,
            read_only: read_only_name(name),
        }),
    }
}

/// Is an expression (`secrets.NPM_TOKEN`, `secrets.NPM_TOKEN || ''`…) a
/// credential value pasted as is? Comparisons and negations yield booleans.
pub fn expr_credential(inner: &str, opts: &DetectOptions) -> Option<ContextRef> {
    if ["==", "!=", "<", ">"].iter().any(|op| inner.contains(op))
        || inner.trim_start().starts_with('!')
    {
        return None;
    }
    context_refs(inner)
        .into_iter()
        .find(|r| is_credential_name(&r.name, &opts.extra_credential_names))
}

/// Is the step's script POSIX shell? `shell: pwsh|powershell|cmd|python`
/// and the Windows runners' default (PowerShell) are not analysed as bash.
pub fn posix_shell(job: &Job, step: &Step) -> bool {
    match &step.shell {
        Some(s) => {
            let first = s.value.split_whitespace().next().unwrap_or("");
            let name = first.rsplit(['/', '\\']).next().unwrap_or(first);
            !matches!(
                name.to_ascii_lowercase().trim_end_matches(".exe"),
                "pwsh" | "powershell" | "cmd" | "python" | "python3"
            )
        }
        None => {
            job.runs_on.is_empty()
                || !job
                    .runs_on
                    .iter()
                    .all(|l| l.trim().to_ascii_lowercase().starts_with("windows"))
        }
    }
}

/// How a shell variable holding a credential got it.
#[derive(Clone, Debug)]
pub struct ShellCred {
    pub source: String,
    pub registered: bool,
    pub transformed: bool,
}

/// The shell variables of a step that hold an npm credential: the
/// credential env vars in scope, names that say so, and script variables
/// assigned from either (tracked in order by [`StepShell::assign`]).
pub struct StepShell<'a> {
    pub cx: &'a Ctx<'a>,
    pub vars: BTreeMap<String, ShellCred>,
    pub script: &'a Script,
}

impl<'a> StepShell<'a> {
    pub fn new(cx: &'a Ctx<'a>, job: &'a Job, step: &'a Step) -> Option<StepShell<'a>> {
        let run = step.run.as_ref()?;
        if !posix_shell(job, step) {
            return None;
        }
        let mut vars = BTreeMap::new();
        for (e, c) in cx.wf.step_credentials(job, step, cx.opts) {
            vars.insert(
                e.name.clone(),
                ShellCred {
                    source: c.source,
                    registered: c.registered,
                    transformed: false,
                },
            );
        }
        Some(StepShell {
            cx,
            vars,
            script: &run.script,
        })
    }

    /// The credential a word expands, if any.
    pub fn word_cred(&self, w: &Word) -> Option<ShellCred> {
        for v in &w.vars {
            if let Some(c) = self.vars.get(&v.name) {
                let mut c = c.clone();
                c.transformed |= v.transformed;
                return Some(c);
            }
            if is_credential_name(&v.name, &self.cx.opts.extra_credential_names) {
                return Some(ShellCred {
                    source: format!("${}", v.name),
                    registered: false,
                    transformed: v.transformed,
                });
            }
        }
        for &i in &w.exprs {
            if let Some(r) = self
                .script
                .exprs
                .get(i)
                .and_then(|e| expr_credential(&e.inner, self.cx.opts))
            {
                return Some(ShellCred {
                    source: format!("{}.{}", r.context, r.name),
                    registered: r.context == "secrets",
                    transformed: false,
                });
            }
        }
        None
    }

    /// Record assignments of a command (`TOKEN=$NPM_TOKEN`, `export X=…`).
    pub fn assign(&mut self, c: &Command) {
        // Prefix assignments (`X=1 cmd`) only last for that command, but
        // tracking them does no harm for printing checks.
        for a in &c.assigns {
            // `X=$(echo "$T" | rev)`: derived from the credential, transformed.
            let derived = || {
                let inner = Word {
                    vars: a.value.sub_vars.clone(),
                    ..Word::default()
                };
                self.word_cred(&inner).map(|mut c| {
                    c.transformed = true;
                    c
                })
            };
            match self.word_cred(&a.value).or_else(derived) {
                Some(mut cred) => {
                    cred.transformed |= a.value.substitution;
                    self.vars.insert(a.name.clone(), cred);
                }
                None => {
                    self.vars.remove(&a.name);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Publishing

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
}

impl Tool {
    /// Publishes through the npm CLI (so npm's version matters for OIDC).
    pub fn uses_npm_cli(self) -> bool {
        matches!(
            self,
            Tool::Npm | Tool::SemanticRelease | Tool::Changesets | Tool::Lerna | Tool::Nx
        )
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

fn strip_version(pkg: &str) -> &str {
    let p = pkg.trim();
    // `@scope/name@1` keeps the scope.
    match p[1.min(p.len())..].find('@') {
        Some(i) => &p[..i + 1],
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
        "npm" if pos.first() == Some(&"publish") => Some((Tool::Npm, "npm publish".into())),
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
        "semantic-release" | "changeset" | "lerna" | "nx" => tool_of_package(&c.name, &args),
        _ => None,
    }
}

/// Publishing actions and the tool behind them.
fn publish_action(step: &Step) -> Option<(Tool, String)> {
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
        "js-devtools/npm-publish" => Some((Tool::Npm, action.clone())),
        _ => None,
    }
}

/// Every publish in a step (a script may publish several times).
pub fn step_publishes(step: &Step) -> Vec<Publish> {
    let mut out = Vec::new();
    if let Some((tool, what)) = publish_action(step) {
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
        });
    }
    for c in step.commands() {
        let Some((tool, what)) = publish_command(c) else {
            continue;
        };
        let args: Vec<&str> = c.argv().collect();
        let flag = |f: &str| {
            args.iter()
                .any(|a| *a == f || a.strip_prefix(f).is_some_and(|r| r == "=true"))
        };
        let registry = args.iter().enumerate().find_map(|(i, a)| {
            if *a == "--registry" {
                args.get(i + 1).map(|s| s.to_string())
            } else {
                a.strip_prefix("--registry=").map(str::to_string)
            }
        });
        out.push(Publish {
            tool,
            what,
            range: step.file_range(c.range.start..c.range.end),
            dry_run: flag("--dry-run") || (tool == Tool::SemanticRelease && flag("-d")),
            provenance: flag("--provenance"),
            registry,
        });
    }
    out
}

/// Publishes that really publish (not `--dry-run`).
pub fn real_publishes(step: &Step) -> Vec<Publish> {
    step_publishes(step)
        .into_iter()
        .filter(|p| !p.dry_run)
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

// ---------------------------------------------------------------------------
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

// ---------------------------------------------------------------------------
// Files that receive a token

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
        if let Some(c) = credential(k, &v.value, cx.opts) {
            return Some(PublishAuth {
                source: c.source,
                range: r.clone(),
                what: format!("input `{k}`"),
            });
        }
    }
    token_writes(cx, job)
        .into_iter()
        .filter(|w| is_npm_config_file(&w.path))
        .find(|w| w.step < step.index || (w.step == step.index && w.range.start < p.range.start))
        .map(|w| PublishAuth {
            what: format!("{} written in step {}", w.path, job.steps[w.step].label),
            source: w.source,
            range: w.range,
        })
}

// ---------------------------------------------------------------------------
// Helpers for keys and messages

/// Stable finding identity: job, step label and a detail (never a line).
pub fn key(job: &Job, step: Option<&Step>, what: &str) -> String {
    match step {
        Some(s) => format!("job={}/step={}/{what}", job.id, s.label),
        None => format!("job={}/{what}", job.id),
    }
}

/// Does a step need an npm credential: it references one of `names`, runs
/// a package manager, or is an action known to publish with one?
pub fn step_consumes(step: &Step, names: &[&str]) -> bool {
    if publish_action(step).is_some() {
        return true;
    }
    if step
        .with
        .iter()
        .any(|(_, _, v)| names.iter().any(|n| v.value.contains(n)))
    {
        return true;
    }
    step.commands().iter().any(|c| {
        matches!(
            c.name.as_str(),
            "npm"
                | "npx"
                | "pnpm"
                | "pn"
                | "pnpx"
                | "pnx"
                | "yarn"
                | "bun"
                | "bunx"
                | "lerna"
                | "changeset"
                | "semantic-release"
                | "nx"
                | "node"
                | "turbo"
        ) || c
            .words()
            .any(|w| w.vars.iter().any(|v| names.contains(&v.name.as_str())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(s: &str) -> Command {
        shell::parse(s).commands.remove(0)
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
        ];
        for s in no {
            assert!(publish_command(&cmd(s)).is_none(), "{s}");
        }
    }

    #[test]
    fn credentials() {
        let o = DetectOptions::default();
        assert!(credential("NODE_AUTH_TOKEN", "${{ secrets.NPM_TOKEN }}", &o).is_some());
        assert!(credential("TOKEN", "${{ secrets.NPM_TOKEN }}", &o).is_some());
        assert!(credential("GITHUB_TOKEN", "${{ secrets.GITHUB_TOKEN }}", &o).is_none());
        assert!(credential("NODE_AUTH_TOKEN", "", &o).is_none());
        assert!(credential("NPM_CONFIG_ALWAYS_AUTH", "true", &o).is_none());
        assert!(credential("NPM_CACHE_KEY", "${{ hashFiles('x') }}", &o).is_none());
        assert!(credential("NODE_AUTH_TOKEN", "${{ steps.t.outputs.token }}", &o).is_some());
        assert!(
            credential("NODE_AUTH_TOKEN", "${{ secrets.NPM_READ_TOKEN }}", &o)
                .unwrap()
                .read_only
        );
        let extra = DetectOptions {
            extra_credential_names: vec!["REGISTRY_PUSH".into()],
            ..DetectOptions::default()
        };
        assert!(credential("X", "${{ secrets.REGISTRY_PUSH }}", &extra).is_some());
        assert!(expr_credential("secrets.NPM_TOKEN != ''", &o).is_none());
        assert!(expr_credential("secrets.NPM_TOKEN", &o).is_some());
        assert!(expr_credential("secrets['NPM_TOKEN']", &o).is_some());
    }

    #[test]
    fn run_offsets_map_to_block_scalars() {
        let text = "steps:\n  - run: |\n      echo a\n      npm publish\n";
        let start = text.find("echo").unwrap();
        let run = Run::new(text, "echo a\nnpm publish\n", start);
        let r = run.file_range(7..18);
        assert_eq!(&text[r], "npm publish");
    }
}
