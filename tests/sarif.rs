//! End-to-end tests of `--format sarif`: the binary scans trees with planted
//! credentials (generated at run time), and every log it writes is checked
//! against the SARIF 2.1.0 schema and GitHub's upload constraints.

mod support {
    pub mod cli;
    pub mod sarif_schema;
}
use support::cli::{npmsweep, write};

use npmsweep::rules::expand_templates;
use npmsweep::token::fake_token;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use support::sarif_schema::{assert_github_acceptable, assert_schema_valid, gzip_size};

/// Run a SARIF scan of `dir` and return the raw log after checking it is
/// valid SARIF that GitHub would accept.
fn sarif_scan(dir: &Path, extra: &[&str]) -> (Output, Vec<u8>) {
    let mut args = vec!["scan", ".", "--format", "sarif"];
    args.extend_from_slice(extra);
    let out = npmsweep(&args, dir);
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(1),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let raw = out.stdout.clone();
    let log: Value = serde_json::from_slice(&raw)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&raw)));
    assert_schema_valid(&log);
    assert_github_acceptable(&raw);
    keep_for_external_validation(&raw);
    (out, raw)
}

/// With `NPMSWEEP_SARIF_OUT=DIR`, every log the tests produce is also saved
/// there, so `scripts/validate-sarif.sh` can run Microsoft's SARIF
/// Multitool (spec and GitHub ingestion rules) over exactly these files.
fn keep_for_external_validation(raw: &[u8]) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let Some(dir) = std::env::var_os("NPMSWEEP_SARIF_OUT") else {
        return;
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("test")
        .replace("::", "-");
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let path = Path::new(&dir).join(format!("{test}-{n}.sarif"));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(&path, raw).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

fn parse(raw: &[u8]) -> Value {
    serde_json::from_slice(raw).unwrap()
}

fn results(log: &Value) -> &Vec<Value> {
    log["runs"][0]["results"].as_array().unwrap()
}

fn uri(result: &Value) -> &str {
    result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        .as_str()
        .unwrap()
}

/// Every credential value planted by [`planted_tree`], for leak checks.
fn planted_secrets() -> Vec<String> {
    let mut secrets: Vec<String> = [
        "{{npm_token}}",
        "{{npm_token_2}}",
        "{{uuid}}",
        "{{b64_auth}}",
        "{{b64_password}}",
        "{{password}}",
        "{{ghp_token}}",
    ]
    .iter()
    .map(|t| expand_templates(t))
    .collect();
    secrets.extend((10..14).map(|seed| fake_token("npm_", seed)));
    secrets
}

/// A tree with credentials in every kind of file npmsweep reads, under
/// paths that need percent-encoding, plus a suppressed one and a file that
/// cannot be parsed.
fn planted_tree(root: &Path) {
    write(
        root,
        ".npmrc",
        expand_templates(
            "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={{npm_token}}\n",
        ),
    );
    write(
        root,
        ".env",
        expand_templates("NPM_TOKEN={{npm_token_2}}\n"),
    );
    write(
        root,
        "dir with space/#notes.env",
        expand_templates("NPM_TOKEN={{uuid}}\n"),
    );
    write(
        root,
        "ünïcode/config.js",
        format!("const t = \"{}\";\n", fake_token("npm_", 10)),
    );
    write(
        root,
        "packages/a/.npmrc",
        expand_templates(
            "//npm.example.com/:_auth={{b64_auth}}\n//npm.example.com/:_password={{b64_password}}\n",
        ),
    );
    write(
        root,
        ".yarnrc.yml",
        format!("npmAuthToken: {}\n", fake_token("npm_", 11)),
    );
    write(
        root,
        "bunfig.toml",
        format!(
            "[install.registry]\nurl = \"https://registry.npmjs.org/\"\ntoken = \"{}\"\n",
            fake_token("npm_", 12)
        ),
    );
    write(
        root,
        "ci/.npmrc",
        expand_templates("registry=https://ci:{{password}}@npm.example.com/\n"),
    );
    write(
        root,
        "notes.md",
        expand_templates("A GitHub token: {{ghp_token}}\n"),
    );
    write(
        root,
        "fixtures/.env",
        format!(
            "NPM_TOKEN={} # npmsweep:ignore npm-token rotated test fixture\n",
            fake_token("npm_", 13)
        ),
    );
    // Binary content in a config file: searched for tokens, not parsed, and
    // reported as a warning.
    write(root, "bin/.npmrc", b"\0\x01\x02binary\n");
}

#[test]
fn scan_of_planted_tree_is_valid_sarif_github_accepts() {
    let dir = tempfile::tempdir().unwrap();
    planted_tree(dir.path());
    let (out, raw) = sarif_scan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "findings exit 1");
    let log = parse(&raw);
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "npmsweep");
    assert_eq!(
        run["tool"]["driver"]["semanticVersion"],
        env!("CARGO_PKG_VERSION")
    );
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert_eq!(run["automationDetails"]["id"], "npmsweep/scan/");

    // Every rule in the registry is described, whether it fired or not.
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert_eq!(rules.len(), npmsweep::rules::Registry::global().len());
    for rule in rules {
        let md = rule["help"]["markdown"].as_str().unwrap();
        assert!(md.contains("## Remediation"), "{}", rule["id"]);
        assert!(
            md.contains("id-token: write"),
            "{}: trusted publishing",
            rule["id"]
        );
    }
    let token_rule = rules.iter().find(|r| r["id"] == "npm-token").unwrap();
    let help = token_rule["help"]["text"].as_str().unwrap();
    assert!(help.contains("npm token revoke") && help.contains("${NPM_TOKEN}"));
    assert_eq!(token_rule["defaultConfiguration"]["level"], "error");

    // One result per planted credential file at least, each where it was put.
    let uris: Vec<&str> = results(&log).iter().map(uri).collect();
    for expected in [
        ".npmrc",
        ".env",
        "dir%20with%20space/%23notes.env",
        "%C3%BCn%C3%AFcode/config.js",
        "packages/a/.npmrc",
        ".yarnrc.yml",
        "bunfig.toml",
        "ci/.npmrc",
        "fixtures/.env",
    ] {
        assert!(
            uris.contains(&expected),
            "no result for {expected} in {uris:?}"
        );
    }
    let npmrc = results(&log)
        .iter()
        .find(|r| uri(r) == ".npmrc" && r["ruleId"] == "npm-token")
        .expect("token in .npmrc");
    let region = &npmrc["locations"][0]["physicalLocation"]["region"];
    assert_eq!(region["startLine"], 2);
    assert_eq!(
        region["startColumn"], 34,
        "column of the token after `:_authToken=`"
    );
    assert_eq!(region["endColumn"], 34 + 40);
    assert_eq!(npmrc["level"], "error");
    assert!(npmrc["partialFingerprints"]["npmsweep/v1"].is_string());

    // The binary config file is a tool notification, not a silent skip.
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert!(
        notes.iter().any(|n| n["level"] == "warning"
            && n["message"]["text"]
                .as_str()
                .unwrap()
                .contains("bin/.npmrc")),
        "{notes:?}"
    );
    assert_eq!(run["invocations"][0]["executionSuccessful"], true);
}

