//! Working-tree source: walks directories in parallel with the `ignore`
//! crate (hidden files included, `.gitignore` honoured unless `--no-ignore`,
//! `.git/` never entered), adds files git tracks even when an ignore pattern
//! matches them, and hands each file's bytes to a visitor.

use super::SourceStats;
use super::tree::DirTree;
use crate::detect::tree::TreeView;
use crate::detect::{FileKind, Item};
use crate::finding::Origin;
use ignore::{WalkBuilder, WalkState};
use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// Read buffers that grew past this are dropped after use.
const LARGE_BUFFER: usize = 8 * 1024 * 1024;

#[derive(Clone, Debug)]
pub struct WalkOptions {
    pub roots: Vec<PathBuf>,
    pub no_ignore: bool,
    pub follow_links: bool,
    pub max_file_size: u64,
    pub threads: usize,
    /// Paths (relative to the scan root) never to scan; excluded
    /// directories are not entered.
    pub exclude: Option<crate::filter::exclude::Exclude>,
}

/// Walk every root and call `visit` for each readable regular file.
/// Problems with single files become warnings in the returned stats.
pub fn walk<F>(opts: &WalkOptions, visit: F) -> SourceStats
where
    F: Fn(&Item) + Sync,
{
    let files = AtomicU64::new(0);
    let bytes = AtomicU64::new(0);
    let skipped = AtomicU64::new(0);
    let warnings = Mutex::new(Vec::new());
    let warn = |w: String| warnings.lock().expect("warnings lock").push(w);
    let multi = opts.roots.len() > 1;

    for root in &opts.roots {
        let root_display = display_root(root);
        let meta = match std::fs::metadata(root) {
            Ok(m) => m,
            Err(e) => {
                warn(format!("{root_display}: cannot scan: {e}"));
                skipped.fetch_add(1, Ordering::Relaxed);
                continue;
            }
        };
        // Paths are shown the way the user named the root, like ripgrep:
        // `scan .` shows `x`, `scan sub` shows `sub/x` (so a scan of
        // `.github` still sees `.github/workflows/…` and classifies it as a
        // workflow), several roots keep their own names, and an absolute
        // root shows paths relative to itself. Exclude globs always match
        // the path relative to the root.
        let shown_root = normalize(&root_display);
        let names_a_subtree = !shown_root.is_empty() && shown_root != ".";
        let prefix = (names_a_subtree && (multi || root.is_relative()))
            .then(|| shown_root.trim_end_matches('/').to_string());
        let rel = |p: &Path| -> (String, String) {
            if meta.is_file() {
                return (shown_root.clone(), shown_root.clone());
            }
            let r = p.strip_prefix(root).unwrap_or(p);
            let r = normalize(&r.to_string_lossy());
            match &prefix {
                Some(pre) => (format!("{pre}/{r}"), r),
                None => (r.clone(), r),
            }
        };
        let visited: Mutex<HashSet<PathBuf>> = Mutex::new(HashSet::new());
        // Only a tree inside a git repository has tracked-but-ignored files
        // to add back, so only then is the visited set worth keeping.
        let repository =
            (!opts.no_ignore && meta.is_dir()).then(|| git2::Repository::discover(root));
        if let Some(Err(e)) = &repository
            && let Some(message) = super::sha256_unsupported(root, e)
        {
            // Not silent: tracked files that an ignore pattern matches are
            // not added back without reading the index.
            warn(format!(
                "{message}; files git tracks that .gitignore matches are not scanned (use --no-ignore)"
            ));
        }
        let track_visits = repository.is_some_and(|r| r.is_ok());
        // Sibling files (a workflow's package.json) are read from the
        // repository holding the root, whatever part of it is scanned.
        let tree = DirTree::for_scan_root(root);
        let read_one = |path: &Path, buf: &mut Vec<u8>| {
            let (relpath, under_root) = rel(path);
            if let Some(ex) = &opts.exclude
                && ex.excludes(&under_root, false)
            {
                return;
            }
            match read_file(path, opts.max_file_size, buf) {
                Ok(n) => {
                    files.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(n as u64, Ordering::Relaxed);
                    let place = tree.as_ref().map(|(files, inside)| {
                        let in_tree = if meta.is_file() {
                            inside.clone()
                        } else {
                            crate::detect::tree::join(inside, &under_root)
                                .unwrap_or_else(|| under_root.clone())
                        };
                        match nested_repository(files, &in_tree) {
                            Some((nested, path)) => (Some(nested), path),
                            None => (None, in_tree),
                        }
                    });
                    let view = match (&tree, &place) {
                        (Some((files, _)), Some((nested, path))) => Some(TreeView {
                            files: nested.as_ref().unwrap_or(files),
                            path,
                        }),
                        _ => None,
                    };
                    visit(&Item {
                        path: &relpath,
                        bytes: buf,
                        origin: Origin::Worktree,
                        tree: view,
                    });
                }
                Err(ReadError::TooLarge(size)) => {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    warn(format!(
                        "{relpath}: skipped: {size} bytes is over --max-file-size {}",
                        opts.max_file_size
                    ));
                }
                Err(ReadError::Io(e)) => {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    warn(format!("{relpath}: cannot read: {e}"));
                }
            }
        };

        let exclude = opts.exclude.clone();
        let root_owned = root.to_path_buf();
        let mut builder = WalkBuilder::new(root);
        builder
            .hidden(false)
            .follow_links(opts.follow_links)
            .threads(opts.threads)
            .require_git(false)
            .filter_entry(move |e| {
                e.file_name() != ".git"
                    && !exclude.as_ref().is_some_and(|ex| {
                        e.depth() > 0
                            && ex.excludes(
                                &normalize(
                                    &e.path()
                                        .strip_prefix(&root_owned)
                                        .unwrap_or(e.path())
                                        .to_string_lossy(),
                                ),
                                e.file_type().is_some_and(|t| t.is_dir()),
                            )
                    })
            });
        if opts.no_ignore {
            builder
                .ignore(false)
                .git_ignore(false)
                .git_global(false)
                .git_exclude(false)
                .parents(false);
        }
        builder.build_parallel().run(|| {
            let mut buf = Vec::with_capacity(64 * 1024);
            let read_one = &read_one;
            let visited = &visited;
            let warn = &warn;
            let skipped = &skipped;
            Box::new(move |entry| {
                match entry {
                    Ok(e) => {
                        let is_file = e.file_type().is_some_and(|t| t.is_file());
                        if is_file {
                            if track_visits {
                                visited
                                    .lock()
                                    .expect("visited lock")
                                    .insert(e.path().to_path_buf());
                            }
                            read_one(e.path(), &mut buf);
                            // Do not keep a huge file's buffer for the rest
                            // of the walk: memory stays bounded per thread.
                            if buf.capacity() > LARGE_BUFFER {
                                buf = Vec::with_capacity(64 * 1024);
                            }
                        }
                    }
                    Err(err) => {
                        skipped.fetch_add(1, Ordering::Relaxed);
                        warn(format!("walk: {}", describe_walk_error(&err)));
                    }
                }
                WalkState::Continue
            })
        });

        // Committed is committed: a tracked file is scanned even when an
        // ignore pattern matches it.
        if track_visits {
            let visited = visited.into_inner().expect("visited lock");
            let mut buf = Vec::new();
            for path in tracked_files(root) {
                if !visited.contains(&path) && path.is_file() {
                    read_one(&path, &mut buf);
                }
            }
        }
    }

    let mut warnings = warnings.into_inner().expect("warnings lock");
    warnings.sort();
    SourceStats {
        items: files.into_inner(),
        bytes: bytes.into_inner(),
        skipped: skipped.into_inner(),
        warnings,
        notes: Vec::new(),
    }
}

