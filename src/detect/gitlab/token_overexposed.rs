//! `gitlab-npm-token-overexposed`: an npm token wired into every job of the
//! pipeline — a global `variables:` entry, a template or anchor shared by
//! several jobs, or a `default:` (or template) `before_script` that writes
//! it into `.npmrc` — while only the publishing job uses it. Every other
//! job (tests, linters, pages, their dependencies' install scripts) can
//! read it. GitLab's counterpart of `gha-npm-token-overexposed`; "uses"
//! is the shared notion ([`workflow::step_needs_credential`]), per job.
//!
//! What the file cannot show: a CI/CD variable set in the project's
//! settings reaches every job unless it is scoped to an environment (or
//! protected and the job runs on an unprotected ref), so a token used only
//! in the publishing job's script is not reported.

use super::GitlabCtx;
use super::model::ScriptOrigin;
use crate::detect::tree;
use crate::detect::workflow::{self, EnvVar, Level, package_manager_command};
use crate::detect::{Hit, Sink};
use crate::finding::Severity;
use std::collections::BTreeMap;
use std::ops::Range;

pub const RULE: &str = "gitlab-npm-token-overexposed";

/// Jobs named in a message before "and N more".
const SHOWN_JOBS: usize = 5;

pub fn check(gx: &GitlabCtx, sink: &mut Sink) {
    variables(gx, sink);
    before_scripts(gx, sink);
}

/// One definition of a credential variable and the jobs it reaches.
struct Shared<'a> {
    var: &'a EnvVar,
    file: usize,
    source: String,
    jobs: Vec<usize>,
}

fn variables(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    let mut defs: BTreeMap<(usize, usize, &str), Shared> = BTreeMap::new();
    for (j, job) in p.workflow.jobs.iter().enumerate() {
        for var in &job.env {
            let Some(source) = token_source(gx, var) else {
                continue;
            };
            let file = p.jobs[j].var_files.get(&var.name).copied().unwrap_or(0);
            defs.entry((file, var.key.start, var.name.as_str()))
                .or_insert_with(|| Shared {
                    var,
                    file,
                    source,
                    jobs: Vec::new(),
                })
                .jobs
                .push(j);
        }
    }
    for d in defs.values() {
        let global = d.var.level == Level::Workflow;
        // A job's own variable is as narrow as GitLab's file allows.
        if !global && d.jobs.len() < 2 {
            continue;
        }
        let source_name = variable_name(&d.source);
        let mut names = vec![d.var.name.as_str()];
        names.extend(source_name.as_deref());
        let installs = names.iter().any(|n| config_reads(gx, n));
        let (users, idle): (Vec<usize>, Vec<usize>) = d
            .jobs
            .iter()
            .partition(|&&j| job_uses(gx, j, &names, &d.source, installs));
        if idle.is_empty() {
            continue;
        }
        let scope = if global {
            "global `variables:`".to_string()
        } else {
            format!(
                "variables shared by {} jobs (a template or anchor)",
                d.jobs.len()
            )
        };
        let range = p.at_file(d.file, d.var.key.clone());
        let key = if global {
            format!("global/variables={}", d.var.name)
        } else {
            format!(
                "shared/variables={}/first={}",
                d.var.name, p.workflow.jobs[d.jobs[0]].id
            )
        };
        report(
            gx,
            sink,
            Finding {
                what: format!("{} (from {}) is set in {scope}", d.var.name, d.source),
                range,
                source: &d.source,
                users: &users,
                idle: &idle,
                at: p.where_file(d.file, &d.var.key),
                key,
            },
        );
    }
}

