//! `gha-npm-long-lived-publish-token`: the publishing job moves to npm
//! trusted publishing (OIDC), as the rule's remediation describes:
//!
//! - `id-token: write` in the job's `permissions:` (created from the
//!   workflow's scopes when the job has none, so `contents: write` and the
//!   other write scopes a release tool uses are kept);
//! - the token's `env:` entries removed from the publish step (only npm
//!   credentials; `GITHUB_TOKEN` stays), and script lines that write it
//!   into an npm config file (the whole step when nothing else is left);
//! - `registry-url` on `actions/setup-node` (a setup-node step is added
//!   before the publish when the job has none and no other action sets up
//!   Node);
//! - an npm that can do the OIDC exchange (>= `npm_oidc_version`): a
//!   literal `node-version` older than Node 24.5 becomes `24`; a version the
//!   file does not state (an expression, a file, another action) gets an
//!   explicit `npm install -g npm@^<npm_stage_version>` step before the
//!   publish;
//! - `persist-credentials: false` on `actions/checkout`, unless the job
//!   pushes with git afterwards (then listed as left, with the reason).
//!
//! What only a human can do (configure the trusted publisher on npmjs.com,
//! then disallow tokens and revoke the old one) goes to the checklist. The
//! fix is checked before it is offered: the changed workflow is scanned
//! again and must no longer report this publish and report nothing new.

use super::{Edit, FindingFix, block};
use crate::detect::workflow::oidc_npm_too_old::{node_version, npm_upgraded, too_old};
use crate::detect::workflow::{
    self, Ctx, Job, Permissions, Publish, Step, Tool, Workflow, expr_credential,
    is_npm_config_file, publishing_steps, setup_node_before, token_writes, write_command,
};
use crate::detect::yaml::{self, Positions};
use crate::detect::{DetectOptions, Item};
use crate::finding::{Finding, Origin};
use crate::rules::Policy;
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;
use std::collections::BTreeMap;

pub const RULE: &str = "gha-npm-long-lived-publish-token";

/// The Node major a too-old literal `node-version` becomes: its current
/// releases bundle npm >= 11.5.1 (Node 24.5.0 was the first).
const NODE_MAJOR: &str = "24";

/// The public registry, as `registry-url` is written.
const PUBLIC_REGISTRY: &str = "https://registry.npmjs.org";

/// The scopes a release tool writes with: kept, or granted when the job had
/// the repository default.
fn release_scopes(tool: Tool) -> &'static [&'static str] {
    match tool {
        // Tags, GitHub releases, release notes on issues and PRs.
        Tool::SemanticRelease => &["contents", "issues", "pull-requests"],
        // The version PR, tags and releases.
        Tool::Changesets => &["contents", "pull-requests"],
        Tool::ReleaseIt | Tool::Lerna | Tool::Np => &["contents"],
        _ => &[],
    }
}

/// The YAML nodes the edits need, found by the model's positions.
struct Nodes<'a> {
    root: &'a MarkedMappingNode,
    job: &'a MarkedMappingNode,
}

fn step_node<'a>(
    job: &'a MarkedMappingNode,
    pos: &Positions,
    first_key: usize,
) -> Option<&'a MarkedMappingNode> {
    job.get_sequence("steps")?
        .iter()
        .filter_map(Node::as_mapping)
        .find(|s| {
            s.iter()
                .next()
                .is_some_and(|(k, _)| pos.span_start(k.span()) == first_key)
        })
}

/// Why a job pushes with git (so `actions/checkout` must keep its
/// credentials), if it does.
fn pushes_with_git(job: &Job) -> Option<String> {
    for step in &job.steps {
        for p in workflow::real_publishes(step) {
            if matches!(
                p.tool,
                Tool::SemanticRelease | Tool::Changesets | Tool::ReleaseIt | Tool::Lerna | Tool::Np
            ) {
                return Some(format!(
                    "{} pushes tags or a release branch with git",
                    p.shown()
                ));
            }
        }
        if let Some(action) = step.action()
            && matches!(
                action.as_str(),
                "changesets/action"
                    | "stefanzweifel/git-auto-commit-action"
                    | "endbug/add-and-commit"
                    | "ad-m/github-push-action"
                    | "googleapis/release-please-action"
            )
        {
            return Some(format!("`{action}` pushes with git"));
        }
        if step.commands().iter().any(|c| {
            c.name == "git"
                && c.argv()
                    .find(|a| !a.starts_with('-'))
                    .is_some_and(|a| a == "push")
        }) {
            return Some(format!("step {} runs `git push`", step.label));
        }
    }
    None
}

