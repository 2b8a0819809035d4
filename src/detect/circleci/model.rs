//! The CircleCI model: `.circleci/config.yml` turned into the shared
//! workflow shape (job → steps, `environment:` as `env`) so publish
//! recognition (package scripts, release tools), credential tracking
//! through the shell and token writes are the GitHub Actions analysis's
//! own. What only CircleCI has sits beside it in [`CircleJob`]: the
//! executor (images, `machine`, `resource_class`), the workflows that run
//! the job (contexts, branch and tag filters, approvals), the paths it keeps
//! (`persist_to_workspace`, `store_artifacts`, `save_cache`) and the OIDC
//! tokens its scripts request (`circleci run oidc get`).
//!
//! Expansion follows CircleCI: `executors:` and reusable `commands:`
//! (nested, at most [`MAX_COMMAND_DEPTH`] deep, cycles refused) with their
//! `<< parameters.x >>` substituted (invocation arguments, else defaults;
//! `steps` parameters spliced in); `when`/`unless` steps flattened;
//! environment step over job over executor. Orbs are named, never fetched:
//! their commands are named steps and their jobs are listed in
//! [`Config::orb_jobs`].

use crate::detect::ci_pipeline::is_npm_audience;
use crate::detect::tree::TreeView;
use crate::detect::workflow::shell::{Command, Stdout};
use crate::detect::workflow::{EnvVar, Job, Level, Run, SecretUses, Src, Step, Workflow, indirect};
use crate::detect::yaml;
use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use std::collections::BTreeMap;
use std::ops::Range;

/// Reusable commands expanded inside each other at most this deep.
pub const MAX_COMMAND_DEPTH: usize = 8;
/// Steps per job after expansion (a bound on work, not a CircleCI limit).
const MAX_STEPS: usize = 500;
/// Step entries visited per job while expanding (commands that expand to
/// nothing, nested in each other, must not cost exponential work).
const MAX_VISITS: usize = 20_000;

/// Where a job runs.
#[derive(Clone, Debug, Default)]
pub struct Executor {
    /// `docker`, `machine`, `macos`, an orb executor (`node/default`), or
    /// empty when unknown.
    pub kind: String,
    /// The primary container's image (`docker:` first entry), or the
    /// machine image.
    pub image: Option<String>,
    pub resource_class: Option<String>,
    /// `tag:` passed to an orb executor (`node/default` takes the Node version).
    pub orb_tag: Option<String>,
}

impl Executor {
    /// A self-hosted runner: runner resource classes are
    /// `<namespace>/<name>` (machine and container runners alike); CircleCI
    /// cloud's are plain (`medium`, `arm.large`, `macos.m1.medium.gen1`).
    pub fn runner(&self) -> Option<&str> {
        self.resource_class
            .as_deref()
            .filter(|rc| (rc.contains('/') && !rc.contains("<<")) || rc.trim() == "self-hosted")
    }
}

/// A branch or tag filter of a workflow job.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub only: Vec<String>,
    pub ignore: Vec<String>,
}

/// `/.*/`, `/.+/`: a pattern that matches every name.
fn matches_all(p: &str) -> bool {
    matches!(p.trim(), "/.*/" | "/.+/" | "/^.*$/" | "/^.+$/")
}

impl Filter {
    fn parse(n: Option<&Node>) -> Filter {
        let list = |k: &str| -> Vec<String> {
            n.and_then(Node::as_mapping)
                .and_then(|m| m.get_node(k))
                .map(|v| scalars(v).iter().map(|s| s.as_str().to_string()).collect())
                .unwrap_or_default()
        };
        Filter {
            only: list("only"),
            ignore: list("ignore"),
        }
    }

    /// Could any branch name (a pull request's, `pull/123` for a fork's)
    /// pass this branch filter?
    fn admits_any_branch(&self) -> bool {
        (self.only.is_empty()
            || self
                .only
                .iter()
                .any(|p| matches_all(p) || p.contains("pull")))
            && !self.ignore.iter().any(|p| matches_all(p))
    }
}

/// A job as a workflow runs it.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The workflow's name; empty for a version 2 config without
    /// `workflows:`, where CircleCI runs the `build` job on every push.
    pub workflow: String,
    /// `name:` of the invocation, else the job's name.
    pub name: String,
    /// The invocation in the file.
    pub range: Range<usize>,
    pub contexts: Vec<String>,
    pub branches: Filter,
    pub tags: Filter,
    /// It `requires:` a job of `type: approval`: a person starts it.
    pub approval: bool,
    /// The workflow runs on a schedule or a `when:`/`unless:` condition
    /// on the branch, tag or pipeline parameters.
    pub conditional: bool,
}

impl Invocation {
    /// Does it run for pull-request builds (every branch, no approval, no
    /// condition)? CircleCI runs workflow jobs on every branch push unless
    /// filtered; a pull request's build is a branch build.
    pub fn runs_on_pull_requests(&self) -> bool {
        !self.approval && !self.conditional && self.branches.admits_any_branch()
    }
}

/// A path kept after a step: `("persist_to_workspace", "~/project/dist")`.
#[derive(Clone, Debug)]
pub struct Kept {
    /// Index of the keeping step in the job's steps.
    pub step: usize,
    pub what: &'static str,
    /// Normalised: relative to the project directory, or `~/…`, `/…`.
    pub path: String,
}

/// How far an OIDC token a script assigns reaches.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reach {
    /// `VAR=$(…) cmd`: that command only.
    Command(usize),
    /// A shell variable, not exported: no child process (npm) sees it.
    Shell,
    /// Exported in its `run` step (each `run` step is a new shell).
    Step,
    /// Appended to `$BASH_ENV`: every later `run` step of the job.
    LaterSteps,
}

/// An OIDC token a job's script puts in a variable: `export
/// NPM_ID_TOKEN=$(circleci run oidc get --claims '{"aud":"npm:…"}')`, or
/// the default `$CIRCLE_OIDC_TOKEN[_V2]`.
#[derive(Clone, Debug)]
pub struct OidcRequest {
    pub step: usize,
    /// File range of the command that assigns (or requests) it.
    pub range: Range<usize>,
    /// The variable it lands in (`None`: printed or used in place).
    pub var: Option<String>,
    /// `aud` of `--claims`; `None` is CircleCI's default audience (the
    /// organization ID), which npm does not accept.
    pub audience: Option<String>,
    pub reach: Reach,
}

