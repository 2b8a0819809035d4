//! `run:` bodies (and Dockerfile `RUN` lines) parsed as shell with
//! tree-sitter-bash, flattened into the few facts the rules need: each
//! simple command with its words, the variables each word expands, where the
//! command's standard output goes, and `${{ … }}` expressions pasted in.
//!
//! Expressions are masked with `_` before parsing (same byte length, so
//! offsets stay valid): tree-sitter would otherwise read `${{` as a broken
//! parameter expansion.

use std::cell::RefCell;
use std::ops::Range;
use tree_sitter::{Node, Parser};

/// A `${{ … }}` expression in the body.
#[derive(Clone, Debug)]
pub struct Expr {
    pub range: Range<usize>,
    /// Text between `${{` and `}}`, trimmed.
    pub inner: String,
}

/// A variable expansion: `$NAME`, `${NAME}`, `${NAME:0:4}`…
#[derive(Clone, Debug)]
pub struct VarRef {
    pub name: String,
    pub range: Range<usize>,
    /// The value is altered before use (substring, replacement, case
    /// change): GitHub's masking no longer recognises it.
    pub transformed: bool,
}

/// One shell word (argument, redirect target, assigned value).
#[derive(Clone, Debug, Default)]
pub struct Word {
    pub range: Range<usize>,
    /// Static value with quotes removed; expansions kept as written.
    pub value: String,
    /// Expansions that really happen (not those inside single quotes).
    pub vars: Vec<VarRef>,
    /// Indexes into [`Script::exprs`] of expressions inside the word.
    pub exprs: Vec<usize>,
    /// Contains a `$( … )` substitution.
    pub substitution: bool,
    /// Expansions inside `$( … )`: what the substitution's output may
    /// derive from (used for assignments, not for printing).
    pub sub_vars: Vec<VarRef>,
}

#[derive(Clone, Debug)]
pub struct Assign {
    pub name: String,
    pub value: Word,
    pub range: Range<usize>,
}

/// Where a command's standard output ends up.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Stdout {
    /// The job log (stdout, or stderr via `>&2`).
    Log,
    /// A file (`>`/`>>`/`&>`), `/dev/null` included.
    File(String, Range<usize>),
    /// The next command of a pipeline (index into [`Script::commands`]).
    Pipe(usize),
    /// Captured by `$( … )` or `<( … )`.
    Captured,
}

/// A simple command, or a bare assignment / `export` (then `name` is empty
/// or the declaration keyword).
#[derive(Clone, Debug)]
pub struct Command {
    pub name: String,
    pub name_range: Range<usize>,
    pub range: Range<usize>,
    pub args: Vec<Word>,
    pub assigns: Vec<Assign>,
    pub stdout: Stdout,
    /// Heredoc / here-string fed to standard input.
    pub stdin: Option<Word>,
}

impl Command {
    /// Argument values.
    pub fn argv(&self) -> impl Iterator<Item = &str> {
        self.args.iter().map(|w| w.value.as_str())
    }

    pub fn has_arg(&self, a: &str) -> bool {
        self.argv().any(|v| v == a)
    }

    /// Every word of the command: arguments, assigned values, stdin.
    pub fn words(&self) -> impl Iterator<Item = &Word> {
        self.args
            .iter()
            .chain(self.assigns.iter().map(|a| &a.value))
            .chain(self.stdin.iter())
    }
}

#[derive(Clone, Debug, Default)]
pub struct Script {
    pub commands: Vec<Command>,
    pub exprs: Vec<Expr>,
    /// The parser had to recover from a syntax error somewhere.
    pub has_errors: bool,
    /// Why the body was not analysed at all (too large, too costly to
    /// parse, nested too deep): the caller warns; the file's literal
    /// credentials are still found by the other detectors.
    pub not_analysed: Option<String>,
}

