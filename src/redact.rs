//! Text copied from the scanned input into what npmsweep prints — user names,
//! hosts, keys, variable names, suppression reasons, commit authors and
//! summaries, parser messages — can itself hold a credential (a token pasted
//! into `username=`, a literal inside `${{ '…' }}`, a commit summary quoting
//! a token). [`InputText`] is the only way such text reaches a [`Finding`]'s
//! message, details, suppression reason or provenance: its one constructor
//! replaces every credential-shaped substring with its redacted preview, so a
//! report cannot print one by accident. `--show-secrets` prints the finding's
//! own secret through [`crate::finding::Secret::expose`], never through this.
//!
//! [`Finding`]: crate::finding::Finding

use crate::finding::{Secret, redact};
use serde::Serialize;
use std::borrow::Cow;
use std::fmt;

/// Input-derived text, with every credential-shaped substring redacted.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct InputText(String);

impl InputText {
    /// Redact credential-shaped substrings of `text`.
    pub fn new(text: &str) -> InputText {
        InputText(scrub(text).into_owned())
    }

    /// Like [`InputText::new`], and also every occurrence of `secret` (a
    /// short password is not shaped like a token, but is still a secret).
    pub fn with_secret(text: &str, secret: Option<&Secret>) -> InputText {
        match secret.map(Secret::expose) {
            Some(s) if s.chars().count() >= 4 && text.contains(s) => {
                InputText::new(&text.replace(s, &redact(s)))
            }
            _ => InputText::new(text),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for InputText {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InputText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for InputText {
    fn from(text: &str) -> InputText {
        InputText::new(text)
    }
}

impl From<String> for InputText {
    fn from(text: String) -> InputText {
        InputText::new(&text)
    }
}

/// Prefixes of the tokens [`path`] redacts.
const PATH_TOKEN_PREFIXES: [&str; 7] = [
    "npm_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
];

/// For a path as [`path`] printed it: when a name in it was redacted, the
/// deepest directory above that name (with its trailing `/`; empty for the
/// root), which exists, unlike the redacted path. `None` when nothing in
/// the path was redacted. A location that must exist (a SARIF artifact
/// URI) uses it; the redacted path goes in the message.
pub fn unredacted_dir(printed: &str) -> Option<&str> {
    // A redacted name is a prefix, at most two characters of the token,
    // `…`, and its last four (see [`redact`]).
    let first = printed.match_indices('…').find_map(|(at, _)| {
        let before = &printed[..at];
        PATH_TOKEN_PREFIXES.iter().find_map(|p| {
            (0..=2).find_map(|kept| {
                let start = before.len().checked_sub(p.len() + kept)?;
                let head = before.get(start..)?;
                (head.starts_with(p) && head[p.len()..].bytes().all(|b| b.is_ascii_alphanumeric()))
                    .then_some(start)
            })
        })
    })?;
    Some(
        printed[..first]
            .rfind('/')
            .map_or("", |slash| &printed[..=slash]),
    )
}

/// A path with every token-shaped name in it redacted: a known token prefix
/// (`npm_`, `ghp_`…) followed by 30 or more letters and digits, as a file
/// or directory named after a token is (a path is where the finding is, so
/// nothing else in it is touched: hashed asset names, UUIDs and dates stay
/// as they are and the file stays findable by its redacted name).
pub fn path(text: &str) -> Cow<'_, str> {
    let bytes = text.as_bytes();
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        let Some(prefix) = PATH_TOKEN_PREFIXES
            .iter()
            .find(|p| bytes[i..].starts_with(p.as_bytes()))
        else {
            i += 1;
            continue;
        };
        let body = i + prefix.len();
        let end = bytes[body..]
            .iter()
            .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
            .map_or(bytes.len(), |n| body + n);
        let run = &text[body..end];
        if run.len() >= 30 && run.bytes().any(|b| b.is_ascii_digit()) {
            out.push_str(&text[copied..i]);
            out.push_str(&redact(&text[i..end]));
            copied = end;
        }
        i = end.max(i + 1);
    }
    if copied == 0 {
        return Cow::Borrowed(text);
    }
    out.push_str(&text[copied..]);
    Cow::Owned(out)
}

/// Characters of a token-like word. `.` is not one (host names and JWT
/// segments are judged part by part); `/`, `+` and `=` are (base64).
fn word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '+' | '/' | '=' | '~')
}

/// Redact every credential-shaped word of `text` (see [`credential_like`])
/// and the password of every `scheme://user:password@` URL.
pub fn scrub(text: &str) -> Cow<'_, str> {
    scrub_words(text, |_| false)
}

