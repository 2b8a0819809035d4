//! Finding `NAME <op> value` assignments of npm credential names in any
//! text, whatever the language: dotenv and shell (`NPM_TOKEN=…`,
//! `export NPM_TOKEN="…"`, `${NPM_TOKEN:-…}`), Makefile (`=`, `?=`, `:=`,
//! `::=`), Dockerfile (`ENV NPM_TOKEN …`), JavaScript/TypeScript
//! (`const NPM_TOKEN = '…'`, `process.env.NPM_TOKEN = '…'`,
//! `process.env.NPM_TOKEN || '…'`, `?? '…'`, `{ NPM_TOKEN: '…' }`), Python
//! (`os.environ["NPM_TOKEN"] = …`, `os.getenv("NPM_TOKEN", "…")`,
//! `os.environ.setdefault("NPM_TOKEN", "…")`, `… or "…"`), Groovy
//! (`environment { NPM_TOKEN = '…' }`, `withEnv(["NPM_TOKEN=…"])`),
//! HCL/tfvars (`npm_token = "…"`, `variable "npm_token" { default = "…" }`), and `yarn config set npmAuthToken …`.
//!
//! An Aho-Corasick pass over the name fragments (`npm`, `node_auth`, `yarn`,
//! `_auth`, configured extra names) runs first: a file that names no npm
//! credential costs one pass and nothing else.

use super::envassign::is_credential_name;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder};
use std::ops::Range;
use std::sync::OnceLock;

/// One assignment of a literal-looking value to a credential name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub name: String,
    /// Byte range of the value in the text (inside its quotes).
    pub value: Range<usize>,
    /// On a comment line (`# NPM_TOKEN=…`): commented out, but still
    /// committed.
    pub in_comment: bool,
}

/// The name fragments in the casings names are written in (`NPM_TOKEN`,
/// `npm_config__authToken`, `NpmToken`, `YARN_NPM_AUTH_TOKEN`,
/// `yarnAuth…`, `NODE_AUTH_TOKEN`, `_authToken`). Spelled out rather than
/// matched case-insensitively: a handful of literals keeps the automaton's
/// SIMD searcher, which a case-insensitive automaton loses (it made whole
/// scans 60% slower).
const FRAGMENTS: &[&str] = &[
    "npm",
    "NPM",
    "Npm",
    "yarn",
    "YARN",
    "Yarn",
    "node_auth",
    "NODE_AUTH",
    "_auth",
    "_AUTH",
];

fn prefilter() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    // Leftmost-first semantics let the automaton use its packed (Teddy)
    // SIMD searcher; standard semantics fall back to a slower one.
    AC.get_or_init(|| {
        AhoCorasickBuilder::new()
            .match_kind(aho_corasick::MatchKind::LeftmostFirst)
            .build(FRAGMENTS)
            .expect("valid automaton")
    })
}

/// How far from a name an assignment is looked for: a minified line of a
/// megabyte holds no assignment whose parts are further apart, and bounded
/// windows keep the cost per name constant.
const WINDOW: usize = 4096;

/// Does the text mention anything that could be a credential name?
pub fn may_contain(text: &[u8], extra_names: &[String]) -> bool {
    prefilter().is_match(text)
        || (!extra_names.is_empty()
            && AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .build(extra_names)
                .is_ok_and(|ac| ac.is_match(text)))
}

fn ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// npm's and Yarn's own setting names count as credential names too.
///
/// A key of a parsed document is a name only if it reads as one: letters,
/// digits, `_` and `-` (`registry.npmjs.org%2Fkeys.json` is a file name).
pub fn is_npm_credential_name(name: &str, extra: &[String]) -> bool {
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        return extra.iter().any(|e| e.eq_ignore_ascii_case(name));
    }
    is_credential_name(name, extra)
        || matches!(name, "_authToken" | "_auth" | "_password")
        || name.ends_with("_authToken")
        || name.ends_with("npmAuthToken")
        || name.ends_with("npmAuthIdent")
}

