//! Command-line interface: every flag is defined and documented here, once.
//! `run` dispatches to the commands; exit codes are 0 (no findings at or
//! above `--fail-on`), 1 (findings) and 2 (usage or fatal error).

use crate::detect::DetectOptions;
use crate::finding::FailOn;
use crate::report::{self, Format, ReportOptions};
use crate::rules::Registry;
use crate::scan::{self, Report};
use crate::source::worktree::WalkOptions;
use clap::{Args, Parser, Subcommand};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const EXIT_CLEAN: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "npmsweep",
    version = crate::BUILD_VERSION,
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
    /// file, `--output FILE`, for `--baseline FILE`. Takes the `scan` flags
    /// that choose what is scanned; not `--format` (the file is always
    /// baseline JSON) nor `--baseline` (write the file again to update it).
    Baseline(ScanArgs),
    /// Verify the credentials a scan finds (as `scan --verify`) and print,
    /// per live one, the command that revokes it at its registry (or where
    /// to do it); `--yes` runs the commands and verifies again.
    Revoke(RevokeArgs),
    /// Split a list of repositories into N shards, balanced by size.
    Plan(PlanArgs),
    /// Merge shard reports into one: each secret once, with every
    /// repository, path and commit holding it.
    Merge(MergeArgs),
    /// Fix what can be fixed safely: literal credentials in .npmrc,
    /// .yarnrc.yml, .yarnrc and bunfig.toml become environment references;
    /// `${{ secrets.X }}` in a workflow `run:` moves to the step's `env:`; a
    /// token in workflow or job `env:` moves to the steps that read it; a
    /// publish with a long-lived token becomes npm trusted publishing; an
    /// npm token in a Dockerfile becomes a build secret. Prints a unified diff (secrets redacted unless --show-secrets); with
    /// --apply writes the files. What is not fixed, and what only a human
    /// can do, is listed on standard error. Exit 0 when nothing is left to
    /// fix, 1 otherwise, 2 on error.
    #[command(mut_args(|a| {
        let refused = FIX_REFUSED.iter().any(|(id, _)| a.get_id() == *id);
        a.hide(refused)
    }))]
    Fix(FixArgs),
    /// List every rule: id, severity, title.
    Rules,
    /// Print a rule's full description and remediation.
    Explain {
        /// The rule id, as printed by `npmsweep rules`.
        rule_id: String,
    },
    /// Print a shell completion script, e.g. `npmsweep completions bash >
    /// /etc/bash_completion.d/npmsweep`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page npmsweep(1) in roff (`npmsweep man | man -l -`),
    /// or write it and one page per subcommand into a directory.
    Man {
        /// Write npmsweep.1, npmsweep-scan.1, … into DIR instead.
        #[arg(long, value_name = "DIR")]
        output_dir: Option<PathBuf>,
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
    /// Also write a JSON report to FILE, next to the --format report (one
    /// run, several reports: e.g. human on the terminal, JSON for a tool).
    #[arg(long, value_name = "FILE")]
    pub json_output: Option<PathBuf>,
    /// Also write a SARIF report to FILE, next to the --format report.
    #[arg(long, value_name = "FILE")]
    pub sarif_output: Option<PathBuf>,
    /// Print secrets in full. Never use this in CI logs.
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit 1 only for findings at or above this severity (low, medium, high,
    /// critical), or with `live` only for credentials that `--verify` found
    /// live [default: `fail-on` from npmsweep.toml, else low].
    #[arg(long, value_name = "SEVERITY|live", value_parser = parse_fail_on)]
    pub fail_on: Option<FailOn>,
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
    #[command(flatten)]
    pub verify: VerifyArgs,
}

/// `--verify` and its companions (see the README's "Verification").
#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// Ask the registry each credential is bound to whether it still works
    /// (`GET <registry>/-/whoami` with the credential, to that registry's
    /// host only, over HTTPS or to loopback). Off by default: without it
    /// nothing leaves the machine.
    #[arg(long)]
    pub verify: bool,
    /// Report only credentials that `--verify` found live.
    #[arg(long, requires = "verify")]
    pub only_verified: bool,
    /// Seconds one verification request may take.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    pub verify_timeout: u64,
    /// Seconds all verification may take; what has not been asked by then is `unknown`.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub verify_deadline: u64,
    /// Verification requests in flight to one host at a time.
    #[arg(long, value_name = "N", default_value_t = 4,
          value_parser = clap::value_parser!(u64).range(1..=32))]
    pub verify_per_host: u64,
}