impl OidcRequest {
    pub fn npm_audience(&self) -> bool {
        self.audience.as_deref().is_some_and(is_npm_audience)
    }
}

/// What CircleCI has beyond the shared job shape, index for index with
/// `workflow.jobs`.
#[derive(Debug, Default)]
pub struct CircleJob {
    pub executor: Executor,
    pub invocations: Vec<Invocation>,
    pub kept: Vec<Kept>,
    pub oidc: Vec<OidcRequest>,
    /// Orb commands the job runs (`node/install-packages`), by step index.
    pub orb_steps: Vec<(usize, String)>,
    /// `node-version` given to an orb's Node install step before a step.
    pub node_installs: Vec<(usize, String)>,
    /// `working_directory` of the job (default `~/project`).
    pub working_directory: String,
    /// Expansion stopped at [`MAX_STEPS`] steps or its work bound: later
    /// steps are not analysed.
    pub truncated: bool,
}

impl CircleJob {
    /// The npm OIDC token that reaches a publish at file offset `at` of
    /// step `step`: `NPM_ID_TOKEN` with npm's audience, exported in that
    /// step before it (or on the command itself), or put in `$BASH_ENV` by
    /// an earlier step.
    pub fn npm_id_token(&self, step: usize, at: usize) -> Option<&OidcRequest> {
        self.id_tokens_reaching(step, at).find(|r| r.npm_audience())
    }

    /// Every `NPM_ID_TOKEN` assignment that reaches a publish (whatever
    /// its audience).
    pub fn id_tokens_reaching(&self, step: usize, at: usize) -> impl Iterator<Item = &OidcRequest> {
        self.oidc.iter().filter(move |r| {
            r.var.as_deref() == Some("NPM_ID_TOKEN")
                && match r.reach {
                    Reach::LaterSteps => r.step < step || (r.step == step && r.range.start < at),
                    Reach::Step => r.step == step && r.range.start <= at,
                    Reach::Command(_) => r.step == step && r.range.start <= at,
                    Reach::Shell => false,
                }
        })
    }

    /// Is the job set up (or half set up) for trusted publishing?
    pub fn wants_oidc(&self) -> bool {
        self.oidc
            .iter()
            .any(|r| r.npm_audience() || r.var.as_deref() == Some("NPM_ID_TOKEN"))
    }
}

/// An orb the config imports: `node: circleci/node@7.1`.
#[derive(Clone, Debug)]
pub struct Orb {
    pub name: String,
    /// `circleci/node@7.1`, or `(inline)` for an orb defined in the file.
    pub reference: String,
}

/// A parsed config.
pub struct Config {
    /// The shared shape: jobs, steps (`run` commands and named steps), env.
    pub workflow: Workflow,
    pub jobs: Vec<CircleJob>,
    pub orbs: Vec<Orb>,
    /// Orb jobs the workflows run (`node/test`): not analysed.
    pub orb_jobs: Vec<(String, Range<usize>)>,
    /// `setup: true`: a dynamic-config set-up workflow; the config it
    /// continues with is generated at run time and not analysed.
    pub setup: Option<Range<usize>>,
}

/// A parameter value an expansion substitutes.
type Params = BTreeMap<String, Node>;

fn scalars(n: &Node) -> Vec<&MarkedScalarNode> {
    match n {
        Node::Scalar(s) => vec![s],
        Node::Sequence(seq) => seq.iter().filter_map(Node::as_scalar).collect(),
        Node::Mapping(_) => Vec::new(),
    }
}

fn text_of(n: &Node) -> Option<String> {
    n.as_scalar().map(|s| s.as_str().to_string())
}

/// `parameters:` defaults of a job, command or executor definition.
fn defaults(def: &MarkedMappingNode) -> Params {
    let mut out = Params::new();
    if let Some(m) = def.get_node("parameters").and_then(Node::as_mapping) {
        for (k, v) in m.iter() {
            if let Some(d) = v.as_mapping().and_then(|p| p.get_node("default")) {
                out.insert(k.as_str().to_string(), d.clone());
            }
        }
    }
    out
}

/// Arguments of an invocation (every key but the reserved ones) over the
/// definition's defaults.
fn arguments(
    def: &MarkedMappingNode,
    args: Option<&MarkedMappingNode>,
    reserved: &[&str],
) -> Params {
    let mut out = defaults(def);
    if let Some(a) = args {
        for (k, v) in a.iter() {
            if !reserved.contains(&k.as_str()) {
                out.insert(k.as_str().to_string(), v.clone());
            }
        }
    }
    out
}

/// `<< parameters.x >>` and `<< pipeline.parameters.x >>` replaced by
/// their scalar values; anything else (`<< pipeline.git.tag >>`) stays.
fn substitute(s: &str, params: &Params, pipeline: &Params) -> String {
    substitute_with(s, params, pipeline, None)
}

/// [`substitute`] for a `run` body: what stays unresolved becomes a shell
/// variable, so that the shell parser does not take `<<` for a heredoc.
fn substitute_script(s: &str, params: &Params, pipeline: &Params) -> String {
    substitute_with(s, params, pipeline, Some("${CIRCLECI_PARAMETER}"))
}

/// `parameters.x`, `pipeline.git.tag`, `matrix.node`: what CircleCI
/// substitutes between `<<` and `>>` (a heredoc's `<< EOF` is not).
fn is_parameter_ref(inner: &str) -> bool {
    inner.contains('.')
        && inner
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '[' | ']'))
}

fn substitute_with(
    s: &str,
    params: &Params,
    pipeline: &Params,
    unresolved: Option<&str>,
) -> String {
    if !s.contains("<<") {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(open) = rest.find("<<") {
        out.push_str(&rest[..open]);
        let after = &rest[open + 2..];
        let reference = after.find(">>").and_then(|close| {
            let inner = after[..close].trim();
            is_parameter_ref(inner).then_some((inner, close))
        });
        let Some((inner, close)) = reference else {
            out.push_str("<<");
            rest = after;
            continue;
        };
        let value = inner
            .strip_prefix("pipeline.parameters.")
            .and_then(|n| pipeline.get(n))
            .or_else(|| {
                inner
                    .strip_prefix("parameters.")
                    .and_then(|n| params.get(n))
            })
            .and_then(text_of);
        match (value, unresolved) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(u)) => out.push_str(u),
            (None, None) => out.push_str(&rest[open..open + 2 + close + 2]),
        }
        rest = &after[close + 2..];
    }
    out.push_str(rest);
    out
}

