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
//!
//! The file also keeps what the last full walk over commits and trees
//! found ([`WalkRecord`]): the commits in walk order and, for the few blobs
//! with findings, the kinds of path they were seen under and every (path,
//! commit) holding them. It is replayed only when nothing the walk depends
//! on has changed — the same refs at the same targets, HEAD, shallow
//! boundary and size limit, recorded as a hash — so a re-sweep of an
//! unchanged repository reads neither trees nor clean blobs. The record also
//! keeps the commit graph (parents as indexes, committer times), so a replay
//! reads no commit for "reachable from", and a sweep after new commits walks
//! only those ([`super::incremental`]).

use super::object_format::ObjectFormat;
use crate::detect::{DetectOptions, FileKind};
use crate::outfile::{self, Access};
use crate::source::history::BlobToScan;
use git2::Oid;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

const HEADER: &str = "npmsweep history cache v3";
/// Files of earlier formats: their clean blobs are still used (the key
/// decides whether they apply), their walk record is not (v2 had no commit
/// graph): the next sweep walks in full and records anew.
const OLDER_HEADERS: [&str; 2] = ["npmsweep history cache v1", "npmsweep history cache v2"];

/// Clean blobs of earlier sweeps: id → kinds of path analysed (a bit mask),
/// and what the last full walk found.
#[derive(Debug, Default)]
pub struct SweepCache {
    clean: HashMap<Oid, u32>,
    pub walk: Option<WalkRecord>,
    /// The file held a walk record of an older format, ignored.
    pub older_walk: bool,
}

/// What a full walk of every ref found, to be replayed while its
/// `walk_key` still matches. Ids are hex, kinds their names.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WalkRecord {
    /// Hash of everything the walk's outcome depends on besides the rules.
    pub walk_key: String,
    /// Hash of what it depends on besides the rules and the refs (shallow
    /// boundary, grafts, size limit): with the same one, a walk after new
    /// commits may start from this record.
    pub base_key: String,
    /// Commits walked, in walk order (provenance refers to them by index).
    pub commits: Vec<String>,
    /// Committer time of each commit (the walk's order follows it).
    pub times: Vec<i64>,
    /// Parents of each commit among `commits`, as indexes.
    pub parents: Vec<Vec<u32>>,
    /// A ref named a tree or a blob, not a commit: the record cannot say
    /// what only that ref reached, so it is only replayed unchanged.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub other_tips: bool,
    /// Unique blobs the walk met.
    pub blobs: u64,
    /// Blobs with findings (or whose analysis read other files).
    pub found: Vec<FoundBlob>,
    /// Blobs it could not read (missing, over the size limit): read again.
    #[serde(default)]
    pub unread: Vec<FoundBlob>,
    /// Notes of the walk (shallow clone, partial clone).
    pub notes: Vec<String>,
}

/// A found blob: how the walk met it and where it sits.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FoundBlob {
    pub id: String,
    /// Root tree of the commit in which the walk first met it.
    pub root: Option<String>,
    /// (kind of path, first path seen as that kind).
    pub seen_as: Vec<(String, String)>,
    /// Path → indices into `commits` of the commits holding it there.
    pub placements: BTreeMap<String, Vec<u32>>,
    /// Attribution found nothing in it (a workflow whose analysis read
    /// other files): with the same objects a replay skips it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub barren: bool,
    /// Path → the groups of commits whose analysis gave findings there
    /// (indexes into `commits`; one empty list: the path's only group,
    /// all its commits; no list: none did). Attribution splits a path's
    /// commits into groups agreeing on the files its analysis read; a
    /// replay analyses only these again.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub groups: BTreeMap<String, Vec<Vec<u32>>>,
    /// Its first analysis gave warnings: a replay reads it again to give
    /// them again (the others are known to have findings and are only
    /// attributed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warned: bool,
}

/// Every kind, to read kinds back by name. A kind missing here makes a
/// record unreadable: a full walk, never a wrong answer.
const KINDS: [FileKind; 14] = [
    FileKind::Npmrc,
    FileKind::YarnrcYml,
    FileKind::YarnrcClassic,
    FileKind::Bunfig,
    FileKind::Lockfile,
    FileKind::PackageConfig,
    FileKind::Workflow,
    FileKind::CopiedWorkflow,
    FileKind::Action,
    FileKind::Dockerfile,
    FileKind::Compose,
    FileKind::EnvFile,
    FileKind::Script,
    FileKind::Other,
];

impl FoundBlob {
    pub fn new(blob: &BlobToScan, placements: BTreeMap<String, Vec<u32>>) -> FoundBlob {
        FoundBlob {
            id: blob.id.to_string(),
            root: blob.root.map(|r| r.to_string()),
            seen_as: blob
                .seen_as
                .iter()
                .map(|(k, p)| (format!("{k:?}"), p.clone()))
                .collect(),
            placements,
            barren: false,
            groups: BTreeMap::new(),
            warned: false,
        }
    }

    /// Back to what the sweep reads; `None` if anything does not parse.
    pub fn to_blob(&self) -> Option<BlobToScan> {
        let seen_as = self
            .seen_as
            .iter()
            .map(|(k, p)| {
                let kind = KINDS.iter().find(|kind| format!("{kind:?}") == *k)?;
                Some((*kind, p.clone()))
            })
            .collect::<Option<Vec<_>>>()?;
        if seen_as.is_empty() {
            return None;
        }
        Some(BlobToScan {
            id: parse_id(&self.id)?,
            seen_as,
            again: false,
            root: match &self.root {
                Some(r) => Some(parse_id(r)?),
                None => None,
            },
        })
    }
}