/// Everything the fix changes and says, built up piece by piece.
#[derive(Default)]
struct Changes {
    edits: Vec<Edit>,
    checklist: Vec<String>,
    left: Vec<String>,
}

/// Fix the job that holds `f`'s publish. Every publish of that job that
/// `siblings` report is converted at once (one job, one set of
/// permissions): the fixes of the job's findings are the same edits.
pub fn fix(f: &Finding, text: &str, siblings: &[&Finding]) -> Result<FindingFix, String> {
    let root_node = yaml::parse(text).map_err(|e| format!("the workflow does not parse: {e}"))?;
    let root = root_node
        .as_mapping()
        .ok_or("the workflow is not a mapping")?;
    let wf = workflow::model(text).ok_or("the workflow is not a mapping")?;
    let pos = Positions::new(text);
    let offset_of = |f: &Finding| pos.offset_of(f.span.start_line, f.span.start_column);
    let offset = offset_of(f);
    let (job, _, publish) = publishing_steps(&wf)
        .find_map(|(j, s, ps)| {
            ps.into_iter()
                .find(|p| p.range.start == offset)
                .map(|p| (j, s, p))
        })
        .ok_or("the publish was not found again in the workflow")?;
    // The job's reported publishes, one per step, in order.
    let reported: Vec<usize> = siblings
        .iter()
        .filter(|s| s.rule_id == RULE)
        .map(|s| offset_of(s))
        .collect();
    let mut targets: Vec<(&Step, Publish)> = Vec::new();
    for (j, s, ps) in publishing_steps(&wf) {
        if j.id != job.id || targets.iter().any(|(t, _)| t.index == s.index) {
            continue;
        }
        if let Some(p) = ps
            .into_iter()
            .find(|p| p.range.start == offset || reported.contains(&p.range.start))
        {
            targets.push((s, p));
        }
    }
    for (s, p) in &targets {
        refuse_what_trusted_publishing_cannot_do(&wf, job, s, p)?;
    }
    let job_node = root
        .get_mapping("jobs")
        .and_then(|jobs| jobs.get_mapping(&job.id))
        .ok_or("the job is not a mapping")?;
    let nodes = Nodes {
        root,
        job: job_node,
    };
    let unit = block::indent_unit(text, root, &pos);
    let item = Item {
        path: &f.path,
        bytes: text.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    let opts = DetectOptions::default();
    let cx = Ctx {
        item: &item,
        text,
        wf: &wf,
        opts: &opts,
    };
    let mut changes = Changes::default();
    let mut secrets = Vec::new();
    for (s, p) in &targets {
        secrets.extend(remove_token(&cx, job, s, p, &nodes, &pos, &mut changes)?);
    }
    secrets.sort();
    secrets.dedup();
    add_id_token(text, &pos, &wf, job, &publish, &nodes, unit, &mut changes)?;
    // Node and npm are set up once, before the job's first publish.
    let (first, first_publish) = targets.first().ok_or("no publish")?;
    set_up_node(
        text,
        &pos,
        job,
        first,
        first_publish,
        &nodes,
        unit,
        &mut changes,
    )?;
    persist_credentials(text, &pos, job, &nodes, unit, &mut changes)?;
    checklist(f, job, &nodes, &publish, &secrets, &mut changes);
    // Identical edits (a write step removed for two publishes) count once.
    changes.edits.sort_by(|a, b| {
        (a.range.start, a.range.end, a.rank, &a.replacement).cmp(&(
            b.range.start,
            b.range.end,
            b.rank,
            &b.replacement,
        ))
    });
    changes.edits.dedup();
    verify(f, text, &changes.edits)?;
    Ok(FindingFix {
        edits: changes.edits,
        removed_values: Vec::new(),
        checklist: changes.checklist,
        left: changes.left,
    })
}

fn refuse_what_trusted_publishing_cannot_do(
    wf: &Workflow,
    job: &Job,
    step: &Step,
    p: &Publish,
) -> Result<(), String> {
    if job.self_hosted() {
        return Err("trusted publishing does not support self-hosted runners: move the publish to a GitHub-hosted runner, or stage it (`npm stage publish`)".into());
    }
    match p.tool {
        Tool::Bun => {
            return Err("`bun publish` has no trusted publishing: publish with npm, or stage with `npm stage publish`".into());
        }
        Tool::Yarn => {
            return Err("`yarn npm publish` needs a Yarn with OIDC support; check your Yarn's release notes and migrate by hand".into());
        }
        _ => {}
    }
    if wf.has_trigger("workflow_call") {
        return Err("a reusable workflow (workflow_call): npm checks the calling workflow's file name and the caller grants `id-token: write`; migrate by hand (see gha-npm-oidc-reusable-workflow)".into());
    }
    if let Some(c) = step.commands().iter().find(|c| write_command(c)) {
        return Err(format!(
            "the step also runs `{} {}`, which needs a token; trusted publishing only publishes",
            c.name,
            c.argv().next().unwrap_or("")
        ));
    }
    Ok(())
}

/// Remove the npm token from the publish: its `env:` entries in the
/// publish step, and the script lines that write it into an npm config
/// file (`echo "//registry.npmjs.org/:_authToken=$NPM_TOKEN" >> ~/.npmrc`)
/// in that step or an earlier one (the whole step when nothing else is
/// left in it, and the `env:` entries only those lines read). Returns the
/// secrets it came from. Refused when the token reaches the publish another
/// way (job or workflow `env:`, a `with:` input, `${{ secrets.X }}` in the
/// script) or a script uses it for something else.
fn remove_token(
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
    let indent = super::step_env::column_of(text, first);
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
        super::step_env::column_of(text, env_key),
        false,
    );
    Ok(vec![Edit {
        range: start..end,
        replacement: String::new(),
        rank: 0,
    }])
}