/// The definitions steps and executors are expanded from.
struct Defs<'a> {
    src: Src<'a>,
    commands: BTreeMap<String, &'a MarkedMappingNode>,
    executors: BTreeMap<String, &'a MarkedMappingNode>,
    orbs: Vec<String>,
    pipeline: Params,
}

/// A job's steps and extras while they are built.
#[derive(Default)]
struct Building {
    steps: Vec<Step>,
    circle: CircleJob,
    visits: usize,
}

impl Config {
    pub fn parse(text: &str, tree: Option<TreeView>) -> Result<Config, String> {
        let root = resolve_merges(&yaml::parse(text)?, 0);
        let Some(map) = root.as_mapping() else {
            return Err("the top level is not a mapping".into());
        };
        let src = Src::new(text);
        let mapping_entries = |key: &str| -> BTreeMap<String, &MarkedMappingNode> {
            map.get_node(key)
                .and_then(Node::as_mapping)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, v)| Some((k.as_str().to_string(), v.as_mapping()?)))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut orbs = Vec::new();
        if let Some(m) = map.get_node("orbs").and_then(Node::as_mapping) {
            for (k, v) in m.iter() {
                orbs.push(Orb {
                    name: k.as_str().to_string(),
                    reference: text_of(v).unwrap_or_else(|| "(inline)".into()),
                });
            }
        }
        let defs = Defs {
            src: Src::new(text),
            commands: mapping_entries("commands"),
            executors: mapping_entries("executors"),
            orbs: orbs.iter().map(|o| o.name.clone()).collect(),
            pipeline: map
                .get_node("parameters")
                .and_then(Node::as_mapping)
                .map(defaults_of_mapping)
                .unwrap_or_default(),
        };
        let setup = map
            .get_node("setup")
            .and_then(Node::as_scalar)
            .filter(|s| s.as_str().trim() == "true")
            .map(|s| src.scalar_range(s.span(), s.as_str()));
        let mut cfg = Config {
            workflow: Workflow {
                default_shell: None,
                default_working_directory: None,
                is_action: false,
                triggers: Vec::new(),
                env: Vec::new(),
                permissions: None,
                jobs: Vec::new(),
                secret_uses: SecretUses::default(),
            },
            jobs: Vec::new(),
            orbs,
            orb_jobs: Vec::new(),
            setup,
        };
        let mut invocations = cfg.workflows(map, &defs);
        // Without `workflows:` CircleCI runs the job named `build` on every push.
        if map.get_node("workflows").is_none()
            && let Some((k, _)) = map
                .get_node("jobs")
                .and_then(Node::as_mapping)
                .and_then(|m| m.iter().find(|(k, _)| k.as_str() == "build"))
        {
            let start = src.span_start(k.span());
            invocations.push((
                "build".into(),
                Invocation {
                    workflow: String::new(),
                    name: "build".into(),
                    range: start..start + 5,
                    contexts: Vec::new(),
                    branches: Filter::default(),
                    tags: Filter::default(),
                    approval: false,
                    conditional: false,
                },
            ));
        }
        if let Some(jobs) = map.get_node("jobs").and_then(Node::as_mapping) {
            for (k, v) in jobs.iter() {
                let Some(def) = v.as_mapping() else {
                    continue;
                };
                let name = k.as_str();
                let mine: Vec<Invocation> = invocations
                    .iter()
                    .filter(|(job, _)| job == name)
                    .map(|(_, i)| i.clone())
                    .collect();
                cfg.add_job(&defs, k, def, mine);
            }
        }
        if let Some(view) = tree {
            indirect::resolve(&mut cfg.workflow, view);
        }
        cfg.workflow.secret_uses = SecretUses::of(&cfg.workflow);
        Ok(cfg)
    }

    /// Every job invocation of every workflow, as `(job name, invocation)`;
    /// orb jobs are noted in [`Config::orb_jobs`].
    fn workflows(&mut self, map: &MarkedMappingNode, defs: &Defs) -> Vec<(String, Invocation)> {
        let mut out = Vec::new();
        let Some(wfs) = map.get_node("workflows").and_then(Node::as_mapping) else {
            return out;
        };
        let local_jobs: Vec<String> = map
            .get_node("jobs")
            .and_then(Node::as_mapping)
            .map(|m| m.iter().map(|(k, _)| k.as_str().to_string()).collect())
            .unwrap_or_default();
        for (wk, wv) in wfs.iter() {
            let Some(wm) = wv.as_mapping() else {
                continue;
            };
            // A scheduled workflow, or one gated on the branch, tag or a
            // pipeline parameter (an API-triggered release).
            let conditional = wm.get_node("triggers").is_some()
                || ["when", "unless"].iter().any(|k| {
                    wm.get_node(k).is_some_and(|c| {
                        deep_scalars(c).iter().any(|s| {
                            s.contains("pipeline.git.branch")
                                || s.contains("pipeline.git.tag")
                                || s.contains("pipeline.parameters")
                                || s.contains("pipeline.trigger_source")
                                || s.contains("pipeline.schedule")
                        })
                    })
                });
            let Some(items) = wm.get_node("jobs").and_then(Node::as_sequence) else {
                continue;
            };
            // Approval jobs of this workflow, by name.
            let mut approvals = Vec::new();
            for item in items.iter() {
                if let Some((name, args)) = job_item(item)
                    && args
                        .and_then(|a| a.get_node("type"))
                        .and_then(text_of)
                        .is_some_and(|t| t.trim() == "approval")
                {
                    approvals.push(
                        args.and_then(|a| a.get_node("name"))
                            .and_then(text_of)
                            .unwrap_or(name),
                    );
                }
            }
            for item in items.iter() {
                let Some((job, args)) = job_item(item) else {
                    continue;
                };
                let start = defs.src.span_start(item.span());
                let range = start..start + job.len().max(1);
                if !local_jobs.contains(&job) {
                    let orb = job.split_once('/').map(|(o, _)| o.to_string());
                    if orb.is_some_and(|o| defs.orbs.contains(&o)) {
                        self.orb_jobs.push((job, range));
                    }
                    continue;
                }
                let get = |k: &str| args.and_then(|a| a.get_node(k));
                let filters = get("filters").and_then(Node::as_mapping);
                let requires: Vec<String> = get("requires")
                    .map(|r| scalars(r).iter().map(|s| s.as_str().to_string()).collect())
                    .unwrap_or_default();
                out.push((
                    job.clone(),
                    Invocation {
                        workflow: wk.as_str().to_string(),
                        name: get("name").and_then(text_of).unwrap_or(job),
                        range,
                        contexts: get("context")
                            .map(|c| scalars(c).iter().map(|s| s.as_str().to_string()).collect())
                            .unwrap_or_default(),
                        branches: Filter::parse(filters.and_then(|f| f.get_node("branches"))),
                        tags: Filter::parse(filters.and_then(|f| f.get_node("tags"))),
                        approval: requires.iter().any(|r| approvals.contains(r)),
                        conditional,
                    },
                ));
            }
        }
        out
    }

    fn add_job(
        &mut self,
        defs: &Defs,
        key: &MarkedScalarNode,
        def: &MarkedMappingNode,
        invocations: Vec<Invocation>,
    ) {
        // Job parameters: the first invocation's arguments over defaults.
        let params = defaults(def);
        let mut b = Building::default();
        b.circle.invocations = invocations;
        b.circle.working_directory = def
            .get_node("working_directory")
            .and_then(text_of)
            .unwrap_or_else(|| "~/project".into());
        // Environment: executor, then primary image, then job (job wins).
        let mut env: Vec<EnvVar> = Vec::new();
        let mut merge_env = |more: Vec<EnvVar>| {
            for e in more {
                env.retain(|o| o.name != e.name);
                env.push(e);
            }
        };
        if let Some(exec) = def.get_node("executor") {
            let (name, args) = match exec {
                Node::Scalar(s) => (s.as_str().to_string(), None),
                Node::Mapping(m) => (
                    m.get_node("name").and_then(text_of).unwrap_or_default(),
                    Some(m),
                ),
                _ => (String::new(), None),
            };
            let name = substitute(&name, &params, &defs.pipeline);
            if let Some(edef) = defs.executors.get(&name) {
                let eparams = arguments(edef, args, &["name"]);
                self.executor(defs, edef, &eparams, &mut b.circle.executor, &mut merge_env);
            } else if name.contains('/') {
                b.circle.executor.kind = name.clone();
                b.circle.executor.orb_tag = args
                    .and_then(|a| a.get_node("tag"))
                    .and_then(text_of)
                    .map(|t| substitute(&t, &params, &defs.pipeline));
            }
        }
        self.executor(defs, def, &params, &mut b.circle.executor, &mut merge_env);
        if let Some(e) = def.get_node("environment") {
            merge_env(env_vars(defs, e, Level::Job, &params));
        }
        if let Some(steps) = def.get_node("steps") {
            self.steps(defs, steps, &params, 0, &mut b, &mut Vec::new());
        }
        let key_start = defs.src.span_start(key.span());
        // One step of the file expanded twice the same way (a command used
        // in two places) is one step for finding identities: it takes the
        // first expansion's label, so its line is one finding however often
        // a command expands it. Other steps sharing a label would share
        // identities: they are told apart by position.
        // (At most MAX_STEPS steps a job: pairwise comparison is bounded.)
        for i in 0..b.steps.len() {
            let (earlier, rest) = b.steps.split_at_mut(i);
            let s = &mut rest[0];
            let body = s.run.as_ref().map(|r| &r.body);
            if let Some(twin) = earlier
                .iter()
                .find(|e| e.range.start == s.range.start && e.run.as_ref().map(|r| &r.body) == body)
            {
                s.label = twin.label.clone();
            }
        }
        let places: Vec<(String, usize, usize)> = b
            .steps
            .iter()
            .map(|s| (s.label.clone(), s.range.start, s.index))
            .collect();
        for s in &mut b.steps {
            let mut same_label = places.iter().filter(|(l, ..)| *l == s.label);
            if same_label
                .clone()
                .any(|(_, start, _)| *start != s.range.start)
            {
                // Numbered after the label's first step at this place.
                let first = same_label
                    .find(|(_, start, _)| *start == s.range.start)
                    .map_or(s.index, |(.., i)| *i);
                s.label = format!("{}#{}", s.label, first + 1);
            }
        }
        b.circle.oidc = oidc_requests(&b.steps);
        self.workflow.jobs.push(Job {
            // `shell: /bin/bash -eox pipefail` traces every command.
            default_shell: def.get_node("shell").and_then(text_of),
            default_working_directory: None,
            matrix: BTreeMap::new(),
            id: key.as_str().to_string(),
            key: key_start..key_start + key.as_str().len().max(1),
            runs_on: b.circle.executor.resource_class.iter().cloned().collect(),
            runs_on_range: None,
            runner_group: false,
            permissions: None,
            env,
            steps: b.steps,
            uses: None,
            with: Vec::new(),
            secrets_inherit: None,
            secrets: Vec::new(),
            condition: None,
        });
        self.jobs.push(b.circle);
    }

    /// The executor keys of a job or executor definition.
    fn executor(
        &self,
        defs: &Defs,
        def: &MarkedMappingNode,
        params: &Params,
        out: &mut Executor,
        env: &mut impl FnMut(Vec<EnvVar>),
    ) {
        let sub = |n: &Node| text_of(n).map(|t| substitute(&t, params, &defs.pipeline));
        if let Some(images) = def.get_node("docker").and_then(Node::as_sequence) {
            out.kind = "docker".into();
            if let Some(primary) = images.get_node(0).and_then(Node::as_mapping) {
                out.image = primary.get_node("image").and_then(sub);
                if let Some(e) = primary.get_node("environment") {
                    env(env_vars(defs, e, Level::Job, params));
                }
            }
        }
        if let Some(m) = def.get_node("machine") {
            out.kind = "machine".into();
            out.image = match m {
                Node::Mapping(mm) => mm.get_node("image").and_then(sub),
                _ => None,
            };
        }
        if def.get_node("macos").is_some() {
            out.kind = "macos".into();
        }
        if let Some(rc) = def.get_node("resource_class").and_then(sub) {
            out.resource_class = Some(rc);
        }
        if let Some(e) = def.get_node("environment") {
            env(env_vars(defs, e, Level::Job, params));
        }
    }

    /// Append the steps of a `steps:` list, expanding reusable commands.
    /// `stack` holds the commands being expanded (cycles are refused).
    fn steps(
        &self,
        defs: &Defs,
        list: &Node,
        params: &Params,
        depth: usize,
        b: &mut Building,
        stack: &mut Vec<String>,
    ) {
        let Some(seq) = list.as_sequence() else {
            return;
        };
        for item in seq.iter() {
            b.visits += 1;
            if b.steps.len() >= MAX_STEPS || b.visits > MAX_VISITS {
                b.circle.truncated = true;
                return;
            }
            let (name, args): (String, Option<&Node>) = match item {
                Node::Scalar(s) => (s.as_str().trim().to_string(), None),
                Node::Mapping(m) if m.len() == 1 => {
                    let (k, v) = m.iter().next().expect("one entry");
                    (k.as_str().to_string(), Some(v))
                }
                _ => continue,
            };
            // `- << parameters.steps >>`: a `steps` parameter spliced in.
            if let Some(p) = name
                .strip_prefix("<<")
                .and_then(|r| r.strip_suffix(">>"))
                .and_then(|r| r.trim().strip_prefix("parameters."))
            {
                if let Some(v @ Node::Sequence(_)) = params.get(p.trim()) {
                    self.steps(defs, v, params, depth + 1, b, stack);
                }
                continue;
            }
            let start = defs.src.span_start(item.span());
            let amap = args.and_then(Node::as_mapping);
            match name.as_str() {
                "run" => self.run_step(defs, args, params, start, b),
                "when" | "unless" => {
                    if let Some(inner) = amap.and_then(|m| m.get_node("steps")) {
                        self.steps(defs, inner, params, depth, b, stack);
                    }
                }
                "persist_to_workspace" | "store_artifacts" | "save_cache" => {
                    let what: &'static str = match name.as_str() {
                        "persist_to_workspace" => "persist_to_workspace",
                        "store_artifacts" => "store_artifacts",
                        _ => "save_cache",
                    };
                    let sub = |n: &Node| text_of(n).map(|t| substitute(&t, params, &defs.pipeline));
                    let root = amap.and_then(|m| m.get_node("root")).and_then(sub);
                    let paths: Vec<String> = match (what, amap) {
                        ("store_artifacts", Some(m)) => {
                            m.get_node("path").and_then(sub).into_iter().collect()
                        }
                        (_, Some(m)) => m
                            .get_node("paths")
                            .map(|p| {
                                scalars(p)
                                    .iter()
                                    .map(|s| substitute(s.as_str(), params, &defs.pipeline))
                                    .collect()
                            })
                            .unwrap_or_default(),
                        _ => Vec::new(),
                    };
                    let index = b.steps.len();
                    for p in paths {
                        let full = match &root {
                            Some(r) if !p.starts_with('/') && !p.starts_with('~') => {
                                format!("{}/{p}", r.trim_end_matches('/'))
                            }
                            _ => p,
                        };
                        b.circle.kept.push(Kept {
                            step: index,
                            what,
                            path: project_relative(&full, &b.circle.working_directory),
                        });
                    }
                    self.named_step(what, start, b);
                }
                cmd if defs.commands.contains_key(cmd) => {
                    if depth >= MAX_COMMAND_DEPTH || stack.iter().any(|c| c == cmd) {
                        self.named_step(cmd, start, b);
                        continue;
                    }
                    let def = defs.commands[cmd];
                    // Arguments are substituted in the caller's parameters.
                    let mut cparams = defaults(def);
                    if let Some(a) = amap {
                        for (k, v) in a.iter() {
                            let v = match v {
                                Node::Scalar(s) => Node::Scalar(MarkedScalarNode::new(
                                    *s.span(),
                                    substitute(s.as_str(), params, &defs.pipeline),
                                )),
                                other => other.clone(),
                            };
                            cparams.insert(k.as_str().to_string(), v);
                        }
                    }
                    if let Some(inner) = def.get_node("steps") {
                        stack.push(cmd.to_string());
                        self.steps(defs, inner, &cparams, depth + 1, b, stack);
                        stack.pop();
                    }
                }
                other => {
                    if let Some((orb, _)) = other.split_once('/')
                        && defs.orbs.iter().any(|o| o == orb)
                    {
                        b.circle.orb_steps.push((b.steps.len(), other.to_string()));
                        if let Some(v) = amap
                            .and_then(|m| m.get_node("node-version"))
                            .and_then(text_of)
                        {
                            b.circle
                                .node_installs
                                .push((b.steps.len(), substitute(&v, params, &defs.pipeline)));
                        }
                    }
                    self.named_step(other, start, b);
                }
            }
        }
    }

    /// A step with nothing to analyse as shell (`checkout`, an orb command).
    fn named_step(&self, label: &str, start: usize, b: &mut Building) {
        b.steps
            .push(blank_step(b.steps.len(), label.to_string(), start));
    }

    /// `run: <command>` or `run: { command, name, environment, shell }`.
    fn run_step(
        &self,
        defs: &Defs,
        args: Option<&Node>,
        params: &Params,
        start: usize,
        b: &mut Building,
    ) {
        let (command, m) = match args {
            Some(Node::Scalar(s)) => (Some(s), None),
            Some(Node::Mapping(m)) => (m.get_node("command").and_then(Node::as_scalar), Some(m)),
            _ => (None, None),
        };
        let mut step = blank_step(b.steps.len(), format!("#{}", b.steps.len() + 1), start);
        if let Some(name) = m.and_then(|m| m.get_node("name")).and_then(text_of) {
            step.label = substitute(&name, params, &defs.pipeline);
        }
        if let Some(e) = m.and_then(|m| m.get_node("environment")) {
            step.env = env_vars(defs, e, Level::Step, params);
        }
        if let Some(sh) = m
            .and_then(|m| m.get_node("shell"))
            .and_then(Node::as_scalar)
        {
            step.shell = Some(crate::detect::workflow::Scalar {
                value: sh.as_str().to_string(),
                range: defs.src.scalar_range(sh.span(), sh.as_str()),
            });
        }
        // Relative to the job's directory, as the shared analysis expects
        // (`~/project/packages/a` is `packages/a`).
        step.working_directory = m
            .and_then(|m| m.get_node("working_directory"))
            .and_then(text_of)
            .map(|w| project_relative(&w, &b.circle.working_directory))
            .filter(|w| w != ".");
        if let Some(c) = command {
            let text = defs.src.text;
            let cstart = defs.src.span_start(c.span());
            let cstart = match text.as_bytes().get(cstart) {
                Some(b'"') | Some(b'\'') => cstart + 1,
                _ => cstart,
            };
            let body = substitute_script(c.as_str(), params, &defs.pipeline);
            step.range = cstart..cstart + 1;
            step.run = Some(Run::new(text, &body, cstart));
        }
        b.steps.push(step);
    }
}

