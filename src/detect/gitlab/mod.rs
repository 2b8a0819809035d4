//! GitLab CI analysis: `.gitlab-ci.yml` at the root of the tree and the
//! local files it includes, read as a [`model::Pipeline`] whose jobs have
//! the shared workflow shape — so publishing through package scripts and
//! release tools, credentials followed through the shell and token writes
//! come from the GitHub Actions analysis ([`crate::detect::workflow`]).
//! Each rule lives in its own module; [`CHECKS`] lists them.
//!
//! Literal credentials in the pipeline are the generic detectors' (token
//! shapes, `npm-credential-assignment`, `npmrc-literal-auth-token` read
//! `.gitlab-ci.yml` line by line), so no GitLab rule reports them again.

pub mod model;

mod long_lived_publish_token;
mod long_lived_stage_token;
mod oidc_broken;
mod publish_paths;
mod token_in_mr_pipeline;
mod token_overexposed;
mod token_printed;

use super::workflow::{self, Ctx, Job, Publish, Step, private_registry, real_publishes};
use super::{DetectOptions, Item, Sink};
use model::Pipeline;

/// Is this path the pipeline GitLab runs: `.gitlab-ci.yml` at the root of
/// the tree (a copy deeper down is searched for literals only).
pub fn is_pipeline(tree_path: &str) -> bool {
    tree_path.trim_start_matches("./") == ".gitlab-ci.yml"
}

/// What every GitLab rule gets: the shared context and the pipeline.
pub struct GitlabCtx<'a> {
    pub cx: Ctx<'a>,
    pub p: &'a Pipeline,
}

/// Every GitLab rule, one module each.
const CHECKS: &[fn(&GitlabCtx, &mut Sink)] = &[
    token_printed::check,
    long_lived_publish_token::check,
    long_lived_stage_token::check,
    oidc_broken::check,
    token_in_mr_pipeline::check,
    token_overexposed::check,
    // Not a rule: publish paths for the readiness summary.
    publish_paths::collect,
];

/// Entry point registered in [`super::DETECTORS`] (for `Script` files;
/// only the root `.gitlab-ci.yml` is a pipeline).
pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    if !is_pipeline(item.tree_path()) {
        return;
    }
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        return;
    };
    let p = match Pipeline::parse(item.tree_path(), text, item.tree) {
        Ok(p) => p,
        Err(e) => {
            sink.warn(
                item.path,
                format!("{e}; GitLab CI pipeline not analysed (literal credentials were still searched line by line)"),
            );
            return;
        }
    };
    for (what, _) in &p.not_followed {
        sink.warn(
            item.path,
            format!("include {what} not followed: jobs it defines are not analysed"),
        );
    }
    // ID tokens are short-lived OIDC tokens, not npm credentials, whatever
    // their names say (`NPM_ID_TOKEN`).
    let mut opts = opts.clone();
    for j in &p.jobs {
        for t in &j.id_tokens {
            opts.extra_credential_names.push(format!("!{}", t.name));
        }
    }
    let gx = GitlabCtx {
        cx: Ctx {
            item,
            text,
            wf: &p.workflow,
            opts: &opts,
        },
        p: &p,
    };
    let first = sink.hits.len();
    for check in CHECKS {
        check(&gx, sink);
    }
    workflow::dedupe_keys(sink, first);
}

/// Each publish that really publishes, with its job index, job and step.
pub fn publishes(p: &Pipeline) -> Vec<(usize, &Job, &Step, Publish)> {
    let mut out = Vec::new();
    for (j, job) in p.workflow.jobs.iter().enumerate() {
        for step in &job.steps {
            for publish in real_publishes(step) {
                out.push((j, job, step, publish));
            }
        }
    }
    out
}

/// The registry a publish goes to when it is not npmjs.com: the shared
/// checks (`--registry`, `NPM_CONFIG_REGISTRY`), or the GitLab package
/// registry that the job's scripts configure.
pub fn other_registry(p: &Pipeline, job: &Job, step: &Step, publish: &Publish) -> Option<String> {
    if let Some(r) = private_registry(&p.workflow, job, step.index, publish) {
        return Some(r);
    }
    let gitlab = job.steps.iter().any(|s| {
        s.run.as_ref().is_some_and(|r| {
            r.body.contains("CI_API_V4_URL")
                || r.body.contains("/packages/npm")
                || r.body.contains("CI_SERVER_HOST")
        })
    });
    gitlab.then(|| "the GitLab package registry".to_string())
}

/// Stable finding identity: job, script line label and a detail.
pub fn key(job: &Job, step: Option<&Step>, what: &str) -> String {
    workflow::key(job, step, what)
}

/// The npm credential a publish authenticates with: the shared answer (a
/// credential variable in scope, an `.npmrc` written with one), else a
/// credential variable the job's scripts expand before the publish
/// (`export NODE_AUTH_TOKEN=$NPM_TOKEN`).
pub fn publish_token(
    gx: &GitlabCtx,
    job: &Job,
    step: &Step,
    publish: &Publish,
) -> Option<workflow::PublishAuth> {
    if let Some(mut a) = workflow::publish_auth(&gx.cx, job, step, publish) {
        // Told in GitLab's words.
        a.what = a
            .what
            .replace("in workflow-level env", "in global variables")
            .replace("in job-level env", "in job variables")
            .replace(" written in step ", " written in ");
        return Some(a);
    }
    job_token_uses(gx, job)
        .into_iter()
        .find(|(s, r, _)| *s < step.index || (*s == step.index && r.start < publish.range.start))
        .map(|(s, range, source)| workflow::PublishAuth {
            what: format!(
                "${} expanded in {}",
                source.trim_start_matches('$'),
                job.steps[s].label
            ),
            source,
            range,
        })
}

/// Every expansion of an npm credential in a job's scripts: `(step, file
/// range, source)`, in order (shared with CircleCI).
pub fn job_token_uses(gx: &GitlabCtx, job: &Job) -> Vec<(usize, std::ops::Range<usize>, String)> {
    crate::detect::ci_pipeline::script_token_uses(&gx.cx, job)
}
