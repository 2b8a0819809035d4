//! Filters: what runs on findings after detection, the same for every source.
//!
//! - [`suppress`]: inline `npmsweep:ignore` comments (applied per item in
//!   [`crate::scan::detect_item`], where the item's bytes are at hand);
//! - [`config`]: `npmsweep.toml` (paths to skip, rules to disable, severity
//!   overrides, detector extras, default `--fail-on`);
//! - [`baseline`]: known findings accepted by a baseline file.

pub mod baseline;
pub mod config;
pub mod suppress;

use crate::cli::OutputArgs;
use crate::detect::DetectOptions;
use crate::finding::{Finding, Severity};
use crate::scan::Report;
use baseline::BaselineFile;
use clap::Args;
use config::Config;
use std::path::{Path, PathBuf};

/// Flags shared by `scan`, `history` and `baseline` (flattened into each).
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Read settings from FILE instead of `npmsweep.toml` at the scan root
    /// (the first PATH, or the repository root for `history` and `--staged`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore `npmsweep.toml` even if the scan root has one.
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
    /// Report only findings not recorded in this baseline file (written by
    /// `npmsweep baseline`); entries that match nothing are listed as notes.
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
}

/// Loaded configuration and baseline, ready to apply.
#[derive(Debug, Default)]
pub struct Filters {
    pub config: Option<Config>,
    baseline: Option<(PathBuf, BaselineFile)>,
}

impl Filters {
    /// Load what `args` asks for. `scan_root` is the directory searched for
    /// `npmsweep.toml` (`None` when the scan has no single root directory).
    pub fn load(args: &FilterArgs, scan_root: Option<&Path>) -> Result<Filters, String> {
        let config_path = if args.no_config {
            None
        } else if let Some(p) = &args.config {
            Some(p.clone())
        } else {
            scan_root
                .map(|r| r.join(config::FILE_NAME))
                .filter(|p| p.is_file())
        };
        let config = match config_path {
            Some(p) => Some(config::load(&p).map_err(|e| e.to_string())?),
            None => None,
        };
        let baseline = match &args.baseline {
            Some(p) => Some((p.clone(), BaselineFile::load(p)?)),
            None => None,
        };
        Ok(Filters { config, baseline })
    }

    /// Give the configuration's `fail-on` to `output` unless the command
    /// line set one.
    pub fn apply_defaults(&self, output: &mut OutputArgs) {
        if output.fail_on.is_none() {
            output.fail_on = self.config.as_ref().and_then(|c| c.fail_on);
        }
    }

    /// Detector settings extended with the configuration's extras.
    pub fn detect_options(&self, mut opts: DetectOptions) -> DetectOptions {
        if let Some(c) = &self.config {
            opts.extra_credential_names
                .extend(c.credential_names.iter().cloned());
            opts.extra_credential_names
                .extend(c.not_credential_names.iter().map(|n| format!("!{n}")));
            opts.extra_placeholders
                .extend(c.placeholders.iter().cloned());
        }
        opts
    }

    /// Paths never to scan (relative to the scan root).
    pub fn exclude(&self) -> Option<globset::GlobSet> {
        self.config.as_ref().and_then(|c| c.exclude.clone())
    }

    /// Apply configuration then baseline to the report of a complete scan
    /// (a tree, or all of history): unmatched baseline entries are stale.
    pub fn apply(&self, report: &mut Report) {
        self.apply_with(report, true);
    }

    /// Same for a scan that only looks at part of the content (`--staged`,
    /// `history --range`): an unmatched baseline entry may just be outside
    /// the part scanned, so it is not called stale.
    pub fn apply_partial(&self, report: &mut Report) {
        self.apply_with(report, false);
    }

    fn apply_with(&self, report: &mut Report, complete: bool) {
        if let Some(c) = &self.config {
            apply_config(c, &mut report.findings);
        }
        if let Some((path, b)) = &self.baseline {
            baseline::apply_to_report(path, b, report, complete);
        }
        crate::finding::sort_findings(&mut report.findings);
    }
}

/// Drop excluded paths and disabled rules; override severities. Excluded
/// paths are also filtered here (not only in the walker) so that sources
/// which do not walk directories — history, the index — honour them too.
pub fn apply_config(c: &Config, findings: &mut Vec<Finding>) {
    findings.retain(|f| {
        !c.disable.contains(&f.rule_id)
            && !c.exclude.as_ref().is_some_and(|ex| ex.is_match(&f.path))
    });
    for f in findings.iter_mut() {
        if let Some(s) = c.severity.get(&f.rule_id) {
            f.severity = *s;
        }
    }
}

/// The severity `--fail-on` resolves to once configuration is applied.
pub fn fail_on(output: &OutputArgs) -> Severity {
    output.fail_on.unwrap_or(Severity::Low)
}