/// The tree with YAML merge keys (`<<: *defaults`, CircleCI configs'
/// favourite way to share a job's executor) flattened: the mapping's own
/// keys win, then earlier sources of a `<<: [*a, *b]` list.
fn resolve_merges(n: &Node, depth: usize) -> Node {
    if depth > yaml::MAX_DEPTH {
        return n.clone();
    }
    match n {
        Node::Scalar(_) => n.clone(),
        Node::Sequence(seq) => {
            let items = seq.iter().map(|i| resolve_merges(i, depth + 1)).collect();
            Node::Sequence(MarkedSequenceNode::new(*seq.span(), items))
        }
        Node::Mapping(m) => {
            let mut out = MarkedMappingNode::new_empty(*m.span());
            if let Some(merged) = m.get_node("<<") {
                let sources: Vec<&Node> = match merged {
                    Node::Sequence(s) => s.iter().collect(),
                    other => vec![other],
                };
                for src in sources {
                    if let Node::Mapping(sm) = resolve_merges(src, depth + 1) {
                        for (k, v) in sm.iter() {
                            if !out.contains_key(k) {
                                out.insert(k.clone(), v.clone());
                            }
                        }
                    }
                }
            }
            for (k, v) in m.iter() {
                if k.as_str() != "<<" {
                    out.insert(k.clone(), resolve_merges(v, depth + 1));
                }
            }
            Node::Mapping(out)
        }
    }
}

