//! `gitlab-npm-oidc-broken`: a publishing job set up (or half set up) for
//! npm trusted publishing that cannot work:
//!
//! - the npm audience requested under another name than `NPM_ID_TOKEN`,
//!   or `NPM_ID_TOKEN` with another audience (npm reads only that
//!   variable, and the registry checks the audience);
//! - the runner is self-managed (tags other than GitLab.com's `saas-*`):
//!   npm accepts GitLab ID tokens from GitLab.com hosted runners only;
//! - the image's Node bundles npm older than 11.5.1 and the job never
//!   upgrades npm;
//! - a token is still in reach next to the ID token: npm falls back to it
//!   silently, so the job keeps depending on the token and a broken trusted
//!   publisher goes unnoticed until the token stops working;
//! - `--provenance` without a `SIGSTORE_ID_TOKEN` (audience `sigstore`),
//!   which npm requires on GitLab.

use super::{GitlabCtx, key, other_registry, publish_token, publishes};
use crate::detect::workflow::oidc_npm_too_old::{npm_upgraded_in, too_old};
use crate::detect::{Hit, Sink};
use crate::rules::Policy;

pub const RULE: &str = "gitlab-npm-oidc-broken";

pub use crate::detect::ci_pipeline::image_node;

pub fn check(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    let policy = Policy::global();
    for (j, job, step, publish) in publishes(p) {
        let gl = &p.jobs[j];
        if gl.id_tokens.is_empty() || other_registry(p, job, step, &publish).is_some() {
            continue;
        }
        let here = p.at(j, publish.range.clone());
        let whr = p.where_(j, &publish.range);
        let mut report = |what: &str, message: String| {
            sink.hit(
                Hit::new(RULE, here.clone(), format!("{message}{whr}"))
                    .with_key(key(job, Some(step), &format!("oidc={what}")))
                    .with_detail("problem", what)
                    .with_publish_via(&publish),
            );
        };
        let token = publish_token(gx, job, step, &publish);
        let Some(_) = gl.npm_id_token() else {
            let near = gl.id_tokens.iter().find(|t| {
                t.name == "NPM_ID_TOKEN"
                    || t.audiences.iter().any(|a| super::model::is_npm_audience(a))
            });
            let why = match near {
                Some(t) if t.name != "NPM_ID_TOKEN" => format!(
                    "requests the npm audience as `{}`, but npm reads the ID token only from `NPM_ID_TOKEN`",
                    t.name
                ),
                Some(t) => format!(
                    "requests `NPM_ID_TOKEN` with audience {}, but npm's registry accepts only `npm:registry.npmjs.org`",
                    if t.audiences.is_empty() {
                        "(none)".to_string()
                    } else {
                        t.audiences.join(", ")
                    }
                ),
                // ID tokens for something else (`SIGSTORE_ID_TOKEN` for a
                // token publish's provenance, Vault, a cloud): nothing says
                // trusted publishing is meant, and the token may be a CI/CD
                // variable the file does not show.
                None => continue,
            };
            report(
                "audience",
                format!(
                    "{} in job {} cannot use trusted publishing: the job {why}",
                    publish.shown(),
                    job.id
                ),
            );
            continue;
        };
        let tags = gl.self_managed_tags();
        if !tags.is_empty() {
            report(
                "self-managed",
                format!(
                    "{} in job {} uses trusted publishing on runners tagged {}: npm accepts GitLab ID tokens from GitLab.com hosted runners only, so the exchange fails{}",
                    publish.shown(),
                    job.id,
                    tags.join(", "),
                    if token.is_some() {
                        " and npm falls back to the token"
                    } else {
                        ""
                    }
                ),
            );
        }
        if publish.tool.runs_system_npm()
            && let Some(image) = &gl.image
            && let Some((major, minor)) = image_node(image)
            && too_old(major, minor)
            && !npm_upgraded_in(&job.steps, step, publish.range.start)
        {
            report(
                "npm-too-old",
                format!(
                    "{} in job {} uses trusted publishing, but image {image} bundles npm older than {} and the job does not upgrade it (`npm install -g npm@^{}`): the OIDC exchange is never tried",
                    publish.shown(),
                    job.id,
                    policy.value("npm_oidc_version"),
                    policy.value("npm_stage_version"),
                ),
            );
        }
        if let Some(t) = &token {
            report(
                "token-fallback",
                format!(
                    "{} in job {} has the npm ID token and a long-lived token ({}, from {}): npm falls back to the token when the OIDC exchange fails, which hides a broken trusted publisher until the token stops publishing ({})",
                    publish.shown(),
                    job.id,
                    t.what,
                    t.source,
                    policy.value("bypass_2fa_publish_end"),
                ),
            );
        }
        if publish.provenance
            && !gl.id_tokens.iter().any(|t| {
                t.name == "SIGSTORE_ID_TOKEN" && t.audiences.iter().any(|a| a == "sigstore")
            })
        {
            report(
                "provenance",
                format!(
                    "{} in job {} asks for provenance, which npm signs on GitLab with a `SIGSTORE_ID_TOKEN` (audience `sigstore`) the job does not request: the publish fails",
                    publish.shown(),
                    job.id
                ),
            );
        }
    }
}
