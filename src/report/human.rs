//! `--format human`: findings grouped by file, coloured by severity on a
//! terminal, the remediation of each rule once, and a summary line.

use super::terminal::Terminal;
use super::{ReportOptions, findings_summary, shown_secret};
use crate::finding::{Finding, Severity};
use crate::rules::Registry;
use crate::scan::Report;
use crate::term_line;
use anstyle::{AnsiColor, Style};
use std::collections::BTreeSet;
use std::io::{self, Write};

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => Style::new()
            .bold()
            .fg_color(Some(AnsiColor::BrightRed.into())),
        Severity::High => Style::new().fg_color(Some(AnsiColor::Red.into())),
        Severity::Medium => Style::new().fg_color(Some(AnsiColor::Yellow.into())),
        Severity::Low => Style::new().fg_color(Some(AnsiColor::Cyan.into())),
    }
}

/// Render the report, then write it through [`Terminal::finish`]: the one
/// place where input-derived text is escaped for the terminal.
pub fn write(report: &Report, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let terminal = Terminal::new(opts.color);
    let mut rendered = Vec::new();
    render(report, opts, &terminal, &mut rendered)?;
    terminal.finish(&rendered, out)
}

fn render(
    report: &Report,
    opts: &ReportOptions,
    terminal: &Terminal,
    out: &mut dyn Write,
) -> io::Result<()> {
    let registry = Registry::global();
    let paint = |style: Style, text: &str| -> String { terminal.paint(style, text) };
    let bold = Style::new().bold();
    let dim = Style::new().dimmed();
    let shown: Vec<&Finding> = report
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none() || opts.show_suppressed)
        .collect();
    let shown = by_file(shown);

    // `line:column` padded to one width, so severities and rules line up.
    let location = |f: &Finding| format!("{}:{}", f.span.start_line, f.span.start_column);
    let location_width = shown.iter().map(|f| location(f).len()).max().unwrap_or(0);
    let rule_width = shown.iter().map(|f| f.rule_id.len()).max().unwrap_or(0);
    let is_live = |f: &Finding| {
        f.verification
            .as_ref()
            .is_some_and(|v| v.status == crate::verify::Status::Live)
    };
    // With one LIVE marker shown, the other lines leave its room empty so
    // rules stay in one column.
    let live_width = if shown.iter().any(|f| is_live(f)) {
        5
    } else {
        0
    };
    let mut current_path: Option<&str> = None;
    for f in &shown {
        if current_path != Some(f.path.as_str()) {
            if current_path.is_some() {
                term_line!(terminal, out)?;
            }
            term_line!(terminal, out, "{}", paint(bold, &f.path))?;
            current_path = Some(&f.path);
        }
        let sev = paint(
            severity_style(f.severity),
            &format!("{:<8}", f.severity.as_str()),
        );
        let secret = shown_secret(f, opts)
            .map(|s| format!(" [{s}]"))
            .unwrap_or_default();
        let suppressed = f
            .suppressed
            .as_ref()
            .map(|r| format!(" (suppressed: {r})"))
            .unwrap_or_default();
        // Facts that help find the credential's owner: safe to print.
        let facts: Vec<String> = ["username"]
            .iter()
            .filter_map(|k| f.details.get(*k).map(|v| format!("{k} {v}")))
            .collect();
        let facts = if facts.is_empty() {
            String::new()
        } else {
            format!(" ({})", facts.join(", "))
        };
        // `--verify`: live credentials are marked on the line itself.
        let live = if is_live(f) {
            format!("{} ", paint(severity_style(Severity::Critical), "LIVE"))
        } else {
            " ".repeat(live_width)
        };
        term_line!(
            terminal,
            out,
            "  {:<location_width$} {sev} {live}{} {}{facts}{secret}{suppressed}",
            location(f),
            paint(bold, &format!("{:<rule_width$}", f.rule_id)),
            f.message,
        )?;
        if let Some(v) = &f.verification {
            let at = v
                .registry
                .as_deref()
                .map(|r| format!(" at {r}"))
                .unwrap_or_default();
            term_line!(
                terminal,
                out,
                "      {}",
                paint(dim, &format!("verified{at}: {}", v.summary()))
            )?;
        }
        if let Some(p) = &f.provenance {
            let short = &p.commit[..p.commit.len().min(12)];
            term_line!(
                terminal,
                out,
                "      {}",
                paint(
                    dim,
                    &format!(
                        "introduced in {short} on {} by {} (\"{}\"){}; in {} commit(s); in HEAD: {}; reachable from: {}",
                        p.date,
                        p.author,
                        p.summary,
                        if p.introduced_only_in_pull_request {
                            ", reachable only from pull-request refs"
                        } else {
                            ""
                        },
                        p.commits,
                        if p.in_head { "yes" } else { "no" },
                        refs_summary(p)
                    )
                )
            )?;
            term_line!(terminal, out, "      {}", paint(dim, &location_note(f, p)))?;
        }
    }

    if opts.quiet {
        return Ok(());
    }

    let rules: BTreeSet<&str> = shown
        .iter()
        .filter(|f| f.suppressed.is_none())
        .map(|f| f.rule_id.as_str())
        .collect();
    if !rules.is_empty() {
        term_line!(terminal, out)?;
        term_line!(terminal, out, "{}", paint(bold, "How to fix"))?;
        for id in rules {
            if let Some(rule) = registry.get(id) {
                term_line!(terminal, out)?;
                term_line!(terminal, out, "{} — {}", paint(bold, &rule.id), rule.title)?;
                for line in rule.remediation_text().lines() {
                    term_line!(terminal, out, "  {line}")?;
                }
                term_line!(
                    terminal,
                    out,
                    "  {}",
                    paint(dim, &format!("More: npmsweep explain {}", rule.id))
                )?;
            }
        }
    }

    if report.command == "history" {
        crate::history::report::write(report, opts, terminal, out)?;
    }
    if !opts.quiet {
        super::readiness::human(&report.readiness, out, terminal, &|t| paint(bold, t))?;
    }

    if !shown.is_empty() {
        term_line!(terminal, out)?;
    }
    let what = match (report.command == "history", report.stats.items == 1) {
        (true, true) => "blob",
        (true, false) => "blobs",
        (false, true) => "file",
        (false, false) => "files",
    };
    term_line!(
        terminal,
        out,
        "{}; {} {what} scanned ({}), {} skipped, {} warning(s), in {:.2}s",
        findings_summary(&report.findings, |s, t| paint(severity_style(s), t)),
        report.stats.items,
        human_bytes(report.stats.bytes),
        report.stats.skipped,
        report.stats.warnings.len(),
        report.elapsed.as_secs_f64()
    )?;
    for note in &report.stats.notes {
        term_line!(terminal, out, "note: {note}")?;
    }
    Ok(())
}

