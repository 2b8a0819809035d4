//! Object ids of SHA-1 and SHA-256 repositories.
//!
//! git names objects by SHA-1 (20 bytes, 40 hex digits) or, in a repository
//! made with `git init --object-format=sha256` (`extensions.objectformat`
//! in its config), by SHA-256 (32 bytes, 64 hex digits). `git2` is built
//! with its `unstable-sha256` feature, so libgit2 opens both and
//! [`git2::Oid`] holds either; what libgit2 reads (refs, commits, the
//! index) needs nothing more. npmsweep's own readers of raw git data —
//! tree entries, pack indexes and `REF_DELTA` bases, loose object file
//! names, ref files, the sweep cache — must know how long an id is: they
//! learn it here, from the repository or from an id of the same object
//! database, never by assuming 20 bytes.

use git2::{Oid, Repository};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ObjectFormat {
    #[default]
    Sha1,
    Sha256,
}

impl ObjectFormat {
    /// The format of an open repository (libgit2 reads
    /// `extensions.objectformat` when it opens one).
    pub fn of(repo: &Repository) -> ObjectFormat {
        Self::from_git2(repo.object_format())
    }

    /// The format of the object database an id comes from: every id
    /// inside a tree or pack has its length.
    pub fn of_id(id: Oid) -> ObjectFormat {
        Self::from_git2(id.object_format())
    }

    fn from_git2(format: git2::ObjectFormat) -> ObjectFormat {
        match format {
            git2::ObjectFormat::Sha256 => ObjectFormat::Sha256,
            _ => ObjectFormat::Sha1,
        }
    }

    pub fn to_git2(self) -> git2::ObjectFormat {
        match self {
            ObjectFormat::Sha1 => git2::ObjectFormat::Sha1,
            ObjectFormat::Sha256 => git2::ObjectFormat::Sha256,
        }
    }

    /// Bytes of a raw id (in trees, pack indexes and delta bases).
    pub fn raw_len(self) -> usize {
        match self {
            ObjectFormat::Sha1 => 20,
            ObjectFormat::Sha256 => 32,
        }
    }

    /// Hex digits of a full id (in ref files, loose object paths, reports).
    pub fn hex_len(self) -> usize {
        2 * self.raw_len()
    }

    /// git's name for it (`extensions.objectformat`, `git rev-parse
    /// --show-object-format`).
    pub fn name(self) -> &'static str {
        match self {
            ObjectFormat::Sha1 => "sha1",
            ObjectFormat::Sha256 => "sha256",
        }
    }

    /// A raw id of exactly this format's length.
    pub fn id_from_raw(self, bytes: &[u8]) -> Option<Oid> {
        (bytes.len() == self.raw_len())
            .then(|| Oid::from_bytes(bytes).ok())
            .flatten()
    }

    /// A full id in hex, exactly this format's length (no abbreviations:
    /// they would need the object database to expand).
    pub fn id_from_hex(self, text: &str) -> Option<Oid> {
        (text.len() == self.hex_len() && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Oid::from_str_ext(text, self.to_git2()).ok())
            .flatten()
    }
}

/// `id` with the bytes past its length zeroed, so that it hashes like
/// every other copy of it.
///
/// With `unstable-sha256` a `git2::Oid` has room for 32 bytes, and libgit2
/// leaves the 12 past a SHA-1 id uninitialised where it builds ids in
/// memory it does not clear: a commit's parent list, a tree's entries, the
/// ids handed to an `Odb::foreach` callback. `Oid` compares only the id's
/// own bytes but hashes all 32, so an id from there must go through this
/// before it meets a `HashSet` or `HashMap`, or equal ids miss each other.
pub fn canonical(id: Oid) -> Oid {
    Oid::from_bytes(id.as_bytes()).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_length_of_their_format() {
        let sha1 = "0123456789abcdef0123456789abcdef01234567";
        let sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        let id1 = ObjectFormat::Sha1.id_from_hex(sha1).unwrap();
        let id256 = ObjectFormat::Sha256.id_from_hex(sha256).unwrap();
        assert_eq!(id1.to_string(), sha1);
        assert_eq!(id256.to_string(), sha256);
        assert_eq!(ObjectFormat::of_id(id1), ObjectFormat::Sha1);
        assert_eq!(ObjectFormat::of_id(id256), ObjectFormat::Sha256);
        assert_eq!(id256.as_bytes().len(), 32);
        // A SHA-1 id is not a short SHA-256 one, nor the reverse.
        assert_eq!(ObjectFormat::Sha256.id_from_hex(sha1), None);
        assert_eq!(ObjectFormat::Sha1.id_from_hex(sha256), None);
        assert_eq!(
            ObjectFormat::Sha1.id_from_hex(&sha1.replace('a', "g")),
            None
        );
        assert_eq!(
            ObjectFormat::Sha256.id_from_raw(id256.as_bytes()),
            Some(id256)
        );
        assert_eq!(ObjectFormat::Sha256.id_from_raw(id1.as_bytes()), None);
        assert_eq!(canonical(id256), id256);
        assert_eq!(canonical(id1), id1);
        assert_ne!(
            ObjectFormat::Sha1.id_from_raw(&[7; 20]),
            ObjectFormat::Sha256.id_from_raw(&[7; 32])
        );
    }
}
