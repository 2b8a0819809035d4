//! The `npm_` token matcher: an Aho-Corasick prefilter over the literal
//! anchor, a regex confirming the shape next to each hit, then the CRC-32
//! checksum. Runs on every item, text or binary.

use super::{DetectOptions, Hit, Item, Sink};
use crate::token::{NPM_TOKEN_LEN, is_valid_npm_token};
use aho_corasick::AhoCorasick;
use regex::bytes::Regex;
use std::sync::OnceLock;

pub const RULE_VALID: &str = "npm-token";
pub const RULE_INVALID: &str = "npm-token-invalid-checksum";

/// The literal anchors of every "anywhere" rule. One automaton, one pass.
fn prefilter() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| AhoCorasick::new(["npm_"]).expect("valid automaton"))
}

/// Confirms the token shape at a prefilter hit: exactly 36 base62
/// characters. Anchored, so it only ever looks at 40 bytes; the checksum
/// then decides.
fn shape() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"^npm_[0-9A-Za-z]{36}").expect("valid regex"))
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let bytes = item.bytes;
    for m in prefilter().find_iter(bytes) {
        let start = m.start();
        let end = start + NPM_TOKEN_LEN;
        if end > bytes.len() {
            continue;
        }
        let window = &bytes[start..end];
        if !shape().is_match(window) {
            continue;
        }
        // A string shaped like a token usually starts and ends at a word
        // boundary (`my_npm_thing` is an identifier). A checksum-valid one is
        // a token whatever surrounds it — `"…\nnpm_…"` in a JSON string,
        // `token%3Dnpm_…` URL-encoded, `base64:npm_…x` in a log — since 36
        // characters pass the CRC-32 by chance once in 2^32.
        let left = start == 0 || !is_word_byte(bytes[start - 1]);
        let right = !bytes.get(end).is_some_and(|&b| is_word_byte(b));
        let bounded = left && right;
        let token = String::from_utf8_lossy(window).into_owned();
        if is_valid_npm_token(window) {
            sink.hit(
                Hit::new(
                    RULE_VALID,
                    start..end,
                    "npm access token with a valid checksum",
                )
                .with_secret(token)
                .with_detail("checksum", "valid"),
            );
        } else if bounded
            && opts.include_invalid_tokens
            && !super::values::is_placeholder(&token, &[])
        {
            sink.hit(
                Hit::new(
                    RULE_INVALID,
                    start..end,
                    "string shaped like an npm token whose checksum does not match (example, test data or a corrupted token)",
                )
                .with_secret(token)
                .with_detail("checksum", "invalid"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::{fake_invalid_token, fake_token};

    fn found(text: &str, include_invalid: bool) -> Vec<(&'static str, String)> {
        let mut sink = Sink::default();
        let item = Item {
            path: "x.json",
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        let opts = DetectOptions {
            include_invalid_tokens: include_invalid,
            ..DetectOptions::default()
        };
        detect(&item, &opts, &mut sink);
        sink.hits
            .iter()
            .map(|h| (h.rule_id, text[h.range.clone()].to_string()))
            .collect()
    }

    #[test]
    fn valid_tokens_need_no_word_boundary() {
        let t = fake_token("npm_", 1);
        for text in [
            format!("\"auth:\\n{t}\""),
            format!("?token%3D{t}&x=1"),
            format!("npm_{t}"),
            format!("{t}_suffix"),
        ] {
            assert_eq!(found(&text, false), vec![(RULE_VALID, t.clone())], "{text}");
        }
        // Invalid checksums still need boundaries (identifiers, examples).
        let bad = fake_invalid_token(3);
        assert!(found(&format!("x{bad}"), true).is_empty());
        assert_eq!(found(&format!(" {bad} "), true), vec![(RULE_INVALID, bad)]);
    }
}
