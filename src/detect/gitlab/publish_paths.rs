//! Not a rule: every publish of the pipeline as a [`Site`] for the
//! publish-readiness summary (`ci: "gitlab-ci"`).

use super::{GitlabCtx, other_registry, publish_token, publishes};
use crate::detect::Sink;
use crate::readiness::{Auth, Site};

pub fn collect(gx: &GitlabCtx, sink: &mut Sink) {
    let p = gx.p;
    for (j, job, step, publish) in publishes(p) {
        let gl = &p.jobs[j];
        let token = publish_token(gx, job, step, &publish);
        // Trusted publishing needs the npm ID token on a GitLab.com hosted runner.
        let oidc = gl.npm_id_token().is_some() && gl.self_managed_tags().is_empty();
        let auth = match (oidc, &token) {
            (true, None) => Auth::TrustedPublishing,
            (true, Some(_)) => Auth::TrustedPublishingWithToken,
            (false, Some(_)) => Auth::Token,
            (false, None) => Auth::Unknown,
        };
        sink.publish_site(Site {
            ci: "gitlab-ci",
            range: p.at(j, publish.range.clone()),
            job: job.id.clone(),
            step: step.label.clone(),
            command: publish.what.clone(),
            auth,
            credential: token.map(|t| t.source),
            staged: publish.staged,
            npmjs: other_registry(p, job, step, &publish).is_none(),
        });
    }
}
