//! `npmsweep merge REPORT...`: combine the reports of many repositories
//! (shard reports of `--repos` runs, or single `scan`/`history` JSON reports)
//! into one answer.
//!
//! A secret with a `secret_id` (a random token) found in several
//! repositories is one entry listing every repository, path and commit where
//! it sits; it is compared by `secret_id`, never by the secret. Findings
//! without one (guessable values, structural findings) stay one entry per
//! repository and fingerprint. Everything is kept in ordered maps, so the
//! same reports in any order give the same bytes. A shard named by `--plan`
//! (or by the shard count of the reports) with no report, a report that
//! cannot be read, and a repository a shard could not sweep are listed under
//! `failures` / `shards.missing` and make the exit code 2.

use crate::source::repository::RepositoryInfo;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const MERGE_KIND: &str = "npmsweep-merge";

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum MergeFormat {
    /// Findings with every location, totals per repository (the default).
    Human,
    /// One JSON document (`kind: "npmsweep-merge"`).
    Json,
    /// JSON Lines: one merged finding per line (the JSON's `findings[]`).
    Jsonl,
    /// Workflow commands (run-level annotations naming repository and
    /// path), plus Markdown tables for `$GITHUB_STEP_SUMMARY`.
    Github,
    /// One SARIF 2.1.0 file per repository into the directory `-o` names.
    Sarif,
}

const SEVERITIES: [&str; 4] = ["critical", "high", "medium", "low"];

pub(crate) fn severity_rank(s: &str) -> usize {
    SEVERITIES
        .iter()
        .position(|x| *x == s)
        .unwrap_or(SEVERITIES.len())
}

/// Where one finding sits.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Location {
    pub repository: String,
    pub path: String,
    pub start_line: u64,
    pub start_column: u64,
    pub end_line: u64,
    pub end_column: u64,
    /// The commit that introduced it (history reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    pub rule_id: String,
    pub fingerprint: String,
}

