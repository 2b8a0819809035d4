//! GitHub Actions analysis: where an npm credential enters a workflow (or a
//! composite action), which steps see it, what they do with it, and whether
//! the job could publish with OIDC trusted publishing instead.
//!
//! Shared pieces: the model ([`model`]: workflow → jobs → steps, `env` at
//! each level, effective permissions, runner, `uses` + `with`, `run:`
//! parsed as shell by [`shell`]), what counts as a credential
//! ([`credentials`]), what publishes ([`publish`]) and which files receive a
//! token ([`writes`]). Each rule lives in its own module and names its rule
//! id; [`CHECKS`] lists them.

pub mod shell;

mod credential_use;
mod credentials;
pub mod expr;
mod gates;
pub(crate) mod indirect;
mod model;
mod publish;
mod writes;

mod docker_build_arg;
mod long_lived_publish_token;
mod long_lived_stage_token;
mod oidc_no_registry_url;
pub(crate) mod oidc_npm_too_old;
mod oidc_reusable_workflow;
mod oidc_self_hosted;
mod provenance_no_id_token;
mod publish_broad_permissions;
mod publish_paths;
mod secret_in_run;
pub(crate) mod secret_printed;
mod secrets_inherit;
mod token_in_install_job;
mod token_overexposed;
mod token_persisted;
mod token_untrusted_trigger;
mod token_with_oidc;

pub use credential_use::*;
pub use credentials::*;
pub use model::*;
pub use publish::*;
pub use writes::*;

use super::{DetectOptions, FileKind, Item, Sink, yaml};
use marked_yaml::Node;
use publish::publish_action;

/// The end of the warning for a workflow file the CI rules could not read.
/// Such a file is a gap in a CI gate, so it is shown even with `--quiet`
/// and annotated in `--format github` (JSON and SARIF always list warnings).
/// Literal credentials in it are still looked for line by line.
pub const NOT_ANALYSED: &str =
    "workflow not analysed (literal credentials were still searched line by line)";

/// Is this warning about a workflow file that could not be analysed?
pub fn not_analysed(warning: &str) -> bool {
    warning.ends_with(NOT_ANALYSED)
}

/// Entry point registered in [`super::DETECTORS`].
pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        sink.warn(item.path, format!("not valid UTF-8; {NOT_ANALYSED}"));
        return;
    };
    let root = match yaml::parse_all(text) {
        Ok(mut docs) if docs.len() > 1 => {
            // GitHub reads one document per workflow file.
            sink.warn(
                item.path,
                format!(
                    "{} YAML documents; only the first is analysed as a workflow",
                    docs.len()
                ),
            );
            docs.swap_remove(0)
        }
        Ok(mut docs) if docs.len() == 1 => docs.swap_remove(0),
        Ok(_) => return,
        Err(e) => {
            sink.warn(item.path, format!("{e}; {NOT_ANALYSED}"));
            return;
        }
    };
    let is_action = FileKind::of(item.path) == FileKind::Action;
    let Some(map) = root.as_mapping() else {
        if !matches!(&root, Node::Scalar(s) if s.as_str().trim().is_empty()) {
            sink.warn(
                item.path,
                format!("top level is not a mapping; {NOT_ANALYSED}"),
            );
        }
        return;
    };
    let mut wf = Workflow::parse(&Src::new(text), map, is_action);
    warn_unanalysed_scripts(item, text, &wf, sink);
    if let Some(view) = item.tree {
        indirect::resolve(&mut wf, view);
    }
    let cx = Ctx {
        item,
        text,
        wf: &wf,
        opts,
    };
    let first = sink.hits.len();
    for check in CHECKS {
        check(&cx, sink);
    }
    dedupe_keys(sink, first);
}

/// A `run:` body too large or too costly to analyse as shell gets the
/// file-wide literal-credential checks only; say so, with its line.
fn warn_unanalysed_scripts(item: &Item, text: &str, wf: &Workflow, sink: &mut Sink) {
    let lines = crate::detect::lines::LineIndex::new(text.as_bytes());
    for job in &wf.jobs {
        for step in &job.steps {
            if let Some(why) = step
                .run
                .as_ref()
                .and_then(|r| r.script.not_analysed.as_ref())
            {
                let (line, _) = lines.position(step.range.start);
                sink.warn(
                    item.path,
                    format!("line {line}: run: body not analysed as shell ({why}); checked for literal credentials only"),
                );
            }
        }
    }
}

