//! YAML helpers shared by the analysers that parse YAML (`.yarnrc.yml`,
//! compose files, YAML CI configs): parsing with positions, and turning a
//! node's line/column marker into a byte range of the source.

use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode};
use marked_yaml::{Marker, Node, Span};
use std::collections::HashMap;
use std::ops::Range;
use yaml_rust2::parser::{Event, MarkedEventReceiver};
use yaml_rust2::scanner::{Marker as YamlMarker, TScalarStyle};

/// Parse YAML keeping line and column positions. The error is a sentence
/// with `line:column`.
///
/// Anchors and aliases are expanded (GitHub Actions accepts them in
/// workflows), tags are ignored, and only the first document of a stream is
/// returned (see [`parse_all`]). `marked-yaml`'s own loader refuses anchors
/// and tags, so the tree is built here from `yaml-rust2` events into
/// `marked-yaml` nodes.
pub fn parse(text: &str) -> Result<Node, String> {
    let mut docs = parse_all(text)?;
    let first = if docs.is_empty() {
        Node::Mapping(MarkedMappingNode::new_empty(Span::new_blank()))
    } else {
        docs.swap_remove(0)
    };
    match first {
        Node::Mapping(_) => Ok(first),
        other => {
            let at = other
                .span()
                .start()
                .map(|m| format!("{}:{}: ", m.line(), m.column()))
                .unwrap_or_default();
            Err(format!("invalid YAML: {at}the top level is not a mapping"))
        }
    }
}

/// Every document of a YAML stream (`---`-separated), in order.
pub fn parse_all(text: &str) -> Result<Vec<Node>, String> {
    if let Some(line) = too_deep(text) {
        return Err(format!(
            "YAML nested more than {MAX_DEPTH} levels deep at line {line}; not parsed"
        ));
    }
    let first = match load(text, None) {
        Ok(docs) => return Ok(docs),
        Err(e) => e,
    };
    // GitHub's parser lets the lines of a flow collection sit at any
    // indentation (`branches: [\n  main\n]` with `]` left of `branches`);
    // yaml-rust2 refuses them. Join such a line to the one before — a line
    // break becomes a space, so every byte offset stays where it was — and
    // map the parser's positions back to the original lines.
    let starts = char_line_starts(text);
    let mut repaired = text.as_bytes().to_vec();
    let mut at = first.index;
    let mut quoted = first.quoted;
    for _ in 0..MAX_FLOW_JOINS {
        let breaks = if quoted {
            quoted_line_breaks(&repaired, at)
        } else {
            flow_line_break(&repaired, at).into_iter().collect()
        };
        if breaks.is_empty() {
            break;
        }
        for brk in breaks {
            repaired[brk] = b' ';
            if brk > 0 && repaired[brk - 1] == b'\r' {
                repaired[brk - 1] = b' ';
            }
        }
        let Ok(candidate) = std::str::from_utf8(&repaired) else {
            break;
        };
        match load(candidate, Some(&starts)) {
            Ok(docs) => return Ok(docs),
            Err(e) if e.indentation => {
                at = e.index;
                quoted = e.quoted;
            }
            Err(_) => break,
        }
    }
    Err(first.message)
}

/// Indentation errors inside one document fixed by joining lines, at most.
const MAX_FLOW_JOINS: usize = 64;

struct LoadError {
    message: String,
    /// Byte offset of the error.
    index: usize,
    /// An indentation complaint (the only kind joining lines can fix).
    indentation: bool,
    /// About a quoted scalar (the error points at its opening quote).
    quoted: bool,
}

fn load(text: &str, original_lines: Option<&[usize]>) -> Result<Vec<Node>, LoadError> {
    let mut loader = Loader {
        original_lines,
        ..Loader::default()
    };
    let mut parser = yaml_rust2::parser::Parser::new_from_str(text);
    if let Err(e) = parser.load(&mut loader, true) {
        let m = e.marker();
        return Err(LoadError {
            message: format!("invalid YAML: {}:{}: {}", m.line(), m.col() + 1, e.info()),
            index: text
                .char_indices()
                .nth(m.index())
                .map(|(i, _)| i)
                .unwrap_or(text.len()),
            indentation: e.info().starts_with("invalid indentation"),
            quoted: e.info().contains("quoted scalar"),
        });
    }
    if let Some(e) = loader.error {
        return Err(LoadError {
            message: format!("invalid YAML: {e}"),
            index: 0,
            indentation: false,
            quoted: false,
        });
    }
    Ok(loader.docs)
}

