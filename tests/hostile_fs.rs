//! Hostile working trees (issue 11): FIFOs and device links as ignore files
//! or scanned files, tracked symbolic links to files outside the tree. The
//! binary runs under a timeout so that a regression is a failure, not a hang.

#![cfg(unix)]

mod support {
    pub mod cli;
}
use support::cli::{git, json};

use npmsweep::token::fake_token;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Run npmsweep, killing it if it has not finished in 60 s (a hang).
fn npmsweep(args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run npmsweep");
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("npmsweep {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn mkfifo(p: &Path) {
    assert!(
        Command::new("mkfifo")
            .arg(p)
            .status()
            .expect("mkfifo")
            .success()
    );
}

fn paths(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn special_ignore_files_neither_hang_nor_exhaust_memory() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token = fake_token("npm_", 11);
    mkfifo(&root.join(".gitignore"));
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    symlink("/dev/zero", root.join("sub/.ignore")).unwrap();
    std::fs::write(root.join("sub/deeper/.env"), format!("NPM_TOKEN={token}\n")).unwrap();
    std::fs::write(root.join("top.txt"), format!("{token}\n")).unwrap();
    mkfifo(&root.join("named-pipe.txt"));

    let out = npmsweep(&["scan", ".", "--format", "json"], root);
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    let mut found = paths(&doc);
    found.sort();
    assert_eq!(found, ["sub/deeper/.env", "top.txt"]);
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains(".gitignore: is a FIFO"), "{warnings}");
    // A FIFO inside the tree is skipped, counted and named, never opened
    // for a blocking read.
    assert!(warnings.contains("named-pipe.txt: skipped"), "{warnings}");
    assert!(doc["summary"]["skipped"].as_u64().unwrap() >= 1, "{doc}");

    // Only the nested ignore file is bad: the rest of the tree keeps its
    // ignore rules, the directory is scanned without them.
    std::fs::remove_file(root.join(".gitignore")).unwrap();
    std::fs::write(root.join(".gitignore"), "top.txt\n").unwrap();
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], root));
    assert_eq!(paths(&doc), ["sub/deeper/.env"]);
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains(
            "sub/.ignore: is a symbolic link; not applied: sub is scanned without ignore files"
        ),
        "{warnings}"
    );

    // With -L the FIFO and the device behind links are still never read.
    let out = npmsweep(
        &["scan", ".", "-L", "--no-ignore", "--format", "json"],
        root,
    );
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn tracked_symlinks_are_not_followed_without_dash_l() {
    let outside = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 12);
    let secret = outside.path().join("environ");
    std::fs::write(&secret, format!("NPM_TOKEN={token}\n")).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    symlink(&secret, root.join("env.txt")).unwrap();
    // A link whose target path itself is a token: what git stores is scanned.
    symlink(fake_token("npm_", 13), root.join("odd-link")).unwrap();
    // Ignored but tracked: the tracked-file pass must not follow it either.
    std::fs::write(root.join(".gitignore"), "env.txt\nodd-link\n").unwrap();
    git(root, &["add", "-f", ".gitignore", "env.txt", "odd-link"]);
    git(root, &["commit", "-qm", "links"]);

    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], root));
    assert_eq!(paths(&doc), ["odd-link"], "{doc}");
    std::fs::remove_file(root.join(".gitignore")).unwrap();
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], root));
    assert_eq!(paths(&doc), ["odd-link"], "{doc}");

    // -L asks for it: the target is read (it is a regular file).
    let doc = json(&npmsweep(&["scan", ".", "-L", "--format", "json"], root));
    let mut found = paths(&doc);
    found.sort();
    assert_eq!(found, ["env.txt"], "{doc}");
}

#[test]
fn history_skips_blobs_over_max_file_size_from_their_header() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    let token = fake_token("npm_", 14);
    let big = format!("{token}\n{}", "x".repeat(4000));
    std::fs::write(root.join("big.txt"), &big).unwrap();
    std::fs::write(
        root.join("small.txt"),
        format!("{}\n", fake_token("npm_", 15)),
    )
    .unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "blobs"]);
    // Loose and packed objects alike.
    for pack in [false, true] {
        if pack {
            git(root, &["gc", "-q"]);
        }
        let out = npmsweep(
            &[
                "history",
                ".",
                "--max-file-size",
                "1000",
                "--format",
                "json",
            ],
            root,
        );
        let doc = json(&out);
        assert_eq!(paths(&doc), ["small.txt"], "{doc}");
        let warnings = doc["warnings"].to_string();
        assert!(
            warnings.contains("skipped: 4041 bytes is over --max-file-size 1000"),
            "{warnings}"
        );
        let doc = json(&npmsweep(&["history", ".", "--format", "json"], root));
        assert_eq!(paths(&doc).len(), 2, "{doc}");
    }
}

#[test]
fn file_names_that_are_not_utf8_stay_distinct() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token = fake_token("npm_", 16);
    for name in [&b"a\xff.txt"[..], b"a\xfe.txt"] {
        let path = root.join(std::ffi::OsStr::from_bytes(name));
        std::fs::write(path, format!("{token}\n")).unwrap();
    }
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], root));
    assert_eq!(paths(&doc), ["a\\xFE.txt", "a\\xFF.txt"], "{doc}");
    let fingerprints: std::collections::BTreeSet<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["fingerprint"].to_string())
        .collect();
    assert_eq!(fingerprints.len(), 2);

    git(root, &["init", "-q"]);
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "names"]);
    let doc = json(&npmsweep(&["history", ".", "--format", "json"], root));
    assert_eq!(paths(&doc), ["a\\xFE.txt", "a\\xFF.txt"], "{doc}");
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], root));
    assert_eq!(
        paths(&doc).len(),
        2,
        "tracked pass finds the same files: {doc}"
    );
}

#[test]
fn special_files_in_git_objects_are_refused_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    std::fs::write(root.join(".npmrc"), format!("{}\n", fake_token("npm_", 17))).unwrap();
    git(root, &["add", "."]);
    git(root, &["commit", "-qm", "token"]);
    let fan = root.join(".git/objects/ab");
    std::fs::create_dir_all(&fan).unwrap();
    mkfifo(&fan.join("c".repeat(38)));
    symlink("/dev/zero", fan.join("d".repeat(38))).unwrap();
    mkfifo(&root.join(format!(".git/objects/pack/pack-{}.idx", "e".repeat(40))));
    for extra in [&[][..], &["--all-objects"]] {
        let mut args = vec!["history", ".", "--format", "json"];
        args.extend_from_slice(extra);
        let out = npmsweep(&args, root);
        let doc = json(&out);
        assert_eq!(paths(&doc), [".npmrc"], "{doc}");
        let warnings = doc["warnings"].to_string();
        assert!(
            warnings.contains("a FIFO, not a regular file"),
            "{warnings}"
        );
        assert!(
            warnings.contains("a symbolic link, not a regular file"),
            "{warnings}"
        );
    }
}