/// Find `${{ … }}` expressions (GitHub substitutes them before the shell
/// runs, so they are not shell syntax).
pub fn find_exprs(body: &str) -> Vec<Expr> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = body[from..].find("${{") {
        let start = from + i;
        let Some(j) = body[start + 3..].find("}}") else {
            break;
        };
        let end = start + 3 + j + 2;
        out.push(Expr {
            range: start..end,
            inner: body[start + 3..end - 2].trim().to_string(),
        });
        from = end;
    }
    out
}

/// Parse a shell body. Never fails: a body tree-sitter cannot parse fully
/// still yields the commands it recognised, with `has_errors` set.
pub fn parse(body: &str) -> Script {
    let exprs = find_exprs(body);
    let not_analysed = |exprs: Vec<Expr>, why: String| Script {
        exprs,
        has_errors: true,
        not_analysed: Some(why),
        ..Script::default()
    };
    if body.len() > MAX_SCRIPT_BYTES {
        return not_analysed(
            exprs,
            format!(
                "{} bytes, over the {MAX_SCRIPT_BYTES}-byte limit for shell analysis",
                body.len()
            ),
        );
    }
    let mut masked = body.as_bytes().to_vec();
    for e in &exprs {
        masked[e.range.clone()].fill(b'_');
    }
    // Tree-sitter's error recovery can be superlinear on hostile bodies
    // (`if true; then` repeated). Its progress callback runs every few
    // hundred parser operations; counting calls bounds the work linearly in
    // the body's size, deterministically (a wall-clock timeout would make
    // the output depend on machine load).
    let budget = PARSE_BUDGET_BASE + masked.len() / PARSE_BYTES_PER_CALLBACK;
    let mut calls = 0usize;
    let mut progress = |_: &tree_sitter::ParseState| {
        calls += 1;
        if calls > budget {
            std::ops::ControlFlow::Break(())
        } else {
            std::ops::ControlFlow::Continue(())
        }
    };
    // One parser per thread: building one per `run:` body is the costly part
    // when history sweeps see thousands of workflow versions.
    thread_local! {
        static PARSER: RefCell<Option<Parser>> = const { RefCell::new(None) };
    }
    let tree = PARSER.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            let mut p = Parser::new();
            p.set_language(&tree_sitter_bash::LANGUAGE.into()).ok()?;
            *slot = Some(p);
        }
        let parser = slot.as_mut()?;
        let options = tree_sitter::ParseOptions::new().progress_callback(&mut progress);
        let len = masked.len();
        let tree =
            parser.parse_with_options(&mut |at, _| &masked[at.min(len)..], None, Some(options));
        if tree.is_none() {
            // A cancelled parse would otherwise resume on the next body.
            parser.reset();
        }
        tree
    });
    let Some(tree) = tree else {
        return not_analysed(exprs, "too costly to parse as shell".into());
    };
    let root = tree.root_node();
    // The builder recurses once per syntax level; a body nested deeper than
    // any real script (`$($($(…)))` thousands deep) would overflow the stack.
    if max_depth(root) > MAX_SYNTAX_DEPTH {
        return not_analysed(
            exprs,
            format!("nested more than {MAX_SYNTAX_DEPTH} levels deep"),
        );
    }
    let mut b = Builder {
        src: body,
        exprs: &exprs,
        nodes: Vec::new(),
        commands: Vec::new(),
        pending: Vec::new(),
    };
    b.collect(root, &Context::default());
    let pending = std::mem::take(&mut b.pending);
    let stdouts: Vec<Stdout> = pending.into_iter().map(|p| b.resolve(p)).collect();
    let mut commands = b.commands;
    for (c, s) in commands.iter_mut().zip(stdouts) {
        c.stdout = s;
    }
    Script {
        commands,
        has_errors: root.has_error(),
        exprs,
        not_analysed: None,
    }
}

/// Deeper shell syntax trees are not analysed (see [`parse`]).
const MAX_SYNTAX_DEPTH: usize = 512;

/// Larger `run:` bodies are not analysed: real ones are a few KB, and the
/// syntax tree and command list cost about 1 KB of memory per byte of body.
pub const MAX_SCRIPT_BYTES: usize = 64 * 1024;

