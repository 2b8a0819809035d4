//! Working-tree source: walks directories in parallel with the `ignore`
//! crate (hidden files included, `.gitignore` honoured unless `--no-ignore`,
//! `.git/` never entered), adds files git tracks even when an ignore pattern
//! matches them, and hands each file's bytes to a visitor.

use super::SourceStats;
use super::fsread::{self, ReadError};
use super::tree::DirTree;
use crate::detect::tree::TreeView;
use crate::detect::{FileKind, Item};
use crate::finding::Origin;
use ignore::{WalkBuilder, WalkState};
use std::collections::HashSet;
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
            let r = normalize_os(r);
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
            match fsread::read_regular(path, opts.follow_links, opts.max_file_size, buf) {
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
                Err(ReadError::NotRegular(what)) => {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    warn(format!("{relpath}: skipped: {what}, not a regular file"));
                }
                Err(ReadError::Io(e)) => {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    warn(format!("{relpath}: cannot read: {e}"));
                }
            }
        };
        // Without -L a symbolic link is never followed, tracked or not
        // (`env.txt -> /proc/self/environ` would read the runner's own
        // environment): its target path is what git stores, and what is
        // scanned.
        let read_link = |path: &Path| {
            let (relpath, under_root) = rel(path);
            if let Some(ex) = &opts.exclude
                && ex.excludes(&under_root, false)
            {
                return;
            }
            match std::fs::read_link(path) {
                Ok(target) => {
                    let target = target.into_os_string().into_encoded_bytes();
                    files.fetch_add(1, Ordering::Relaxed);
                    bytes.fetch_add(target.len() as u64, Ordering::Relaxed);
                    visit(&Item {
                        path: &relpath,
                        bytes: &target,
                        origin: Origin::Worktree,
                        tree: None,
                    });
                }
                Err(e) => {
                    skipped.fetch_add(1, Ordering::Relaxed);
                    warn(format!("{relpath}: cannot read the symbolic link: {e}"));
                }
            }
        };

        // The walker opens and reads ignore files itself, following links
        // and without a size limit: a `.gitignore` that is a FIFO hangs it,
        // one linked to /dev/zero exhausts memory. Ignore files are vetted
        // first (by `lstat`); a directory with a bad one is walked later with
        // no ignore files at all (scanning more, never less).
        let use_ignore = !opts.no_ignore && {
            let bad = unsafe_ignore_files_above(root);
            for (file, why) in &bad {
                warn(format!(
                    "{}: {why}; ignore files are not applied in this scan",
                    normalize(&file.to_string_lossy())
                ));
            }
            bad.is_empty()
        };
        // (directory, ignore file, what is wrong with it); the filter must
        // own what it touches.
        type Refused = Vec<(PathBuf, PathBuf, String)>;
        let refused: std::sync::Arc<Mutex<Refused>> = Default::default();
        let walk_from = |start: &Path, use_ignore: bool| {
            let mut builder = WalkBuilder::new(start);
            builder
                .hidden(false)
                .follow_links(opts.follow_links)
                .threads(opts.threads)
                .require_git(false);
            // `.git/` is never entered; excluded directories are not walked
            // at all (gitignore semantics: nothing below one comes back).
            let exclude = opts.exclude.clone();
            let root_owned = root.to_path_buf();
            let skip = move |e: &ignore::DirEntry| {
                e.file_name() == ".git"
                    || exclude.as_ref().is_some_and(|ex| {
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
            };
            if use_ignore {
                let refused = std::sync::Arc::clone(&refused);
                builder.filter_entry(move |e| {
                    if skip(e) {
                        return false;
                    }
                    if !e.file_type().is_some_and(|t| t.is_dir()) {
                        return true;
                    }
                    let mut ok = true;
                    for name in IGNORE_FILES {
                        let file = e.path().join(name);
                        if let Some(why) = fsread::unsafe_ignore_file(&file) {
                            refused.lock().expect("refused lock").push((
                                e.path().to_path_buf(),
                                file,
                                why,
                            ));
                            ok = false;
                        }
                    }
                    ok
                });
            } else {
                builder
                    .filter_entry(move |e| !skip(e))
                    .ignore(false)
                    .git_ignore(false)
                    .git_global(false)
                    .git_exclude(false)
                    .parents(false);
            }
            builder.build_parallel().run(|| {
                let mut buf = Vec::with_capacity(64 * 1024);
                let read_one = &read_one;
                let read_link = &read_link;
                let visited = &visited;
                let warn = &warn;
                let skipped = &skipped;
                Box::new(move |entry| {
                    match entry {
                        Ok(e) => {
                            let file_type = e.file_type();
                            let is_file = file_type.is_some_and(|t| t.is_file());
                            let is_link = file_type.is_some_and(|t| t.is_symlink());
                            if (is_file || is_link) && track_visits {
                                visited
                                    .lock()
                                    .expect("visited lock")
                                    .insert(e.path().to_path_buf());
                            }
                            if is_file {
                                read_one(e.path(), &mut buf);
                                // Do not keep a huge file's buffer for the
                                // rest of the walk: memory stays bounded per
                                // thread.
                                if buf.capacity() > LARGE_BUFFER {
                                    buf = Vec::with_capacity(64 * 1024);
                                }
                            } else if is_link && e.depth() > 0 {
                                read_link(e.path());
                            } else if !file_type.is_some_and(|t| t.is_dir()) && e.depth() > 0 {
                                // A FIFO, socket or device: never read
                                // (opened without blocking, refused by its
                                // type), but counted and named as skipped.
                                read_one(e.path(), &mut buf);
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
        };
        walk_from(root, use_ignore);
        let mut refused = std::mem::take(&mut *refused.lock().expect("refused lock"));
        refused.sort();
        for (dir, file, why) in &refused {
            warn(format!(
                "{}: {why}; not applied: {} is scanned without ignore files",
                rel(file).0,
                rel(dir).0
            ));
        }
        refused.dedup_by(|a, b| a.0 == b.0);
        for (dir, _, _) in &refused {
            walk_from(dir, false);
        }

        // Committed is committed: a tracked file is scanned even when an
        // ignore pattern matches it.
        if track_visits {
            let visited = visited.into_inner().expect("visited lock");
            let mut buf = Vec::new();
            for path in tracked_files(root) {
                if visited.contains(&path) {
                    continue;
                }
                let Ok(meta) = std::fs::symlink_metadata(&path) else {
                    continue;
                };
                if meta.file_type().is_symlink() && !opts.follow_links {
                    read_link(&path);
                } else if meta.is_file() || meta.file_type().is_symlink() {
                    // A followed link is read only if it leads to a regular
                    // file (checked on the open descriptor).
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

/// The ignore files the walker reads in every directory.
const IGNORE_FILES: [&str; 2] = [".gitignore", ".ignore"];

/// Ignore files the walker would read before reaching `root`'s children:
/// those of `root` and its parent directories, and the repository's
/// `info/exclude`; each with what is wrong with it.
fn unsafe_ignore_files_above(root: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let abs = root.canonicalize().unwrap_or_else(|_| root.to_path_buf());
    for dir in abs.ancestors() {
        for name in IGNORE_FILES {
            let file = dir.join(name);
            if let Some(why) = fsread::unsafe_ignore_file(&file) {
                out.push((file, why));
            }
        }
    }
    if let Ok(repo) = git2::Repository::discover(root) {
        let file = repo.path().join("info").join("exclude");
        if let Some(why) = fsread::unsafe_ignore_file(&file) {
            out.push((file, why));
        }
    }
    out
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
        // The index holds raw bytes: no lossy conversion, or a non-UTF-8
        // name would not be found on disk.
        let rel = std::path::Path::new(os_str_from_bytes(&entry.path));
        let abs = abs_workdir.join(rel);
        if let Ok(under) = abs.strip_prefix(&abs_root) {
            out.push(root.join(under));
        }
    }
    out
}

fn describe_walk_error(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { path, err } => {
            format!(
                "{}: {}",
                shorten_path(&normalize_os(path)),
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

/// A path too long for the operating system (a tree thousands of levels
/// deep stops at PATH_MAX) is named by its ends, its length and its depth,
/// not printed whole.
fn shorten_path(p: &str) -> String {
    const KEEP: usize = 60;
    if p.len() <= 4 * KEEP {
        return p.to_string();
    }
    let head = p.floor_char_boundary(KEEP);
    let tail = p.ceil_char_boundary(p.len() - KEEP);
    format!(
        "{}…{} (a path of {} bytes, {} levels deep; what is below it is not scanned)",
        &p[..head],
        &p[tail..],
        p.len(),
        p.matches('/').count() + 1
    )
}

fn display_root(root: &Path) -> String {
    root.to_string_lossy().into_owned()
}

/// A path from the index as an OS path (raw bytes on Unix).
#[cfg(unix)]
fn os_str_from_bytes(b: &[u8]) -> &std::ffi::OsStr {
    std::os::unix::ffi::OsStrExt::from_bytes(b)
}

#[cfg(not(unix))]
fn os_str_from_bytes(b: &[u8]) -> &std::ffi::OsStr {
    std::ffi::OsStr::new(std::str::from_utf8(b).unwrap_or_default())
}

/// [`normalize`] of an OS path, with bytes that are not UTF-8 escaped
/// reversibly (see [`super::pathtext`]), so distinct files stay distinct.
fn normalize_os(p: &Path) -> String {
    let mut bytes = p.as_os_str().as_encoded_bytes().to_vec();
    // `\` is a separator only on Windows; normalised there as before.
    if cfg!(windows) {
        for b in &mut bytes {
            if *b == b'\\' {
                *b = b'/';
            }
        }
    }
    let text = super::pathtext::path_text(&bytes);
    let mut s = text.as_str();
    while let Some(rest) = s.strip_prefix("./") {
        s = rest;
    }
    s.to_string()
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
