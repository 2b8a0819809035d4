//! npm configuration embedded in other files: `.npmrc` lines in a YAML
//! block scalar (a Kubernetes ConfigMap or Secret `stringData`, Helm
//! values), a shell heredoc (`cat > ~/.npmrc <<EOF`), a string that code
//! writes (`fs.writeFileSync('.npmrc', '//registry…:_authToken=…')`), a
//! Markdown code block. Each container becomes a [`SubDocument`] parsed
//! with the real `.npmrc` rules (and, for shell code blocks, the script
//! rules), so an embedded `${NPM_TOKEN}` is as correct as a real one.
//!
//! Engages only when the file holds `_auth` or `_password` (one vectorised
//! search) and is not itself an `.npmrc`.

use super::{OffsetMap, SubDocument};
use crate::detect::{FileKind, Item, yaml};
use aho_corasick::AhoCorasick;
use std::sync::OnceLock;

/// Lines are never longer than this for the line-based containers.
const MAX_CONTAINER: usize = 1 << 20;

fn auth_keys() -> &'static AhoCorasick {
    static AC: OnceLock<AhoCorasick> = OnceLock::new();
    AC.get_or_init(|| AhoCorasick::new(["_auth", "_password"]).expect("valid automaton"))
}

/// Two vectorised substring searches: `_` is too frequent in code for a
/// combined automaton to skip ahead fast.
fn has_auth_key(bytes: &[u8]) -> bool {
    use memchr::memmem::Finder;
    static AUTH: OnceLock<Finder<'static>> = OnceLock::new();
    static PASSWORD: OnceLock<Finder<'static>> = OnceLock::new();
    AUTH.get_or_init(|| Finder::new("_auth"))
        .find(bytes)
        .is_some()
        || PASSWORD
            .get_or_init(|| Finder::new("_password"))
            .find(bytes)
            .is_some()
}

/// The containers a file can hold, from its path and kinds.
struct Containers {
    markdown: bool,
    yaml_block_scalars: bool,
    heredocs: bool,
    code_strings: bool,
}

fn containers(path: &str, kinds: &[FileKind]) -> Containers {
    let lower = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map_or("", |(_, e)| e);
    let yaml = matches!(ext, "yml" | "yaml");
    let scripty = kinds.iter().any(|k| {
        matches!(
            k,
            FileKind::Script
                | FileKind::Dockerfile
                | FileKind::Workflow
                | FileKind::Action
                | FileKind::Compose
        )
    });
    Containers {
        markdown: matches!(ext, "md" | "markdown" | "mdx"),
        yaml_block_scalars: yaml,
        // Terraform `user_data = <<EOF` and HCL heredocs use the same syntax.
        heredocs: scripty || yaml || matches!(ext, "tf" | "hcl"),
        code_strings: yaml
            || matches!(
                ext,
                "js" | "mjs"
                    | "cjs"
                    | "jsx"
                    | "ts"
                    | "mts"
                    | "cts"
                    | "tsx"
                    | "py"
                    | "rb"
                    | "go"
                    | "java"
                    | "kt"
                    | "cs"
                    | "php"
                    | "rs"
                    | "swift"
                    | "groovy"
                    | "gradle"
                    | "json"
                    | "tf"
            ),
    }
}

pub fn find(item: &Item, kinds: &[FileKind], docs: &mut Vec<SubDocument>) {
    if kinds.contains(&FileKind::Npmrc) || !has_auth_key(item.bytes) {
        return;
    }
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        return;
    };
    let c = containers(item.path, kinds);
    if c.markdown {
        markdown_fences(text, docs);
    }
    if c.yaml_block_scalars {
        yaml_block_scalars(text, docs);
    }
    if c.heredocs {
        heredocs(text, docs);
    }
    if c.code_strings {
        code_strings(text, docs);
    }
}

/// Lines of `text` with their start offsets, without the line break.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n').map(move |raw| {
        let start = offset;
        offset += raw.len();
        (start, raw.trim_end_matches(['\n', '\r']))
    })
}

