//! Filters: what runs on findings after detection, the same for every source.
//!
//! - [`suppress`]: inline `npmsweep:ignore` comments (applied per item in
//!   [`crate::scan::detect_item`], where the item's bytes are at hand);
//! - [`config`]: `npmsweep.toml` (paths to skip, rules to disable, severity
//!   overrides, detector extras, default `--fail-on`);
//! - [`baseline`]: known findings accepted by a baseline file.

pub mod baseline;
pub mod config;
pub mod config_from;
pub mod exclude;
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
    /// Take npmsweep.toml and the --baseline file from git revision REV (the
    /// pull request's base) instead of the change under review; report the
    /// change's edits to them and the npmsweep:ignore comments it adds
    /// [default for `history --range A..B`: A].
    #[arg(long, value_name = "REV", conflicts_with_all = ["config", "no_config"])]
    pub config_from: Option<String>,
}

/// Loaded configuration and baseline, ready to apply.
#[derive(Default)]
pub struct Filters {
    pub config: Option<Config>,
    baseline: Option<(PathBuf, BaselineFile)>,
    /// `--config-from`: the revision settings come from, and the
    /// repository-relative files that hold them.
    revision: Option<(config_from::Revision, Vec<String>)>,
}

impl std::fmt::Debug for Filters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filters")
            .field("config", &self.config)
            .field("baseline", &self.baseline)
            .field("config_from", &self.revision.as_ref().map(|r| &r.0.spec))
            .finish()
    }
}

impl Filters {
    /// Load what `args` asks for. `scan_root` is the directory the search
    /// for `npmsweep.toml` starts from (`None` when the scan has no single
    /// root directory): `--no-config`, then `--config FILE`, then the file
    /// named by `NPMSWEEP_CONFIG`, then the first `npmsweep.toml` found from
    /// the scan root up to the repository root.
    pub fn load(args: &FilterArgs, scan_root: Option<&Path>) -> Result<Filters, String> {
        if let Some(spec) = &args.config_from {
            return Self::load_from_revision(args, scan_root, spec);
        }
        let from_env = std::env::var_os(CONFIG_ENV)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let (config_path, base) = if args.no_config {
            (None, String::new())
        } else if let Some(p) = args.config.clone().or(from_env) {
            (Some(p), String::new())
        } else {
            match scan_root.and_then(find_config) {
                Some((p, base)) => (Some(p), base),
                None => (None, String::new()),
            }
        };
        let config = match config_path {
            Some(p) => {
                let mut c = config::load(&p).map_err(|e| e.to_string())?;
                c.exclude = c.exclude.map(|e| e.with_base(&base));
                Some(c)
            }
            None => None,
        };
        let baseline = match &args.baseline {
            Some(p) => Some((p.clone(), BaselineFile::load(p)?)),
            None => None,
        };
        Ok(Filters {
            config,
            baseline,
            revision: None,
        })
    }

