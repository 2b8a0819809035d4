//! Base64 layer: a Kubernetes Secret's `data:` value, `echo <b64> | base64
//! -d > ~/.npmrc`, a base64 value of `NPM_TOKEN`. Decoded and scanned with
//! every detector; hits are reported at the encoded run.
//!
//! The prefilter is one Aho-Corasick pass for the *encoded* forms of the
//! `.npmrc` auth keys and the token prefix ([`ENCODED_MARKERS`] at each of
//! the three byte alignments, standard and URL-safe alphabets); in files
//! that hold environment maps (YAML, `.env`, scripts, Dockerfiles) a second
//! pass looks for the variable names followed by a base64 value. Lockfile
//! integrity hashes and other base64 blobs never match, so they are never
//! decoded; lockfiles themselves are skipped. Each marker costs a pass at
//! several GB/s, so the list is short on purpose: the names, frequent in
//! ordinary code, are only searched where a base64 value of one is plausible.

use super::{OffsetMap, SubDocument};
use crate::detect::{FileKind, Item};
use aho_corasick::AhoCorasick;
use base64::Engine;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use std::sync::OnceLock;

/// Encoded runs shorter than this cannot hold a credential worth reporting.
const MIN_RUN: usize = 16;
/// Longer runs are not decoded (a base64 image, a bundled font).
const MAX_RUN: usize = 1 << 20;
/// At most this many runs are decoded per item.
const MAX_RUNS: usize = 64;

/// Variable names whose base64 value is decoded even when the decoded
/// value carries no marker (`NPM_TOKEN: <base64 of a UUID>` in a Secret).
pub const NAMES: &[&str] = &[
    "NPM_TOKEN",
    "NPM_AUTH_TOKEN",
    "NODE_AUTH_TOKEN",
    "NPM_CONFIG__AUTH",
    "npm_config__auth",
    "npmAuthToken",
];

/// Markers searched for in encoded form: the `.npmrc` auth keys (`_auth`
/// covers `_authToken`) and the `npm_` token prefix.
pub const ENCODED_MARKERS: &[&str] = &["_auth", "_password", "npm_"];

/// A multi-pattern searcher. Teddy (SIMD) when the CPU has it: the general
/// automaton's prefilter choice depends on pattern order and can fall to a
/// byte-at-a-time scan, ten times slower on these needles.
pub enum Needles {
    Packed(aho_corasick::packed::Searcher),
    Automaton(AhoCorasick),
}

impl Needles {
    pub fn new<S: AsRef<[u8]>>(needles: &[S]) -> Needles {
        match aho_corasick::packed::Config::new()
            .builder()
            .extend(needles)
            .build()
        {
            Some(s) => Needles::Packed(s),
            None => Needles::Automaton(AhoCorasick::new(needles).expect("valid automaton")),
        }
    }

    /// Pattern index and start of every non-overlapping match.
    pub fn find_pattern_iter<'a>(
        &'a self,
        bytes: &'a [u8],
    ) -> Box<dyn Iterator<Item = (usize, usize)> + 'a> {
        match self {
            Needles::Packed(s) => Box::new(
                s.find_iter(bytes)
                    .map(|m| (m.pattern().as_usize(), m.start())),
            ),
            Needles::Automaton(a) => Box::new(
                a.find_iter(bytes)
                    .map(|m| (m.pattern().as_usize(), m.start())),
            ),
        }
    }

    /// Start and end of every non-overlapping match.
    pub fn find_iter<'a>(
        &'a self,
        bytes: &'a [u8],
    ) -> Box<dyn Iterator<Item = (usize, usize)> + 'a> {
        match self {
            Needles::Packed(s) => Box::new(s.find_iter(bytes).map(|m| (m.start(), m.end()))),
            Needles::Automaton(a) => Box::new(a.find_iter(bytes).map(|m| (m.start(), m.end()))),
        }
    }
}

/// The encoded forms of [`ENCODED_MARKERS`].
pub fn encoded_marker_needles() -> Vec<String> {
    let mut needles: Vec<String> = Vec::new();
    for marker in ENCODED_MARKERS {
        for needle in encoded_needles(marker.as_bytes()) {
            if !needles.contains(&needle) {
                needles.push(needle);
            }
        }
    }
    needles
}

fn encoded_markers() -> &'static Needles {
    static SEARCHER: OnceLock<Needles> = OnceLock::new();
    SEARCHER.get_or_init(|| Needles::new(&encoded_marker_needles()))
}

fn names() -> &'static Needles {
    static SEARCHER: OnceLock<Needles> = OnceLock::new();
    SEARCHER.get_or_init(|| Needles::new(NAMES))
}

