//! `persist-credentials: false` on the job's checkouts, unless it pushes.

use super::{Changes, Nodes, add_inputs, step_node};
use crate::detect::workflow::{self, Job, Step, Tool};
use crate::detect::yaml::Positions;

/// Why a job pushes with git (so `actions/checkout` must keep its
/// credentials), if it does.
fn pushes_with_git(job: &Job) -> Option<String> {
    for step in &job.steps {
        for p in workflow::real_publishes(step) {
            if matches!(
                p.tool,
                Tool::SemanticRelease
                    | Tool::Changesets
                    | Tool::ReleaseIt
                    | Tool::Lerna
                    | Tool::Np
                    | Tool::ShipJs
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

/// `persist-credentials: false` on every `actions/checkout` of the job,
/// unless the job pushes with git afterwards.
pub(super) fn persist_credentials(
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
