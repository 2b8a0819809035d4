//! Runs a source through the detectors and collects a [`Report`]: the one
//! place where sources, detectors and findings meet.

use crate::detect::{self, DetectOptions, FileKind, Item};
use crate::finding::{Finding, sort_findings};
use crate::source::SourceStats;
use crate::source::worktree::{self, WalkOptions};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Everything a reporter needs.
#[derive(Clone, Debug, Default)]
pub struct Report {
    /// `scan` or `history`.
    pub command: String,
    /// Sorted findings (suppressed ones included, flagged).
    pub findings: Vec<Finding>,
    /// Publish paths and what npm's token policy does to them.
    pub readiness: crate::readiness::Readiness,
    pub stats: SourceStats,
    /// The git repository scanned or swept, when there is one (JSON
    /// `repository`, for `npmsweep merge`).
    pub repository: Option<crate::source::repository::RepositoryInfo>,
    /// Wall time; shown by the human report only (JSON and SARIF stay
    /// byte-identical from run to run).
    pub elapsed: Duration,
}

impl Report {
    /// This report with every token-shaped name in a path redacted (see
    /// [`crate::redact::path`]): what every output prints unless
    /// `--show-secrets` asks for secrets in full.
    pub fn with_paths_redacted(&self) -> std::borrow::Cow<'_, Report> {
        let dirty = |p: &str| matches!(crate::redact::path(p), std::borrow::Cow::Owned(_));
        if !self.findings.iter().any(|f| dirty(&f.path))
            && !self.readiness.paths.iter().any(|p| dirty(&p.path))
        {
            return std::borrow::Cow::Borrowed(self);
        }
        let mut report = self.clone();
        for f in &mut report.findings {
            f.path = crate::redact::path(&f.path).into_owned();
        }
        for p in &mut report.readiness.paths {
            p.path = crate::redact::path(&p.path).into_owned();
        }
        std::borrow::Cow::Owned(report)
    }
}

/// Why a `scan` report must not pass as clean because it read nothing:
/// every root was unreadable, not a regular file or directory, or over the
/// size limit, or every file under it was excluded or ignored. `None` when
/// at least one file was scanned. (`--staged` with nothing staged and a
/// history range that changes nothing are not this: they have nothing to
/// read, which is a clean result.)
pub fn nothing_scanned(report: &Report) -> Option<String> {
    if report.stats.items > 0 {
        return None;
    }
    Some(if report.stats.skipped > 0 {
        format!(
            "nothing was scanned: {} file(s) or path(s) could not be read (see the warnings); a scan that read nothing is not clean",
            report.stats.skipped
        )
    } else {
        "nothing was scanned: no file under the given path(s) after ignore files and excludes; a scan that read nothing is not clean".to_string()
    })
}

/// Is `bytes` binary? Same heuristic as git and ripgrep: a NUL byte in the
/// first 8 KiB.
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(8192)]).is_some()
}

