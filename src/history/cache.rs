//! `history --cache FILE`: incremental sweeps. The file lists the blobs a
//! previous sweep read and found clean, with the kinds of path they were
//! analysed as, under a key made of npmsweep's version, every rule file and
//! the detector options. A re-sweep with the same key reads only blobs not
//! listed (or listed for fewer kinds of path); blobs with findings are never
//! listed, so they are read, attributed and reported every time.
//!
//! The file holds object ids and kinds only — never content or a secret.
//! A missing file is an empty cache; a damaged or foreign one is a warning
//! and a full sweep; a different key (new rules, other options) is a note and
//! a full sweep. Never a wrong answer: the worst case is reading again.

use super::object_format::ObjectFormat;
use crate::detect::{DetectOptions, FileKind};
use crate::outfile::{self, Access};
use git2::Oid;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::Path;

const HEADER: &str = "npmsweep history cache v1";

/// Clean blobs of earlier sweeps: id → kinds of path analysed (a bit mask).
#[derive(Debug, Default)]
pub struct SweepCache {
    clean: HashMap<Oid, u32>,
}

/// The bit of each kind of path.
pub fn kinds_mask(kinds: &[FileKind]) -> u32 {
    kinds.iter().fold(0, |m, k| m | 1 << (*k as u32))
}

/// What decides whether a clean blob stays clean: npmsweep's version, the
/// rule files compiled in, and the detector options (extra credential
/// names, placeholders, invalid tokens).
pub fn key(detect: &DetectOptions) -> String {
    let mut hash = Sha256::new();
    hash.update(env!("CARGO_PKG_VERSION").as_bytes());
    for (file, text) in crate::rules::RULE_FILES {
        hash.update(file.as_bytes());
        hash.update([0]);
        hash.update(text.as_bytes());
        hash.update([0]);
    }
    hash.update(format!("{detect:?}").as_bytes());
    hash.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// What loading found.
pub enum Loaded {
    /// Usable (possibly empty: no file yet).
    Ready(SweepCache),
    /// Written for other rules or options: a note, then a full sweep.
    Stale(SweepCache),
    /// Not a cache npmsweep can trust: a warning, then a full sweep.
    Unusable(String),
}

pub fn load(path: &Path, key: &str) -> Loaded {
    let text = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Loaded::Ready(SweepCache::default());
        }
        Err(e) => return Loaded::Unusable(format!("cannot read it ({e})")),
    };
    let Ok(text) = String::from_utf8(text) else {
        return Loaded::Unusable("not an npmsweep history cache (not text)".into());
    };
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return Loaded::Unusable("not an npmsweep history cache (unknown header)".into());
    }
    let Some(file_key) = lines.next().and_then(|l| l.strip_prefix("key ")) else {
        return Loaded::Unusable("damaged: no key line".into());
    };
    let mut clean = HashMap::new();
    for (n, line) in lines.enumerate() {
        let entry = line.split_once(' ').and_then(|(id, mask)| {
            // SHA-1 or SHA-256 ids: a cache written for a repository of the
            // other format loads, and none of its ids equals one of this
            // repository's (ids of different formats never compare equal).
            let id = ObjectFormat::Sha1
                .id_from_hex(id)
                .or_else(|| ObjectFormat::Sha256.id_from_hex(id))?;
            Some((id, u32::from_str_radix(mask, 16).ok()?))
        });
        match entry {
            Some((id, mask)) => {
                clean.insert(id, mask);
            }
            None => return Loaded::Unusable(format!("damaged at line {}", n + 3)),
        }
    }
    if file_key == key {
        Loaded::Ready(SweepCache { clean })
    } else {
        Loaded::Stale(SweepCache::default())
    }
}

impl SweepCache {
    /// Swept clean before, for every kind of path it is seen under now.
    pub fn is_clean(&self, id: Oid, kinds: &[FileKind]) -> bool {
        self.clean
            .get(&id)
            .is_some_and(|cached| kinds_mask(kinds) & !cached == 0)
    }