/// Character index of each line start.
fn char_line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        text.chars()
            .enumerate()
            .filter(|(_, c)| *c == '\n')
            .map(|(i, _)| i + 1),
    );
    starts
}

/// The line break to join away for an indentation error at byte `at`:
/// the one ending the line before, when that line break is inside an open
/// flow collection (`[` or `{` not yet closed, outside quotes and comments).
fn flow_line_break(text: &[u8], at: usize) -> Option<usize> {
    let at = at.min(text.len());
    let brk = text[..at].iter().rposition(|&b| b == b'\n')?;
    (flow_depth(&text[..brk]) > 0).then_some(brk)
}

/// The line breaks inside the quoted scalar opening at byte `at`, whose
/// continuation lines GitHub lets start at any column (folding turns a line
/// break into a space anyway; only the value's blank lines are lost).
fn quoted_line_breaks(text: &[u8], at: usize) -> Vec<usize> {
    let Some(&q) = text.get(at).filter(|c| matches!(c, b'"' | b'\'')) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut i = at + 1;
    while i < text.len() {
        match text[i] {
            b'\\' if q == b'"' => i += 1,
            b'\'' if q == b'\'' && text.get(i + 1) == Some(&b'\'') => i += 1,
            c if c == q => return out,
            b'\n' => out.push(i),
            _ => {}
        }
        i += 1;
    }
    Vec::new()
}

/// Open flow brackets at the end of `text` (quotes and comments skipped;
/// a quote does not outlive its line, which keeps a stray one harmless).
fn flow_depth(text: &[u8]) -> usize {
    let mut depth: usize = 0;
    for line in text.split(|&b| b == b'\n') {
        let mut quote = None;
        let mut prev = b' ';
        for &c in line {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, b'"' | b'\'') => quote = Some(c),
                (None, b'#') if prev == b' ' || prev == b'\t' => break,
                (None, b'[' | b'{') => depth += 1,
                (None, b']' | b'}') => depth = depth.saturating_sub(1),
                _ => {}
            }
            prev = c;
        }
    }
    depth
}

/// At most this many nodes, counting every alias expansion: a "billion
/// laughs" document of nested aliases must not exhaust memory.
const MAX_NODES: usize = 1_000_000;

enum Open {
    Sequence(MarkedSequenceNode, usize),
    Mapping(MarkedMappingNode, usize, Option<MarkedScalarNode>),
}

#[derive(Default)]
struct Loader<'a> {
    /// Character index of each line start of the original text, when the
    /// parsed text had lines joined: positions are mapped back to it.
    original_lines: Option<&'a [usize]>,
    open: Vec<Open>,
    /// Anchored nodes and their sizes in nodes.
    anchors: HashMap<usize, (Node, usize)>,
    /// Nodes built so far in each open container (for anchor sizes).
    sizes: Vec<usize>,
    total: usize,
    docs: Vec<Node>,
    error: Option<String>,
}

impl Loader<'_> {
    fn fail(&mut self, mark: YamlMarker, what: &str) {
        if self.error.is_none() {
            self.error = Some(format!("{}:{}: {what}", mark.line(), mark.col() + 1));
        }
    }

    /// Attach a finished node (of `size` nodes) to the open container.
    fn attach(&mut self, node: Node, size: usize, mark: YamlMarker) {
        self.total += size;
        if self.total > MAX_NODES {
            self.fail(mark, "too many nodes (alias expansion); not parsed");
            return;
        }
        if let Some(s) = self.sizes.last_mut() {
            *s += size;
        }
        match self.open.last_mut() {
            None => self.docs.push(node),
            Some(Open::Sequence(seq, _)) => seq.push(node),
            Some(Open::Mapping(map, _, key)) => match key.take() {
                Some(k) => {
                    map.insert(k, node);
                }
                None => match node {
                    Node::Scalar(k) => *key = Some(k),
                    _ => self.fail(mark, "keys in mappings must be scalars"),
                },
            },
        }
    }
}

