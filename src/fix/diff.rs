//! The patch as a unified diff (`git apply` / `patch -p1` format). A
//! removed line shows its credential redacted (`npm_ab…6789`) unless the
//! caller asks for secrets: the diff is printed to a terminal or a CI log.

use super::FilePatch;
use crate::finding::redact;

/// The unified diff of one file, three lines of context.
pub fn unified(patch: &FilePatch, show_secrets: bool) -> String {
    let diff = similar::TextDiff::from_lines(&patch.original, &patch.fixed);
    let mut out = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{}", patch.path), &format!("b/{}", patch.path))
        .to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    if show_secrets {
        return out;
    }
    // Longest first: a value may contain the secret it was widened from.
    let mut values: Vec<&str> = patch
        .removed_values
        .iter()
        .map(|v| v.trim_matches(|c| c == '"' || c == '\''))
        .filter(|v| !v.is_empty())
        .collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    for v in values {
        out = out.replace(v, &redact(v));
    }
    out
}
