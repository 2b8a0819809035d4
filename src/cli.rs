//! Command-line interface: every flag is defined and documented here, once.
//! `run` dispatches to the commands; exit codes are 0 (no findings at or
//! above `--fail-on`), 1 (findings) and 2 (usage or fatal error).

use crate::detect::DetectOptions;
use crate::finding::Severity;
use crate::report::{self, Format, ReportOptions};
use crate::rules::Registry;
use crate::scan::{self, Report};
use crate::source::worktree::WalkOptions;
use clap::{Args, Parser, Subcommand};
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "npmsweep",
    version,
    about = "Find npm credentials that should not be where they are, and say how to fix them.",
    after_help = "Exit codes: 0 no findings at or above --fail-on, 1 findings, 2 usage or fatal error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Scan working trees (files on disk).
    Scan(ScanArgs),
    /// Sweep git history: every unique blob reachable from every ref (or a
    /// range), with provenance, a leak report and an optional purge plan.
    History(HistoryArgs),
    /// Record the current findings' fingerprints (never secrets) in a baseline
    /// file, `--output FILE`, for `--baseline FILE`. Takes every `scan` flag.
    Baseline(ScanArgs),
    /// List every rule: id, severity, title.
    Rules,
    /// Print a rule's full description and remediation.
    Explain {
        /// The rule id, as printed by `npmsweep rules`.
        rule_id: String,
    },
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    pub format: Format,
    /// Write the report to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Print secrets in full. Never use this in CI logs.
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit 1 only for findings at or above this severity [default: `fail-on`
    /// from npmsweep.toml, else low].
    #[arg(long, value_name = "SEVERITY", value_parser = parse_severity)]
    pub fail_on: Option<Severity>,
    /// Print nothing but findings (no summary, no remediation, no warnings).
    #[arg(long, short = 'q')]
    pub quiet: bool,
    /// When to colour the human report: auto (terminal and no NO_COLOR), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
    /// Also report strings shaped like npm tokens whose checksum fails (low confidence).
    #[arg(long)]
    pub include_invalid_tokens: bool,
    /// Also list suppressed findings.
    #[arg(long)]
    pub show_suppressed: bool,
    /// SARIF only: the code-scanning category (`runAutomationDetails.id`), so
    /// tree and history uploads do not replace each other [default:
    /// npmsweep/scan/ or npmsweep/history/].
    #[arg(long, value_name = "CATEGORY", value_parser = parse_sarif_category)]
    pub sarif_category: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Files or directories to scan.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Also scan files matched by .gitignore and .ignore files.
    #[arg(long)]
    pub no_ignore: bool,
    /// Follow symbolic links (loops are detected and reported, never followed twice).
    #[arg(long, short = 'L')]
    pub follow: bool,
    /// Skip files larger than this many bytes (with a warning).
    #[arg(long, value_name = "BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_file_size: u64,
    /// Worker threads (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    /// Scan the blobs staged in the git index that differ from HEAD (what the
    /// next commit adds), not the files on disk. For pre-commit hooks.
    #[arg(long)]
    pub staged: bool,
    #[command(flatten)]
    pub filter: crate::filter::FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// The repository (a working tree or a bare repository).
    #[arg(default_value = ".")]
    pub repo: PathBuf,
    /// Sweep only what this branch, tag or revision reaches (repeatable).
    #[arg(long, value_name = "REF", conflicts_with_all = ["range", "since_commit"])]
    pub branch: Vec<String>,
    /// Sweep only the blobs that the commits of A..B add or change (pull-request scans).
    #[arg(long, value_name = "A..B", conflicts_with = "since_commit")]
    pub range: Option<String>,
    /// Same as --range REV..HEAD.
    #[arg(long, value_name = "REV")]
    pub since_commit: Option<String>,
    /// Also sweep objects no ref reaches (dangling commits left by force-pushes, stray blobs).
    /// Not with --branch: what the chosen revisions do not reach is not "unreachable".
    #[arg(long, conflicts_with_all = ["range", "since_commit", "branch"])]
    pub all_objects: bool,
    /// Write a `git filter-repo --replace-text` file for the found secrets (mode 0600: it
    /// holds them) and the steps to purge them next to it, in FILE.README.
    #[arg(long, value_name = "FILE")]
    pub purge_plan: Option<PathBuf>,
    /// Incremental sweeps: read and update FILE, the list of blobs already swept clean (ids
    /// only, never content) under a key of npmsweep's version, rules and detector options,
    /// so a re-sweep reads only new blobs. A damaged or foreign FILE is a warning and a full sweep.
    #[arg(long, value_name = "FILE")]
    pub cache: Option<PathBuf>,
    /// Reader threads (0: one per core).
    #[arg(long, short = 'j', default_value_t = 0)]
    pub threads: usize,
    #[command(flatten)]
    pub filter: crate::filter::FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s)
        .ok_or_else(|| format!("unknown severity {s:?}: use low, medium, high or critical"))
}