fn defaults_of_mapping(m: &MarkedMappingNode) -> Params {
    let mut out = Params::new();
    for (k, v) in m.iter() {
        if let Some(d) = v.as_mapping().and_then(|p| p.get_node("default")) {
            out.insert(k.as_str().to_string(), d.clone());
        }
    }
    out
}

fn blank_step(index: usize, label: String, start: usize) -> Step {
    Step {
        index,
        label,
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
    }
}

/// A workflow `jobs:` item: `- build` or `- build: { … }`.
fn job_item(item: &Node) -> Option<(String, Option<&MarkedMappingNode>)> {
    match item {
        Node::Scalar(s) => Some((s.as_str().trim().to_string(), None)),
        Node::Mapping(m) => {
            let (k, v) = m.iter().next()?;
            Some((k.as_str().to_string(), v.as_mapping()))
        }
        Node::Sequence(_) => None,
    }
}

fn deep_scalars(n: &Node) -> Vec<String> {
    fn walk(n: &Node, depth: usize, out: &mut Vec<String>) {
        if depth > 16 {
            return;
        }
        match n {
            Node::Scalar(s) => out.push(s.as_str().to_string()),
            Node::Sequence(s) => s.iter().for_each(|i| walk(i, depth + 1, out)),
            Node::Mapping(m) => m.iter().for_each(|(k, v)| {
                out.push(k.as_str().to_string());
                walk(v, depth + 1, out)
            }),
        }
    }
    let mut out = Vec::new();
    walk(n, 0, &mut out);
    out
}