/// The credential names of `text`: the identifiers around prefilter hits
/// that [`is_npm_credential_name`] accepts, as byte ranges, in order.
pub fn credential_names(text: &str, extra_names: &[String]) -> Vec<(usize, usize)> {
    let mut names = candidate_names(text, extra_names);
    names.retain(|&(s, e)| is_npm_credential_name(&text[s..e], extra_names));
    names
}

/// The identifiers around every prefilter hit, in order, once each.
fn candidate_names(text: &str, extra_names: &[String]) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut names: Vec<(usize, usize)> = Vec::new();
    let push_name = |names: &mut Vec<(usize, usize)>, at: usize, len: usize| {
        let mut s = at;
        while s > 0 && ident_byte(bytes[s - 1]) {
            s -= 1;
        }
        let mut e = at + len;
        while e < bytes.len() && ident_byte(bytes[e]) {
            e += 1;
        }
        if names.last() != Some(&(s, e)) {
            names.push((s, e));
        }
    };
    for m in prefilter().find_iter(bytes) {
        push_name(&mut names, m.start(), m.len());
    }
    if !extra_names.is_empty()
        && let Ok(ac) = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .build(extra_names)
    {
        for m in ac.find_iter(bytes) {
            push_name(&mut names, m.start(), m.len());
        }
        names.sort_unstable();
        names.dedup();
    }
    names
}

/// Every assignment of a credential name in `text`, comment lines (`#`,
/// `//`, `;`, `--`, `REM`, `/*`, `*`) included and marked.
pub fn find(text: &str, extra_names: &[String]) -> Vec<Assignment> {
    find_at(text, &credential_names(text, extra_names))
}

/// [`find`] for names already located by [`credential_names`].
pub fn find_at(text: &str, names: &[(usize, usize)]) -> Vec<Assignment> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    for &(s, e) in names {
        let name = &text[s..e];
        let window_start = floor_boundary(text, s.saturating_sub(WINDOW));
        let line_start = memchr::memrchr(b'\n', &bytes[window_start..s])
            .map_or(window_start, |i| window_start + i + 1);
        let window_end = floor_boundary(text, (e + WINDOW).min(text.len()));
        let line_end = memchr::memchr(b'\n', &bytes[e..window_end]).map_or(window_end, |i| e + i);
        let in_comment = is_comment(&text[line_start..s]);
        // `//host/:_authToken=…` is npm configuration written inline (a
        // script, a command line): the scripted-.npmrc check reports it.
        if matches!(name, "_authToken" | "_auth" | "_password") && text[..s].ends_with(':') {
            continue;
        }
        if let Some(value) = value_after(text, line_start, s, e, line_end) {
            out.push(Assignment {
                name: name.to_string(),
                value,
                in_comment,
            });
        }
    }
    out
}

/// The largest character boundary at or before `i`.
fn floor_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn is_comment(before_on_line: &str) -> bool {
    let t = before_on_line.trim_start();
    ["#", "//", ";", "--", "REM ", "rem ", "/*", "*"]
        .iter()
        .any(|c| t.starts_with(c))
}