fn parse_sarif_category(s: &str) -> Result<String, String> {
    let s = s.trim();
    if s.is_empty() || s.chars().any(char::is_control) {
        return Err("a SARIF category must be non-empty text without control characters".into());
    }
    Ok(s.to_string())
}

/// Parse arguments and run; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            // Each line prefixed, so a newline from the input cannot forge
            // a line of its own; every other control character escaped.
            for line in e.lines() {
                eprintln!("npmsweep: error: {}", report::terminal::escape(line));
            }
            EXIT_ERROR
        }
    }
}

pub fn run(cli: Cli) -> Result<i32, String> {
    match cli.command {
        Command::Rules => {
            let mut out = std::io::stdout().lock();
            for rule in Registry::global().all() {
                writeln!(out, "{:<36} {:<9} {}", rule.id, rule.severity, rule.title)
                    .map_err(|e| e.to_string())?;
            }
            Ok(EXIT_CLEAN)
        }
        Command::Explain { rule_id } => explain(&rule_id),
        Command::Scan(mut args) => {
            let report = scan_report(&mut args)?;
            let code = emit(&report, &args.output)?;
            // The report (with its skipped count) is written first, for CI
            // artifacts; then a scan that read nothing fails like an error.
            match scan::nothing_scanned(&report).filter(|_| !args.staged) {
                Some(why) => Err(why),
                None => Ok(code),
            }
        }
        Command::History(mut args) => crate::history::command(&mut args),
        Command::Baseline(mut args) => crate::filter::baseline::run(&mut args),
    }
}

/// Run `scan` (working tree or `--staged`) with configuration, inline
/// suppressions and baseline applied; settles `--fail-on` in `args`.
pub fn scan_report(args: &mut ScanArgs) -> Result<Report, String> {
    let first = args
        .paths
        .first()
        .cloned()
        .unwrap_or_else(|| PathBuf::from("."));
    let root = if args.staged {
        if args.paths.len() > 1 {
            return Err("--staged scans the index of one repository: give at most one PATH".into());
        }
        Some(crate::source::staged::repository_root(&first)?)
    } else {
        Some(first).filter(|p| p.is_dir())
    };
    let filters = crate::filter::Filters::load(&args.filter, root.as_deref())?;
    filters.apply_defaults(&mut args.output);
    let detect = filters.detect_options(detect_options(&args.output));
    let mut report = match root.filter(|_| args.staged) {
        Some(repo_root) => scan::scan_staged(
            &crate::source::staged::StagedOptions {
                start: repo_root,
                max_file_size: args.max_file_size,
                exclude: filters.exclude(),
            },
            &detect,
        )?,
        None => {
            // A path given on the command line that does not exist is a usage
            // error (a typo must not turn a CI scan green), not a warning.
            // One that is a FIFO, socket or device is never opened (reading
            // it could block forever): it is skipped, counted and warned
            // about.
            let mut special = Vec::new();
            for path in &args.paths {
                if let Err(e) = std::fs::symlink_metadata(path) {
                    return Err(format!("{}: cannot scan: {e}", path.display()));
                }
                if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
                    special.push(path.clone());
                }
            }
            args.paths.retain(|p| !special.contains(p));
            // The same directory or file given twice (`scan . .`, `scan a ./a`)
            // is scanned once: every finding would be reported twice.
            let mut seen = std::collections::HashSet::new();
            let roots: Vec<PathBuf> = args
                .paths
                .iter()
                .filter(|p| {
                    seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()))
                })
                .cloned()
                .collect();
            let walk = WalkOptions {
                roots,
                no_ignore: args.no_ignore,
                follow_links: args.follow,
                max_file_size: args.max_file_size,
                threads: args.threads,
                exclude: filters.exclude(),
            };
            let mut report = scan::scan_worktree(&walk, &detect);
            for path in &special {
                report.stats.skipped += 1;
                report.stats.warnings.push(format!(
                    "{}: not a regular file or directory (a FIFO, socket or device): not scanned",
                    path.display()
                ));
            }
            report.stats.settle();
            report
        }
    };
    filters.audit_change(&mut report, None)?;
    if args.staged {
        filters.apply_partial(&mut report);
    } else {
        filters.apply(&mut report);
    }
    Ok(report)
}