    pub fn record_clean(&mut self, id: Oid, mask: u32) {
        *self.clean.entry(id).or_default() |= mask;
    }

    pub fn forget(&mut self, id: Oid) {
        self.clean.remove(&id);
    }

    pub fn len(&self) -> usize {
        self.clean.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clean.is_empty()
    }

    /// Write it (sorted, so the same sweep writes the same bytes) with the
    /// project's safe file creation.
    pub fn save(&self, path: &Path, key: &str) -> Result<(), String> {
        let mut entries: Vec<(&Oid, &u32)> = self.clean.iter().collect();
        entries.sort_unstable();
        let mut text = format!("{HEADER}\nkey {key}\n");
        text.reserve(entries.len() * 68);
        for (id, mask) in entries {
            text.push_str(&format!("{id} {mask:x}\n"));
        }
        outfile::write(path, text.as_bytes(), Access::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_kinds_and_keys() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("cache");
        let id = Oid::from_str("0123456789abcdef0123456789abcdef01234567").unwrap();
        let mut cache = SweepCache::default();
        cache.record_clean(id, kinds_mask(&[FileKind::Other]));
        cache.save(&path, "k1").unwrap();

        let Loaded::Ready(loaded) = load(&path, "k1") else {
            panic!("not ready")
        };
        assert!(loaded.is_clean(id, &[FileKind::Other]));
        // Seen now as an .npmrc too: that analyser never ran on it.
        assert!(!loaded.is_clean(id, &[FileKind::Other, FileKind::Npmrc]));
        assert!(matches!(load(&path, "k2"), Loaded::Stale(_)));

        std::fs::write(&path, "hello\n").unwrap();
        assert!(matches!(load(&path, "k1"), Loaded::Unusable(_)));
        std::fs::write(&path, format!("{HEADER}\nkey k1\nnot-an-id 1\n")).unwrap();
        assert!(matches!(load(&path, "k1"), Loaded::Unusable(_)));
        assert!(matches!(
            load(&dir.path().join("none"), "k1"),
            Loaded::Ready(c) if c.is_empty()
        ));
    }

    /// A SHA-256 repository's blobs are cached by their 64-digit ids; the
    /// same digits' first 40 are a different SHA-1 id, never a hit.
    #[test]
    fn sha256_ids_round_trip_and_never_match_sha1_ids() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("cache");
        let hex = "0123456789abcdef".repeat(4);
        let long = ObjectFormat::Sha256.id_from_hex(&hex).unwrap();
        let short = ObjectFormat::Sha1.id_from_hex(&hex[..40]).unwrap();
        let mut cache = SweepCache::default();
        cache.record_clean(long, kinds_mask(&[FileKind::Other]));
        cache.record_clean(short, kinds_mask(&[FileKind::Npmrc]));
        cache.save(&path, "k").unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains(&hex));
        let Loaded::Ready(loaded) = load(&path, "k") else {
            panic!("not ready")
        };
        assert_eq!(loaded.len(), 2);
        assert!(loaded.is_clean(long, &[FileKind::Other]));
        assert!(!loaded.is_clean(long, &[FileKind::Npmrc]));
        assert!(loaded.is_clean(short, &[FileKind::Npmrc]));
        assert!(!loaded.is_clean(short, &[FileKind::Other]));
        // Neither 40 nor 64 digits: damaged.
        std::fs::write(&path, format!("{HEADER}\nkey k\n{} 1\n", &hex[..50])).unwrap();
        assert!(matches!(load(&path, "k"), Loaded::Unusable(_)));
    }

    #[test]
    fn key_follows_detector_options() {
        let a = key(&DetectOptions::default());
        let b = key(&DetectOptions {
            extra_credential_names: vec!["MY_NPM".into()],
            ..Default::default()
        });
        assert_ne!(a, b);
        assert_eq!(a, key(&DetectOptions::default()));
    }
}
