//! `--config-from REV`: take npmsweep's own configuration — `npmsweep.toml`
//! and the `--baseline` file — from a git revision (the pull request's base)
//! instead of from the change under review, so a pull request cannot turn
//! its own gate green by adding `exclude = ["**"]`, a severity override, a
//! baseline entry or an `npmsweep:ignore` comment.
//!
//! The change itself is audited against that revision: a modified
//! configuration or baseline becomes a note, and so does every
//! `npmsweep:ignore` line the change adds, with what it silences.

use crate::filter::suppress::DIRECTIVE;
use crate::scan::Report;
use git2::{DiffOptions, Oid, Repository, Tree};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A revision of the repository the scan runs in.
pub struct Revision {
    pub repo: Repository,
    pub spec: String,
    pub commit: Oid,
    /// The repository's working tree (None when bare).
    pub workdir: Option<PathBuf>,
}

impl Revision {
    /// Resolve `spec` in the repository at or above `root`, which must be
    /// the repository's top level (paths in findings are then
    /// repository-relative, like the revision's).
    pub fn open(root: &Path, spec: &str) -> Result<Revision, String> {
        let repo = Repository::discover(root).map_err(|e| {
            format!(
                "--config-from {spec}: {} is not in a git repository: {}",
                root.display(),
                e.message()
            )
        })?;
        let top = repo
            .workdir()
            .unwrap_or(repo.path())
            .canonicalize()
            .map_err(|e| e.to_string())?;
        let here = root.canonicalize().map_err(|e| e.to_string())?;
        if here != top {
            return Err(format!(
                "--config-from {spec}: scan the repository's top level ({}), where its npmsweep.toml is",
                top.display()
            ));
        }
        let commit = repo
            .revparse_single(spec)
            .and_then(|o| o.peel_to_commit())
            .map_err(|e| format!("--config-from {spec}: no such commit: {}", e.message()))?
            .id();
        let workdir = repo.workdir().map(Path::to_path_buf);
        Ok(Revision {
            repo,
            spec: spec.to_string(),
            commit,
            workdir,
        })
    }

    fn tree(&self) -> Result<Tree<'_>, String> {
        self.repo
            .find_commit(self.commit)
            .and_then(|c| c.tree())
            .map_err(|e| format!("--config-from {}: {}", self.spec, e.message()))
    }

    /// The content of the repository-relative `path` in this revision, or
    /// `None` when it has no such file.
    pub fn read(&self, path: &str) -> Result<Option<Vec<u8>>, String> {
        let tree = self.tree()?;
        let Ok(entry) = tree.get_path(Path::new(path)) else {
            return Ok(None);
        };
        let blob = self
            .repo
            .find_blob(entry.id())
            .map_err(|e| format!("--config-from {}: {path}: {}", self.spec, e.message()))?;
        Ok(Some(blob.content().to_vec()))
    }

    /// `path` (as given on the command line) relative to the repository's
    /// working tree, with forward slashes.
    pub fn relative(&self, path: &Path) -> Result<String, String> {
        let workdir = self
            .workdir
            .as_ref()
            .ok_or_else(|| "--config-from needs a repository with a working tree".to_string())?;
        let abs = std::path::absolute(path).map_err(|e| e.to_string())?;
        let top = workdir.canonicalize().map_err(|e| e.to_string())?;
        let parent = abs
            .parent()
            .and_then(|p| p.canonicalize().ok())
            .unwrap_or_else(|| abs.clone());
        let full = parent.join(abs.file_name().unwrap_or_default());
        full.strip_prefix(&top)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .map_err(|_| {
                format!(
                    "--config-from {}: {} is outside the repository",
                    self.spec,
                    path.display()
                )
            })
    }
}

/// What the audited change does to npmsweep's own configuration.
#[derive(Debug, Default)]
pub struct ChangeAudit {
    /// One sentence per change worth a reviewer's attention.
    pub notes: Vec<String>,
    /// `(path, line)` of every `npmsweep:ignore` line the change adds.
    pub added_directives: BTreeSet<(String, usize)>,
}

