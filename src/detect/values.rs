//! Deciding whether a configured value is a credential: environment
//! references are the correct pattern, placeholders are documentation, and
//! anything else is a literal.

use regex::Regex;
use std::ops::Range;
use std::sync::OnceLock;

/// What a configuration value is.
#[derive(Debug, PartialEq, Eq)]
pub enum ValueClass {
    /// Empty or whitespace.
    Empty,
    /// Only references to the environment (`${NPM_TOKEN}`, `${NPM_TOKEN?}`,
    /// `$NPM_TOKEN`, `${{ secrets.NPM_TOKEN }}`): the correct pattern.
    EnvReference,
    /// An obvious placeholder (`YOUR_TOKEN_HERE`, `<token>`, `xxxxxxxx`…).
    Placeholder,
    /// A reference with a literal fallback (`${NPM_TOKEN:-abc…}`): the
    /// fallback is a literal credential; its byte range within the value.
    LiteralDefault(Range<usize>),
    /// A literal value: a credential.
    Literal,
}

fn reference_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?x)
              \$\{\{[^}]*\}\}                                   # GitHub Actions expression
            | \$\{ \s* (?:env[:.])? (?P<name>[A-Za-z_][A-Za-z0-9_.]*) \s*
                 (?: \? | :\?[^}]* | (?P<op>:?-)(?P<default>[^}]*) )? \}
                                            # ${NAME}, ${NAME?}, ${NAME:?msg}, ${NAME:-x}, ${ NAME }, ${env:NAME}
            | \$env:[A-Za-z_][A-Za-z0-9_]*                      # $env:NAME (PowerShell)
            | \$\([A-Za-z_][A-Za-z0-9_.]*\)                     # $(NAME) (Azure Pipelines, make)
            | \$[A-Za-z_][A-Za-z0-9_]*                          # $NAME
            | %[A-Za-z_][A-Za-z0-9_]*%                          # %NAME% (Windows)
            ",
        )
        .expect("valid regex")
    })
}

/// Classify a value (already unquoted). `extra_placeholders` come from the
/// user's configuration and match case-insensitively.
pub fn classify(value: &str, extra_placeholders: &[String]) -> ValueClass {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return ValueClass::Empty;
    }
    if trimmed.contains('$') || trimmed.contains('%') {
        let mut rest = String::new();
        let mut last = 0;
        let mut saw_reference = false;
        for caps in reference_re().captures_iter(trimmed) {
            let m = caps.get(0).expect("group 0");
            // A bare `$NAME` right after a letter, digit or `$` is part of a
            // literal (`hunter2$ecret`, `pa$$w0rd`): only `${…}` expands
            // mid-word in the configs npm and Yarn read.
            if m.as_str().len() > 1
                && !matches!(m.as_str().as_bytes()[1], b'{' | b'(')
                && m.as_str().starts_with('$')
                && trimmed[..m.start()]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '$')
            {
                continue;
            }
            saw_reference = true;
            if let Some(default) = caps.name("default") {
                let d = default.as_str();
                if !d.is_empty()
                    && classify(d, extra_placeholders) == ValueClass::Literal
                    && !d.starts_with('$')
                {
                    let offset = value.find(trimmed).unwrap_or(0);
                    return ValueClass::LiteralDefault(
                        offset + default.start()..offset + default.end(),
                    );
                }
            }
            rest.push_str(&trimmed[last..m.start()]);
            last = m.end();
        }
        rest.push_str(&trimmed[last..]);
        if saw_reference && !has_secret_like_run(&rest) {
            return ValueClass::EnvReference;
        }
    }
    if is_placeholder(trimmed, extra_placeholders) || is_fake(trimmed) {
        return ValueClass::Placeholder;
    }
    ValueClass::Literal
}

/// Words that mark a value as made up for tests or documentation.
const FAKE_WORDS: &[&str] = &[
    "fake",
    "dummy",
    "test",
    "sample",
    "mock",
    "example",
    "placeholder",
    "invalid",
    "notreal",
    "not-a-real",
    "not_a_real",
    "redacted",
    "bogus",
];

/// Known credential prefixes, stripped before looking for [`FAKE_WORDS`]
/// (`ghp_`'s underscore is not a word separator of the value).
const PREFIXES: &[&str] = &[
    "npm_",
    "ghp_",
    "gho_",
    "ghs_",
    "ghu_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "gldt-",
    "glcbt-",
    "NpmToken.",
];