/// [`scrub`] for npmsweep's own warnings and notes, which name git objects
/// and baseline entries: a word of exactly 32, 40 or 64 lowercase hex digits
/// (a fingerprint, an object id) is kept.
pub fn scrub_keeping_object_ids(text: &str) -> Cow<'_, str> {
    scrub_words(text, |w| {
        matches!(w.len(), 32 | 40 | 64) && w.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

fn scrub_words(text: &str, keep: impl Fn(&str) -> bool) -> Cow<'_, str> {
    let text = redact_url_passwords(text);
    if !text.chars().any(|c| c.is_ascii_alphanumeric()) {
        return text;
    }
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest: &str = &text;
    while !rest.is_empty() {
        let start = rest.find(word_char).unwrap_or(rest.len());
        out.push_str(&rest[..start]);
        rest = &rest[start..];
        let end = rest.find(|c| !word_char(c)).unwrap_or(rest.len());
        let word = &rest[..end];
        match credential_like(word).filter(|_| !keep(word)) {
            Some(range) => {
                changed = true;
                out.push_str(&word[..range.start]);
                out.push_str(&redact(&word[range.clone()]));
                out.push_str(&word[range.end..]);
            }
            None => out.push_str(word),
        }
        rest = &rest[end..];
    }
    if changed { Cow::Owned(out) } else { text }
}

/// The part of `word` that looks like a credential: a known token prefix
/// with a random-looking rest, a UUID, a long hex string, or a long
/// high-entropy run mixing letters and digits. Identifiers such as
/// `NPM_TOKEN_2024`, `npm_config__authToken` or `registry-1` are not.
pub fn credential_like(word: &str) -> Option<std::ops::Range<usize>> {
    if word.len() < 8 {
        return None;
    }
    if let Some(at) = find_uuid(word) {
        return Some(at..at + 36);
    }
    const PREFIXES: [&str; 11] = [
        "npm_",
        "ghp_",
        "gho_",
        "ghs_",
        "ghu_",
        "ghr_",
        "github_pat_",
        "glpat-",
        "NpmToken",
        "eyJ",
        "xox",
    ];
    for p in PREFIXES {
        if let Some(rest) = word.strip_prefix(p) {
            let body: String = rest.chars().filter(|c| *c != '_').collect();
            if body.len() >= 12
                && body.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && body.chars().any(|c| c.is_ascii_digit())
            {
                return Some(0..word.len());
            }
        }
    }
    // Judge the longest part between `_`/`-`: an identifier is words of a
    // few letters, a token one long random run. A path (`/api/v4/projects/
    // 1/packages/npm/`, starting or ending with `/`) is judged segment by
    // segment; inside a word `/` is base64, part of the secret.
    let is_path = word.starts_with('/') || word.ends_with('/');
    let separators: &[char] = if is_path {
        &['_', '-', '/']
    } else {
        &['_', '-']
    };
    let longest = word
        .split(separators)
        .max_by_key(|s| s.len())
        .unwrap_or(word);
    let n = longest.len();
    let hex = longest.chars().all(|c| c.is_ascii_hexdigit());
    let digits = longest.chars().any(|c| c.is_ascii_digit());
    let letters = longest.chars().any(|c| c.is_ascii_alphabetic());
    // Random letters are about half upper case; camelCase words are not.
    let upper = longest.chars().filter(|c| c.is_ascii_uppercase()).count();
    let lower = longest.chars().filter(|c| c.is_ascii_lowercase()).count();
    let mixed_case = upper * 10 >= n * 3 && lower * 10 >= n * 3;
    let suspicious = (hex && n >= 32 && digits && letters)
        || (n >= 16 && digits && letters && entropy(longest) >= 3.0)
        || (n >= 24 && mixed_case && entropy(longest) >= 3.5);
    suspicious.then_some(0..word.len())
}

/// Byte offset of a UUID (8-4-4-4-12 hex digits) in `word`.
fn find_uuid(word: &str) -> Option<usize> {
    let b = word.as_bytes();
    if b.len() < 36 {
        return None;
    }
    (0..=b.len() - 36).find(|&i| {
        b[i..i + 36].iter().enumerate().all(|(j, c)| match j {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
    })
}

/// Shannon entropy in bits per character.
fn entropy(s: &str) -> f64 {
    let mut counts = [0usize; 256];
    for b in s.bytes() {
        counts[b as usize] += 1;
    }
    let n = s.len() as f64;
    counts
        .iter()
        .filter(|c| **c > 0)
        .map(|c| {
            let p = *c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

/// `https://user:secret@host/…` → `https://user:****@host/…`, and a bare
/// `https://token@host` keeps only the token's redacted preview. Used for
/// messages and for origin URLs copied into written files.
pub fn redact_url_passwords(text: &str) -> Cow<'_, str> {
    if !text.contains("://") || !text.contains('@') {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let authority_end = tail
            .find(|c: char| matches!(c, '/' | '?' | '#') || c.is_whitespace())
            .unwrap_or(tail.len());
        let authority = &tail[..authority_end];
        match authority.rfind('@') {
            Some(userinfo_end) => {
                let userinfo = &authority[..userinfo_end];
                match userinfo.split_once(':') {
                    Some((user, _password)) => {
                        out.push_str(&scrub_word(user));
                        out.push_str(":****");
                    }
                    None => out.push_str(&redact(userinfo)),
                }
                out.push_str(&authority[userinfo_end..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[authority_end..];
    }
    out.push_str(rest);
    Cow::Owned(out)
}

fn scrub_word(word: &str) -> String {
    match credential_like(word) {
        Some(_) => redact(word),
        None => word.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_paths_are_not_credentials() {
        for path in [
            "//gitlab.example.com/api/v4/projects/1234/packages/npm/",
            "//artifactory.example.com/artifactory/api/npm/npm-virtual2024/",
        ] {
            assert_eq!(scrub(path), path);
        }
        // Base64 keeps its `/` inside a word: a secret with slashes is one run.
        let b64 = "k3Jd9sQ/m2Lx8Zr/7Tv4Pw1N/c6Hy0Bg5/Fa9Kq2Xw";
        assert!(!scrub(&format!("password {b64} set")).contains(b64));
    }

    #[test]
    fn a_token_in_a_path_is_redacted_and_nothing_else_is() {
        let token = crate::token::fake_token("npm_", 7);
        let p = format!("d{token}/x/{token}.npmrc");
        let r = path(&p);
        assert!(!r.contains(&token[4..]), "{r}");
        assert_eq!(r, format!("d{0}/x/{0}.npmrc", redact(&token)));
        for plain in [
            "dist/main.3f2a9b1c4d5e6f7a8b9c0d1e2f3a4b5c.js",
            "migrations/0b6a2c4e-1111-4222-8333-abcdefabcdef.sql",
            "node_modules/npm_config_helper/index.js",
            "pkg.tgz!package/.npmrc",
            "\u{1b}/npm_",
        ] {
            assert_eq!(path(plain), plain);
        }
    }

    #[test]
    fn the_directory_above_a_redacted_name_is_the_location_that_exists() {
        let token = crate::token::fake_token("npm_", 8);
        let gh = format!("ghp_{}", &crate::token::fake_token("", 9)[..36]);
        let cases = [
            (format!("cache/{token}.json"), Some("cache/")),
            (format!("a/b/{token}/c/.npmrc"), Some("a/b/")),
            (format!("{token}/notes.txt"), Some("")),
            (format!("x/pre-{token}"), Some("x/")),
            (format!("d/{gh}.txt"), Some("d/")),
            ("dist/main.js".to_string(), None),
            ("docs/ellipsis…here.md".to_string(), None),
        ];
        for (real, want) in cases {
            let printed = path(&real);
            assert_eq!(unredacted_dir(&printed), want, "{printed}");
        }
    }

    const UUID: &str = "0b6a2c4e-1111-4222-8333-abcdefabcdef";

    #[test]
    fn token_shaped_words_are_redacted_identifiers_are_not() {
        let token = "npm_abcdefghijklmnopqrstuvwxyz0123456789";
        let input = format!("username {token}, host registry-1.example.com");
        let s = scrub(&input);
        assert!(!s.contains("klmnop"), "{s}");
        assert!(s.contains("registry-1.example.com"), "{s}");
        let input = format!("literal ${{{{ '{UUID}' }}}} in NODE_AUTH_TOKEN");
        let u = scrub(&input);
        assert!(!u.contains("1111-4222"), "{u}");
        assert!(u.contains("NODE_AUTH_TOKEN"), "{u}");
        for keep in [
            "npm_config__authToken",
            "NPM_TOKEN_2024_PROD",
            "//npm.pkg.github.com/:_authToken",
            "secrets.NPM_PUBLISH_TOKEN",
            "actions/setup-node@v4",
            "install.scopes.myorg.token",
            "NpmAuthTokenForTheRegistry",
        ] {
            assert_eq!(scrub(keep), keep);
        }
        for redacted in [
            "dXNlcjpwYXNzd29yZDEyMzQ1Ng==",
            "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
            "eyJhbGciOiJIUzI1NiJ9",
            "4f9c2b7e1d8a6c3b5e0f9a2d7c4b1e8f",
            "Zq8xT3vLm9RkW2pYc7NbH4sJ",
            "ZqxTvLmRkWpYcNbHsJaBcDeFgHiJ",
        ] {
            assert!(!scrub(redacted).contains(&redacted[4..12]), "{redacted}");
        }
    }

    #[test]
    fn url_passwords_are_redacted() {
        let s = redact_url_passwords("git remote https://bob:hunter2@example.com/x.git and more");
        assert_eq!(s, "git remote https://bob:****@example.com/x.git and more");
        let t = redact_url_passwords("https://npm_abcdefghijklmnop0123@host/");
        assert!(!t.contains("cdefghijk"), "{t}");
        assert_eq!(redact_url_passwords("https://host/a@b"), "https://host/a@b");
    }

    #[test]
    fn with_secret_removes_short_literal_secrets_too() {
        let s = Secret::new("hunter22");
        let t = InputText::with_secret("password hunter22 in ${{ 'hunter22' }}", Some(&s));
        assert!(!t.contains("hunter22"), "{t}");
    }
}