/// `environment:` as a mapping (or CircleCI's list of `NAME=value`).
fn env_vars(defs: &Defs, n: &Node, level: Level, params: &Params) -> Vec<EnvVar> {
    let mut out = Vec::new();
    let entry = |name: &str, key: Range<usize>, value: String, range: Range<usize>| EnvVar {
        name: name.to_string(),
        key,
        value: crate::detect::workflow::Scalar { value, range },
        level,
    };
    match n {
        Node::Mapping(m) => {
            for (k, v) in m.iter() {
                let key = defs.src.scalar_range(k.span(), k.as_str());
                let (value, range) = match v {
                    Node::Scalar(s) => (
                        substitute(s.as_str(), params, &defs.pipeline),
                        defs.src.scalar_range(s.span(), s.as_str()),
                    ),
                    other => {
                        let st = defs.src.span_start(other.span());
                        (String::new(), st..st + 1)
                    }
                };
                out.push(entry(k.as_str(), key, value, range));
            }
        }
        Node::Sequence(seq) => {
            for s in seq.iter().filter_map(Node::as_scalar) {
                if let Some((name, value)) = s.as_str().split_once('=') {
                    let r = defs.src.scalar_range(s.span(), s.as_str());
                    let vstart = (r.start + name.len() + 1).min(r.end);
                    out.push(entry(
                        name.trim(),
                        r.start..r.start + name.len().max(1),
                        substitute(value, params, &defs.pipeline),
                        vstart..r.end,
                    ));
                }
            }
        }
        Node::Scalar(_) => {}
    }
    out
}

/// A kept path relative to the project directory (`~/project/dist` →
/// `dist`), or as written when outside it.
pub fn project_relative(path: &str, working_directory: &str) -> String {
    let p = crate::detect::workflow::shell::normalize_path(path);
    let wd = crate::detect::workflow::shell::normalize_path(working_directory);
    let wd = wd.trim_end_matches('/');
    if p == wd || p == "." {
        return ".".into();
    }
    if let Some(rest) = p.strip_prefix(&format!("{wd}/")) {
        return crate::detect::workflow::shell::normalize_path(rest);
    }
    p
}

