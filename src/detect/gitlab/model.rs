//! The GitLab CI model: `.gitlab-ci.yml` and the local files it includes,
//! turned into the shared workflow shape (job → steps, variables as `env`)
//! so publish recognition (package scripts, release tools), credential
//! tracking through the shell and token writes are the GitHub Actions
//! analysis's own. What only GitLab has sits beside it in [`GitlabJob`]:
//! ID tokens, image, runner tags, kept paths and merge-request exposure.
//!
//! Merging follows GitLab: local includes first, the root file last (it
//! wins); `extends:` (at most [`MAX_EXTENDS`] levels, cycles refused) and
//! `default:` under the job's own keys; `variables:` and `id_tokens:` merge
//! by name, other keys are replaced whole. YAML anchors and `<<:` merge keys
//! are expanded by the YAML layer and here.

use crate::detect::tree::{self, TreeView};
use crate::detect::workflow::{
    EnvVar, Job, Level, Run, Scalar, SecretUses, Src, Step, Workflow, indirect,
};
use crate::detect::yaml;
use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode};
use std::collections::BTreeMap;
use std::ops::Range;

/// GitLab's own limit on `extends:` nesting.
pub const MAX_EXTENDS: usize = 11;
/// Local files read per pipeline (GitLab allows 150; ours is a bound on work).
const MAX_INCLUDES: usize = 32;
/// Nested includes followed (an included file including another).
const MAX_INCLUDE_DEPTH: usize = 3;

/// Top-level keys that are not jobs.
const RESERVED: &[&str] = &[
    "default",
    "include",
    "stages",
    "variables",
    "workflow",
    "image",
    "services",
    "cache",
    "before_script",
    "after_script",
    "types",
    "spec",
];

/// Keys `default:` (and old-style globals) give every job that has none.
const DEFAULTABLE: &[&str] = &[
    "before_script",
    "after_script",
    "image",
    "tags",
    "cache",
    "artifacts",
    "id_tokens",
    "services",
];

/// One file of the pipeline: the root (index 0) or a local include.
pub struct PipelineFile {
    pub path: String,
    pub text: String,
    /// The `include:` entry that brought it in, in the root file.
    pub include: Range<usize>,
}

/// An ID token a job requests (`id_tokens: NAME: aud: …`).
#[derive(Clone, Debug)]
pub struct IdToken {
    pub name: String,
    pub audiences: Vec<String>,
}

/// What GitLab has beyond the shared job shape, index for index with
/// `workflow.jobs`.
#[derive(Debug, Default)]
pub struct GitlabJob {
    /// The pipeline file the job is defined in.
    pub file: usize,
    pub id_tokens: Vec<IdToken>,
    pub image: Option<String>,
    pub tags: Vec<String>,
    /// Paths kept after the job: `("artifacts", "dist/")`, `("cache", …)`.
    pub kept: Vec<(&'static str, String)>,
    /// Why the job runs in merge-request pipelines, if it does.
    pub merge_requests: Option<String>,
    /// The pipeline file each of the job's variables is defined in (a
    /// global, a template's or the job's own): with the key's range it
    /// tells one definition shared by several jobs.
    pub var_files: BTreeMap<String, usize>,
    /// Where the job's `before_script` is written: its own, or a
    /// definition it shares with other jobs (`default:`, a template).
    pub before_script: Option<ScriptSite>,
    /// `environment:` (its name): a CI/CD variable can be scoped to it.
    pub environment: Option<String>,
}

/// Where a script section is written: the file, the range of its key and
/// of its lines, and how the job got it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScriptSite {
    pub file: usize,
    pub key: Range<usize>,
    pub lines: Range<usize>,
    /// `default:` (or an old-style global), a template or anchor, or the
    /// job's own.
    pub origin: ScriptOrigin,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptOrigin {
    /// `default: before_script:`.
    Default,
    /// The old-style top-level `before_script:`, a default too.
    TopLevel,
    Shared,
    Own,
}

impl GitlabJob {
    /// The npm audience token (`NPM_ID_TOKEN` with `npm:registry.npmjs.org`).
    pub fn npm_id_token(&self) -> Option<&IdToken> {
        self.id_tokens
            .iter()
            .find(|t| t.name == "NPM_ID_TOKEN" && t.audiences.iter().any(|a| is_npm_audience(a)))
    }