/// A workflow below the tree's root is GitHub's only when its directory
/// is a repository of its own (a checkout or submodule inside the scanned
/// directory, or one of several projects under a scanned folder): then it
/// belongs to that repository's tree. Vendored copies stay where they are.
fn nested_repository(files: &DirTree, in_tree: &str) -> Option<(DirTree, String)> {
    if FileKind::of(in_tree) != FileKind::CopiedWorkflow {
        return None;
    }
    let i = in_tree.rfind("/.github/")?;
    let repo = files.root.join(&in_tree[..i]);
    std::fs::symlink_metadata(repo.join(".git"))
        .is_ok()
        .then(|| (DirTree { root: repo }, in_tree[i + 1..].to_string()))
}

/// Files in the git index of the repository containing `root`, as paths
/// under `root` (same form the walker produces).
fn tracked_files(root: &Path) -> Vec<PathBuf> {
    let Ok(repo) = git2::Repository::discover(root) else {
        return Vec::new();
    };
    let Some(workdir) = repo.workdir() else {
        return Vec::new();
    };
    let Ok(index) = repo.index() else {
        return Vec::new();
    };
    let (Ok(abs_root), Ok(abs_workdir)) = (root.canonicalize(), workdir.canonicalize()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in index.iter() {
        let rel = String::from_utf8_lossy(&entry.path).into_owned();
        let abs = abs_workdir.join(&rel);
        if let Ok(under) = abs.strip_prefix(&abs_root) {
            out.push(root.join(under));
        }
    }
    out
}

enum ReadError {
    TooLarge(u64),
    Io(std::io::Error),
}

fn read_file(path: &Path, max: u64, buf: &mut Vec<u8>) -> Result<usize, ReadError> {
    let mut file = std::fs::File::open(path).map_err(ReadError::Io)?;
    let len = file.metadata().map_err(ReadError::Io)?.len();
    if len > max {
        return Err(ReadError::TooLarge(len));
    }
    buf.clear();
    buf.reserve(len as usize);
    // `take` guards against files that grow while being read.
    (&mut file)
        .take(max + 1)
        .read_to_end(buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > max {
        return Err(ReadError::TooLarge(buf.len() as u64));
    }
    Ok(buf.len())
}

fn describe_walk_error(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, err } => {
            format!(
                "{}: {}",
                normalize(&path.to_string_lossy()),
                describe_walk_error(err)
            )
        }
        ignore::Error::WithDepth { err, .. } => describe_walk_error(err),
        ignore::Error::Loop { ancestor, child } => format!(
            "symlink loop: {} points back to {}; not followed again",
            normalize(&child.to_string_lossy()),
            normalize(&ancestor.to_string_lossy())
        ),
        other => other.to_string(),
    }
}

fn display_root(root: &Path) -> String {
    root.to_string_lossy().into_owned()
}

/// Forward slashes, no leading `./`.
pub fn normalize(p: &str) -> String {
    let p = p.replace('\\', "/");
    let mut s = p.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
}
