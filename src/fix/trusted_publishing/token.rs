//! The token leaves the publish: its `env:` entries in the publish step, and
//! the script lines that write it into an npm config file.

use super::{Changes, Nodes, step_node};
use crate::detect::workflow::{
    self, Ctx, Job, Publish, Step, expr_credential, is_npm_config_file, token_writes,
};
use crate::detect::yaml::Positions;
use crate::fix::{Edit, block};
use marked_yaml::types::MarkedMappingNode;
use std::collections::BTreeMap;

/// Remove the npm token from the publish: its `env:` entries in the
/// publish step, and the script lines that write it into an npm config
/// file (`echo "//registry.npmjs.org/:_authToken=$NPM_TOKEN" >> ~/.npmrc`)
/// in that step or an earlier one (the whole step when nothing else is
/// left in it, and the `env:` entries only those lines read). Returns the
/// secrets it came from. Refused when the token reaches the publish another
/// way (job or workflow `env:`, a `with:` input, `${{ secrets.X }}` in the
/// script) or a script uses it for something else.
pub(super) fn remove_token(
    cx: &Ctx,
    job: &Job,
    step: &Step,
    p: &Publish,
    nodes: &Nodes,
    pos: &Positions,
    changes: &mut Changes,
) -> Result<Vec<String>, String> {
    let text = cx.text;
    let step_creds = |s: &Step| -> Vec<(workflow::EnvVar, String)> {
        cx.wf
            .step_credentials(job, s, cx.opts)
            .into_iter()
            .filter(|(e, c)| !c.job_token && e.level == workflow::Level::Step)
            .map(|(e, c)| (e.clone(), c.source))
            .collect()
    };
    if let Some((e, _)) = cx
        .wf
        .step_credentials(job, step, cx.opts)
        .into_iter()
        .find(|(e, c)| !c.job_token && e.level != workflow::Level::Step)
    {
        return Err(format!(
            "the token reaches the publish through {}-level `env:` ({}); `npmsweep fix --rule gha-npm-token-overexposed` moves it to the steps that read it, then run fix again",
            e.level.as_str(),
            e.name
        ));
    }
    if let Some((k, _, _)) = step
        .with
        .iter()
        .find(|(k, _, v)| cx.wf.credential(k, &v.value, cx.opts).is_some())
    {
        return Err(format!(
            "the step takes the token as input `{k}`; remove it by hand once its action supports trusted publishing"
        ));
    }
    let writes: Vec<_> = token_writes(cx, job)
        .into_iter()
        .filter(|w| is_npm_config_file(&w.path))
        .filter(|w| w.step < step.index || (w.step == step.index && w.range.start < p.range.start))
        .collect();
    // The lines removed, per step index.
    let mut removed_lines: BTreeMap<usize, Vec<std::ops::Range<usize>>> = BTreeMap::new();
    let mut secrets: Vec<String> = Vec::new();
    for w in &writes {
        let s = &job.steps[w.step];
        let line = write_line(text, s, w.range.start)?;
        removed_lines.entry(w.step).or_default().push(line);
        secrets.push(w.source.clone());
        // The same write again in the step (one per `if` branch).
        for c in s.commands() {
            let workflow::shell::Stdout::File(path, _) = &c.stdout else {
                continue;
            };
            if is_npm_config_file(&workflow::shell::normalize_path(path))
                && c.words()
                    .any(|w| w.value.contains("_authToken") || w.value.contains("npmAuthToken"))
            {
                let line = write_line(text, s, s.file_range(c.range.clone()).start)?;
                let lines = removed_lines.entry(w.step).or_default();
                if !lines.contains(&line) {
                    lines.push(line);
                }
            }
        }
    }
    let within =
        |lines: &[std::ops::Range<usize>], at: usize| lines.iter().any(|l| l.contains(&at));
    if let Some(run) = &step.run
        && run.script.exprs.iter().any(|e| {
            expr_credential(&e.inner, cx.opts).is_some()
                && !within(
                    removed_lines
                        .get(&step.index)
                        .map_or(&[][..], Vec::as_slice),
                    run.file_range(e.range.clone()).start,
                )
        })
    {
        return Err("the token is pasted into the script; `npmsweep fix --rule gha-npm-secret-in-run` moves it to `env:` first, then run fix again".into());
    }
    let mut touched: Vec<usize> = removed_lines.keys().copied().collect();
    if !touched.contains(&step.index) {
        touched.push(step.index);
    }
    let mut removed_any = !writes.is_empty();
    for index in touched {
        let s = &job.steps[index];
        let lines = removed_lines.get(&index).map_or(&[][..], Vec::as_slice);
        // Variables the step still reads once the lines are gone.
        let still_read = |name: &str| {
            s.commands().iter().any(|c| {
                !within(lines, s.file_range(c.range.clone()).start)
                    && c.words().any(|w| w.vars.iter().any(|v| v.name == name))
            }) || s.with.iter().any(|(_, _, v)| v.value.contains(name))
        };
        let creds = step_creds(s);
        if index == step.index {
            // npm reads it from the environment; a script that names it
            // (`--//registry.npmjs.org/:_authToken=$NPM_TOKEN`) would be
            // left with an empty value.
            if let Some((e, _)) = creds.iter().find(|(e, _)| still_read(&e.name)) {
                return Err(format!(
                    "the step's script or inputs use ${} by name; remove that use by hand",
                    e.name
                ));
            }
        }
        let gone_creds: Vec<&(workflow::EnvVar, String)> =
            creds.iter().filter(|(e, _)| !still_read(&e.name)).collect();
        secrets.extend(gone_creds.iter().map(|(_, c)| c.clone()));
        removed_any |= !gone_creds.is_empty();
        let node = step_node(nodes.job, pos, s.range.start).ok_or("a step was not found")?;
        if !lines.is_empty() && script_left_empty(text, s, lines)? {
            changes.edits.push(Edit {
                range: step_extent(text, s)?,
                replacement: String::new(),
                rank: 0,
            });
            continue;
        }
        for l in lines {
            changes.edits.push(Edit {
                range: l.clone(),
                replacement: String::new(),
                rank: 0,
            });
        }
        let gone_keys: Vec<usize> = gone_creds.iter().map(|(e, _)| e.key.start).collect();
        if !gone_keys.is_empty() {
            changes
                .edits
                .extend(remove_env_entries(text, pos, node, &gone_keys)?);
        }
    }
    if !removed_any {
        return Err("the token was not found in the step's `env:` nor in a written .npmrc".into());
    }
    secrets.sort();
    secrets.dedup();
    Ok(secrets)
}