/// Findings with each file's together, so that a file gets one header.
/// Files come in the order of their first finding and findings keep their
/// order within a file: the report order puts live credentials first
/// (`--verify`), which interleaves files.
fn by_file(findings: Vec<&Finding>) -> Vec<&Finding> {
    let mut groups: Vec<Vec<&Finding>> = Vec::new();
    let mut index = std::collections::HashMap::new();
    for f in findings {
        let i = *index.entry(f.path.as_str()).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[i].push(f);
    }
    groups.into_iter().flatten().collect()
}

pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Which version of the file the line and column belong to, and where
/// other versions held the secret.
fn location_note(f: &crate::finding::Finding, p: &crate::finding::Provenance) -> String {
    let blob = match &f.origin {
        crate::finding::Origin::Blob { blob_id } => &blob_id[..blob_id.len().min(12)],
        _ => "",
    };
    let mut note = if p.at_head {
        format!("location: HEAD's {}", f.path)
    } else {
        format!(
            "location: blob {blob}, a version of {} that HEAD no longer has",
            f.path
        )
    };
    if !p.earlier_locations.is_empty() {
        let earlier: Vec<String> = p
            .earlier_locations
            .iter()
            .map(|l| {
                format!(
                    "{}:{} in {}",
                    l.start_line,
                    l.start_column,
                    &l.commit[..l.commit.len().min(12)]
                )
            })
            .collect();
        note.push_str(&format!("; other versions: {}", earlier.join(", ")));
    }
    note
}

