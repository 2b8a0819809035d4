//! `gha-npm-secrets-inherit`: `secrets: inherit` into a reusable workflow
//! that publishes hands it every secret of the repository, not just the npm
//! one. The callee lives in another file, so "publishes" is judged from
//! its path and inputs (`publish`, `npm`, `release` but not release notes
//! or announcements).

use super::{Ctx, key};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-secrets-inherit";

/// `publish`/`npm` in the name, or `release` unless it is about release
/// notes or announcements (`release-announcement.yml` publishes nothing).
fn publishing_name(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    let side_task = ["announce", "note", "changelog", "draft", "label", "notify"]
        .iter()
        .any(|w| l.contains(w));
    ["publish", "npm"].iter().any(|w| l.contains(w)) || (l.contains("release") && !side_task)
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