    /// Runner tags that select self-managed runners: GitLab.com's hosted
    /// runners are the untagged default and the `saas-*` tags.
    pub fn self_managed_tags(&self) -> Vec<&str> {
        self.tags
            .iter()
            .map(String::as_str)
            .filter(|t| !t.starts_with("saas-") && !t.starts_with('$'))
            .collect()
    }
}

pub use crate::detect::ci_pipeline::is_npm_audience;

/// A parsed pipeline.
pub struct Pipeline {
    pub files: Vec<PipelineFile>,
    /// The shared shape: jobs, steps (one per `script` line), variables.
    pub workflow: Workflow,
    pub jobs: Vec<GitlabJob>,
    /// Includes named but not read (remote, project, template, component,
    /// wildcards, missing files), with the entry's range in the root file.
    pub not_followed: Vec<(String, Range<usize>)>,
}

/// A key's value and the file it came from.
#[derive(Clone)]
struct Entry {
    file: usize,
    key: MarkedScalarNode,
    value: Node,
}

/// A mapping's entries by key, `<<:` merge keys flattened under the
/// mapping's own keys.
fn entries(file: usize, m: &MarkedMappingNode) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    if let Some(merged) = m.get_node("<<") {
        let sources: Vec<&MarkedMappingNode> = match merged {
            Node::Mapping(mm) => vec![mm],
            Node::Sequence(s) => s.iter().filter_map(Node::as_mapping).collect(),
            _ => Vec::new(),
        };
        // Earlier sources in a `<<: [*a, *b]` list win.
        for src in sources.into_iter().rev() {
            out.extend(entries(file, src));
        }
    }
    for (k, v) in m.iter() {
        if k.as_str() == "<<" {
            continue;
        }
        out.insert(
            k.as_str().to_string(),
            Entry {
                file,
                key: k.clone(),
                value: v.clone(),
            },
        );
    }
    out
}

/// `over` on top of `base`: `variables:` and `id_tokens:` merge by name.
fn merge(
    mut base: BTreeMap<String, Entry>,
    over: BTreeMap<String, Entry>,
) -> BTreeMap<String, Entry> {
    for (k, e) in over {
        base.insert(k, e);
    }
    base
}

/// Named entries (`variables:`, `id_tokens:`) of a key across levels, the
/// most specific last.
fn named(levels: &[&BTreeMap<String, Entry>], key: &str) -> BTreeMap<String, Entry> {
    let mut out = BTreeMap::new();
    for level in levels {
        if let Some(e) = level.get(key)
            && let Some(m) = e.value.as_mapping()
        {
            out.extend(entries(e.file, m));
        }
    }
    out
}

