//! Raw git tree objects: parsed straight from the object database's bytes.
//!
//! Why not `git2::Tree`: a sweep visits every tree of the repository once,
//! and libgit2's parsed trees are allocated, cached and reference-counted
//! per entry. The format is simple (`<octal mode> <name>\0<raw id>`,
//! repeated; 20-byte ids, or 32 in a SHA-256 repository), so reading it in
//! place is both faster and lighter.

use super::object_format::ObjectFormat;
use git2::{ObjectType, Odb, OdbObject, Oid};

/// What a tree entry points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EntryKind {
    Tree,
    /// A regular file, an executable or a symbolic link.
    Blob,
    /// A submodule commit (lives in another repository: not swept).
    Submodule,
}

#[derive(Clone, Copy, Debug)]
pub struct Entry<'a> {
    pub name: &'a [u8],
    pub id: Oid,
    pub kind: EntryKind,
    /// The raw mode (`100644`, `100755`, `120000` for a symbolic link…).
    pub mode: u32,
}

/// Iterate over the entries of raw tree `id`: its entries' ids are as long
/// as its own. Stops at the first malformed entry and reports it as an
/// error (the caller warns and moves on).
pub fn entries(id: Oid, data: &[u8]) -> impl Iterator<Item = Result<Entry<'_>, &'static str>> {
    let format = ObjectFormat::of_id(id);
    raw_entries(data, format).map(move |entry| {
        let e = entry?;
        Ok(Entry {
            name: e.name,
            id: format
                .id_from_raw(e.id)
                .ok_or("entry with an invalid object id")?,
            kind: e.kind,
            mode: e.mode,
        })
    })
}

/// A tree entry with its id as raw bytes, as stored: the history walk
/// makes an [`Oid`] (a call into libgit2) only for the few entries it has
/// not met before.
#[derive(Clone, Copy, Debug)]
pub struct RawEntry<'a> {
    pub name: &'a [u8],
    /// `format.raw_len()` bytes.
    pub id: &'a [u8],
    pub kind: EntryKind,
    pub mode: u32,
}

/// Iterate over the entries of a raw tree of a repository in `format`;
/// stops at the first malformed entry, reported as an error.
pub fn raw_entries(data: &[u8], format: ObjectFormat) -> RawEntries<'_> {
    RawEntries { rest: data, format }
}

pub struct RawEntries<'a> {
    rest: &'a [u8],
    format: ObjectFormat,
}

impl<'a> Iterator for RawEntries<'a> {
    type Item = Result<RawEntry<'a>, &'static str>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        match parse_entry(self.rest, self.format) {
            Ok((entry, used)) => {
                self.rest = &self.rest[used..];
                Some(Ok(entry))
            }
            Err(e) => {
                self.rest = &[];
                Some(Err(e))
            }
        }
    }
}

