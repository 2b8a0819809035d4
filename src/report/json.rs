//! `--format json`: one stable document. Bump [`SCHEMA_VERSION`] on any
//! incompatible change; the README documents every field.

use super::{ReportOptions, counts, shown_secret};
use crate::finding::{Finding, Origin, Provenance};
use crate::rules::Registry;
use crate::scan::Report;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{self, Write};

pub const SCHEMA_VERSION: u32 = 2;

#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    tool: Tool,
    command: &'a str,
    /// The git repository (URL without credentials, default branch, HEAD).
    #[serde(skip_serializing_if = "Option::is_none")]
    repository: Option<&'a crate::source::repository::RepositoryInfo>,
    summary: Summary,
    /// Publish paths and npm's token policy (see `crate::readiness`).
    publish_readiness: serde_json::Value,
    findings: Vec<JsonFinding<'a>>,
    warnings: &'a [String],
    notes: &'a [String],
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Summary {
    items_scanned: u64,
    bytes_scanned: u64,
    skipped: u64,
    findings: BTreeMap<&'static str, usize>,
    total: usize,
    suppressed: usize,
}

#[derive(Serialize)]
pub(super) struct JsonFinding<'a> {
    rule_id: &'a str,
    title: &'a str,
    severity: &'static str,
    confidence: &'static str,
    path: &'a str,
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    message: &'a str,
    /// Redacted preview, or the full secret with `--show-secrets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_id: Option<String>,
    fingerprint: &'a str,
    origin: &'a Origin,
    details: &'a BTreeMap<String, crate::finding::InputText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    suppressed: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'a Provenance>,
    /// `--verify` only: what the credential's registry said.
    #[serde(skip_serializing_if = "Option::is_none")]
    verification: Option<&'a crate::verify::Verification>,
    docs: String,
}

pub fn write(report: &Report, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let active: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none() || opts.show_suppressed)
        .collect();
    let findings = active.iter().map(|f| json_finding(f, opts)).collect();
    let by_severity = counts(&report.findings);
    let doc = Document {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "npmsweep",
            version: env!("CARGO_PKG_VERSION"),
        },
        command: &report.command,
        repository: report.repository.as_ref(),
        summary: Summary {
            items_scanned: report.stats.items,
            bytes_scanned: report.stats.bytes,
            skipped: report.stats.skipped,
            total: by_severity.iter().map(|(_, n)| n).sum(),
            findings: by_severity.iter().map(|(s, n)| (s.as_str(), *n)).collect(),
            suppressed: report
                .findings
                .iter()
                .filter(|f| f.suppressed.is_some())
                .count(),
        },
        publish_readiness: report.readiness.to_json(),
        findings,
        warnings: &report.stats.warnings,
        notes: &report.stats.notes,
    };
    serde_json::to_writer_pretty(&mut *out, &doc)?;
    writeln!(out)
}

/// One finding as it appears in `findings[]` (and, one per line, in
/// `--format jsonl`).
pub(super) fn json_finding<'a>(f: &'a Finding, opts: &ReportOptions) -> JsonFinding<'a> {
    let rule = Registry::global().get(&f.rule_id);
    JsonFinding {
        rule_id: &f.rule_id,
        title: rule.map(|r| r.title.as_str()).unwrap_or(""),
        severity: f.severity.as_str(),
        confidence: f.confidence.as_str(),
        path: &f.path,
        start_line: f.span.start_line,
        start_column: f.span.start_column,
        end_line: f.span.end_line,
        end_column: f.span.end_column,
        message: f.message.as_str(),
        secret: shown_secret(f, opts),
        secret_id: f.public_secret_id(),
        fingerprint: &f.fingerprint,
        origin: &f.origin,
        details: &f.details,
        suppressed: f.suppressed.as_deref(),
        provenance: f.provenance.as_ref(),
        verification: f.verification.as_ref(),
        docs: rule.map(|r| r.docs_url()).unwrap_or_default(),
    }
}
