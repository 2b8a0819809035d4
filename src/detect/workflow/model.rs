//! The workflow model: workflow → jobs → steps, with `env` at each level,
//! permissions, runner labels, `uses` + `with`, and `run:` bodies parsed as
//! shell with a map back to file offsets.

use super::shell::{self, Command, Script};
use super::{DetectOptions, SecretUses, credential};
use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use std::collections::BTreeMap;
use std::ops::Range;

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
    /// The job's own `GITHUB_TOKEN` (GitHub Packages): short-lived, expires
    /// with the job, nothing to revoke.
    pub job_token: bool,
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
    /// Body offset of the end of each line (before its `\n`): rules map a
    /// range per command, and rescanning a 100 KB one-line body for its end
    /// each time was quadratic.
    line_ends: Vec<usize>,
    pub verbatim: bool,
}

impl Run {
    /// A script body that starts at `start` in `text` (shared with the
    /// GitLab CI model, whose `script:` entries are bodies too).
    pub(crate) fn new(text: &str, value: &str, start: usize) -> Run {
        let script = shell::parse(value);
        let verbatim = text[start..].starts_with(value);
        let mut lines = Vec::new();
        let mut line_ends = Vec::new();
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
            line_ends.push(off + line.strip_suffix('\n').unwrap_or(line).len());
            off += line.len();
        }
        Run {
            body: value.to_string(),
            script,
            start,
            lines,
            line_ends,
            verbatim,
        }
    }

    /// A body made of pieces written apart in `text` (GitLab's script
    /// lines, a `before_script` inherited from elsewhere in the file),
    /// joined by newlines: each piece's lines are looked up from its own
    /// start, so a line repeated elsewhere maps to this piece's copy.
    pub(crate) fn from_pieces(text: &str, pieces: &[(&str, usize)]) -> Run {
        let body = pieces
            .iter()
            .map(|(v, _)| *v)
            .collect::<Vec<_>>()
            .join("\n");
        let start = pieces.first().map_or(0, |(_, s)| *s);
        let mut run = Run::new(text, &body, start);
        if run.verbatim {
            return run;
        }
        let mut lines = Vec::new();
        let mut line_ends = Vec::new();
        let mut off = 0;
        for (value, piece_start) in pieces {
            let piece = Run::new(text, value, *piece_start);
            lines.extend(piece.lines.iter().map(|(b, f)| (off + b, *f)));
            line_ends.extend(piece.line_ends.iter().map(|e| off + e));
            off += value.len() + 1;
        }
        run.lines = lines;
        run.line_ends = line_ends;
        run
    }

    /// File range of a range of the body (cut at the end of its line).
    pub fn file_range(&self, r: Range<usize>) -> Range<usize> {
        let idx = self
            .lines
            .partition_point(|(b, _)| *b <= r.start)
            .saturating_sub(1);
        match self.lines.get(idx) {
            Some((b, Some(f))) => {
                let line_end = self.line_ends[idx];
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
    /// `working-directory:` of the step.
    pub working_directory: Option<String>,
    /// Publishes reached through indirection (`pnpm release` → a
    /// `package.json` script, a repository script, a release tool), found
    /// by [`super::indirect`] in the item's tree.
    pub indirect: Vec<super::Publish>,
    /// A command that could not be followed (no tree, a script missing
    /// from it) but whose name says it releases (`pnpm release`).
    pub unfollowed: Option<String>,
    /// The step's `if:` condition.
    pub condition: Option<Scalar>,
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
    /// `defaults: run: shell:` of the job.
    pub default_shell: Option<String>,
    /// `defaults: run: working-directory:` of the job.
    pub default_working_directory: Option<String>,
    /// `strategy.matrix` entries whose values are plain lists of scalars.
    pub matrix: BTreeMap<String, Vec<String>>,
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
    /// The job's `if:` condition.
    pub condition: Option<Scalar>,
}

impl Job {
    /// The values an input may take: `${{ matrix.X }}` expands to the
    /// matrix list, anything else is itself.
    pub fn values_of(&self, v: &str) -> Vec<String> {
        let t = v.trim();
        if let Some(inner) = t.strip_prefix("${{").and_then(|r| r.strip_suffix("}}"))
            && let Some(name) = inner.trim().strip_prefix("matrix.")
            && let Some(values) = self.matrix.get(name.trim())
        {
            return values.clone();
        }
        vec![t.to_string()]
    }

    /// Runner labels, with `${{ matrix.X }}` expanded to the matrix list.
    pub fn self_hosted(&self) -> bool {
        self.runner_group
            || self.runs_on.iter().any(|l| {
                self.values_of(l)
                    .iter()
                    .any(|v| v.trim().eq_ignore_ascii_case("self-hosted"))
            })
    }
}

#[derive(Debug)]
pub struct Workflow {
    /// `defaults: run: shell:` of the workflow.
    pub default_shell: Option<String>,
    /// `defaults: run: working-directory:` of the workflow.
    pub default_working_directory: Option<String>,
    pub is_action: bool,
    /// Trigger names (`push`, `pull_request_target`, `workflow_call`…).
    pub triggers: Vec<String>,
    pub env: Vec<EnvVar>,
    pub permissions: Option<PermBlock>,
    pub jobs: Vec<Job>,
    /// What each secret is used for (see [`SecretUses`]).
    pub secret_uses: SecretUses,
}

impl Workflow {
    pub(super) fn parse(text: &Src, map: &MarkedMappingNode, is_action: bool) -> Workflow {
        let mut wf = Workflow {
            is_action,
            triggers: Vec::new(),
            env: Vec::new(),
            permissions: None,
            jobs: Vec::new(),
            default_shell: None,
            default_working_directory: None,
            secret_uses: SecretUses::default(),
        };
        for (k, v) in map.iter() {
            match k.as_str() {
                "on" | "true" => wf.triggers = triggers(v),
                "env" => wf.env = env_vars(text, v, Level::Workflow),
                "permissions" => wf.permissions = Some(perm_block(text, k, v)),
                "defaults" => {
                    wf.default_shell = default_shell(v);
                    wf.default_working_directory = default_run(v, "working-directory");
                }
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
                            default_shell: None,
                            default_working_directory: None,
                            matrix: BTreeMap::new(),
                            permissions: None,
                            env: Vec::new(),
                            steps: parse_steps(text, steps),
                            uses: None,
                            with: Vec::new(),
                            secrets_inherit: None,
                            secrets: Vec::new(),
                            condition: None,
                        });
                    }
                }
                _ => {}
            }
        }
        wf.secret_uses = SecretUses::of(&wf);
        wf
    }

    /// [`credential`], except secrets whose every use feeds the GitHub API.
    pub fn credential(&self, name: &str, value: &str, opts: &DetectOptions) -> Option<Credential> {
        credential(name, value, opts).filter(|c| !self.secret_uses.foreign(&c.source))
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
            .filter_map(|e| {
                self.credential(&e.name, &e.value.value, opts)
                    .map(|c| (e, c))
            })
            .collect()
    }
}