fn parse_entry(data: &[u8], format: ObjectFormat) -> Result<(RawEntry<'_>, usize), &'static str> {
    let id_len = format.raw_len();
    let space = memchr::memchr(b' ', data).ok_or("entry without a mode")?;
    let mode = parse_octal(&data[..space]).ok_or("entry with an invalid mode")?;
    let name_start = space + 1;
    let nul = memchr::memchr(0, &data[name_start..]).ok_or("entry without a name terminator")?;
    let name = &data[name_start..name_start + nul];
    let id_start = name_start + nul + 1;
    let id = data
        .get(id_start..id_start + id_len)
        .ok_or("entry with a truncated object id")?;
    // Mode families as git writes them: 040000 tree, 160000 gitlink,
    // 100644/100755/120000 blobs.
    let kind = match mode & 0o170000 {
        0o040000 => EntryKind::Tree,
        0o160000 => EntryKind::Submodule,
        _ => EntryKind::Blob,
    };
    Ok((
        RawEntry {
            name,
            id,
            kind,
            mode,
        },
        id_start + id_len,
    ))
}

/// Git's order of tree entries: by name, a tree's name compared as if it
/// ended with `/`.
pub fn entry_order(a: &RawEntry, b: &RawEntry) -> std::cmp::Ordering {
    let n = a.name.len().min(b.name.len());
    a.name[..n].cmp(&b.name[..n]).then_with(|| {
        let end = |e: &RawEntry| match e.name.get(n) {
            Some(&c) => c,
            None if e.kind == EntryKind::Tree => b'/',
            None => 0,
        };
        end(a).cmp(&end(b))
    })
}

fn parse_octal(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || digits.len() > 7 {
        return None;
    }
    digits.iter().try_fold(0u32, |acc, &d| match d {
        b'0'..=b'7' => Some(acc * 8 + u32::from(d - b'0')),
        _ => None,
    })
}

/// Read a tree's raw bytes, checking that the object really is a tree.
pub fn read<'o>(odb: &'o Odb<'_>, id: Oid) -> Result<OdbObject<'o>, String> {
    let object = odb.read(id).map_err(|e| describe_error(&e))?;
    if object.kind() != ObjectType::Tree {
        return Err(format!("expected a tree, found a {}", object.kind()));
    }
    Ok(object)
}

/// A short, human explanation of a libgit2 read error.
pub fn describe_error(e: &git2::Error) -> String {
    if e.code() == git2::ErrorCode::NotFound {
        "missing from the object database".to_string()
    } else {
        format!("unreadable ({})", e.message().trim_end_matches('.'))
    }
}

/// Join a directory path and an entry name (paths use `/`, no leading one).
pub fn join(dir: &str, name: &[u8]) -> String {
    let name = crate::source::pathtext::path_text(name);
    if dir.is_empty() {
        name
    } else {
        let mut s = String::with_capacity(dir.len() + 1 + name.len());
        s.push_str(dir);
        s.push('/');
        s.push_str(&name);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw_entry(mode: &str, name: &str, id: u8) -> Vec<u8> {
        raw_entry_of(ObjectFormat::Sha1, mode, name, id)
    }

    fn raw_entry_of(format: ObjectFormat, mode: &str, name: &str, id: u8) -> Vec<u8> {
        let mut v = format!("{mode} {name}").into_bytes();
        v.push(0);
        v.extend(std::iter::repeat_n(id, format.raw_len()));
        v
    }

    fn tree_id(format: ObjectFormat) -> Oid {
        format.id_from_raw(&vec![9; format.raw_len()]).unwrap()
    }

    #[test]
    fn parses_modes_names_and_ids() {
        let mut data = raw_entry("100644", ".npmrc", 1);
        data.extend(raw_entry("40000", "src", 2));
        data.extend(raw_entry("160000", "vendor", 3));
        data.extend(raw_entry("120000", "link", 4));
        let got: Vec<_> = entries(tree_id(ObjectFormat::Sha1), &data)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 4);
        assert_eq!(got[0].name, b".npmrc");
        assert_eq!(got[0].kind, EntryKind::Blob);
        assert_eq!(got[0].id, Oid::from_bytes(&[1; 20]).unwrap());
        assert_eq!(got[1].kind, EntryKind::Tree);
        assert_eq!(got[2].kind, EntryKind::Submodule);
        assert_eq!(got[3].kind, EntryKind::Blob);
    }

    #[test]
    fn truncated_tree_is_an_error_not_a_panic() {
        let data = raw_entry("100644", "a", 1);
        let cut = &data[..data.len() - 5];
        let got: Vec<_> = entries(tree_id(ObjectFormat::Sha1), cut).collect();
        assert_eq!(got.len(), 1);
        assert!(got[0].is_err());
        let bad_mode = b"10x644 a\0".to_vec();
        assert!(
            entries(tree_id(ObjectFormat::Sha1), &bad_mode)
                .next()
                .unwrap()
                .is_err()
        );
    }

    /// A SHA-256 repository's trees hold 32-byte ids: read with the tree's
    /// own id length, not 20 (which would split every entry wrongly).
    #[test]
    fn sha256_trees_hold_32_byte_ids() {
        let sha256 = ObjectFormat::Sha256;
        let mut data = raw_entry_of(sha256, "100644", ".npmrc", 1);
        data.extend(raw_entry_of(sha256, "40000", "src", 2));
        let got: Vec<_> = entries(tree_id(sha256), &data)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].name, b".npmrc");
        assert_eq!(got[0].id.to_string(), "01".repeat(32));
        assert_eq!(got[1].name, b"src");
        assert_eq!(got[1].kind, EntryKind::Tree);
        // Read as SHA-1, the same bytes are malformed, not silently wrong.
        assert!(
            entries(tree_id(ObjectFormat::Sha1), &data).any(|e| e.is_err()),
            "a 32-byte id read as 20 bytes must fail"
        );
    }

    #[test]
    fn joins_paths() {
        assert_eq!(join("", b"a"), "a");
        assert_eq!(join("a/b", b"c"), "a/b/c");
    }
}
