//! The human leak report of a history sweep: one entry per secret however
//! many files and commits hold it, with its timeline, then the next steps in
//! the order that matters (revoke first).

use crate::finding::{Finding, Origin, Provenance};
use crate::report::terminal::Terminal;
use crate::report::{ReportOptions, shown_secret};
use crate::scan::Report;
use crate::term_line;
use anstyle::Style;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

/// Refs listed by name before "and N more" (a repository with thousands of
/// pull-request refs would otherwise drown the report).
const MAX_REFS_SHOWN: usize = 8;

/// One secret across every file and commit that holds it.
#[derive(Debug)]
pub struct Leak<'a> {
    pub shown: String,
    pub what: &'static str,
    pub files: BTreeSet<&'a str>,
    pub commits: usize,
    /// The earliest introduction among its findings; `None` when every
    /// finding is in a stray blob that no commit names (`--all-objects`).
    pub first: Option<&'a Provenance>,
    pub in_head: bool,
    /// Branches and tags by name.
    pub refs: BTreeSet<&'a str>,
    /// Counts of the refs not named (the largest over its findings: a
    /// lower bound of the union).
    pub more_refs: usize,
    pub pull_request_refs: usize,
    pub bot_refs: usize,
}

/// Group active findings with a secret found in history (with provenance,
/// or in a stray blob that no commit names) by secret id, in order of first
/// appearance (then id, so the order never varies; stray-only ones last).
pub fn leaks<'a>(findings: &'a [Finding], opts: &ReportOptions) -> Vec<Leak<'a>> {
    let mut groups: BTreeMap<String, Vec<&'a Finding>> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.suppressed.is_none()) {
        let in_history = f.provenance.is_some() || matches!(f.origin, Origin::Blob { .. });
        if let Some(id) = f.secret_id()
            && in_history
        {
            groups.entry(id).or_default().push(f);
        }
    }
    let mut out: Vec<(String, Leak<'a>)> = groups
        .into_iter()
        .map(|(id, members)| {
            let first = members
                .iter()
                .filter_map(|f| f.provenance.as_ref())
                .min_by(|a, b| (&a.date, &a.commit).cmp(&(&b.date, &b.commit)));
            let leak = Leak {
                shown: shown_secret(members[0], opts).unwrap_or_default(),
                what: if members[0].rule_id.contains("token") {
                    "token"
                } else {
                    "credential"
                },
                files: members.iter().map(|f| f.path.as_str()).collect(),
                commits: members
                    .iter()
                    .filter_map(|f| f.provenance.as_ref())
                    .map(|p| p.secret_commits)
                    .max()
                    .unwrap_or(0),
                first,
                in_head: members
                    .iter()
                    .any(|f| f.provenance.as_ref().is_some_and(|p| p.in_head)),
                refs: members
                    .iter()
                    .filter_map(|f| f.provenance.as_ref())
                    .flat_map(|p| p.refs.iter().map(String::as_str))
                    .collect(),
                more_refs: max_of(&members, |p| p.more_refs),
                pull_request_refs: max_of(&members, |p| p.pull_request_refs),
                bot_refs: max_of(&members, |p| p.bot_refs),
            };
            (id, leak)
        })
        .collect();
    let order = |l: &Leak<'a>| l.first.map(|p| p.date.as_str());
    out.sort_by(|(ia, a), (ib, b)| {
        (order(a).is_none(), order(a), ia).cmp(&(order(b).is_none(), order(b), ib))
    });
    out.into_iter().map(|(_, leak)| leak).collect()
}

fn max_of(members: &[&Finding], count: impl Fn(&Provenance) -> usize) -> usize {
    members
        .iter()
        .filter_map(|f| f.provenance.as_ref())
        .map(count)
        .max()
        .unwrap_or(0)
}

/// One sentence: "token npm_ab…9xQ2 appears in 3 files across 14 commits, …".
pub fn sentence(leak: &Leak) -> String {
    let Some(first) = leak.first else {
        return format!(
            "{} {} is in an unreachable blob that no commit names (found only with --all-objects: no commit, date or ref)",
            leak.what, leak.shown
        );
    };
    let short = &first.commit[..first.commit.len().min(12)];
    let files = leak.files.len();
    let no_ref = leak.refs.is_empty() && leak.pull_request_refs == 0 && leak.bot_refs == 0;
    let refs = if no_ref {
        "no ref (unreachable: only --all-objects sees it)".to_string()
    } else {
        let names: Vec<String> = leak.refs.iter().map(|r| r.to_string()).collect();
        crate::history::refs::describe(
            &names,
            leak.more_refs,
            leak.pull_request_refs,
            leak.bot_refs,
            MAX_REFS_SHOWN,
        )
    };
    format!(
        "{} {} appears in {files} file{} across {} commit{}, first added in {short} on {} by {}, still in HEAD: {}, reachable from: {refs}",
        leak.what,
        leak.shown,
        if files == 1 { "" } else { "s" },
        leak.commits,
        if leak.commits == 1 { "" } else { "s" },
        first.date,
        first.author,
        if leak.in_head { "yes" } else { "no" },
    )
}

/// Write the leak report (nothing when no secret was found in history).
/// Part of the human report: `out` is escaped by `terminal` afterwards.
pub fn write(
    report: &Report,
    opts: &ReportOptions,
    terminal: &Terminal,
    out: &mut dyn Write,
) -> io::Result<()> {
    let leaks = leaks(&report.findings, opts);
    if leaks.is_empty() {
        return Ok(());
    }
    let paint = |text: &str| terminal.paint(Style::new().bold(), text);
    term_line!(terminal, out)?;
    term_line!(
        terminal,
        out,
        "{}",
        paint(&format!(
            "Leak report: {} secret(s) in git history",
            leaks.len()
        ))
    )?;
    for leak in &leaks {
        term_line!(terminal, out)?;
        term_line!(terminal, out, "- {}", sentence(leak))?;
        let files: Vec<&str> = leak.files.iter().copied().collect();
        if let Some(first) = leak.first {
            term_line!(terminal, out, "  files: {}", files.join(", "))?;
            term_line!(terminal, out, "  first commit: \"{}\"", first.summary)?;
        }
    }
    let any_in_head = leaks.iter().any(|l| l.in_head);
    term_line!(terminal, out)?;
    term_line!(terminal, out, "{}", paint("Next steps, in this order"))?;
    term_line!(
        terminal,
        out,
        "  1. Revoke every secret above now: once pushed, rotating is the only real fix (clones, forks and",
    )?;
    term_line!(
        terminal,
        out,
        "     caches keep history). npm tokens: npmjs.com → Access Tokens, or"
    )?;
    term_line!(
        terminal,
        out,
        "     `npm token revoke <id|token> --otp <code>` as yourself (revoking needs interactive 2FA: a token"
    )?;
    term_line!(
        terminal,
        out,
        "     that bypasses 2FA cannot revoke tokens)."
    )?;
    term_line!(
        terminal,
        out,
        "  2. Replace it: reference ${{NPM_TOKEN}} in .npmrc and keep the value in CI secrets, or publish with",
    )?;
    term_line!(
        terminal,
        out,
        "     OIDC trusted publishing and no token at all.{}",
        if any_in_head {
            " Some are still in HEAD: remove them there too."
        } else {
            ""
        }
    )?;
    term_line!(
        terminal,
        out,
        "  3. Optionally, after revoking, purge history: `npmsweep history --purge-plan FILE` writes a",
    )?;
    term_line!(
        terminal,
        out,
        "     git filter-repo expressions file and the exact commands (purging cannot reach forks or clones)."
    )?;
    Ok(())
}
