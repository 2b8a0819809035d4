//! What npmsweep prints and writes when the repository under review is
//! hostile: terminal escapes in every human output path, fail-open exit
//! codes, and output files.

mod support {
    pub mod cli;
}
use support::cli::git_as;

use base64::Engine;
use npmsweep::token::fake_token;
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_npmsweep")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run npmsweep")
}

/// Every ESC must start one of the report's own colour sequences
/// (`ESC [ digits ; … m`); no other control character but newline, and no
/// bidi control, may reach the terminal.
fn assert_terminal_safe(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\u{1b}' {
            let mut j = i + 1;
            assert_eq!(chars.get(j), Some(&'['), "{what}: bare ESC in {text:?}");
            j += 1;
            while chars
                .get(j)
                .is_some_and(|c| c.is_ascii_digit() || *c == ';')
            {
                j += 1;
            }
            assert_eq!(
                chars.get(j),
                Some(&'m'),
                "{what}: ESC that is not a colour at {i}: {text:?}"
            );
            i = j + 1;
            continue;
        }
        assert!(
            c == '\n' || !npmsweep::report::terminal::is_unsafe(c),
            "{what}: unsafe {c:?} at {i}: {text:?}"
        );
        i += 1;
    }
}

const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{202e}\u{2066}\u{9b}8m";