/// A `before_script` shared by several jobs (`default:`, a template, an
/// anchor) that brings the token in: writes it to `.npmrc`, exports it,
/// hands it to `npm config set`.
fn before_scripts(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    let mut sites: BTreeMap<(usize, usize), Vec<usize>> = BTreeMap::new();
    for (j, g) in p.jobs.iter().enumerate() {
        if let Some(s) = g
            .before_script
            .as_ref()
            .filter(|s| s.origin != ScriptOrigin::Own)
        {
            sites.entry((s.file, s.key.start)).or_default().push(j);
        }
    }
    for jobs in sites.values() {
        if jobs.len() < 2 {
            continue;
        }
        let first = jobs[0];
        let Some(site) = p.jobs[first].before_script.clone() else {
            continue;
        };
        let Some((range, source)) = super::job_token_uses(gx, &p.workflow.jobs[first])
            .into_iter()
            .find(|(s, r, _)| in_shared_before_script(gx, first, *s, r))
            .map(|(_, r, src)| (r, src))
        else {
            continue;
        };
        if workflow::read_only_name(source.trim_start_matches('$'))
            || source.contains("CI_JOB_TOKEN")
        {
            continue;
        }
        let source_name = variable_name(&source);
        let names: Vec<&str> = source_name.iter().map(String::as_str).collect();
        let (users, idle): (Vec<usize>, Vec<usize>) = jobs
            .iter()
            .partition(|&&j| job_uses(gx, j, &names, &source, false));
        if idle.is_empty() {
            continue;
        }
        let (scope, key) = match site.origin {
            ScriptOrigin::Default => (
                "the `default:` `before_script`",
                "default/before_script".to_string(),
            ),
            ScriptOrigin::TopLevel => (
                "the top-level `before_script`",
                "default/before_script".to_string(),
            ),
            _ => (
                "a `before_script` shared through a template or anchor",
                format!("shared/before_script/first={}", p.workflow.jobs[first].id),
            ),
        };
        report(
            gx,
            sink,
            Finding {
                what: format!(
                    "{scope} brings the npm token from {source} into every job that inherits it ({} jobs)",
                    jobs.len()
                ),
                range: p.at_file(site.file, range.clone()),
                source: &source,
                users: &users,
                idle: &idle,
                at: p.where_file(site.file, &range),
                key,
            },
        );
    }
}

struct Finding<'a> {
    what: String,
    range: Range<usize>,
    source: &'a str,
    users: &'a [usize],
    idle: &'a [usize],
    at: String,
    key: String,
}

fn report(gx: &GitlabCtx, sink: &mut Sink, f: Finding) {
    let p = gx.p;
    let names = |js: &[usize]| {
        let mut v: Vec<String> = js
            .iter()
            .take(SHOWN_JOBS)
            .map(|&j| p.workflow.jobs[j].id.clone())
            .collect();
        if js.len() > SHOWN_JOBS {
            v.push(format!("{} more", js.len() - SHOWN_JOBS));
        }
        v.join(", ")
    };
    let needed = match f.users.len() {
        0 => "no job uses it: remove it".to_string(),
        1 => format!(
            "only {} uses it: define it in that job only",
            names(f.users)
        ),
        _ => format!(
            "only {} use it: define it in those jobs only",
            names(f.users)
        ),
    };
    // A job running the merge request's code with the token is worse.
    let mr = f
        .idle
        .iter()
        .find(|&&j| p.jobs[j].merge_requests.is_some())
        .map(|&j| p.workflow.jobs[j].id.clone());
    let mr_note = mr
        .as_ref()
        .map(|j| format!("; {j} runs in merge-request pipelines, with the merge request's code"))
        .unwrap_or_default();
    let scope_note = match f.users.iter().find(|&&j| p.jobs[j].environment.is_none()) {
        Some(&j) => format!(
            "; {} declares no `environment:`, so a CI/CD variable cannot be scoped to it",
            p.workflow.jobs[j].id
        ),
        None => String::new(),
    };
    let mut hit = Hit::new(
        RULE,
        f.range,
        format!(
            "{}; {} job(s) that do not use it get it too ({}){mr_note}; {needed}{scope_note}{}",
            f.what,
            f.idle.len(),
            names(f.idle),
            f.at,
        ),
    )
    .with_key(f.key)
    .with_detail("credential", f.source.to_string());
    if mr.is_some() {
        hit = hit.with_severity(Severity::High);
    }
    sink.hit(hit);
}

