//! `gha-npm-oidc-npm-too-old`: trusted publishing needs npm 11.5.1 or
//! newer, first bundled with Node 24.5.0. A job pinning an older Node with
//! `actions/setup-node` and never upgrading npm fails the OIDC exchange
//! (often with a misleading 404).

use super::{Ctx, Job, Step, key, publish_auth, publishing_steps, setup_node_before};
use crate::detect::{Hit, Sink};

pub const RULE: &str = "gha-npm-oidc-npm-too-old";

/// `(major, minor)` of a `node-version` input; `None` when it cannot be
/// known statically (expressions, `lts/*`, `latest`, files).
pub fn node_version(v: &str) -> Option<(u32, Option<u32>)> {
    let v = v.trim().trim_matches(['"', '\'']).trim_start_matches('v');
    let lts = [
        ("hydrogen", 18),
        ("iron", 20),
        ("jod", 22),
        ("gallium", 16),
        ("fermium", 14),
    ];
    if let Some(code) = v.strip_prefix("lts/") {
        return lts
            .iter()
            .find(|(n, _)| code.eq_ignore_ascii_case(n))
            .map(|(_, m)| (*m, None));
    }
    let mut parts = v.trim_start_matches(['^', '~', '=']).split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next().and_then(|m| m.parse().ok());
    Some((major, minor))
}

/// Bundled npm is older than 11.5.1.
pub(crate) fn too_old(major: u32, minor: Option<u32>) -> bool {
    major < 24 || (major == 24 && minor.is_some_and(|m| m < 5))
}

/// An npm self-upgrade in steps before `before` (or earlier in that step):
/// `npm install -g npm@latest`, `npm i -g npm@11.5.1`, `npm update -g npm`.
pub fn npm_upgraded(job: &Job, before: &Step, at: usize) -> bool {
    npm_upgraded_in(&job.steps, before, at)
}

/// [`npm_upgraded`] over any list of steps (GitLab jobs have them too).
pub(crate) fn npm_upgraded_in(steps: &[Step], before: &Step, at: usize) -> bool {
    steps[..=before.index].iter().any(|s| {
        s.commands().iter().any(|c| {
            // `sudo npm i -g npm@latest` (CircleCI images) upgrades too.
            let mut argv: Vec<&str> = c.argv().collect();
            let name = if c.name == "sudo" {
                let skip = argv.iter().take_while(|a| a.starts_with('-')).count();
                argv.drain(..skip);
                if argv.is_empty() { "" } else { argv.remove(0) }
            } else {
                c.name.as_str()
            };
            if name != "npm"
                || (s.index == before.index && s.file_range(c.range.clone()).start >= at)
            {
                return false;
            }
            let args = argv;
            let sub = args.first().copied().unwrap_or("");
            let global = args
                .iter()
                .any(|a| *a == "-g" || *a == "--global" || *a == "--location=global");
            let npm_pkg = args.iter().find(|a| **a == "npm" || a.starts_with("npm@"));
            matches!(sub, "install" | "i" | "update" | "up" | "add")
                && global
                && npm_pkg.is_some_and(|p| match p.strip_prefix("npm@") {
                    None | Some("latest") | Some("next") => true,
                    Some(ver) => node_version(ver)
                        .is_some_and(|(maj, min)| maj > 11 || (maj == 11 && min.unwrap_or(5) >= 5)),
                })
        })
    })
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let wf = cx.wf;
    for (job, step, publishes) in publishing_steps(wf) {
        if !wf.id_token_write(job) {
            continue;
        }
        let Some(p) = publishes.into_iter().find(|p| p.tool.runs_system_npm()) else {
            continue;
        };
        // A token authenticates it: an older npm never tries OIDC and uses
        // the token (`gha-npm-token-with-oidc` reports the mix).
        if publish_auth(cx, job, step, &p).is_some() {
            continue;
        }
        let Some(setup) = setup_node_before(job, step.index) else {
            continue;
        };
        let Some(ver) = setup.with_value("node-version") else {
            continue;
        };
        // With a matrix, the oldest version decides.
        let Some(old) = job
            .values_of(&ver.value)
            .into_iter()
            .find(|v| node_version(v).is_some_and(|(maj, min)| too_old(maj, min)))
        else {
            continue;
        };
        if npm_upgraded(job, step, p.range.start) {
            continue;
        }
        sink.hit(
            Hit::new(
                RULE,
                ver.range.clone(),
                format!(
                    "job {} publishes with trusted publishing ({}) on Node {} whose bundled npm is older than {}, and never upgrades npm: the OIDC exchange will fail",
                    job.id,
                    p.shown(),
                    old,
                    crate::rules::Policy::global().value("npm_oidc_version")
                ),
            )
            .with_key(key(job, Some(step), &format!("node={old}")))
            .with_detail("node-version", old.clone()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(node_version("22"), Some((22, None)));
        assert_eq!(node_version("24.4.1"), Some((24, Some(4))));
        assert_eq!(node_version("20.x"), Some((20, None)));
        assert_eq!(node_version("lts/iron"), Some((20, None)));
        assert_eq!(node_version("lts/*"), None);
        assert_eq!(node_version("${{ matrix.node }}"), None);
        assert!(too_old(22, None));
        assert!(too_old(24, Some(4)));
        assert!(!too_old(24, None));
        assert!(!too_old(24, Some(5)));
        assert!(!too_old(25, None));
    }
}
