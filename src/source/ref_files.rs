//! Refs read from the ref files directly, the way git itself reads them,
//! for when libgit2 refuses to list refs at all: one bad line in
//! `packed-refs` makes its ref iterator fail, and a sweep that lists no ref
//! reads nothing. git skips such a line and goes on; so does this.
//!
//! Sources, in git's order of precedence: loose refs under `refs/` (a file
//! holding an object id, or `ref: <name>` for a symbolic ref), then the good
//! lines of `packed-refs` (`<id> <name>`; `#` headers and `^<id>` peeled
//! lines are metadata). Every line or file that is not a ref is reported.

use crate::history::object_format::ObjectFormat;
use git2::Oid;
use std::collections::BTreeMap;
use std::path::Path;

/// Larger `packed-refs` files are not read (a hostile repository could make
/// it a huge file); loose ref files are a line.
const MAX_PACKED_REFS: u64 = 256 * 1024 * 1024;
const MAX_LOOSE_REF: u64 = 4096;
const MAX_DEPTH: usize = 64;

/// What the ref files name.
#[derive(Debug, Default)]
pub struct RefFiles {
    /// Full ref name (`refs/heads/main`) → object id, sorted by name.
    pub refs: BTreeMap<String, Oid>,
    /// One sentence per line or file that is not a ref.
    pub warnings: Vec<String>,
}

/// Read the refs of the repository whose common git directory is `git_dir`
/// (object ids of `format`: another length is not a ref).
pub fn read(git_dir: &Path, format: ObjectFormat) -> RefFiles {
    let mut out = RefFiles::default();
    read_packed(git_dir, format, &mut out);
    let mut symbolic = Vec::new();
    let refs = git_dir.join("refs");
    read_loose(git_dir, format, &refs, 0, &mut out, &mut symbolic);
    // `ref: refs/heads/x` inside refs/ (rare: refs/remotes/origin/HEAD):
    // resolved against what was read, a few levels deep.
    for _ in 0..5 {
        let mut unresolved = Vec::new();
        for (name, target) in symbolic {
            match out.refs.get(&target) {
                Some(id) => {
                    out.refs.insert(name, *id);
                }
                None => unresolved.push((name, target)),
            }
        }
        symbolic = unresolved;
    }
    out
}

fn read_packed(git_dir: &Path, format: ObjectFormat, out: &mut RefFiles) {
    let path = git_dir.join("packed-refs");
    let Ok(meta) = std::fs::symlink_metadata(&path) else {
        return;
    };
    if !meta.is_file() || meta.len() > MAX_PACKED_REFS {
        out.warnings.push(format!(
            "packed-refs: not a regular file of at most {MAX_PACKED_REFS} bytes; not read"
        ));
        return;
    }
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            out.warnings.push(format!("packed-refs: cannot read: {e}"));
            return;
        }
    };
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() || line[0] == b'#' || line[0] == b'^' {
            continue;
        }
        match parse_packed_line(line, format) {
            Some((name, id)) => {
                out.refs.insert(name, id);
            }
            None => out.warnings.push(format!(
                "packed-refs line {}: not `<object id> <ref name>`; ignored, as git does",
                i + 1
            )),
        }
    }
}

fn parse_packed_line(line: &[u8], format: ObjectFormat) -> Option<(String, Oid)> {
    let line = std::str::from_utf8(line).ok()?;
    let (id, name) = line.split_once(' ')?;
    let id = format.id_from_hex(id)?;
    valid_ref_name(name).then(|| (name.to_string(), id))
}

fn valid_ref_name(name: &str) -> bool {
    name.starts_with("refs/") && git2::Reference::is_valid_name(name)
}

