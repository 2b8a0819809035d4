//! Adding an entry to a step's `env:`, shared by the workflow fixes: as the
//! first entry of an existing block `env:` at its indentation, or as a new
//! `env:` inserted before a key of the step (right after `- ` too).

use super::Edit;
use crate::detect::yaml::Positions;
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;

pub fn column_of(text: &str, offset: usize) -> usize {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..offset].chars().count()
}

/// The file's line ending, for inserted lines.
pub fn newline(text: &str) -> &'static str {
    if text.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Edits that give `step` the entry `name: value` (`entry` is the text of
/// the line), inserted before the key at `before` when there is no `env:`.
/// `Ok(vec![])` when the step already has the same entry.
pub fn add(
    text: &str,
    pos: &Positions,
    step: &MarkedMappingNode,
    before: usize,
    name: &str,
    value: &str,
    entry: &str,
) -> Result<Vec<Edit>, String> {
    let nl = newline(text);
    let key_line = text[..before].rfind('\n').map_or(0, |i| i + 1);
    if text[key_line..before].contains('{') {
        return Err("the step is a flow mapping (`{ … }`); edit its `env:` by hand".into());
    }
    match step.iter().find(|(k, _)| k.as_str() == "env") {
        Some((_, Node::Mapping(env))) => {
            if let Some(existing) = env.get_scalar(name) {
                let same = |v: &str| v.split_whitespace().collect::<String>();
                return if same(existing.as_str()) == same(value) {
                    Ok(Vec::new())
                } else {
                    Err(format!(
                        "the step's `env:` already sets `{name}` to something else; choose a name by hand"
                    ))
                };
            }
            let Some((first, _)) = env.iter().next() else {
                return Err(
                    "the step's `env:` is an empty flow mapping; add the entry by hand".into(),
                );
            };
            let at = pos.span_start(first.span());
            let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
            if !text[line_start..at].trim().is_empty() {
                return Err("the step's `env:` is a flow mapping; add the entry by hand".into());
            }
            let indent = " ".repeat(column_of(text, at));
            Ok(vec![Edit {
                range: line_start..line_start,
                replacement: format!("{indent}{entry}{nl}"),
                rank: 1,
            }])
        }
        Some(_) => Err("the step's `env:` is not a mapping; add the entry by hand".into()),
        None => {
            let indent = " ".repeat(column_of(text, before));
            Ok([
                (0, format!("env:{nl}")),
                (1, format!("{indent}  {entry}{nl}")),
                (2, indent.clone()),
            ]
            .into_iter()
            .map(|(rank, replacement)| Edit {
                range: before..before,
                replacement,
                rank,
            })
            .collect())
        }
    }
}