/// The credential a variable carries (`$NPM_TOKEN`, a literal), unless it
/// is read-only or GitLab's own per-job token.
fn token_source(gx: &GitlabCtx, var: &EnvVar) -> Option<String> {
    let c = gx
        .cx
        .wf
        .credential(&var.name, &var.value.value, gx.cx.opts)
        .filter(|c| !c.read_only && !c.job_token)?;
    // `NPM_TOKEN: $NPM_READ_TOKEN` carries a read-only token whatever the
    // variable is called.
    if c.source.contains("CI_JOB_TOKEN")
        || var.name.starts_with("CI_")
        || variable_name(&c.source).is_some_and(|n| workflow::read_only_name(&n))
    {
        return None;
    }
    Some(c.source)
}

/// `NPM_TOKEN` of `$NPM_TOKEN` / `${NPM_TOKEN}`.
fn variable_name(source: &str) -> Option<String> {
    let s = source.trim().strip_prefix('$')?;
    let s = s.strip_prefix('{').map_or(s, |s| s.trim_end_matches('}'));
    (!s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .then(|| s.to_string())
}

/// Does a package manager read `name` by itself: from the environment
/// (`npm_config_*`, `YARN_NPM_AUTH_TOKEN`), or because the project's
/// `.npmrc`, `.yarnrc.yml` or `bunfig.toml` names it (`${NPM_TOKEN}`)?
/// Without the tree (standard input) only the pipeline is known: a
/// package manager is then taken to read what the pipeline gives it.
fn config_reads(gx: &GitlabCtx, name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    if l.starts_with("npm_config_") || l == "yarn_npm_auth_token" {
        return true;
    }
    let Some(view) = gx.cx.item.tree else {
        return false;
    };
    let dir = tree::parent(view.path);
    [".npmrc", ".yarnrc.yml", ".yarnrc", "bunfig.toml"]
        .iter()
        .filter_map(|f| tree::join(dir, f).and_then(|p| view.files.read(&p)))
        .any(|b| {
            let t = String::from_utf8_lossy(&b);
            t.contains(&format!("${{{name}}}"))
                || t.contains(&format!("${{{name}?}}"))
                || t.contains(&format!("${{{name}:-"))
        })
}

/// Is a use at `range` of job `j`'s step `step` inside a `before_script`
/// the job inherits (not its own lines)?
fn in_shared_before_script(gx: &GitlabCtx, j: usize, step: usize, range: &Range<usize>) -> bool {
    let Some(site) = gx.p.jobs[j]
        .before_script
        .as_ref()
        .filter(|s| s.origin != ScriptOrigin::Own)
    else {
        return false;
    };
    gx.p.workflow.jobs[j].steps[step]
        .label
        .starts_with("before_script")
        && site.lines.start <= range.start
        && range.start < site.lines.end
}

/// Does job `j` use the token: it publishes or changes registry state, its
/// own lines (not an inherited `before_script`) reference one of `names`
/// or expand the credential, or — when a config file names the variable
/// (`installs`) — it runs a package manager.
fn job_uses(gx: &GitlabCtx, j: usize, names: &[&str], source: &str, installs: bool) -> bool {
    let job = &gx.p.workflow.jobs[j];
    if job
        .steps
        .iter()
        .any(|s| workflow::step_needs_credential(s, &[], false))
    {
        return true;
    }
    for step in &job.steps {
        for c in step.commands() {
            // Installing authenticates with what a config file names,
            // wherever the install runs; a reference in an inherited
            // `before_script` is the wiring being judged, not a use.
            if installs && package_manager_command(c) {
                return true;
            }
            let r = step.file_range(c.range.clone());
            if !in_shared_before_script(gx, j, step.index, &r)
                && c.words()
                    .any(|w| w.vars.iter().any(|v| names.contains(&v.name.as_str())))
            {
                return true;
            }
        }
    }
    super::job_token_uses(gx, job)
        .into_iter()
        .any(|(s, r, src)| {
            !in_shared_before_script(gx, j, s, &r)
                && (src == source
                    || variable_name(&src).is_some_and(|n| names.contains(&n.as_str())))
        })
}
