//! `gha-npm-secret-in-run`: `${{ secrets.X }}` pasted into a `run:` script
//! moves into the step's `env:` and the script reads `"$X"`.
//!
//! Positions come from the YAML parser (the step's `run` key and value, its
//! `env` mapping); the edits are insertions and replacements of text at
//! those positions, at the indentation already used, so nothing else in the
//! file changes. Fixed only in a POSIX shell (`bash`, `sh`: the default on
//! Linux and macOS runners) and in a block (`|`, `>`) or plain `run:`
//! scalar; a quoted scalar or another shell is left with the reason.

use super::{Edit, FindingFix, step_env};
use crate::detect::yaml::{self, Positions};
use crate::finding::Finding;
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;
use std::ops::Range;

pub const RULE: &str = "gha-npm-secret-in-run";

/// `npm-token` → `NPM_TOKEN` (as the rule's message says).
fn shell_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

/// A step whose `run:` holds the finding.
struct RunStep<'a> {
    step: &'a MarkedMappingNode,
    /// Offset of the `run` key.
    key: usize,
    /// The value as written, up to the first line indented no deeper than the key.
    value: Range<usize>,
    job: &'a MarkedMappingNode,
}

/// End of a value starting at `start` whose key is at column `key_col`.
fn value_end(text: &str, start: usize, key_col: usize) -> usize {
    let mut at = text[start..]
        .find('\n')
        .map_or(text.len(), |i| start + i + 1);
    let mut end = at.min(text.len());
    while at < text.len() {
        let line_end = text[at..].find('\n').map_or(text.len(), |i| at + i + 1);
        let line = &text[at..line_end];
        let trimmed = line.trim_start_matches(' ');
        if !trimmed.trim().is_empty() {
            if line.len() - trimmed.len() <= key_col {
                break;
            }
            end = line_end;
        }
        at = line_end;
    }
    end.min(text.len())
}

fn find_step<'a>(root: &'a Node, pos: &Positions, offset: usize) -> Option<RunStep<'a>> {
    let text = pos.text;
    let jobs = root.as_mapping()?.get_mapping("jobs")?;
    for (_, job) in jobs.iter() {
        let Some(job) = job.as_mapping() else {
            continue;
        };
        let Some(steps) = job.get_sequence("steps") else {
            continue;
        };
        for step in steps.iter() {
            let Some(step) = step.as_mapping() else {
                continue;
            };
            for (k, v) in step.iter() {
                if k.as_str() != "run" {
                    continue;
                }
                let key = pos.span_start(k.span());
                let start = pos.span_start(v.span());
                let end = value_end(text, start, step_env::column_of(text, key));
                if (start..end).contains(&offset) {
                    return Some(RunStep {
                        step,
                        key,
                        value: start..end,
                        job,
                    });
                }
            }
        }
    }
    None
}

/// The shell the step runs in, if it is not the runner's POSIX default.
fn non_posix_shell(root: &Node, rs: &RunStep) -> Option<String> {
    let default = |m: Option<&MarkedMappingNode>| {
        m.and_then(|m| m.get_mapping("defaults"))
            .and_then(|d| d.get_mapping("run"))
            .and_then(|r| r.get_scalar("shell"))
            .map(|s| s.as_str().to_string())
    };
    let shell = rs
        .step
        .get_scalar("shell")
        .map(|s| s.as_str().to_string())
        .or_else(|| default(Some(rs.job)))
        .or_else(|| default(root.as_mapping()));
    match shell {
        Some(s) => {
            let first = s.split_whitespace().next().unwrap_or("");
            let exe = first.rsplit('/').next().unwrap_or(first);
            (!matches!(exe, "bash" | "sh")).then_some(s)
        }
        None => {
            let runs_on = rs.job.get_node("runs-on").map(|n| match n {
                Node::Scalar(s) => s.as_str().to_ascii_lowercase(),
                Node::Sequence(s) => s
                    .iter()
                    .filter_map(|n| n.as_scalar().map(|s| s.as_str().to_ascii_lowercase()))
                    .collect::<Vec<_>>()
                    .join(" "),
                Node::Mapping(_) => String::new(),
            });
            runs_on
                .filter(|r| r.contains("windows"))
                .map(|_| "pwsh (the Windows default)".to_string())
        }
    }
}