impl VerifyArgs {
    pub fn options(&self) -> crate::verify::VerifyOptions {
        crate::verify::VerifyOptions {
            timeout: std::time::Duration::from_secs(self.verify_timeout.max(1)),
            deadline: std::time::Duration::from_secs(self.verify_deadline.max(1)),
            per_host: self.verify_per_host as usize,
            ..crate::verify::VerifyOptions::default()
        }
    }
}

impl OutputArgs {
    /// `--json-output` and `--sarif-output`: the reports written next to the
    /// `--format` one.
    pub fn extra_reports(&self) -> Vec<(Format, &PathBuf)> {
        [
            (Format::Json, self.json_output.as_ref()),
            (Format::Sarif, self.sarif_output.as_ref()),
        ]
        .into_iter()
        .filter_map(|(format, path)| path.map(|p| (format, p)))
        .collect()
    }

    /// Refuse two reports written to one file (the last would win silently).
    pub fn check_report_files(&self) -> Result<(), String> {
        let mut files: Vec<&PathBuf> = self.output.iter().collect();
        for (_, path) in self.extra_reports() {
            if files.contains(&path) {
                return Err(format!(
                    "{}: two reports cannot be written to one file",
                    path.display()
                ));
            }
            files.push(path);
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone)]
pub struct ScanArgs {
    /// Files or directories to scan; `-` reads standard input as one file.
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// With `scan -`: the relative path standard input stands for, which
    /// decides the detectors that run (`.npmrc`, `.github/workflows/ci.yml`)
    /// [default: <stdin>, searched for tokens only].
    #[arg(long, value_name = "NAME")]
    pub stdin_path: Option<String>,
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
    pub shard: ShardArgs,
    #[command(flatten)]
    pub filter: crate::filter::FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Args, Debug)]
pub struct FixArgs {
    /// Write the fixed files (through a new file renamed over the old one;
    /// never through a symbolic link). Without it, only the diff is printed.
    #[arg(long)]
    pub apply: bool,
    /// Fix only findings of this rule (repeatable); others are left alone.
    #[arg(long = "rule", value_name = "RULE_ID")]
    pub rules: Vec<String>,
    #[command(flatten)]
    pub scan: ScanArgs,
}

#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// Run the printed `npm token revoke` commands (as you: npm uses your own
    /// login for the registry and may ask for a one-time password), then ask
    /// the registry again. Without it, nothing is revoked.
    #[arg(long)]
    pub yes: bool,
    /// The npm program to run with --yes.
    #[arg(long, value_name = "PROGRAM", default_value = "npm")]
    pub npm: String,
    #[command(flatten)]
    pub scan: ScanArgs,
}

#[derive(Args, Debug, Clone)]
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
    /// Not with --branch, --range or --since-commit: what a chosen part of history does not
    /// reach is not "unreachable".
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
    /// Skip blobs larger than this many bytes (with a warning); the size is read from the
    /// object header, before anything is inflated.
    #[arg(long, value_name = "BYTES", default_value_t = 50 * 1024 * 1024)]
    pub max_file_size: u64,
    #[command(flatten)]
    pub shard: ShardArgs,
    #[command(flatten)]
    pub filter: crate::filter::FilterArgs,
    #[command(flatten)]
    pub output: OutputArgs,
}

/// `--repos FILE` and `--shard I/N` (see the README's "Sweeping an organisation").
#[derive(Args, Debug, Clone, Default)]
pub struct ShardArgs {
    /// Sweep every repository of FILE (one clone URL or path per line,
    /// optionally with a size, as for `npmsweep plan`) and write one JSON
    /// shard report listing each repository's report. A URL is cloned into
    /// a temporary directory (the only network use) and removed after.
    #[arg(long, value_name = "FILE")]
    pub repos: Option<PathBuf>,
    /// With --repos: only shard I (0-based) of N, as `npmsweep plan --shards
    /// N` assigns it.
    #[arg(long, value_name = "I/N", requires = "repos")]
    pub shard: Option<crate::org::plan::ShardSpec>,
}