/// Parser work allowed: progress callbacks (one every few hundred parser
/// operations) per byte of body, plus a base for tiny bodies. Real scripts
/// use well under a tenth of it.
const PARSE_BUDGET_BASE: usize = 1000;
const PARSE_BYTES_PER_CALLBACK: usize = 1;

/// What a node inherits from its ancestors, computed on the way down so
/// that no node ever looks up its parents (tree-sitter finds a node's
/// parent by descending from the root: `Node::parent` in a loop over a long
/// pipeline is quadratic).
#[derive(Clone, Default)]
struct Context<'t> {
    /// Kind of the parent node.
    parent_kind: &'t str,
    /// The innermost ancestor decision about standard output.
    stdout: Option<PendingStdout>,
    /// The `redirected_statement` whose body this node is (its heredocs and
    /// here-strings feed the node's standard input).
    stdin_from: Option<Node<'t>>,
}

/// Where standard output goes, before command indexes are known.
#[derive(Clone, Debug)]
enum PendingStdout {
    Known(Stdout),
    /// The first command inside this byte range (the next part of a
    /// pipeline); when it holds none, what the pipeline's ancestors say.
    FirstCommandIn(Range<usize>, Option<Box<PendingStdout>>),
}

/// Depth of a syntax tree, measured without recursion.
fn max_depth(root: Node) -> usize {
    let mut cursor = root.walk();
    let (mut depth, mut deepest) = (0usize, 0usize);
    loop {
        if cursor.goto_first_child() {
            depth += 1;
            deepest = deepest.max(depth);
            continue;
        }
        loop {
            if cursor.goto_next_sibling() {
                break;
            }
            if !cursor.goto_parent() {
                return deepest;
            }
            depth -= 1;
        }
    }
}

struct Builder<'s, 't> {
    src: &'s str,
    exprs: &'s [Expr],
    /// Command nodes, in document (pre-order) order: sorted by start byte.
    nodes: Vec<Node<'t>>,
    commands: Vec<Command>,
    /// Standard output of each command, resolved after the walk.
    pending: Vec<PendingStdout>,
}