/// Build a sub-document from whole outer lines (each copied verbatim).
fn from_lines(text: &str, ranges: &[std::ops::Range<usize>]) -> (Vec<u8>, OffsetMap) {
    let mut bytes = Vec::new();
    let mut map = OffsetMap::default();
    for r in ranges {
        bytes.extend_from_slice(&text.as_bytes()[r.clone()]);
        map.push(r.len(), r.clone());
        bytes.push(b'\n');
        map.push(1, r.end..r.end);
    }
    (bytes, map)
}

/// Fenced code blocks (```` ``` ```` or `~~~`, CommonMark's rules for the
/// closing fence; any indentation so fences in list items count).
fn markdown_fences(text: &str, docs: &mut Vec<SubDocument>) {
    let mut open: Option<(char, usize, String, Vec<std::ops::Range<usize>>)> = None;
    for (start, line) in lines(text) {
        let trimmed = line.trim_start();
        let fence_char = trimmed.chars().next().filter(|c| *c == '`' || *c == '~');
        let fence_len = fence_char.map_or(0, |c| trimmed.chars().take_while(|x| *x == c).count());
        match &mut open {
            None => {
                if let Some(c) = fence_char
                    && fence_len >= 3
                {
                    let info = trimmed[fence_len..].trim().to_ascii_lowercase();
                    if !(c == '`' && info.contains('`')) {
                        open = Some((c, fence_len, info, Vec::new()));
                    }
                }
            }
            Some((c, len, info, body)) => {
                let closes = fence_char == Some(*c)
                    && fence_len >= *len
                    && trimmed[fence_len..].trim().is_empty();
                if closes {
                    let info = std::mem::take(info);
                    let body = std::mem::take(body);
                    open = None;
                    push_fence(text, &info, &body, docs);
                } else {
                    body.push(start..start + line.len());
                }
            }
        }
    }
    // An unclosed fence runs to the end of the document.
    if let Some((_, _, info, body)) = open {
        push_fence(text, &info, &body, docs);
    }
}

fn push_fence(
    text: &str,
    info: &str,
    body: &[std::ops::Range<usize>],
    docs: &mut Vec<SubDocument>,
) {
    let (Some(first), Some(last)) = (body.first(), body.last()) else {
        return;
    };
    if !has_auth_key(&text.as_bytes()[first.start..last.end]) {
        return;
    }
    let language = info.split_whitespace().next().unwrap_or("");
    let mut kinds = vec![FileKind::Npmrc];
    if matches!(
        language,
        "sh" | "bash" | "shell" | "zsh" | "console" | "shell-session" | "sh-session" | "dockerfile"
    ) {
        kinds.push(FileKind::Script);
    }
    let (bytes, map) = from_lines(text, body);
    docs.push(SubDocument {
        bytes,
        map,
        kinds,
        detail: ("embedded_in", "a Markdown code block"),
        strict: true,
    });
}

/// YAML block scalars (`|`) whose text holds an auth key. The parser says
/// what is a block scalar; its lines are then found in the source (each is
/// the source line minus the block's indentation), so positions are exact.
/// Folded scalars (`>`) join lines and are skipped: npm would not read them
/// as separate lines either.
fn yaml_block_scalars(text: &str, docs: &mut Vec<SubDocument>) {
    let Ok(roots) = yaml::parse_all(text) else {
        return;
    };
    let positions = yaml::Positions::new(text);
    let mut stack: Vec<&marked_yaml::Node> = roots.iter().collect();
    while let Some(node) = stack.pop() {
        match node {
            marked_yaml::Node::Scalar(s) => {
                let value = s.as_str();
                if value.contains('\n') && has_auth_key(value.as_bytes()) {
                    let from = positions.span_start(s.span());
                    if let Some(ranges) = block_lines(text, from, value) {
                        let (bytes, map) = from_lines(text, &ranges);
                        docs.push(SubDocument {
                            bytes,
                            map,
                            kinds: vec![FileKind::Npmrc],
                            detail: ("embedded_in", "a YAML block scalar"),
                            strict: false,
                        });
                    }
                }
            }
            marked_yaml::Node::Mapping(m) => stack.extend(m.values()),
            marked_yaml::Node::Sequence(s) => stack.extend(s.iter()),
        }
    }
}