/// `npmsweep plan`.
#[derive(Args, Debug)]
pub struct PlanArgs {
    /// The repository list: one clone URL or path per line, optionally
    /// followed by its size; `#` starts a comment.
    pub repos: PathBuf,
    /// How many shards.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100000))]
    pub shards: u64,
    /// Print only the repositories of shard I (0-based), one per line.
    #[arg(long, value_name = "I")]
    pub shard: Option<usize>,
    /// json (the plan, for `merge --plan`) or list (`shard<TAB>repository`).
    #[arg(long, value_enum, default_value = "json")]
    pub format: PlanFormat,
    /// Write the plan to FILE instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum PlanFormat {
    Json,
    List,
}

/// `npmsweep merge`.
#[derive(Args, Debug)]
pub struct MergeArgs {
    /// Reports to merge: JSON reports of `scan`/`history` (one repository)
    /// and shard reports of `--repos` runs.
    #[arg(required = true)]
    pub reports: Vec<PathBuf>,
    /// The plan the shards ran (`npmsweep plan --format json`): every one of
    /// its shards must have a report, or the merge says which are missing
    /// and exits 2.
    #[arg(long, value_name = "FILE")]
    pub plan: Option<PathBuf>,
    /// Output format (sarif: one file per repository into the -o directory).
    #[arg(long, value_enum, default_value = "human")]
    pub format: crate::org::merge::MergeFormat,
    /// Write the merged report to FILE instead of standard output (with
    /// --format sarif: the directory for the per-repository files).
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write one SARIF file per repository into DIR (code scanning
    /// takes one repository per upload).
    #[arg(long, value_name = "DIR")]
    pub sarif_dir: Option<PathBuf>,
}

fn parse_fail_on(s: &str) -> Result<FailOn, String> {
    FailOn::parse(s)
        .ok_or_else(|| format!("unknown --fail-on {s:?}: use low, medium, high, critical or live"))
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
        Command::Completions { shell } => to_stdout(crate::manual::completions(
            shell,
            &mut std::io::stdout().lock(),
        )),
        Command::Man { output_dir: None } => {
            to_stdout(crate::manual::man(&mut std::io::stdout().lock()))
        }
        Command::Man {
            output_dir: Some(dir),
        } => {
            crate::manual::man_pages(&dir)
                .map_err(|e| format!("cannot write manual pages to {}: {e}", dir.display()))?;
            Ok(EXIT_CLEAN)
        }
        Command::Plan(args) => crate::org::plan::command(&args),
        Command::Merge(args) => crate::org::merge::command(&args),
        Command::Scan(args) if args.shard.repos.is_some() => crate::org::run::scan(&args),
        Command::History(args) if args.shard.repos.is_some() => crate::org::run::history(&args),
        Command::Scan(mut args) => {
            args.output.check_report_files()?;
            let mut report = scan_report(&mut args)?;
            settle_liveness(&mut report, &args.output)?;
            let code = emit(&report, &args.output)?;
            // The report (with its skipped count) is written first, for CI
            // artifacts; then a scan that read nothing fails like an error.
            match scan::nothing_scanned(&report).filter(|_| !args.staged) {
                Some(why) => Err(why),
                None => Ok(code),
            }
        }
        Command::History(mut args) => {
            args.output.check_report_files()?;
            crate::history::command(&mut args)
        }
        Command::Revoke(mut args) => revoke(&mut args),
        Command::Fix(mut args) => fix(&mut args),
        Command::Baseline(args) if args.output.verify.verify => Err(
            "--verify is for scan, history and revoke: a baseline records findings, not liveness"
                .into(),
        ),
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
    let stdin = args.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin && args.paths.len() > 1 {
        return Err("`-` (standard input) is scanned on its own: give no other PATH".into());
    }
    if stdin && args.staged {
        return Err("--staged scans the git index, not standard input".into());
    }
    if args.stdin_path.is_some() && !stdin {
        return Err("--stdin-path names standard input: use it with `scan -`".into());
    }
    let root = if stdin {
        Some(PathBuf::from("."))
    } else if args.staged {
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
    let mut report = if stdin {
        let name = match &args.stdin_path {
            Some(name) => crate::source::stdin::check_name(name)?,
            None => crate::source::stdin::DEFAULT_NAME.to_string(),
        };
        scan::scan_stdin(std::io::stdin().lock(), &name, args.max_file_size, &detect)?
    } else {
        match root.filter(|_| args.staged) {
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
        }
    };
    // A scan of a repository's top level names it (for `npmsweep merge`).
    if !stdin && args.paths.len() == 1 {
        report.repository = crate::source::repository::RepositoryInfo::discover(&args.paths[0])
            .filter(|_| crate::source::repository::is_top_level(&args.paths[0]));
    }
    filters.audit_change(&mut report, None)?;
    if args.staged {
        filters.apply_partial(&mut report);
    } else {
        filters.apply(&mut report);
    }
    Ok(report)
}

/// The outcome of printing to standard output: a closed pipe
/// (`npmsweep man | head`) is not an error.
fn to_stdout(written: std::io::Result<()>) -> Result<i32, String> {
    match written {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("cannot write to standard output: {e}"))
        }
        _ => Ok(EXIT_CLEAN),
    }
}

