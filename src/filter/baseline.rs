//! Baselines: accept today's findings, fail only on new ones.
//!
//! `npmsweep baseline --output FILE` records the fingerprint of every active
//! finding (rule + path + hash of the secret, so moving lines does not change
//! it). `--baseline FILE` then drops findings whose fingerprint is recorded
//! and lists recorded entries that matched nothing, so the file can be
//! pruned. A baseline never holds a secret, a preview or a secret hash: only
//! the rule, the path, the line it was on, a keyed fingerprint and a
//! free-form note for humans.
//!
//! Format 2 salts: the file holds a random 256-bit `salt`, made when the
//! baseline is first written and kept on every rewrite (so entries are
//! stable), and each entry is HMAC-SHA256(salt, finding fingerprint). The
//! same secret gives unrelated entries in two repositories' baselines, and
//! no precomputed table applies. (Fingerprints of guessable values such as
//! passwords do not depend on the value at all: see
//! `Secret::is_guessable`.) Format 1 files (unsalted) are still read and
//! matched, and rewritten salted by the next `npmsweep baseline`.

use crate::cli::ScanArgs;
use crate::finding::Finding;
use crate::report::Format;
use crate::scan::Report;
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Bumped on an incompatible change of the file format.
pub const FORMAT_VERSION: u32 = 2;
/// Unsalted fingerprints; read and matched, never written.
pub const LEGACY_FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct BaselineFile {
    /// [`FORMAT_VERSION`] (or [`LEGACY_FORMAT_VERSION`] when read from an
    /// old file); identifies the file as a baseline.
    pub npmsweep_baseline: u32,
    /// 64 hex digits of randomness keying every entry's fingerprint;
    /// absent in format 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
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

/// A fresh random salt, 64 hex digits.
fn new_salt() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("cannot get random bytes for a salt: {e}"))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl BaselineFile {
    /// A baseline of the active findings of `report`, keeping the salt and
    /// the notes of `previous` (a format-1 `previous` is migrated: its
    /// entries are matched unsalted, the new file is salted).
    pub fn from_findings(
        findings: &[Finding],
        previous: Option<&BaselineFile>,
    ) -> Result<BaselineFile, String> {
        let salt = match previous.and_then(|p| p.salt.clone()) {
            Some(salt) => salt,
            None => new_salt()?,
        };
        let mut file = BaselineFile {
            npmsweep_baseline: FORMAT_VERSION,
            salt: Some(salt),
            entries: Vec::new(),
        };
        let notes: BTreeMap<&str, &str> = previous
            .map(|p| {
                p.entries
                    .iter()
                    .map(|e| (e.fingerprint.as_str(), e.note.as_str()))
                    .collect()
            })
            .unwrap_or_default();
        let mut seen = BTreeSet::new();
        let mut entries: Vec<Entry> = Vec::new();
        for f in findings.iter().filter(|f| f.suppressed.is_none()) {
            let key = file.key_of(&f.fingerprint);
            if !seen.insert(key.clone()) {
                continue;
            }
            let note = previous
                .and_then(|p| p.keys_of(f).into_iter().find_map(|k| notes.get(k.as_str())))
                .map(|n| n.to_string())
                .unwrap_or_default();
            entries.push(Entry {
                // Only shown to people (matching is by fingerprint), and a
                // baseline is committed: a token-named file stays redacted.
                path: crate::redact::path(&f.path).into_owned(),
                line: f.span.start_line,
                rule_id: f.rule_id.clone(),
                fingerprint: key,
                note,
            });
        }
        entries.sort();
        file.entries = entries;
        Ok(file)
    }

    /// What this file records for a finding fingerprint: keyed with the
    /// salt, or as it is in a format-1 file.
    fn key_of(&self, fingerprint: &str) -> String {
        match &self.salt {
            Some(salt) => {
                let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(salt.as_bytes())
                    .expect("HMAC takes keys of any length");
                mac.update(fingerprint.as_bytes());
                let tag = mac.finalize().into_bytes();
                tag[..16].iter().map(|b| format!("{b:02x}")).collect()
            }
            None => fingerprint.to_string(),
        }
    }

    /// Every entry value that stands for `f` in this file: a format-1 file
    /// also knows a guessable secret by its old, value-derived fingerprint.
    fn keys_of(&self, f: &Finding) -> Vec<String> {
        let mut keys = vec![self.key_of(&f.fingerprint)];
        if self.salt.is_none()
            && let Some(legacy) = &f.legacy_fingerprint
        {
            keys.push(legacy.clone());
        }
        keys
    }

    pub fn is_legacy(&self) -> bool {
        self.npmsweep_baseline == LEGACY_FORMAT_VERSION
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
        let salt_ok = file
            .salt
            .as_ref()
            .is_some_and(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()));
        match (file.npmsweep_baseline, salt_ok, &file.salt) {
            (FORMAT_VERSION, true, _) | (LEGACY_FORMAT_VERSION, _, None) => Ok(file),
            (FORMAT_VERSION, false, _) => Err(format!(
                "{}: baseline format {FORMAT_VERSION} needs a `salt` of 64 hex digits",
                path.display()
            )),
            (v, _, _) => Err(format!(
                "{}: baseline format {v} is not supported (this npmsweep writes format {FORMAT_VERSION})",
                path.display()
            )),
        }
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
        let keys = baseline.keys_of(f);
        match keys.into_iter().find(|k| recorded.contains(k.as_str())) {
            Some(key) => {
                used.insert(key);
                f.suppressed.is_some()
            }
            None => true,
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
    if baseline.is_legacy() {
        report.stats.notes.push(format!(
            "baseline {shown} has unsalted fingerprints (format 1): rewrite it with `npmsweep baseline -o {shown}` to salt them"
        ));
    }
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
    if !args.output.extra_reports().is_empty() {
        return Err("baseline: the file is always baseline JSON; --json-output and --sarif-output do not apply".into());
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
    // A baseline of a scan that read nothing would accept nothing and look
    // like a clean record.
    if !args.staged
        && let Some(why) = crate::scan::nothing_scanned(&report)
    {
        return Err(why);
    }
    let file = BaselineFile::from_findings(&report.findings, previous.as_ref())?;
    if previous.as_ref().is_some_and(BaselineFile::is_legacy) {
        // Said even with --quiet: the file changes shape.
        eprintln!(
            "npmsweep: note: {} migrated from format 1 (unsalted fingerprints) to format {FORMAT_VERSION} (salted); notes kept",
            out.display()
        );
    }
    crate::outfile::write(
        &out,
        file.to_json().as_bytes(),
        crate::outfile::Access::Default,
    )?;
    if !args.output.quiet {
        for w in &report.stats.warnings {
            eprintln!("npmsweep: warning: {}", crate::report::terminal::escape(w));
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
            binding: BTreeMap::new(),
            legacy_fingerprint: None,
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
        let mut old = BaselineFile::from_findings(&fs, None).unwrap();
        assert_eq!(old.entries.len(), 2);
        old.entries[0].note = "rotated 2025-01".into();
        let new = BaselineFile::from_findings(&fs, Some(&old)).unwrap();
        assert_eq!(new.entries[0].note, "rotated 2025-01");
        // Stable across runs: same salt, same entries.
        assert_eq!(new.salt, old.salt);
        assert_eq!(new.entries[1], old.entries[1]);
        let parsed = BaselineFile::parse(Path::new("b.json"), &new.to_json()).unwrap();
        assert_eq!(parsed, new);
    }

    #[test]
    fn apply_drops_known_and_lists_stale() {
        let base =
            BaselineFile::from_findings(&[finding("a", "f1", 1), finding("b", "gone", 2)], None)
                .unwrap();
        let mut now = vec![finding("a", "f1", 40), finding("c", "new", 1)];
        let applied = apply(&base, &mut now);
        assert_eq!(applied.matched, 1);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].fingerprint, "new");
        assert_eq!(applied.stale.len(), 1);
        assert_eq!(applied.stale[0].path, "b");
    }

    #[test]
    fn entries_are_keyed_by_a_per_baseline_salt() {
        let fs = vec![finding("a", "f1", 1)];
        let one = BaselineFile::from_findings(&fs, None).unwrap();
        let two = BaselineFile::from_findings(&fs, None).unwrap();
        assert_ne!(one.salt, two.salt);
        assert_ne!(one.entries[0].fingerprint, two.entries[0].fingerprint);
        assert_ne!(one.entries[0].fingerprint, "f1");
        assert!(one.to_json().contains("\"salt\""));
    }

    #[test]
    fn format_1_baselines_are_matched_and_migrated() {
        let mut guessable = finding("a/.npmrc", "structural", 1);
        guessable.legacy_fingerprint = Some("old-value-hash".into());
        let legacy = BaselineFile::parse(
            Path::new("b.json"),
            r#"{"npmsweep_baseline": 1, "entries": [
                {"path": "a", "line": 1, "rule_id": "npm-token", "fingerprint": "f1", "note": "ok"},
                {"path": "a/.npmrc", "line": 1, "rule_id": "npmrc-basic-auth", "fingerprint": "old-value-hash", "note": "pw"}
            ]}"#,
        )
        .unwrap();
        assert!(legacy.is_legacy());
        let mut now = vec![finding("a", "f1", 3), guessable.clone()];
        assert_eq!(apply(&legacy, &mut now).matched, 2);
        let migrated =
            BaselineFile::from_findings(&[finding("a", "f1", 3), guessable.clone()], Some(&legacy))
                .unwrap();
        assert_eq!(migrated.npmsweep_baseline, FORMAT_VERSION);
        assert!(migrated.salt.is_some());
        let notes: Vec<&str> = migrated.entries.iter().map(|e| e.note.as_str()).collect();
        assert_eq!(notes, ["ok", "pw"]);
        let mut again = vec![finding("a", "f1", 3), guessable];
        assert_eq!(apply(&migrated, &mut again).matched, 2);
        // A format-2 file without a salt is refused.
        let e = BaselineFile::parse(
            Path::new("b.json"),
            r#"{"npmsweep_baseline": 2, "entries": []}"#,
        )
        .unwrap_err();
        assert!(e.contains("salt"), "{e}");
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