/// A full-length hex object id, SHA-1 or SHA-256 (a record of a
/// SHA-256 repository names its commits with 64 digits).
pub fn parse_id(hex: &str) -> Option<Oid> {
    ObjectFormat::Sha1
        .id_from_hex(hex)
        .or_else(|| ObjectFormat::Sha256.id_from_hex(hex))
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
    let older = match lines.next() {
        Some(HEADER) => false,
        Some(header) if OLDER_HEADERS.contains(&header) => true,
        _ => return Loaded::Unusable("not an npmsweep history cache (unknown header)".into()),
    };
    let Some(file_key) = lines.next().and_then(|l| l.strip_prefix("key ")) else {
        return Loaded::Unusable("damaged: no key line".into());
    };
    let mut clean = HashMap::new();
    let mut walk = None;
    let mut older_walk = false;
    for (n, line) in lines.enumerate() {
        if let Some(json) = line.strip_prefix("walk ") {
            if older {
                older_walk = true;
                continue;
            }
            match serde_json::from_str::<WalkRecord>(json) {
                Ok(record) if walk.is_none() => walk = Some(record),
                _ => return Loaded::Unusable(format!("damaged at line {}", n + 3)),
            }
            continue;
        }
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
        Loaded::Ready(SweepCache {
            clean,
            walk,
            older_walk,
        })
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

    /// Swept clean before under some kind of path (not necessarily all).
    pub fn was_seen(&self, id: Oid) -> bool {
        self.clean.contains_key(&id)
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
        if let Some(walk) = &self.walk {
            let json = serde_json::to_string(walk)
                .map_err(|e| format!("cannot write the cache {}: {e}", path.display()))?;
            // The record holds the paths of files with findings; a path that
            // names a secret (a file called after a token) would put it in
            // this file. Without the record the next sweep walks in full.
            if matches!(crate::redact::path(&json), std::borrow::Cow::Borrowed(_)) {
                text.push_str(&format!("walk {json}\n"));
            }
        }
        outfile::write(path, text.as_bytes(), Access::Default)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Does not compile when a `FileKind` is added: `KINDS` must name it
    /// too, or records holding blobs of that kind can never be replayed.
    fn kind_position(kind: FileKind) -> usize {
        match kind {
            FileKind::Npmrc => 0,
            FileKind::YarnrcYml => 1,
            FileKind::YarnrcClassic => 2,
            FileKind::Bunfig => 3,
            FileKind::Lockfile => 4,
            FileKind::PackageConfig => 5,
            FileKind::Workflow => 6,
            FileKind::CopiedWorkflow => 7,
            FileKind::Action => 8,
            FileKind::Dockerfile => 9,
            FileKind::Compose => 10,
            FileKind::EnvFile => 11,
            FileKind::Script => 12,
            FileKind::Other => 13,
        }
    }

    #[test]
    fn kinds_lists_every_file_kind() {
        for (i, kind) in KINDS.iter().enumerate() {
            assert_eq!(kind_position(*kind), i, "{kind:?}");
        }
    }

    /// A walk record holding a path named after a token is not written:
    /// the cache file must not carry the secret (the next sweep walks in
    /// full instead).
    #[test]
    fn a_walk_naming_a_secret_in_a_path_is_not_saved() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("cache");
        let token = crate::token::fake_token("npm_", 7);
        let record = |file: &str| WalkRecord {
            walk_key: "w".into(),
            base_key: "b".into(),
            commits: vec!["0123456789abcdef0123456789abcdef01234567".into()],
            times: vec![0],
            parents: vec![Vec::new()],
            other_tips: false,
            blobs: 1,
            found: vec![FoundBlob {
                id: "89abcdef0123456789abcdef0123456789abcdef".into(),
                root: None,
                seen_as: vec![("Other".into(), file.into())],
                placements: BTreeMap::from([(file.to_string(), vec![0])]),
                barren: false,
                groups: BTreeMap::new(),
                warned: false,
            }],
            unread: Vec::new(),
            notes: Vec::new(),
        };
        let mut cache = SweepCache {
            walk: Some(record("config/leak.txt")),
            ..SweepCache::default()
        };
        cache.save(&path, "k").unwrap();
        assert!(std::fs::read_to_string(&path).unwrap().contains("\nwalk "));

        cache.walk = Some(record(&format!("backup/{token}.txt")));
        cache.save(&path, "k").unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&token), "{text}");
        assert!(!text.contains("\nwalk "));
    }

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

    /// A file of the previous format: its clean blobs still count, its walk
    /// record (no commit graph) is ignored and said so, never replayed.
    #[test]
    fn an_older_walk_record_is_ignored_and_its_clean_blobs_kept() {
        let dir = tempfile::TempDir::new().unwrap();
        let path = dir.path().join("cache");
        let id = "0123456789abcdef0123456789abcdef01234567";
        std::fs::write(
            &path,
            format!("npmsweep history cache v2\nkey k\n{id} 1\nwalk {{\"walk_key\":\"w\"}}\n"),
        )
        .unwrap();
        let Loaded::Ready(loaded) = load(&path, "k") else {
            panic!("not ready")
        };
        assert!(loaded.walk.is_none());
        assert!(loaded.older_walk);
        assert!(loaded.was_seen(Oid::from_str(id).unwrap()));
        // Written back in the current format.
        loaded.save(&path, "k").unwrap();
        let Loaded::Ready(again) = load(&path, "k") else {
            panic!("not ready")
        };
        assert!(!again.older_walk);
        assert!(std::fs::read_to_string(&path).unwrap().starts_with(HEADER));
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
