//! `registry-url` on setup-node, and an npm that does the OIDC exchange.

use super::{Changes, Nodes, add_inputs, step_node};
use crate::detect::workflow::oidc_npm_too_old::{node_version, npm_upgraded, too_old};
use crate::detect::workflow::{Job, Publish, Step, setup_node_before};
use crate::detect::yaml::Positions;
use crate::fix::{Edit, block};
use crate::rules::Policy;

/// The Node major a too-old literal `node-version` becomes: its current
/// releases bundle npm >= 11.5.1 (Node 24.5.0 was the first).
const NODE_MAJOR: &str = "24";

/// The public registry, as `registry-url` is written.
const PUBLIC_REGISTRY: &str = "https://registry.npmjs.org";

/// `registry-url` on setup-node and an npm that does the OIDC exchange.
#[allow(clippy::too_many_arguments)]
pub(super) fn set_up_node(
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