impl MarkedEventReceiver for Loader<'_> {
    fn on_event(&mut self, ev: Event, mark: YamlMarker) {
        if self.error.is_some() {
            return;
        }
        let (line, column) = match self.original_lines {
            Some(starts) => {
                let i = mark.index();
                let l = starts.partition_point(|&s| s <= i).max(1);
                (l, i - starts[l - 1] + 1)
            }
            None => (mark.line(), mark.col() + 1),
        };
        let span = Span::new_start(Marker::new(0, mark.index(), line, column));
        match ev {
            Event::Scalar(value, style, anchor, _tag) => {
                let mut node = MarkedScalarNode::new(span, value);
                node.set_coerce(matches!(style, TScalarStyle::Plain));
                let node = Node::Scalar(node);
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.attach(node, 1, mark);
            }
            Event::Alias(id) => match self.anchors.get(&id) {
                // Refuse before cloning: the clone itself is the bomb.
                Some((_, size)) if self.total + size > MAX_NODES => {
                    self.fail(mark, "too many nodes (alias expansion); not parsed")
                }
                Some((node, size)) => {
                    let (node, size) = (node.clone(), *size);
                    self.attach(node, size, mark);
                }
                None => self.fail(mark, "alias to an unknown anchor"),
            },
            Event::SequenceStart(anchor, _tag) => {
                self.open
                    .push(Open::Sequence(MarkedSequenceNode::new_empty(span), anchor));
                self.sizes.push(1);
            }
            Event::MappingStart(anchor, _tag) => {
                self.open.push(Open::Mapping(
                    MarkedMappingNode::new_empty(span),
                    anchor,
                    None,
                ));
                self.sizes.push(1);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let size = self.sizes.pop().unwrap_or(1);
                let (node, anchor) = match self.open.pop() {
                    Some(Open::Sequence(seq, anchor)) => (Node::Sequence(seq), anchor),
                    Some(Open::Mapping(map, anchor, _)) => (Node::Mapping(map), anchor),
                    None => return self.fail(mark, "unbalanced collection end"),
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                // The container's own nodes were counted as they arrived.
                self.total -= size - 1;
                self.attach(node, size, mark);
            }
            Event::Nothing
            | Event::StreamStart
            | Event::StreamEnd
            | Event::DocumentStart
            | Event::DocumentEnd => {}
        }
    }
}

/// No real configuration nests this deep; a document that does is hostile
/// or broken, and parsing, walking and dropping its tree recurses once per
/// level (enough levels overflow a thread's stack, which aborts the process).
pub const MAX_DEPTH: usize = 256;

/// The first line at which a cheap, conservative estimate of the nesting
/// depth exceeds [`MAX_DEPTH`]: open flow brackets outside quotes, plus
/// block indentation, plus `- ` sequence markers opening a line.
fn too_deep(text: &str) -> Option<usize> {
    let mut flow: usize = 0;
    for (n, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        let mut rest = line.trim_start();
        let mut dashes = 0;
        while let Some(r) = rest.strip_prefix('-') {
            if !(r.is_empty() || r.starts_with([' ', '\t'])) {
                break;
            }
            dashes += 1;
            rest = r.trim_start();
        }
        let mut quote: Option<char> = None;
        let mut deepest = flow;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    flow += 1;
                    deepest = deepest.max(flow);
                }
                (None, ']' | '}') => flow = flow.saturating_sub(1),
                _ => {}
            }
        }
        if deepest + indent / 2 + dashes > MAX_DEPTH {
            return Some(n + 1);
        }
    }
    None
}

