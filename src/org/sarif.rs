//! The merged report as SARIF: one SARIF 2.1.0 log per repository, because
//! code scanning takes one repository per upload (`merge --format sarif -o
//! DIR`, or `--sarif-dir DIR` next to another format).
//!
//! Each log must also fit GitHub's limits (25,000 results per run, 10 MB
//! gzipped per upload). A repository with more is truncated, never split:
//! two uploads of one repository under the same category replace each other,
//! and under two categories the same alert would move between them from one
//! sweep to the next. What is kept is the most severe (GitHub shows only the
//! top 5,000 anyway); what is left out is counted by severity in a warning
//! notification inside the log and in a warning the caller prints, and the
//! merged JSON report still lists everything.

use super::merge::{Entry, Location, Merged};
use crate::report::sarif;
use std::collections::{BTreeMap, BTreeSet};

/// How much one repository's log may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Results per run.
    pub results: usize,
    /// Compact JSON bytes of the results (the budget `--format sarif` uses
    /// to stay under the 10 MB gzipped upload limit).
    pub bytes: usize,
}

impl Limits {
    /// GitHub code scanning's limits, as `--format sarif` applies them.
    pub const GITHUB: Limits = Limits {
        results: sarif::MAX_RESULTS,
        bytes: sarif::MAX_RESULTS_BYTES,
    };
}

/// The logs, by file name, and one warning per repository that was cut.
#[derive(Debug, Default)]
pub struct SarifFiles {
    pub files: BTreeMap<String, Vec<u8>>,
    pub warnings: Vec<String>,
}

/// A file name for a repository's SARIF: its name with anything but
/// `[A-Za-z0-9._-]` as `_`, without a leading dot.
pub fn file_name(repository: &str) -> String {
    let bare = repository.trim_end_matches('/').trim_end_matches(".git");
    let trimmed = bare.split_once("://").map_or(bare, |(_, rest)| rest);
    let mut name: String = trimmed
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    name = name.trim_start_matches(['.', '_']).to_string();
    if name.is_empty() {
        name = "repository".into();
    }
    format!("{name}.sarif")
}

fn level(severity: &str) -> &'static str {
    match severity {
        "critical" | "high" => "error",
        "medium" => "warning",
        _ => "note",
    }
}

/// One log per repository within GitHub's limits.
pub fn per_repository(m: &Merged) -> SarifFiles {
    per_repository_within(m, Limits::GITHUB)
}