/// One merged finding: a secret (by `secret_id`) everywhere it occurs, or
/// one finding without `secret_id` in one repository.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Entry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_id: Option<String>,
    /// Redacted preview (as in the reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub severity: String,
    pub title: String,
    pub rule_ids: BTreeSet<String>,
    pub repositories: BTreeSet<String>,
    pub locations: BTreeSet<Location>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct RepositoryTotals {
    pub repository: RepositoryInfo,
    pub command: String,
    pub total: usize,
    pub findings: BTreeMap<String, usize>,
    pub by_rule: BTreeMap<String, usize>,
    pub suppressed: usize,
    /// Publish paths by readiness status (`will-break`, `trusted-publishing`…)
    /// from the report's `publish_readiness.counts`.
    pub publish_readiness: BTreeMap<String, usize>,
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Failure {
    /// The report file it came from (or the plan).
    pub source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    pub error: String,
}

#[derive(Debug, Default, Serialize)]
pub struct Shards {
    /// How many shards there should be (`--plan`, else the reports' count).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<usize>,
    pub present: BTreeSet<usize>,
    pub missing: Vec<usize>,
}

/// The merged answer.
#[derive(Debug, Default)]
pub struct Merged {
    pub shards: Shards,
    pub failures: BTreeSet<Failure>,
    pub repositories: BTreeMap<String, RepositoryTotals>,
    pub entries: BTreeMap<(bool, String, String), Entry>,
    /// Every (repository, location) already counted: a report given twice counts once.
    seen_locations: BTreeSet<(String, Location)>,
}

impl Merged {
    pub fn failed(&self) -> bool {
        !self.failures.is_empty() || !self.shards.missing.is_empty()
    }

    /// Entries by severity, then identity.
    pub fn sorted_entries(&self) -> Vec<&Entry> {
        let mut v: Vec<&Entry> = self.entries.values().collect();
        v.sort_by(|a, b| {
            severity_rank(&a.severity)
                .cmp(&severity_rank(&b.severity))
                .then_with(|| b.repositories.len().cmp(&a.repositories.len()))
                .then_with(|| a.locations.iter().next().cmp(&b.locations.iter().next()))
                .then_with(|| a.secret_id.cmp(&b.secret_id))
        });
        v
    }
}

fn str_of<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

/// Merge reports (`(name, bytes)`), with the shard count from a plan.
pub fn merge(inputs: &[(String, Vec<u8>)], plan_shards: Option<usize>) -> Merged {
    let mut merged = Merged::default();
    let mut counts = BTreeSet::new();
    let fail = |m: &mut Merged, source: &str, repository: Option<String>, error: String| {
        m.failures.insert(Failure {
            source: source.to_string(),
            repository,
            error,
        });
    };
    for (source, bytes) in inputs {
        let doc: Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                fail(&mut merged, source, None, format!("not a JSON report: {e}"));
                continue;
            }
        };
        let version = doc.get("schema_version").and_then(Value::as_u64);
        if version != Some(u64::from(crate::report::json::SCHEMA_VERSION)) {
            fail(
                &mut merged,
                source,
                None,
                format!(
                    "schema_version {} is not {}: write the reports with this version of npmsweep",
                    version.map_or("(none)".to_string(), |v| v.to_string()),
                    crate::report::json::SCHEMA_VERSION
                ),
            );
            continue;
        }
        if str_of(&doc, "kind") == Some(super::run::SHARD_KIND) {
            let shard = doc.get("shard");
            let index = shard.and_then(|s| s.get("index")).and_then(Value::as_u64);
            let count = shard.and_then(|s| s.get("count")).and_then(Value::as_u64);
            if let (Some(i), Some(n)) = (index, count) {
                merged.shards.present.insert(i as usize);
                counts.insert(n as usize);
            }
            for f in doc
                .get("failures")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                fail(
                    &mut merged,
                    source,
                    str_of(f, "repository").map(str::to_string),
                    str_of(f, "error").unwrap_or("failed").to_string(),
                );
            }
            for report in doc
                .get("reports")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Err(e) = add_report(&mut merged, report) {
                    fail(&mut merged, source, None, e);
                }
            }
        } else if let Err(e) = add_report(&mut merged, &doc) {
            fail(&mut merged, source, None, e);
        }
    }
    let expected = plan_shards.or_else(|| counts.iter().next_back().copied());
    if let Some(n) = expected {
        for c in counts.iter().filter(|c| **c != n) {
            merged.failures.insert(Failure {
                source: "(shards)".into(),
                repository: None,
                error: format!("a shard report was cut for {c} shard(s), the plan has {n}"),
            });
        }
        merged.shards.missing = (0..n)
            .filter(|i| !merged.shards.present.contains(i))
            .collect();
        // Single-repository reports carry no shard: only count shards when some do.
        if counts.is_empty() && plan_shards.is_none() {
            merged.shards.missing.clear();
        }
    }
    merged.shards.expected = expected;
    merged
}

