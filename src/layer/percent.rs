//! Percent-encoding layer: an `npm_` token written `npm%5F…` in a URL, a
//! whole registry URL with credentials passed as a query parameter
//! (`?registry=https%3A%2F%2Fuser%3Apass%40host`), an encoded `.npmrc` line.
//! The run is decoded with the `percent-encoding` crate and scanned with the
//! detectors of the file it sits in; hits point at the encoded bytes.

use super::{OffsetMap, SubDocument};
use crate::detect::{FileKind, Item};
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use std::sync::OnceLock;

/// Encoded markers: `npm_`, `://`, `:_auth`, `_authToken=`.
const NEEDLES: &[&str] = &[
    "npm%5F",
    "%3A%2F%2F",
    "%3A_auth",
    "_authToken%3D",
    "_auth%3D",
];

/// Bounds on one encoded run, each side of the marker.
const MAX_SIDE: usize = 4096;

fn automaton() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(NEEDLES)
            .expect("valid automaton")
    })
}

/// Bytes that end an encoded run: whitespace, quotes, brackets.
fn ends_run(b: u8) -> bool {
    b.is_ascii_whitespace()
        || matches!(
            b,
            b'"' | b'\'' | b'`' | b'<' | b'>' | b'(' | b')' | b'[' | b']' | b'{' | b'}' | b'\\'
        )
}

/// Is there an escape that can start a marker (`%5F`, `%3A`, `%3D`)? One
/// `memchr` pass, before the automaton.
pub fn has_marker_escape(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'%', bytes).any(|i| {
        matches!(
            bytes.get(i + 1..i + 3),
            Some(b"5F" | b"5f" | b"3A" | b"3a" | b"3D" | b"3d")
        )
    })
}

pub fn find(item: &Item, kinds: &[FileKind], docs: &mut Vec<SubDocument>) {
    let bytes = item.bytes;
    if !has_marker_escape(bytes) {
        return;
    }
    let mut last_end = 0;
    for m in automaton().find_iter(bytes) {
        if m.start() < last_end {
            continue;
        }
        let mut start = m.start();
        while start > 0 && !ends_run(bytes[start - 1]) && m.start() - start < MAX_SIDE {
            start -= 1;
        }
        let mut end = m.end();
        while end < bytes.len() && !ends_run(bytes[end]) && end - m.end() < MAX_SIDE {
            end += 1;
        }
        last_end = end;
        let (decoded, map) = decode(&bytes[start..end], start);
        let mut kinds = kinds.to_vec();
        if memchr::memmem::find(&decoded, b"_auth").is_some() && !kinds.contains(&FileKind::Npmrc) {
            kinds.push(FileKind::Npmrc);
        }
        docs.push(SubDocument {
            bytes: decoded,
            map,
            kinds,
            detail: ("encoding", "percent-encoding"),
            strict: false,
        });
    }
}

/// Decode `run` (which starts at `offset` in the item) and map every
/// decoded byte back: literal bytes one to one, an escape to its 3 bytes.
fn decode(run: &[u8], offset: usize) -> (Vec<u8>, OffsetMap) {
    let mut out = Vec::with_capacity(run.len());
    let mut map = OffsetMap::default();
    let mut i = 0;
    while i < run.len() {
        let next = memchr::memchr(b'%', &run[i..]).map_or(run.len(), |p| i + p);
        if next > i {
            out.extend_from_slice(&run[i..next]);
            map.push(next - i, offset + i..offset + next);
        }
        if next >= run.len() {
            break;
        }
        // One escape at a time through the crate; a lone `%` stays.
        let escape = &run[next..(next + 3).min(run.len())];
        let decoded: Vec<u8> = percent_encoding::percent_decode(escape).collect();
        if decoded.len() == 1 && escape.len() == 3 {
            out.push(decoded[0]);
            map.push(1, offset + next..offset + next + 3);
            i = next + 3;
        } else {
            out.push(b'%');
            map.push(1, offset + next..offset + next + 1);
            i = next + 1;
        }
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectOptions, detect};
    use crate::finding::Origin;
    use crate::token::fake_token;

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
    fn an_encoded_token_in_a_url_is_found_at_its_encoded_bytes() {
        let token = fake_token("npm_", 21);
        let encoded = token.replacen('_', "%5F", 1);
        let text = format!("see https://example.com/cb?token={encoded}&x=1 for details\n");
        let f = scan("notes.txt", &text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "npm-token");
        let col = text.find(&encoded).unwrap() + 1;
        assert_eq!(f[0].span.start_column, col);
        assert_eq!(f[0].span.end_column, col + encoded.len());
        assert_eq!(f[0].details["encoding"].as_str(), "percent-encoding");
    }

    #[test]
    fn an_encoded_registry_url_with_credentials() {
        let text = "{\"scripts\": {\"x\": \"open https://ci.example/?registry=https%3A%2F%2Fdeploy%3As3cr3tPassw0rd99%40npm.example.com%2F\"}}\n";
        let f = scan("package.json", text);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].rule_id, "registry-url-credentials");
        let at = text.find("s3cr3t").unwrap() + 1;
        assert_eq!(f[0].span.start_column, at);
        // The same URL in a file that holds no registry configuration is not
        // parsed for URL credentials (as when it is not encoded).
        assert!(scan("notes.txt", text).is_empty());
    }

    #[test]
    fn decoding_maps_escapes_to_their_three_bytes() {
        let (d, map) = decode(b"a%5Fb%zz", 10);
        assert_eq!(d, b"a_b%zz");
        assert_eq!(map.outer(1..2), 11..14);
        assert_eq!(map.outer(2..3), 14..15);
        assert_eq!(map.outer(3..6), 15..18);
    }
}