/// The file's text with a line index (shared with the other YAML
/// analysers), so positions of YAML nodes cost a binary search.
pub use crate::detect::yaml::Positions as Src;

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

/// `strategy: { matrix: { name: [a, b] } }` (lists of scalars only).
fn matrix(v: &Node) -> BTreeMap<String, Vec<String>> {
    let Some(m) = v.as_mapping().and_then(|s| s.get_mapping("matrix")) else {
        return BTreeMap::new();
    };
    m.iter()
        .filter_map(|(k, v)| {
            let seq = v.as_sequence()?;
            let values: Option<Vec<String>> = seq
                .iter()
                .map(|n| n.as_scalar().map(|s| s.as_str().to_string()))
                .collect();
            Some((k.as_str().to_string(), values?))
        })
        .collect()
}

/// `defaults: { run: { shell: … } }`.
fn default_shell(v: &Node) -> Option<String> {
    default_run(v, "shell")
}

/// `defaults: { run: { <key>: … } }`.
fn default_run(v: &Node, key: &str) -> Option<String> {
    v.as_mapping()?
        .get_mapping("run")?
        .get_scalar(key)
        .map(|s| s.as_str().to_string())
}

fn key_range(text: &Src, k: &MarkedScalarNode) -> Range<usize> {
    text.scalar_range(k.span(), k.as_str())
}