#[test]
fn inline_suppression_becomes_an_accepted_in_source_suppression() {
    let dir = tempfile::tempdir().unwrap();
    planted_tree(dir.path());
    let (_, raw) = sarif_scan(dir.path(), &[]);
    let log = parse(&raw);
    let suppressed: Vec<&Value> = results(&log)
        .iter()
        .filter(|r| r["suppressions"].is_array())
        .collect();
    assert_eq!(suppressed.len(), 1, "only the fixture is suppressed");
    assert_eq!(uri(suppressed[0]), "fixtures/.env");
    let s = &suppressed[0]["suppressions"][0];
    assert_eq!(s["kind"], "inSource");
    assert_eq!(s["status"], "accepted");
    assert!(
        s["justification"]
            .as_str()
            .unwrap()
            .contains("rotated test fixture")
    );
}

#[test]
fn no_output_format_leaks_a_planted_secret() {
    let dir = tempfile::tempdir().unwrap();
    planted_tree(dir.path());
    let secrets = planted_secrets();
    for format in ["sarif", "json", "human", "github"] {
        let out = npmsweep(
            &["scan", ".", "--format", format, "--show-suppressed"],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(1), "{format}");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        for s in &secrets {
            assert!(
                !stdout.contains(s.as_str()),
                "{format} output contains a planted secret"
            );
            assert!(
                !stderr.contains(s.as_str()),
                "{format} warnings contain a planted secret"
            );
        }
    }
    // SARIF ignores --show-secrets: a code-scanning upload is no place for one.
    let out = npmsweep(
        &["scan", ".", "--format", "sarif", "--show-secrets"],
        dir.path(),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    for s in &secrets {
        assert!(
            !stdout.contains(s.as_str()),
            "--show-secrets leaked into SARIF"
        );
    }
}

#[test]
fn output_is_byte_identical_across_runs_threads_and_directories() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    planted_tree(a.path());
    planted_tree(b.path());
    let (_, first) = sarif_scan(a.path(), &["-j", "1"]);
    let (_, second) = sarif_scan(a.path(), &["-j", "4"]);
    let (_, elsewhere) = sarif_scan(b.path(), &[]);
    assert!(first == second, "same tree, different thread counts");
    assert!(first == elsewhere, "same content in another directory");
    let text = String::from_utf8(first).unwrap();
    assert!(
        !text.contains(a.path().to_str().unwrap()),
        "no absolute paths"
    );
}

