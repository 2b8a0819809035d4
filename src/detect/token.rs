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
        // A token starts at a word boundary: `process.env.npm_config_x`
        // and `my_npm_thing` are identifiers, not tokens.
        if start > 0 && is_word_byte(bytes[start - 1]) {
            continue;
        }
        let end = start + NPM_TOKEN_LEN;
        if end > bytes.len() {
            continue;
        }
        let window = &bytes[start..end];
        if !shape().is_match(window) {
            continue;
        }
        if bytes.get(end).is_some_and(|&b| is_word_byte(b)) {
            continue;
        }
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
        } else if opts.include_invalid_tokens && !super::values::is_placeholder(&token, &[]) {
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
