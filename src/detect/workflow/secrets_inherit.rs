//! `gha-npm-secrets-inherit`: `secrets: inherit` into a reusable workflow
//! that publishes hands it every secret of the repository, not just the npm
//! one. A callee of the same repository (`./.github/workflows/x.yml`) is
//! read from the item's own tree (the same commit in a history sweep) and
//! publishes when one of its jobs does, directly or through scripts — or
//! when it runs something named like a release it cannot see through, or
//! is handed a release-named input (`npm-script: release`). A callee that
//! cannot be read (another repository, no tree) is judged from its path and
//! inputs (`publish`, `npm`, `release` but not release notes or
//! announcements).

use super::{Ctx, Src, Workflow, indirect, job_publishes, key};
use crate::detect::tree::{self, TreeView};
use crate::detect::{Hit, Sink, yaml};

pub const RULE: &str = "gha-npm-secrets-inherit";

/// `publish`/`npm` in the name, or `release` unless it is about release
/// notes or announcements (`release-announcement.yml` publishes nothing).
fn publishing_name(s: &str) -> bool {
    s.to_ascii_lowercase().contains("npm") || release_name(s)
}

/// `publish`, or `release` unless it is a side task of one.
fn release_name(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    let side_task = ["announce", "note", "changelog", "draft", "label", "notify"]
        .iter()
        .any(|w| l.contains(w));
    l.contains("publish") || (l.contains("release") && !side_task)
}

/// Does the reusable workflow `callee` (`./…`) of the item's own tree
/// publish? `None` when it cannot be read or parsed.
fn local_callee_publishes(cx: &Ctx, callee: &str) -> Option<bool> {
    let rel = callee.strip_prefix("./")?;
    let view = cx.item.tree?;
    let path = tree::join(&indirect::repository_root(view.path), rel)?;
    let bytes = view.files.read(&path)?;
    let text = std::str::from_utf8(&bytes).ok()?;
    let mut docs = yaml::parse_all(text).ok()?;
    if docs.is_empty() {
        return None;
    }
    let root = docs.swap_remove(0);
    let mut wf = Workflow::parse(&Src::new(text), root.as_mapping()?, false);
    indirect::resolve(
        &mut wf,
        TreeView {
            files: view.files,
            path: &path,
        },
    );
    // A callee that calls further reusable workflows is not followed.
    if wf.jobs.iter().any(|j| j.uses.is_some()) {
        return None;
    }
    Some(
        wf.jobs
            .iter()
            .any(|j| job_publishes(j) || j.steps.iter().any(|s| s.unfollowed.is_some())),
    )
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    for job in &cx.wf.jobs {
        let (Some(uses), Some(range)) = (&job.uses, &job.secrets_inherit) else {
            continue;
        };
        let callee = uses.value.split('@').next().unwrap_or("");
        let publishing = match local_callee_publishes(cx, callee) {
            Some(publishes) => publishes || job.with.iter().any(|(_, _, v)| release_name(&v.value)),
            None => {
                publishing_name(callee)
                    || job.with.iter().any(|(k, _, v)| {
                        publishing_name(k) || v.value.contains("registry.npmjs.org")
                    })
            }
        };
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