/// The OIDC tokens the job's scripts request or assign, in order.
fn oidc_requests(steps: &[Step]) -> Vec<OidcRequest> {
    let mut out = Vec::new();
    for step in steps {
        let Some(run) = &step.run else {
            continue;
        };
        let cmds = &run.script.commands;
        // Variables appended to `$BASH_ENV` in this step.
        let bash_env: Vec<&Command> = cmds
            .iter()
            .filter(|c| matches!(&c.stdout, Stdout::File(p, _) if p.contains("BASH_ENV")))
            .collect();
        let exported_later = |name: &str, after: usize| {
            cmds.iter().any(|c| {
                c.range.start >= after
                    && matches!(c.name.as_str(), "export" | "declare" | "typeset")
                    && c.args.iter().any(|a| a.value == name || a.value == "-x")
            })
        };
        let to_bash_env = |name: &str| {
            bash_env
                .iter()
                .any(|c| c.words().any(|w| w.value.contains(&format!("{name}="))))
        };
        for c in cmds {
            // The request itself: `circleci run oidc get [--claims …]`.
            let request = oidc_get(c);
            // An assignment from a request (in a substitution) or from the
            // default tokens.
            for a in &c.assigns {
                let from_request = cmds
                    .iter()
                    .filter(|r| {
                        r.range.start >= a.value.range.start && r.range.end <= a.value.range.end
                    })
                    .find_map(oidc_get);
                let default = a
                    .value
                    .vars
                    .iter()
                    .chain(&a.value.sub_vars)
                    .any(|v| v.name.starts_with("CIRCLE_OIDC_TOKEN"));
                let audience = match from_request {
                    Some(aud) => aud,
                    None if default => None,
                    None => continue,
                };
                let reach = if to_bash_env(&a.name) {
                    Reach::LaterSteps
                } else if matches!(c.name.as_str(), "export")
                    || (matches!(c.name.as_str(), "declare" | "typeset") && c.has_arg("-x"))
                    || exported_later(&a.name, c.range.end)
                {
                    Reach::Step
                } else if !c.name.is_empty()
                    && !matches!(
                        c.name.as_str(),
                        "local" | "declare" | "typeset" | "readonly"
                    )
                {
                    Reach::Command(c.range.start)
                } else {
                    Reach::Shell
                };
                out.push(OidcRequest {
                    step: step.index,
                    range: step.file_range(c.range.clone()),
                    var: Some(a.name.clone()),
                    audience,
                    reach,
                });
            }
            // `echo "export NPM_ID_TOKEN=$(circleci run oidc get …)" >> "$BASH_ENV"`.
            if bash_env.iter().any(|b| std::ptr::eq(*b, c)) {
                for w in c.words() {
                    let Some(name) = w
                        .value
                        .split_once('=')
                        .map(|(n, _)| n.trim().trim_start_matches("export ").trim().to_string())
                    else {
                        continue;
                    };
                    if !w.substitution
                        && !w
                            .vars
                            .iter()
                            .any(|v| v.name.starts_with("CIRCLE_OIDC_TOKEN"))
                    {
                        continue;
                    }
                    let inner = cmds
                        .iter()
                        .filter(|r| r.range.start >= w.range.start && r.range.end <= w.range.end)
                        .find_map(oidc_get);
                    let default = w
                        .vars
                        .iter()
                        .any(|v| v.name.starts_with("CIRCLE_OIDC_TOKEN"));
                    if inner.is_none() && !default {
                        continue;
                    }
                    out.push(OidcRequest {
                        step: step.index,
                        range: step.file_range(c.range.clone()),
                        var: Some(name),
                        audience: inner.flatten(),
                        reach: Reach::LaterSteps,
                    });
                }
            }
            // A request whose output goes nowhere we follow (a file, a log).
            if let Some(aud) = request
                && !matches!(c.stdout, Stdout::Captured)
            {
                out.push(OidcRequest {
                    step: step.index,
                    range: step.file_range(c.range.clone()),
                    var: None,
                    audience: aud,
                    reach: Reach::Shell,
                });
            }
        }
    }
    out
}