fn add_report(merged: &mut Merged, report: &Value) -> Result<(), String> {
    let info: RepositoryInfo = report
        .get("repository")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .map_err(|e| format!("bad `repository`: {e}"))?
        .ok_or("the report names no repository (scan a repository's top level, or use --repos)")?;
    let name = info.name().to_string();
    let findings = report
        .get("findings")
        .and_then(Value::as_array)
        .ok_or("the report has no `findings`")?;
    let totals = merged
        .repositories
        .entry(name.clone())
        .or_insert_with(|| RepositoryTotals {
            repository: info.clone(),
            command: str_of(report, "command").unwrap_or_default().to_string(),
            ..Default::default()
        });
    // The same repository in two reports (a shard given twice): one
    // deterministic description, the least.
    if info < totals.repository {
        totals.repository = info;
    }
    // The repository's publish paths by status (HEAD's, for history): a
    // report given twice is counted once, like its findings.
    if let Some(counts) = report
        .pointer("/publish_readiness/counts")
        .and_then(Value::as_object)
    {
        totals.publish_readiness = counts
            .iter()
            .filter_map(|(status, n)| Some((status.clone(), n.as_u64()? as usize)))
            .filter(|(_, n)| *n > 0)
            .collect();
    }
    for f in findings {
        if f.get("suppressed").is_some() {
            totals.suppressed += 1;
            continue;
        }
        let text = |k: &str| str_of(f, k).unwrap_or_default().to_string();
        let num = |k: &str| f.get(k).and_then(Value::as_u64).unwrap_or(0);
        let location = Location {
            repository: name.clone(),
            path: text("path"),
            start_line: num("start_line"),
            start_column: num("start_column"),
            end_line: num("end_line"),
            end_column: num("end_column"),
            commit: f
                .get("provenance")
                .and_then(|p| str_of(p, "commit"))
                .map(str::to_string),
            rule_id: text("rule_id"),
            fingerprint: text("fingerprint"),
        };
        if !merged
            .seen_locations
            .insert((name.clone(), location.clone()))
        {
            continue;
        }
        let severity = text("severity");
        *totals.findings.entry(severity.clone()).or_default() += 1;
        *totals.by_rule.entry(location.rule_id.clone()).or_default() += 1;
        totals.total += 1;
        let secret_id = str_of(f, "secret_id").map(str::to_string);
        let key = match &secret_id {
            Some(id) => (false, id.clone(), String::new()),
            None => (true, name.clone(), location.fingerprint.clone()),
        };
        let entry = merged.entries.entry(key).or_insert_with(|| Entry {
            secret_id: secret_id.clone(),
            severity: severity.clone(),
            title: text("title"),
            ..Default::default()
        });
        let secret = str_of(f, "secret").map(preview);
        if entry.secret.is_none() || (secret.is_some() && secret < entry.secret) {
            entry.secret = secret;
        }
        if severity_rank(&severity) < severity_rank(&entry.severity)
            || (severity == entry.severity && text("title") < entry.title)
        {
            entry.severity = severity;
            entry.title = text("title");
        }
        entry.rule_ids.insert(location.rule_id.clone());
        entry.repositories.insert(name.clone());
        entry.locations.insert(location);
    }
    Ok(())
}

/// A report's `secret` as a redacted preview: a report written with
/// `--show-secrets` holds the full value, which the merge never repeats.
/// (A preview has an ellipsis or is `****`; no secret has either.)
fn preview(secret: &str) -> String {
    if secret.contains('…') || secret == "****" {
        secret.to_string()
    } else {
        crate::finding::redact(secret)
    }
}

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    kind: &'static str,
    tool: Tool,
    shards: &'a Shards,
    failures: &'a BTreeSet<Failure>,
    summary: Summary,
    repositories: Vec<&'a RepositoryTotals>,
    findings: Vec<&'a Entry>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    repositories: usize,
    findings: usize,
    locations: usize,
    secrets_in_several_repositories: usize,
    by_severity: BTreeMap<String, usize>,
    by_rule: BTreeMap<String, usize>,
    /// Publish paths by readiness status, summed over the repositories.
    publish_readiness: BTreeMap<String, usize>,
}

/// Publish paths by readiness status, summed over every repository.
pub(crate) fn readiness_totals(m: &Merged) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for t in m.repositories.values() {
        for (status, n) in &t.publish_readiness {
            let sum = out.entry(status.clone()).or_default();
            // Counts come from report files, which may be anything.
            *sum = usize::saturating_add(*sum, *n);
        }
    }
    out
}

