//! `gha-npm-token-overexposed`: an npm credential in workflow- or job-level
//! `env:` moves to the steps that read it (as the rule decides: a step that
//! references the variable, runs a package manager or a publishing
//! action), so checkout, caches and third-party actions no longer get it.
//!
//! The entry's line is removed (with its `env:` line when it was the only
//! entry) and the same line is added to each step's `env:`. Only a
//! one-line entry (`NPM_TOKEN: ${{ secrets.NPM_TOKEN }}`) in a block
//! mapping is moved; a token exported through `$GITHUB_ENV` is not.

use super::{Edit, FindingFix, step_env};
use crate::detect::workflow::consuming_steps;
use crate::detect::yaml::{self, Positions};
use crate::finding::Finding;
use marked_yaml::types::MarkedMappingNode;

pub const RULE: &str = "gha-npm-token-overexposed";

/// The `env:` mapping holding the key at `offset`: (job id or `None` for the
/// workflow, the mapping, the `env` key's offset).
fn env_holding<'a>(
    root: &'a MarkedMappingNode,
    pos: &Positions,
    offset: usize,
) -> Option<(Option<String>, &'a MarkedMappingNode, usize)> {
    let holds = |m: &MarkedMappingNode| m.iter().any(|(k, _)| pos.span_start(k.span()) == offset);
    let env_key = |m: &MarkedMappingNode| {
        m.iter()
            .find(|(k, _)| k.as_str() == "env")
            .map(|(k, _)| pos.span_start(k.span()))
    };
    if let Some(env) = root.get_mapping("env")
        && holds(env)
    {
        return Some((None, env, env_key(root)?));
    }
    for (id, job) in root.get_mapping("jobs")?.iter() {
        let Some(job) = job.as_mapping() else {
            continue;
        };
        if let Some(env) = job.get_mapping("env")
            && holds(env)
        {
            return Some((Some(id.as_str().to_string()), env, env_key(job)?));
        }
    }
    None
}

fn line_bounds(text: &str, offset: usize) -> (usize, usize) {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let end = text[offset..]
        .find('\n')
        .map_or(text.len(), |i| offset + i + 1);
    (start, end)
}

pub fn fix(f: &Finding, text: &str) -> Result<FindingFix, String> {
    let root_node = yaml::parse(text).map_err(|e| format!("the workflow does not parse: {e}"))?;
    let root = root_node
        .as_mapping()
        .ok_or("the workflow is not a mapping")?;
    let pos = Positions::new(text);
    let offset = pos.offset_of(f.span.start_line, f.span.start_column);
    let (job_id, env, env_key) = env_holding(root, &pos, offset).ok_or(
        "the credential is not an entry of a workflow or job `env:` (exported through $GITHUB_ENV?); move it by hand",
    )?;
    let (name_node, value) = env
        .iter()
        .find(|(k, _)| pos.span_start(k.span()) == offset)
        .ok_or("the entry was not found")?;
    let name = name_node.as_str().to_string();
    let value = value
        .as_scalar()
        .map(|s| s.as_str().to_string())
        .ok_or("the entry's value is not a scalar")?;
    let (line_start, line_end) = line_bounds(text, offset);
    if !text[line_start..offset].trim().is_empty() {
        return Err("the `env:` is a flow mapping; move the entry by hand".into());
    }
    // One line: the next line is not a continuation of the value.
    let next = &text[line_end..];
    let next_indent = next.len() - next.trim_start_matches(' ').len();
    let entry_col = step_env::column_of(text, offset);
    if !next.trim().is_empty() && next_indent > entry_col && !next.starts_with('\n') {
        return Err("the entry's value spans several lines; move it by hand".into());
    }
    let entry = text[offset..line_end].trim_end().to_string();
    // The steps in scope that read it.
    let jobs = root.get_mapping("jobs").ok_or("no jobs")?;
    let shadowed = |id: &str| {
        job_id.is_none()
            && jobs
                .get_mapping(id)
                .and_then(|j| j.get_mapping("env"))
                .is_some_and(|e| e.get_node(&name).is_some())
    };
    let mut edits = Vec::new();
    let mut moved = 0;
    for (id, step_offset) in consuming_steps(text, &name) {
        if job_id.as_deref().is_some_and(|j| j != id) || shadowed(&id) {
            continue;
        }
        let step = jobs
            .get_mapping(&id)
            .and_then(|j| j.get_sequence("steps"))
            .and_then(|steps| {
                steps.iter().filter_map(|s| s.as_mapping()).find(|s| {
                    pos.span_start(s.span()) == step_offset
                        || s.iter()
                            .next()
                            .is_some_and(|(k, _)| pos.span_start(k.span()) == step_offset)
                })
            })
            .ok_or("a step that reads it was not found again")?;
        // Before `run:` / `uses:` (after `name:`, `id:`, `if:`), as written by hand.
        let before = step
            .iter()
            .find(|(k, _)| matches!(k.as_str(), "run" | "uses"))
            .or_else(|| step.iter().next())
            .map(|(k, _)| pos.span_start(k.span()))
            .ok_or("an empty step")?;
        edits.extend(step_env::add(
            text, &pos, step, before, &name, &value, &entry,
        )?);
        moved += 1;
    }
    if moved == 0 {
        return Err(format!(
            "no step in its scope reads `{name}`; remove the entry by hand if nothing needs it"
        ));
    }
    // Remove the entry, and `env:` itself when it was the only entry.
    let removal = if env.len() == 1 {
        let (env_line, env_end) = line_bounds(text, env_key);
        let env_line_text = text[env_key..env_end].trim_end();
        if env_line_text != "env:" {
            return Err("the `env:` line holds more than the key; move the entry by hand".into());
        }
        env_line..line_end
    } else {
        line_start..line_end
    };
    edits.push(Edit {
        range: removal,
        replacement: String::new(),
        rank: 0,
    });
    Ok(FindingFix {
        edits,
        removed_values: Vec::new(),
        checklist: Vec::new(),
        left: Vec::new(),
    })
}
