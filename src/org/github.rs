//! The merged report for GitHub Actions (`merge --format github`).
//!
//! An annotation's `file=` always means a file of the repository the
//! workflow runs in, and a merge runs in one repository (the one that holds
//! the sweep workflow) about many others. So no annotation here names a
//! file: each merged finding is one run-level annotation (shown on the
//! run's summary page) whose message names every repository, path, line and
//! commit where the secret sits; a missing shard or failed repository is an
//! error annotation, listed first so GitHub's per-level cap never hides it.
//! The full answer goes to the job summary as Markdown tables
//! (`$GITHUB_STEP_SUMMARY`; printed after the annotations when unset).
//! Per-repository alerts on the files themselves are what the per-repository
//! SARIF is for.

use super::merge::{Entry, Merged, headline, readiness_totals, short};
use crate::finding::Severity;
use crate::report::github::{ANNOTATIONS_PER_LEVEL, escape_data, escape_property, level};
use crate::report::readiness::md_code;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Locations named in one annotation's message; the rest are counted.
const LOCATIONS_PER_ANNOTATION: usize = 20;
/// Findings listed in the job summary (GitHub takes 1 MiB per step).
const SUMMARY_ROWS: usize = 200;
/// Locations listed in one row of the job summary.
const LOCATIONS_PER_ROW: usize = 5;

fn level_of(e: &Entry) -> &'static str {
    level(Severity::parse(&e.severity).unwrap_or(Severity::Low))
}

/// A known severity as is; anything else a report says, as a code span.
fn severity_cell(s: &str) -> String {
    Severity::parse(s).map_or_else(|| md_code(s), |v| v.as_str().to_string())
}

/// The workflow commands: failures, then one annotation per finding (most
/// severe first), then the closing lines for the log.
pub fn annotations(m: &Merged) -> Vec<u8> {
    let mut out = String::new();
    let mut per_level: BTreeMap<&str, usize> = BTreeMap::new();
    for i in &m.shards.missing {
        *per_level.entry("error").or_default() += 1;
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property("npmsweep merge: missing shard"),
            escape_data(&format!(
                "shard {i} of {} has no report: its repositories were not swept (did its job fail before uploading?)",
                m.shards.expected.unwrap_or(0)
            ))
        );
    }
    for f in &m.failures {
        *per_level.entry("error").or_default() += 1;
        let _ = writeln!(
            out,
            "::error title={}::{}",
            escape_property("npmsweep merge: failed"),
            escape_data(&format!(
                "{}{}: {}",
                f.source,
                f.repository
                    .as_deref()
                    .map(|r| format!(" ({r})"))
                    .unwrap_or_default(),
                f.error
            ))
        );
    }
    for e in m.sorted_entries() {
        let level = level_of(e);
        *per_level.entry(level).or_default() += 1;
        let rules: Vec<&str> = e.rule_ids.iter().map(String::as_str).collect();
        let title = format!(
            "npmsweep {}: {} ({} repositor{})",
            rules.join(", "),
            e.title,
            e.repositories.len(),
            if e.repositories.len() == 1 {
                "y"
            } else {
                "ies"
            }
        );
        let _ = writeln!(
            out,
            "::{level} title={}::{}",
            escape_property(&title),
            escape_data(&message(e))
        );
    }
    if per_level.values().any(|n| *n > ANNOTATIONS_PER_LEVEL) {
        let _ = writeln!(
            out,
            "npmsweep: GitHub shows at most {ANNOTATIONS_PER_LEVEL} annotations of each level per step; every finding is listed above in this log and in the job summary"
        );
    }
    let _ = writeln!(
        out,
        "npmsweep: {}{}",
        headline(m),
        if m.failed() {
            "; INCOMPLETE (see the errors above)"
        } else {
            ""
        }
    );
    out.into_bytes()
}

/// A run-level warning annotation.
pub fn warning(title: &str, text: &str) -> String {
    format!(
        "::warning title={}::{}\n",
        escape_property(title),
        escape_data(text)
    )
}

