//! Not a rule: describes every publish in a workflow (or composite action)
//! as a [`Site`] for the publish-readiness summary — how it authenticates,
//! whether it stages, and whether it goes to the public registry. The
//! findings about the same publishes come from the rules
//! (`long_lived_publish_token`, `long_lived_stage_token`, `token_with_oidc`).

use super::{Ctx, private_registry, publish_auth, publishing_steps};
use crate::detect::Sink;
use crate::readiness::{Auth, Site};

pub fn collect(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    for (job, step, publishes) in publishing_steps(wf) {
        for p in publishes {
            let token = publish_auth(cx, job, step, &p);
            // Trusted publishing needs `id-token: write` on a GitHub-hosted
            // runner; a composite action inherits its caller's permissions.
            let oidc = !wf.is_action && !job.self_hosted() && wf.id_token_write(job);
            let auth = match (oidc, &token) {
                (true, None) => Auth::TrustedPublishing,
                (true, Some(_)) => Auth::TrustedPublishingWithToken,
                (false, Some(_)) => Auth::Token,
                (false, None) => Auth::Unknown,
            };
            sink.publish_site(Site {
                ci: "github-actions",
                range: p.range.clone(),
                job: job.id.clone(),
                step: step.label.clone(),
                command: p.what.clone(),
                auth,
                credential: token.map(|t| t.source),
                staged: p.staged,
                npmjs: private_registry(wf, job, step.index, &p).is_none(),
            });
        }
    }
}