fn read_loose(
    git_dir: &Path,
    format: ObjectFormat,
    dir: &Path,
    depth: usize,
    out: &mut RefFiles,
    symbolic: &mut Vec<(String, String)>,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let Ok(meta) = std::fs::symlink_metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            read_loose(git_dir, format, &path, depth + 1, out, symbolic);
            continue;
        }
        let name = path
            .strip_prefix(git_dir)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        // Lock files and other leftovers are not refs (git ignores them).
        if !meta.is_file() || name.ends_with(".lock") || !valid_ref_name(&name) {
            continue;
        }
        if meta.len() > MAX_LOOSE_REF {
            out.warnings
                .push(format!("{name}: too large for a ref file; ignored"));
            continue;
        }
        let content = std::fs::read(&path).unwrap_or_default();
        let text = String::from_utf8_lossy(&content);
        let text = text.trim();
        if let Some(id) = format.id_from_hex(text) {
            out.refs.insert(name, id);
        } else if let Some(target) = text.strip_prefix("ref: ") {
            symbolic.push((name, target.trim().to_string()));
        } else {
            out.warnings.push(format!(
                "{name}: not an object id or `ref: <name>`; ignored"
            ));
        }
    }
}

/// The short name people use: `main`, `v1.0`, `origin/main`.
pub fn shorthand(name: &str) -> &str {
    ["refs/heads/", "refs/tags/", "refs/remotes/"]
        .iter()
        .find_map(|p| name.strip_prefix(p))
        .unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_lines_are_kept_and_bad_ones_reported() {
        let dir = tempfile::tempdir().unwrap();
        let a = "1".repeat(40);
        let b = "2".repeat(40);
        std::fs::write(
            dir.path().join("packed-refs"),
            format!(
                "# pack-refs with: peeled fully-peeled sorted \n{a} refs/heads/main\nGARBAGE LINE\n{b} refs/tags/v1\n^{a}\nzzz refs/heads/x\n"
            ),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("refs/heads/feature")).unwrap();
        std::fs::write(dir.path().join("refs/heads/feature/x"), format!("{b}\n")).unwrap();
        std::fs::write(dir.path().join("refs/heads/main"), format!("{b}\n")).unwrap();
        std::fs::write(dir.path().join("refs/heads/main.lock"), "x").unwrap();
        std::fs::create_dir_all(dir.path().join("refs/remotes/origin")).unwrap();
        std::fs::write(
            dir.path().join("refs/remotes/origin/HEAD"),
            "ref: refs/heads/feature/x\n",
        )
        .unwrap();
        let r = read(dir.path(), ObjectFormat::Sha1);
        let names: Vec<&str> = r.refs.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "refs/heads/feature/x",
                "refs/heads/main",
                "refs/remotes/origin/HEAD",
                "refs/tags/v1"
            ]
        );
        // The loose ref wins over the packed one.
        assert_eq!(r.refs["refs/heads/main"].to_string(), b);
        assert_eq!(r.warnings.len(), 2, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("line 3"), "{:?}", r.warnings);
        assert_eq!(shorthand("refs/remotes/origin/main"), "origin/main");
    }

    /// A SHA-256 repository's ref files hold 64-digit ids; a 40-digit one
    /// there is not a ref of it.
    #[test]
    fn sha256_refs_have_64_digit_ids() {
        let dir = tempfile::tempdir().unwrap();
        let long = "3".repeat(64);
        let short = "4".repeat(40);
        std::fs::write(
            dir.path().join("packed-refs"),
            format!("{long} refs/heads/main\n{short} refs/heads/old\n"),
        )
        .unwrap();
        std::fs::create_dir_all(dir.path().join("refs/tags")).unwrap();
        std::fs::write(dir.path().join("refs/tags/v1"), format!("{long}\n")).unwrap();
        let r = read(dir.path(), ObjectFormat::Sha256);
        let names: Vec<&str> = r.refs.keys().map(String::as_str).collect();
        assert_eq!(names, ["refs/heads/main", "refs/tags/v1"]);
        assert_eq!(r.refs["refs/tags/v1"].to_string(), long);
        assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
        assert!(r.warnings[0].contains("line 2"), "{:?}", r.warnings);
    }
}