/// Files where `NAME: <base64>` is plausible: environment maps.
pub fn holds_env_maps(path: &str, kinds: &[FileKind]) -> bool {
    let lower = path.to_ascii_lowercase();
    lower.ends_with(".yml")
        || lower.ends_with(".yaml")
        || kinds.iter().any(|k| {
            matches!(
                k,
                FileKind::EnvFile
                    | FileKind::Script
                    | FileKind::Compose
                    | FileKind::Dockerfile
                    | FileKind::Workflow
                    | FileKind::Action
            )
        })
}

/// The base64 characters that depend only on `marker`'s bytes, for each of
/// the three positions it can take relative to a 3-byte group, in the
/// standard and the URL-safe alphabets.
pub fn encoded_needles(marker: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for shift in 0..3 {
        let mut bytes = vec![0u8; shift];
        bytes.extend_from_slice(marker);
        let encoded = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&bytes);
        // Character i covers bits [6i, 6i+6); the marker covers
        // [8*shift, 8*(shift+len)).
        let first = (8 * shift).div_ceil(6);
        let last = (8 * (shift + marker.len())) / 6; // exclusive
        if last > first + 3 {
            let needle = &encoded[first..last];
            out.push(needle.to_string());
            let url_safe = needle.replace('+', "-").replace('/', "_");
            if url_safe != needle {
                out.push(url_safe);
            }
        }
    }
    out
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

/// The base64 run around `at`: alphabet characters, then `=` padding.
fn run_around(bytes: &[u8], at: usize) -> std::ops::Range<usize> {
    let mut start = at;
    while start > 0 && is_b64(bytes[start - 1]) && at - start < MAX_RUN {
        start -= 1;
    }
    let mut end = at;
    while end < bytes.len() && is_b64(bytes[end]) && end - start < MAX_RUN {
        end += 1;
    }
    while end < bytes.len() && bytes[end] == b'=' && end - start < MAX_RUN {
        end += 1;
    }
    start..end
}

/// Decode a run in whichever alphabet it uses, padding optional.
pub fn decode(run: &[u8]) -> Option<Vec<u8>> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let url_safe = run.iter().any(|b| matches!(b, b'-' | b'_'));
    let engine = if url_safe {
        GeneralPurpose::new(&alphabet::URL_SAFE, config)
    } else {
        GeneralPurpose::new(&alphabet::STANDARD, config)
    };
    engine.decode(run).ok()
}

pub fn find(item: &Item, kinds: &[FileKind], docs: &mut Vec<SubDocument>) {
    if kinds.contains(&FileKind::Lockfile) {
        return;
    }
    let bytes = item.bytes;
    let mut runs = Vec::new();
    let mut last_end = 0;
    for (start, _) in encoded_markers().find_iter(bytes) {
        if start < last_end {
            continue;
        }
        let run = run_around(bytes, start);
        // Hits inside a run already looked at are skipped, whatever its fate.
        last_end = run.end;
        runs.push((run, None));
    }
    if holds_env_maps(item.path, kinds) {
        for (start, end) in names().find_iter(bytes) {
            // Part of a longer name (`MYNPM_TOKEN`) is not this name.
            if start > 0 && bytes[start - 1].is_ascii_alphanumeric() {
                continue;
            }
            if let Some(value) = assigned_value(bytes, end) {
                runs.push((run_around(bytes, value), Some(start..end)));
            }
        }
    }
    for (run, name) in runs.into_iter().take(MAX_RUNS) {
        if !(MIN_RUN..MAX_RUN).contains(&(run.end - run.start)) {
            continue;
        }
        let Some(decoded) = decode(&bytes[run.clone()]) else {
            continue;
        };
        if !super::looks_like_text(&decoded) {
            continue;
        }
        let doc = match name {
            None if super::has_credential_marker(&decoded) => SubDocument {
                kinds: kinds_of(&decoded),
                map: OffsetMap::base64(decoded.len(), run),
                bytes: decoded,
                detail: ("encoding", "base64"),
                strict: false,
            },
            None => continue,
            Some(name) => {
                // `NAME=<decoded>` is what the value means; the name maps
                // to the name, the value to the encoded run.
                let mut text = bytes[name.clone()].to_vec();
                text.push(b'=');
                let mut map = OffsetMap::default();
                map.push(text.len(), name);
                let value = OffsetMap::base64(decoded.len(), run);
                for (_, len, outer) in value.pieces {
                    map.push(len, outer);
                }
                text.extend_from_slice(&decoded);
                SubDocument {
                    kinds: vec![FileKind::EnvFile],
                    map,
                    bytes: text,
                    detail: ("encoding", "base64"),
                    strict: false,
                }
            }
        };
        docs.push(doc);
    }
}