#[test]
fn sarif_category_sets_the_automation_id() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".env",
        expand_templates("NPM_TOKEN={{npm_token}}\n"),
    );
    let (_, raw) = sarif_scan(dir.path(), &["--sarif-category", "npmsweep/tree"]);
    assert_eq!(
        parse(&raw)["runs"][0]["automationDetails"]["id"],
        "npmsweep/tree/"
    );
    let (_, raw) = sarif_scan(dir.path(), &["--sarif-category", "custom/"]);
    assert_eq!(parse(&raw)["runs"][0]["automationDetails"]["id"], "custom/");
    let out = npmsweep(
        &["scan", ".", "--format", "sarif", "--sarif-category", " "],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "an empty category is a usage error"
    );
}

#[test]
fn clean_tree_gives_an_empty_but_complete_run() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".npmrc",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
    );
    let (out, raw) = sarif_scan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0));
    let log = parse(&raw);
    assert_eq!(results(&log).len(), 0);
    assert!(
        !log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn sarif_written_to_a_file_is_the_same_log() {
    let dir = tempfile::tempdir().unwrap();
    planted_tree(dir.path());
    let (_, stdout_log) = sarif_scan(dir.path(), &[]);
    let out_dir = tempfile::tempdir().unwrap();
    let file = out_dir.path().join("npmsweep.sarif");
    let out = npmsweep(
        &[
            "scan",
            ".",
            "--format",
            "sarif",
            "-o",
            file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(std::fs::read(&file).unwrap() == stdout_log);
}

/// More findings than GitHub accepts in one run: the log is capped at
/// 25,000 results, keeps the most severe, says what it dropped, and stays
/// under the upload size limit.
#[test]
fn too_many_findings_are_capped_the_way_github_documents() {
    let dir = tempfile::tempdir().unwrap();
    let total = 25_300u64;
    // Under the per-file listing cap (1,000 findings of a rule per file).
    let per_file = 506u64;
    for file in 0..total / per_file {
        let mut text = String::new();
        for seed in file * per_file..(file + 1) * per_file {
            text.push_str(&format!("T{seed}={}\n", fake_token("npm_", 1_000 + seed)));
        }
        write(dir.path(), &format!("dump/part-{file:02}.txt"), text);
    }
    // A legacy token is lower severity than the checksum-valid ones.
    write(
        dir.path(),
        "zz/.env",
        expand_templates("NPM_TOKEN={{uuid}}\n"),
    );
    let (out, raw) = sarif_scan(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "exit code counts every finding");
    let log = parse(&raw);
    let results = results(&log);
    assert_eq!(results.len(), 25_000);
    let notes = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    let text = notes[0]["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("This log holds 25000 of 25301 findings"),
        "{text}"
    );
    assert!(text.contains("--format json"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning: This log holds 25000 of 25301 findings"),
        "the cap is also said on stderr: {stderr}"
    );
    assert!(
        !results.iter().any(|r| uri(r) == "zz/.env"),
        "the least severe finding is the one dropped"
    );
    if let Some(size) = gzip_size(&raw) {
        eprintln!("capped log: {} bytes, {size} gzipped", raw.len());
    }
}

fn git(dir: &Path, args: &[&str]) {
    let st = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2024-03-01T10:00:00Z")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_DATE", "2024-03-01T10:00:00Z")
        .status()
        .expect("run git");
    assert!(st.success(), "git {args:?}");
}

/// A secret that only lives in history keeps its path as the location and
/// carries commit, date and refs in the message and in properties.
#[test]
fn history_findings_are_valid_sarif_with_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["-c", "init.defaultBranch=main", "init", "-q"]);
    write(
        root,
        "deploy/.env",
        expand_templates("NPM_TOKEN={{npm_token}}\n"),
    );
    git(root, &["add", "."]);
    git(root, &["commit", "-q", "-m", "add deploy config"]);
    git(root, &["rm", "-q", "deploy/.env"]);
    git(root, &["commit", "-q", "-m", "remove it"]);

    let out = npmsweep(&["history", ".", "--format", "sarif"], root);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = parse(&out.stdout);
    assert_schema_valid(&log);
    assert_github_acceptable(&out.stdout);
    keep_for_external_validation(&out.stdout);
    let run = &log["runs"][0];
    assert_eq!(run["automationDetails"]["id"], "npmsweep/history/");
    let r = results(&log)
        .iter()
        .find(|r| r["ruleId"] == "npm-token")
        .expect("the historic token");
    assert_eq!(uri(r), "deploy/.env");
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        1
    );
    let text = r["message"]["text"].as_str().unwrap();
    assert!(
        text.contains("Found in git history: introduced in commit"),
        "{text}"
    );
    assert!(text.contains("2024-03-01"), "{text}");
    assert!(text.contains("no longer in HEAD"), "{text}");
    let props = &r["properties"];
    assert_eq!(props["commit"].as_str().unwrap().len(), 40);
    assert!(text.contains(&props["commit"].as_str().unwrap()[..12]));
    assert_eq!(props["in_head"], false);
    assert_eq!(props["origin"], "blob");
    assert_eq!(props["blob_id"].as_str().unwrap().len(), 40);
    assert!(!props["refs"].as_array().unwrap().is_empty());
    let raw = String::from_utf8_lossy(&out.stdout);
    assert!(!raw.contains(&expand_templates("{{npm_token}}")));
    assert!(!raw.contains("t@example.com"), "no author e-mail in alerts");

    let out = npmsweep(
        &[
            "history",
            ".",
            "--format",
            "sarif",
            "--sarif-category",
            "secrets/history",
        ],
        root,
    );
    assert_eq!(
        parse(&out.stdout)["runs"][0]["automationDetails"]["id"],
        "secrets/history/"
    );
}

