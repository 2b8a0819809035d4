//! [`Tree`] views for each source, so a detector reads sibling files from
//! the same tree as the item: the working tree ([`DirTree`]), the git index
//! ([`IndexTree`]) and a commit's tree ([`GitTree`]). Each one reads regular
//! files only — never through a symbolic link, never a submodule — up to
//! [`MAX_TREE_FILE`] bytes.

use crate::detect::tree::{MAX_TREE_FILE, Tree};
use crate::history::loose::Damaged;
use crate::history::tree as raw;
use git2::{ObjectType, Odb, Oid, Repository};
use std::io::Read;
use std::path::{Path, PathBuf};

/// Mode of an executable file in git (`100755`); regular files are `100644`.
const MODE_EXECUTABLE: u32 = 0o100755;
const MODE_FILE: u32 = 0o100644;

/// Components of a tree path, refusing anything that could leave the tree.
fn components(path: &str) -> Option<Vec<&str>> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| *p == "." || *p == ".." || p.contains('\\'))
    {
        return None;
    }
    Some(parts)
}

/// A directory on disk. Symbolic links are not followed, at any component.
#[derive(Clone, Debug)]
pub struct DirTree {
    pub root: PathBuf,
}

impl Tree for DirTree {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        let parts = components(path)?;
        let mut at = self.root.clone();
        for (i, part) in parts.iter().enumerate() {
            at.push(part);
            let meta = std::fs::symlink_metadata(&at).ok()?;
            let last = i + 1 == parts.len();
            if (last && !meta.is_file()) || (!last && !meta.is_dir()) {
                return None;
            }
            if last && meta.len() > MAX_TREE_FILE {
                return None;
            }
        }
        let mut out = Vec::new();
        std::fs::File::open(&at)
            .ok()?
            .take(MAX_TREE_FILE + 1)
            .read_to_end(&mut out)
            .ok()?;
        (out.len() as u64 <= MAX_TREE_FILE).then_some(out)
    }
}

impl DirTree {
    /// The root a working-tree scan reads siblings from, for a scan root:
    /// the working directory of the git repository holding it, else the
    /// root itself (a scan of `.github` or of one workflow file outside a
    /// repository goes up to the directory holding `.github`). Returns the
    /// tree root and the scan root's path inside it (`""` when they are the
    /// same), or `None` when the root cannot be resolved.
    pub fn for_scan_root(root: &Path) -> Option<(DirTree, String)> {
        let abs = root.canonicalize().ok()?;
        let repo_root = git2::Repository::discover(&abs)
            .ok()
            .and_then(|r| r.workdir().and_then(|w| w.canonicalize().ok()));
        let base = match repo_root {
            Some(w) if abs.starts_with(&w) => w,
            _ => {
                let mut dir = if abs.is_file() {
                    abs.parent()?.to_path_buf()
                } else {
                    abs.clone()
                };
                if dir.file_name().is_some_and(|n| n == "workflows")
                    && dir
                        .parent()
                        .and_then(Path::file_name)
                        .is_some_and(|n| n == ".github")
                {
                    dir.pop();
                }
                if dir.file_name().is_some_and(|n| n == ".github") {
                    dir.pop();
                }
                dir
            }
        };
        let inside = abs.strip_prefix(&base).ok()?;
        let inside = inside.to_string_lossy().replace('\\', "/");
        Some((DirTree { root: base }, inside))
    }
}

/// The git index: stage-0 entries, read from the object database.
pub struct IndexTree<'r> {
    pub repo: &'r Repository,
    pub index: &'r git2::Index,
}

impl Tree for IndexTree<'_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        components(path)?;
        let entry = self.index.get_path(Path::new(path), 0)?;
        if entry.mode != MODE_FILE && entry.mode != MODE_EXECUTABLE {
            return None;
        }
        read_blob(&self.repo.odb().ok()?, entry.id)
    }
}

/// A commit's root tree, read straight from the object database (objects
/// known to be damaged are never touched: libgit2 can hang on them).
pub struct GitTree<'a, 'r> {
    pub odb: &'a Odb<'r>,
    pub root: Oid,
    pub damaged: &'a Damaged,
}

impl GitTree<'_, '_> {
    /// The id of the regular file at `path`, without reading it.
    pub fn file_id(&self, path: &str) -> Option<Oid> {
        let parts = components(path)?;
        let mut id = self.root;
        for (i, part) in parts.iter().enumerate() {
            if self.damaged.contains(id) {
                return None;
            }
            let tree = raw::read(self.odb, id).ok()?;
            let entry = raw::entries(id, tree.data())
                .map_while(Result::ok)
                .find(|e| e.name == part.as_bytes())?;
            let last = i + 1 == parts.len();
            match (last, entry.kind) {
                (false, raw::EntryKind::Tree) => id = entry.id,
                (true, raw::EntryKind::Blob)
                    if entry.mode == MODE_FILE || entry.mode == MODE_EXECUTABLE =>
                {
                    id = entry.id
                }
                _ => return None,
            }
        }
        (!self.damaged.contains(id)).then_some(id)
    }
}

impl Tree for GitTree<'_, '_> {
    fn read(&self, path: &str) -> Option<Vec<u8>> {
        read_blob(self.odb, self.file_id(path)?)
    }
}

fn read_blob(odb: &Odb, id: Oid) -> Option<Vec<u8>> {
    let (size, kind) = odb.read_header(id).ok()?;
    if kind != ObjectType::Blob || size as u64 > MAX_TREE_FILE {
        return None;
    }
    Some(odb.read(id).ok()?.data().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dir_tree_reads_regular_files_only() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("a")).unwrap();
        std::fs::write(dir.path().join("a/package.json"), "{}").unwrap();
        let tree = DirTree {
            root: dir.path().to_path_buf(),
        };
        assert_eq!(tree.read("a/package.json").as_deref(), Some(&b"{}"[..]));
        assert_eq!(tree.read("a"), None);
        assert_eq!(tree.read("../x"), None);
        assert_eq!(tree.read("a/missing"), None);
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path().join("a"), dir.path().join("link")).unwrap();
            assert_eq!(tree.read("link/package.json"), None);
        }
    }
}