fn scalar(text: &Src, s: &MarkedScalarNode) -> Scalar {
    Scalar {
        value: s.as_str().to_string(),
        range: text.scalar_range(s.span(), s.as_str()),
    }
}

/// Any node as a scalar (flow sequences and mappings keep their start).
fn scalar_of(text: &Src, n: &Node) -> Scalar {
    match n {
        Node::Scalar(s) => scalar(text, s),
        other => {
            let start = text.span_start(other.span());
            Scalar {
                value: String::new(),
                range: start..start + 1,
            }
        }
    }
}

fn env_vars(text: &Src, v: &Node, level: Level) -> Vec<EnvVar> {
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

fn perm_block(text: &Src, k: &MarkedScalarNode, v: &Node) -> PermBlock {
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

fn with_inputs(text: &Src, v: &Node) -> Vec<(String, Range<usize>, Scalar)> {
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

fn parse_job(text: &Src, k: &MarkedScalarNode, m: &MarkedMappingNode) -> Job {
    let mut job = Job {
        id: k.as_str().to_string(),
        key: key_range(text, k),
        runs_on: Vec::new(),
        runs_on_range: None,
        runner_group: false,
        default_shell: None,
        default_working_directory: None,
        matrix: BTreeMap::new(),
        permissions: None,
        env: Vec::new(),
        steps: Vec::new(),
        uses: None,
        with: Vec::new(),
        secrets_inherit: None,
        secrets: Vec::new(),
        condition: None,
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
            "defaults" => {
                job.default_shell = default_shell(jv);
                job.default_working_directory = default_run(jv, "working-directory");
            }
            "strategy" => job.matrix = matrix(jv),
            "env" => job.env = env_vars(text, jv, Level::Job),
            "steps" => job.steps = parse_steps(text, jv),
            "uses" => job.uses = jv.as_scalar().map(|s| scalar(text, s)),
            "if" => job.condition = jv.as_scalar().map(|s| scalar(text, s)),
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

fn parse_steps(text: &Src, v: &Node) -> Vec<Step> {
    let Some(seq) = v.as_sequence() else {
        return Vec::new();
    };
    let mut steps = Vec::new();
    for (position, n) in seq.iter().enumerate() {
        let Some(m) = n.as_mapping() else {
            continue;
        };
        let start = text.span_start(n.span());
        let mut step = Step {
            // `index` addresses `job.steps`: items that are not mappings
            // (malformed steps) are skipped, so it is not the YAML position.
            index: steps.len(),
            label: format!("#{}", position + 1),
            range: start..start + 1,
            uses: None,
            with: Vec::new(),
            run: None,
            shell: None,
            env: Vec::new(),
            working_directory: None,
            indirect: Vec::new(),
            unfollowed: None,
            condition: None,
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
                "if" => step.condition = v.as_scalar().map(|s| scalar(text, s)),
                "env" => step.env = env_vars(text, v, Level::Step),
                "working-directory" => {
                    step.working_directory = v.as_scalar().map(|s| s.as_str().to_string())
                }
                "run" => {
                    if let Some(s) = v.as_scalar() {
                        let start = text.span_start(s.span());
                        let start = match text.text.as_bytes().get(start) {
                            Some(b'"') | Some(b'\'') => start + 1,
                            _ => start,
                        };
                        step.run = Some(Run::new(text.text, s.as_str(), start));
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
    // Two steps with one name would share finding identities: qualify
    // repeated labels with their position.
    let labels: Vec<String> = steps.iter().map(|s| s.label.clone()).collect();
    for s in &mut steps {
        if labels.iter().filter(|l| **l == s.label).count() > 1 {
            s.label = format!("{}#{}", s.label, s.index + 1);
        }
    }
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_offsets_map_to_block_scalars() {
        let text = "steps:\n  - run: |\n      echo a\n      npm publish\n";
        let start = text.find("echo").unwrap();
        let run = Run::new(text, "echo a\nnpm publish\n", start);
        let r = run.file_range(7..18);
        assert_eq!(&text[r], "npm publish");
    }
}