impl<'s, 't> Builder<'s, 't> {
    fn text(&self, n: Node) -> &'s str {
        self.src.get(n.byte_range()).unwrap_or("")
    }

    /// Pre-order walk: document order, which is execution order for the
    /// straight-line scripts found in CI.
    fn collect(&mut self, n: Node<'t>, cx: &Context<'t>) {
        match n.kind() {
            "command" => self.command(n, cx),
            "declaration_command" => self.declaration(n, cx),
            "variable_assignment"
                if !matches!(cx.parent_kind, "command" | "declaration_command") =>
            {
                let a = self.assign(n);
                self.push(n, cx, String::new(), n.byte_range(), Vec::new(), vec![a]);
            }
            _ => {}
        }
        let kind = n.kind();
        let body = (kind == "redirected_statement")
            .then(|| n.child_by_field_name("body"))
            .flatten();
        // Redirects of a statement apply to its body, whatever is nested in it.
        let body_stdout = body
            .and_then(|_| self.redirect_stdout(n))
            .map(PendingStdout::Known);
        let mut cursor = n.walk();
        let children: Vec<Node<'t>> = n.children(&mut cursor).collect();
        // The next named sibling of each child, in one backward pass.
        let mut next_named = vec![None; children.len()];
        let mut following = None;
        for i in (0..children.len()).rev() {
            next_named[i] = following;
            if children[i].is_named() {
                following = Some(i);
            }
        }
        for (i, child) in children.iter().enumerate() {
            let stdout = match kind {
                "command_substitution" | "process_substitution" => {
                    Some(PendingStdout::Known(Stdout::Captured))
                }
                "redirected_statement" if body.is_some_and(|b| b.id() == child.id()) => {
                    body_stdout.clone().or_else(|| cx.stdout.clone())
                }
                "pipeline" if child.is_named() => match next_named[i] {
                    Some(next) => Some(PendingStdout::FirstCommandIn(
                        children[next].byte_range(),
                        cx.stdout.clone().map(Box::new),
                    )),
                    None => cx.stdout.clone(),
                },
                _ => cx.stdout.clone(),
            };
            let stdin_from = match kind {
                "redirected_statement" if body.is_some_and(|b| b.id() == child.id()) => Some(n),
                "redirected_statement" => cx.stdin_from,
                _ => None,
            };
            let child_cx = Context {
                parent_kind: kind,
                stdout,
                stdin_from,
            };
            self.collect(*child, &child_cx);
        }
    }

    /// A command's standard output, once every command has its index.
    fn resolve(&self, p: PendingStdout) -> Stdout {
        match p {
            PendingStdout::Known(s) => s,
            PendingStdout::FirstCommandIn(range, otherwise) => match self.first_command_in(range) {
                Some(i) => Stdout::Pipe(i),
                None => otherwise.map_or(Stdout::Log, |o| self.resolve(*o)),
            },
        }
    }

    fn push(
        &mut self,
        n: Node<'t>,
        cx: &Context<'t>,
        name: String,
        name_range: Range<usize>,
        args: Vec<Word>,
        assigns: Vec<Assign>,
    ) {
        let stdin = self.stdin_of(n, cx);
        let stdout = match self.redirect_stdout(n) {
            Some(own) => PendingStdout::Known(own),
            None => cx
                .stdout
                .clone()
                .unwrap_or(PendingStdout::Known(Stdout::Log)),
        };
        self.pending.push(stdout);
        self.nodes.push(n);
        self.commands.push(Command {
            name,
            name_range,
            range: n.byte_range(),
            args,
            assigns,
            stdout: Stdout::Log,
            stdin,
        });
    }

    fn command(&mut self, n: Node<'t>, cx: &Context<'t>) {
        let mut args = Vec::new();
        let mut assigns = Vec::new();
        let mut name = String::new();
        let mut name_range = n.start_byte()..n.start_byte();
        let mut cursor = n.walk();
        for child in n.named_children(&mut cursor) {
            match child.kind() {
                "variable_assignment" => assigns.push(self.assign(child)),
                "command_name" => {
                    let w = self.word(child);
                    name = w.value.rsplit('/').next().unwrap_or(&w.value).to_string();
                    name_range = child.byte_range();
                }
                "file_redirect" | "herestring_redirect" => {}
                "comment" => {}
                _ => args.push(self.word(child)),
            }
        }
        self.push(n, cx, name, name_range, args, assigns);
    }

    fn declaration(&mut self, n: Node<'t>, cx: &Context<'t>) {
        let mut args = Vec::new();
        let mut assigns = Vec::new();
        let mut cursor = n.walk();
        let keyword = n
            .child(0)
            .map(|c| self.text(c).to_string())
            .unwrap_or_default();
        for child in n.named_children(&mut cursor) {
            match child.kind() {
                "variable_assignment" => assigns.push(self.assign(child)),
                _ => args.push(self.word(child)),
            }
        }
        let kw_range = n.child(0).map(|c| c.byte_range()).unwrap_or(n.byte_range());
        self.push(n, cx, keyword, kw_range, args, assigns);
    }

    fn assign(&self, n: Node) -> Assign {
        let name = n
            .child_by_field_name("name")
            .map(|c| self.text(c).to_string())
            .unwrap_or_default();
        let value = n
            .child_by_field_name("value")
            .map(|v| self.word(v))
            .unwrap_or(Word {
                range: n.end_byte()..n.end_byte(),
                ..Word::default()
            });
        Assign {
            name,
            value,
            range: n.byte_range(),
        }
    }

    /// Build a [`Word`] from any argument-like node.
    fn word(&self, n: Node) -> Word {
        let mut w = Word {
            range: n.byte_range(),
            ..Word::default()
        };
        self.fill(n, &mut w, false);
        w.exprs = self
            .exprs
            .iter()
            .enumerate()
            .filter(|(_, e)| e.range.start < n.end_byte() && n.start_byte() < e.range.end)
            .map(|(i, _)| i)
            .collect();
        w
    }

    fn fill(&self, n: Node, w: &mut Word, in_dquote: bool) {
        match n.kind() {
            "raw_string" => {
                let t = self.text(n);
                w.value
                    .push_str(t.trim_start_matches('\'').trim_end_matches('\''));
            }
            "string" => {
                let mut cursor = n.walk();
                let mut last = n.start_byte() + 1;
                for child in n.named_children(&mut cursor) {
                    // Text between named children (spaces inside quotes).
                    if child.start_byte() > last {
                        w.value
                            .push_str(self.src.get(last..child.start_byte()).unwrap_or(""));
                    }
                    self.fill(child, w, true);
                    last = child.end_byte();
                }
                let end = n.end_byte().saturating_sub(1);
                if end > last {
                    w.value.push_str(self.src.get(last..end).unwrap_or(""));
                }
            }
            "simple_expansion" | "expansion" => {
                w.value.push_str(self.text(n));
                if let Some(v) = self.var_ref(n) {
                    w.vars.push(v);
                }
                // `${X:-$Y}`: the default's expansions happen too.
                let mut cursor = n.walk();
                for child in n.named_children(&mut cursor) {
                    if !matches!(child.kind(), "variable_name" | "special_variable_name") {
                        let mut inner = Word::default();
                        self.fill(child, &mut inner, in_dquote);
                        w.vars.extend(inner.vars);
                    }
                }
            }
            "command_substitution" | "process_substitution" => {
                w.value.push_str(self.text(n));
                w.substitution = true;
                self.inner_vars(n, &mut w.sub_vars);
            }
            "concatenation" | "command_name" | "heredoc_body" => {
                let mut cursor = n.walk();
                let kids: Vec<Node> = n.named_children(&mut cursor).collect();
                if kids.is_empty() {
                    w.value.push_str(self.text(n));
                    return;
                }
                let mut last = n.start_byte();
                for child in kids {
                    if child.start_byte() > last {
                        w.value
                            .push_str(self.src.get(last..child.start_byte()).unwrap_or(""));
                    }
                    self.fill(child, w, in_dquote);
                    last = child.end_byte();
                }
                if n.end_byte() > last {
                    w.value
                        .push_str(self.src.get(last..n.end_byte()).unwrap_or(""));
                }
            }
            "word" if !in_dquote => {
                // Unquoted backslash escapes.
                let t = self.text(n);
                let mut chars = t.chars();
                while let Some(c) = chars.next() {
                    if c == '\\' {
                        if let Some(n) = chars.next() {
                            w.value.push(n);
                        }
                    } else {
                        w.value.push(c);
                    }
                }
            }
            _ => w.value.push_str(self.text(n)),
        }
    }

    /// Every expansion below `n` (through nested strings and commands).
    fn inner_vars(&self, n: Node, out: &mut Vec<VarRef>) {
        let mut cursor = n.walk();
        for child in n.named_children(&mut cursor) {
            if matches!(child.kind(), "simple_expansion" | "expansion")
                && let Some(v) = self.var_ref(child)
            {
                out.push(v);
            }
            if child.kind() != "raw_string" {
                self.inner_vars(child, out);
            }
        }
    }

    fn var_ref(&self, n: Node) -> Option<VarRef> {
        let mut cursor = n.walk();
        let name_node = n.named_children(&mut cursor).find(|c| {
            matches!(
                c.kind(),
                "variable_name" | "special_variable_name" | "subscript"
            )
        })?;
        let name = self
            .text(name_node)
            .split('[')
            .next()
            .unwrap_or("")
            .to_string();
        if n.kind() == "simple_expansion" {
            return Some(VarRef {
                name,
                range: n.byte_range(),
                transformed: false,
            });
        }
        // Everything between `${` and the name, and after the name.
        let before = self
            .src
            .get(n.start_byte() + 2..name_node.start_byte())
            .unwrap_or("");
        let after = self
            .src
            .get(name_node.end_byte()..n.end_byte().saturating_sub(1))
            .unwrap_or("");
        // `${#X}` is a length, `${X:+y}` / `${X+y}` substitute another value:
        // neither reveals the variable.
        if before.contains('#') || before.contains('!') {
            return None;
        }
        let op = after.trim_start();
        if op.starts_with(":+") || op.starts_with('+') {
            return None;
        }
        let transformed = !(op.is_empty()
            || op.starts_with(":-")
            || op.starts_with('-')
            || op.starts_with(":=")
            || op.starts_with('=')
            || op.starts_with(":?")
            || op.starts_with('?'));
        Some(VarRef {
            name,
            range: n.byte_range(),
            transformed,
        })
    }

    /// Heredoc or here-string attached to the statement around `n`.
    fn stdin_of(&self, n: Node, cx: &Context<'t>) -> Option<Word> {
        // Own redirects first (here-strings are children of the command).
        let mut cursor = n.walk();
        for child in n.named_children(&mut cursor) {
            if child.kind() == "herestring_redirect" {
                return Some(self.herestring(child));
            }
        }
        let p = cx.stdin_from?;
        let mut c = p.walk();
        for r in p.named_children(&mut c) {
            match r.kind() {
                "heredoc_redirect" => {
                    let mut c2 = r.walk();
                    let body = r
                        .named_children(&mut c2)
                        .find(|x| x.kind() == "heredoc_body");
                    let quoted = r
                        .named_children(&mut r.walk())
                        .find(|x| x.kind() == "heredoc_start")
                        .is_some_and(|s| {
                            let t = self.text(s);
                            t.starts_with('\'') || t.starts_with('"') || t.starts_with('\\')
                        });
                    if let Some(b) = body {
                        let mut w = self.word(b);
                        if quoted {
                            w.vars.clear();
                        }
                        return Some(w);
                    }
                }
                "herestring_redirect" => return Some(self.herestring(r)),
                _ => {}
            }
        }
        None
    }

    fn herestring(&self, r: Node) -> Word {
        let mut c = r.walk();
        let arg = r
            .named_children(&mut c)
            .find(|x| x.kind() != "file_descriptor");
        arg.map(|a| self.word(a)).unwrap_or_default()
    }

    fn redirect_stdout(&self, n: Node) -> Option<Stdout> {
        let mut cursor = n.walk();
        // `cat << EOF > file`: the grammar nests redirects written after a
        // heredoc marker inside the `heredoc_redirect` node.
        let redirects = n.named_children(&mut cursor).flat_map(|r| {
            let nested: Vec<Node> = if r.kind() == "heredoc_redirect" {
                r.named_children(&mut r.walk()).collect()
            } else {
                vec![r]
            };
            nested
        });
        for r in redirects {
            if r.kind() != "file_redirect" {
                continue;
            }
            let fd = r
                .child_by_field_name("descriptor")
                .map(|d| self.text(d))
                .unwrap_or("");
            let op = (0..r.child_count())
                .filter_map(|i| r.child(i))
                .find(|c| !c.is_named())
                .map(|c| self.text(c))
                .unwrap_or("");
            let Some(dest) = r.child_by_field_name("destination") else {
                continue;
            };
            let target = self.word(dest).value;
            let to_stdout_fd = fd.is_empty() || fd == "1";
            match op {
                ">" | ">>" | ">|" if to_stdout_fd => {
                    return Some(Stdout::File(target, dest.byte_range()));
                }
                "&>" | "&>>" => return Some(Stdout::File(target, dest.byte_range())),
                ">&" if to_stdout_fd => {
                    if target.chars().all(|c| c.is_ascii_digit()) {
                        return Some(Stdout::Log);
                    }
                    return Some(Stdout::File(target, dest.byte_range()));
                }
                _ => {}
            }
        }
        None
    }

    /// Index of the first command (in document order) inside `range`.
    fn first_command_in(&self, range: Range<usize>) -> Option<usize> {
        let first = self.nodes.partition_point(|c| c.start_byte() < range.start);
        self.nodes[first..]
            .iter()
            .take_while(|c| c.start_byte() < range.end.max(range.start + 1))
            .position(|c| c.end_byte() <= range.end)
            .map(|i| first + i)
    }
}

