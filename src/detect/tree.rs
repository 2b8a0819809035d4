//! A read-only view of the tree an item belongs to, for detectors that must
//! consult sibling files: a workflow's `run: pnpm release` means what the
//! `scripts` of the `package.json` *next to it* say, and that file must come
//! from the same tree — the working tree for `scan`, the index for
//! `scan --staged`, the commit's tree for `history` (not today's file).
//!
//! Sources implement [`Tree`] ([`crate::source::tree`]); detectors only
//! read through it. Paths are relative to the tree's root, `/`-separated,
//! never `..`: a lookup that would leave the tree is refused.

/// Largest file a detector may read through a tree view: package manifests
/// and release scripts are small; anything bigger is not worth following.
pub const MAX_TREE_FILE: u64 = 1024 * 1024;

/// Files of one tree, read on demand.
pub trait Tree {
    /// The bytes of the regular file at `path` (relative to the tree's
    /// root), or `None` when there is none, it is a symbolic link, a
    /// directory or a submodule, it is larger than [`MAX_TREE_FILE`], or it
    /// cannot be read.
    fn read(&self, path: &str) -> Option<Vec<u8>>;
}

/// An item's place in its tree.
#[derive(Clone, Copy)]
pub struct TreeView<'a> {
    pub files: &'a dyn Tree,
    /// The item's path relative to the tree's root (the path shown to the
    /// user may carry the scan root's name in front of it).
    pub path: &'a str,
}

impl std::fmt::Debug for TreeView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TreeView")
            .field("path", &self.path)
            .finish()
    }
}

/// `dir` joined with a relative `path`, `.` and `..` resolved; `None` when
/// the result would leave the tree or `path` is absolute.
pub fn join(dir: &str, path: &str) -> Option<String> {
    if path.starts_with('/') || path.contains('\\') {
        return None;
    }
    let mut parts: Vec<&str> = dir
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(parts.join("/"))
}

/// The directory part of a tree path (`""` for a file at the root).
pub fn parent(path: &str) -> &str {
    path.rsplit_once('/').map_or("", |(d, _)| d)
}

/// A view that remembers which paths were asked for: what an analysis
/// depended on (history re-runs it only where those files differ).
pub struct Recording<'a> {
    pub inner: &'a dyn Tree,
    pub paths: std::cell::RefCell<Vec<String>>,
}

impl<'a> Recording<'a> {
    pub fn new(inner: &'a dyn Tree) -> Recording<'a> {
        Recording {
            inner,
            paths: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// The paths read, in order, each once.
    pub fn into_paths(self) -> Vec<String> {
        let mut seen = std::collections::HashSet::new();
        self.paths
            .into_inner()
            .into_iter()
            .filter(|p| seen.insert(p.clone()))
            .collect()
    }
}

impl Tree for Recording<'_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.paths.borrow_mut().push(path.to_string());
        self.inner.read(path)
    }
}

/// A tree held in memory (tests, and sources that already have the files).
#[derive(Debug, Default)]
pub struct MemoryTree(pub std::collections::BTreeMap<String, Vec<u8>>);

impl Tree for MemoryTree {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        self.0
            .get(path)
            .filter(|b| b.len() as u64 <= MAX_TREE_FILE)
            .cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_stay_inside_the_tree() {
        assert_eq!(join("", "package.json").as_deref(), Some("package.json"));
        assert_eq!(join("a/b", "../c.js").as_deref(), Some("a/c.js"));
        assert_eq!(
            join("a", "./scripts/x.sh").as_deref(),
            Some("a/scripts/x.sh")
        );
        assert_eq!(join("", "../etc/passwd"), None);
        assert_eq!(join("a", "/etc/passwd"), None);
        assert_eq!(parent("a/b/c"), "a/b");
        assert_eq!(parent("c"), "");
    }
}