/// `id-token: write` for the job, keeping the scopes it has.
#[allow(clippy::too_many_arguments)]
fn add_id_token(
    text: &str,
    pos: &Positions,
    wf: &Workflow,
    job: &Job,
    p: &Publish,
    nodes: &Nodes,
    unit: usize,
    changes: &mut Changes,
) -> Result<(), String> {
    const ENTRY: &str = "id-token: write";
    if let Some(block) = &job.permissions {
        let Some(Node::Mapping(perms)) = nodes.job.get_node("permissions") else {
            return match block.perms {
                Permissions::ReadAll => Err("the job's permissions are `read-all`, which cannot be combined with `id-token: write`; list the scopes it needs by hand".into()),
                _ => Err("the job's `permissions:` is not a mapping; add `id-token: write` by hand".into()),
            };
        };
        if let Some(v) = perms.get_scalar("id-token") {
            let at = pos.scalar_range(v.span(), v.as_str());
            changes.edits.push(Edit {
                range: at,
                replacement: "write".into(),
                rank: 0,
            });
            return Ok(());
        }
        let open = pos.span_start(perms.span());
        if perms.is_empty() || text.as_bytes().get(open) == Some(&b'{') {
            changes.edits.push(block::flow_append(text, open, ENTRY)?);
        } else {
            changes
                .edits
                .push(block::append(text, pos, perms, &[ENTRY.to_string()])?);
        }
        return Ok(());
    }
    // A job block replaces the workflow's: start from the workflow's scopes.
    let mut scopes: Vec<(String, String)> = match wf.permissions.as_ref().map(|b| &b.perms) {
        Some(Permissions::Scopes(_)) => {
            let Some(Node::Mapping(m)) = nodes.root.get_node("permissions") else {
                return Err("the workflow's `permissions:` is not a mapping".into());
            };
            m.iter()
                .filter_map(|(k, v)| {
                    v.as_scalar()
                        .map(|v| (k.as_str().to_string(), v.as_str().trim().to_string()))
                })
                .filter(|(k, _)| k != "id-token")
                .collect()
        }
        Some(Permissions::ReadAll) => {
            return Err("the workflow's permissions are `read-all`, which cannot be combined with `id-token: write`; give the job the scopes it needs and `id-token: write` by hand".into());
        }
        Some(_) => {
            return Err(
                "the workflow's `permissions:` is not a list of scopes; add the job's by hand"
                    .into(),
            );
        }
        None => {
            // The repository default: read the code, and what the release tool writes.
            let mut v = vec![("contents".to_string(), "read".to_string())];
            for scope in release_scopes(p.tool) {
                match v.iter_mut().find(|(k, _)| k == scope) {
                    Some(e) => e.1 = "write".into(),
                    None => v.push((scope.to_string(), "write".into())),
                }
            }
            let granted: Vec<String> = v.iter().map(|(k, l)| format!("{k}: {l}")).collect();
            changes.checklist.push(format!(
                "Job `{}` ran with the repository's default GITHUB_TOKEN permissions; it now has only {} and `id-token: write`: add any other scope it needs.",
                job.id,
                granted.join(", ")
            ));
            v
        }
    };
    scopes.push(("id-token".into(), "write".into()));
    let mut lines = vec!["permissions:".to_string()];
    lines.extend(
        scopes
            .iter()
            .map(|(k, v)| format!("{}{k}: {v}", " ".repeat(unit))),
    );
    let steps_key = nodes
        .job
        .iter()
        .find(|(k, _)| k.as_str() == "steps")
        .map(|(k, _)| pos.span_start(k.span()))
        .ok_or("the job has no `steps:`")?;
    changes
        .edits
        .push(block::insert_before_key(text, steps_key, &lines)?);
    Ok(())
}

