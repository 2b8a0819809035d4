//! Not a rule: every publish of the config as a [`Site`] for the
//! publish-readiness summary (`ci: "circleci"`).

use super::{CircleCtx, other_registry, publish_token, publishes};
use crate::detect::Sink;
use crate::readiness::{Auth, Site};

pub fn collect(ccx: &CircleCtx, sink: &mut Sink) {
    let c = ccx.c;
    for (j, job, step, publish) in publishes(c) {
        let cj = &c.jobs[j];
        let token = publish_token(ccx, job, step, &publish);
        // Trusted publishing needs the npm OIDC token on CircleCI cloud.
        let oidc = cj.npm_id_token(step.index, publish.range.start).is_some()
            && cj.executor.runner().is_none();
        let auth = match (oidc, &token) {
            (true, None) => Auth::TrustedPublishing,
            (true, Some(_)) => Auth::TrustedPublishingWithToken,
            (false, Some(_)) => Auth::Token,
            (false, None) => Auth::Unknown,
        };
        sink.publish_site(Site {
            ci: "circleci",
            range: publish.range.clone(),
            job: job.id.clone(),
            step: step.label.clone(),
            command: publish.what.clone(),
            auth,
            credential: token.map(|t| t.source),
            staged: publish.staged,
            npmjs: other_registry(c, job, step, &publish).is_none(),
        });
    }
}
