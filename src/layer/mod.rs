//! Layers: content inside content. An `.npmrc` written in a YAML block
//! scalar, a heredoc, a code string or a Markdown code block; a base64 or
//! percent-encoded value; the members of an archive. Each layer finds
//! [`SubDocument`]s in an item — the inner bytes and a map from inner to
//! outer offsets — and runs every detector on them, so an embedded `.npmrc`
//! is parsed by the same code as a real one. Hits come back at the outer
//! position, with a detail saying which layer they came through.
//!
//! Layers engage only on cheap prefilter hits (a literal marker, an encoded
//! marker, an archive's magic bytes), so ordinary files cost one or two
//! vectorised searches. Nesting (base64 inside a YAML block scalar, a
//! tarball inside a zip) is bounded by [`MAX_DEPTH`].

pub mod archive;
pub mod base64;
pub mod embedded;
pub mod percent;

use crate::detect::lines::LineIndex;
use crate::detect::{self, DetectOptions, FileKind, Hit, Item, Sink};
use std::ops::Range;
use std::sync::OnceLock;

/// How many layers deep detection goes (a base64 value in a block scalar
/// is two; an archive inside an archive is two).
pub const MAX_DEPTH: usize = 3;

/// A document inside an item.
pub struct SubDocument {
    pub bytes: Vec<u8>,
    pub map: OffsetMap,
    /// How the inner bytes are parsed.
    pub kinds: Vec<FileKind>,
    /// The detail every hit gets: (`embedded_in`, "a YAML block scalar") or
    /// (`encoding`, "base64").
    pub detail: (&'static str, &'static str),
    /// Only credential-shaped secrets are reported from this document (see
    /// [`looks_like_credential`]): string literals in code and examples in
    /// documentation are full of test values (`abc`, `MYTOKEN`,
    /// `some-employee-token`).
    pub strict: bool,
}

/// At least 16 characters mixing letters and digits or lower and upper
/// case: every issued token does (UUIDs, `ghp_…`, `glpat-…`, JWTs,
/// Artifactory and Nexus tokens); words and `MYTOKEN1` do not.
pub fn looks_like_credential(value: &str) -> bool {
    let classes = [
        value.chars().any(|c| c.is_ascii_lowercase()),
        value.chars().any(|c| c.is_ascii_uppercase()),
        value.chars().any(|c| c.is_ascii_digit()),
    ];
    value.chars().count() >= 16 && classes.iter().filter(|c| **c).count() >= 2
}

/// Inner offsets to outer offsets: pieces, each either copied verbatim (same
/// length: offsets map one to one) or transformed (an escape, a base64 run:
/// any inner offset maps to the whole outer piece).
#[derive(Debug, Default, Clone)]
pub struct OffsetMap {
    /// (inner start, inner length, outer range), by inner start.
    pieces: Vec<(usize, usize, Range<usize>)>,
    inner_len: usize,
}

impl OffsetMap {
    /// Every inner byte comes from the whole of `outer`.
    pub fn whole(inner_len: usize, outer: Range<usize>) -> OffsetMap {
        let mut map = OffsetMap::default();
        map.push(inner_len, outer);
        map
    }

    /// Bytes decoded from the base64 run at `outer`: every 3 decoded bytes
    /// come from 4 characters, so a decoded secret points at the characters
    /// that encode it.
    pub fn base64(decoded_len: usize, outer: Range<usize>) -> OffsetMap {
        let mut map = OffsetMap::default();
        for group in (0..decoded_len).step_by(3) {
            let start = (outer.start + group / 3 * 4).min(outer.end);
            let end = (start + 4).min(outer.end);
            map.push((decoded_len - group).min(3), start..end);
        }
        map
    }

    /// The next `inner_len` inner bytes come from `outer` (verbatim when the
    /// lengths agree).
    pub fn push(&mut self, inner_len: usize, outer: Range<usize>) {
        if let Some(last) = self.pieces.last_mut() {
            // Merge verbatim pieces that continue each other.
            let verbatim = last.1 == last.2.len() && inner_len == outer.len();
            if verbatim && last.2.end == outer.start {
                last.1 += inner_len;
                last.2.end = outer.end;
                self.inner_len += inner_len;
                return;
            }
        }
        self.pieces.push((self.inner_len, inner_len, outer));
        self.inner_len += inner_len;
    }

    fn piece(&self, inner: usize) -> Option<&(usize, usize, Range<usize>)> {
        let i = self.pieces.partition_point(|p| p.0 <= inner);
        self.pieces.get(i.checked_sub(1)?)
    }

