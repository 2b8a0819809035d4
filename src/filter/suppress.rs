//! Inline suppression: a comment containing `npmsweep:ignore` silences the
//! findings on its line, and — when the comment is alone on its line — the
//! findings on the next line.
//!
//! Syntax: `npmsweep:ignore [RULE-ID[,RULE-ID…]] [reason]` inside a comment
//! opened by `#`, `//`, `;`, `/*` or `<!--`. The marker must start the line
//! or follow whitespace, and must not sit inside a quoted string, so the text
//! inside a value (`MSG="# npmsweep:ignore"`) never counts: suppression has to
//! be a deliberate comment. If the first word looks like a rule id (lowercase
//! words joined by `-`), it must name a rule; a directive naming an unknown
//! rule suppresses nothing and produces a warning, so a typo cannot silence
//! everything.

use crate::detect::Detected;
use crate::finding::Finding;
use crate::rules::Registry;

pub const DIRECTIVE: &str = "npmsweep:ignore";

/// The reason recorded when a directive gives none.
pub const DEFAULT_REASON: &str = "inline npmsweep:ignore";

/// One `npmsweep:ignore` comment.
#[derive(Debug, PartialEq, Eq)]
pub struct Directive {
    /// Rule ids it applies to; empty means every rule.
    pub rules: Vec<String>,
    /// Rule-id-shaped words that name no rule (reported as warnings).
    pub unknown_rules: Vec<String>,
    pub reason: Option<String>,
    /// The comment is the only thing on its line, so it also covers the next.
    pub own_line: bool,
}

impl Directive {
    fn covers(&self, rule_id: &str) -> bool {
        if self.rules.is_empty() {
            self.unknown_rules.is_empty()
        } else {
            self.rules.iter().any(|r| r == rule_id)
        }
    }
}

/// Mark the findings of one item that an inline directive silences, and warn
/// about directives naming unknown rules. Cheap when the item holds no
/// directive: one substring search, only for items that have findings.
pub fn apply(path: &str, bytes: &[u8], detected: &mut Detected) {
    if detected.findings.is_empty() || memchr::memmem::find(bytes, DIRECTIVE.as_bytes()).is_none() {
        return;
    }
    let lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    let directive_at = |line_no: usize| -> Option<Directive> {
        let line = lines.get(line_no.checked_sub(1)?)?;
        memchr::memmem::find(line, DIRECTIVE.as_bytes())?;
        parse_line(&String::from_utf8_lossy(line))
    };
    let mut warned = std::collections::BTreeSet::new();
    for f in detected.findings.iter_mut() {
        if f.suppressed.is_some() {
            continue;
        }
        let line = f.span.start_line;
        let candidates = [
            (line, directive_at(line)),
            (line.saturating_sub(1), directive_at(line.saturating_sub(1))),
        ];
        for (i, (at, d)) in candidates.iter().enumerate() {
            let Some(d) = d else { continue };
            if i == 1 && !d.own_line {
                continue;
            }
            for u in &d.unknown_rules {
                if warned.insert((*at, u.clone())) {
                    detected.warnings.push(format!(
                        "{path}:{at}: npmsweep:ignore names unknown rule {u:?}; it suppresses nothing (`npmsweep rules` lists the ids)"
                    ));
                }
            }
            if d.covers(&f.rule_id) {
                suppress(f, d);
                break;
            }
        }
    }
}

fn suppress(f: &mut Finding, d: &Directive) {
    let reason = d.reason.as_deref().unwrap_or(DEFAULT_REASON);
    f.suppressed = Some(crate::finding::InputText::with_secret(
        reason,
        f.secret.as_ref(),
    ));
}

/// Find a directive in a comment on `line`, if there is one.
pub fn parse_line(line: &str) -> Option<Directive> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    for (pos, _) in line.match_indices(DIRECTIVE) {
        let after = &line[pos + DIRECTIVE.len()..];
        // `npmsweep:ignore-foo` or `npmsweep:ignored` is not the directive.
        if after.chars().next().is_some_and(|c| !c.is_whitespace())
            && !after.starts_with("-->")
            && !after.starts_with("*/")
        {
            continue;
        }
        let Some((marker_at, marker)) = comment_marker_before(line, pos) else {
            continue;
        };
        let between = &line[marker_at + marker.len()..pos];
        // The directive must be a word of the comment, not glued to other text.
        if !(between.is_empty() || between.ends_with(char::is_whitespace)) {
            continue;
        }
        let mut rest = after;
        for close in ["-->", "*/"] {
            if let Some(i) = rest.find(close) {
                rest = &rest[..i];
            }
        }
        let own_line = line[..marker_at].trim().is_empty();
        return Some(parse_arguments(rest.trim(), own_line));
    }
    None
}

const MARKERS: [&str; 5] = ["<!--", "/*", "//", "#", ";"];

