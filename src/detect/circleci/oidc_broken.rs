//! `circleci-npm-oidc-broken`: a publishing job set up (or half set up) for
//! npm trusted publishing that cannot work. npm reads the OIDC token on
//! CircleCI only from `NPM_ID_TOKEN` (it requests none itself, unlike on
//! GitHub Actions), so the job must put one there, with the audience
//! `npm:registry.npmjs.org`, where `npm publish` runs:
//!
//! - the token has another audience: CircleCI's default tokens
//!   (`$CIRCLE_OIDC_TOKEN`, `$CIRCLE_OIDC_TOKEN_V2`) carry the organization
//!   ID, or `--claims` names another `aud`; or the npm audience lands in
//!   another variable;
//! - the token does not reach the publish: a shell variable never exported,
//!   or exported in an earlier `run` step (each step is a new shell; only
//!   `$BASH_ENV` carries over);
//! - the job runs on a self-hosted runner (a `<namespace>/<name>` resource
//!   class): npm accepts CircleCI tokens from CircleCI cloud only;
//! - the image's Node bundles npm older than 11.5.1 and the job never
//!   upgrades npm (npm's own example uses `cimg/node:22.14`, whose npm 10
//!   never reads `NPM_ID_TOKEN`), or the Node is older than 22.14.0, which
//!   trusted publishing needs whatever the npm;
//! - a token is still in reach: npm falls back to it silently, hiding a
//!   broken trusted publisher until the token stops working;
//! - `--provenance`: npm generates provenance on GitHub Actions and GitLab
//!   only, so the publish fails on CircleCI.

use super::model::{CircleJob, Reach};
use super::{CircleCtx, key, other_registry, publish_token, publishes};
use crate::detect::ci_pipeline::image_node;
use crate::detect::workflow::oidc_npm_too_old::{node_version, npm_upgraded_in, too_old};
use crate::detect::workflow::{Job, Publish, Step};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "circleci-npm-oidc-broken";

/// The Node version the job runs before `step`: an orb's Node install step
/// (`node/install: node-version:`), else the primary image (or the tag of
/// an orb executor such as `node/default`).
fn job_node(cj: &CircleJob, step: usize) -> Option<(String, (u32, Option<u32>))> {
    if let Some((_, v)) = cj.node_installs.iter().rev().find(|(s, _)| *s < step) {
        return node_version(v).map(|n| (format!("node/install {v}"), n));
    }
    if let Some(image) = &cj.executor.image
        && let Some(n) = image_node(image)
    {
        return Some((format!("image {image}"), n));
    }
    let tag = cj.executor.orb_tag.as_ref()?;
    if cj.executor.kind.starts_with("node/") {
        return node_version(tag).map(|n| (format!("{} tag {tag}", cj.executor.kind), n));
    }
    None
}

/// Why the npm OIDC token does not reach the publish, if it does not.
fn missing_token(cj: &CircleJob, step: &Step, publish: &Publish) -> Option<String> {
    let reaching: Vec<_> = cj
        .id_tokens_reaching(step.index, publish.range.start)
        .collect();
    if reaching.iter().any(|r| r.npm_audience()) {
        return None;
    }
    if let Some(r) = reaching.first() {
        return Some(match &r.audience {
            None => "sets `NPM_ID_TOKEN` to a CircleCI OIDC token with the default audience (the organization ID), but npm's registry accepts only `npm:registry.npmjs.org`: request one with `circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.org\"}'`".to_string(),
            Some(aud) => format!(
                "sets `NPM_ID_TOKEN` to a CircleCI OIDC token with the audience `{aud}`, but npm's registry accepts only `npm:registry.npmjs.org`"
            ),
        });
    }
    let npm_ones: Vec<_> = cj
        .oidc
        .iter()
        .filter(|r| r.npm_audience() || r.var.as_deref() == Some("NPM_ID_TOKEN"))
        .collect();
    if let Some(r) = npm_ones
        .iter()
        .find(|r| r.var.as_deref().is_some_and(|v| v != "NPM_ID_TOKEN"))
    {
        return Some(format!(
            "requests an OIDC token with npm's audience into `{}`, but npm reads it only from `NPM_ID_TOKEN`",
            r.var.as_deref().unwrap_or_default()
        ));
    }
    let r = npm_ones.first()?;
    Some(match r.reach {
        Reach::Shell if r.var.is_some() => {
            "assigns `NPM_ID_TOKEN` without exporting it, so npm (a child process) never sees it: `export NPM_ID_TOKEN=$(circleci run oidc get …)`".to_string()
        }
        Reach::Shell => {
            "requests an OIDC token with npm's audience but puts it in no variable npm reads: `export NPM_ID_TOKEN=$(circleci run oidc get …)`".to_string()
        }
        Reach::Step if r.step < step.index => {
            "exports `NPM_ID_TOKEN` in an earlier `run` step, but each `run` step is a new shell: request it in the publishing step, or append the export to `$BASH_ENV`".to_string()
        }
        Reach::Command(_) => "sets `NPM_ID_TOKEN` for another command only".to_string(),
        _ => "sets `NPM_ID_TOKEN` only after the publish".to_string(),
    })
}