/// `registry-url` on setup-node and an npm that does the OIDC exchange.
#[allow(clippy::too_many_arguments)]
fn set_up_node(
    text: &str,
    pos: &Positions,
    job: &Job,
    step: &Step,
    p: &Publish,
    nodes: &Nodes,
    unit: usize,
    changes: &mut Changes,
) -> Result<(), String> {
    let policy = Policy::global();
    // Node set up by an action the model does not see into (a local
    // composite action, a version manager): keep it, upgrade npm.
    let provisioner = job.steps[..step.index].iter().find_map(|s| {
        let uses = s.uses.as_ref()?.value.trim();
        let action = s.action()?;
        (uses.starts_with("./")
            || matches!(
                action.as_str(),
                "volta-cli/action"
                    | "jdx/mise-action"
                    | "asdf-vm/actions/install"
                    | "asdf-vm/actions/setup"
            ))
        .then(|| uses.to_string())
    });
    let Some(setup) = setup_node_before(job, step.index) else {
        if let Some(by) = provisioner {
            if !npm_upgraded(job, step, p.range.start) {
                changes.edits.push(block::insert_step_before(
                    text,
                    step.range.start,
                    &upgrade_step(),
                )?);
            }
            changes.checklist.push(format!(
                "Job `{}` sets up Node with `{by}`: it must be Node {} or newer for the npm the fix installs, and any .npmrc it writes must not hold the token.",
                job.id,
                policy.value("node_stage_version")
            ));
            return Ok(());
        }
        let ind = " ".repeat(unit);
        changes.edits.push(block::insert_step_before(
            text,
            step.range.start,
            &[
                format!("uses: {}", policy.value("setup_node_action")),
                "with:".into(),
                format!("{ind}node-version: {NODE_MAJOR}"),
                format!("{ind}registry-url: {PUBLIC_REGISTRY}"),
            ],
        )?);
        return Ok(());
    };
    let mut add = Vec::new();
    let mut upgrade_npm = false;
    match setup.with_value("node-version") {
        Some(v) => {
            let old = |s: &str| node_version(s).is_some_and(|(maj, min)| too_old(maj, min));
            if !v.value.contains("${{") {
                if old(&v.value) {
                    if text.get(v.range.clone()) != Some(v.value.as_str()) {
                        return Err("setup-node's `node-version` is not written as one plain value; set it to 24 by hand".into());
                    }
                    changes.edits.push(Edit {
                        range: v.range.clone(),
                        replacement: NODE_MAJOR.into(),
                        rank: 0,
                    });
                }
            } else if job
                .values_of(&v.value)
                .iter()
                .any(|s| s.contains("${{") || old(s))
            {
                // An expression or a matrix: the versions stay, npm is upgraded.
                upgrade_npm = true;
            }
        }
        None if setup.with_value("node-version-file").is_some() => upgrade_npm = true,
        None => add.push(format!("node-version: {NODE_MAJOR}")),
    }
    match setup.with_value("registry-url") {
        None => add.push(format!("registry-url: {PUBLIC_REGISTRY}")),
        Some(v) if v.value.trim().is_empty() => {
            return Err("setup-node's `registry-url` is empty; set it by hand".into());
        }
        Some(_) => {}
    }
    if !add.is_empty() {
        let setup_node = step_node(nodes.job, pos, setup.range.start)
            .ok_or("the setup-node step was not found")?;
        changes
            .edits
            .extend(add_inputs(text, pos, setup_node, &add, unit)?);
    }
    if upgrade_npm && !npm_upgraded(job, step, p.range.start) {
        changes.edits.push(block::insert_step_before(
            text,
            step.range.start,
            &upgrade_step(),
        )?);
        changes.checklist.push(format!(
            "Job `{}` upgrades npm for trusted publishing, whose Node version the workflow does not state: npm {} needs Node {} or newer.",
            job.id,
            policy.value("npm_stage_version"),
            policy.value("node_stage_version")
        ));
    }
    Ok(())
}