#[test]
fn terminal_escapes_from_the_input_never_reach_the_terminal() {
    let dir = tempfile::TempDir::new().unwrap();
    let repo = dir.path();
    git_as(repo, &["init", "-q"], "x");
    let b64 = base64::engine::general_purpose::STANDARD;
    let token = fake_token("npm_", 4242);
    let npmrc = format!(
        "//a.example.com/:_auth={}\n//b.example.com/:_authToken=abcdefghijkl{}\n# npmsweep:ignore accepted {HOSTILE}\n//c.example.com/:_authToken={token}\n",
        b64.encode(format!("ci{HOSTILE}bot:s3cret-password")),
        "\u{1b}[2J",
    );
    std::fs::write(repo.join(".npmrc"), npmrc).unwrap();
    let hostile_name = format!("x{}.env", "\u{202e}\r\u{1b}[31m\nforged line");
    std::fs::write(repo.join(&hostile_name), format!("NPM_TOKEN={token}\n")).unwrap();
    git_as(repo, &["add", "-A"], "x");
    git_as(
        repo,
        &["commit", "-q", "-m", &format!("add config {HOSTILE}")],
        &format!("Eve {HOSTILE}"),
    );
    for args in [
        &["scan", ".", "--color", "always", "--show-suppressed"][..],
        &["scan", ".", "--color", "never", "--show-suppressed"][..],
        &["history", ".", "--color", "always", "--show-suppressed"][..],
        &["history", ".", "--format", "github"][..],
    ] {
        let out = run(repo, args);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        assert_terminal_safe(&format!("{args:?} stdout"), &out.stdout);
        assert_terminal_safe(&format!("{args:?} stderr"), &out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            !stdout.lines().any(|l| l.starts_with("forged line")),
            "{args:?}: a newline in a file name started a line: {stdout}"
        );
        // Escaped, not dropped: the reader sees that something was there.
        assert!(
            stdout.contains("\\u{1b}") || stdout.contains("%1B"),
            "{args:?}: {stdout}"
        );
    }
    let human = run(repo, &["history", ".", "--color", "always"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(text.contains("Leak report"), "{text}");
    assert!(text.contains("\\u{202e}"), "{text}");
}

fn json_summary(out: &Output) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    doc["summary"].clone()
}

#[test]
fn a_scan_that_read_nothing_is_an_error_not_clean() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    std::fs::write(root.join("big.env"), "NPM_TOKEN=x\n".repeat(10)).unwrap();
    std::fs::create_dir(root.join("empty")).unwrap();
    let fifo = root.join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let cases: [(&[&str], u64); 3] = [
        (&["big.env", "--max-file-size", "10"], 1),
        (&["fifo"], 1),
        (&["empty"], 0),
    ];
    for (args, skipped) in cases {
        for format in ["json", "sarif", "human", "github"] {
            let mut all = vec!["scan"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["--format", format]);
            let out = run(root, &all);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{all:?}: {stderr}");
            assert!(stderr.contains("nothing was scanned"), "{all:?}: {stderr}");
            let stdout = String::from_utf8_lossy(&out.stdout);
            match format {
                "json" => assert_eq!(json_summary(&out)["skipped"], skipped, "{stdout}"),
                "sarif" => {
                    let log: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                    let run = &log["runs"][0];
                    assert_eq!(run["properties"]["skipped"], skipped, "{stdout}");
                    assert_eq!(
                        run["invocations"][0]["executionSuccessful"],
                        skipped == 0,
                        "{stdout}"
                    );
                }
                _ => assert!(
                    stdout.contains(&format!("{skipped} skipped")),
                    "{format}: {stdout}"
                ),
            }
        }
    }
    // One readable file is a scan: the unreadable one is a warning.
    std::fs::write(root.join("ok.env"), "A=1\n").unwrap();
    let out = run(root, &["scan", "ok.env", "fifo", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(json_summary(&out)["skipped"], 1);
    assert_eq!(json_summary(&out)["items_scanned"], 1);
    // `baseline` refuses to record a scan that read nothing.
    let out = run(root, &["baseline", "fifo", "-o", "b.json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o777
}

/// A repository whose history holds a token and a secret with filter-repo's
/// separator in it, with an `origin` whose URL carries a credential.
fn leaky_repo() -> (tempfile::TempDir, std::path::PathBuf, String, String) {
    let dir = tempfile::TempDir::new().unwrap();
    let repo = dir.path().join("my repo");
    std::fs::create_dir(&repo).unwrap();
    git_as(&repo, &["init", "-q"], "x");
    let token = fake_token("npm_", 5151);
    let tricky = "Xy9q==>kq2Lm4Pz8Rt6".to_string();
    std::fs::write(
        repo.join(".npmrc"),
        format!(
            "//registry.npmjs.org/:_authToken={token}\n//registry.example.com/:_authToken={tricky}\n"
        ),
    )
    .unwrap();
    git_as(&repo, &["add", "-A"], "x");
    git_as(&repo, &["commit", "-q", "-m", "add"], "x");
    std::fs::remove_file(repo.join(".npmrc")).unwrap();
    git_as(&repo, &["commit", "-q", "-a", "-m", "remove"], "x");
    git_as(
        &repo,
        &[
            "remote",
            "add",
            "origin",
            "https://ci-bot:ghp_remotecredential123456@example.com/o/r.git",
        ],
        "x",
    );
    (dir, repo, token, tricky)
}

#[test]
fn purge_plan_covers_every_secret_and_is_written_safely() {
    let (dir, repo, token, tricky) = leaky_repo();
    let plan = dir.path().join("plan file.txt");
    let plan_arg = plan.to_str().unwrap();

    // A symlink planted at the plan's path or at its README's is not
    // followed; its target keeps its content and mode.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    for link in [plan.clone(), dir.path().join("plan file.txt.README")] {
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let out = run(&repo, &["history", ".", "--purge-plan", plan_arg]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("symbolic link"));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert_eq!(mode(&victim), 0o644);
        std::fs::remove_file(&link).unwrap();
    }

    let out = run(&repo, &["history", ".", "--purge-plan", plan_arg]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(mode(&plan), 0o600);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert!(text.contains(&format!("literal:{token}==>")), "{text}");
    assert!(text.contains(&format!("literal:{tricky}==>")), "{text}");
    let readme = std::fs::read_to_string(dir.path().join("plan file.txt.README")).unwrap();
    assert!(!readme.contains("remotecredential"), "{readme}");
    assert!(readme.contains("git clone --mirror https://example.com/o/r.git purge.git"));
    assert!(
        readme.contains(&format!("--replace-text '{}'", plan.display())),
        "{readme}"
    );

    // The real git filter-repo removes both secrets from a mirror, when it
    // is installed (`pip install git-filter-repo`).
    let have_filter_repo = Command::new("git")
        .args(["filter-repo", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have_filter_repo {
        eprintln!("git filter-repo not installed: end-to-end purge not run");
        return;
    }
    let mirror = dir.path().join("purge.git");
    git_as(
        dir.path(),
        &[
            "clone",
            "-q",
            "--mirror",
            repo.to_str().unwrap(),
            "purge.git",
        ],
        "x",
    );
    git_as(
        &mirror,
        &["filter-repo", "--force", "--replace-text", plan_arg],
        "x",
    );
    let out = Command::new("git")
        .args(["log", "--all", "-p"])
        .current_dir(&mirror)
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("REDACTED-BY-NPMSWEEP"), "{log}");
    assert!(!log.contains(&token), "{log}");
    assert!(!log.contains(&tricky), "{log}");
}

#[test]
fn report_files_are_never_written_through_links_and_private_with_secrets() {
    let (dir, repo, token, _) = leaky_repo();
    let out_path = dir.path().join("report.json");
    let out_arg = out_path.to_str().unwrap();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    std::os::unix::fs::symlink(&victim, &out_path).unwrap();
    let out = run(&repo, &["history", ".", "--format", "json", "-o", out_arg]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    std::fs::remove_file(&out_path).unwrap();

    // An existing world-readable file is replaced by a private one when
    // the report holds secrets in full.
    std::fs::write(&out_path, "old").unwrap();
    let out = run(
        &repo,
        &[
            "history",
            ".",
            "--format",
            "json",
            "--show-secrets",
            "-o",
            out_arg,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(mode(&out_path), 0o600);
    assert!(std::fs::read_to_string(&out_path).unwrap().contains(&token));
    let out = run(&repo, &["history", ".", "--format", "json", "-o", out_arg]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!std::fs::read_to_string(&out_path).unwrap().contains(&token));
    // `-o /dev/stdout` (a symlink to a stream) still works.
    let out = run(
        &repo,
        &["history", ".", "--format", "json", "-o", "/dev/stdout"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn a_bad_packed_refs_line_is_worked_around_never_clean() {
    let dir = tempfile::TempDir::new().unwrap();
    let repo = dir.path();
    git_as(repo, &["init", "-q"], "x");
    let token = fake_token("npm_", 6161);
    let token2 = fake_token("npm_", 6162);
    std::fs::write(repo.join("a.env"), format!("NPM_TOKEN={token}\n")).unwrap();
    git_as(repo, &["add", "-A"], "x");
    git_as(repo, &["commit", "-q", "-m", "one"], "x");
    git_as(repo, &["checkout", "-q", "-b", "side"], "x");
    std::fs::write(repo.join("b.env"), format!("NPM_TOKEN={token2}\n")).unwrap();
    git_as(repo, &["add", "-A"], "x");
    git_as(repo, &["commit", "-q", "-m", "two"], "x");
    git_as(repo, &["checkout", "-q", "main"], "x");
    git_as(repo, &["tag", "v1"], "x");
    git_as(repo, &["pack-refs", "--all"], "x");
    let packed = repo.join(".git/packed-refs");
    let good = std::fs::read_to_string(&packed).unwrap();
    assert!(good.contains("refs/heads/side"), "{good}");
    // One bad line in the middle.
    let mut lines: Vec<&str> = good.lines().collect();
    lines.insert(2, "this is not a ref line");
    std::fs::write(&packed, lines.join("\n") + "\n").unwrap();

    let out = run(repo, &["history", ".", "--format", "json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let found: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "npm-token")
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(found, ["a.env", "b.env"], "{doc}");
    assert!(doc["summary"]["skipped"].as_u64().unwrap() >= 1, "{doc}");
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains("packed-refs line 3"), "{warnings}");

    // Nothing readable at all: an error, not a clean result.
    std::fs::write(&packed, "garbage\n").unwrap();
    for head in ["refs/heads/main", "refs/heads/side", "refs/tags/v1"] {
        let _ = std::fs::remove_file(repo.join(".git").join(head));
    }
    let out = run(repo, &["history", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A guessable secret (a `_password`) leaves no hash of itself anywhere: its
/// baseline entry, JSON fingerprint and SARIF fingerprints are the same
/// whatever the password, and it has no `secret_id`. Tokens keep a public
/// `secret_id`. Old unsalted baselines are matched and migrated.
#[test]
fn no_brute_forceable_hash_of_a_password_and_baselines_migrate() {
    use npmsweep::finding::{Secret, fingerprint};
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let b64 = base64::engine::general_purpose::STANDARD;
    let token = fake_token("npm_", 7171);
    let npmrc = |password: &str| {
        format!(
            "//registry.example.com/:username=ci-bot\n//registry.example.com/:_password={}\n//registry.npmjs.org/:_authToken={token}\n",
            b64.encode(password)
        )
    };
    let mut seen = Vec::new();
    for password in ["hunter", "s3cret"] {
        std::fs::write(root.join(".npmrc"), npmrc(password)).unwrap();
        let out = run(root, &["scan", ".", "--format", "json"]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let by_rule = |rule: &str| {
            doc["findings"]
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["rule_id"] == rule)
                .unwrap()
                .clone()
        };
        let pw = by_rule("npmrc-basic-auth");
        assert!(pw.get("secret_id").is_none(), "{pw}");
        let tok = by_rule("npm-token");
        assert_eq!(
            tok["secret_id"].as_str().unwrap(),
            Secret::new(token.clone()).id()
        );
        let sarif = run(root, &["scan", ".", "--format", "sarif"]);
        let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
        let prints: Vec<String> = log["runs"][0]["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["partialFingerprints"].to_string())
            .collect();
        seen.push((pw["fingerprint"].clone(), prints));
    }
    assert_eq!(seen[0], seen[1], "fingerprints depend on the password");

    // A format-1 baseline as older versions wrote it (value-derived
    // fingerprints, no salt) is matched, then rewritten salted.
    let old_password = Secret::new(b64.encode("s3cret"));
    let legacy = serde_json::json!({
        "npmsweep_baseline": 1,
        "entries": [
            {"path": ".npmrc", "line": 2, "rule_id": "npmrc-basic-auth", "note": "accepted",
             "fingerprint": fingerprint("npmrc-basic-auth", ".npmrc", &old_password.id())},
            {"path": ".npmrc", "line": 3, "rule_id": "npm-token", "note": "",
             "fingerprint": fingerprint("npm-token", ".npmrc", &Secret::new(token.clone()).id())}
        ]
    });
    let base = root.join("baseline.json");
    std::fs::write(&base, legacy.to_string()).unwrap();
    let base_s = base.to_str().unwrap();
    let out = run(
        root,
        &["scan", ".", "--baseline", base_s, "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("unsalted fingerprints"));
    let out = run(root, &["baseline", ".", "-o", base_s]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("migrated from format 1"));
    let text = std::fs::read_to_string(&base).unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["npmsweep_baseline"], 2);
    assert!(text.contains("\"accepted\""), "{text}");
    assert!(!text.contains(&old_password.id()[..12]), "{text}");
    let out = run(root, &["scan", ".", "--baseline", base_s]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    // Stable: writing it again changes nothing.
    run(root, &["baseline", ".", "-o", base_s]);
    assert_eq!(std::fs::read_to_string(&base).unwrap(), text);
}

/// A pull request that loosens its own gate — `exclude = ["**"]`, a severity
/// override, a baseline accepting its token, an `npmsweep:ignore` comment —
/// is judged with the base's settings and the loosening is reported in
/// every format.
#[test]
fn a_change_cannot_loosen_its_own_gate() {
    let dir = tempfile::TempDir::new().unwrap();
    let repo = dir.path();
    git_as(repo, &["init", "-q"], "x");
    std::fs::write(repo.join("README.md"), "hello\n").unwrap();
    git_as(repo, &["add", "-A"], "x");
    git_as(repo, &["commit", "-q", "-m", "base"], "x");
    git_as(repo, &["checkout", "-q", "-b", "feature"], "x");
    let token = fake_token("npm_", 8181);
    let sample = fake_token("npm_", 8182);
    std::fs::write(repo.join("deploy.env"), format!("NPM_TOKEN={token}\n")).unwrap();
    std::fs::write(
        repo.join("sample.env"),
        format!("# npmsweep:ignore npm-token just a sample\nNPM_TOKEN={sample}\n"),
    )
    .unwrap();
    std::fs::write(
        repo.join("npmsweep.toml"),
        "fail-on = \"critical\"\nexclude = [\"**\"]\n[severity]\nnpm-token = \"low\"\n",
    )
    .unwrap();
    // A baseline accepting everything, written by the change itself.
    let out = run(
        repo,
        &[
            "baseline",
            ".",
            "--no-config",
            "-o",
            "npmsweep-baseline.json",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    git_as(repo, &["add", "-A"], "x");
    git_as(repo, &["commit", "-q", "-m", "loosen"], "x");

    // Without --config-from the change's own settings turn the scan
    // into nothing (and a scan that read nothing is not clean either).
    let out = run(repo, &["scan", ".", "--baseline", "npmsweep-baseline.json"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    let check = |args: &[&str]| {
        for format in ["json", "human", "sarif", "github"] {
            let mut all = args.to_vec();
            all.extend_from_slice(&["--format", format]);
            let out = run(repo, &all);
            let text = String::from_utf8_lossy(&out.stdout);
            assert_eq!(out.status.code(), Some(1), "{all:?}: {out:?}");
            assert!(text.contains("deploy.env"), "{all:?}: {text}");
            assert!(text.contains("modifies npmsweep.toml"), "{all:?}: {text}");
            assert!(
                text.contains("modifies npmsweep-baseline.json"),
                "{all:?}: {text}"
            );
            assert!(
                text.contains("adds an npmsweep:ignore comment at sample.env:1")
                    && text.contains("silencing 1 finding(s)"),
                "{all:?}: {text}"
            );
            if format == "json" {
                let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
                let f = doc["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|f| f["path"] == "deploy.env")
                    .unwrap()
                    .clone();
                assert_eq!(f["severity"], "critical", "{f}");
            }
        }
    };
    // The README's pull-request recipe: the range's base is the default.
    check(&[
        "history",
        "--range",
        "main..feature",
        "--baseline",
        "npmsweep-baseline.json",
    ]);
    check(&[
        "scan",
        ".",
        "--config-from",
        "main",
        "--baseline",
        "npmsweep-baseline.json",
    ]);
}

/// The human report's own line breaks go through `term_line!` (a newline
/// written any other way inside the renderer would be escaped as input):
/// a report of ordinary input shows no escaped control character at all.
#[test]
fn ordinary_human_reports_have_no_escaped_line_breaks() {
    let (_dir, repo, token, _) = leaky_repo();
    std::fs::write(repo.join("deploy.env"), format!("NPM_TOKEN={token}\n")).unwrap();
    std::fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    std::fs::write(
        repo.join(".github/workflows/release.yml"),
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    )
    .unwrap();
    for args in [
        &["history", ".", "--color", "always"][..],
        &["scan", ".", "--color", "never", "--show-suppressed"][..],
    ] {
        let out = run(&repo, args);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.lines().count() > 5, "{args:?}: {text}");
        assert!(
            !text.contains("\\n") && !text.contains("\\u{"),
            "{args:?}: a line break or control written around term_line!: {text}"
        );
    }
}