/// The line of a `run:` block holding the write at `at`, when the write's
/// command is that whole line.
fn write_line(text: &str, s: &Step, at: usize) -> Result<std::ops::Range<usize>, String> {
    let why = || {
        format!(
            "step {} writes the token to an npm config file in a way a line removal cannot undo; remove that write by hand",
            s.label
        )
    };
    let run = s.run.as_ref().ok_or_else(why)?;
    let c = s
        .commands()
        .iter()
        .find(|c| {
            let r = s.file_range(c.range.clone());
            r.contains(&at)
                || matches!(&c.stdout, workflow::shell::Stdout::File(_, w) if s.file_range(w.clone()).contains(&at))
        })
        .ok_or_else(why)?;
    // The command must be written in the file as the script has it (a
    // block scalar's line, not a folded or escaped one).
    let r = s.file_range(c.range.clone());
    if text.get(r.clone()) != run.body.get(c.range.clone()) {
        return Err(why());
    }
    let start = s.file_range(c.range.clone()).start;
    let line = block::line_start(text, start)..block::line_end(text, start);
    let content = text[line.clone()].trim();
    // The line is the command and its redirect, nothing else.
    let one = text[line.start..start].trim().is_empty()
        && !content.ends_with('\\')
        && !content.ends_with("&&")
        && !content.ends_with("||")
        && !content.ends_with('|')
        && s.commands()
            .iter()
            .filter(|o| {
                let r = s.file_range(o.range.clone());
                r.start < line.end && r.end > line.start
            })
            .count()
            == 1
        && !content.contains(" && ")
        && !content.contains("; ");
    if !one {
        return Err(why());
    }
    Ok(line)
}