/// `npmsweep revoke`: exit 0 when no credential is live (any more), 1 when
/// some still is (always so in a dry run with live credentials), 2 on error.
fn revoke(args: &mut RevokeArgs) -> Result<i32, String> {
    args.scan.output.verify.verify = true;
    let mut report = scan_report(&mut args.scan)?;
    settle_liveness(&mut report, &args.scan.output)?;
    let verify = args.scan.output.verify.options();
    let plan = crate::verify::revoke::plan(&report.findings, &verify.public_registry);
    let opts = crate::verify::revoke::RevokeOptions {
        yes: args.yes,
        show_secrets: args.scan.output.show_secrets,
        npm: args.npm.clone(),
        verify,
    };
    let mut out = std::io::stdout().lock();
    let done = crate::verify::revoke::run(&plan, &opts, &mut out)
        .and_then(|done| {
            // How many were live, dead or unknown: an unknown one may still work.
            for note in &report.stats.notes {
                writeln!(out, "note: {note}")?;
            }
            Ok(done)
        })
        .map_err(|e| format!("cannot write to standard output: {e}"))?;
    Ok(if done { EXIT_CLEAN } else { EXIT_FINDINGS })
}

/// Scan flags `fix` has no use for — it edits files on disk and prints a
/// patch, not a report — by argument id and flag: hidden from `fix --help`
/// (and its manual page) and refused when given.
const FIX_REFUSED: &[(&str, &str)] = &[
    ("stdin_path", "--stdin-path"),
    ("staged", "--staged"),
    ("repos", "--repos"),
    ("shard", "--shard"),
    ("format", "--format"),
    ("output", "--output"),
    ("json_output", "--json-output"),
    ("sarif_output", "--sarif-output"),
    ("sarif_category", "--sarif-category"),
    ("fail_on", "--fail-on"),
    ("quiet", "--quiet"),
    ("color", "--color"),
    ("show_suppressed", "--show-suppressed"),
    ("verify", "--verify"),
    ("only_verified", "--only-verified"),
    ("verify_timeout", "--verify-timeout"),
    ("verify_deadline", "--verify-deadline"),
    ("verify_per_host", "--verify-per-host"),
];

/// The [`FIX_REFUSED`] flags given on the command line (a flag given with
/// its default value is indistinguishable from no flag, and harmless).
fn fix_refused_given(scan: &ScanArgs) -> Vec<&'static str> {
    let (out, verify) = (&scan.output, &scan.output.verify);
    // Defaults as the flags declare them (one place).
    let command = <Cli as clap::CommandFactory>::command();
    let default = |id: &str| -> Option<u64> {
        command
            .find_subcommand("fix")?
            .get_arguments()
            .find(|a| a.get_id() == id)?
            .get_default_values()
            .first()?
            .to_str()?
            .parse()
            .ok()
    };
    let given = |id: &str| match id {
        "stdin_path" => scan.stdin_path.is_some(),
        "staged" => scan.staged,
        "repos" => scan.shard.repos.is_some(),
        "shard" => scan.shard.shard.is_some(),
        "format" => out.format != Format::Human,
        "output" => out.output.is_some(),
        "json_output" => out.json_output.is_some(),
        "sarif_output" => out.sarif_output.is_some(),
        "sarif_category" => out.sarif_category.is_some(),
        "fail_on" => out.fail_on.is_some(),
        "quiet" => out.quiet,
        "color" => out.color != ColorChoice::Auto,
        "show_suppressed" => out.show_suppressed,
        "verify" => verify.verify,
        "only_verified" => verify.only_verified,
        "verify_timeout" => default(id) != Some(verify.verify_timeout),
        "verify_deadline" => default(id) != Some(verify.verify_deadline),
        "verify_per_host" => default(id) != Some(verify.verify_per_host),
        _ => false,
    };
    FIX_REFUSED
        .iter()
        .filter(|(id, _)| given(id))
        .map(|(_, flag)| *flag)
        .collect()
}

