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
        Self::span_of(
            self.position(range.start),
            self.position(range.end.max(range.start)),
        )
    }

    /// The spans of many byte ranges at a cost linear in the bytes they
    /// cover plus `n log n` for the sort: offsets are converted in sorted
    /// order with a cursor that only moves forward, so neither lines nor
    /// code points are ever recounted from the start of the buffer or of a
    /// line (51,200 tokens on one 2 MB line used to be quadratic).
    pub fn spans(&self, ranges: &[Range<usize>]) -> Vec<Span> {
        let mut offsets: Vec<(usize, usize)> = Vec::with_capacity(ranges.len() * 2);
        for (i, r) in ranges.iter().enumerate() {
            offsets.push((r.start.min(self.bytes.len()), 2 * i));
            let end = r.end.max(r.start).min(self.bytes.len());
            offsets.push((end, 2 * i + 1));
        }
        offsets.sort_unstable();
        let mut positions = vec![(0, 0); offsets.len()];
        let mut cursor = Cursor {
            line: 0,
            offset: 0,
            column: 1,
        };
        for (offset, slot) in offsets {
            positions[slot] = cursor.advance(self, offset);
        }
        positions
            .chunks_exact(2)
            .map(|p| Self::span_of(p[0], p[1]))
            .collect()
    }

    fn span_of(
        (start_line, start_column): (usize, usize),
        (end_line, mut end_column): (usize, usize),
    ) -> Span {
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

/// A position that only moves forward: 0-based line index, byte offset and
/// the 1-based column at that offset.
struct Cursor {
    line: usize,
    offset: usize,
    column: usize,
}

impl Cursor {
    /// Move to `offset` (never behind the cursor) and return its 1-based
    /// line and column.
    fn advance(&mut self, index: &LineIndex, offset: usize) -> (usize, usize) {
        debug_assert!(offset >= self.offset);
        // Skip whole lines by their starts (no byte is looked at twice).
        let mut line = self.line;
        while line + 1 < index.starts.len() && index.starts[line + 1] <= offset {
            line += 1;
        }
        if line != self.line {
            self.line = line;
            self.offset = index.starts[line];
            self.column = 1;
        }
        self.column += count_code_points(&index.bytes[self.offset..offset]);
        self.offset = offset;
        (self.line + 1, self.column)
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

    #[test]
    fn batched_spans_equal_single_spans() {
        let text = "é=1\nab\n\nxyzé\u{1F600}q\r\nlast";
        let idx = LineIndex::new(text.as_bytes());
        let n = text.len();
        let mut ranges = Vec::new();
        for a in 0..=n + 2 {
            for b in [a, a + 1, a + 4, a.saturating_sub(1), n + 5] {
                ranges.push(a..b);
            }
        }
        // Unsorted on purpose.
        ranges.reverse();
        let batched = idx.spans(&ranges);
        for (r, s) in ranges.iter().zip(&batched) {
            assert_eq!(*s, idx.span(r.clone()), "{r:?}");
        }
    }
}