/// The one rule for plainly fake values (documented in the README, "Fake
/// values"): a value is fake, and not reported, when
///
/// 1. it is a placeholder ([`is_placeholder`]), or
/// 2. after its known prefix, it contains a [`FAKE_WORDS`] word and reads as
///    words: it has a `-`, `_` or `.` separator, or is shorter than 24
///    characters (`fake-token-for-tests`, `npm_test_token_123`,
///    `dummytoken`); a random 36-character token has neither, or
/// 3. it is a UUID whose every group is a run of one character or an
///    ascending sequence (`00000000-1111-2222-…`,
///    `12345678-1234-1234-1234-123456789012`, `aaaaaaaa-bbbb-…`).
pub fn is_fake(value: &str) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    let body = PREFIXES.iter().find_map(|p| v.strip_prefix(p)).unwrap_or(v);
    let lower = body.to_ascii_lowercase();
    let wordy = lower.contains(['-', '_', '.']) || lower.len() < 24;
    if wordy && FAKE_WORDS.iter().any(|w| lower.contains(w)) {
        return true;
    }
    let uuid = body;
    super::shape::is_uuid(uuid) && uuid.split('-').all(patterned_group)
}

/// One character repeated, or each character the successor of the one
/// before (digits wrap from 9 to 0: `123456789012`).
fn patterned_group(g: &str) -> bool {
    let b = g.to_ascii_lowercase().into_bytes();
    let run = b.iter().all(|&c| c == b[0]);
    let ascending = b
        .windows(2)
        .all(|w| w[1] == w[0] + 1 || (w[0] == b'9' && (w[1] == b'0' || w[1] == b'a')));
    run || ascending
}

