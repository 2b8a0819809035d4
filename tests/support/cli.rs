//! What the end-to-end tests share: running the built binary, writing a
//! file of a temporary tree, running git with a fixed identity (and no
//! user or system configuration), and reading a JSON report. A test file
//! uses it with `mod support { pub mod cli; }`.

#![allow(dead_code)] // each test binary uses a different subset

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Run `npmsweep ARGS` in `dir`, colourless, with no `NPMSWEEP_CONFIG`
/// from the environment.
pub fn npmsweep(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("NPMSWEEP_CONFIG")
        .output()
        .expect("run npmsweep")
}

/// Write `content` at `rel` under `root`, creating its directories.
pub fn write(root: &Path, rel: &str, content: impl AsRef<[u8]>) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, content).unwrap();
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The JSON report on standard output (both streams shown if it is not).
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}\nstderr: {}",
            stdout(out),
            stderr(out)
        )
    })
}

/// `git fast-import --quiet` of `stream` into the repository at `dir` (the
/// stream names its own committers), with no user or system configuration.
pub fn fast_import(dir: &Path, stream: &str) {
    use std::io::Write;
    let mut child = Command::new("git")
        .args(["fast-import", "--quiet"])
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .stdin(Stdio::piped())
        .spawn()
        .expect("run git fast-import");
    let mut stdin = child.stdin.take().expect("fast-import's input");
    stdin
        .write_all(stream.as_bytes())
        .expect("feed git fast-import");
    drop(stdin);
    assert!(child.wait().expect("wait for git fast-import").success());
}

/// `git ARGS` in `dir` as author and committer `t`; panics with git's
/// message on failure.
pub fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// `git ARGS` in `dir` with `author` as author name, committer `CI`, one
/// fixed date (2024-03-01), branch `main` and no signing: for tests whose
/// commits carry planted text (an author name) and must be reproducible.
pub fn git_as(dir: &Path, args: &[&str], author: &str) {
    let out = Command::new("git")
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", author)
        .env("GIT_AUTHOR_EMAIL", "dev@example.com")
        .env("GIT_COMMITTER_NAME", "CI")
        .env("GIT_COMMITTER_EMAIL", "ci@example.com")
        .env("GIT_AUTHOR_DATE", "@1709287200 +0000")
        .env("GIT_COMMITTER_DATE", "@1709287200 +0000")
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// `git ARGS` in `dir` at the fixed time `when` (seconds since the epoch),
/// as author and committer Ada Lovelace, branch `main`, no signing and no
/// user or system configuration.
pub fn git_at(dir: &Path, args: &[&str], when: u64) {
    let out = Command::new("git")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", format!("@{when} +0000"))
        .env("GIT_COMMITTER_DATE", format!("@{when} +0000"))
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A repository whose CI file at `path` held `before` in a first commit
/// and `after` in a second one an hour later, swept with `npmsweep
/// history --format json`: the JSON report.
pub fn history_of_two_versions(path: &str, before: &str, after: &str) -> Value {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path();
    git_at(p, &["init", "-q"], 1_700_000_000);
    write(p, path, before);
    git_at(p, &["add", "-A"], 1_700_000_000);
    git_at(p, &["commit", "-q", "-m", "before"], 1_700_000_000);
    write(p, path, after);
    git_at(p, &["add", "-A"], 1_700_003_600);
    git_at(p, &["commit", "-q", "-m", "after"], 1_700_003_600);
    json(&npmsweep(&["history", "--format", "json"], p))
}