/// "[critical] Title (npm_ab…6789, secret_id …) in 2 repositories, 3
/// location(s): repo path:line:col (commit …); …. How to fix: …"
fn message(e: &Entry) -> String {
    let mut m = format!("[{}] {}", e.severity, e.title);
    match (&e.secret, &e.secret_id) {
        (Some(s), Some(id)) => {
            let _ = write!(m, " ({s}, secret_id {id})");
        }
        (Some(s), None) => {
            let _ = write!(m, " ({s})");
        }
        _ => {}
    }
    let _ = write!(
        m,
        " in {} repositor{}, {} location(s): ",
        e.repositories.len(),
        if e.repositories.len() == 1 {
            "y"
        } else {
            "ies"
        },
        e.locations.len()
    );
    let places: Vec<String> = e
        .locations
        .iter()
        .take(LOCATIONS_PER_ANNOTATION)
        .map(|l| {
            let commit = l
                .commit
                .as_deref()
                .map(|c| format!(" (commit {})", short(c)))
                .unwrap_or_default();
            format!(
                "{} {}:{}:{}{commit}",
                l.repository, l.path, l.start_line, l.start_column
            )
        })
        .collect();
    m.push_str(&places.join("; "));
    if e.locations.len() > LOCATIONS_PER_ANNOTATION {
        let _ = write!(
            m,
            "; and {} more (see the merged report)",
            e.locations.len() - LOCATIONS_PER_ANNOTATION
        );
    }
    if let Some(rule) = e.rule_ids.iter().next() {
        let _ = write!(m, ". How to fix: npmsweep explain {rule}");
    }
    m
}