    /// The outer range an inner range comes from.
    pub fn outer(&self, inner: Range<usize>) -> Range<usize> {
        let Some(first) = self.piece(inner.start) else {
            return 0..0;
        };
        let start = if first.1 == first.2.len() {
            first.2.start + (inner.start - first.0)
        } else {
            first.2.start
        };
        let last_byte = inner.end.max(inner.start + 1) - 1;
        let last = self.piece(last_byte).unwrap_or(first);
        let end = if last.1 == last.2.len() {
            (last.2.start + (inner.end - last.0)).min(last.2.end)
        } else {
            last.2.end
        };
        start..end.max(start)
    }
}

/// Find the sub-documents of an item and add what the detectors find in
/// them to `sink`, at outer positions. Archive members become findings of
/// their own paths (`archive.tgz!package/.npmrc`).
pub fn expand(item: &Item, kinds: &[FileKind], opts: &DetectOptions, sink: &mut Sink) {
    // Binary content (a NUL in the first 8 KiB) holds no text containers;
    // only its archive magic matters.
    if archive::expand(item, opts, sink)
        || opts.layer_depth >= MAX_DEPTH
        || crate::scan::looks_binary(item.bytes)
    {
        return;
    }
    let triggers = Triggers::of(item.bytes);
    // `NPM_TOKEN: <base64>` is looked for in environment maps whatever the
    // trigger: the names are too frequent elsewhere to search for cheaply.
    let env_maps = base64::holds_env_maps(item.path, kinds);
    let mut docs = Vec::new();
    if triggers.embedded {
        embedded::find(item, kinds, &mut docs);
    }
    if triggers.base64 || env_maps {
        base64::find(item, kinds, &mut docs);
    }
    if triggers.percent {
        percent::find(item, kinds, &mut docs);
    }
    if docs.is_empty() {
        return;
    }
    let deeper = DetectOptions {
        layer_depth: opts.layer_depth + 1,
        ..opts.clone()
    };
    let mut outer_lines = None;
    for doc in docs {
        let mut inner_lines = None;
        let sub = Item {
            path: item.path,
            bytes: &doc.bytes,
            origin: item.origin.clone(),
            tree: item.tree,
        };
        // Warnings about the inner text (a decoded value that is not a
        // valid config) are not the user's problem: the layer guessed.
        let inner = detect::collect(&sub, &doc.kinds, &deeper);
        sink.findings.extend(inner.findings);
        for mut hit in inner.hits {
            if doc.strict
                && hit
                    .secret
                    .as_ref()
                    .is_some_and(|s| !looks_like_credential(s.expose()))
            {
                continue;
            }
            let outer = doc.map.outer(hit.range.clone());
            let inner_lines = inner_lines.get_or_insert_with(|| LineIndex::new(&doc.bytes));
            let outer_lines = outer_lines.get_or_insert_with(|| LineIndex::new(item.bytes));
            hit.message = relocate_line(
                &hit.message,
                inner_lines.position(hit.range.start).0,
                outer_lines.position(outer.start).0,
            );
            hit.message.push_str(&match doc.detail.0 {
                "encoding" => format!(" (decoded from {})", doc.detail.1),
                _ => format!(" (in {})", doc.detail.1),
            });
            hit.range = outer;
            // A layer hit already found in place (by the direct detectors
            // or another layer) is the same finding.
            if !hit.details.contains_key(doc.detail.0) {
                hit.details
                    .insert(doc.detail.0.to_string(), doc.detail.1.to_string());
            }
            // A literal taken as an opaque credential at a name (the base64
            // text itself, an `_auth=` value) says less than what the layer
            // decoded or parsed in it: the layer's finding replaces it.
            sink.hits.retain(|h| {
                !(h.rule_id == crate::detect::envassign::RULE_ASSIGNMENT
                    && h.range.start < hit.range.end
                    && hit.range.start < h.range.end)
            });
            if !already_found(&sink.hits, &hit) {
                sink.hits.push(hit);
            }
        }
    }
}

/// Which layers an item can hold: one SIMD (Teddy) pass over it for the
/// literal triggers of the embedded and base64 layers (`_auth`/`_password`,
/// the encoded markers), one `memchr` pass for the percent escapes that
/// start a marker. Each layer then looks closer only when triggered.
#[derive(Default)]
struct Triggers {
    embedded: bool,
    base64: bool,
    percent: bool,
}

