//! The publish-readiness summary of a history sweep: what publishes *now*.
//! Old versions of a workflow do not publish any more, so the summary
//! counts the publish paths in HEAD's tree, not in every version the sweep
//! read.

use super::loose::Damaged;
use crate::detect::{DetectOptions, FileKind, Item};
use crate::finding::Origin;
use crate::readiness::Readiness;
use crate::scan;
use git2::{ObjectType, Oid, Repository};

/// Kinds of file whose analysers report publish paths (shell scripts known
/// only by their shebang are not read here: that would mean reading every
/// extensionless blob).
fn may_publish(kind: FileKind) -> bool {
    matches!(
        kind,
        FileKind::Workflow | FileKind::Action | FileKind::Script | FileKind::PackageConfig
    )
}

/// Publish paths in HEAD's tree; empty without a HEAD commit (an empty
/// repository, a damaged HEAD). Damaged objects are never read (see
/// [`super::loose`]); unreadable ones are left out, as the sweep already
/// warned about them.
pub fn readiness(repo: &Repository, damaged: &Damaged, opts: &DetectOptions) -> Readiness {
    let Some(tree) = repo
        .head()
        .ok()
        .and_then(|h| h.target())
        .filter(|id| !damaged.contains(*id))
        .and_then(|id| repo.find_commit(id).ok())
        .map(|c| c.tree_id())
    else {
        return Readiness::default();
    };
    // Sibling files (a workflow's package.json scripts) come from HEAD's
    // tree too.
    let odb = repo.odb().ok();
    let files = odb.as_ref().map(|odb| crate::source::tree::GitTree {
        odb,
        root: tree,
        damaged,
    });
    let mut paths = Vec::new();
    // Explicit stack: a deep tree cannot overflow the call stack.
    let mut stack: Vec<(Oid, String)> = vec![(tree, String::new())];
    while let Some((id, prefix)) = stack.pop() {
        if damaged.contains(id) {
            continue;
        }
        let Ok(tree) = repo.find_tree(id) else {
            continue;
        };
        for entry in tree.iter() {
            let Ok(name) = entry.name() else { continue };
            let id = super::object_format::canonical(entry.id());
            let path = format!("{prefix}{name}");
            match entry.kind() {
                Some(ObjectType::Tree) => stack.push((id, format!("{path}/"))),
                Some(ObjectType::Blob) if may_publish(FileKind::of(&path)) => {
                    if damaged.contains(id) {
                        continue;
                    }
                    let Ok(blob) = repo.find_blob(id) else {
                        continue;
                    };
                    let item = Item {
                        path: &path,
                        bytes: blob.content(),
                        origin: Origin::Worktree,
                        tree: files
                            .as_ref()
                            .map(|files| crate::detect::tree::TreeView { files, path: &path }),
                    };
                    paths.extend(scan::detect_item(&item, opts).publish_paths);
                }
                _ => {}
            }
        }
    }
    Readiness::new(paths)
}