/// The job summary: what is missing, the findings with where they sit, the
/// repositories and the publish readiness, as Markdown tables. Every value
/// from a report is a table cell or a code span, never markup.
pub fn summary_markdown(m: &Merged) -> String {
    let mut out = String::from("## npmsweep: organisation sweep\n\n");
    if m.failed() {
        out.push_str("**INCOMPLETE**: ");
        let mut parts = Vec::new();
        if !m.shards.missing.is_empty() {
            let list: Vec<String> = m.shards.missing.iter().map(usize::to_string).collect();
            parts.push(format!(
                "shard(s) {} of {} missing (their repositories were not swept)",
                list.join(", "),
                m.shards.expected.unwrap_or(0)
            ));
        }
        if !m.failures.is_empty() {
            parts.push(format!("{} failure(s)", m.failures.len()));
        }
        out.push_str(&parts.join("; "));
        out.push_str(".\n\n");
        for f in &m.failures {
            let _ = writeln!(
                out,
                "- {}{}: {}",
                md_code(&f.source),
                f.repository
                    .as_deref()
                    .map(|r| format!(" ({})", md_code(r)))
                    .unwrap_or_default(),
                md_code(&f.error)
            );
        }
        if !m.failures.is_empty() {
            out.push('\n');
        }
    }
    let _ = writeln!(out, "{}.\n", headline(m));
    let entries = m.sorted_entries();
    if !entries.is_empty() {
        out.push_str("| severity | finding | secret | repositories | where |\n");
        out.push_str("|---|---|---|---:|---|\n");
        for e in entries.iter().take(SUMMARY_ROWS) {
            let rules: Vec<String> = e.rule_ids.iter().map(|r| md_code(r)).collect();
            let secret = match (&e.secret, &e.secret_id) {
                (Some(s), Some(id)) => format!("{} {}", md_code(s), md_code(id)),
                (Some(s), None) => md_code(s),
                (None, Some(id)) => md_code(id),
                (None, None) => "-".into(),
            };
            let mut places: Vec<String> = e
                .locations
                .iter()
                .take(LOCATIONS_PER_ROW)
                .map(|l| {
                    format!(
                        "{} {}",
                        md_code(&l.repository),
                        md_code(&format!("{}:{}", l.path, l.start_line))
                    )
                })
                .collect();
            if e.locations.len() > LOCATIONS_PER_ROW {
                places.push(format!(
                    "and {} more",
                    e.locations.len() - LOCATIONS_PER_ROW
                ));
            }
            let _ = writeln!(
                out,
                "| {} | {} {} | {} | {} | {} |",
                severity_cell(&e.severity),
                rules.join(" "),
                md_code(&e.title),
                secret,
                e.repositories.len(),
                places.join("<br>")
            );
        }
        if entries.len() > SUMMARY_ROWS {
            let _ = writeln!(
                out,
                "\nThe first {SUMMARY_ROWS} of {} findings; the merged report lists them all.",
                entries.len()
            );
        }
        out.push('\n');
    }
    if !m.repositories.is_empty() {
        out.push_str("### Repositories\n\n");
        out.push_str(
            "| repository | findings | critical | high | medium | low | branch | HEAD |\n",
        );
        out.push_str("|---|---:|---:|---:|---:|---:|---|---|\n");
        for (name, t) in &m.repositories {
            let n = |s: &str| t.findings.get(s).copied().unwrap_or(0);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                md_code(name),
                t.total,
                n("critical"),
                n("high"),
                n("medium"),
                n("low"),
                md_code(t.repository.default_branch.as_deref().unwrap_or("")),
                md_code(&short(t.repository.head.as_deref().unwrap_or("")))
            );
        }
        out.push('\n');
    }
    let readiness = readiness_totals(m);
    if !readiness.is_empty() {
        out.push_str(
            "### Publish readiness (January 2027)\n\n| status | publish paths |\n|---|---:|\n",
        );
        for (status, n) in &readiness {
            let _ = writeln!(out, "| {} | {n} |", md_code(status));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::merge::merge;
    use serde_json::Value;

    fn report(url: &str, secret_id: &str, path: &str) -> (String, Vec<u8>) {
        let doc = serde_json::json!({
            "schema_version": crate::report::json::SCHEMA_VERSION,
            "command": "history",
            "repository": { "url": url, "path": url, "head": "ab".repeat(20), "default_branch": "main" },
            "findings": [{
                "rule_id": "npm-token", "title": "npm token", "severity": "critical",
                "path": path, "start_line": 3, "start_column": 5, "end_line": 3, "end_column": 45,
                "secret": "npm_ab…6789", "secret_id": secret_id, "fingerprint": format!("{secret_id:0>32}"),
                "provenance": { "commit": "cd".repeat(20) },
            }, {
                "rule_id": "npmrc-password", "title": "password, in | a table", "severity": "medium",
                "path": "ci.npmrc", "start_line": 1, "start_column": 1, "end_line": 1, "end_column": 9,
                "fingerprint": format!("{:f>32}", url.len()),
            }],
        });
        (url.to_string(), serde_json::to_vec(&doc).unwrap())
    }

    fn reports() -> Vec<(String, Vec<u8>)> {
        vec![
            report("https://e.com/org/a.git", "0011223344556677", ".npmrc"),
            report(
                "https://e.com/org/b.git",
                "0011223344556677",
                "deploy,env:x",
            ),
            report("https://e.com/org/c.git", "8899aabbccddeeff", ".npmrc"),
        ]
    }

    #[test]
    fn one_annotation_per_finding_naming_every_repository_and_no_file() {
        let m = merge(&reports(), None);
        let text = String::from_utf8(annotations(&m)).unwrap();
        let commands: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
        // One shared token, one token of its own, three passwords.
        assert_eq!(commands.len(), 5, "{text}");
        assert!(commands.iter().all(|c| !c.contains("file=")), "{text}");
        let shared = commands[0];
        assert!(shared.starts_with("::error title=npmsweep npm-token%3A npm token (2 repositories)::[critical] npm token (npm_ab…6789, secret_id 0011223344556677) in 2 repositories, 2 location(s): "), "{shared}");
        assert!(
            shared.contains("https://e.com/org/a.git .npmrc:3:5 (commit cdcdcdcdcdcd)"),
            "{shared}"
        );
        assert!(
            shared.contains("https://e.com/org/b.git deploy,env:x:3:5"),
            "{shared}"
        );
        assert!(
            shared.ends_with(". How to fix: npmsweep explain npm-token"),
            "{shared}"
        );
        assert!(
            commands[1]
                .starts_with("::error title=npmsweep npm-token%3A npm token (1 repository)::")
        );
        assert!(commands[2..].iter().all(|c| c.starts_with("::warning title=npmsweep npmrc-password%3A password%2C in | a table (1 repository)::")), "{text}");
        assert_eq!(
            text.lines().last().unwrap(),
            "npmsweep: 5 finding(s) in 3 repositories; 1 secret(s) in several repositories"
        );
    }

    #[test]
    fn the_same_reports_in_any_order_give_the_same_bytes() {
        let mut r = reports();
        let forward = merge(&r, None);
        r.reverse();
        let backward = merge(&r, None);
        assert_eq!(annotations(&forward), annotations(&backward));
        assert_eq!(summary_markdown(&forward), summary_markdown(&backward));
    }

    #[test]
    fn missing_shards_and_failures_come_first_as_errors() {
        let mut doc: Value = serde_json::from_slice(&reports()[0].1).unwrap();
        let shard = serde_json::json!({
            "schema_version": crate::report::json::SCHEMA_VERSION,
            "kind": crate::org::run::SHARD_KIND,
            "shard": { "index": 0, "count": 3 },
            "reports": [doc.take()],
            "failures": [{ "repository": "https://e.com/org/gone.git", "error": "cannot clone" }],
        });
        let m = merge(
            &[("shard-0.json".into(), serde_json::to_vec(&shard).unwrap())],
            None,
        );
        let text = String::from_utf8(annotations(&m)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with(
                "::error title=npmsweep merge%3A missing shard::shard 1 of 3 has no report"
            ),
            "{text}"
        );
        assert!(
            lines[1].starts_with("::error title=npmsweep merge%3A missing shard::shard 2 of 3"),
            "{text}"
        );
        assert_eq!(
            lines[2],
            "::error title=npmsweep merge%3A failed::shard-0.json (https://e.com/org/gone.git): cannot clone"
        );
        assert!(
            lines
                .last()
                .unwrap()
                .ends_with("; INCOMPLETE (see the errors above)")
        );
        let md = summary_markdown(&m);
        assert!(md.contains("**INCOMPLETE**: shard(s) 1, 2 of 3 missing (their repositories were not swept); 1 failure(s)."), "{md}");
        assert!(
            md.contains("- `shard-0.json` (`https://e.com/org/gone.git`): `cannot clone`"),
            "{md}"
        );
    }

    #[test]
    fn markup_from_a_crafted_report_renders_as_code() {
        let (name, bytes) = report("https://e.com/org/a.git", "0011223344556677", ".npmrc");
        let text = String::from_utf8(bytes)
            .unwrap()
            .replace("npm token", "[click](https://evil.example) <img src=x>")
            .replace("\"critical\"", "\"<b>bold</b>\"");
        let md = summary_markdown(&merge(&[(name, text.into_bytes())], None));
        for line in md
            .lines()
            .filter(|l| l.contains("evil") || l.contains("bold"))
        {
            let outside: String = line.split('`').step_by(2).collect();
            assert!(
                !outside.contains('<') && !outside.contains("]("),
                "markup outside a code span: {line}"
            );
        }
        assert!(md.contains("`<b>bold</b>`"), "{md}");
    }

    #[test]
    fn the_summary_is_tables_whose_cells_cannot_break_out() {
        let m = merge(&reports(), None);
        let md = summary_markdown(&m);
        assert!(md.starts_with("## npmsweep: organisation sweep\n\n5 finding(s) in 3 repositories; 1 secret(s) in several repositories.\n"), "{md}");
        assert!(md.contains("| critical | `npm-token` `npm token` | `npm_ab…6789` `0011223344556677` | 2 | `https://e.com/org/a.git` `.npmrc:3`<br>`https://e.com/org/b.git` `deploy,env:x:3` |"), "{md}");
        // A pipe in a title is not a column.
        assert!(md.contains("`password, in / a table`"), "{md}");
        assert!(
            md.contains(
                "| `https://e.com/org/a.git` | 2 | 1 | 0 | 1 | 0 | `main` | `abababababab` |"
            ),
            "{md}"
        );
        assert!(!md.contains("INCOMPLETE"));
    }
}