impl Triggers {
    fn of(bytes: &[u8]) -> Triggers {
        static SEARCHER: OnceLock<(base64::Needles, Vec<u8>)> = OnceLock::new();
        let (searcher, layer_of) = SEARCHER.get_or_init(|| {
            let mut needles: Vec<String> = Vec::new();
            let mut layer_of = Vec::new();
            // Only needles of 4 bytes and more: Teddy's fingerprints are then
            // selective (3-byte escapes and the frequent variable names made
            // this pass twice as slow; they have their own cheaper gates).
            let groups: [(u8, Vec<String>); 2] = [
                (0, vec!["_auth".into(), "_password".into()]),
                (1, base64::encoded_marker_needles()),
            ];
            for (layer, group) in groups {
                for needle in group {
                    needles.push(needle);
                    layer_of.push(layer);
                }
            }
            (base64::Needles::new(&needles), layer_of)
        });
        let mut t = Triggers {
            percent: percent::has_marker_escape(bytes),
            ..Triggers::default()
        };
        for (index, _) in searcher.find_pattern_iter(bytes) {
            match layer_of[index] {
                0 => t.embedded = true,
                _ => t.base64 = true,
            }
            if t.embedded && t.base64 {
                break;
            }
        }
        t
    }
}

/// Is the same secret already reported at overlapping bytes?
fn already_found(hits: &[Hit], hit: &Hit) -> bool {
    let Some(secret) = &hit.secret else {
        return false;
    };
    hits.iter().any(|h| {
        h.secret.as_ref().is_some_and(|s| s == secret)
            && h.range.start < hit.range.end.max(hit.range.start + 1)
            && hit.range.start < h.range.end.max(h.range.start + 1)
    })
}

/// Detector messages name the line they saw (`…, line 3`); inside a
/// sub-document that is the inner line, so it becomes the outer one.
fn relocate_line(message: &str, inner_line: usize, outer_line: usize) -> String {
    let inner = format!(", line {inner_line}");
    match message.find(&inner) {
        Some(at) if !message[at + inner.len()..].starts_with(|c: char| c.is_ascii_digit()) => {
            format!(
                "{}, line {outer_line}{}",
                &message[..at],
                &message[at + inner.len()..]
            )
        }
        _ => message.to_string(),
    }
}

/// Does the text hold a marker of npm credentials worth parsing for?
pub fn has_credential_marker(bytes: &[u8]) -> bool {
    use aho_corasick::AhoCorasick;
    use std::sync::OnceLock;
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| AhoCorasick::new(MARKERS).expect("valid automaton"))
        .is_match(bytes)
}

/// Literal markers of npm credentials: `.npmrc` auth keys, the token prefix,
/// Yarn's keys and the common variable names.
pub const MARKERS: &[&str] = &[
    "_auth",
    "_password",
    "npm_",
    "npmAuth",
    "NPM_TOKEN",
    "NPM_AUTH_TOKEN",
    "NODE_AUTH_TOKEN",
    "NPM_CONFIG__AUTH",
];

/// Mostly printable text (decoded bytes worth running detectors on).
pub fn looks_like_text(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let printable = text
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\r' | '\t'))
        .count();
    printable * 20 >= text.chars().count() * 19
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_maps_verbatim_and_transformed_pieces() {
        let mut map = OffsetMap::default();
        map.push(3, 10..13); // "abc" verbatim
        map.push(1, 13..16); // "%41" -> "A"
        map.push(2, 16..18); // verbatim
        assert_eq!(map.outer(0..3), 10..13);
        assert_eq!(map.outer(1..2), 11..12);
        assert_eq!(map.outer(2..5), 12..17);
        assert_eq!(map.outer(3..4), 13..16);
        let whole = OffsetMap::whole(30, 5..45);
        assert_eq!(whole.outer(7..9), 5..45);
        // "abcdef" is "YWJjZGVm": "cd" comes from both groups of four.
        let b64 = OffsetMap::base64(6, 10..18);
        assert_eq!(b64.outer(2..4), 10..18);
        assert_eq!(b64.outer(3..6), 14..18);
        assert_eq!(b64.outer(0..1), 10..14);
    }

    #[test]
    fn credential_shapes() {
        assert!(looks_like_credential(
            "5b3c9d7e-2f41-4a86-9c0d-7e1f2a3b4c5d"
        ));
        assert!(looks_like_credential("glpat-AbCdEfGhIjKlMnOpQrSt"));
        assert!(!looks_like_credential("some-employee-token"));
        assert!(!looks_like_credential("MYTOKEN1"));
        assert!(!looks_like_credential("THIS_IS_MY_NPM_TOKEN"));
    }

    #[test]
    fn text_check_rejects_binary() {
        assert!(looks_like_text(b"//r.example/:_authToken=abc\n"));
        assert!(!looks_like_text(&[0x00, 0x01, 0x02, b'a']));
        assert!(!looks_like_text(&[0xff, 0xfe]));
    }
}