/// Normalise a path as written in a script: `$HOME`/`${HOME}` become `~`,
/// the workspace prefix and `./` disappear, so writes and reads of the same
/// file compare equal.
pub fn normalize_path(p: &str) -> String {
    let mut s = p.trim().to_string();
    for home in ["${HOME}", "$HOME"] {
        if let Some(rest) = s.strip_prefix(home) {
            s = format!("~{rest}");
        }
    }
    for ws in ["${GITHUB_WORKSPACE}/", "$GITHUB_WORKSPACE/"] {
        if let Some(rest) = s.strip_prefix(ws) {
            s = rest.to_string();
        }
    }
    if s.starts_with("${{")
        && let Some(end) = s.find("}}")
        && s[3..end].trim() == "github.workspace"
    {
        s = s[end + 2..].trim_start_matches('/').to_string();
    }
    while let Some(rest) = s.strip_prefix("./") {
        s = rest.to_string();
    }
    s
}

/// Is a normalised path inside the workspace (relative, not `~`, not an
/// absolute or variable-rooted path)?
pub fn in_workspace(p: &str) -> bool {
    !(p.starts_with('/') || p.starts_with('~') || p.starts_with('$') || p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_words_and_vars() {
        let s = parse("echo \"//r/:_authToken=${NPM_TOKEN}\" > ~/.npmrc\ncat ~/.npmrc\n");
        assert_eq!(s.commands.len(), 2);
        let echo = &s.commands[0];
        assert_eq!(echo.name, "echo");
        assert_eq!(echo.args[0].value, "//r/:_authToken=${NPM_TOKEN}");
        assert_eq!(echo.args[0].vars[0].name, "NPM_TOKEN");
        assert_eq!(echo.stdout, Stdout::File("~/.npmrc".into(), 38..46));
        assert_eq!(s.commands[1].stdout, Stdout::Log);
    }

    #[test]
    fn single_quotes_do_not_expand() {
        let s = parse("echo '//r/:_authToken=${NPM_TOKEN}' >> .npmrc");
        assert!(s.commands[0].args[0].vars.is_empty());
    }

    #[test]
    fn pipes_substitutions_and_transforms() {
        let s = parse("echo \"$T\" | base64\nX=$(cat f)\necho ${T:0:4} >&2\necho ${#T} ${T:+set}");
        assert_eq!(s.commands[0].stdout, Stdout::Pipe(1));
        assert_eq!(s.commands[1].stdout, Stdout::Log);
        let cat = s.commands.iter().find(|c| c.name == "cat").unwrap();
        assert_eq!(cat.stdout, Stdout::Captured);
        let last = &s.commands[s.commands.len() - 2];
        assert!(last.args[0].vars[0].transformed);
        assert_eq!(last.stdout, Stdout::Log);
        assert!(
            s.commands
                .last()
                .unwrap()
                .args
                .iter()
                .all(|w| w.vars.is_empty())
        );
    }

    #[test]
    fn expressions_are_masked_and_tracked() {
        let s = parse("npm publish --//r/:_authToken=${{ secrets.NPM_TOKEN }}");
        assert_eq!(s.exprs.len(), 1);
        assert_eq!(s.exprs[0].inner, "secrets.NPM_TOKEN");
        assert_eq!(s.commands[0].name, "npm");
        assert_eq!(s.commands[0].args[1].exprs, vec![0]);
        assert!(!s.has_errors);
    }

    #[test]
    fn heredocs_feed_stdin() {
        let s = parse("cat > .npmrc <<EOF\n//r/:_authToken=${NPM_TOKEN}\nEOF\n");
        let c = &s.commands[0];
        assert_eq!(c.stdout, Stdout::File(".npmrc".into(), 6..12));
        assert_eq!(c.stdin.as_ref().unwrap().vars[0].name, "NPM_TOKEN");
        let q = parse("cat > .npmrc <<'EOF'\n//r/:_authToken=${NPM_TOKEN}\nEOF\n");
        assert!(q.commands[0].stdin.as_ref().unwrap().vars.is_empty());
        // A redirect written after the heredoc marker sends stdout there too.
        let after = parse("cat << EOF > \"$HOME/.npmrc\"\n  //r/:_authToken=$NPM_TOKEN\nEOF\n");
        let c = &after.commands[0];
        assert!(
            matches!(&c.stdout, Stdout::File(f, _) if f == "$HOME/.npmrc"),
            "{:?}",
            c.stdout
        );
        assert_eq!(c.stdin.as_ref().unwrap().vars[0].name, "NPM_TOKEN");
    }

    #[test]
    fn assignments_and_exports() {
        let s = parse("export TOKEN=\"$NPM_TOKEN\"\nX=1 npm publish\nY=$Z");
        assert_eq!(s.commands[0].name, "export");
        assert_eq!(s.commands[0].assigns[0].name, "TOKEN");
        assert_eq!(s.commands[1].assigns[0].name, "X");
        assert_eq!(s.commands[1].name, "npm");
        assert_eq!(s.commands[2].assigns[0].value.vars[0].name, "Z");
    }

    #[test]
    fn long_pipelines_are_analysed_in_linear_time() {
        // Quadratic before: every command looked up its parents, and
        // tree-sitter finds a parent by descending from the root.
        let body = format!("{}b", "a | ".repeat(15_000));
        let s = parse(&body);
        assert!(s.not_analysed.is_none());
        assert_eq!(s.commands.len(), 15_001);
        assert_eq!(s.commands[0].stdout, Stdout::Pipe(1));
        assert_eq!(s.commands[14_999].stdout, Stdout::Pipe(15_000));
        assert_eq!(s.commands[15_000].stdout, Stdout::Log);
    }

    #[test]
    fn stdout_and_stdin_come_from_the_nearest_ancestor() {
        let s = parse("{ echo a | tr a b; } > out.txt\ncat <<EOF | sh\nx\nEOF\necho $(date) >&2");
        let by_name = |n: &str| s.commands.iter().find(|c| c.name == n).unwrap();
        assert_eq!(by_name("echo").stdout, Stdout::Pipe(1));
        assert!(matches!(&by_name("tr").stdout, Stdout::File(f, _) if f == "out.txt"));
        assert_eq!(by_name("cat").stdin.as_ref().unwrap().value.trim(), "x");
        assert_eq!(by_name("date").stdout, Stdout::Captured);
    }

    #[test]
    fn hostile_bodies_are_bounded_and_say_why() {
        let huge = "echo a\n".repeat(MAX_SCRIPT_BYTES / 7 + 1);
        let s = parse(&huge);
        assert!(s.commands.is_empty());
        assert!(s.not_analysed.as_deref().unwrap().contains("limit"));
        // Error recovery over unclosed `if`s: superlinear in tree-sitter.
        let ifs = "if true; then ".repeat(20_000);
        let s = parse(&ifs);
        assert!(s.not_analysed.is_some(), "{} commands", s.commands.len());
        // The parser is reset: the next body on this thread parses.
        assert_eq!(parse("echo ok").commands.len(), 1);
    }

    #[test]
    fn broken_shell_does_not_panic() {
        let s = parse("if then fi \"unterminated");
        assert!(s.has_errors);
        let _ = parse("");
        let _ = parse("${{ unterminated");
    }

    #[test]
    fn paths() {
        assert_eq!(normalize_path("$HOME/.npmrc"), "~/.npmrc");
        assert_eq!(normalize_path("./.npmrc"), ".npmrc");
        assert!(in_workspace(".npmrc"));
        assert!(!in_workspace("~/.npmrc"));
        assert!(!in_workspace("$RUNNER_TEMP/.npmrc"));
    }
}
