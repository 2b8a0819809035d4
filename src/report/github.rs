//! `--format github`: GitHub Actions workflow commands, one per finding, so
//! findings show up as annotations on the pull request and the run summary
//! without code scanning.
//!
//! `::error file=F,line=L,endLine=L,col=C,endColumn=C,title=T::MESSAGE` —
//! critical and high findings are errors, medium ones warnings, low ones
//! notices. GitHub decodes `%25`, `%0D` and `%0A` in the message, and also
//! `%3A` and `%2C` in properties (where `:` and `,` are syntax), so those
//! characters are escaped; secrets are redacted unless `--show-secrets`.
//! GitHub keeps only the first few commands of each level per step as
//! annotations, so the most severe findings are printed first.

use super::{ReportOptions, findings_summary, shown_secret};
use crate::finding::{Finding, Origin, Severity};
use crate::rules::Registry;
use crate::scan::Report;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// GitHub turns at most this many commands of each level into annotations
/// per step (and 50 per job); the rest stay in the log only.
pub const ANNOTATIONS_PER_LEVEL: usize = 10;

pub fn write(report: &Report, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let registry = Registry::global();
    // Most severe first, so the annotations GitHub keeps are the ones that
    // matter; the report's own order (path, line, rule) breaks ties.
    let mut shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none() || opts.show_suppressed)
        .collect();
    shown.sort_by_key(|f| (f.suppressed.is_some(), std::cmp::Reverse(f.severity)));
    let mut per_level: BTreeMap<&str, usize> = BTreeMap::new();
    for f in shown {
        let level = if f.suppressed.is_some() {
            "notice"
        } else {
            level(f.severity)
        };
        *per_level.entry(level).or_default() += 1;
        let title = match registry.get(&f.rule_id) {
            Some(rule) => format!("npmsweep {}: {}", f.rule_id, rule.title),
            None => format!("npmsweep {}", f.rule_id),
        };
        writeln!(
            out,
            "::{level} {}::{}",
            properties(f, &title),
            escape_data(&message(f, opts))
        )?;
    }
    // A workflow the CI rules could not read: a gap in the gate.
    for w in &report.stats.warnings {
        if let Some((path, msg)) = w.split_once(": ")
            && crate::detect::workflow::not_analysed(w)
        {
            writeln!(
                out,
                "::warning file={},title=npmsweep%3A workflow not analysed::{}",
                escape_property(path),
                escape_data(msg)
            )?;
        }
    }
    if opts.quiet {
        return Ok(());
    }
    for note in &report.stats.notes {
        writeln!(out, "::notice title=npmsweep::{}", escape_data(note))?;
    }
    if per_level.values().any(|n| *n > ANNOTATIONS_PER_LEVEL) {
        writeln!(
            out,
            "npmsweep: GitHub shows at most {ANNOTATIONS_PER_LEVEL} annotations of each level per step; every finding is listed above in this log (use --format sarif and code scanning for large backlogs)"
        )?;
    }
    writeln!(
        out,
        "npmsweep: {}; {} item(s) scanned, {} skipped",
        findings_summary(&report.findings, |_, t| t.to_string()),
        report.stats.items,
        report.stats.skipped
    )
}

/// The publish-readiness summary as a job-summary Markdown block: appended
/// to `summary_file` (GitHub's `$GITHUB_STEP_SUMMARY`) when given, with a
/// line in the log saying so; printed to `out` otherwise. Nothing when the
/// scan found no publish path.
pub fn write_step_summary(
    report: &Report,
    summary_file: Option<&std::path::Path>,
    out: &mut dyn Write,
) -> io::Result<()> {
    if report.readiness.is_empty() {
        return Ok(());
    }
    let block = super::readiness::markdown(&report.readiness);
    match summary_file {
        Some(path) => {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .create(true)
                .open(path)?;
            f.write_all(format!("{block}\n").as_bytes())?;
            writeln!(
                out,
                "npmsweep: publish readiness ({}) written to the job summary",
                report.readiness.headline()
            )
        }
        None => {
            writeln!(out)?;
            out.write_all(block.as_bytes())
        }
    }
}

/// The workflow-command level of a severity.
pub fn level(s: Severity) -> &'static str {
    match s {
        Severity::Critical | Severity::High => "error",
        Severity::Medium => "warning",
        Severity::Low => "notice",
    }
}

