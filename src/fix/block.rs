//! Text edits of block-style YAML at the positions the parser reports:
//! append entries to a mapping, insert a key before another, insert a step
//! before a step, remove an entry's line, add an entry to a one-line flow
//! mapping. Each edit is an insertion or a replacement of a few bytes at the
//! indentation the file already uses; anything written in a style these
//! edits cannot follow is refused with the reason, never rewritten.

use super::Edit;
use super::step_env::{column_of, newline};
use crate::detect::yaml::Positions;
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

pub fn line_start(text: &str, at: usize) -> usize {
    text[..at].rfind('\n').map_or(0, |i| i + 1)
}

/// Just after the `\n` ending the line of `at` (or the end of the text).
pub fn line_end(text: &str, at: usize) -> usize {
    text[at..].find('\n').map_or(text.len(), |i| at + i + 1)
}

/// The end of the block whose first line holds `from` and whose key sits
/// at column `col`: just after the last non-blank line indented deeper
/// (with `dash_continues`, an indentless sequence's `- ` at `col` too).
pub fn block_end(text: &str, from: usize, col: usize, dash_continues: bool) -> usize {
    let mut at = line_end(text, from);
    let mut end = at;
    while at < text.len() {
        let next = line_end(text, at);
        let line = text[at..next].trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start_matches(' ');
        if !trimmed.is_empty() {
            let indent = line.len() - trimmed.len();
            let dash =
                dash_continues && indent == col && (trimmed == "-" || trimmed.starts_with("- "));
            if indent <= col && !dash {
                break;
            }
            end = next;
        }
        at = next;
    }
    end
}

/// The file's indentation step (the column of the first job under `jobs:`),
/// two spaces when it cannot be seen.
pub fn indent_unit(text: &str, root: &MarkedMappingNode, pos: &Positions) -> usize {
    root.get_mapping("jobs")
        .and_then(|jobs| jobs.iter().next())
        .map(|(k, _)| column_of(text, pos.span_start(k.span())))
        .filter(|&c| (1..=8).contains(&c))
        .unwrap_or(2)
}

/// Where a mapping's first key is written: only spaces before it (or the
/// `- ` of a sequence item), so the mapping is in block style.
fn block_key(text: &str, key: usize) -> Result<(), String> {
    let before = &text[line_start(text, key)..key];
    let rest = before.trim_start_matches(' ');
    let rest = rest
        .strip_prefix('-')
        .map_or(rest, |r| r.trim_start_matches(' '));
    if rest.is_empty() {
        Ok(())
    } else {
        Err("a mapping is written in flow style (`{ … }`); change it by hand".into())
    }
}

/// Lines at column `col`, each ended by the file's newline; a newline first
/// when inserting at the end of a text that has none.
fn render(text: &str, at: usize, col: usize, lines: &[String]) -> String {
    let nl = newline(text);
    let mut out = String::new();
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        out.push_str(nl);
    }
    for l in lines {
        out.push_str(&" ".repeat(col));
        out.push_str(l);
        out.push_str(nl);
    }
    out
}

/// Append `lines` (relative to the mapping's key column) after the last
/// entry of a block mapping.
pub fn append(
    text: &str,
    pos: &Positions,
    map: &MarkedMappingNode,
    lines: &[String],
) -> Result<Edit, String> {
    let (first, _) = map
        .iter()
        .next()
        .ok_or("an empty mapping; edit it by hand")?;
    let first = pos.span_start(first.span());
    block_key(text, first)?;
    let col = column_of(text, first);
    let (last_key, last_value) = map.iter().next_back().ok_or("an empty mapping")?;
    let last = pos.span_start(last_key.span());
    let end = block_end(text, last, col, matches!(last_value, Node::Sequence(_)));
    Ok(Edit {
        range: end..end,
        replacement: render(text, end, col, lines),
        rank: 0,
    })
}

/// Insert `lines` (relative to the key's column) on the lines before the
/// mapping key at `key`, which must start its line.
pub fn insert_before_key(text: &str, key: usize, lines: &[String]) -> Result<Edit, String> {
    let start = line_start(text, key);
    if !text[start..key].trim().is_empty() {
        return Err("a key does not start its line; edit it by hand".into());
    }
    Ok(Edit {
        range: start..start,
        replacement: render(text, start, column_of(text, key), lines),
        rank: 0,
    })
}

/// Insert a new sequence item before the step whose first key is at
/// `first_key` (`- ` + `lines[0]`, then the rest at the step's key column).
pub fn insert_step_before(text: &str, first_key: usize, lines: &[String]) -> Result<Edit, String> {
    let start = line_start(text, first_key);
    let prefix = &text[start..first_key];
    let trimmed = prefix.trim_start_matches(' ');
    if !trimmed.starts_with('-') || !trimmed[1..].trim().is_empty() {
        return Err(
            "the step's `-` is not on the line of its first key; add the step by hand".into(),
        );
    }
    // Comment lines right above the step (at its indentation or deeper)
    // belong to it: insert above them.
    let dash_col = prefix.len() - trimmed.len();
    let mut start = start;
    while start > 0 {
        let above = line_start(text, start - 1);
        let line = &text[above..start];
        let body = line.trim_start_matches(' ');
        if !body.starts_with('#') || line.len() - body.len() < dash_col {
            break;
        }
        start = above;
    }
    let nl = newline(text);
    let col = column_of(text, first_key);
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str(prefix);
        } else {
            out.push_str(&" ".repeat(col));
        }
        out.push_str(l);
        out.push_str(nl);
    }
    Ok(Edit {
        range: start..start,
        replacement: out,
        rank: 0,
    })
}