/// One SARIF 2.1.0 log per repository: its own locations, each result
/// saying in how many other repositories the same secret sits. Rules,
/// regions, URIs and fingerprints are made as `--format sarif` makes them.
/// Results come in the merged report's order (most severe first), so a cut
/// keeps a prefix: the most severe.
pub fn per_repository_within(m: &Merged, limits: Limits) -> SarifFiles {
    let rules = sarif::rule_descriptors_json();
    let rule_index: BTreeMap<String, usize> = crate::rules::Registry::global()
        .all()
        .enumerate()
        .map(|(i, r)| (r.id.clone(), i))
        .collect();
    // Each repository's locations in the merged order, in one pass (not
    // one pass over every entry per repository).
    let mut by_repository: BTreeMap<&str, Vec<(&Entry, &Location)>> = BTreeMap::new();
    for e in m.sorted_entries() {
        for l in &e.locations {
            by_repository.entry(&l.repository).or_default().push((e, l));
        }
    }
    let mut out = SarifFiles::default();
    let mut used = BTreeSet::new();
    for (name, totals) in &m.repositories {
        let mut results = Vec::new();
        let mut total = 0usize;
        let mut bytes = 0usize;
        let mut dropped: BTreeMap<usize, (String, usize)> = BTreeMap::new();
        let mut dropped_for_size = false;
        let mut occurrences: BTreeMap<&str, usize> = BTreeMap::new();
        for &(e, l) in by_repository.get(name.as_str()).into_iter().flatten() {
            total += 1;
            let stem = l.fingerprint.get(..16).unwrap_or(&l.fingerprint);
            let occurrence = occurrences.entry(stem).or_insert(0);
            *occurrence += 1;
            // Once one result is left out, every later (less severe)
            // one is too: what is kept is always a prefix.
            let mut keep = dropped.is_empty() && results.len() < limits.results;
            let mut result = serde_json::Value::Null;
            if keep {
                result = result_json(e, l, stem, *occurrence, &rule_index);
                let size = serde_json::to_vec(&result).map_or(0, |v| v.len());
                if bytes + size > limits.bytes {
                    keep = false;
                    dropped_for_size = true;
                } else {
                    bytes += size;
                }
            }
            if keep {
                results.push(result);
            } else {
                let rank = crate::org::merge::severity_rank(&e.severity);
                dropped
                    .entry(rank)
                    .or_insert_with(|| (e.severity.clone(), 0))
                    .1 += 1;
            }
        }
        let dropped_total: usize = dropped.values().map(|(_, n)| n).sum();
        let mut notifications = Vec::new();
        if dropped_total > 0 {
            let message = cut_message(total, dropped_total, &dropped, dropped_for_size, limits);
            notifications.push(serde_json::json!({
                "level": "warning",
                "message": { "text": message },
            }));
            out.warnings.push(format!(
                "SARIF for {}: {message}",
                crate::report::terminal::escape(name)
            ));
        }
        let repo = &totals.repository;
        let mut run = serde_json::json!({
            "tool": { "driver": {
                "name": "npmsweep",
                "semanticVersion": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "automationDetails": {
                "id": sarif::automation_id(None, &format!("org-{}", totals.command)),
            },
            "originalUriBaseIds": { "%SRCROOT%": {
                "description": { "text": "The root of the repository." }
            }},
            "columnKind": "unicodeCodePoints",
            "invocations": [{
                "executionSuccessful": true,
                "toolExecutionNotifications": notifications,
            }],
            "results": results,
            "properties": {
                "findings": total,
                "results_dropped": dropped_total,
            },
        });
        if let Some(url) = &repo.url {
            // Result URIs are relative to %SRCROOT%, the repository's root.
            let mut provenance = serde_json::json!({
                "repositoryUri": url,
                "mappedTo": { "uriBaseId": "%SRCROOT%" },
            });
            if let Some(head) = &repo.head {
                provenance["revisionId"] = head.as_str().into();
            }
            if let Some(branch) = &repo.default_branch {
                provenance["branch"] = branch.as_str().into();
            }
            run["versionControlProvenance"] = serde_json::json!([provenance]);
        }
        let log = serde_json::json!({
            "$schema": sarif::SCHEMA_URI,
            "version": "2.1.0",
            "runs": [run],
        });
        let mut file = file_name(name);
        let mut n = 2;
        while !used.insert(file.clone()) {
            file = format!("{}-{n}.sarif", file_name(name).trim_end_matches(".sarif"));
            n += 1;
        }
        let mut bytes = serde_json::to_vec_pretty(&log).expect("SARIF serialises");
        bytes.push(b'\n');
        out.files.insert(file, bytes);
    }
    out
}

fn result_json(
    e: &Entry,
    l: &Location,
    stem: &str,
    occurrence: usize,
    rule_index: &BTreeMap<String, usize>,
) -> serde_json::Value {
    let others = e.repositories.len() - 1;
    let also = if others > 0 {
        format!(
            " The same secret is in {others} other repositor{} of this sweep.",
            if others == 1 { "y" } else { "ies" }
        )
    } else {
        String::new()
    };
    let preview = e
        .secret
        .as_deref()
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let (uri, relative) = sarif::artifact_uri(&l.path);
    let mut artifact = serde_json::json!({ "uri": uri });
    if relative {
        artifact["uriBaseId"] = "%SRCROOT%".into();
    }
    let start_line = l.start_line.max(1);
    let start_column = l.start_column.max(1);
    let end_line = l.end_line.max(start_line);
    let mut end_column = l.end_column.max(1);
    if end_line == start_line && end_column < start_column {
        end_column = start_column;
    }
    let mut result = serde_json::json!({
        "ruleId": l.rule_id,
        "level": level(&e.severity),
        "message": { "text": format!("{}{preview}.{also}", e.title) },
        "locations": [{ "physicalLocation": {
            "artifactLocation": artifact,
            "region": {
                "startLine": start_line, "startColumn": start_column,
                "endLine": end_line, "endColumn": end_column,
            }
        }}],
        "partialFingerprints": {
            "primaryLocationLineHash": format!("{stem}:{occurrence}"),
            "npmsweep/v1": l.fingerprint,
        },
        "properties": {
            "repositories": e.repositories.len(),
            "commit": l.commit,
            "secret_id": e.secret_id,
        },
    });
    if let Some(i) = rule_index.get(&l.rule_id) {
        result["ruleIndex"] = (*i).into();
    }
    result
}

/// What a cut log says about itself: how much was left out, of which
/// severities, which limit forced it, and where the complete list is.
fn cut_message(
    total: usize,
    dropped: usize,
    by_severity: &BTreeMap<usize, (String, usize)>,
    for_size: bool,
    limits: Limits,
) -> String {
    let severities: Vec<String> = by_severity
        .values()
        .map(|(s, n)| format!("{n} {s}"))
        .collect();
    let why = if for_size {
        "GitHub rejects SARIF uploads over 10 MB compressed".to_string()
    } else {
        format!(
            "GitHub code scanning rejects a run with more than {} results",
            limits.results
        )
    };
    format!(
        "this log holds {} of the repository's {total} results: {why}, so the {dropped} least severe were left out ({}). The merged report (merge --format json) lists every finding.",
        total - dropped,
        severities.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::org::merge::merge;
    use serde_json::Value;

    /// A repository report with `n` findings: the first `critical` ones
    /// critical, the rest low (each its own secret, so each its own entry).
    fn report(url: &str, n: usize, critical: usize) -> (String, Vec<u8>) {
        let tag = url.len();
        let findings: Vec<Value> = (0..n)
            .map(|i| {
                serde_json::json!({
                    "rule_id": "npm-token", "title": "t",
                    "severity": if i < critical { "critical" } else { "low" },
                    "path": format!("f{i:04}/.npmrc"), "start_line": 1, "start_column": 1,
                    "end_line": 1, "end_column": 9, "secret": "npm_ab…6789",
                    "secret_id": format!("{tag:04x}{i:012x}"),
                    "fingerprint": format!("{tag:04x}{i:028x}"),
                })
            })
            .collect();
        let doc = serde_json::json!({
            "schema_version": crate::report::json::SCHEMA_VERSION,
            "command": "history",
            "repository": { "url": url, "path": url, "head": "0".repeat(40) },
            "findings": findings,
        });
        (url.to_string(), serde_json::to_vec(&doc).unwrap())
    }

    fn run(files: &SarifFiles, name: &str) -> Value {
        let log: Value = serde_json::from_slice(&files.files[name]).unwrap();
        log["runs"][0].clone()
    }

    #[test]
    fn a_repository_over_the_cap_is_cut_to_its_most_severe_and_says_so() {
        // Low findings sort after critical ones whatever their paths.
        let big = report("https://e.com/big.git", 30, 4);
        let small = report("https://e.com/small.git", 3, 1);
        let limits = Limits {
            results: 10,
            bytes: usize::MAX,
        };
        let files = per_repository_within(&merge(&[big.clone(), small.clone()], None), limits);
        let cut = run(&files, "e.com_big.sarif");
        let results = cut["results"].as_array().unwrap();
        assert_eq!(results.len(), 10);
        assert_eq!(
            results.iter().filter(|r| r["level"] == "error").count(),
            4,
            "every critical result is kept"
        );
        assert_eq!(cut["properties"]["results_dropped"], 20);
        assert_eq!(cut["properties"]["findings"], 30);
        let note = &cut["invocations"][0]["toolExecutionNotifications"][0];
        assert_eq!(note["level"], "warning");
        let text = note["message"]["text"].as_str().unwrap();
        assert!(
            text.contains("holds 10 of the repository's 30 results"),
            "{text}"
        );
        assert!(text.contains("more than 10 results"), "{text}");
        assert!(text.contains("(20 low)"), "{text}");
        assert_eq!(files.warnings.len(), 1, "{:?}", files.warnings);
        assert!(
            files.warnings[0].starts_with("SARIF for https://e.com/big.git: this log holds 10")
        );
        // The repository under the cap is whole and says nothing.
        let whole = run(&files, "e.com_small.sarif");
        assert_eq!(whole["results"].as_array().unwrap().len(), 3);
        assert_eq!(whole["properties"]["results_dropped"], 0);
        assert_eq!(
            whole["invocations"][0]["toolExecutionNotifications"],
            serde_json::json!([])
        );
        // The same reports in the other order: the same bytes.
        let again = per_repository_within(&merge(&[small, big], None), limits);
        assert_eq!(again.files, files.files);
        assert_eq!(again.warnings, files.warnings);
    }

    #[test]
    fn the_size_budget_cuts_too() {
        let big = report("https://e.com/big.git", 12, 2);
        let merged = merge(&[big], None);
        let whole = per_repository_within(&merged, Limits::GITHUB);
        assert!(whole.warnings.is_empty());
        let one = serde_json::to_vec(&run(&whole, "e.com_big.sarif")["results"][0])
            .unwrap()
            .len();
        let files = per_repository_within(
            &merged,
            Limits {
                results: usize::MAX,
                bytes: one * 5 + one / 2,
            },
        );
        let cut = run(&files, "e.com_big.sarif");
        let kept = cut["results"].as_array().unwrap().len();
        assert!((4..=5).contains(&kept), "{kept}");
        assert_eq!(cut["properties"]["results_dropped"], 12 - kept);
        assert!(
            files.warnings[0].contains("10 MB compressed"),
            "{:?}",
            files.warnings
        );
    }

    #[test]
    fn file_names_are_safe_and_distinct() {
        assert_eq!(
            file_name("https://github.com/acme/web.git"),
            "github.com_acme_web.sarif"
        );
        assert_eq!(file_name("../../etc/passwd"), "etc_passwd.sarif");
        assert_eq!(file_name("/srv/git/web.git/"), "srv_git_web.sarif");
        assert_eq!(file_name("..."), "repository.sarif");
    }
}
