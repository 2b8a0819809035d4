//! `gha-npm-oidc-reusable-workflow`: a reusable workflow (`on:
//! workflow_call`) that publishes without a token relies on trusted
//! publishing, and npm checks the *calling* workflow's file name, not this
//! one's. A note: it works when the trusted publisher names the caller.

use super::{Ctx, key, publish_auth, publishing_steps};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-oidc-reusable-workflow";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    if wf.is_action || !wf.has_trigger("workflow_call") {
        return;
    }
    for (job, step, publishes) in publishing_steps(wf) {
        // No block: permissions come from the caller. A block without
        // id-token cannot use OIDC at all (other rules cover that).
        if wf.effective_permissions(job).is_some() && !wf.id_token_write(job) {
            continue;
        }
        let p = &publishes[0];
        if publish_auth(cx, job, step, p).is_some() {
            continue;
        }
        sink.hit(
            Hit::new(
                RULE,
                p.range.clone(),
                format!(
                    "{} in job {} runs in a reusable workflow (workflow_call): npm's trusted publisher must name the calling workflow's file, and the caller must grant `id-token: write`",
                    p.shown(), job.id
                ),
            )
            .with_key(key(job, Some(step), &format!("publish={}", p.what))),
        );
    }
}