    /// `--config-from REV`: `npmsweep.toml` and the baseline as they are
    /// in REV. A baseline outside the repository is not part of the change
    /// and is read from disk; one inside it but missing from REV accepts
    /// nothing.
    fn load_from_revision(
        args: &FilterArgs,
        scan_root: Option<&Path>,
        spec: &str,
    ) -> Result<Filters, String> {
        let root = scan_root.ok_or_else(|| {
            format!("--config-from {spec}: give one PATH, the repository's top level")
        })?;
        let rev = config_from::Revision::open(root, spec)?;
        let mut files = vec![config::FILE_NAME.to_string()];
        let shown = |p: &str| PathBuf::from(format!("{spec}:{p}"));
        let config = match rev.read(config::FILE_NAME)? {
            Some(bytes) => {
                let text = String::from_utf8(bytes).map_err(|_| {
                    format!(
                        "{spec}:{}: configuration is not valid UTF-8",
                        config::FILE_NAME
                    )
                })?;
                Some(config::parse(&shown(config::FILE_NAME), &text).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let baseline = match &args.baseline {
            None => None,
            Some(p) => match rev.relative(p) {
                Ok(rel) => {
                    files.push(rel.clone());
                    let file = match rev.read(&rel)? {
                        Some(bytes) => {
                            BaselineFile::parse(&shown(&rel), &String::from_utf8_lossy(&bytes))?
                        }
                        None => BaselineFile {
                            npmsweep_baseline: baseline::FORMAT_VERSION,
                            salt: Some("0".repeat(64)),
                            entries: Vec::new(),
                        },
                    };
                    Some((shown(&rel), file))
                }
                Err(_) => Some((p.clone(), BaselineFile::load(p)?)),
            },
        };
        Ok(Filters {
            config,
            baseline,
            revision: Some((rev, files)),
        })
    }

    /// With `--config-from`: note the change's edits to the configuration
    /// and the `npmsweep:ignore` comments it adds, with what they silence. `head` is the commit under review (`None`:
    /// the working tree). Call before [`Filters::apply`].
    pub fn audit_change(&self, report: &mut Report, head: Option<git2::Oid>) -> Result<(), String> {
        let Some((rev, files)) = &self.revision else {
            return Ok(());
        };
        // A damaged repository may not diff: the sweep still stands.
        match config_from::audit(rev, head, files) {
            Ok(audit) => config_from::add_notes(rev, audit, report),
            Err(e) => report.stats.warnings.push(format!(
                "cannot check the change for edits to npmsweep's configuration: {e}"
            )),
        }
        Ok(())
    }

    /// Give the configuration's `fail-on` to `output` unless the command
    /// line set one.
    pub fn apply_defaults(&self, output: &mut OutputArgs) {
        if output.fail_on.is_none() {
            output.fail_on = self
                .config
                .as_ref()
                .and_then(|c| c.fail_on)
                .map(crate::finding::FailOn::Severity);
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
    pub fn exclude(&self) -> Option<exclude::Exclude> {
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
        // Notes added here name paths from the baseline and the change:
        // input, redacted like every other warning and note.
        report.stats.settle();
    }
}

/// The environment variable naming a configuration file (`--config` wins).
pub const CONFIG_ENV: &str = "NPMSWEEP_CONFIG";

/// The first `npmsweep.toml` from `root` up to the repository root (the
/// directory holding `.git`; only `root` itself outside a repository), and
/// where `root` is relative to the file's directory.
fn find_config(root: &Path) -> Option<(PathBuf, String)> {
    let start = std::fs::canonicalize(root).ok()?;
    let in_repository = start.ancestors().any(|d| d.join(".git").exists());
    for dir in start.ancestors() {
        let candidate = dir.join(config::FILE_NAME);
        if candidate.is_file() {
            let base = start
                .strip_prefix(dir)
                .map(|b| b.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            // Shown the way the user named the root: `npmsweep.toml` for a
            // scan of `.`, an absolute path when it was found further up.
            let shown = if dir == start {
                root.join(config::FILE_NAME)
            } else {
                candidate
            };
            return Some((shown, base));
        }
        if !in_repository || dir.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Drop excluded paths and disabled rules; override severities. Excluded
/// paths are also filtered here (not only in the walker) so that sources
/// which do not walk directories — history, the index — honour them too.
pub fn apply_config(c: &Config, findings: &mut Vec<Finding>) {
    // The walker already applied `exclude` to working-tree files, with
    // paths relative to each root (a finding's path may carry the root's
    // name as a prefix, which the patterns do not).
    findings.retain(|f| {
        !c.disable.contains(&f.rule_id)
            && (f.origin == crate::finding::Origin::Worktree
                || !c.exclude.as_ref().is_some_and(|ex| excluded(ex, f)))
    });
    for f in findings.iter_mut() {
        if let Some(s) = c.severity.get(&f.rule_id) {
            f.severity = *s;
        }
    }
}

/// Is `f`'s path excluded? An archive member (`pkg.tgz!package/.npmrc`) is
/// excluded with its archive, as the walker excludes the archive file itself.
fn excluded(ex: &exclude::Exclude, f: &Finding) -> bool {
    if ex.excludes(&f.path, false) {
        return true;
    }
    f.details.contains_key("archive")
        && f.path
            .match_indices('!')
            .any(|(i, _)| ex.excludes(&f.path[..i], false))
}

/// What `--fail-on` resolves to once configuration is applied.
pub fn fail_on(output: &OutputArgs) -> crate::finding::FailOn {
    output
        .fail_on
        .unwrap_or(crate::finding::FailOn::Severity(Severity::Low))
}
