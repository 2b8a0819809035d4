//! The publish-readiness summary (npm's 2FA-bypass tokens lose direct
//! publishing from about January 2027): every state on GitHub Actions, in
//! every output format, snapshotted; HEAD-only counting in `history`; the
//! job summary file of `--format github`.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn fixture() -> String {
    std::fs::read_to_string("tests/fixtures/workflows/publish-states.yml").unwrap()
}

fn tree(workflow: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf).unwrap();
    std::fs::write(wf.join("release.yml"), workflow).unwrap();
    dir
}

fn npmsweep(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env_remove("GITHUB_STEP_SUMMARY")
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json(dir: &Path, command: &str) -> Value {
    let out = npmsweep(dir, &[command, ".", "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn json_counts_every_state() {
    let dir = tree(&fixture());
    let doc = json(dir.path(), "scan");
    let r = &doc["publish_readiness"];
    insta::assert_snapshot!("readiness_json", serde_json::to_string_pretty(r).unwrap());
    assert_eq!(r["total"], 7);
    assert_eq!(r["counts"]["will-break"], 2, "token publish + self-hosted");
    assert_eq!(r["counts"]["token-staged"], 1);
    assert_eq!(r["counts"]["trusted-publishing"], 2, "publish + stage");
    assert_eq!(r["counts"]["token-fallback"], 1);
    assert_eq!(r["counts"]["other-registry"], 1);
    assert_eq!(r["staged"], 2);
    assert_eq!(r["direct_publish_with_token_ends"], "about January 2027");
    // The findings agree with the summary.
    let rules: Vec<(&str, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap(),
                f["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    for (rule, line) in [
        ("gha-npm-long-lived-publish-token", 19),
        ("gha-npm-long-lived-stage-token", 29),
        ("gha-npm-long-lived-publish-token", 68),
    ] {
        assert!(rules.contains(&(rule, line)), "{rule}:{line} in {rules:?}");
    }
    assert!(rules.iter().any(|(r, _)| *r == "gha-npm-token-with-oidc"));
    // Trusted publishing, staged or not, and GitHub Packages: no finding
    // about the publish itself.
    for line in [41, 51, 81] {
        assert!(
            !rules.iter().any(|(_, l)| *l == line),
            "line {line}: {rules:?}"
        );
    }
}

#[test]
fn sarif_run_properties_hold_the_same_object() {
    let dir = tree(&fixture());
    let doc = json(dir.path(), "scan");
    let out = npmsweep(dir.path(), &["scan", ".", "--format", "sarif"]);
    let sarif: Value = serde_json::from_slice(&out.stdout).unwrap();
    let props = &sarif["runs"][0]["properties"]["publish_readiness"];
    assert_eq!(props, &doc["publish_readiness"]);
}

#[test]
fn human_section() {
    let dir = tree(&fixture());
    let text = stdout(&npmsweep(dir.path(), &["scan", ".", "--color", "never"]));
    let start = text.find("Publish readiness:").expect("section");
    let end = text[start..].find("\n\n").map_or(text.len(), |e| start + e);
    insta::assert_snapshot!("readiness_human", &text[start..end]);
    // Quiet output is findings only.
    let quiet = stdout(&npmsweep(dir.path(), &["scan", ".", "-q"]));
    assert!(!quiet.contains("Publish readiness"), "{quiet}");
}

#[test]
fn github_job_summary_is_printed_or_written_to_the_step_summary() {
    let dir = tree(&fixture());
    let text = stdout(&npmsweep(dir.path(), &["scan", ".", "--format", "github"]));
    let start = text
        .find("## npm publish readiness")
        .expect("markdown block");
    insta::assert_snapshot!("readiness_github_markdown", &text[start..]);

    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "earlier step\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(["scan", ".github", "--format", "github"])
        .current_dir(dir.path())
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    let log = stdout(&out);
    assert!(!log.contains("## npm publish readiness"), "{log}");
    assert!(log.contains("written to the job summary"), "{log}");
    let written = std::fs::read_to_string(&summary).unwrap();
    assert!(
        written.starts_with("earlier step\n## npm publish readiness"),
        "{written}"
    );
    assert!(
        written.contains("| long-lived token: will break | 2 |"),
        "{written}"
    );
}

#[test]
fn nothing_to_summarise_without_publish_paths() {
    let dir = tree(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n",
    );
    let out = npmsweep(dir.path(), &["scan", ".", "--format", "json"]);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["publish_readiness"]["total"], 0);
    assert_eq!(doc["publish_readiness"]["paths"], serde_json::json!([]));
    let human = stdout(&npmsweep(dir.path(), &["scan", "."]));
    assert!(!human.contains("Publish readiness"), "{human}");
    let github = stdout(&npmsweep(dir.path(), &["scan", ".", "--format", "github"]));
    assert!(!github.contains("publish readiness"), "{github}");
}

#[test]
fn output_is_deterministic() {
    let dir = tree(&fixture());
    for format in ["json", "sarif", "github"] {
        let a = npmsweep(dir.path(), &["scan", ".", "--format", format, "-j", "1"]);
        let b = npmsweep(dir.path(), &["scan", ".", "--format", format, "-j", "2"]);
        assert_eq!(a.stdout, b.stdout, "{format}");
    }
}

fn git(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .args([
            "-c",
            "user.name=T",
            "-c",
            "user.email=t@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .status()
        .unwrap()
        .success();
    assert!(ok, "git {args:?}");
}

/// History counts what publishes at HEAD: a workflow that moved to trusted
/// publishing is ready, although its token version stays a finding.
#[test]
fn history_counts_publish_paths_at_head() {
    let token = "on: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    let trusted = "on: push\npermissions:\n  contents: read\n  id-token: write\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm stage publish\n";
    let dir = tree(token);
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "token"]);
    std::fs::write(dir.path().join(".github/workflows/release.yml"), trusted).unwrap();
    git(dir.path(), &["commit", "-q", "-am", "trusted publishing"]);

    let doc = json(dir.path(), "history");
    let r = &doc["publish_readiness"];
    assert_eq!(r["total"], 1, "{r}");
    assert_eq!(r["counts"]["trusted-publishing"], 1, "{r}");
    assert_eq!(r["paths"][0]["staged"], true);
    assert_eq!(r["paths"][0]["line"], 9);
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule_id"] == "gha-npm-long-lived-publish-token"),
        "the old version is still reported"
    );
}

/// Repository scripts are publish paths too (`ci: "script"`), and count in
/// history at HEAD.
#[test]
fn repository_scripts_are_publish_paths() {
    let dir = tree(
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm test\n",
    );
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap();
    std::fs::write(
        dir.path().join("scripts/release.sh"),
        "#!/bin/sh\necho \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\nnpm publish\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("package.json"),
        "{\n  \"scripts\": {\n    \"stage\": \"NODE_AUTH_TOKEN=$NPM_TOKEN npm stage publish\"\n  }\n}\n",
    )
    .unwrap();
    let check = |doc: &Value| {
        let r = &doc["publish_readiness"];
        assert_eq!(r["total"], 2, "{r}");
        assert_eq!(r["counts"]["will-break"], 1, "{r}");
        assert_eq!(r["counts"]["token-staged"], 1, "{r}");
        assert!(
            r["paths"]
                .as_array()
                .unwrap()
                .iter()
                .all(|p| p["ci"] == "script")
        );
    };
    let doc = json(dir.path(), "scan");
    check(&doc);
    let severities: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["severity"].as_str().unwrap()))
        .collect();
    assert!(
        severities.contains(&("scripts/release.sh", "high")),
        "{severities:?}"
    );
    assert!(
        severities.contains(&("package.json", "medium")),
        "{severities:?}"
    );
    git(dir.path(), &["init", "-q", "-b", "main"]);
    git(dir.path(), &["add", "."]);
    git(dir.path(), &["commit", "-q", "-m", "scripts"]);
    check(&json(dir.path(), "history"));
}
