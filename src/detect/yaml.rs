//! YAML helpers shared by the analysers that parse YAML (`.yarnrc.yml`,
//! workflows, compose files): parsing with positions, and turning a node's
//! position into a byte range of the source.

use marked_yaml::{LoaderOptions, Node, Span};
use std::ops::Range;

/// Parse YAML keeping line and column positions. The error is a sentence
/// with `line:column`.
pub fn parse(text: &str) -> Result<Node, String> {
    let options = LoaderOptions::default().prevent_coercion(true);
    marked_yaml::parse_yaml_with_options(0, text, options).map_err(|e| format!("invalid YAML: {e}"))
}

/// Byte offset of a 1-based line and 1-based character column.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match text[start..].find('\n') {
            Some(i) => start += i + 1,
            None => return text.len(),
        }
    }
    let line_text = &text[start..];
    line_text
        .char_indices()
        .nth(column.saturating_sub(1))
        .map(|(i, _)| start + i)
        .unwrap_or(text.len())
}

/// Start offset of a node's span.
pub fn span_start(text: &str, span: &Span) -> usize {
    span.start()
        .map(|m| offset_of(text, m.line(), m.column()))
        .unwrap_or(0)
}

/// The byte range of a scalar value as written: skips an opening quote and
/// covers the value when it appears verbatim, else the rest of its line.
pub fn scalar_range(text: &str, span: &Span, value: &str) -> Range<usize> {
    let mut start = span_start(text, span);
    if matches!(text.as_bytes().get(start), Some(b'"') | Some(b'\'')) {
        start += 1;
    }
    if text[start..].starts_with(value) && !value.is_empty() {
        return start..start + value.len();
    }
    let end = text[start..]
        .find('\n')
        .map(|i| start + i)
        .unwrap_or(text.len());
    start..end.max(start + 1).min(text.len().max(start))
}
