//! Index source (`scan --staged`): the blobs staged for the next commit,
//! read from the git index, never from the working tree — so an edit that is
//! not staged is not what gets committed and is not scanned.
//!
//! Only entries that differ from `HEAD` are scanned (new files and staged
//! changes; every entry in a repository without commits): a pre-commit hook
//! should judge what the commit adds, not block on files it does not touch.
//! Submodule entries are skipped (their content is another repository), as
//! are `--intent-to-add` entries (nothing staged yet);
//! unmerged entries are skipped with a warning.

use super::SourceStats;
use crate::detect::Item;
use crate::finding::Origin;
use git2::{ObjectType, Repository};
use std::path::{Path, PathBuf};

/// Mode bits of a gitlink (submodule) entry.
const MODE_GITLINK: u32 = 0o160000;
/// `git add --intent-to-add` entries (libgit2's extended flag): a path is
/// announced, but no content is staged yet.
const FLAG_INTENT_TO_ADD: u16 = 1 << 13;

#[derive(Clone, Debug)]
pub struct StagedOptions {
    /// Any path inside the repository (the repository is discovered from it).
    pub start: PathBuf,
    pub max_file_size: u64,
    /// Globs (relative to the repository root) of paths never to scan.
    pub exclude: Option<crate::filter::exclude::Exclude>,
}

/// The working directory of the repository containing `start`.
pub fn repository_root(start: &Path) -> Result<PathBuf, String> {
    let repo = open(start)?;
    repo.workdir().map(Path::to_path_buf).ok_or_else(|| {
        format!(
            "{}: a bare repository has no index to scan",
            start.display()
        )
    })
}

fn open(start: &Path) -> Result<Repository, String> {
    Repository::discover(start).map_err(|e| {
        format!(
            "{}: --staged needs a git repository: {}",
            start.display(),
            e.message()
        )
    })
}

/// Call `visit` for each staged blob that differs from `HEAD`.
pub fn walk<F>(opts: &StagedOptions, mut visit: F) -> Result<SourceStats, String>
where
    F: FnMut(&Item),
{
    let repo = open(&opts.start)?;
    let index = repo
        .index()
        .map_err(|e| format!("cannot read the git index: {}", e.message()))?;
    // No HEAD yet (first commit): everything staged is new.
    let head_tree = match repo.head() {
        Ok(head) => Some(
            head.peel_to_tree()
                .map_err(|e| format!("cannot read HEAD's tree: {}", e.message()))?,
        ),
        Err(_) => None,
    };
    // Sibling files (a workflow's package.json) come from the index too:
    // that is what the commit will hold.
    let files = super::tree::IndexTree {
        repo: &repo,
        index: &index,
    };
    let mut stats = SourceStats::default();
    let mut unmerged = std::collections::BTreeSet::new();
    for entry in index.iter() {
        let path = super::pathtext::path_text(&entry.path);
        let stage = (entry.flags >> 12) & 0x3;
        if stage != 0 {
            unmerged.insert(path);
            continue;
        }
        if entry.mode & 0o170000 == MODE_GITLINK || entry.flags_extended & FLAG_INTENT_TO_ADD != 0 {
            continue;
        }
        if let Some(tree) = &head_tree
            && tree
                .get_path(Path::new(&path))
                .is_ok_and(|t| t.id() == entry.id && t.kind() == Some(ObjectType::Blob))
        {
            continue;
        }
        if opts
            .exclude
            .as_ref()
            .is_some_and(|ex| ex.excludes(&path, false))
        {
            continue;
        }
        let blob = match repo.find_blob(entry.id) {
            Ok(b) => b,
            Err(e) => {
                stats.skipped += 1;
                stats.warnings.push(format!(
                    "{path}: cannot read staged blob {}: {}",
                    entry.id,
                    e.message()
                ));
                continue;
            }
        };
        let bytes = blob.content();
        if bytes.len() as u64 > opts.max_file_size {
            stats.skipped += 1;
            stats.warnings.push(format!(
                "{path}: skipped: {} bytes is over --max-file-size {}",
                bytes.len(),
                opts.max_file_size
            ));
            continue;
        }
        stats.items += 1;
        stats.bytes += bytes.len() as u64;
        visit(&Item {
            path: &path,
            bytes,
            origin: Origin::Index,
            tree: Some(crate::detect::tree::TreeView {
                files: &files,
                path: &path,
            }),
        });
    }
    for path in unmerged {
        stats.warnings.push(format!(
            "{path}: unmerged (conflicted) in the index; not scanned until the conflict is resolved"
        ));
    }
    stats.warnings.sort();
    Ok(stats)
}
