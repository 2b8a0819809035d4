//! Byte offsets to 1-based line and column spans.

use crate::finding::Span;
use std::ops::Range;

/// Line starts of a buffer, computed once per item that has hits.
pub struct LineIndex<'a> {
    bytes: &'a [u8],
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub fn new(bytes: &'a [u8]) -> LineIndex<'a> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', bytes).map(|i| i + 1));
        LineIndex { bytes, starts }
    }

    /// 1-based line number and 1-based column (in Unicode code points, the
    /// column kind SARIF defaults to) of a byte offset.
    pub fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.bytes.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = count_code_points(&self.bytes[start..offset]) + 1;
        (line + 1, col)
    }

    /// The span of a byte range; an empty range still covers one column so
    /// that `endColumn > startColumn` holds for SARIF consumers.
    pub fn span(&self, range: Range<usize>) -> Span {
        let (start_line, start_column) = self.position(range.start);
        let (end_line, mut end_column) = self.position(range.end.max(range.start));
        if end_line == start_line && end_column <= start_column {
            end_column = start_column + 1;
        }
        Span {
            start_line,
            start_column,
            end_line,
            end_column,
        }
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.bytes.len())
    }
}

/// Count code points in possibly invalid UTF-8: every byte that is not a
/// continuation byte starts one (an invalid byte counts as one).
fn count_code_points(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| (b & 0xC0) != 0x80).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_code_points() {
        let text = "ab\ncé=xyz\n";
        let idx = LineIndex::new(text.as_bytes());
        assert_eq!(idx.position(0), (1, 1));
        assert_eq!(idx.position(3), (2, 1));
        let x = text.find("xyz").unwrap();
        assert_eq!(idx.position(x), (2, 4));
        let span = idx.span(x..x + 3);
        assert_eq!((span.start_column, span.end_column), (4, 7));
    }
}