/// `npmsweep fix`: scan, plan the edits, print the diff (and apply it).
fn fix(args: &mut FixArgs) -> Result<i32, String> {
    if args.scan.paths.iter().any(|p| p.as_os_str() == "-") {
        return Err("fix edits files on disk: not standard input (`-`)".into());
    }
    // `fix` takes the scan flags that choose what is scanned; the others
    // have no meaning for a patch of files on disk.
    let refused = fix_refused_given(&args.scan);
    if !refused.is_empty() {
        return Err(format!(
            "fix edits files on disk and prints a patch: {} {} for scan",
            refused.join(", "),
            if refused.len() == 1 { "is" } else { "are" }
        ));
    }
    for rule in &args.rules {
        if Registry::global().get(rule).is_none() {
            return Err(format!("no rule {rule:?}; `npmsweep rules` lists them"));
        }
    }
    let report = scan_report(&mut args.scan)?;
    let plan = crate::fix::plan(
        &report.findings,
        &crate::fix::FixOptions {
            rules: args.rules.clone(),
        },
        |path| {
            let p = Path::new(path);
            if std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink()) {
                return Err("a symbolic link: not edited".into());
            }
            std::fs::read_to_string(p).map_err(|e| format!("cannot read {path}: {e}"))
        },
    );
    let show_secrets = args.scan.output.show_secrets;
    let mut out = std::io::stdout().lock();
    for patch in &plan.patches {
        out.write_all(crate::fix::diff::unified(patch, show_secrets).as_bytes())
            .map_err(|e| format!("cannot write to standard output: {e}"))?;
    }
    out.flush()
        .map_err(|e| format!("cannot write to standard output: {e}"))?;
    if args.apply {
        for patch in &plan.patches {
            crate::outfile::write(
                Path::new(&patch.path),
                patch.fixed.as_bytes(),
                crate::outfile::Access::Keep,
            )?;
        }
    }
    let esc = report::terminal::escape;
    let mut err = std::io::stderr().lock();
    let _ = writeln!(
        err,
        "npmsweep fix: {} finding(s) fixed in {} file(s){}; {} not fixed",
        plan.fixed_findings,
        plan.patches.len(),
        if args.apply || plan.patches.is_empty() {
            ""
        } else {
            " (dry run: --apply writes them)"
        },
        plan.unfixed.len()
    );
    for u in &plan.unfixed {
        let _ = writeln!(
            err,
            "not fixed: {}:{} {}: {}",
            esc(&u.path),
            u.line,
            u.rule_id,
            esc(&u.reason)
        );
    }
    if !plan.checklist.is_empty() {
        let _ = writeln!(err, "\nStill to do by hand:");
        for item in &plan.checklist {
            let _ = writeln!(err, "  [ ] {}", esc(item));
        }
    }
    let left = !plan.unfixed.is_empty() || (!args.apply && !plan.patches.is_empty());
    Ok(if left { EXIT_FINDINGS } else { EXIT_CLEAN })
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