/// Text saved as UTF-16 with a byte-order mark (Windows PowerShell 5's `>`
/// and `Out-File` write UTF-16LE), decoded to UTF-8 so that configuration is
/// parsed and tokens are found; lines and columns (code points) are those of
/// the original. `None` for anything else, including bytes that start with a
/// UTF-16 mark but do not decode cleanly to mostly-ASCII text (binary
/// formats, 8-bit text).
pub fn utf16_text(bytes: &[u8]) -> Option<String> {
    let little_endian = match bytes {
        [0xFF, 0xFE, ..] => true,
        [0xFE, 0xFF, ..] => false,
        _ => return None,
    };
    if !bytes.len().is_multiple_of(2) {
        return None;
    }
    let units = bytes[2..].chunks_exact(2).map(|c| {
        if little_endian {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let mut text = String::with_capacity(bytes.len() / 2);
    let mut ascii = 0;
    for c in char::decode_utf16(units) {
        match c {
            Ok('\0') | Err(_) => return None,
            Ok(c) => {
                ascii += usize::from(c.is_ascii());
                text.push(c);
            }
        }
    }
    // Configuration and scripts are mostly ASCII; 8-bit text that merely
    // starts with `\xff\xfe` decodes to code units that never are.
    (ascii * 2 >= text.chars().count()).then_some(text)
}

/// Detect on one item: config analysers only on text, the token matcher on
/// everything; then mark findings silenced by inline `npmsweep:ignore`
/// comments (here because the item's bytes are at hand). Returns findings
/// and warnings.
pub fn detect_item(item: &Item, opts: &DetectOptions) -> detect::Detected {
    if let Some(text) = utf16_text(item.bytes) {
        let decoded = Item {
            path: item.path,
            bytes: text.as_bytes(),
            origin: item.origin.clone(),
            tree: item.tree,
        };
        return detect_item(&decoded, opts);
    }
    let mut d = detect_unfiltered(item, opts);
    let suppressed = detect::isolate::guard(item.path, "inline suppressions", || {
        let mut s = std::mem::take(&mut d);
        crate::filter::suppress::apply(item.path, item.bytes, &mut s);
        s
    });
    match suppressed {
        Ok(s) => d = s,
        // The findings were moved into the panicking call: detect again and
        // report them all, unsuppressed.
        Err(warning) => {
            d = detect_unfiltered(item, opts);
            d.warnings.push(warning);
        }
    }
    d
}

/// A file without a telling name that starts with a shell shebang
/// (`#!/bin/sh`, `#!/usr/bin/env bash`) is a script: `bin/release`.
fn is_shell_script(bytes: &[u8]) -> bool {
    let Some(rest) = bytes.strip_prefix(b"#!") else {
        return false;
    };
    let line = &rest[..memchr::memchr(b'\n', rest).unwrap_or(rest.len()).min(128)];
    let line = String::from_utf8_lossy(line);
    let interpreter = line
        .split_whitespace()
        .find(|w| !w.ends_with("/env") && !w.starts_with('-'))
        .unwrap_or("");
    let name = interpreter.rsplit('/').next().unwrap_or("");
    matches!(name, "sh" | "bash" | "zsh" | "dash" | "ksh" | "ash")
}

fn detect_unfiltered(item: &Item, opts: &DetectOptions) -> detect::Detected {
    let mut kind = FileKind::of(item.tree_path());
    if kind == FileKind::Other && is_shell_script(item.bytes) {
        kind = FileKind::Script;
    }
    if kind != FileKind::Other && looks_binary(item.bytes) {
        let mut d = detect::detect(item, &[FileKind::Other], opts);
        d.warnings.push(format!(
            "{}: binary content; searched for tokens only, not parsed as {kind:?}",
            item.path
        ));
        return d;
    }
    detect::detect(item, &[kind], opts)
}

/// Scan what is staged in the git index (`scan --staged`).
pub fn scan_staged(
    staged: &crate::source::staged::StagedOptions,
    opts: &DetectOptions,
) -> Result<Report, String> {
    let start = Instant::now();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut publish_paths = Vec::new();
    let mut stats = crate::source::staged::walk(staged, |item| {
        let d = detect_item(item, opts);
        findings.extend(d.findings);
        warnings.extend(d.warnings);
        publish_paths.extend(d.publish_paths);
    })?;
    sort_findings(&mut findings);
    stats.warnings.extend(warnings);
    stats.settle();
    Ok(Report {
        command: "scan".into(),
        findings,
        readiness: crate::readiness::Readiness::new(publish_paths),
        stats,
        repository: None,
        elapsed: start.elapsed(),
    })
}

/// Scan working trees.
pub fn scan_worktree(walk: &WalkOptions, opts: &DetectOptions) -> Report {
    let start = Instant::now();
    let findings = Mutex::new(Vec::new());
    let warnings = Mutex::new(Vec::new());
    let publish_paths = Mutex::new(Vec::new());
    let mut stats = worktree::walk(walk, |item| {
        let d = detect_item(item, opts);
        if !d.publish_paths.is_empty() {
            publish_paths
                .lock()
                .expect("publish paths lock")
                .extend(d.publish_paths);
        }
        if !d.findings.is_empty() {
            findings.lock().expect("findings lock").extend(d.findings);
        }
        if !d.warnings.is_empty() {
            warnings.lock().expect("warnings lock").extend(d.warnings);
        }
    });
    let mut findings = findings.into_inner().expect("findings lock");
    sort_findings(&mut findings);
    // Overlapping roots (`scan ./.npmrc .`) see a file twice: one finding.
    findings.dedup_by(|a, b| {
        a.path == b.path
            && a.span == b.span
            && a.rule_id == b.rule_id
            && a.fingerprint == b.fingerprint
    });
    stats
        .warnings
        .extend(warnings.into_inner().expect("warnings lock"));
    stats.settle();
    Report {
        command: "scan".into(),
        findings,
        readiness: crate::readiness::Readiness::new(
            publish_paths.into_inner().expect("publish paths lock"),
        ),
        stats,
        repository: None,
        elapsed: start.elapsed(),
    }
}

/// Scan standard input as one item named `name` (`scan -`).
pub fn scan_stdin(
    input: impl std::io::Read,
    name: &str,
    max_size: u64,
    opts: &DetectOptions,
) -> Result<Report, String> {
    let start = Instant::now();
    let mut findings = Vec::new();
    let mut warnings = Vec::new();
    let mut publish_paths = Vec::new();
    let mut stats = crate::source::stdin::read(input, name, max_size, |item| {
        let d = detect_item(item, opts);
        findings.extend(d.findings);
        warnings.extend(d.warnings);
        publish_paths.extend(d.publish_paths);
    })?;
    sort_findings(&mut findings);
    stats.warnings.extend(warnings);
    stats.settle();
    Ok(Report {
        command: "scan".into(),
        findings,
        stats,
        repository: None,
        elapsed: start.elapsed(),
        readiness: crate::readiness::Readiness::new(publish_paths),
    })
}