fn explain(rule_id: &str) -> Result<i32, String> {
    let Some(rule) = Registry::global().get(rule_id) else {
        return Err(format!("no rule {rule_id:?}; `npmsweep rules` lists them"));
    };
    let mut out = std::io::stdout().lock();
    let text = format!(
        "{} — {}\n\nseverity: {} (security-severity {:.1}), confidence: {}, precision: {}\ntags: {}\ndocs: {}\n\n{}\n\nRemediation\n\n{}\n",
        rule.id,
        rule.title,
        rule.severity,
        rule.security_severity,
        rule.confidence.as_str(),
        rule.precision,
        rule.tags.join(", "),
        rule.docs_url(),
        rule.description.trim(),
        rule.remediation.trim()
    );
    out.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
    Ok(EXIT_CLEAN)
}

pub fn detect_options(output: &OutputArgs) -> DetectOptions {
    DetectOptions {
        include_invalid_tokens: output.include_invalid_tokens,
        ..DetectOptions::default()
    }
}

/// Should the human report be coloured? Honours `--color` and `NO_COLOR`.
pub fn use_color(choice: ColorChoice, to_terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    }
}

/// Write the report where asked, print warnings, and compute the exit code.
pub fn emit(report: &Report, output: &OutputArgs) -> Result<i32, String> {
    let stdout_tty = std::io::stdout().is_terminal();
    let to_terminal = output.output.is_none() && stdout_tty;
    let format = output.format;
    let opts = ReportOptions {
        show_secrets: output.show_secrets,
        color: use_color(output.color, to_terminal),
        show_suppressed: output.show_suppressed,
        quiet: output.quiet,
        sarif_category: output.sarif_category.clone(),
    };
    if !output.quiet {
        let mut err = std::io::stderr().lock();
        for w in &report.stats.warnings {
            // A crafted file name must not drive the terminal.
            let _ = writeln!(err, "npmsweep: warning: {}", report::terminal::escape(w));
        }
    }
    let mut buf = Vec::new();
    report::write(format, report, &opts, &mut buf).map_err(|e| e.to_string())?;
    if format == Format::Github && !output.quiet {
        // GitHub renders this file on the run's summary page.
        let summary = std::env::var_os("GITHUB_STEP_SUMMARY")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        report::github::write_step_summary(report, summary.as_deref(), &mut buf).map_err(|e| {
            format!(
                "cannot write the job summary to {}: {e}",
                summary.as_deref().unwrap_or(Path::new("-")).display()
            )
        })?;
    }
    match &output.output {
        Some(path) => {
            // Never through a symlink; private when it can hold a secret.
            let access = if output.show_secrets {
                crate::outfile::Access::OwnerOnly
            } else {
                crate::outfile::Access::Default
            };
            crate::outfile::write(path, &buf, access)?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(&buf)
                .and_then(|_| out.flush())
                .map_err(|e| format!("cannot write to standard output: {e}"))?;
        }
    }
    let failing = report
        .findings
        .iter()
        .any(|f| f.suppressed.is_none() && f.severity >= crate::filter::fail_on(output));
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}