/// The source ranges of a block scalar's lines, starting on the line after
/// `from` (the indicator). `None` when the value is not the source's lines
/// minus indentation (folded, or a quoted multi-line flow scalar).
fn block_lines(text: &str, from: usize, value: &str) -> Option<Vec<std::ops::Range<usize>>> {
    // The parser's mark is the indicator (`|`) or the first content line.
    let line_start = text[..from].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[from..].find('\n').map_or(text.len(), |i| from + i + 1);
    let indicator_line_end = if text[from..line_end].trim_start().starts_with('|') {
        line_end
    } else if text[line_start..from].trim().is_empty() {
        line_start
    } else {
        return None;
    };
    let mut source = lines(&text[indicator_line_end..]);
    let mut ranges = Vec::new();
    for inner in value.trim_end_matches('\n').split('\n') {
        let (start, line) = source.next()?;
        let start = start + indicator_line_end;
        if inner.is_empty() {
            if !line.trim().is_empty() {
                return None;
            }
            ranges.push(start..start);
            continue;
        }
        let prefix = line.strip_suffix(inner)?;
        if !prefix.trim().is_empty() {
            return None;
        }
        ranges.push(start + prefix.len()..start + line.len());
    }
    Some(ranges)
}

/// Shell heredocs: `<<EOF`, `<<-EOF`, `<<'EOF'`, `<< "EOF"`; the body runs to
/// the line that is the delimiter (indentation allowed, as in a heredoc
/// inside a YAML `run:` block).
fn heredocs(text: &str, docs: &mut Vec<SubDocument>) {
    let mut all = lines(text).peekable();
    while let Some((_, line)) = all.next() {
        let Some(delimiter) = heredoc_delimiter(line) else {
            continue;
        };
        let mut body = Vec::new();
        let mut size = 0;
        while let Some(&(start, l)) = all.peek() {
            all.next();
            if l.trim() == delimiter || size > MAX_CONTAINER {
                break;
            }
            size += l.len();
            body.push(start..start + l.len());
        }
        let (Some(first), Some(last)) = (body.first(), body.last()) else {
            continue;
        };
        if !has_auth_key(&text.as_bytes()[first.start..last.end]) {
            continue;
        }
        let (bytes, map) = from_lines(text, &body);
        docs.push(SubDocument {
            bytes,
            map,
            kinds: vec![FileKind::Npmrc],
            detail: ("embedded_in", "a shell heredoc"),
            strict: false,
        });
    }
}

/// The delimiter of a heredoc opened on this line (`<<<` is a here-string).
fn heredoc_delimiter(line: &str) -> Option<&str> {
    let mut rest = line;
    while let Some(at) = rest.find("<<") {
        let after = &rest[at + 2..];
        if after.starts_with('<') {
            rest = after.trim_start_matches('<');
            continue;
        }
        let after = after.strip_prefix('-').unwrap_or(after).trim_start();
        let after = after.trim_start_matches(['\'', '"', '\\']);
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        if end > 0 {
            return Some(&after[..end]);
        }
        rest = after;
    }
    None
}

/// String literals holding an auth key, unescaped: `'…'`, `"…"`, and
/// template literals `` `…` `` (which may span lines). One pass over the
/// text tracks which string each auth key sits in; quotes and apostrophes
/// outside strings (comments) only confuse the rest of their line.
fn code_strings(text: &str, docs: &mut Vec<SubDocument>) {
    let bytes = text.as_bytes();
    let mut keys = auth_keys().find_iter(bytes).map(|m| m.start()).peekable();
    let mut open: Option<(u8, usize)> = None;
    let mut holds_key = false;
    let mut i = 0;
    while i < bytes.len() && (keys.peek().is_some() || holds_key) {
        while keys.next_if(|&k| k < i).is_some() {
            holds_key |= open.is_some();
        }
        let b = bytes[i];
        match open {
            Some(_) if b == b'\\' => i += 1,
            Some((q, start))
                if b == q || (b == b'\n' && q != b'`') || i - start > MAX_CONTAINER =>
            {
                if holds_key && b == q {
                    let (inner, map) = unescape(&text[start + 1..i], start + 1);
                    docs.push(SubDocument {
                        bytes: inner.into_bytes(),
                        map,
                        kinds: vec![FileKind::Npmrc],
                        detail: ("embedded_in", "a string literal"),
                        strict: true,
                    });
                }
                open = None;
                holds_key = false;
            }
            None if matches!(b, b'\'' | b'"' | b'`') => open = Some((b, i)),
            _ => {}
        }
        i += 1;
    }
}