/// The range of the line holding the one-line mapping entry at `key`.
/// Refused when something else shares the line or the value continues on
/// the next lines.
pub fn entry_line(text: &str, key: usize) -> Result<std::ops::Range<usize>, String> {
    let start = line_start(text, key);
    if !text[start..key].trim().is_empty() {
        return Err("an entry does not start its line; remove it by hand".into());
    }
    let end = line_end(text, key);
    if block_end(text, key, column_of(text, key), false) != end {
        return Err("an entry's value spans several lines; remove it by hand".into());
    }
    Ok(start..end)
}

/// Add `entry` to a flow mapping written on one line (`{ a: b }` →
/// `{ a: b, entry }`), the mapping's `{` at `open`.
pub fn flow_append(text: &str, open: usize, entry: &str) -> Result<Edit, String> {
    if text.as_bytes().get(open) != Some(&b'{') {
        return Err("a mapping is in neither block nor flow style; edit it by hand".into());
    }
    let line = &text[open..line_end(text, open)];
    let mut quote = None;
    let mut close = None;
    for (i, c) in line.char_indices().skip(1) {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '{' | '[') => {
                return Err("a flow mapping holds a nested collection; edit it by hand".into());
            }
            (None, '}') => {
                close = Some(open + i);
                break;
            }
            _ => {}
        }
    }
    let close = close.ok_or("a flow mapping spans several lines; edit it by hand")?;
    let inner = &text[open + 1..close];
    if inner.trim().is_empty() {
        return Ok(Edit {
            range: open + 1..close,
            replacement: format!(" {entry} "),
            rank: 0,
        });
    }
    let at = open + 1 + inner.trim_end().len();
    let sep = if inner.trim_end().ends_with(',') {
        " "
    } else {
        ", "
    };
    Ok(Edit {
        range: at..at,
        replacement: format!("{sep}{entry}"),
        rank: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::apply_edits;

    fn with(text: &str, f: impl Fn(&Positions, &MarkedMappingNode) -> Edit) -> String {
        let root = crate::detect::yaml::parse(text).unwrap();
        let pos = Positions::new(text);
        let e = f(&pos, root.as_mapping().unwrap());
        apply_edits(text, &[e]).unwrap()
    }

    #[test]
    fn append_goes_after_the_last_entry_and_its_children() {
        let text = "a:\n  b: 1\n  c:\n    - x\n    # note\n\nd: 2\n";
        let out = with(text, |pos, root| {
            append(text, pos, root.get_mapping("a").unwrap(), &["e: 3".into()]).unwrap()
        });
        assert_eq!(
            out,
            "a:\n  b: 1\n  c:\n    - x\n    # note\n  e: 3\n\nd: 2\n"
        );
        // An indentless sequence is part of the entry; no final newline.
        let text = "a:\n  c:\n  - x\n  - y";
        let out = with(text, |pos, root| {
            append(text, pos, root.get_mapping("a").unwrap(), &["e: 3".into()]).unwrap()
        });
        assert_eq!(out, "a:\n  c:\n  - x\n  - y\n  e: 3\n");
    }

    #[test]
    fn flow_mappings_get_the_entry_before_the_brace() {
        let t = "with: { node-version: 24 } # c\n";
        let e = flow_append(t, 6, "registry-url: x").unwrap();
        assert_eq!(
            apply_edits(t, &[e]).unwrap(),
            "with: { node-version: 24, registry-url: x } # c\n"
        );
        let t = "p: {}\n";
        let e = flow_append(t, 3, "id-token: write").unwrap();
        assert_eq!(apply_edits(t, &[e]).unwrap(), "p: { id-token: write }\n");
        assert!(flow_append("p: { a: [b] }\n", 3, "c: d").is_err());
        assert!(flow_append("p: { a: b,\n  c: d }\n", 3, "e: f").is_err());
    }

    #[test]
    fn steps_are_inserted_at_the_dash() {
        let t = "steps:\n  - uses: a\n    with:\n      x: 1\n  - run: b\n";
        let at = t.find("run").unwrap();
        let e = insert_step_before(t, at, &["name: n".into(), "run: c".into()]).unwrap();
        assert_eq!(
            apply_edits(t, &[e]).unwrap(),
            "steps:\n  - uses: a\n    with:\n      x: 1\n  - name: n\n    run: c\n  - run: b\n"
        );
        let t = "steps:\n  - run: a\n  # b\n  - run: b\n";
        let e = insert_step_before(t, t.find("run: b").unwrap(), &["run: c".into()]).unwrap();
        assert_eq!(
            apply_edits(t, &[e]).unwrap(),
            "steps:\n  - run: a\n  - run: c\n  # b\n  - run: b\n"
        );
        let t = "steps:\n  -\n    run: b\n";
        assert!(insert_step_before(t, t.find("run").unwrap(), &["run: c".into()]).is_err());
    }

    #[test]
    fn entry_lines_are_one_line_entries() {
        let t = "env:\n  A: 1\n  B: >\n    x\n  C: 2\n";
        assert_eq!(entry_line(t, t.find("A:").unwrap()).unwrap(), 5..12);
        assert!(entry_line(t, t.find("B:").unwrap()).is_err());
    }
}