/// After a variable name: `: `, `=`, `": "` and the start of the value.
fn assigned_value(bytes: &[u8], mut at: usize) -> Option<usize> {
    let limit = (at + 8).min(bytes.len());
    let mut saw_separator = false;
    while at < limit {
        match bytes[at] {
            b'"' | b'\'' | b' ' | b'\t' => at += 1,
            b':' | b'=' if !saw_separator => {
                saw_separator = true;
                at += 1;
            }
            b if saw_separator && is_b64(b) => return Some(at),
            _ => return None,
        }
    }
    None
}

/// How decoded content is parsed: as npm configuration and as an
/// environment file (the shapes a decoded secret takes), as Yarn's
/// configuration when it names Yarn's keys.
fn kinds_of(decoded: &[u8]) -> Vec<FileKind> {
    let mut kinds = vec![FileKind::Npmrc, FileKind::EnvFile];
    if memchr::memmem::find(decoded, b"npmAuth").is_some() {
        kinds.push(FileKind::YarnrcYml);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectOptions, detect};
    use crate::finding::Origin;
    use crate::token::fake_token;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn scan(path: &str, text: &str) -> Vec<crate::finding::Finding> {
        let item = Item {
            path,
            bytes: text.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        detect(&item, &[FileKind::of(path)], &DetectOptions::default()).findings
    }

    #[test]
    fn needles_are_found_at_every_alignment() {
        let needles = encoded_needles(b"_authToken");
        for pad in ["", "a", "ab"] {
            let encoded = b64(&format!("{pad}//r.example/:_authToken=x"));
            assert!(
                needles.iter().any(|n| encoded.contains(n.as_str())),
                "{pad:?}"
            );
        }
    }

    #[test]
    fn kubernetes_secret_data_is_decoded() {
        let token = fake_token("npm_", 11);
        let npmrc = format!("//registry.npmjs.org/:_authToken={token}\n");
        let yaml = format!(
            "apiVersion: v1\nkind: Secret\ndata:\n  .npmrc: {}\n",
            b64(&npmrc)
        );
        let f = scan("k8s/secret.yaml", &yaml);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "npm-token");
        assert_eq!(f[0].span.start_line, 4);
        // The run starts at column 11; the token is decoded bytes 33.., the
        // 12th group of three, encoded from character 44 of the run.
        assert_eq!(f[0].span.start_column, 11 + 44);
        assert_eq!(f[0].details["encoding"].as_str(), "base64");
        assert!(
            f[0].message.contains("decoded from base64"),
            "{}",
            f[0].message
        );
    }

    #[test]
    fn a_base64_value_of_an_npm_variable_is_decoded() {
        let uuid = "5b3c9d7e-2f41-4a86-9c0d-7e1f2a3b4c5d";
        let yaml = format!("kind: Secret\ndata:\n  NPM_TOKEN: {}\n", b64(uuid));
        let f = scan("secret.yaml", &yaml);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "npm-legacy-token");
        assert_eq!(f[0].span.start_line, 3);
        // A reference stays a reference, encoded or not.
        let yaml = format!("data:\n  NPM_TOKEN: {}\n", b64("${NPM_TOKEN}"));
        assert!(scan("secret.yaml", &yaml).is_empty());
    }

    #[test]
    fn echo_base64_into_npmrc() {
        let pat = format!("ghp_{}", "R4nd0mL00k1ng".repeat(3));
        let npmrc = format!("//npm.pkg.github.com/:_authToken={pat}\n");
        let sh = format!("echo {} | base64 -d > ~/.npmrc\n", b64(&npmrc));
        let f = scan("deploy.sh", &sh);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "npmrc-literal-auth-token");
        assert_eq!(f[0].span.start_column, 6 + 44);
    }

    #[test]
    fn integrity_hashes_and_plain_base64_are_not_decoded() {
        let lock = "{\"integrity\": \"sha512-Q2hlY2tzdW1zIGFyZSBub3Qgc2VjcmV0cywganVzdCBoYXNoZXMgb2YgdGFyYmFsbHM=\"}\n";
        let item = Item {
            path: "package-lock.json",
            bytes: lock.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        let mut docs = Vec::new();
        find(&item, &[FileKind::Lockfile], &mut docs);
        assert!(docs.is_empty());
        find(&item, &[FileKind::Other], &mut docs);
        assert!(docs.is_empty());
    }
}