/// At most a few refs: branches and tags by name, pull-request and bot refs
/// by count.
pub fn refs_summary(p: &crate::finding::Provenance) -> String {
    crate::history::refs::describe(&p.refs, p.more_refs, p.pull_request_refs, p.bot_refs, 6)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Origin;

    /// The human report of a `scan` with these findings, quiet, colourless.
    fn render_scan(findings: Vec<Finding>) -> String {
        let report = Report {
            command: "scan".into(),
            findings,
            ..Report::default()
        };
        let opts = ReportOptions {
            show_secrets: false,
            color: false,
            show_suppressed: false,
            quiet: true,
            sarif_category: None,
        };
        let mut out = Vec::new();
        write(&report, &opts, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// `--verify` sorts live credentials first, across files: a file with a
    /// live and a dead credential, and another file in between, still gets
    /// one header, with its live finding first.
    #[test]
    fn a_file_is_shown_once_when_live_findings_sort_first() {
        let token = |seed| crate::token::fake_token("npm_", seed);
        let detect = |path: &str, content: &str| {
            let item = crate::detect::Item {
                path,
                bytes: content.as_bytes(),
                origin: Origin::Worktree,
                tree: None,
            };
            crate::scan::detect_item(&item, &Default::default()).findings
        };
        let mut findings = detect("a.env", &format!("a={}\n", token(51)));
        findings.extend(detect(
            "b.env",
            &format!("b={}\nc={}\n", token(52), token(53)),
        ));
        assert_eq!(findings.len(), 3);
        let mut live = crate::verify::Verification::unknown(None, "");
        live.status = crate::verify::Status::Live;
        // The second credential of b.env is the live one.
        let at = findings
            .iter()
            .position(|f| f.path == "b.env" && f.span.start_line == 2)
            .unwrap();
        findings[at].verification = Some(live);
        crate::finding::sort_findings(&mut findings);
        // The report order interleaves the files: b.env, a.env, b.env.
        let order: Vec<&str> = findings.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(order, ["b.env", "a.env", "b.env"]);
        let text = render_scan(findings);
        let headers: Vec<&str> = text.lines().filter(|l| l.ends_with(".env")).collect();
        assert_eq!(headers, ["b.env", "a.env"], "{text}");
        // Within b.env the live credential (line 2) comes first.
        let b = &text[text.find("b.env").unwrap()..text.find("a.env").unwrap()];
        let lines: Vec<&str> = b
            .lines()
            .filter(|l| l.starts_with("  ") && !l.starts_with("    "))
            .collect();
        assert!(lines[0].trim_start().starts_with("2:"), "{text}");
        assert!(lines[0].contains("LIVE"), "{text}");
        assert!(lines[1].trim_start().starts_with("1:"), "{text}");
    }

    /// `--verify`: the LIVE marker does not push its line's rule out of the
    /// column the other lines use.
    #[test]
    fn live_marker_keeps_rules_in_one_column() {
        let token = |seed| crate::token::fake_token("npm_", seed);
        let content = format!("a={}\nb={}\n", token(41), token(42));
        let item = crate::detect::Item {
            path: "x.txt",
            bytes: content.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        let mut findings = crate::scan::detect_item(&item, &Default::default()).findings;
        assert_eq!(findings.len(), 2);
        let mut live = crate::verify::Verification::unknown(None, "");
        live.status = crate::verify::Status::Live;
        live.user = Some("alice".into());
        findings[0].verification = Some(live);
        findings[1].verification = Some(crate::verify::Verification::unknown(None, "offline"));
        let text = render_scan(findings);
        let columns: Vec<usize> = text
            .lines()
            .filter(|l| l.starts_with("  ") && l.contains("npm-token"))
            .map(|l| l.find("npm-token").unwrap())
            .collect();
        assert_eq!(columns.len(), 2, "{text}");
        assert_eq!(columns[0], columns[1], "{text}");
    }
}