/// The step that upgrades npm: to the policy's version within npm 11
/// (`npm@latest` is npm 12, a major upgrade with new install defaults).
fn upgrade_step() -> Vec<String> {
    let policy = Policy::global();
    vec![
        format!(
            "name: npm >= {} for trusted publishing",
            policy.value("npm_oidc_version")
        ),
        format!(
            "run: npm install -g npm@^{}",
            policy.value("npm_stage_version")
        ),
    ]
}

/// Add `with:` inputs to an action step (block, one-line flow, or a new
/// `with:`).
fn add_inputs(
    text: &str,
    pos: &Positions,
    step: &MarkedMappingNode,
    entries: &[String],
    unit: usize,
) -> Result<Vec<Edit>, String> {
    match step.get_node("with") {
        Some(Node::Mapping(with)) => {
            let open = pos.span_start(with.span());
            if with.is_empty() || text.as_bytes().get(open) == Some(&b'{') {
                let mut out = Vec::new();
                // One edit: entries inserted at one place in order; a URL
                // quoted (`:` inside a flow mapping reads badly to some parsers).
                let joined = entries
                    .iter()
                    .map(|e| match e.split_once(": ") {
                        Some((k, v)) if v.contains("://") => format!("{k}: \"{v}\""),
                        _ => e.clone(),
                    })
                    .collect::<Vec<_>>()
                    .join(", ");
                out.push(block::flow_append(text, open, &joined)?);
                Ok(out)
            } else {
                Ok(vec![block::append(text, pos, with, entries)?])
            }
        }
        Some(_) => Err("the step's `with:` is not a mapping; add the inputs by hand".into()),
        None => {
            let ind = " ".repeat(unit);
            let mut lines = vec!["with:".to_string()];
            lines.extend(entries.iter().map(|e| format!("{ind}{e}")));
            Ok(vec![block::append(text, pos, step, &lines)?])
        }
    }
}

