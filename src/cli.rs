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
use std::path::PathBuf;

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
    /// Exit 1 only for findings at or above this severity.
    #[arg(long, value_name = "SEVERITY", default_value = "low", value_parser = parse_severity)]
    pub fail_on: Severity,
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
    #[command(flatten)]
    pub output: OutputArgs,
}

fn parse_severity(s: &str) -> Result<Severity, String> {
    Severity::parse(s).ok_or_else(|| format!("unknown severity {s:?}: use low, medium, high or critical"))
}

/// Parse arguments and run; returns the exit code.
pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_CLEAN };
            let _ = e.print();
            return code;
        }
    };
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("npmsweep: error: {e}");
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
        Command::Scan(args) => {
            let walk = WalkOptions {
                roots: args.paths.clone(),
                no_ignore: args.no_ignore,
                follow_links: args.follow,
                max_file_size: args.max_file_size,
                threads: args.threads,
                exclude: None,
            };
            let detect = detect_options(&args.output);
            let report = scan::scan_worktree(&walk, &detect);
            emit(&report, &args.output)
        }
    }
}

fn explain(rule_id: &str) -> Result<i32, String> {
    let Some(rule) = Registry::global().get(rule_id) else {
        return Err(format!(
            "no rule {rule_id:?}; `npmsweep rules` lists them"
        ));
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
    };
    if !output.quiet {
        let mut err = std::io::stderr().lock();
        for w in &report.stats.warnings {
            let _ = writeln!(err, "npmsweep: warning: {w}");
        }
    }
    let mut buf = Vec::new();
    report::write(format, report, &opts, &mut buf).map_err(|e| e.to_string())?;
    match &output.output {
        Some(path) => std::fs::write(path, &buf)
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?,
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
        .any(|f| f.suppressed.is_none() && f.severity >= output.fail_on);
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}