/// One finding per rule and identity: a command repeated in a step is one
/// problem, and fingerprints must stay unique.
pub(crate) fn dedupe_keys(sink: &mut Sink, first: usize) {
    let mut seen = std::collections::BTreeSet::new();
    let mut index = 0;
    // One pass (`Vec::remove` per duplicate was quadratic: a Dockerfile of
    // repeated `ARG NPM_TOKEN=` lines).
    sink.hits.retain(|h| {
        index += 1;
        index <= first
            || h.secret.is_some()
            || h.key
                .as_ref()
                .is_none_or(|k| seen.insert((h.rule_id, k.clone())))
    });
}

/// Every workflow rule, one module each.
const CHECKS: &[fn(&Ctx, &mut Sink)] = &[
    secret_printed::check,
    secret_in_run::check,
    token_overexposed::check,
    token_persisted::check,
    long_lived_publish_token::check,
    long_lived_stage_token::check,
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
    // Not a rule: publish paths for the readiness summary.
    publish_paths::collect,
];

/// What every rule gets.
pub struct Ctx<'a> {
    pub item: &'a Item<'a>,
    pub text: &'a str,
    pub wf: &'a Workflow,
    pub opts: &'a DetectOptions,
}

// Helpers for keys and messages

/// Stable finding identity: job, step label and a detail (never a line).
pub fn key(job: &Job, step: Option<&Step>, what: &str) -> String {
    match step {
        Some(s) => format!("job={}/step={}/{what}", job.id, s.label),
        None => format!("job={}/{what}", job.id),
    }
}

/// The one notion of "uses the credential" the over-exposure rules share
/// (GitHub per step, GitLab per job): the step publishes or changes
/// registry state (directly, through an action, a package script or a
/// release tool), or references one of `names`. `installs` says whether
/// any package-manager command counts too: GitHub's step-level `env:` is
/// read by the step's npm through setup-node's `.npmrc`; a GitLab job's
/// npm reads a variable only when a config file names it.
pub fn step_needs_credential(step: &Step, names: &[&str], installs: bool) -> bool {
    // A publish reached through a script reads the token as any publish does.
    if publish_action(step).is_some()
        || !step.indirect.is_empty()
        || step.unfollowed.is_some()
        || !real_publishes(step).is_empty()
    {
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
        (installs && package_manager_command(c))
            || publish::write_command(c)
            || c.words()
                .any(|w| w.vars.iter().any(|v| names.contains(&v.name.as_str())))
    })
}

/// A package manager, release tool or Node itself: reads npm's config (and
/// so any token a config file names) when it runs.
pub fn package_manager_command(c: &shell::Command) -> bool {
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
    )
}

/// Does a step need an npm credential: it references one of `names`, runs
/// a package manager, or is an action known to publish with one?
pub fn step_consumes(step: &Step, names: &[&str]) -> bool {
    // A publish, a registry write or a reference needs it anyway.
    if step_needs_credential(step, names, false) {
        return true;
    }
    step.commands().iter().any(|c| {
        package_manager_command(c)
            || c.words()
                .any(|w| w.vars.iter().any(|v| names.contains(&v.name.as_str())))
    })
}

/// For `npmsweep fix`: the model of the workflow in `text` (no tree, so no
/// publish found through a repository script), `None` when it is not a
/// workflow mapping.
pub fn model(text: &str) -> Option<Workflow> {
    let root = yaml::parse(text).ok()?;
    Some(Workflow::parse(&Src::new(text), root.as_mapping()?, false))
}

/// For `npmsweep fix`: every step of the workflow in `text` that reads the
/// environment variable `name` (as [`step_consumes`] decides, without the
/// tree: a release script counts as reading it), as (job id, offset of the
/// step's mapping). Empty when the text is not a workflow.
pub fn consuming_steps(text: &str, name: &str) -> Vec<(String, usize)> {
    let Some(wf) = model(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for job in &wf.jobs {
        for step in &job.steps {
            if step_consumes(step, &[name]) {
                out.push((job.id.clone(), step.range.start));
            }
        }
    }
    out
}