/// `circleci run oidc get [--claims '{"aud": …}']`: `Some(audience)`,
/// `Some(None)` for the default audience.
fn oidc_get(c: &Command) -> Option<Option<String>> {
    let args: Vec<&str> = c.argv().collect();
    if c.name.rsplit('/').next() != Some("circleci")
        || args.len() < 3
        || args[..3] != ["run", "oidc", "get"]
    {
        return None;
    }
    let claims = args.iter().enumerate().find_map(|(i, a)| {
        if *a == "--claims" {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix("--claims=")
        }
    });
    let Some(claims) = claims else {
        return Some(None);
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(claims) else {
        // The CLI refuses it: no token at all.
        return Some(Some("(--claims that is not valid JSON)".into()));
    };
    let aud = match v.get("aud") {
        Some(serde_json::Value::String(s)) => Some(s.clone()),
        Some(serde_json::Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str())
            .find(|s| is_npm_audience(s))
            .or_else(|| a.first().and_then(|x| x.as_str()))
            .map(str::to_string),
        _ => None,
    };
    Some(aud)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Config {
        Config::parse(text, None).unwrap()
    }

    fn job<'a>(c: &'a Config, id: &str) -> (&'a Job, &'a CircleJob) {
        let i = c.workflow.jobs.iter().position(|j| j.id == id).unwrap();
        (&c.workflow.jobs[i], &c.jobs[i])
    }

    #[test]
    fn commands_executors_parameters_and_environment_expand() {
        let c = parse(
            "version: 2.1\norbs:\n  node: circleci/node@7.1\nparameters:\n  tag:\n    type: string\n    default: latest\nexecutors:\n  node:\n    parameters:\n      version: {type: string, default: '22.14'}\n    docker:\n      - image: cimg/node:<< parameters.version >>\n        environment:\n          A: image\n    environment:\n      B: executor\ncommands:\n  release:\n    parameters:\n      dist: {type: string, default: next}\n    steps:\n      - run: npm publish --tag << parameters.dist >>\n      - persist_to_workspace:\n          root: ~/project\n          paths: [dist]\njobs:\n  publish:\n    executor:\n      name: node\n      version: '24.5'\n    environment:\n      B: job\n    steps:\n      - checkout\n      - node/install-packages\n      - when:\n          condition: true\n          steps:\n            - release:\n                dist: << pipeline.parameters.tag >>\nworkflows:\n  main:\n    jobs:\n      - publish:\n          context: [npm]\n          filters:\n            branches: {ignore: /.*/}\n            tags: {only: /^v.*/}\n      - node/test\n",
        );
        let (j, cj) = job(&c, "publish");
        assert_eq!(cj.executor.image.as_deref(), Some("cimg/node:24.5"));
        let var = |n: &str| {
            j.env
                .iter()
                .find(|e| e.name == n)
                .map(|e| e.value.value.as_str())
        };
        assert_eq!(var("A"), Some("image"));
        assert_eq!(var("B"), Some("job"));
        let labels: Vec<&str> = j.steps.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(
            labels,
            [
                "checkout",
                "node/install-packages",
                "#3",
                "persist_to_workspace"
            ]
        );
        assert_eq!(
            j.steps[2].run.as_ref().unwrap().body,
            "npm publish --tag latest"
        );
        assert_eq!(cj.kept[0].path, "dist");
        assert_eq!(cj.orb_steps, [(1, "node/install-packages".to_string())]);
        assert_eq!(cj.invocations[0].contexts, ["npm"]);
        assert!(!cj.invocations[0].runs_on_pull_requests());
        assert_eq!(c.orb_jobs.len(), 1);
    }

    #[test]
    fn oidc_requests_and_their_reach() {
        let c = parse(
            "version: 2.1\njobs:\n  a:\n    docker: [{image: cimg/node:24.11}]\n    steps:\n      - run: |\n          export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\": \"npm:registry.npmjs.org\"}')\n          npm publish\n      - run: echo \"export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.org\"}')\" >> \"$BASH_ENV\"\n      - run: NPM_ID_TOKEN=$CIRCLE_OIDC_TOKEN_V2 npm publish\n      - run: |\n          NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.org\"}')\n          npm publish\n",
        );
        let (_, cj) = job(&c, "a");
        let got: Vec<(usize, Option<&str>, bool, Reach)> = cj
            .oidc
            .iter()
            .map(|r| (r.step, r.var.as_deref(), r.npm_audience(), r.reach))
            .collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert_eq!(got[0], (0, Some("NPM_ID_TOKEN"), true, Reach::Step));
        assert_eq!(got[1], (1, Some("NPM_ID_TOKEN"), true, Reach::LaterSteps));
        assert!(!got[2].2);
        assert!(matches!(got[2].3, Reach::Command(_)));
        assert_eq!(got[3].3, Reach::Shell);
    }

    #[test]
    fn printf_into_bash_env_reaches_later_steps() {
        // The form ckeditor5-dev's release config uses.
        let c = parse(
            "version: 2.1\njobs:\n  a:\n    docker: [{image: cimg/node:24.11}]\n    steps:\n      - run: |\n          NPM_ID_TOKEN=$(circleci run oidc get \\\n            --claims '{\"aud\":\"npm:registry.npmjs.org\"}')\n          printf 'export NPM_ID_TOKEN=%q\\n' \"$NPM_ID_TOKEN\" >> \"$BASH_ENV\"\n      - run: npm publish\n",
        );
        let (j, cj) = job(&c, "a");
        let at = j.steps[1].range.start;
        assert!(cj.npm_id_token(1, at).is_some(), "{:?}", cj.oidc);
    }

    #[test]
    fn runners_filters_and_approvals() {
        let c = parse(
            "version: 2.1\njobs:\n  onprem:\n    machine: true\n    resource_class: acme/linux\n    steps: [checkout]\n  cloud:\n    docker: [{image: cimg/node:24.11}]\n    resource_class: large\n    steps: [checkout]\nworkflows:\n  w:\n    jobs:\n      - onprem\n      - hold: {type: approval}\n      - cloud: {requires: [hold]}\n",
        );
        let (_, a) = job(&c, "onprem");
        assert_eq!(a.executor.runner(), Some("acme/linux"));
        assert!(a.invocations[0].runs_on_pull_requests());
        let (_, b) = job(&c, "cloud");
        assert_eq!(b.executor.runner(), None);
        assert!(!b.invocations[0].runs_on_pull_requests());
    }

    #[test]
    fn parameters_not_heredocs_are_substituted() {
        let mut p = Params::new();
        p.insert(
            "t".into(),
            Node::Scalar(MarkedScalarNode::from("NPM_TOKEN")),
        );
        let none = Params::new();
        assert_eq!(
            substitute_script(
                "cat << EOF > x\n$<< parameters.t >>\nEOF\necho a >> b",
                &p,
                &none
            ),
            "cat << EOF > x\n$NPM_TOKEN\nEOF\necho a >> b"
        );
        assert_eq!(
            substitute_script("npm publish --tag << pipeline.git.tag >>", &p, &none),
            "npm publish --tag ${CIRCLECI_PARAMETER}"
        );
        assert_eq!(
            substitute("cimg/node:<< parameters.v >>", &p, &none),
            "cimg/node:<< parameters.v >>"
        );
    }

    #[test]
    fn step_directories_are_relative_to_the_job() {
        let c = parse(
            "version: 2.1\njobs:\n  j:\n    docker: [{image: node:24}]\n    steps:\n      - run: {command: npm publish, working_directory: ~/project/packages/a}\n      - run: {command: npm publish, working_directory: ~/project}\n",
        );
        let (j, _) = job(&c, "j");
        assert_eq!(j.steps[0].working_directory.as_deref(), Some("packages/a"));
        assert_eq!(j.steps[1].working_directory, None);
    }

    #[test]
    fn merge_keys_share_executors() {
        let c = parse(
            "version: 2\ndefaults: &defaults\n  working_directory: ~/repo\n  docker:\n    - image: circleci/node:10\njobs:\n  deploy:\n    <<: *defaults\n    steps:\n      - run: echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > ~/repo/.npmrc\n      - persist_to_workspace:\n          root: ~/repo\n          paths: [.]\n",
        );
        let (_, cj) = job(&c, "deploy");
        assert_eq!(cj.executor.image.as_deref(), Some("circleci/node:10"));
        assert_eq!(cj.working_directory, "~/repo");
        assert_eq!(cj.kept[0].path, ".");
    }

    #[test]
    fn empty_commands_fanning_out_are_bounded() {
        let mut text = String::from("version: 2.1\ncommands:\n  c0:\n    steps: []\n");
        for i in 1..9 {
            let calls = vec![format!("c{}", i - 1); 40].join(", ");
            text.push_str(&format!("  c{i}:\n    steps: [{calls}]\n"));
        }
        text.push_str(
            "jobs:\n  j:\n    docker: [{image: node:24}]\n    steps: [c8, {run: npm publish}]\n",
        );
        let started = std::time::Instant::now();
        let c = parse(&text);
        let (j, cj) = job(&c, "j");
        assert!(j.steps.len() <= MAX_STEPS);
        assert!(cj.truncated);
        // Bounded work, not 40^8 visits (a generous ceiling, not a timing test).
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
    }

    #[test]
    fn a_version_2_build_job_runs_on_every_push() {
        let c = parse(
            "version: 2\njobs:\n  build:\n    docker: [{image: node:24}]\n    steps: [checkout]\n",
        );
        let (_, cj) = job(&c, "build");
        assert!(cj.invocations[0].runs_on_pull_requests());
    }

    #[test]
    fn recursive_commands_are_bounded() {
        let c = parse(
            "version: 2.1\ncommands:\n  a:\n    steps: [b]\n  b:\n    steps: [a, {run: npm publish}]\njobs:\n  j:\n    docker: [{image: node:24}]\n    steps: [a]\n",
        );
        let (j, _) = job(&c, "j");
        assert!(j.steps.iter().any(|s| s.run.is_some()));
    }
}