/// `--verify`: ask each credential's registry, put live credentials first,
/// keep only them with `--only-verified`. Without it: mark what is known
/// dead without asking (public-registry legacy tokens).
pub fn settle_liveness(report: &mut Report, output: &OutputArgs) -> Result<(), String> {
    let args = &output.verify;
    if !args.verify {
        if output.fail_on == Some(FailOn::Live) {
            return Err("--fail-on live needs --verify (liveness is known only by asking)".into());
        }
        crate::verify::offline::mark_revoked_public_tokens(&mut report.findings);
        return Ok(());
    }
    let (mut active, suppressed): (Vec<_>, Vec<_>) = std::mem::take(&mut report.findings)
        .into_iter()
        .partition(|f| f.suppressed.is_none());
    if !output.quiet && active.iter().any(|f| f.secret.is_some()) {
        eprintln!("npmsweep: verifying credentials against the registries they are bound to…");
    }
    let outcome = crate::verify::verify(&mut active, &args.options());
    report.stats.notes.push(format!(
        "--verify asked {} registry/credential pair(s): {} live, {} dead, {} unknown",
        outcome.asked, outcome.live, outcome.dead, outcome.unknown
    ));
    active.extend(suppressed);
    if args.only_verified {
        active.retain(|f| {
            f.verification
                .as_ref()
                .is_some_and(|v| v.status == crate::verify::Status::Live)
        });
    }
    crate::finding::sort_findings(&mut active);
    report.findings = active;
    Ok(())
}

/// The colour decision for a stream, made by `anstream`: `--color auto`
/// colours a terminal unless `NO_COLOR`, `CLICOLOR=0` or `TERM=dumb` says
/// otherwise (`CLICOLOR_FORCE` forces it); `always` and `never` are final.
pub fn color_choice(
    choice: ColorChoice,
    stream: &impl anstream::stream::RawStream,
) -> anstream::ColorChoice {
    match choice {
        ColorChoice::Always => anstream::ColorChoice::Always,
        ColorChoice::Never => anstream::ColorChoice::Never,
        ColorChoice::Auto => anstream::AutoStream::choice(stream),
    }
}

/// Write the report where asked, print warnings, and compute the exit code.
pub fn emit(report: &Report, output: &OutputArgs) -> Result<i32, String> {
    // A file named after a token must not print it (`--show-secrets` does).
    let redacted = report.with_paths_redacted();
    let report: &Report = if output.show_secrets {
        report
    } else {
        &redacted
    };
    // A file (`-o`) is coloured only with `--color always`.
    let choice = match (&output.output, output.color) {
        (Some(_), ColorChoice::Auto) => anstream::ColorChoice::Never,
        _ => color_choice(output.color, &std::io::stdout()),
    };
    let format = output.format;
    let opts = ReportOptions {
        show_secrets: output.show_secrets,
        color: choice != anstream::ColorChoice::Never,
        show_suppressed: output.show_suppressed,
        quiet: output.quiet,
        sarif_category: output.sarif_category.clone(),
    };
    {
        let mut err = std::io::stderr().lock();
        // A workflow the CI rules could not read is shown even with --quiet.
        let shown = |w: &&String| !output.quiet || crate::detect::workflow::not_analysed(w);
        for w in report.stats.warnings.iter().filter(shown) {
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
            // The human report goes through anstream (on a Windows console
            // without ANSI support its styles become console calls); the
            // machine formats hold no styles and are written byte for byte.
            let mut out: Box<dyn Write> = if format == Format::Human {
                Box::new(anstream::AutoStream::new(std::io::stdout().lock(), choice))
            } else {
                Box::new(std::io::stdout().lock())
            };
            out.write_all(&buf)
                .and_then(|_| out.flush())
                .map_err(|e| format!("cannot write to standard output: {e}"))?;
        }
    }
    // The extra reports: same findings, no colour, each in its own file.
    for (format, path) in output.extra_reports() {
        let mut buf = Vec::new();
        let opts = ReportOptions {
            color: false,
            ..opts.clone()
        };
        report::write(format, report, &opts, &mut buf).map_err(|e| e.to_string())?;
        // JSON can carry secrets with --show-secrets (SARIF never does).
        let access = if output.show_secrets && format != Format::Sarif {
            crate::outfile::Access::OwnerOnly
        } else {
            crate::outfile::Access::Default
        };
        crate::outfile::write(path, &buf, access)?;
    }
    let fail_on = crate::filter::fail_on(output);
    let failing = report
        .findings
        .iter()
        .any(|f| f.suppressed.is_none() && fail_on.fails(f));
    Ok(if failing { EXIT_FINDINGS } else { EXIT_CLEAN })
}
