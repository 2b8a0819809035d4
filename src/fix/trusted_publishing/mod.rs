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
//!
//! One module per part: [`token`], [`permissions`], [`node`], [`checkout`].

mod checkout;
mod node;
mod permissions;
mod token;

use super::{Edit, FindingFix, block};
use crate::detect::workflow::{
    self, Ctx, Job, Publish, Step, Tool, Workflow, publishing_steps, write_command,
};
use crate::detect::yaml::{self, Positions};
use crate::detect::{DetectOptions, Item};
use crate::finding::{Finding, Origin};
use crate::rules::Policy;
use marked_yaml::Node;
use marked_yaml::types::MarkedMappingNode;
use std::collections::BTreeMap;

pub const RULE: &str = "gha-npm-long-lived-publish-token";

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
        secrets.extend(token::remove_token(
            &cx,
            job,
            s,
            p,
            &nodes,
            &pos,
            &mut changes,
        )?);
    }
    secrets.sort();
    secrets.dedup();
    permissions::add_id_token(text, &pos, &wf, job, &publish, &nodes, unit, &mut changes)?;
    // Node and npm are set up once, before the job's first publish.
    let (first, first_publish) = targets.first().ok_or("no publish")?;
    node::set_up_node(
        text,
        &pos,
        job,
        first,
        first_publish,
        &nodes,
        unit,
        &mut changes,
    )?;
    checkout::persist_credentials(text, &pos, job, &nodes, unit, &mut changes)?;
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