/// The value assigned to the name at `s..e`, if an assignment follows it on
/// the same line.
fn value_after(
    text: &str,
    line_start: usize,
    s: usize,
    e: usize,
    line_end: usize,
) -> Option<Range<usize>> {
    let before = &text[line_start..s];
    let rest = &text[e..line_end];
    // `${NAME:-fallback}`, `${NAME-fallback}`, `${NAME:=fallback}`.
    if before.ends_with("${") {
        let op = [":-", ":=", "-", "="]
            .iter()
            .find(|op| rest.starts_with(**op))?;
        let from = e + op.len();
        let close = text[from..line_end].find('}')?;
        return non_empty(trim_quotes(text, from..from + close));
    }
    // Skip what closes the name: `"]` of `os.environ["NAME"]`, `')` of
    // `getenv('NAME')`, the quote of `"NAME": …`.
    let closers = rest.len() - rest.trim_start_matches(['"', '\'', ']', '`']).len();
    let after_closers = &rest[closers..];
    let call_closed = after_closers.starts_with(')');
    let after_paren = after_closers.trim_start_matches(')');
    let ws = after_paren.len() - after_paren.trim_start().len();
    let op_text = &after_paren[ws..];
    let op_at = e + closers + (after_closers.len() - after_paren.len()) + ws;
    // Which operators may follow depends on what precedes the name.
    let in_call = before.trim_end_matches(['"', '\'']).ends_with('(');
    let ops: &[&str] = if call_closed {
        &["||", "??", "or ", "?:"]
    } else {
        &[
            "::=", ":=", "?=", "||=", "??=", "||", "??", "?:", "=>", "=", ":",
        ]
    };
    let mut op_len = ops
        .iter()
        .find(|op| op_text.starts_with(**op))
        .map(|op| op.len());
    // `==`/`!=`/`===` compare, `=~` matches: not assignments.
    if op_len == Some(1) && op_text.starts_with("==") {
        return None;
    }
    // `getenv("NPM_TOKEN", "default")`, `setdefault("NPM_TOKEN", "…")`.
    if op_len.is_none() && in_call && op_text.starts_with(',') {
        op_len = Some(1);
    }
    // `ENV NPM_TOKEN value`, `yarn config set npmAuthToken value`: a space
    // is the operator after a command that takes a name and a value.
    if op_len.is_none() && ws > 0 && closers == 0 {
        let words: Vec<&str> = before.split_whitespace().collect();
        let last = words.last().copied().unwrap_or("");
        if matches!(last, "ENV" | "ARG" | "set" | "setenv") {
            op_len = Some(0);
        }
    }
    // Terraform `variable "npm_token" { default = "…" }`: the default is
    // the value (on this line or a later one of the block).
    if op_len.is_none() && op_text.starts_with('{') && before.trim_end().ends_with("variable \"") {
        let block_end = text[op_at..].find('}').map_or(text.len(), |i| op_at + i);
        let block = &text[op_at..block_end];
        let d = block.find("default")?;
        let eq = block[d..].find('=')? + d;
        let from = op_at + eq + 1;
        let line_end = text[from..].find('\n').map_or(text.len(), |i| from + i);
        let lead = text[from..line_end].len() - text[from..line_end].trim_start().len();
        let from = from + lead;
        let first = text[from..].chars().next()?;
        if first != '"' {
            return None;
        }
        let close = find_close(&text[from + 1..line_end], '"')?;
        return non_empty(from + 1..from + 1 + close);
    }
    let op_len = op_len?;
    let mut from = op_at + op_len;
    from += text[from..line_end].len() - text[from..line_end].trim_start().len();
    let value_text = &text[from..line_end];
    let first = value_text.chars().next()?;
    let range = if matches!(first, '"' | '\'' | '`') {
        let inner = from + 1;
        let close = find_close(&text[inner..line_end], first)?;
        inner..inner + close
    } else {
        let end = value_text
            .find(|c: char| {
                c.is_whitespace() || matches!(c, ';' | ',' | ')' | '"' | '\'' | '`' | '}' | '\\')
            })
            .unwrap_or(value_text.len());
        from..from + end
    };
    non_empty(range)
}

fn trim_quotes(text: &str, r: Range<usize>) -> Range<usize> {
    let v = &text[r.clone()];
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        return r.start + 1..r.end - 1;
    }
    r
}

fn non_empty(r: Range<usize>) -> Option<Range<usize>> {
    (r.end > r.start).then_some(r)
}

