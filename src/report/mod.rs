//! Reporters: each output format is one module that turns a [`Report`] into
//! bytes. They share [`ReportOptions`] and never decide what is a finding.

pub mod github;
pub mod human;
pub mod json;
pub mod jsonl;
pub mod readiness;
pub mod sarif;
pub mod terminal;

use crate::finding::{Finding, Severity};
use crate::scan::Report;
use std::io::{self, Write};

/// Output formats (see `--format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Findings grouped by file, with remediation (the default).
    Human,
    /// One JSON document (schema in the README).
    Json,
    /// JSON Lines: one finding per line (the JSON report's `findings[]`).
    Jsonl,
    /// GitHub Actions workflow commands (`::error file=…::…`): annotations,
    /// plus the publish-readiness summary for `$GITHUB_STEP_SUMMARY`.
    Github,
    /// One SARIF 2.1.0 log for GitHub code scanning (`upload-sarif`).
    Sarif,
}

#[derive(Clone, Debug)]
pub struct ReportOptions {
    /// Print secrets in full (`--show-secrets`); redacted otherwise.
    pub show_secrets: bool,
    /// Colour the human report.
    pub color: bool,
    /// List suppressed findings (`--show-suppressed`).
    pub show_suppressed: bool,
    /// Print only findings: no summary, no remediation.
    pub quiet: bool,
    /// SARIF `runAutomationDetails.id` category (`--sarif-category`);
    /// `None` picks `npmsweep/<command>/`.
    pub sarif_category: Option<String>,
}

pub fn write(
    format: Format,
    report: &Report,
    opts: &ReportOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Human => human::write(report, opts, out),
        Format::Json => json::write(report, opts, out),
        Format::Jsonl => jsonl::write(report, opts, out),
        Format::Github => github::write(report, opts, out),
        Format::Sarif => sarif::write(report, opts, out),
    }
}

/// The value to display for a finding's secret: full only when asked.
pub fn shown_secret(f: &Finding, opts: &ReportOptions) -> Option<String> {
    if opts.show_secrets {
        f.secret.as_ref().map(|s| s.expose().to_string())
    } else {
        f.preview.clone()
    }
}

/// Active (not suppressed) findings counted by severity, highest first.
pub fn counts(findings: &[Finding]) -> Vec<(Severity, usize)> {
    Severity::ALL
        .iter()
        .map(|s| {
            (
                *s,
                findings
                    .iter()
                    .filter(|f| f.suppressed.is_none() && f.severity == *s)
                    .count(),
            )
        })
        .collect()
}

/// "3 finding(s) (1 critical, 2 high), 1 suppressed": the head of every
/// report's summary line. `paint` styles each severity count.
pub fn findings_summary(findings: &[Finding], paint: impl Fn(Severity, &str) -> String) -> String {
    let by_sev = counts(findings);
    let total: usize = by_sev.iter().map(|(_, n)| n).sum();
    let parts: Vec<String> = by_sev
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(s, n)| paint(*s, &format!("{n} {s}")))
        .collect();
    let mut text = format!("{total} finding(s)");
    if !parts.is_empty() {
        text.push_str(&format!(" ({})", parts.join(", ")));
    }
    let suppressed = findings.iter().filter(|f| f.suppressed.is_some()).count();
    if suppressed > 0 {
        text.push_str(&format!(", {suppressed} suppressed"));
    }
    text
}