/// The first comment marker before `pos` that opens a comment still open at
/// `pos`: at the start of the line or after whitespace, outside quotes.
fn comment_marker_before(line: &str, pos: usize) -> Option<(usize, &'static str)> {
    let head = &line[..pos];
    let mut i = 0;
    while i < head.len() {
        let rest = &head[i..];
        let found = MARKERS.iter().find(|m| rest.starts_with(**m));
        if let Some(marker) = found {
            let preceded_ok = line[..i]
                .chars()
                .next_back()
                .is_none_or(char::is_whitespace);
            let closed = match *marker {
                "<!--" => head[i..].contains("-->"),
                "/*" => head[i..].contains("*/"),
                _ => false,
            };
            if preceded_ok && !closed && !inside_quotes(line, i) {
                return Some((i, marker));
            }
            i += marker.len();
        } else {
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
    }
    None
}

/// Is byte offset `at` inside a quoted string? A quote character counts as
/// open when an odd number of (unescaped) occurrences precede `at` and one
/// follows it, which keeps apostrophes in prose (`don't <!-- … -->`) from
/// hiding a real comment.
fn inside_quotes(line: &str, at: usize) -> bool {
    ['"', '\'', '`'].iter().any(|&q| {
        let before = count_unescaped(&line[..at], q);
        before % 2 == 1 && count_unescaped(&line[at..], q) > 0
    })
}

fn count_unescaped(s: &str, q: char) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == q {
            n += 1;
        }
    }
    n
}

/// `[RULE-ID[,RULE-ID…]] [reason]`.
fn parse_arguments(args: &str, own_line: bool) -> Directive {
    let mut d = Directive {
        rules: Vec::new(),
        unknown_rules: Vec::new(),
        reason: None,
        own_line,
    };
    let (first, rest) = match args.split_once(char::is_whitespace) {
        Some((a, b)) => (a, b.trim()),
        None => (args, ""),
    };
    let ids: Vec<&str> = first.split(',').filter(|s| !s.is_empty()).collect();
    let reason = if !ids.is_empty() && ids.iter().all(|id| looks_like_rule_id(id)) {
        let registry = Registry::global();
        for id in ids {
            if registry.get(id).is_some() {
                d.rules.push(id.to_string());
            } else {
                d.unknown_rules.push(id.to_string());
            }
        }
        rest
    } else {
        args
    };
    let reason = reason
        .trim_start_matches(['-', ':'])
        .trim()
        .trim_end_matches("-->")
        .trim();
    if !reason.is_empty() {
        d.reason = Some(reason.to_string());
    }
    d
}

/// Lowercase alphanumeric words joined by at least one `-`.
fn looks_like_rule_id(s: &str) -> bool {
    s.contains('-')
        && !s.starts_with('-')
        && !s.ends_with('-')
        && !s.contains("--")
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(line: &str) -> Option<Directive> {
        parse_line(line)
    }

    #[test]
    fn every_comment_style_is_recognised() {
        for line in [
            "# npmsweep:ignore",
            "TOKEN=x # npmsweep:ignore",
            "const t = 'x'; // npmsweep:ignore",
            "; npmsweep:ignore",
            "key=value ; npmsweep:ignore",
            "<!-- npmsweep:ignore -->",
            "/* npmsweep:ignore */",
            "#npmsweep:ignore",
            "  //npmsweep:ignore",
        ] {
            assert!(d(line).is_some(), "{line}");
        }
    }

    #[test]
    fn text_inside_values_is_not_a_directive() {
        for line in [
            "HELP=\"npmsweep:ignore\"",
            "MSG=\"x # npmsweep:ignore\"",
            "url=https://example.com/#npmsweep:ignore",
            "x = 'a // npmsweep:ignore'",
            "password=abc#npmsweep:ignore",
            "# npmsweep:ignored",
            "# npmsweep:ignore-next-line",
            "# say npmsweep:ignoreX",
            "# see docs/npmsweep:ignore",
            "<!-- done --> npmsweep:ignore",
        ] {
            assert!(d(line).is_none(), "{line}");
        }
    }

    #[test]
    fn apostrophes_in_prose_do_not_hide_a_comment() {
        assert!(d("Don't copy this <!-- npmsweep:ignore -->").is_some());
    }

    #[test]
    fn own_line_is_detected() {
        assert!(d("  # npmsweep:ignore").unwrap().own_line);
        assert!(!d("A=1 # npmsweep:ignore").unwrap().own_line);
    }

    #[test]
    fn rules_and_reasons() {
        let x = d("# npmsweep:ignore npm-token test fixture").unwrap();
        assert_eq!(x.rules, ["npm-token"]);
        assert_eq!(x.reason.as_deref(), Some("test fixture"));
        assert!(x.covers("npm-token") && !x.covers("npm-legacy-token"));

        let x = d("# npmsweep:ignore npm-token,npm-legacy-token").unwrap();
        assert_eq!(x.rules.len(), 2);
        assert_eq!(x.reason, None);

        let x = d("<!-- npmsweep:ignore documented example -->").unwrap();
        assert!(x.rules.is_empty());
        assert_eq!(x.reason.as_deref(), Some("documented example"));
        assert!(x.covers("npm-token"));

        let x = d("# npmsweep:ignore -- reviewed by security").unwrap();
        assert_eq!(x.reason.as_deref(), Some("reviewed by security"));

        let x = d("# npmsweep:ignore npm-tokn typo").unwrap();
        assert_eq!(x.unknown_rules, ["npm-tokn"]);
        assert!(!x.covers("npm-token"));
    }
}