/// The merged report as JSON.
pub fn to_json(m: &Merged) -> Vec<u8> {
    let entries = m.sorted_entries();
    let mut by_severity = BTreeMap::new();
    let mut by_rule = BTreeMap::new();
    for e in &entries {
        *by_severity.entry(e.severity.clone()).or_insert(0) += 1;
        for l in &e.locations {
            *by_rule.entry(l.rule_id.clone()).or_insert(0) += 1;
        }
    }
    let doc = Document {
        schema_version: crate::report::json::SCHEMA_VERSION,
        kind: MERGE_KIND,
        tool: Tool {
            name: "npmsweep",
            version: env!("CARGO_PKG_VERSION"),
        },
        shards: &m.shards,
        failures: &m.failures,
        summary: Summary {
            repositories: m.repositories.len(),
            findings: entries.len(),
            locations: entries.iter().map(|e| e.locations.len()).sum(),
            secrets_in_several_repositories: entries
                .iter()
                .filter(|e| e.secret_id.is_some() && e.repositories.len() > 1)
                .count(),
            by_severity,
            by_rule,
            publish_readiness: readiness_totals(m),
        },
        repositories: m.repositories.values().collect(),
        findings: entries,
    };
    let mut out = serde_json::to_vec_pretty(&doc).expect("the merged report serialises");
    out.push(b'\n');
    out
}

/// A commit id's first 12 characters, escaped (it comes from a report
/// file, which may be anything).
pub(crate) fn short(id: &str) -> String {
    crate::report::terminal::escape(&id.chars().take(12).collect::<String>()).into_owned()
}

