//! `gha-npm-secrets-inherit`: `secrets: inherit` into a reusable workflow
//! that publishes hands it every secret of the repository, not just the npm
//! one. The callee lives in another file, so "publishes" is judged from
//! its path and inputs (`publish`, `release`, `npm`).

use super::{Ctx, key};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-secrets-inherit";

fn publishing_name(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    ["publish", "release", "npm"].iter().any(|w| l.contains(w))
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    for job in &cx.wf.jobs {
        let (Some(uses), Some(range)) = (&job.uses, &job.secrets_inherit) else {
            continue;
        };
        let callee = uses.value.split('@').next().unwrap_or("");
        let publishing = publishing_name(callee)
            || job
                .with
                .iter()
                .any(|(k, _, v)| publishing_name(k) || v.value.contains("registry.npmjs.org"));
        if !publishing {
            continue;
        }
        sink.hit(
            Hit::new(
                RULE,
                range.clone(),
                format!(
                    "job {} passes every repository secret (`secrets: inherit`) to the publishing workflow {callee}; pass only the npm secret it needs, or none with trusted publishing",
                    job.id
                ),
            )
            .with_key(key(job, None, &format!("inherit={callee}"))),
        );
    }
}