/// Compare `head` (a commit; `None` for the working tree and index) with
/// the revision: which of `config_files` changed, and which lines holding
/// `npmsweep:ignore` were added.
pub fn audit(
    rev: &Revision,
    head: Option<Oid>,
    config_files: &[String],
) -> Result<ChangeAudit, String> {
    let base = rev.tree()?;
    let mut opts = DiffOptions::new();
    opts.context_lines(0)
        .include_untracked(true)
        .recurse_untracked_dirs(true);
    let head_tree = match head {
        Some(id) => Some(
            rev.repo
                .find_commit(id)
                .and_then(|c| c.tree())
                .map_err(|e| e.message().to_string())?,
        ),
        None => None,
    };
    let diff = match &head_tree {
        Some(t) => rev
            .repo
            .diff_tree_to_tree(Some(&base), Some(t), Some(&mut opts)),
        None => rev
            .repo
            .diff_tree_to_workdir_with_index(Some(&base), Some(&mut opts)),
    }
    .map_err(|e| format!("--config-from {}: cannot diff: {}", rev.spec, e.message()))?;

    let mut audit = ChangeAudit::default();
    let mut changed_config = BTreeSet::new();
    for delta in diff.deltas() {
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if config_files.contains(&path) {
            changed_config.insert(path);
        }
    }
    for path in changed_config {
        audit.notes.push(format!(
            "this change modifies {path} (npmsweep's configuration) since {}: the settings of {} were used",
            rev.spec, rev.spec
        ));
    }
    diff.foreach(
        &mut |_, _| true,
        None,
        None,
        Some(&mut |delta, _hunk, line| {
            if line.origin() == '+'
                && memchr::memmem::find(line.content(), DIRECTIVE.as_bytes()).is_some()
                && let (Some(path), Some(n)) = (delta.new_file().path(), line.new_lineno())
            {
                audit
                    .added_directives
                    .insert((path.to_string_lossy().replace('\\', "/"), n as usize));
            }
            true
        }),
    )
    .map_err(|e| format!("--config-from {}: cannot diff: {}", rev.spec, e.message()))?;
    Ok(audit)
}

/// Notes in the report, so every format shows them: the configuration
/// changes, then each `npmsweep:ignore` comment the change adds with the
/// findings it silences (on its line or the next). The comments are
/// honoured — a new fixture needs one, and it cannot be in the base before
/// it is merged — but never silently.
pub fn add_notes(rev: &Revision, audit: ChangeAudit, report: &mut Report) {
    report.stats.notes.extend(audit.notes);
    for (path, line) in &audit.added_directives {
        let silenced = report
            .findings
            .iter()
            .filter(|f| {
                f.suppressed.is_some()
                    && &f.path == path
                    && (f.span.start_line == *line || f.span.start_line == line + 1)
            })
            .count();
        report.stats.notes.push(format!(
            "this change adds an npmsweep:ignore comment at {path}:{line} since {}, silencing {silenced} finding(s): review it (--show-suppressed lists them)",
            rev.spec
        ));
    }
}

/// The base of a `history --range A..B` (or `A...B`): `A`, or `HEAD` when
/// empty.
pub fn range_base(range: &str) -> Option<&str> {
    let (base, _) = range.split_once("..")?;
    Some(if base.is_empty() { "HEAD" } else { base })
}

/// The head of a range: `B`, or `HEAD` when empty.
pub fn range_head(range: &str) -> Option<&str> {
    let (_, head) = range.split_once("..")?;
    let head = head.trim_start_matches('.');
    Some(if head.is_empty() { "HEAD" } else { head })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_parts() {
        assert_eq!(range_base("origin/main..HEAD"), Some("origin/main"));
        assert_eq!(range_head("origin/main..HEAD"), Some("HEAD"));
        assert_eq!(range_base("a...b"), Some("a"));
        assert_eq!(range_head("a...b"), Some("b"));
        assert_eq!(range_base("..b"), Some("HEAD"));
        assert_eq!(range_head("a.."), Some("HEAD"));
        assert_eq!(range_base("main"), None);
    }
}