/// A run of 8 or more characters that could carry entropy.
fn has_secret_like_run(s: &str) -> bool {
    let mut run = 0;
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || "-_.+/=".contains(c) {
            run += 1;
            if run >= 8 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// Obvious placeholders: documentation, templates and test fixtures.
pub fn is_placeholder(value: &str, extra: &[String]) -> bool {
    let v = value.trim().trim_matches(|c| c == '"' || c == '\'');
    if v.is_empty() {
        return true;
    }
    let lower = v.to_ascii_lowercase();
    if extra.iter().any(|e| e.eq_ignore_ascii_case(v)) {
        return true;
    }
    // <token>, <YOUR_NPM_TOKEN>, [token], {{ token }}, {token}
    if (v.starts_with('<') && v.ends_with('>'))
        || (v.starts_with('[') && v.ends_with(']'))
        || (v.starts_with('{') && v.ends_with('}'))
    {
        return true;
    }
    const WORDS: &[&str] = &[
        "changeme",
        "change_me",
        "change-me",
        "replaceme",
        "replace_me",
        "token",
        "npm_token",
        "your_token",
        "yourtoken",
        "secret",
        "password",
        "passwd",
        "redacted",
        "dummy",
        "example",
        "placeholder",
        "todo",
        "fixme",
        "none",
        "null",
        "undefined",
        "true",
        "false",
        "test",
        "foo",
        "bar",
        "foobar",
        "abc123",
        "...",
        "…",
    ];
    if WORDS.contains(&lower.as_str()) {
        return true;
    }
    if lower.starts_with("your")
        || lower.contains("your_")
        || lower.contains("your-")
        || lower.contains("_here")
        || lower.contains("-here")
        || lower.contains("insert")
        || lower.contains("placeholder")
        || lower.contains("redacted")
        || lower.contains("example")
        || lower.contains("changeme")
    {
        return true;
    }
    // Token-replacement markers of deployment tools: __NPM_TOKEN__,
    // @@NPM_TOKEN@@, #{NPM_TOKEN}# (an upper-case name, nothing random).
    for (open, close) in [("__", "__"), ("@@", "@@"), ("#{", "}#"), ("#{", "}")] {
        if let Some(name) = v.strip_prefix(open).and_then(|r| r.strip_suffix(close))
            && !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_uppercase())
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        {
            return true;
        }
    }
    // xxxxxxxx, XXXX-XXXX, ********, 00000000-0000-…, npm_xxxx…, ffff… :
    // a value whose random part is one repeated character.
    let body = lower
        .strip_prefix("npm_")
        .or_else(|| lower.strip_prefix("npmtoken."))
        .unwrap_or(&lower);
    let mut distinct: Vec<char> = body
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | '.' | ':'))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() <= 1 {
        return true;
    }
    // A well-known sequential dummy: abcdef…, 123456…
    let alnum: String = body.chars().filter(char::is_ascii_alphanumeric).collect();
    if alnum.len() >= 6
        && ("abcdefghijklmnopqrstuvwxyz0123456789".contains(&alnum)
            || "0123456789abcdefghijklmnopqrstuvwxyz".contains(&alnum)
            || "1234567890".contains(&alnum))
    {
        return true;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::ValueClass::*;
    use super::*;

    #[test]
    fn references_are_not_literals() {
        for v in [
            "${NPM_TOKEN}",
            "${NPM_TOKEN?}",
            "$NPM_TOKEN",
            "${{ secrets.NPM_TOKEN }}",
            "\"${NPM_TOKEN}\"",
            "Bearer ${NPM_TOKEN}",
            "%NPM_TOKEN%",
            "${NPM_TOKEN:?}",
            "${NPM_TOKEN:?NPM_TOKEN must be set}",
            "${ NPM_TOKEN }",
            "${env:NPM_TOKEN}",
            "$env:NPM_TOKEN",
            "$(NPM_TOKEN)",
            "Bearer $NPM_TOKEN",
            "$NPM_USER:$NPM_PASS",
            "abc${NPM_TOKEN}",
        ] {
            assert_eq!(classify(v.trim_matches('"'), &[]), EnvReference, "{v}");
        }
    }

    #[test]
    fn literal_default_is_found() {
        let v = "${NPM_TOKEN:-s3cr3tvalue12345}";
        match classify(v, &[]) {
            LiteralDefault(r) => assert_eq!(&v[r], "s3cr3tvalue12345"),
            other => panic!("{other:?}"),
        }
        assert_eq!(classify("${NPM_TOKEN:-}", &[]), EnvReference);
    }

    #[test]
    fn placeholders() {
        for v in [
            "YOUR_TOKEN_HERE",
            "<token>",
            "xxxxxxxx",
            "XXXX-XXXX-XXXX",
            "npm_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            "changeme",
            "00000000-0000-0000-0000-000000000000",
            "ffffffff-ffff-ffff-ffff-ffffffffffff",
            "********",
            "{{ token }}",
            "__NPM_TOKEN__",
            "@@NPM_TOKEN@@",
            "#{NPM_TOKEN}#",
        ] {
            assert_eq!(classify(v, &[]), Placeholder, "{v}");
        }
        assert_eq!(classify("", &[]), Empty);
        assert_eq!(classify("mycustom", &["MYCUSTOM".into()]), Placeholder);
    }

    #[test]
    fn fake_values_are_one_rule() {
        for v in [
            "fake-token-for-tests",
            "dummy",
            "test",
            "npm_test_token_for_ci",
            "my.fake.npm.token.1234",
            "dummytoken123",
            "00000000-1111-2222-3333-444444444444",
            "12345678-1234-1234-1234-123456789012",
            "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            "NpmToken.11111111-2222-3333-4444-555555555555",
        ] {
            assert_eq!(classify(v, &[]), Placeholder, "{v}");
        }
        // Random values that happen to contain a word are not fake.
        for v in [
            "3f2a9c1e-0b7d-4c11-9a2b-5c1f0e9a2b7d",
            "a8TestQ3vT9zLmP0wXy7Rk2Nc5Hj4Bs6Df1G",
        ] {
            assert_eq!(classify(v, &[]), Literal, "{v}");
        }
    }

    #[test]
    fn literals() {
        for v in [
            "a1B2c3D4e5F6g7H8",
            "npm_Q3vT9zLmP0",
            "s3cr3t-value",
            "__a1B2c3D4e5F6g7H8__",
            "hunter2$ecretPassw0rd",
            "pa$$w0rd1",
            "${NPM_TOKEN:+a1B2c3D4e5F6g7H8}",
        ] {
            assert_eq!(classify(v, &[]), Literal, "{v}");
        }
    }
}