/// The merged report for a person (no colour: it is written once, often to
/// a job summary).
pub fn to_human(m: &Merged) -> Vec<u8> {
    use crate::report::terminal::escape;
    let mut out = String::new();
    for e in m.sorted_entries() {
        let what = match (&e.secret, &e.secret_id) {
            (Some(s), Some(id)) => format!(" {} (secret_id {id})", escape(s)),
            (Some(s), None) => format!(" {}", escape(s)),
            _ => String::new(),
        };
        out.push_str(&format!(
            "{} {}{what}: {} location(s) in {} repositor{}\n",
            e.severity.to_uppercase(),
            escape(&e.title),
            e.locations.len(),
            e.repositories.len(),
            if e.repositories.len() == 1 {
                "y"
            } else {
                "ies"
            }
        ));
        for l in &e.locations {
            let commit = l
                .commit
                .as_deref()
                .map(|c| format!(" (commit {})", short(c)))
                .unwrap_or_default();
            out.push_str(&format!(
                "    {}  {}:{}:{}  {}{commit}\n",
                escape(&l.repository),
                escape(&l.path),
                l.start_line,
                l.start_column,
                l.rule_id
            ));
        }
    }
    out.push_str("\nRepositories:\n");
    for (name, t) in &m.repositories {
        let head = t.repository.head.as_deref().unwrap_or("(empty)");
        out.push_str(&format!(
            "    {}  {} finding(s)  {} at {}\n",
            escape(name),
            t.total,
            escape(
                t.repository
                    .default_branch
                    .as_deref()
                    .unwrap_or("(no branch)")
            ),
            short(head)
        ));
    }
    let mut by_rule: BTreeMap<&str, usize> = BTreeMap::new();
    for t in m.repositories.values() {
        for (rule, n) in &t.by_rule {
            *by_rule.entry(rule).or_default() += n;
        }
    }
    if !by_rule.is_empty() {
        out.push_str("\nBy rule:\n");
        for (rule, n) in by_rule {
            out.push_str(&format!("    {rule}  {n}\n"));
        }
    }
    let readiness = readiness_totals(m);
    if !readiness.is_empty() {
        let counts = |c: &BTreeMap<String, usize>| {
            c.iter()
                .map(|(status, n)| format!("{n} {}", escape(status)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        out.push_str(&format!(
            "\nPublish readiness (January 2027): {}\n",
            counts(&readiness)
        ));
        for (name, t) in &m.repositories {
            if !t.publish_readiness.is_empty() {
                out.push_str(&format!(
                    "    {}  {}\n",
                    escape(name),
                    counts(&t.publish_readiness)
                ));
            }
        }
    }
    if !m.shards.missing.is_empty() {
        let list: Vec<String> = m.shards.missing.iter().map(usize::to_string).collect();
        out.push_str(&format!(
            "\nMISSING shard(s) {} of {}: their repositories were not swept\n",
            list.join(", "),
            m.shards.expected.unwrap_or(0)
        ));
    }
    for f in &m.failures {
        out.push_str(&format!(
            "\nFAILED {}{}: {}\n",
            escape(&f.source),
            f.repository
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default(),
            escape(&f.error)
        ));
    }
    out.push_str(&format!(
        "\n{}{}\n",
        headline(m),
        if m.failed() {
            "; INCOMPLETE (see above)"
        } else {
            ""
        }
    ));
    out.into_bytes()
}

/// "3 finding(s) in 2 repositories; 1 secret(s) in several repositories":
/// the last line of the human and GitHub reports.
pub(crate) fn headline(m: &Merged) -> String {
    let several = m
        .entries
        .values()
        .filter(|e| e.secret_id.is_some() && e.repositories.len() > 1)
        .count();
    format!(
        "{} finding(s) in {} repositor{}; {} secret(s) in several repositories",
        m.entries.len(),
        m.repositories.len(),
        if m.repositories.len() == 1 {
            "y"
        } else {
            "ies"
        },
        several,
    )
}

/// Run `npmsweep merge`.
pub fn command(args: &crate::cli::MergeArgs) -> Result<i32, String> {
    let sarif_dir = match (args.format, &args.output, &args.sarif_dir) {
        (MergeFormat::Sarif, None, _) => {
            return Err("--format sarif writes one file per repository (code scanning takes one repository per upload): name their directory with -o DIR".into());
        }
        (MergeFormat::Sarif, Some(_), Some(_)) => {
            return Err("--format sarif writes its files into the -o directory; --sarif-dir is for SARIF next to another format".into());
        }
        (MergeFormat::Sarif, Some(dir), None) => Some(dir),
        (_, _, dir) => dir.as_ref(),
    };
    let plan_shards = args
        .plan
        .as_deref()
        .map(super::plan::shard_count_of_plan)
        .transpose()?;
    let mut inputs = Vec::new();
    let mut unreadable = Vec::new();
    for path in &args.reports {
        let name = path.display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => inputs.push((name, bytes)),
            Err(e) => unreadable.push(Failure {
                source: name,
                repository: None,
                error: format!("cannot read: {e}"),
            }),
        }
    }
    let mut merged = merge(&inputs, plan_shards);
    merged.failures.extend(unreadable);

    let sarif = sarif_dir.map(|_| super::sarif::per_repository(&merged));
    let cut_warnings = sarif.as_ref().map_or(&[][..], |s| &s.warnings[..]);
    {
        let mut err = std::io::stderr().lock();
        for w in cut_warnings {
            let _ = writeln!(err, "npmsweep: warning: {w}");
        }
    }
    let bytes = match args.format {
        MergeFormat::Json => Some(to_json(&merged)),
        MergeFormat::Human => Some(to_human(&merged)),
        MergeFormat::Jsonl => Some(to_jsonl(&merged)),
        MergeFormat::Github => Some(github_output(&merged, cut_warnings)?),
        MergeFormat::Sarif => None,
    };
    if let Some(bytes) = bytes {
        match &args.output {
            Some(path) => crate::outfile::write(path, &bytes, crate::outfile::Access::Default)?,
            None => std::io::stdout()
                .lock()
                .write_all(&bytes)
                .map_err(|e| format!("cannot write to standard output: {e}"))?,
        }
    }
    if let (Some(dir), Some(sarif)) = (sarif_dir, &sarif) {
        write_sarif_dir(dir, sarif)?;
    }
    if merged.failed() {
        // JSON Lines and SARIF carry no failures: say them here.
        let listed = !matches!(args.format, MergeFormat::Jsonl | MergeFormat::Sarif);
        if !listed {
            let mut err = std::io::stderr().lock();
            for line in failure_lines(&merged) {
                let _ = writeln!(err, "npmsweep: error: {line}");
            }
        }
        return Err(format!(
            "the merge is incomplete: {} missing shard(s), {} failure(s) ({})",
            merged.shards.missing.len(),
            merged.failures.len(),
            if listed {
                "listed in the report"
            } else {
                "listed above"
            }
        ));
    }
    Ok(if merged.entries.is_empty() {
        crate::cli::EXIT_CLEAN
    } else {
        crate::cli::EXIT_FINDINGS
    })
}

/// Each missing shard and failure as one line of text (escaped for a
/// terminal: it comes from report files).
fn failure_lines(m: &Merged) -> Vec<String> {
    use crate::report::terminal::escape;
    let mut lines: Vec<String> = m
        .shards
        .missing
        .iter()
        .map(|i| {
            format!(
                "shard {i} of {} has no report: its repositories were not swept",
                m.shards.expected.unwrap_or(0)
            )
        })
        .collect();
    lines.extend(m.failures.iter().map(|f| {
        format!(
            "{}{}: {}",
            escape(&f.source),
            f.repository
                .as_deref()
                .map(|r| format!(" ({})", escape(r)))
                .unwrap_or_default(),
            escape(&f.error)
        )
    }));
    lines
}

/// `--format github`: the annotations, a warning annotation for each SARIF
/// log that had to be cut, and the job summary (appended to
/// `$GITHUB_STEP_SUMMARY` when set, after the annotations otherwise).
fn github_output(m: &Merged, cut_warnings: &[String]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for w in cut_warnings {
        out.extend(super::github::warning("npmsweep merge: SARIF cut", w).into_bytes());
    }
    out.extend(super::github::annotations(m));
    let summary = super::github::summary_markdown(m);
    match std::env::var_os("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty()) {
        Some(path) => {
            let path = PathBuf::from(path);
            std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(&path)
                .and_then(|mut f| f.write_all(summary.as_bytes()))
                .map_err(|e| format!("cannot write the job summary to {}: {e}", path.display()))?;
            out.extend(b"npmsweep: the merged report is in the job summary\n");
        }
        None => {
            out.push(b'\n');
            out.extend(summary.into_bytes());
        }
    }
    Ok(out)
}

/// JSON Lines: one merged finding per line, each exactly an element of the
/// JSON report's `findings` (in the same order); nothing else.
pub fn to_jsonl(m: &Merged) -> Vec<u8> {
    let mut out = Vec::new();
    for e in m.sorted_entries() {
        serde_json::to_writer(&mut out, e).expect("a merged finding serialises");
        out.push(b'\n');
    }
    out
}

fn write_sarif_dir(dir: &Path, sarif: &super::sarif::SarifFiles) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("{}: cannot create the SARIF directory: {e}", dir.display()))?;
    for (file, bytes) in &sarif.files {
        let path: PathBuf = dir.join(file);
        crate::outfile::write(&path, bytes, crate::outfile::Access::Default)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(url: &str, secret: &str) -> (String, Vec<u8>) {
        let doc = serde_json::json!({
            "schema_version": crate::report::json::SCHEMA_VERSION,
            "command": "history",
            "repository": { "url": url, "path": url, "head": "0".repeat(40) },
            "findings": [{
                "rule_id": "npm-token", "title": "t", "severity": "critical",
                "path": ".npmrc", "start_line": 1, "start_column": 1, "end_line": 1, "end_column": 9,
                "secret": secret, "secret_id": "00112233aabbccdd", "fingerprint": "f".repeat(32),
            }],
        });
        (url.to_string(), serde_json::to_vec(&doc).unwrap())
    }

    #[test]
    fn publish_readiness_is_summed_per_repository() {
        let with = |url: &str, counts: serde_json::Value| {
            let (name, bytes) = report(url, "npm_Zz…abcd");
            let mut doc: Value = serde_json::from_slice(&bytes).unwrap();
            doc["publish_readiness"] = serde_json::json!({ "counts": counts });
            (name, serde_json::to_vec(&doc).unwrap())
        };
        let a = with(
            "https://example.com/a.git",
            serde_json::json!({"will-break": 2, "trusted-publishing": 0}),
        );
        let b = with(
            "https://example.com/b.git",
            serde_json::json!({"will-break": 1, "trusted-publishing": 1}),
        );
        let m = merge(&[a.clone(), b.clone()], None);
        assert_eq!(
            readiness_totals(&m),
            BTreeMap::from([
                ("trusted-publishing".to_string(), 1),
                ("will-break".to_string(), 3)
            ])
        );
        // Counts from a crafted report cannot overflow the sum.
        let huge = with(
            "https://example.com/c.git",
            serde_json::json!({"will-break": u64::MAX}),
        );
        let m2 = merge(
            &[
                huge.clone(),
                with(
                    "https://example.com/d.git",
                    serde_json::json!({"will-break": u64::MAX}),
                ),
            ],
            None,
        );
        assert_eq!(readiness_totals(&m2)["will-break"], usize::MAX);
        // A report given twice counts once.
        let twice = merge(&[a.clone(), a, b], None);
        assert_eq!(readiness_totals(&twice), readiness_totals(&m));
        let doc: Value = serde_json::from_slice(&to_json(&m)).unwrap();
        assert_eq!(doc["summary"]["publish_readiness"]["will-break"], 3);
        assert_eq!(doc["repositories"][0]["publish_readiness"]["will-break"], 2);
        let human = String::from_utf8(to_human(&m)).unwrap();
        assert!(
            human.contains("Publish readiness (January 2027): 1 trusted-publishing, 3 will-break"),
            "{human}"
        );
    }

    #[test]
    fn full_secrets_in_reports_are_redacted_by_the_merge() {
        let full = crate::token::fake_token("npm_", 7);
        let merged = merge(
            &[
                report("https://e.com/a", &full),
                report("https://e.com/b", "npm_ab…6789"),
            ],
            None,
        );
        let json = String::from_utf8(to_json(&merged)).unwrap();
        assert!(!json.contains(&full), "{json}");
        assert_eq!(merged.entries.len(), 1);
        assert_eq!(
            merged.entries.values().next().unwrap().repositories.len(),
            2
        );
        let human = String::from_utf8(to_human(&merged)).unwrap();
        assert!(!human.contains(&full));
    }

    #[test]
    fn other_schema_versions_fail() {
        let merged = merge(
            &[(
                "r.json".into(),
                br#"{"schema_version": 1, "findings": []}"#.to_vec(),
            )],
            None,
        );
        assert!(merged.failed());
        let merged = merge(&[("r.json".into(), b"not json".to_vec())], None);
        assert!(merged.failed());
    }

    #[test]
    fn hostile_reports_do_not_panic_or_drive_the_terminal() {
        let doc = serde_json::json!({
            "schema_version": crate::report::json::SCHEMA_VERSION,
            "repository": { "url": "https://e.com/\u{1b}[2Jx", "path": "p", "head": "ééééééééééééééé" },
            "findings": [{ "rule_id": "npm-token", "severity": "critical", "path": "a\u{1b}]8;;x",
                "provenance": { "commit": "ééééééééééééééé" }, "fingerprint": "f" }],
        });
        let merged = merge(&[("r".into(), serde_json::to_vec(&doc).unwrap())], None);
        let human = String::from_utf8(to_human(&merged)).unwrap();
        assert!(!human.contains('\u{1b}'), "{human}");
        let sarif = super::super::sarif::per_repository(&merged);
        assert_eq!(sarif.files.len(), 1);
    }
}