fn report_all(
    ccx: &CircleCtx,
    j: usize,
    job: &Job,
    step: &Step,
    publish: &Publish,
    out: &mut Vec<(&'static str, String)>,
) {
    let c = ccx.c;
    let cj = &c.jobs[j];
    let policy = Policy::global();
    let token = publish_token(ccx, job, step, publish);
    let shown = publish.shown();
    if let Some(why) = missing_token(cj, step, publish) {
        let fallback = match &token {
            Some(t) => format!(
                " (npm falls back to the long-lived token from {})",
                t.source
            ),
            None => " and no token is in reach: the publish has no credential".to_string(),
        };
        out.push((
            "id-token",
            format!(
                "{shown} in job {} cannot use trusted publishing: the job {why}{fallback}",
                job.id
            ),
        ));
        return;
    }
    if let Some(rc) = cj.executor.runner() {
        out.push((
            "self-hosted",
            format!(
                "{shown} in job {} uses trusted publishing on the self-hosted runner resource class {rc}: npm accepts CircleCI OIDC tokens from CircleCI cloud only, so the exchange fails{}",
                job.id,
                if token.is_some() { " and npm falls back to the token" } else { "" }
            ),
        ));
    }
    if publish.tool.runs_system_npm()
        && let Some((what, (major, minor))) = job_node(cj, step.index)
    {
        let upgraded = npm_upgraded_in(&job.steps, step, publish.range.start);
        if too_old(major, minor) && !upgraded {
            out.push((
                "npm-too-old",
                format!(
                    "{shown} in job {} uses trusted publishing, but {what} bundles npm older than {} and the job does not upgrade it (`npm install -g npm@^{}`): that npm never reads `NPM_ID_TOKEN`",
                    job.id,
                    policy.value("npm_oidc_version"),
                    policy.value("npm_stage_version"),
                ),
            ));
        } else if major < 22 || (major == 22 && minor.is_some_and(|m| m < 14)) {
            out.push((
                "node-too-old",
                format!(
                    "{shown} in job {} uses trusted publishing on {what}, older than the Node {} trusted publishing needs (upgrading npm alone does not do)",
                    job.id,
                    policy.value("node_oidc_version"),
                ),
            ));
        }
    }
    if let Some(t) = &token {
        out.push((
            "token-fallback",
            format!(
                "{shown} in job {} has the npm OIDC token and a long-lived token ({}, from {}): npm falls back to the token when the OIDC exchange fails, which hides a broken trusted publisher until the token stops publishing ({})",
                job.id,
                t.what,
                t.source,
                policy.value("bypass_2fa_publish_end"),
            ),
        ));
    }
    if publish.provenance {
        out.push((
            "provenance",
            format!(
                "{shown} in job {} asks for provenance, which npm does not generate on CircleCI: the publish fails (drop `--provenance`; CircleCI trusted publishing publishes without provenance)",
                job.id
            ),
        ));
    }
}

pub fn check(ccx: &CircleCtx, sink: &mut Sink) {
    let c = ccx.c;
    for (j, job, step, publish) in publishes(c) {
        if !c.jobs[j].wants_oidc() || other_registry(c, job, step, &publish).is_some() {
            continue;
        }
        let mut problems = Vec::new();
        report_all(ccx, j, job, step, &publish, &mut problems);
        for (what, message) in problems {
            sink.hit(
                Hit::new(RULE, publish.range.clone(), message)
                    .with_key(key(job, Some(step), &format!("oidc={what}")))
                    .with_detail("problem", what)
                    .with_publish_via(&publish),
            );
        }
    }
}
