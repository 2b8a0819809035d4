//! `id-token: write` for the job, keeping the scopes it has.

use super::{Changes, Nodes};
use crate::detect::workflow::{Job, Permissions, Publish, Tool, Workflow};
use crate::detect::yaml::Positions;
use crate::fix::{Edit, block};
use marked_yaml::Node;

/// The scopes a release tool writes with: kept, or granted when the job had
/// the repository default.
fn release_scopes(tool: Tool) -> &'static [&'static str] {
    match tool {
        // Tags, GitHub releases, release notes on issues and PRs.
        Tool::SemanticRelease => &["contents", "issues", "pull-requests"],
        // The version PR, tags and releases.
        Tool::Changesets => &["contents", "pull-requests"],
        Tool::ReleaseIt | Tool::Lerna | Tool::Np | Tool::ShipJs => &["contents"],
        _ => &[],
    }
}

/// `id-token: write` for the job, keeping the scopes it has.
#[allow(clippy::too_many_arguments)]
pub(super) fn add_id_token(
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