/// Byte offsets of a text's line starts, built once per document so that
/// positions cost a binary search, not a rescan from the top.
pub struct Positions<'a> {
    pub text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Positions<'a> {
    pub fn new(text: &'a str) -> Positions<'a> {
        let mut starts = vec![0];
        starts.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
        Positions { text, starts }
    }

    /// Byte offset of a 1-based line and 1-based character column.
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let Some(&start) = self.starts.get(line.saturating_sub(1)) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        // ASCII columns are byte columns; otherwise count characters.
        let col = column.saturating_sub(1);
        if rest.len() > col && rest.as_bytes()[..col].is_ascii() {
            return start + col;
        }
        rest.char_indices()
            .nth(col)
            .map(|(i, _)| start + i)
            .unwrap_or(self.text.len())
    }

    /// Start offset of a node's span.
    pub fn span_start(&self, span: &Span) -> usize {
        span.start()
            .map(|m| self.offset_of(m.line(), m.column()))
            .unwrap_or(0)
    }

    /// The byte range of a scalar value as written: skips an opening quote
    /// and covers the value when it appears verbatim, else the rest of its
    /// line.
    pub fn scalar_range(&self, span: &Span, value: &str) -> Range<usize> {
        let text = self.text;
        let mut start = self.span_start(span);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_map_markers_to_bytes() {
        let text = "a: 1\nkey: \"välue\"\nc: x\n";
        let root = parse(text).unwrap();
        let pos = Positions::new(text);
        let map = root.as_mapping().unwrap();
        let v = map.get_scalar("key").unwrap();
        let r = pos.scalar_range(v.span(), v.as_str());
        assert_eq!(&text[r], "välue");
        let c = map.get_scalar("c").unwrap();
        let r = pos.scalar_range(c.span(), c.as_str());
        assert_eq!(&text[r], "x");
        assert_eq!(pos.offset_of(99, 1), text.len());
    }

    #[test]
    fn flow_collections_at_any_indentation_parse_with_true_positions() {
        // `]` left of its key, and a continuation line at the key's column:
        // GitHub runs both.
        for text in [
            "on:\n  push:\n    branches: [\n      main\n  ]\njobs:\n  a:\n    runs-on: x\n",
            "on:\r\n  push:\r\n    branches: [\r\n      main\r\n  ]\r\njobs:\r\n  a:\r\n    runs-on: x\r\n",
            "on: push\njobs:\n  a:\n    strategy:\n      matrix:\n        node: [\n          18,\n        20]\n    runs-on: x\n",
        ] {
            let root = parse(text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
            let pos = Positions::new(text);
            let job = root
                .as_mapping()
                .unwrap()
                .get_mapping("jobs")
                .unwrap()
                .get_mapping("a")
                .unwrap();
            let v = job.get_scalar("runs-on").unwrap();
            let r = pos.scalar_range(v.span(), v.as_str());
            assert_eq!(&text[r.clone()], "x");
            assert_eq!(
                v.span().start().unwrap().line(),
                text[..r.start].lines().count()
            );
        }
        // A quoted scalar whose continuation lines start at column 0.
        let text = "jobs:\n  a:\n    steps:\n      - with:\n          message: \"Dear all,\n\nbuild failed.\"\n        run: echo\n";
        let root = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let steps = root
            .as_mapping()
            .unwrap()
            .get_mapping("jobs")
            .unwrap()
            .get_mapping("a")
            .unwrap()
            .get_sequence("steps")
            .unwrap();
        let run = steps
            .get_node(0)
            .unwrap()
            .as_mapping()
            .unwrap()
            .get_scalar("run")
            .unwrap();
        assert_eq!(
            &text[Positions::new(text).scalar_range(run.span(), run.as_str())],
            "echo"
        );
        assert!(parse("a:\n  b: \"x\n\ny: 1\n").is_err());
        // Broken block structure stays an error, with the original position.
        let e = parse("on:\n  push:\n    branches: main\n  ]\n").unwrap_err();
        assert!(e.starts_with("invalid YAML: 4:"), "{e}");
        let e = parse("a:\n  b: 1\n c: 2\n").unwrap_err();
        assert!(e.contains("invalid YAML"), "{e}");
    }

    #[test]
    fn refuses_hostile_nesting_but_not_real_documents() {
        let deep_flow = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
        assert!(parse(&deep_flow).unwrap_err().contains("nested more than"));
        let deep_block = format!("{}x: 1\n", "- ".repeat(5000));
        assert!(parse(&deep_block).unwrap_err().contains("line 1"));
        let fine = "jobs:\n  a:\n    steps:\n      - run: echo '[[[['\n        env: {A: \"{\"}\n";
        assert!(parse(fine).is_ok());
    }
}
