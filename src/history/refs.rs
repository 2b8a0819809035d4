//! Kinds of ref, so reports name the refs a maintainer acts on (branches and
//! tags) and only count the generated ones: a clone of a busy project has
//! thousands of pull-request refs, and listing them all in every finding made
//! a report of 21 findings weigh 2.4 MB.

use std::cmp::Ordering;

/// Refs listed by name in a finding's provenance; the rest are counted.
pub const MAX_REFS_LISTED: usize = 20;

/// What kind of ref a short name (`main`, `v1.0.0`, `origin/main`,
/// `pull/12/head`) is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RefKind {
    /// A branch, tag, remote-tracking branch, stash or detached HEAD.
    Branch,
    /// A branch made by a dependency or maintenance bot (Dependabot,
    /// Renovate, …): a branch, but one nobody will act on by name.
    Bot,
    /// A hosting service's pull- or merge-request ref (`refs/pull/*`,
    /// `refs/merge-requests/*`, or the same fetched under a remote).
    PullRequest,
}

/// Bot branch prefixes (after an optional remote name).
const BOT_PREFIXES: &[&str] = &[
    "dependabot/",
    "renovate/",
    "greenkeeper/",
    "snyk-",
    "imgbot/",
    "pre-commit-ci-",
    "release-please--",
    "mergify/",
    "whitesource/",
];

/// Pull-request namespaces (after an optional remote name), each followed by
/// a number.
const PULL_REQUEST_NAMESPACES: &[&str] = &["pull/", "merge-requests/", "pr/"];

pub fn kind(short_name: &str) -> RefKind {
    // `pull/12/head`, or `origin/pull/12/head` when fetched into a remote.
    let candidates = std::iter::once(short_name).chain(short_name.split_once('/').map(|(_, r)| r));
    let mut kind = RefKind::Branch;
    for name in candidates {
        let pull_request = PULL_REQUEST_NAMESPACES.iter().any(|ns| {
            name.strip_prefix(ns)
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        });
        if pull_request {
            return RefKind::PullRequest;
        }
        if BOT_PREFIXES.iter().any(|p| name.starts_with(p)) {
            kind = RefKind::Bot;
        }
    }
    kind
}

/// Order for listing: branches and tags first, then bot branches, then
/// pull-request refs, each by name.
pub fn listing_order(a: &str, b: &str) -> Ordering {
    (kind(a), a).cmp(&(kind(b), b))
}

/// A ref list cut to what a report can show.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct RefSummary {
    /// Branches and tags (then other refs if room is left), at most
    /// [`MAX_REFS_LISTED`], in [`listing_order`].
    pub listed: Vec<String>,
    /// Branches and tags left out of `listed`.
    pub more: usize,
    pub pull_requests: usize,
    pub bots: usize,
}

/// Summarise refs: branches and tags by name, pull-request and bot refs by
/// count.
pub fn summarise<'a>(names: impl IntoIterator<Item = &'a str>) -> RefSummary {
    let mut summary = RefSummary::default();
    let mut branches: Vec<&str> = Vec::new();
    for name in names {
        match kind(name) {
            RefKind::Branch => branches.push(name),
            RefKind::Bot => summary.bots += 1,
            RefKind::PullRequest => summary.pull_requests += 1,
        }
    }
    branches.sort_unstable();
    branches.dedup();
    summary.more = branches.len().saturating_sub(MAX_REFS_LISTED);
    summary.listed = branches
        .into_iter()
        .take(MAX_REFS_LISTED)
        .map(str::to_string)
        .collect();
    summary
}

/// "main, v1.0.0 and 3 more, 12 pull-request refs, 2 bot branches": at most
/// `shown` names (branches and tags), then counts.
pub fn describe(
    listed: &[String],
    more: usize,
    pull_requests: usize,
    bots: usize,
    shown: usize,
) -> String {
    let mut parts = Vec::new();
    if !listed.is_empty() {
        let names = listed[..listed.len().min(shown)].join(", ");
        let hidden = more + listed.len().saturating_sub(shown);
        parts.push(if hidden > 0 {
            format!("{names} and {hidden} more")
        } else {
            names
        });
    }
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    if pull_requests > 0 {
        parts.push(format!(
            "{pull_requests} pull-request ref{}",
            plural(pull_requests)
        ));
    }
    if bots > 0 {
        parts.push(format!(
            "{bots} bot branch{}",
            if bots == 1 { "" } else { "es" }
        ));
    }
    if parts.is_empty() {
        "no ref".to_string()
    } else {
        parts.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        assert_eq!(kind("main"), RefKind::Branch);
        assert_eq!(kind("v1.0.0"), RefKind::Branch);
        assert_eq!(kind("origin/main"), RefKind::Branch);
        assert_eq!(kind("pull/12/head"), RefKind::PullRequest);
        assert_eq!(kind("pull/12/merge"), RefKind::PullRequest);
        assert_eq!(kind("merge-requests/3/head"), RefKind::PullRequest);
        assert_eq!(kind("origin/pr/7"), RefKind::PullRequest);
        // A branch that merely talks about pulling is a branch.
        assert_eq!(kind("pull/fix-readme"), RefKind::Branch);
        assert_eq!(kind("dependabot/npm_and_yarn/lodash-4.17.21"), RefKind::Bot);
        assert_eq!(kind("origin/renovate/eslint-9.x"), RefKind::Bot);
    }

    #[test]
    fn summary_lists_branches_and_counts_the_rest() {
        let mut names: Vec<String> = (0..30).map(|n| format!("pull/{n}/head")).collect();
        names.push("dependabot/npm/x".into());
        names.push("v1.0.0".into());
        names.push("main".into());
        let s = summarise(names.iter().map(String::as_str));
        assert_eq!(s.listed, ["main", "v1.0.0"]);
        assert_eq!((s.more, s.pull_requests, s.bots), (0, 30, 1));

        let many: Vec<String> = (0..25).map(|n| format!("b{n:02}")).collect();
        let s = summarise(many.iter().map(String::as_str));
        assert_eq!(s.listed.len(), MAX_REFS_LISTED);
        assert_eq!(s.more, 5);
    }

    #[test]
    fn listing_puts_branches_first() {
        let mut v = vec!["pull/1/head", "renovate/x", "zeta", "main"];
        v.sort_by(|a, b| listing_order(a, b));
        assert_eq!(v, ["main", "zeta", "renovate/x", "pull/1/head"]);
    }

    #[test]
    fn description() {
        let l = vec!["main".to_string(), "v1".to_string(), "v2".to_string()];
        assert_eq!(describe(&l, 0, 0, 0, 8), "main, v1, v2");
        assert_eq!(
            describe(&l, 4, 12, 1, 2),
            "main, v1 and 5 more, 12 pull-request refs, 1 bot branch"
        );
        assert_eq!(describe(&[], 0, 1, 0, 8), "1 pull-request ref");
        assert_eq!(describe(&[], 0, 0, 0, 8), "no ref");
    }
}
