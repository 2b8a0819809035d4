//! A token in an item's path: a file or directory named after a
//! checksum-valid npm token. Every output prints paths redacted
//! ([`crate::redact::path`]), so without this finding such a token would be
//! hidden in the report and never reported.
//!
//! The finding points at the item's first line (the name, not a line of
//! content, holds the token); its secret is the token, so it is redacted,
//! fingerprinted, verified and baselined like any other.

use super::{DetectOptions, Hit, Item, Sink};
use crate::token::{NPM_TOKEN_LEN, is_valid_npm_token};

pub const RULE: &str = "npm-token-in-path";

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    // An archive member's path starts with the archive's own, which was
    // checked with the archive: only the member's name is new.
    let own = if opts.layer_depth > 0 {
        item.path
            .rsplit_once('!')
            .map_or(item.path, |(_, member)| member)
    } else {
        item.path
    };
    for token in valid_tokens(own) {
        sink.hit(
            Hit::new(
                RULE,
                0..0,
                "the path names an npm access token with a valid checksum (a file or directory named after it)",
            )
            .with_secret(token)
            .with_detail("checksum", "valid"),
        );
    }
}

/// Checksum-valid npm tokens in `text`, each once, in order.
fn valid_tokens(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out: Vec<&str> = Vec::new();
    for start in memchr::memmem::find_iter(bytes, b"npm_") {
        let Some(window) = bytes.get(start..start + NPM_TOKEN_LEN) else {
            break;
        };
        if window[4..].iter().all(u8::is_ascii_alphanumeric) && is_valid_npm_token(window) {
            // ASCII only, so the byte range is a char boundary.
            let token = &text[start..start + NPM_TOKEN_LEN];
            if !out.contains(&token) {
                out.push(token);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Origin;
    use crate::token::fake_token;

    fn hits(path: &str, depth: usize) -> Vec<Hit> {
        let item = Item {
            path,
            bytes: b"{}",
            origin: Origin::Worktree,
            tree: None,
        };
        let opts = DetectOptions {
            layer_depth: depth,
            ..DetectOptions::default()
        };
        let mut sink = Sink::default();
        detect(&item, &opts, &mut sink);
        sink.hits
    }

    #[test]
    fn a_token_named_file_or_directory_is_a_hit_with_the_token_as_secret() {
        let t = fake_token("npm_", 71);
        for path in [
            format!("cache/{t}.json"),
            format!("{t}/notes.txt"),
            format!("a/{t}"),
            format!("logs/token-{t}-2026.log"),
        ] {
            let h = hits(&path, 0);
            assert_eq!(h.len(), 1, "{path}");
            assert_eq!(h[0].secret.as_ref().unwrap().expose(), t);
            assert!(!h[0].message.contains(&t));
        }
        // The same token twice in one path is one hit; two tokens are two.
        let u = fake_token("npm_", 72);
        assert_eq!(hits(&format!("{t}/{t}.json"), 0).len(), 1);
        assert_eq!(hits(&format!("{t}/{u}.json"), 0).len(), 2);
    }

    #[test]
    fn invalid_or_partial_tokens_and_token_like_names_are_not() {
        let t = fake_token("npm_", 73);
        let mut broken = t.clone();
        broken.replace_range(10..11, if &t[10..11] == "A" { "B" } else { "A" });
        for path in [
            format!("cache/{broken}.json"),
            format!("cache/{}.json", &t[..30]),
            "src/npm_token_handling_for_the_ci_pipeline.js".to_string(),
            "npm_".to_string(),
        ] {
            assert!(hits(&path, 0).is_empty(), "{path}");
        }
    }

    #[test]
    fn an_archive_member_is_judged_by_its_own_name() {
        let t = fake_token("npm_", 74);
        // The archive's name was reported with the archive itself.
        assert!(hits(&format!("{t}.tgz!package/index.js"), 1).is_empty());
        assert_eq!(hits(&format!("pkg.tgz!package/{t}"), 1).len(), 1);
    }
}
