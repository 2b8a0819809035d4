//! `scan --repos FILE` and `history --repos FILE [--shard I/N]`: run the
//! command once per repository of a shard's share and write one shard
//! report, a JSON document listing each repository's own JSON report and
//! each repository that could not be swept (`failures`). A failure does not
//! stop the run: the report is written, then the exit code is 2.

use super::plan::{self, Entry, ShardSpec};
use crate::cli::{self, HistoryArgs, ScanArgs, ShardArgs};
use crate::report::{self, Format, ReportOptions};
use crate::scan::Report;
use serde::Serialize;
use std::path::{Path, PathBuf};

pub const SHARD_KIND: &str = "npmsweep-shard";

#[derive(Serialize)]
struct ShardDocument {
    schema_version: u32,
    kind: &'static str,
    tool: Tool,
    command: &'static str,
    /// Which shard (0/1 when the whole list was swept).
    shard: ShardInfo,
    reports: Vec<serde_json::Value>,
    failures: Vec<Failure>,
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct ShardInfo {
    index: usize,
    count: usize,
}

#[derive(Serialize)]
struct Failure {
    repository: String,
    error: String,
}

/// The repositories of this shard's share, in name order.
fn share(args: &ShardArgs) -> Result<Vec<Entry>, String> {
    let file = args.repos.as_ref().expect("called with --repos");
    let entries = plan::read(file)?;
    let spec = args.shard.unwrap_or(ShardSpec { index: 0, count: 1 });
    Ok(plan::assign(&entries, spec.count)
        .swap_remove(spec.index)
        .repositories)
}

fn is_url(name: &str) -> bool {
    name.contains("://") || (name.contains('@') && name.contains(':') && !Path::new(name).exists())
}

/// A repository to read: a local path as is, a URL cloned into a temporary
/// directory that is removed when this is dropped.
struct Checkout {
    path: PathBuf,
    temporary: bool,
}

impl Drop for Checkout {
    fn drop(&mut self) {
        if self.temporary {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

fn checkout(name: &str, bare: bool, seq: usize) -> Result<Checkout, String> {
    if !is_url(name) {
        return Ok(Checkout {
            path: PathBuf::from(name),
            temporary: false,
        });
    }
    let dir = std::env::temp_dir().join(format!("npmsweep-clone-{}-{seq}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut git = std::process::Command::new("git");
    git.arg("clone").arg("--quiet");
    // History needs every ref; a working-tree scan needs only the tip.
    if bare {
        git.arg("--mirror");
    } else {
        git.args(["--depth", "1"]);
    }
    let status = git
        .arg("--")
        .arg(name)
        .arg(&dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run git to clone: {e}"))?;
    let checkout = Checkout {
        path: dir,
        temporary: true,
    };
    if !status.success() {
        return Err(format!("git clone failed ({status})"));
    }
    Ok(checkout)
}

/// `scan --repos`.
pub fn scan(args: &ScanArgs) -> Result<i32, String> {
    if args.paths.len() != 1 || args.paths[0] != Path::new(".") || args.staged {
        return Err("--repos names the repositories to scan: give no PATH and no --staged".into());
    }
    run(&args.shard, &args.output, "scan", |name, seq| {
        let checkout = checkout(name, false, seq)?;
        let mut one = args.clone();
        one.shard = ShardArgs::default();
        one.paths = vec![checkout.path.clone()];
        let mut report = cli::scan_report(&mut one)?;
        cli::settle_liveness(&mut report, &one.output)?;
        if report.stats.items == 0 {
            return Err(crate::scan::nothing_scanned(&report).unwrap_or_default());
        }
        Ok((report, one.output))
    })
}

/// `history --repos`.
pub fn history(args: &HistoryArgs) -> Result<i32, String> {
    if args.repo != Path::new(".") || args.purge_plan.is_some() {
        return Err(
            "--repos names the repositories to sweep: give no REPO and no --purge-plan".into(),
        );
    }
    run(&args.shard, &args.output, "history", |name, seq| {
        let checkout = checkout(name, true, seq)?;
        let mut one = args.clone();
        one.shard = ShardArgs::default();
        one.repo = checkout.path.clone();
        one.output.quiet = true; // no progress bar per repository
        let report = crate::history::build_report(&mut one)?;
        Ok((report, one.output))
    })
}

fn run(
    shard: &ShardArgs,
    output: &cli::OutputArgs,
    command: &'static str,
    sweep: impl Fn(&str, usize) -> Result<(Report, cli::OutputArgs), String>,
) -> Result<i32, String> {
    if output.format != Format::Json
        || output.json_output.is_some()
        || output.sarif_output.is_some()
    {
        return Err(
            "--repos writes one JSON shard report (for `npmsweep merge`): use --format json, and merge for other formats"
                .into(),
        );
    }
    let spec = shard.shard.unwrap_or(ShardSpec { index: 0, count: 1 });
    let mut reports = Vec::new();
    let mut failures = Vec::new();
    let mut failing = false;
    for (seq, entry) in share(shard)?.iter().enumerate() {
        let name = crate::source::repository::strip_credentials(&entry.repository);
        if !output.quiet {
            eprintln!("npmsweep: {command} {}", report::terminal::escape(&name));
        }
        match sweep(&entry.repository, seq) {
            Ok((mut report, used)) => {
                // Named as listed (a temporary clone's path means nothing).
                let info = report.repository.get_or_insert_with(Default::default);
                info.path = name.clone();
                for w in report.stats.warnings.iter().filter(|_| !output.quiet) {
                    eprintln!("npmsweep: warning: {name}: {}", report::terminal::escape(w));
                }
                let fail_on = crate::filter::fail_on(&used);
                failing |= report
                    .findings
                    .iter()
                    .any(|f| f.suppressed.is_none() && fail_on.fails(f));
                let opts = ReportOptions {
                    show_secrets: output.show_secrets,
                    color: false,
                    show_suppressed: output.show_suppressed,
                    quiet: true,
                    sarif_category: None,
                };
                let mut buf = Vec::new();
                report::write(Format::Json, &report, &opts, &mut buf).map_err(|e| e.to_string())?;
                reports.push(serde_json::from_slice(&buf).map_err(|e| e.to_string())?);
            }
            Err(error) => {
                let error = crate::redact::scrub(&error).into_owned();
                eprintln!(
                    "npmsweep: error: {name}: {}",
                    report::terminal::escape(&error)
                );
                failures.push(Failure {
                    repository: name,
                    error,
                });
            }
        }
    }
    let doc = ShardDocument {
        schema_version: report::json::SCHEMA_VERSION,
        kind: SHARD_KIND,
        tool: Tool {
            name: "npmsweep",
            version: env!("CARGO_PKG_VERSION"),
        },
        command,
        shard: ShardInfo {
            index: spec.index,
            count: spec.count,
        },
        reports,
        failures,
    };
    let mut text = serde_json::to_vec_pretty(&doc).map_err(|e| e.to_string())?;
    text.push(b'\n');
    match &output.output {
        Some(path) => {
            let access = if output.show_secrets {
                crate::outfile::Access::OwnerOnly
            } else {
                crate::outfile::Access::Default
            };
            crate::outfile::write(path, &text, access)?
        }
        None => {
            use std::io::Write;
            std::io::stdout()
                .lock()
                .write_all(&text)
                .map_err(|e| format!("cannot write to standard output: {e}"))?
        }
    }
    if !doc.failures.is_empty() {
        return Err(format!(
            "{} of {} repositories could not be swept (listed in the report's `failures`)",
            doc.failures.len(),
            doc.failures.len() + doc.reports.len()
        ));
    }
    Ok(if failing {
        cli::EXIT_FINDINGS
    } else {
        cli::EXIT_CLEAN
    })
}