/// `persist-credentials: false` on every `actions/checkout` of the job,
/// unless the job pushes with git afterwards.
fn persist_credentials(
    text: &str,
    pos: &Positions,
    job: &Job,
    nodes: &Nodes,
    unit: usize,
    changes: &mut Changes,
) -> Result<(), String> {
    let checkouts: Vec<&Step> = job
        .steps
        .iter()
        .filter(|s| s.action().as_deref() == Some("actions/checkout"))
        .collect();
    if checkouts.is_empty() {
        return Ok(());
    }
    if let Some(why) = pushes_with_git(job) {
        changes.left.push(format!(
            "`actions/checkout` in job {} keeps the job's GitHub token in .git/config (`persist-credentials`): {why}; set `persist-credentials: false` by hand once it pushes with a token of its own",
            job.id
        ));
        return Ok(());
    }
    for checkout in checkouts {
        match checkout.with_value("persist-credentials") {
            Some(v) if v.value.trim() == "false" => {}
            Some(v) => changes.left.push(format!(
                "`actions/checkout` in job {} sets `persist-credentials: {}` explicitly; left as it is",
                job.id,
                v.value.trim()
            )),
            None => {
                let node = step_node(nodes.job, pos, checkout.range.start)
                    .ok_or("the checkout step was not found")?;
                changes.edits.extend(add_inputs(
                    text,
                    pos,
                    node,
                    &["persist-credentials: false".to_string()],
                    unit,
                )?);
            }
        }
    }
    Ok(())
}

fn checklist(
    f: &Finding,
    job: &Job,
    nodes: &Nodes,
    p: &Publish,
    secrets: &[String],
    changes: &mut Changes,
) {
    let policy = Policy::global();
    let file = f.path.rsplit('/').next().unwrap_or(&f.path);
    // `environment: name` or `environment: { name: … }`.
    let environment = match nodes.job.get_node("environment") {
        Some(Node::Scalar(s)) => Some(s.as_str().to_string()),
        Some(Node::Mapping(m)) => m.get_scalar("name").map(|s| s.as_str().to_string()),
        _ => None,
    };
    let environment = match environment {
        Some(e) if e.contains("${{") => {
            format!(", and the environment the job runs in (`{e}`)")
        }
        Some(e) => format!(", and the environment `{e}`"),
        None => String::new(),
    };
    changes.checklist.push(format!(
        "On npmjs.com, for each package job `{}` publishes: Settings → Trusted publisher → GitHub Actions, with this repository's owner and name, the workflow file name `{file}`{environment}. Until then the changed job cannot publish.",
        job.id
    ));
    match p.tool {
        Tool::SemanticRelease => changes.checklist.push(
            "semantic-release: use a version of @semantic-release/npm with trusted-publishing support (older ones stop with ENONPMTOKEN when NPM_TOKEN is not set).".into(),
        ),
        Tool::Changesets => changes.checklist.push(
            "changesets: use a changesets/action release with trusted-publishing support (older ones write an .npmrc from NPM_TOKEN).".into(),
        ),
        Tool::Pnpm => changes.checklist.push(
            "pnpm publish: use a pnpm that supports trusted publishing (check its release notes).".into(),
        ),
        _ => {}
    }
    let names = if secrets.is_empty() {
        "the old token's repository secret".to_string()
    } else {
        secrets
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    changes.checklist.push(format!(
        "After a release published through trusted publishing, set each package to *Require two-factor authentication and disallow tokens*, then revoke the old token ({}) and delete {names} from the repository's secrets.",
        policy.value("revoke_npm_token")
    ));
}

/// Scan the changed workflow: this publish must no longer be reported and
/// nothing new may appear. A fix that would not hold is not offered.
fn verify(f: &Finding, text: &str, edits: &[Edit]) -> Result<(), String> {
    let fixed = super::apply_edits(text, edits)?;
    let scan = |t: &str| {
        let item = Item {
            path: &f.path,
            bytes: t.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for found in crate::scan::detect_item(&item, &DetectOptions::default()).findings {
            *counts.entry(found.rule_id).or_default() += 1;
        }
        counts
    };
    let (before, after) = (scan(text), scan(&fixed));
    if after.get(RULE) >= before.get(RULE) {
        return Err(
            "the changed workflow would still publish with a token; migrate by hand".into(),
        );
    }
    if let Some((rule, _)) = after
        .iter()
        .find(|(rule, n)| before.get(*rule).is_none_or(|b| b < n))
    {
        return Err(format!(
            "the changed workflow would be reported by {rule}; migrate by hand"
        ));
    }
    Ok(())
}