/// A file or directory named after a token: the name is a finding, and no
/// SARIF location names a file that does not exist. The redacted path names
/// none, so every location under a redacted name is the directory above it
/// (the root for a top-level name), which exists and holds no token; the
/// message gives the redacted path.
#[test]
fn a_token_in_a_path_is_a_finding_located_where_a_file_exists() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let named = fake_token("npm_", 9201);
    let top = fake_token("npm_", 9202);
    let inside = fake_token("npm_", 9203);
    write(root, &format!("cache/{named}.json"), "{}\n");
    write(root, &format!("{top}/notes.txt"), "nothing secret\n");
    // A content finding in a token-named file is located the same way.
    write(
        root,
        &format!("cache/{named}/.npmrc"),
        format!("//registry.npmjs.org/:_authToken={inside}\n"),
    );
    let (out, raw) = sarif_scan(root, &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&raw);
    for t in [&named, &top, &inside] {
        assert!(!text.contains(&t[4..]), "token leaked: {text}");
    }
    let log = parse(&raw);
    let found = results(&log);
    let in_path: Vec<&Value> = found
        .iter()
        .filter(|r| r["ruleId"] == "npm-token-in-path")
        .collect();
    // cache/<named>.json, <top>/notes.txt, and cache/<named>/.npmrc (whose
    // directory is named after the same token: one finding per file).
    assert_eq!(in_path.len(), 3, "{text}");
    for r in found {
        let uri = uri(r);
        let decoded = percent_encoding::percent_decode_str(uri)
            .decode_utf8()
            .unwrap()
            .into_owned();
        assert!(
            root.join(&decoded).exists(),
            "location {uri} does not exist: {r:#}"
        );
        assert!(!decoded.contains('…'), "{uri}");
        assert_eq!(
            r["locations"][0]["physicalLocation"]["region"]["startLine"], 1,
            "{r:#}"
        );
        let message = r["message"]["text"].as_str().unwrap();
        assert!(message.contains("path redacted"), "{message}");
        assert!(message.contains('…'), "{message}");
    }
    let uris: std::collections::BTreeSet<&str> = found.iter().map(uri).collect();
    assert_eq!(
        uris.into_iter().collect::<Vec<_>>(),
        [".", "cache/"],
        "{text}"
    );
    // The content finding is still the token's own.
    assert!(found.iter().any(|r| r["ruleId"] == "npm-token"), "{text}");
}
