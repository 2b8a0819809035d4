//! Baselines: accept today's findings, fail only on new ones.
//!
//! `npmsweep baseline --output FILE` records the fingerprint of every active
//! finding (rule + path + hash of the secret, so moving lines does not change
//! it). `--baseline FILE` then drops findings whose fingerprint is recorded
//! and lists recorded entries that matched nothing, so the file can be
//! pruned. A baseline never holds a secret, a preview or a secret hash: only
//! the rule, the path, the line it was on, the fingerprint and a free-form
//! note for humans.

use crate::cli::ScanArgs;
use crate::finding::Finding;
use crate::report::Format;
use crate::scan::Report;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bumped on an incompatible change of the file format.
pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// Always [`FORMAT_VERSION`]; identifies the file as a baseline.
    pub npmsweep_baseline: u32,
    pub entries: Vec<Entry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub path: String,
    /// Where the finding was when the baseline was written (informational:
    /// matching uses the fingerprint only).
    pub line: usize,
    pub rule_id: String,
    pub fingerprint: String,
    /// Why the finding is accepted; kept when the baseline is rewritten.
    #[serde(default)]
    pub note: String,
}

impl BaselineFile {
    /// A baseline of the active findings of `report`, keeping the notes of
    /// entries already in `previous` (same fingerprint).
    pub fn from_findings(findings: &[Finding], previous: Option<&BaselineFile>) -> BaselineFile {
        let notes: BTreeMap<&str, &str> = previous
            .map(|p| {
                p.entries
                    .iter()
                    .map(|e| (e.fingerprint.as_str(), e.note.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        let mut entries: Vec<Entry> = findings
            .iter()
            .filter(|f| f.suppressed.is_none())
            .filter(|f| seen.insert(f.fingerprint.clone()))
            .map(|f| Entry {
                path: f.path.clone(),
                line: f.span.start_line,
                rule_id: f.rule_id.clone(),
                fingerprint: f.fingerprint.clone(),
                note: notes
                    .get(f.fingerprint.as_str())
                    .map(|n| n.to_string())
                    .unwrap_or_default(),
            })
            .collect();
        entries.sort();
        BaselineFile {
            npmsweep_baseline: FORMAT_VERSION,
            entries,
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("baseline serializes");
        s.push('\n');
        s
    }

    pub fn load(path: &Path) -> Result<BaselineFile, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read baseline: {e}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<BaselineFile, String> {
        let file: BaselineFile = serde_json::from_str(text).map_err(|e| {
            format!(
                "{}:{}:{}: not a valid npmsweep baseline: {e}",
                path.display(),
                e.line(),
                e.column()
            )
        })?;
        if file.npmsweep_baseline != FORMAT_VERSION {
            return Err(format!(
                "{}: baseline format {} is not supported (this npmsweep writes format {FORMAT_VERSION})",
                path.display(),
                file.npmsweep_baseline
            ));
        }
        Ok(file)
    }
}

/// What applying a baseline did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings dropped because the baseline records them.
    pub matched: usize,
    /// Entries that matched no finding.
    pub stale: Vec<Entry>,
}

/// Drop the findings recorded in `baseline`; suppressed findings are left as
/// they are (they are already silenced and do not need a baseline entry).
pub fn apply(baseline: &BaselineFile, findings: &mut Vec<Finding>) -> Applied {
    let recorded: BTreeSet<&str> = baseline
        .entries
        .iter()
        .map(|e| e.fingerprint.as_str())
        .collect();
    let mut used = BTreeSet::new();
    let before = findings.len();
    findings.retain(|f| {
        if recorded.contains(f.fingerprint.as_str()) {
            used.insert(f.fingerprint.clone());
            f.suppressed.is_some()
        } else {
            true
        }
    });
    let matched = before - findings.len();
    let stale = baseline
        .entries
        .iter()
        .filter(|e| !used.contains(&e.fingerprint))
        .cloned()
        .collect();
    Applied { matched, stale }
}

/// Apply `baseline` to a report and describe the outcome in its notes (which
/// the human, JSON, SARIF and GitHub reports all carry). Unmatched entries
/// are listed as stale only when the scan was `complete`.
pub fn apply_to_report(path: &Path, baseline: &BaselineFile, report: &mut Report, complete: bool) {
    let applied = apply(baseline, &mut report.findings);
    let shown = path.display();
    if applied.matched > 0 {
        report.stats.notes.push(format!(
            "baseline {shown}: {} known finding(s) not reported",
            applied.matched
        ));
    }
    if !complete {
        return;
    }
    for e in &applied.stale {
        report.stats.notes.push(format!(
            "baseline {shown}: stale entry {} ({} in {}, was line {}) matches no finding; remove it",
            e.fingerprint, e.rule_id, e.path, e.line
        ));
    }
}

/// `npmsweep baseline`: scan as `scan` would and write the baseline to
/// `--output`. Exit 0: writing a baseline accepts the findings.
pub fn run(args: &mut ScanArgs) -> Result<i32, String> {
    let Some(out) = args.output.output.clone() else {
        return Err("baseline: --output FILE is required (where to write the baseline)".into());
    };
    if args.filter.baseline.is_some() {
        return Err(
            "baseline: --baseline is for `scan` and `history`; to update a baseline, write it again with --output (notes are kept)"
                .into(),
        );
    }
    if args.output.format != Format::Human {
        return Err("baseline: the file is always baseline JSON; --format does not apply".into());
    }
    // Never clobber a file that is not a baseline (a typo in --output).
    let previous = if out.exists() {
        Some(BaselineFile::load(&out).map_err(|e| {
            format!(
                "{e}\nbaseline: refusing to overwrite {} (not an npmsweep baseline)",
                out.display()
            )
        })?)
    } else {
        None
    };
    let report = crate::cli::scan_report(args)?;
    let file = BaselineFile::from_findings(&report.findings, previous.as_ref());
    std::fs::write(&out, file.to_json())
        .map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    if !args.output.quiet {
        for w in &report.stats.warnings {
            eprintln!("npmsweep: warning: {w}");
        }
        eprintln!(
            "npmsweep: wrote {} baseline entr{} to {} ({} item(s) scanned)",
            file.entries.len(),
            if file.entries.len() == 1 { "y" } else { "ies" },
            out.display(),
            report.stats.items
        );
    }
    Ok(crate::cli::EXIT_CLEAN)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Confidence, Origin, Severity, Span};

    fn finding(path: &str, fp: &str, line: usize) -> Finding {
        Finding {
            rule_id: "npm-token".into(),
            severity: Severity::Critical,
            confidence: Confidence::High,
            path: path.into(),
            span: Span {
                start_line: line,
                start_column: 1,
                end_line: line,
                end_column: 5,
            },
            message: "m".into(),
            preview: None,
            secret: None,
            fingerprint: fp.into(),
            origin: Origin::Worktree,
            details: BTreeMap::new(),
            suppressed: None,
            provenance: None,
            verification: None,
        }
    }

    #[test]
    fn round_trip_keeps_notes_and_drops_duplicates() {
        let fs = vec![
            finding("a", "f1", 1),
            finding("a", "f1", 9),
            finding("b", "f2", 2),
        ];
        let mut old = BaselineFile::from_findings(&fs, None);
        assert_eq!(old.entries.len(), 2);
        old.entries[0].note = "rotated 2025-01".into();
        let new = BaselineFile::from_findings(&fs, Some(&old));
        assert_eq!(new.entries[0].note, "rotated 2025-01");
        let parsed = BaselineFile::parse(Path::new("b.json"), &new.to_json()).unwrap();
        assert_eq!(parsed, new);
    }

    #[test]
    fn apply_drops_known_and_lists_stale() {
        let base =
            BaselineFile::from_findings(&[finding("a", "f1", 1), finding("b", "gone", 2)], None);
        let mut now = vec![finding("a", "f1", 40), finding("c", "new", 1)];
        let applied = apply(&base, &mut now);
        assert_eq!(applied.matched, 1);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].fingerprint, "new");
        assert_eq!(applied.stale.len(), 1);
        assert_eq!(applied.stale[0].fingerprint, "gone");
    }

    #[test]
    fn bad_files_are_positioned_errors() {
        let e = BaselineFile::parse(Path::new("b.json"), "{\n  \"entries\": 3\n}").unwrap_err();
        assert!(e.starts_with("b.json:2:"), "{e}");
        let e = BaselineFile::parse(
            Path::new("b.json"),
            "{\"npmsweep_baseline\": 9, \"entries\": []}",
        )
        .unwrap_err();
        assert!(e.contains("format 9"), "{e}");
    }
}
