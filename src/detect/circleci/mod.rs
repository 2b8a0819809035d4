//! CircleCI analysis: `.circleci/config.yml` at the root of the tree, read
//! as a [`model::Config`] whose jobs have the shared workflow shape — so
//! publishing through package scripts and release tools, credentials
//! followed through the shell and token writes come from the GitHub Actions
//! analysis ([`crate::detect::workflow`]), and what GitLab CI and CircleCI
//! share (script token uses, kept paths, Node images) from
//! [`crate::detect::ci_pipeline`]. Each rule lives in its own module;
//! [`CHECKS`] lists them.
//!
//! Literal credentials in the config are the generic detectors' (token
//! shapes, `npm-credential-assignment`, `npmrc-literal-auth-token` read
//! `.circleci/*.yml` line by line), so no CircleCI rule reports them again.
//!
//! What the file cannot show: project environment variables and contexts'
//! contents (only their names reach the config), the project settings
//! (*Build forked pull requests*, *Pass secrets to builds from forked pull
//! requests*), what orbs do (named, never fetched) and the config a
//! `setup: true` workflow continues with.

pub mod model;

mod long_lived_publish_token;
mod long_lived_stage_token;
mod oidc_broken;
mod publish_paths;
mod token_in_pr_build;
mod token_printed;

use super::ci_pipeline;
use super::workflow::{self, Ctx, Job, Publish, Step, private_registry, real_publishes};
use super::{DetectOptions, Item, Sink};
use model::Config;

/// Is this path the config CircleCI runs: `.circleci/config.yml` at the
/// root of the tree (other files under `.circleci/` are searched for
/// literals only).
pub fn is_config(tree_path: &str) -> bool {
    matches!(
        tree_path.trim_start_matches("./"),
        ".circleci/config.yml" | ".circleci/config.yaml"
    )
}

/// What every CircleCI rule gets: the shared context and the config.
pub struct CircleCtx<'a> {
    pub cx: Ctx<'a>,
    pub c: &'a Config,
}

/// Every CircleCI rule, one module each.
const CHECKS: &[fn(&CircleCtx, &mut Sink)] = &[
    token_printed::check,
    long_lived_publish_token::check,
    long_lived_stage_token::check,
    oidc_broken::check,
    token_in_pr_build::check,
    // Not a rule: publish paths for the readiness summary.
    publish_paths::collect,
];