fn scalars(n: &Node) -> Vec<&MarkedScalarNode> {
    fn walk<'a>(n: &'a Node, depth: usize, out: &mut Vec<&'a MarkedScalarNode>) {
        match n {
            Node::Scalar(s) => out.push(s),
            // GitLab flattens nested arrays (anchored script lists).
            Node::Sequence(seq) if depth < 10 => {
                for i in seq.iter() {
                    walk(i, depth + 1, out);
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(n, 0, &mut out);
    out
}

fn text_of(n: &Node) -> Option<String> {
    n.as_scalar().map(|s| s.as_str().to_string())
}

impl Pipeline {
    /// Parse the root file and its local includes. `Err` only for the root
    /// file; an unreadable include is named in [`Pipeline::not_followed`].
    pub fn parse(root_path: &str, text: &str, tree: Option<TreeView>) -> Result<Pipeline, String> {
        let root = yaml::parse(text)?;
        let Some(root_map) = root.as_mapping() else {
            return Err("the top level is not a mapping".into());
        };
        let mut p = Pipeline {
            files: vec![PipelineFile {
                path: root_path.to_string(),
                text: text.to_string(),
                include: 0..0,
            }],
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
            not_followed: Vec::new(),
        };
        // Included files' definitions first; the root's win.
        let mut docs: Vec<(usize, Node)> = Vec::new();
        p.includes(root_map, tree, 0, 0, &mut docs);
        docs.push((0, root.clone()));
        let mut defs: BTreeMap<String, Entry> = BTreeMap::new();
        for (file, doc) in &docs {
            if let Some(m) = doc.as_mapping() {
                for (k, e) in entries(*file, m) {
                    defs.insert(k, e);
                }
            }
        }
        let globals = defs.clone();
        let default = globals
            .get("default")
            .and_then(|e| e.value.as_mapping().map(|m| entries(e.file, m)))
            .unwrap_or_default();
        // Old-style global keys count as defaults too.
        let mut defaults: BTreeMap<String, Entry> = BTreeMap::new();
        for k in DEFAULTABLE {
            if let Some(e) = globals.get(*k).filter(|_| *k != "tags") {
                defaults.insert(k.to_string(), e.clone());
            }
        }
        let defaults = merge(defaults, default);
        let workflow_mr = globals
            .get("workflow")
            .and_then(|e| e.value.as_mapping())
            .and_then(|m| m.get_node("rules"))
            .is_some_and(mentions_merge_requests);
        // Global variables are merged into each job (unless it opts out
        // with `inherit: variables: false`), not kept pipeline-wide.
        let global_vars = named(&[&globals], "variables");

        for (name, e) in &defs {
            if name.starts_with('.') || RESERVED.contains(&name.as_str()) {
                continue;
            }
            let Some(m) = e.value.as_mapping() else {
                continue;
            };
            let own = entries(e.file, m);
            // Only mappings with something to run are jobs (`trigger:` jobs run nothing).
            let mut resolved = own.clone();
            let mut chain = Vec::new();
            let mut seen = vec![name.clone()];
            resolve_extends(&defs, &own, &mut seen, &mut chain, &mut resolved);
            if !resolved.contains_key("script") && !resolved.contains_key("trigger") {
                continue;
            }
            let inherit = inherit_flags(&resolved);
            let mut full = if inherit.0 {
                merge(defaults.clone(), resolved.clone())
            } else {
                resolved.clone()
            };
            // `variables:` merge by name: defaults → extends chain → job.
            let mut var_levels: Vec<&BTreeMap<String, Entry>> = chain.iter().collect();
            var_levels.push(&own);
            let job_vars = named(&var_levels, "variables");
            let mut token_levels: Vec<&BTreeMap<String, Entry>> = Vec::new();
            if inherit.0 {
                token_levels.push(&defaults);
            }
            token_levels.extend(var_levels.iter().copied());
            let id_tokens = named(&token_levels, "id_tokens");
            full.remove("variables");
            // `None`: every global variable; a list: only those named.
            let globals_seen: BTreeMap<String, Entry> = match &inherit.1 {
                None => global_vars.clone(),
                Some(keep) => global_vars
                    .iter()
                    .filter(|(n, _)| keep.contains(n))
                    .map(|(n, e)| (n.clone(), e.clone()))
                    .collect(),
            };
            let before_origin = match full.get("before_script") {
                Some(b) if own.get("before_script").is_some_and(|o| same_entry(o, b)) => {
                    ScriptOrigin::Own
                }
                Some(b)
                    if globals
                        .get("before_script")
                        .is_some_and(|d| same_entry(d, b)) =>
                {
                    ScriptOrigin::TopLevel
                }
                Some(b)
                    if defaults
                        .get("before_script")
                        .is_some_and(|d| same_entry(d, b)) =>
                {
                    ScriptOrigin::Default
                }
                _ => ScriptOrigin::Shared,
            };
            p.add_job(
                name,
                e,
                &full,
                &job_vars,
                &globals_seen,
                &id_tokens,
                workflow_mr,
                before_origin,
            );
        }
        // A `<<: *anchor` copies the anchor's `before_script` into the job's
        // own keys: written once for several jobs, it is shared.
        let mut sites: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        for s in p.jobs.iter().filter_map(|j| j.before_script.as_ref()) {
            *sites.entry((s.file, s.key.start)).or_default() += 1;
        }
        for s in p.jobs.iter_mut().filter_map(|j| j.before_script.as_mut()) {
            if s.origin == ScriptOrigin::Own && sites[&(s.file, s.key.start)] > 1 {
                s.origin = ScriptOrigin::Shared;
            }
        }
        if let Some(view) = tree {
            indirect::resolve(&mut p.workflow, view);
        }
        Ok(p)
    }

    /// Read the local files `include:` names (recursively, bounded).
    fn includes(
        &mut self,
        map: &MarkedMappingNode,
        tree: Option<TreeView>,
        from: usize,
        depth: usize,
        docs: &mut Vec<(usize, Node)>,
    ) {
        let Some(inc) = map.get_node("include") else {
            return;
        };
        let items: Vec<&Node> = match inc {
            Node::Sequence(s) => s.iter().collect(),
            other => vec![other],
        };
        for item in items {
            // The entry's range in the root file (nested includes point at
            // the root's entry that led to them).
            let range = if from == 0 {
                let src = Src::new(&self.files[0].text);
                let start = src.span_start(item.span());
                start..start + 1
            } else {
                self.files[from].include.clone()
            };
            let (local, label) = match item {
                Node::Scalar(s) => {
                    let v = s.as_str().trim();
                    if v.starts_with("http://") || v.starts_with("https://") {
                        (None, format!("remote {v}"))
                    } else {
                        (Some(v.to_string()), v.to_string())
                    }
                }
                Node::Mapping(m) => {
                    if let Some(l) = m.get_node("local").and_then(text_of) {
                        (Some(l.clone()), l)
                    } else {
                        let kind = ["remote", "project", "template", "component"]
                            .into_iter()
                            .find(|k| m.get_node(k).is_some())
                            .unwrap_or("unknown");
                        let what = m.get_node(kind).and_then(text_of).unwrap_or_default();
                        (None, format!("{kind} {what}").trim().to_string())
                    }
                }
                _ => (None, "an include of unknown shape".into()),
            };
            let Some(local) = local else {
                self.not_followed.push((label, range));
                continue;
            };
            if local.contains('*') || local.contains('$') {
                self.not_followed
                    .push((format!("{label} (wildcard or variable)"), range));
                continue;
            }
            let path = tree::join("", local.trim_start_matches('/'));
            let bytes = match (tree, path.as_deref()) {
                (Some(view), Some(p))
                    if self.files.len() <= MAX_INCLUDES && depth < MAX_INCLUDE_DEPTH =>
                {
                    let p = tree::join(tree::parent(view.path), p).unwrap_or_default();
                    view.files.read(&p).map(|b| (p, b))
                }
                _ => None,
            };
            let Some((path, bytes)) = bytes else {
                self.not_followed
                    .push((format!("local {label} (not read)"), range));
                continue;
            };
            let Ok(text) = String::from_utf8(bytes) else {
                self.not_followed
                    .push((format!("local {label} (not UTF-8)"), range));
                continue;
            };
            let Ok(doc) = yaml::parse(&text) else {
                self.not_followed
                    .push((format!("local {label} (invalid YAML)"), range));
                continue;
            };
            let index = self.files.len();
            self.files.push(PipelineFile {
                path,
                text,
                include: range,
            });
            if let Some(m) = doc.as_mapping() {
                self.includes(m, tree, index, depth + 1, docs);
            }
            docs.push((index, doc));
        }
    }

    fn env_vars(&self, vars: &BTreeMap<String, Entry>, level: Level) -> Vec<EnvVar> {
        let mut out: Vec<EnvVar> = vars
            .values()
            .filter_map(|e| {
                let src = Src::new(&self.files[e.file].text);
                // `NAME: { value: …, description: … }`.
                let node = match &e.value {
                    Node::Mapping(m) => m.get_node("value")?,
                    other => other,
                };
                let s = node.as_scalar()?;
                let start = src.span_start(e.key.span());
                Some(EnvVar {
                    name: e.key.as_str().to_string(),
                    key: start..start + e.key.as_str().len().max(1),
                    value: Scalar {
                        value: s.as_str().to_string(),
                        range: src.scalar_range(s.span(), s.as_str()),
                    },
                    level,
                })
            })
            .collect();
        out.sort_by_key(|e| e.key.start);
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn add_job(
        &mut self,
        name: &str,
        def: &Entry,
        full: &BTreeMap<String, Entry>,
        vars: &BTreeMap<String, Entry>,
        global_vars: &BTreeMap<String, Entry>,
        id_tokens: &BTreeMap<String, Entry>,
        workflow_mr: bool,
        before_origin: ScriptOrigin,
    ) {
        let src_text = self.files[def.file].text.clone();
        let src = Src::new(&src_text);
        let key_start = src.span_start(def.key.span());
        let mut steps = Vec::new();
        // GitLab runs `before_script` and `script` in one shell (a `set -x`
        // or an `export` carries over) and `after_script` in another: one
        // step per shell, its lines joined, when they come from one file.
        let mut shells: Vec<(String, usize, Vec<&MarkedScalarNode>)> = Vec::new();
        for section in ["before_script", "script", "after_script"] {
            let Some(e) = full.get(section) else {
                continue;
            };
            let lines = scalars(&e.value);
            match shells.last_mut() {
                Some((label, file, prev))
                    if section == "script" && label == "before_script" && *file == e.file =>
                {
                    *label = "before_script+script".into();
                    prev.extend(lines);
                }
                _ => shells.push((section.to_string(), e.file, lines)),
            }
        }
        for (label, file, lines) in shells {
            let Some(first) = lines.first() else {
                continue;
            };
            let text = &self.files[file].text;
            let esrc = Src::new(text);
            let at = |s: &MarkedScalarNode| {
                let start = esrc.span_start(s.span());
                match text.as_bytes().get(start) {
                    Some(b'"') | Some(b'\'') => start + 1,
                    _ => start,
                }
            };
            let start = at(first);
            let pieces: Vec<(&str, usize)> = lines.iter().map(|s| (s.as_str(), at(s))).collect();
            steps.push(Step {
                index: steps.len(),
                label,
                range: start..start + 1,
                uses: None,
                with: Vec::new(),
                run: Some(Run::from_pieces(text, &pieces)),
                shell: None,
                env: Vec::new(),
                working_directory: None,
                indirect: Vec::new(),
                unfollowed: None,
                condition: None,
            });
        }
        let mut env = self.env_vars(vars, Level::Job);
        for g in self.env_vars(global_vars, Level::Workflow) {
            if !env.iter().any(|e| e.name == g.name) {
                env.push(g);
            }
        }
        let mut var_files = BTreeMap::new();
        for (n, e) in global_vars.iter().chain(vars) {
            var_files.insert(n.clone(), e.file);
        }
        let before_script = full.get("before_script").and_then(|e| {
            let text = &self.files[e.file].text;
            let src = Src::new(text);
            let lines = scalars(&e.value);
            let first = lines.first()?;
            let last = lines.last()?;
            let key = src.span_start(e.key.span());
            Some(ScriptSite {
                file: e.file,
                key: key..key + "before_script".len(),
                lines: src.span_start(first.span())
                    ..src.scalar_range(last.span(), last.as_str()).end,
                origin: before_origin,
            })
        });
        let environment = full.get("environment").and_then(|e| match &e.value {
            Node::Mapping(m) => m.get_node("name").and_then(text_of),
            other => text_of(other),
        });
        let tags: Vec<String> = full
            .get("tags")
            .map(|e| {
                scalars(&e.value)
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let mut kept = Vec::new();
        for (what, key) in [("artifacts", "paths"), ("cache", "paths")] {
            if let Some(e) = full.get(what) {
                let maps: Vec<&MarkedMappingNode> = match &e.value {
                    Node::Mapping(m) => vec![m],
                    Node::Sequence(s) => s.iter().filter_map(Node::as_mapping).collect(),
                    _ => Vec::new(),
                };
                for m in maps {
                    if let Some(paths) = m.get_node(key) {
                        for p in scalars(paths) {
                            kept.push((what, p.as_str().to_string()));
                        }
                    }
                    if what == "artifacts"
                        && m.get_node("untracked")
                            .and_then(text_of)
                            .is_some_and(|v| v == "true")
                    {
                        kept.push((what, "(untracked files)".to_string()));
                    }
                }
            }
        }
        let id_tokens = id_tokens
            .values()
            .map(|e| IdToken {
                name: e.key.as_str().to_string(),
                audiences: e
                    .value
                    .as_mapping()
                    .and_then(|m| m.get_node("aud"))
                    .map(|a| scalars(a).iter().map(|s| s.as_str().to_string()).collect())
                    .unwrap_or_default(),
            })
            .collect();
        let merge_requests = job_merge_requests(full, workflow_mr);
        let image = full.get("image").and_then(|e| match &e.value {
            Node::Mapping(m) => m.get_node("name").and_then(text_of),
            other => text_of(other),
        });
        self.workflow.jobs.push(Job {
            default_shell: None,
            default_working_directory: None,
            matrix: BTreeMap::new(),
            id: name.to_string(),
            key: key_start..key_start + name.len().max(1),
            runs_on: tags.clone(),
            runs_on_range: None,
            runner_group: false,
            permissions: None,
            env,
            steps,
            uses: None,
            with: Vec::new(),
            secrets_inherit: None,
            secrets: Vec::new(),
            condition: None,
        });
        self.jobs.push(GitlabJob {
            file: def.file,
            id_tokens,
            image,
            tags,
            kept,
            merge_requests,
            var_files,
            before_script,
            environment,
        });
    }

    /// A range of pipeline file `f` as a range of the root file: what an
    /// include defines sits on its `include:` entry.
    pub fn at_file(&self, f: usize, r: Range<usize>) -> Range<usize> {
        match f {
            0 => r,
            f => self.files[f].include.clone(),
        }
    }

    /// `" (in ci/release.yml, line 12)"` for a range of an included file.
    pub fn where_file(&self, f: usize, r: &Range<usize>) -> String {
        match f {
            0 => String::new(),
            f => {
                let file = &self.files[f];
                let line = file.text[..r.start.min(file.text.len())]
                    .matches('\n')
                    .count()
                    + 1;
                format!(" (in {}, line {line})", file.path)
            }
        }
    }

    /// A range of job `j`'s file as a range of the root file: an included
    /// job's findings sit on the `include:` entry.
    pub fn at(&self, j: usize, r: Range<usize>) -> Range<usize> {
        match self.jobs[j].file {
            0 => r,
            f => self.files[f].include.clone(),
        }
    }

    /// `" (in ci/release.yml, line 12)"` for a job defined in an include.
    pub fn where_(&self, j: usize, r: &Range<usize>) -> String {
        match self.jobs[j].file {
            0 => String::new(),
            f => {
                let file = &self.files[f];
                let line = file.text[..r.start.min(file.text.len())]
                    .matches('\n')
                    .count()
                    + 1;
                format!(" (in {}, line {line})", file.path)
            }
        }
    }
}

/// `extends:` bases under `own` (a base's own bases first), merged into
/// `resolved`; `chain` lists each base's own keys, nearest last. `seen`
/// refuses cycles; GitLab's depth limit bounds the rest.
fn resolve_extends(
    defs: &BTreeMap<String, Entry>,
    own: &BTreeMap<String, Entry>,
    seen: &mut Vec<String>,
    chain: &mut Vec<BTreeMap<String, Entry>>,
    resolved: &mut BTreeMap<String, Entry>,
) {
    let Some(ext) = own.get("extends") else {
        return;
    };
    // `extends: [.a, .b]`: later bases win over earlier ones.
    for base in scalars(&ext.value) {
        let name = base.as_str().to_string();
        if seen.contains(&name) || seen.len() >= MAX_EXTENDS {
            continue;
        }
        let Some(m) = defs
            .get(&name)
            .and_then(|d| d.value.as_mapping().map(|m| entries(d.file, m)))
        else {
            continue;
        };
        seen.push(name);
        let mut base_resolved = m.clone();
        let mut base_chain = Vec::new();
        resolve_extends(defs, &m, seen, &mut base_chain, &mut base_resolved);
        seen.pop();
        chain.extend(base_chain);
        chain.push(m);
        let mine = std::mem::take(resolved);
        *resolved = merge(base_resolved, mine);
    }
}

/// The same definition (one key in one file), reached through `default:`,
/// `extends:` or an anchor.
fn same_entry(a: &Entry, b: &Entry) -> bool {
    let at = |e: &Entry| e.key.span().start().map(|m| (m.line(), m.column()));
    a.file == b.file && at(a) == at(b)
}

/// `inherit: default:` and `inherit: variables:`: `false` turns them off,
/// a list of names keeps only those (for `default:` a list counts as on).
fn inherit_flags(job: &BTreeMap<String, Entry>) -> (bool, Option<Vec<String>>) {
    let Some(m) = job.get("inherit").and_then(|e| e.value.as_mapping()) else {
        return (true, None);
    };
    let off = |k: &str| {
        m.get_node(k)
            .and_then(Node::as_scalar)
            .is_some_and(|s| s.as_str().trim() == "false")
    };
    let variables = if off("variables") {
        Some(Vec::new())
    } else {
        m.get_node("variables")
            .and_then(Node::as_sequence)
            .map(|s| s.iter().filter_map(text_of).collect())
    };
    (!off("default"), variables)
}

fn mentions_merge_requests(n: &Node) -> bool {
    scalars_deep(n).iter().any(|s| {
        s.contains("merge_request_event")
            || s.contains("CI_MERGE_REQUEST_")
            || s.trim() == "merge_requests"
    })
}

/// Every scalar under a node (rules are nested mappings and lists).
fn scalars_deep(n: &Node) -> Vec<String> {
    fn walk(n: &Node, depth: usize, out: &mut Vec<String>) {
        if depth > 16 {
            return;
        }
        match n {
            Node::Scalar(s) => out.push(s.as_str().to_string()),
            Node::Sequence(s) => s.iter().for_each(|i| walk(i, depth + 1, out)),
            Node::Mapping(m) => m.iter().for_each(|(_, v)| walk(v, depth + 1, out)),
        }
    }
    let mut out = Vec::new();
    walk(n, 0, &mut out);
    out
}

/// Does the job run in merge-request pipelines, and why?
fn job_merge_requests(job: &BTreeMap<String, Entry>, workflow_mr: bool) -> Option<String> {
    if let Some(r) = job.get("rules") {
        // A rule that matches MR pipelines and does not skip them.
        let seq: Vec<&Node> = match &r.value {
            Node::Sequence(s) => s.iter().collect(),
            _ => Vec::new(),
        };
        for rule in seq {
            let Some(m) = rule.as_mapping() else {
                continue;
            };
            let cond = m.get_node("if").and_then(text_of).unwrap_or_default();
            let never = m
                .get_node("when")
                .and_then(text_of)
                .is_some_and(|w| w.trim() == "never");
            let mr = (cond.contains("merge_request_event") && !cond.contains("!="))
                || (cond.contains("CI_MERGE_REQUEST_") && !cond.contains("=="));
            if mr && !never {
                return Some(format!(
                    "its rules run it in merge-request pipelines (`if: {cond}`)"
                ));
            }
            if never && cond.contains("merge_request_event") && cond.contains("==") {
                return None;
            }
        }
        return None;
    }
    for key in ["only", "except"] {
        if let Some(e) = job.get(key) {
            let refs = match &e.value {
                Node::Mapping(m) => m.get_node("refs").map(scalars_deep).unwrap_or_default(),
                other => scalars_deep(other),
            };
            let mr = refs.iter().any(|s| s.trim() == "merge_requests");
            if key == "only" {
                return mr
                    .then(|| "`only: merge_requests` runs it in merge-request pipelines".into());
            }
            if mr {
                return None;
            }
        }
    }
    workflow_mr.then(|| {
        "`workflow: rules:` create merge-request pipelines and the job has no `rules:` of its own"
            .into()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Pipeline {
        Pipeline::parse(".gitlab-ci.yml", text, None).unwrap()
    }

    fn job<'a>(p: &'a Pipeline, id: &str) -> (&'a Job, &'a GitlabJob) {
        let i = p.workflow.jobs.iter().position(|j| j.id == id).unwrap();
        (&p.workflow.jobs[i], &p.jobs[i])
    }

    #[test]
    fn extends_default_and_variables_merge_like_gitlab() {
        let p = parse(
            "default:\n  image: node:22\n  tags: [saas-linux-small-amd64]\nvariables:\n  A: global\n  B: global\n.base:\n  image: node:24\n  variables:\n    B: base\n    C: base\n  id_tokens:\n    NPM_ID_TOKEN:\n      aud: npm:registry.npmjs.org\njob:\n  extends: .base\n  variables:\n    C: job\n  script: [npm publish]\nalone:\n  inherit:\n    default: false\n    variables: false\n  script: [npm test]\n.hidden:\n  script: [npm publish]\nnot-a-job: {stage: x}\n",
        );
        let ids: Vec<&str> = p.workflow.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["alone", "job"]);
        let (j, g) = job(&p, "job");
        let var = |n: &str| {
            j.env
                .iter()
                .find(|e| e.name == n)
                .map(|e| e.value.value.clone())
        };
        assert_eq!(var("A").as_deref(), Some("global"));
        assert_eq!(var("B").as_deref(), Some("base"));
        assert_eq!(var("C").as_deref(), Some("job"));
        assert_eq!(g.image.as_deref(), Some("node:24"));
        assert!(g.npm_id_token().is_some());
        assert!(g.self_managed_tags().is_empty());
        let (a, ga) = job(&p, "alone");
        assert!(a.env.is_empty());
        assert!(ga.image.is_none());
    }

    #[test]
    fn inherited_variables_and_shared_before_scripts() {
        let p = parse(
            "variables:\n  A: a\n  B: b\ndefault:\n  before_script: [echo default]\n.t: &t\n  before_script: [echo shared]\nsome:\n  inherit:\n    variables: [B]\n  script: [x]\nown:\n  before_script: [echo own]\n  environment:\n    name: npm\n  script: [x]\nt1:\n  <<: *t\n  script: [x]\nt2:\n  extends: .t\n  script: [x]\n",
        );
        let names = |id: &str| -> Vec<String> {
            job(&p, id).0.env.iter().map(|e| e.name.clone()).collect()
        };
        assert_eq!(names("some"), ["B"]);
        assert_eq!(names("own"), ["A", "B"]);
        let site = |id: &str| job(&p, id).1.before_script.clone().unwrap();
        assert_eq!(site("some").origin, ScriptOrigin::Default);
        assert_eq!(site("own").origin, ScriptOrigin::Own);
        // The anchor and the template are one definition.
        assert_eq!(site("t1").origin, ScriptOrigin::Shared);
        assert_eq!(site("t1").key, site("t2").key);
        assert_eq!(job(&p, "own").1.environment.as_deref(), Some("npm"));
    }

    #[test]
    fn inherited_script_lines_map_to_their_own_copy() {
        // `Release` inherits `.release`'s before_script; its own line also
        // starts the line of the `Dry run` job written between them.
        let text = ".release:\n  before_script:\n    - npm ci\nDry run:\n  extends: .release\n  script:\n    - npm exec semantic-release -- --dry-run\nRelease:\n  extends: .release\n  script:\n    - npm exec semantic-release\n";
        let p = parse(text);
        let (j, _) = job(&p, "Release");
        let run = j.steps[0].run.as_ref().unwrap();
        let c = run
            .script
            .commands
            .iter()
            .find(|c| c.name == "npm" && c.has_arg("semantic-release"))
            .unwrap();
        let r = run.file_range(c.range.clone());
        assert_eq!(&text[r.clone()], "npm exec semantic-release");
        assert_eq!(text[..r.start].matches('\n').count() + 1, 11);
    }

    #[test]
    fn merge_request_pipelines() {
        let p = parse(
            "workflow:\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n    - if: $CI_COMMIT_BRANCH\nfree:\n  script: [x]\ntagged:\n  script: [x]\n  rules:\n    - if: $CI_COMMIT_TAG\nskips:\n  script: [x]\n  rules:\n    - if: $CI_PIPELINE_SOURCE == \"merge_request_event\"\n      when: never\n    - when: always\nonly-mr:\n  script: [x]\n  only: [merge_requests]\n",
        );
        assert!(job(&p, "free").1.merge_requests.is_some());
        assert!(job(&p, "tagged").1.merge_requests.is_none());
        assert!(job(&p, "skips").1.merge_requests.is_none());
        assert!(job(&p, "only-mr").1.merge_requests.is_some());
    }

    #[test]
    fn script_lines_share_one_shell_and_map_to_the_file() {
        let text = "job:\n  before_script:\n    - set -x\n  script:\n    - echo hi\n    - |\n      npm ci\n      npm publish\n  after_script:\n    - echo done\n";
        let p = parse(text);
        let (j, _) = job(&p, "job");
        let labels: Vec<&str> = j.steps.iter().map(|s| s.label.as_str()).collect();
        assert_eq!(labels, ["before_script+script", "after_script"]);
        let run = j.steps[0].run.as_ref().unwrap();
        let c = run
            .script
            .commands
            .iter()
            .find(|c| c.has_arg("publish"))
            .unwrap();
        assert_eq!(&text[run.file_range(c.range.clone())], "npm publish");
    }
}