/// Would the step's script be empty (or only comments, or leave an empty
/// `then`/`do`/`else` block) once `lines` are gone? `Ok(true)`: remove the
/// step; an empty block is refused.
fn script_left_empty(
    text: &str,
    s: &Step,
    lines: &[std::ops::Range<usize>],
) -> Result<bool, String> {
    let run = s.run.as_ref().ok_or("not a run step")?;
    // The block scalar's lines: from its first line while indented as deep.
    let first = run.file_range(0..1).start;
    let indent = crate::fix::step_env::column_of(text, first);
    let mut left: Vec<&str> = Vec::new();
    let mut at = block::line_start(text, first);
    while at < text.len() {
        let end = block::line_end(text, at);
        let line = text[at..end].trim_end_matches(['\n', '\r']);
        let t = line.trim();
        if !t.is_empty() && line.len() - line.trim_start_matches(' ').len() < indent {
            break;
        }
        if !lines.iter().any(|l| l.start == at) && !t.is_empty() && !t.starts_with('#') {
            left.push(t);
        }
        at = end;
    }
    for pair in left.windows(2) {
        let opens = pair[0].ends_with("then")
            || pair[0].ends_with("do")
            || pair[0] == "else"
            || pair[0].ends_with('{');
        let closes = ["fi", "done", "else", "elif", "}", "esac"].iter().any(|k| {
            pair[1] == *k
                || pair[1].starts_with(&format!("{k} "))
                || pair[1].starts_with(&format!("{k};"))
        });
        if opens && closes {
            return Err(format!(
                "removing the token write would leave an empty shell block in step {}; remove it by hand",
                s.label
            ));
        }
    }
    Ok(left.is_empty())
}

/// The text of a whole step: its `- ` line to the end of its last line.
fn step_extent(text: &str, s: &Step) -> Result<std::ops::Range<usize>, String> {
    let first = s.range.start;
    let start = block::line_start(text, first);
    let prefix = &text[start..first];
    let dash = prefix.len() - prefix.trim_start_matches(' ').len();
    if !prefix.trim_start().starts_with('-') {
        return Err(format!(
            "step {}: its `-` is on a line of its own; remove it by hand",
            s.label
        ));
    }
    Ok(start..block::block_end(text, first, dash, false))
}

/// Remove the `env:` entries whose keys start at `keys` (and `env:` itself
/// when nothing is left in it).
fn remove_env_entries(
    text: &str,
    pos: &Positions,
    step: &MarkedMappingNode,
    keys: &[usize],
) -> Result<Vec<Edit>, String> {
    let env = step
        .get_mapping("env")
        .ok_or("the step's `env:` is not a mapping")?;
    if text.as_bytes().get(pos.span_start(env.span())) == Some(&b'{') {
        return Err(
            "the step's `env:` is a flow mapping (`{ … }`); remove the token by hand".into(),
        );
    }
    let keep = env
        .iter()
        .filter(|(k, _)| !keys.contains(&pos.span_start(k.span())))
        .count();
    if keep > 0 {
        return keys
            .iter()
            .map(|at| {
                Ok(Edit {
                    range: block::entry_line(text, *at)?,
                    replacement: String::new(),
                    rank: 0,
                })
            })
            .collect();
    }
    let (env_key, _) = step
        .iter()
        .find(|(k, _)| k.as_str() == "env")
        .ok_or("no env")?;
    let env_key = pos.span_start(env_key.span());
    let start = block::line_start(text, env_key);
    if !text[start..env_key].trim().is_empty() {
        return Err(
            "the step's `env:` shares its line (`- env:`); remove the token by hand".into(),
        );
    }
    for (k, _) in env.iter() {
        block::entry_line(text, pos.span_start(k.span()))?;
    }
    let end = block::block_end(
        text,
        env_key,
        crate::fix::step_env::column_of(text, env_key),
        false,
    );
    Ok(vec![Edit {
        range: start..end,
        replacement: String::new(),
        rank: 0,
    }])
}