/// Undo the common escapes (`\n`, `\t`, `\r`, `\\`, quotes); others stay.
fn unescape(s: &str, offset: usize) -> (String, OffsetMap) {
    let mut out = String::with_capacity(s.len());
    let mut map = OffsetMap::default();
    let mut chars = s.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        // Node's line break in a template literal: code writing an `.npmrc`
        // joins its lines with it.
        if c == '$'
            && let Some(eol) = ["${os.EOL}", "${EOL}"]
                .iter()
                .find(|e| s[i..].starts_with(**e))
        {
            for _ in 1..eol.len() {
                chars.next();
            }
            out.push('\n');
            map.push(1, offset + i..offset + i + eol.len());
            continue;
        }
        if c == '\\'
            && let Some(&(_, next)) = chars.peek()
        {
            let replacement = match next {
                'n' => Some('\n'),
                't' => Some('\t'),
                'r' => Some('\r'),
                '\\' | '\'' | '"' | '`' | '/' | '$' => Some(next),
                _ => None,
            };
            if let Some(r) = replacement {
                chars.next();
                out.push(r);
                map.push(r.len_utf8(), offset + i..offset + i + 1 + next.len_utf8());
                continue;
            }
        }
        out.push(c);
        map.push(c.len_utf8(), offset + i..offset + i + c.len_utf8());
    }
    (out, map)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectOptions, detect};
    use crate::finding::{Finding, Origin};

    const SECRET: &str = "s3cr3tR4nd0mV4lu3xyz";

    fn scan(path: &str, text: &str) -> Vec<Finding> {
        let item = Item {
            path,
            bytes: text.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        detect(&item, &[FileKind::of(path)], &DetectOptions::default()).findings
    }

    /// (rule, line, column, embedded_in) of each finding.
    fn summary(path: &str, text: &str) -> Vec<(String, usize, usize, String)> {
        scan(path, text)
            .into_iter()
            .map(|f| {
                (
                    f.rule_id,
                    f.span.start_line,
                    f.span.start_column,
                    f.details
                        .get("embedded_in")
                        .map(|d| d.to_string())
                        .unwrap_or_default(),
                )
            })
            .collect()
    }

    #[test]
    fn kubernetes_configmap_block_scalar() {
        let yaml = format!(
            "apiVersion: v1\nkind: ConfigMap\ndata:\n  .npmrc: |\n    registry=https://npm.example.com/\n    //npm.example.com/:_authToken={SECRET}\n    //other.example.com/:_authToken=${{NPM_TOKEN}}\n"
        );
        assert_eq!(
            summary("k8s/configmap.yaml", &yaml),
            vec![(
                "npmrc-literal-auth-token".into(),
                6,
                35,
                "a YAML block scalar".into()
            )]
        );
        let f = scan("k8s/configmap.yaml", &yaml);
        assert!(f[0].message.contains("line 6"), "{}", f[0].message);
    }

    #[test]
    fn heredoc_in_a_script_and_in_a_workflow_run_block() {
        let sh = format!(
            "#!/bin/sh\ncat > ~/.npmrc <<EOF\n//registry.npmjs.org/:_authToken={SECRET}\nEOF\n"
        );
        // The script analyser already reports this line; one finding.
        assert_eq!(summary("publish.sh", &sh).len(), 1);
        let tf = format!(
            "resource \"aws_instance\" \"ci\" {{\n  user_data = <<-EOT\n    #!/bin/sh\n    echo ok\n    cat > /root/.npmrc <<'NPMRC'\n    //registry.npmjs.org/:_authToken={SECRET}\n    NPMRC\n  EOT\n}}\n"
        );
        assert_eq!(
            summary("infra/ci.tf", &tf),
            vec![(
                "npmrc-literal-auth-token".into(),
                6,
                38,
                "a shell heredoc".into()
            )]
        );
        let wf = format!(
            "on: push\njobs:\n  p:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          cat <<-'EOF' > ~/.npmrc\n          _auth={}\n          EOF\n",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                "deploy:hunter2hunter2"
            )
        );
        let f = summary(".github/workflows/p.yml", &wf);
        assert!(
            f.iter()
                .any(|x| x.0 == "npmrc-basic-auth" && x.1 == 8 && x.2 == 17),
            "{f:?}"
        );
        // The reference is the correct pattern, embedded or not.
        let ok = "cat > ~/.npmrc <<EOF\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nEOF\n";
        assert!(scan("publish.sh", ok).is_empty());
    }

    #[test]
    fn strings_that_code_writes() {
        let js = format!(
            "const fs = require('fs');\nfs.writeFileSync(`${{os.homedir()}}/.npmrc`, '//registry.npmjs.org/:_authToken={SECRET}\\nalways-auth=true\\n');\n"
        );
        let f = summary("scripts/setup.js", &js);
        assert_eq!(
            f,
            vec![(
                "npmrc-literal-auth-token".into(),
                2,
                78,
                "a string literal".into()
            )]
        );
        let py = format!(
            "open(os.path.expanduser('~/.npmrc'), 'w').write(\"always-auth=true\\n//r.example/:_authToken={SECRET}\\n\")\n"
        );
        assert_eq!(summary("setup.py", &py).len(), 1);
        // Test values are not credentials; escaped `\${…}` is npm's own
        // reference; `${os.EOL}` ends a line.
        let tests = "const rc = ['//r.example.com:_authToken=some-employee-token'];\nexpect(c).toBe(`//registry.npmjs.org/:_authToken=\\${NODE_AUTH_TOKEN}${os.EOL}registry=https://registry.npmjs.org/`);\n";
        assert!(
            scan("test/config.ts", tests).is_empty(),
            "{:?}",
            scan("test/config.ts", tests)
        );
        // Concatenated or interpolated values are references, not literals.
        let ok = "fs.writeFileSync('.npmrc', `//registry.npmjs.org/:_authToken=${process.env.NPM_TOKEN}\\n`);\nfs.writeFileSync('.npmrc', '//registry.npmjs.org/:_authToken=' + token);\n";
        assert!(
            scan("setup.js", ok).is_empty(),
            "{:?}",
            scan("setup.js", ok)
        );
    }

    #[test]
    fn markdown_code_blocks() {
        let md = format!(
            "# Setup\n\n```ini\n//npm.pkg.github.com/:_authToken={SECRET}\n```\n\n```sh\necho \"//r.example/:_authToken={SECRET}9\" >> ~/.npmrc\n```\n\n```\n//r.example/:_authToken=YOUR_TOKEN_HERE\n```\n"
        );
        let f = summary("README.md", &md);
        assert_eq!(
            f,
            vec![
                (
                    "npmrc-literal-auth-token".into(),
                    4,
                    34,
                    "a Markdown code block".into()
                ),
                (
                    "npmrc-literal-auth-token".into(),
                    8,
                    31,
                    "a Markdown code block".into()
                ),
            ]
        );
    }

    #[test]
    fn many_keys_on_one_line_are_read_in_one_pass() {
        // Linear: each key is not re-read from its line's start.
        let line = format!("'{}'\n", "x_auth=1 ".repeat(200_000));
        let keys = format!("{}\n", "_authToken=1 \"".repeat(100_000));
        for text in [line, keys] {
            let item = Item {
                path: "a.js",
                bytes: text.as_bytes(),
                origin: Origin::Worktree,
                tree: None,
            };
            let mut docs = Vec::new();
            find(&item, &[FileKind::Other], &mut docs);
            assert!(docs.len() <= 100_000);
        }
    }

    #[test]
    fn an_npmrc_is_not_parsed_twice() {
        let npmrc = format!("//r.example/:_authToken={SECRET}\n");
        assert_eq!(scan(".npmrc", &npmrc).len(), 1);
    }
}