/// The closing `quote` of a string (backslash escapes skipped).
fn find_close(s: &str, quote: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == quote {
            return Some(i);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<(String, String)> {
        find(text, &[])
            .into_iter()
            .filter(|a| !a.in_comment)
            .map(|a| (a.name, text[a.value].to_string()))
            .collect()
    }

    #[test]
    fn every_syntax() {
        // Not a credential, but shaped like one: built at run time so that
        // npmsweep's scan of its own repository stays clean.
        let v = &crate::rules::synthetic_base62(1, 30);
        for (line, name) in [
            (format!("NPM_TOKEN={v}"), "NPM_TOKEN"),
            (format!("export NODE_AUTH_TOKEN=\"{v}\""), "NODE_AUTH_TOKEN"),
            (format!("NPM_TOKEN ?= {v}"), "NPM_TOKEN"),
            (format!("export NPM_TOKEN := {v}"), "NPM_TOKEN"),
            (format!("NPM_TOKEN ::= {v}"), "NPM_TOKEN"),
            (format!("const NPM_TOKEN = '{v}';"), "NPM_TOKEN"),
            (format!("process.env.NPM_TOKEN = '{v}'"), "NPM_TOKEN"),
            (
                format!("const t = process.env.NPM_TOKEN || '{v}'"),
                "NPM_TOKEN",
            ),
            (
                format!("const t = process.env.NPM_TOKEN ?? \"{v}\""),
                "NPM_TOKEN",
            ),
            (format!("process.env['NPM_TOKEN'] = `{v}`"), "NPM_TOKEN"),
            (format!("  env: {{ NPM_TOKEN: '{v}' }},"), "NPM_TOKEN"),
            (format!("os.environ[\"NPM_TOKEN\"] = \"{v}\""), "NPM_TOKEN"),
            (format!("os.getenv(\"NPM_TOKEN\", \"{v}\")"), "NPM_TOKEN"),
            (
                format!("os.environ.setdefault('NPM_TOKEN', '{v}')"),
                "NPM_TOKEN",
            ),
            (
                format!("token = os.environ.get(\"NPM_TOKEN\") or \"{v}\""),
                "NPM_TOKEN",
            ),
            (format!("    NPM_TOKEN = '{v}'"), "NPM_TOKEN"),
            (format!("withEnv([\"NPM_TOKEN={v}\"]) {{"), "NPM_TOKEN"),
            (format!("npm_token = \"{v}\""), "npm_token"),
            (format!("ENV NPM_TOKEN {v}"), "NPM_TOKEN"),
            (
                format!("variable \"npm_token\" {{\n  type = string\n  default = \"{v}\"\n}}"),
                "npm_token",
            ),
            (format!("yarn config set npmAuthToken {v}"), "npmAuthToken"),
            (format!("TOKEN=${{NPM_TOKEN:-{v}}}"), "NPM_TOKEN"),
            (format!("\"NPM_TOKEN\": \"{v}\","), "NPM_TOKEN"),
            (
                format!("npm_config__authToken={v} npm publish"),
                "npm_config__authToken",
            ),
        ] {
            assert_eq!(
                values(&format!("{line}\n")),
                vec![(name.to_string(), v.to_string())],
                "{line}"
            );
        }
    }

    #[test]
    fn comment_lines_are_marked() {
        let v = crate::rules::synthetic_base62(3, 30);
        for line in [format!("# NPM_TOKEN={v}"), format!("  // NPM_TOKEN: '{v}'")] {
            let found = find(&line, &[]);
            assert_eq!(found.len(), 1, "{line}");
            assert!(found[0].in_comment, "{line}");
        }
    }

    #[test]
    fn configured_names_are_found_in_any_case() {
        let v = crate::rules::synthetic_base62(2, 30);
        let extra = vec!["registry_bearer".to_string()];
        let text = format!("export REGISTRY_BEARER={v}\n");
        let found: Vec<_> = find(&text, &extra)
            .into_iter()
            .map(|a| (a.name, text[a.value].to_string()))
            .collect();
        assert_eq!(found, vec![("REGISTRY_BEARER".to_string(), v.clone())]);
        assert!(may_contain(text.as_bytes(), &extra));
        assert!(find(&text, &[]).is_empty());
    }

    #[test]
    fn long_lines_cost_a_bounded_window_per_name() {
        // A minified bundle: one line, thousands of names, no assignment.
        let line = "a.npmAuthToken&&b(NPM_TOKEN);".repeat(20_000);
        assert!(find(&line, &[]).is_empty());
    }

    #[test]
    fn not_assignments() {
        let comment = format!("# NPM_TOKEN={}", crate::rules::synthetic_base62(1, 30));
        for line in [
            comment.as_str(),
            "if [ \"$NPM_TOKEN\" == \"x\" ]; then",
            "Set NPM_TOKEN in your CI settings",
            "npm publish",
            "echo $NPM_TOKEN",
        ] {
            assert!(values(line).is_empty(), "{line}: {:?}", values(line));
        }
    }
}