fn message(f: &Finding, opts: &ReportOptions) -> String {
    let mut m = format!("[{}] {}", f.severity, f.message);
    if f.details.contains_key("archive_member") {
        m.push_str(&format!(
            " (archive member {}, line {})",
            f.path, f.span.start_line
        ));
    }
    if let Some(s) = shown_secret(f, opts) {
        m.push_str(&format!(" ({s})"));
    }
    if redacted_path(f) && has_current_location(f) {
        m.push_str(&format!(
            " — in {} (path redacted: it names a credential), line {}",
            f.path, f.span.start_line
        ));
    }
    if !has_current_location(f) {
        // Where it was, for the reader of the summary.
        m.push_str(&format!(
            " — in git history only, not in the current files: {} line {}",
            f.path, f.span.start_line
        ));
        if let Origin::Blob { blob_id } = &f.origin {
            m.push_str(&format!(" of blob {}", &blob_id[..blob_id.len().min(12)]));
        }
        if let Some(p) = &f.provenance {
            m.push_str(&format!(
                ", introduced in commit {}",
                &p.commit[..p.commit.len().min(12)]
            ));
            if p.introduced_only_in_pull_request {
                m.push_str(" (reachable only from pull-request refs)");
            }
        }
    }
    if let Some(reason) = &f.suppressed {
        m.push_str(&format!(" — suppressed: {reason}"));
    }
    if let Some(v) = &f.verification {
        m.push_str(&format!(" — verified: {}", v.summary()));
    }
    m.push_str(&format!(". How to fix: npmsweep explain {}", f.rule_id));
    m
}

/// Whether an annotation may carry the finding's file and line: GitHub
/// draws them on today's file, so a history finding qualifies only when its
/// location is HEAD's (an old blob's line would point at unrelated code).
/// The others are annotations without a file, listed in the run summary.
fn has_current_location(f: &Finding) -> bool {
    match (&f.origin, &f.provenance) {
        (Origin::Blob { .. }, Some(p)) => p.at_head,
        (Origin::Blob { .. }, None) => false,
        _ => true,
    }
}

/// A path with a redacted name (a file named after a token) names no file
/// GitHub has: its annotation carries no file, and the message the path.
fn redacted_path(f: &Finding) -> bool {
    // Inside an archive the annotation is the archive's.
    let located = f
        .details
        .get("archive")
        .map_or(f.path.as_str(), |a| a.as_str());
    crate::redact::unredacted_dir(located).is_some()
}

fn properties(f: &Finding, title: &str) -> String {
    if !has_current_location(f) || redacted_path(f) {
        return format!("title={}", escape_property(title));
    }
    let s = &f.span;
    // Inside an archive: annotate the archive file, whose lines are not the
    // member's (the message names the member's path and line).
    if let Some(archive) = f.details.get("archive") {
        return format!(
            "file={},line=1,title={}",
            escape_property(archive),
            escape_property(title)
        );
    }
    let mut p = format!(
        "file={},line={},endLine={}",
        escape_property(&f.path),
        s.start_line,
        s.end_line
    );
    // GitHub only honours columns on single-line annotations.
    if s.start_line == s.end_line {
        p.push_str(&format!(
            ",col={},endColumn={}",
            s.start_column, s.end_column
        ));
    }
    p.push_str(&format!(",title={}", escape_property(title)));
    p
}

/// Escape a workflow command's message.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            // Other control characters (ESC from a crafted file name) are
            // written as visible %XX so they cannot drive the log's terminal.
            c if c.is_control() => out.push_str(&format!("%{:02X}", c as u32)),
            // Bidi overrides would reorder what the log shows.
            c if super::terminal::is_unsafe(c) => out.extend(c.escape_default()),
            c => out.push(c),
        }
    }
    out
}

/// Escape a workflow command property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_follows_the_workflow_command_rules() {
        assert_eq!(escape_data("100% a\r\nb: c, d"), "100%25 a%0D%0Ab: c, d");
        assert_eq!(escape_property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(escape_data("x\u{1b}[31my"), "x%1B[31my");
    }

    #[test]
    fn levels() {
        assert_eq!(level(Severity::Critical), "error");
        assert_eq!(level(Severity::High), "error");
        assert_eq!(level(Severity::Medium), "warning");
        assert_eq!(level(Severity::Low), "notice");
    }
}