/// Is `at` inside single or double quotes of its shell line (from `from`)?
fn quoting(text: &str, from: usize, at: usize) -> Option<char> {
    let mut quote = None;
    let mut escaped = false;
    for c in text[from..at].chars() {
        match (quote, c) {
            (_, _) if escaped => escaped = false,
            (None | Some('"'), '\\') => escaped = true,
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    quote
}

enum Heredoc {
    /// `<<EOF`: `$NAME` is expanded in the body.
    Expanded,
    /// `<<'EOF'`, `<<"EOF"`, `<<\\EOF`: the body is literal.
    Literal,
}

/// Is the line at `line` inside a here-document body opened on an earlier
/// line of the script starting at `from`?
fn heredoc_at(text: &str, from: usize, line: usize) -> Option<Heredoc> {
    let mut open: Option<(String, Heredoc)> = None;
    // A one-line `run:` starts after its line's start: no earlier line.
    for l in text[from.min(line)..line].lines() {
        if let Some((delim, _)) = &open {
            if l.trim() == delim {
                open = None;
            }
            continue;
        }
        let Some(i) = l.find("<<").filter(|&i| !l[i + 2..].starts_with('<')) else {
            continue;
        };
        let word = l[i + 2..].trim_start_matches('-').trim_start();
        let word = word.split_whitespace().next().unwrap_or("");
        let quoted = word.starts_with(['\'', '"', '\\']);
        let delim: String = word
            .trim_matches(|c| c == '\'' || c == '"' || c == '\\')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if !delim.is_empty() {
            let kind = if quoted {
                Heredoc::Literal
            } else {
                Heredoc::Expanded
            };
            open = Some((delim, kind));
        }
    }
    open.map(|(_, kind)| kind)
}

/// `${{ secrets.NAME }}` occurrences (any spacing) in `range`.
fn expressions(text: &str, range: Range<usize>, what: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut at = range.start;
    while let Some(i) = text[at..range.end].find("${{") {
        let open = at + i;
        let Some(close) = text[open..range.end].find("}}").map(|j| open + j + 2) else {
            break;
        };
        if text[open + 3..close - 2].trim() == what {
            out.push(open..close);
        }
        at = close;
    }
    out
}

pub fn fix(f: &Finding, text: &str) -> Result<FindingFix, String> {
    let what = f
        .details
        .get("credential")
        .map(|c| c.as_str().to_string())
        .ok_or("the finding does not name the credential")?;
    let name = what
        .split_once('.')
        .map(|(_, n)| n)
        .filter(|n| {
            !n.is_empty()
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        })
        .ok_or("the expression is not a plain `secrets.NAME` / `vars.NAME`")?;
    let var = shell_name(name);
    let root = yaml::parse(text).map_err(|e| format!("the workflow does not parse: {e}"))?;
    let pos = Positions::new(text);
    let offset = pos.offset_of(f.span.start_line, f.span.start_column);
    let rs = find_step(&root, &pos, offset)
        .ok_or("the expression is not in a step's `run:` (not changed automatically)")?;
    if let Some(shell) = non_posix_shell(&root, &rs) {
        return Err(format!(
            "the step runs in `{shell}`, not a POSIX shell; move the value to `env:` by hand"
        ));
    }
    let key_line = text[..rs.key].rfind('\n').map_or(0, |i| i + 1);
    if text[key_line..rs.key].contains('{') {
        return Err(
            "the step is a flow mapping (`{ run: … }`); move the value to `env:` by hand".into(),
        );
    }
    let style = text[rs.value.clone()].chars().next().unwrap_or(' ');
    if matches!(style, '"' | '\'') {
        return Err(
            "the `run:` value is a quoted YAML scalar; quotes added to it would need escaping, move the value to `env:` by hand"
                .into(),
        );
    }
    let mut edits = Vec::new();
    // The script: every occurrence in this `run:`.
    let block = matches!(style, '|' | '>');
    for expr in expressions(text, rs.value.clone(), &what) {
        let line_start = text[..expr.start].rfind('\n').map_or(0, |i| i + 1);
        let from = if block {
            line_start
        } else {
            line_start.max(rs.value.start)
        };
        let replacement = match heredoc_at(text, rs.value.start, line_start) {
            // A here-document's body: no shell quoting applies there.
            Some(Heredoc::Expanded) => {
                edits.push(Edit {
                    range: expr,
                    replacement: format!("${{{var}}}"),
                    rank: 0,
                });
                continue;
            }
            Some(Heredoc::Literal) => {
                return Err(
                    "the expression is in a quoted here-document (`<<'EOF'`), where variables are not expanded; move it by hand".into(),
                );
            }
            None => quoting(text, from, expr.start),
        };
        let replacement = match replacement {
            Some('"') => format!("${{{var}}}"),
            Some(_) => format!("'\"${var}\"'"),
            None => format!("\"${var}\""),
        };
        edits.push(Edit {
            range: expr,
            replacement,
            rank: 0,
        });
    }
    // The step's `env:`.
    let entry = format!("{var}: ${{{{ {what} }}}}");
    let value = format!("${{{{ {what} }}}}");
    edits.extend(step_env::add(
        text, &pos, rs.step, rs.key, &var, &value, &entry,
    )?);
    Ok(FindingFix {
        edits,
        removed_values: Vec::new(),
        checklist: Vec::new(),
        left: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::{DetectOptions, Item};

    fn fixed(text: &str) -> Result<String, String> {
        let item = Item {
            path: ".github/workflows/ci.yml",
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        let findings = crate::scan::detect_item(&item, &DetectOptions::default()).findings;
        let f = findings
            .iter()
            .find(|f| f.rule_id == RULE)
            .expect("a secret-in-run finding");
        let fix = fix(f, text)?;
        super::super::apply_edits(text, &fix.edits)
    }

    #[test]
    fn crlf_files_keep_crlf() {
        let text = "on: push\r\njobs:\r\n  a:\r\n    runs-on: ubuntu-latest\r\n    steps:\r\n      - run: npm whoami --//r.example/:_authToken=${{ secrets.NPM_TOKEN }}\r\n";
        let out = fixed(text).unwrap();
        assert!(!out.replace("\r\n", "").contains('\n'), "{out:?}");
        assert!(
            out.contains("env:\r\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\r\n        run:"),
            "{out:?}"
        );
    }

    #[test]
    fn here_documents_get_a_bare_reference_or_are_left_alone() {
        let wf = |delim: &str| {
            format!(
                "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          cat > ~/.npmrc <<{delim}\n          //registry.npmjs.org/:_authToken=${{{{ secrets.NPM_TOKEN }}}}\n          EOF\n          npm whoami\n"
            )
        };
        let out = fixed(&wf("EOF")).unwrap();
        assert!(out.contains("_authToken=${NPM_TOKEN}\n"), "{out}");
        let err = fixed(&wf("'EOF'")).unwrap_err();
        assert!(err.contains("quoted here-document"), "{err}");
    }

    #[test]
    fn flow_mapping_steps_are_left_alone() {
        let text = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - { name: x, run: \"npm whoami --//r.example/:_authToken=${{ secrets.NPM_TOKEN }}\" }\n";
        let err = fixed(text).unwrap_err();
        assert!(err.contains("flow mapping"), "{err}");
    }
}