/// Entry point registered in [`super::DETECTORS`] (for `Script` files;
/// only the root `.circleci/config.yml` is a config).
pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    if !is_config(item.tree_path()) {
        return;
    }
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        return;
    };
    let c = match Config::parse(text, item.tree) {
        Ok(c) => c,
        Err(e) => {
            sink.warn(
                item.path,
                format!("{e}; CircleCI config not analysed (literal credentials were still searched line by line)"),
            );
            return;
        }
    };
    if c.setup.is_some() {
        sink.warn(
            item.path,
            "`setup: true` (dynamic configuration): the config this set-up workflow continues with is generated at run time and not analysed",
        );
    }
    let mut orb_jobs: Vec<&str> = Vec::new();
    for (j, _) in &c.orb_jobs {
        if !orb_jobs.contains(&j.as_str()) {
            orb_jobs.push(j);
        }
    }
    if !orb_jobs.is_empty() {
        sink.warn(
            item.path,
            format!(
                "orb jobs {} not analysed (orbs are named, not fetched)",
                orb_jobs.join(", ")
            ),
        );
    }
    // Orb commands whose names say they publish: the publish is the orb's.
    let mut orb_publishes: Vec<String> = Vec::new();
    for (job, cj) in c.workflow.jobs.iter().zip(&c.jobs) {
        for (_, cmd) in &cj.orb_steps {
            let name = cmd.rsplit('/').next().unwrap_or(cmd);
            let shown = format!("{cmd} (job {})", job.id);
            if (name.contains("publish") || name.contains("release"))
                && !orb_publishes.contains(&shown)
            {
                orb_publishes.push(shown);
            }
        }
    }
    if !orb_publishes.is_empty() {
        sink.warn(
            item.path,
            format!(
                "orb commands {} look like publishes and are not analysed (orbs are named, not fetched)",
                orb_publishes.join(", ")
            ),
        );
    }
    for (job, cj) in c.workflow.jobs.iter().zip(&c.jobs) {
        if cj.truncated {
            sink.warn(
                item.path,
                format!(
                    "job {}: reusable commands expand to too many steps; those past the first {} are not analysed",
                    job.id,
                    job.steps.len()
                ),
            );
        }
    }
    // CircleCI takes `environment:` values literally: `NODE_AUTH_TOKEN:
    // $NPM_TOKEN` sets the text `$NPM_TOKEN`, and npm sends that as the
    // token. Analysed as the reference it was meant to be, and said.
    let lines = crate::detect::lines::LineIndex::new(item.bytes);
    let mut said = std::collections::BTreeSet::new();
    for job in &c.workflow.jobs {
        let levels = job.steps.iter().flat_map(|s| s.env.iter()).chain(&job.env);
        for e in levels {
            let v = e.value.value.trim();
            if v.contains('$')
                && super::envassign::is_credential_name(&e.name, &opts.extra_credential_names)
                && said.insert(e.key.start)
            {
                let (line, _) = lines.position(e.key.start);
                sink.warn(
                    item.path,
                    format!(
                        "line {line}: CircleCI does not expand variables in `environment:` values, so {} is set to the text `{v}`, not to that variable's value: read the project or context variable directly, or export it in the `run` step",
                        e.name
                    ),
                );
            }
        }
    }
    // OIDC tokens are short-lived, not npm credentials, whatever their
    // names say (`NPM_ID_TOKEN`).
    let mut opts = opts.clone();
    for j in &c.jobs {
        for r in &j.oidc {
            if let Some(v) = &r.var {
                opts.extra_credential_names.push(format!("!{v}"));
            }
        }
    }
    opts.extra_credential_names.push("!NPM_ID_TOKEN".into());
    let ccx = CircleCtx {
        cx: Ctx {
            item,
            text,
            wf: &c.workflow,
            opts: &opts,
        },
        c: &c,
    };
    let first = sink.hits.len();
    for check in CHECKS {
        check(&ccx, sink);
    }
    workflow::dedupe_keys(sink, first);
}

/// Each publish that really publishes, with its job index, job and step.
pub fn publishes(c: &Config) -> Vec<(usize, &Job, &Step, Publish)> {
    let mut out = Vec::new();
    for (j, job) in c.workflow.jobs.iter().enumerate() {
        for step in &job.steps {
            for publish in real_publishes(step) {
                out.push((j, job, step, publish));
            }
        }
    }
    out
}

/// The registry a publish goes to when it is not npmjs.com (`--registry`,
/// `NPM_CONFIG_REGISTRY` in the environment).
pub fn other_registry(c: &Config, job: &Job, step: &Step, publish: &Publish) -> Option<String> {
    private_registry(&c.workflow, job, step.index, publish)
}

/// Stable finding identity: job, step label and a detail.
pub fn key(job: &Job, step: Option<&Step>, what: &str) -> String {
    workflow::key(job, step, what)
}

/// The npm credential a publish authenticates with: the shared answer (a
/// credential in `environment:`, an `.npmrc` written with one), else a
/// credential variable (project setting or context) the job's scripts
/// expand before the publish.
pub fn publish_token(
    ccx: &CircleCtx,
    job: &Job,
    step: &Step,
    publish: &Publish,
) -> Option<workflow::PublishAuth> {
    if let Some(mut a) = workflow::publish_auth(&ccx.cx, job, step, publish) {
        a.what = a
            .what
            .replace("in job-level env", "in the job's environment")
            .replace("in step-level env", "in the step's environment");
        return Some(a);
    }
    ci_pipeline::script_publish_token(&ccx.cx, job, step, publish)
}

/// Where a job's variables come from, for messages: "project environment
/// variables or contexts npm-publish, release".
pub fn token_origin(c: &Config, j: usize) -> String {
    let mut contexts: Vec<&str> = c.jobs[j]
        .invocations
        .iter()
        .flat_map(|i| i.contexts.iter().map(String::as_str))
        .collect();
    contexts.sort_unstable();
    contexts.dedup();
    if contexts.is_empty() {
        "a project environment variable".into()
    } else {
        format!(
            "a project environment variable or context {}",
            contexts.join(", ")
        )
    }
}
