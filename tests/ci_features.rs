//! End-to-end tests of the CI features: `npmsweep.toml`, inline
//! `npmsweep:ignore` comments, baselines, `scan --staged`, `--format github`,
//! quiet output and the pre-commit hook definition. Every test runs the
//! built binary on a temporary tree or repository; tokens are generated at
//! run time (nothing real-looking is committed).

mod support {
    pub mod cli;
}
use support::cli::{json, stderr, stdout, write};

use npmsweep::rules::{expand_templates, synthetic_uuid};
use npmsweep::token::fake_token;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_npmsweep")
}

fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("NO_COLOR")
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run npmsweep")
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

/// `(path, line, rule_id)` of each reported finding.
fn findings(doc: &Value) -> Vec<(String, u64, String)> {
    doc["findings"]
        .as_array()
        .expect("findings array")
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn git_output(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "ci")
        .env("GIT_AUTHOR_EMAIL", "ci@example.com")
        .env("GIT_COMMITTER_NAME", "ci")
        .env("GIT_COMMITTER_EMAIL", "ci@example.com")
        .output()
        .expect("run git")
}

fn git(dir: &Path, args: &[&str]) {
    let out = git_output(dir, args);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn git_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    git(dir.path(), &["init", "-q", "-b", "main"]);
    write(dir.path(), "README.md", "# demo\n");
    git(dir.path(), &["add", "README.md"]);
    git(dir.path(), &["commit", "-q", "-m", "init"]);
    dir
}

// ---------------------------------------------------------------- config

#[test]
fn config_overrides_severity_and_fail_on_but_the_command_line_wins() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 11);
    write(dir.path(), "app.env", format!("NPM_TOKEN={token}\n"));
    write(
        dir.path(),
        "npmsweep.toml",
        "# lowered for the demo\nfail-on = \"high\"\n\n[severity]\nnpm-token = \"medium\"\n",
    );

    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["rule_id"], "npm-token");
    assert_eq!(doc["findings"][0]["severity"], "medium");

    let out = run(
        dir.path(),
        &["scan", ".", "--format", "json", "--fail-on", "low"],
    );
    assert_eq!(code(&out), 1, "--fail-on on the command line must win");

    let out = run(
        dir.path(),
        &["scan", ".", "--format", "json", "--no-config"],
    );
    assert_eq!(code(&out), 1);
    assert_eq!(json(&out)["findings"][0]["severity"], "critical");
}

#[test]
fn config_excludes_paths_and_disables_rules() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 12);
    write(
        dir.path(),
        "fixtures/deep/a.env",
        format!("NPM_TOKEN={token}\n"),
    );
    write(dir.path(), "docs/guide.md", format!("token: {token}\n"));
    write(dir.path(), "src/app.env", format!("NPM_TOKEN={token}\n"));
    write(
        dir.path(),
        "src/legacy.env",
        format!("NPM_TOKEN={}\n", synthetic_uuid(3)),
    );
    write(
        dir.path(),
        "npmsweep.toml",
        "exclude = [\"fixtures\", \"*.md\"]\ndisable = [\"npm-legacy-token\"]\n",
    );
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 1);
    assert_eq!(
        findings(&json(&out)),
        [("src/app.env".to_string(), 1, "npm-token".to_string())]
    );
}

#[test]
fn config_adds_credential_names_and_placeholders() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "deploy.env",
        format!("ACME_PUBLISH={}\n", synthetic_uuid(7)),
    );
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 0, "a UUID under an unknown name is not npm's");

    write(
        dir.path(),
        "npmsweep.toml",
        "credential-names = [\"ACME_PUBLISH\"]\n",
    );
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stdout(&out));
    assert_eq!(findings(&json(&out))[0].2, "npm-legacy-token");

    // A team-specific placeholder stops being reported once configured.
    let placeholder = "acme-fill-me-in-later-0001";
    let key = ["//registry.npmjs.org/:", "_authToken"].concat();
    write(dir.path(), "deploy.env", "\n");
    write(dir.path(), ".npmrc", format!("{key}={placeholder}\n"));
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 1, "a literal value is reported by default");
    write(
        dir.path(),
        "npmsweep.toml",
        format!("placeholders = [\"{placeholder}\"]\n"),
    );
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn config_errors_name_file_line_and_column_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "npmsweep.toml",
        "fail-on = \"high\"\nexclud = [\"x\"]\n",
    );
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("npmsweep.toml:2:1:"), "{err}");
    assert!(err.contains("exclud"), "{err}");

    write(dir.path(), "npmsweep.toml", "\n\nexclude = \"fixtures\"\n");
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 2);
    let err = stderr(&out);
    assert!(err.contains("npmsweep.toml:3:11:"), "{err}");
    assert!(err.contains("expected a sequence"), "{err}");

    write(dir.path(), "npmsweep.toml", "disable = [\"npm-tokens\"]\n");
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("npmsweep.toml:1:12: disable: unknown rule id \"npm-tokens\""));

    // --no-config skips the broken file; --config points elsewhere.
    let out = run(dir.path(), &["scan", ".", "--no-config"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let elsewhere = tempfile::tempdir().unwrap();
    write(elsewhere.path(), "ci.toml", "fail-on = \"severe\"\n");
    let cfg = elsewhere.path().join("ci.toml");
    let out = run(
        dir.path(),
        &["scan", ".", "--config", cfg.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("ci.toml:1:11: unknown severity"),
        "{}",
        stderr(&out)
    );
    let missing = elsewhere.path().join("missing.toml");
    let out = run(
        dir.path(),
        &["scan", ".", "--config", missing.to_str().unwrap()],
    );
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("cannot read configuration"));
}

// ----------------------------------------------------------- suppression

#[test]
fn each_comment_style_suppresses_and_values_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let t = fake_token("npm_", 21);
    // Suppressed: the directive is a comment on the line or alone on the line before.
    write(
        dir.path(),
        "hash.env",
        format!("NPM_TOKEN={t} # npmsweep:ignore test fixture\n"),
    );
    write(
        dir.path(),
        "slash.js",
        format!("// npmsweep:ignore\nconst t = \"{t}\";\n"),
    );
    write(
        dir.path(),
        "semi.ini",
        format!("; npmsweep:ignore npm-token rotated\ntoken = {t}\n"),
    );
    write(
        dir.path(),
        "html.md",
        format!("<!-- npmsweep:ignore documented sample -->\n`{t}`\n"),
    );
    // Not suppressed: another rule named, the text in a value, a trailing
    // comment on the previous line.
    write(
        dir.path(),
        "other.env",
        format!("# npmsweep:ignore npm-legacy-token\nNPM_TOKEN={t}\n"),
    );
    write(
        dir.path(),
        "value.env",
        format!("HELP=\"npmsweep:ignore\"\nNPM_TOKEN={t}\n"),
    );
    write(
        dir.path(),
        "quoted.env",
        format!("NPM_TOKEN={t} MSG=\"x # npmsweep:ignore\"\n"),
    );
    write(
        dir.path(),
        "trailing.env",
        format!("A=1 # npmsweep:ignore\nNPM_TOKEN={t}\n"),
    );

    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    let active: Vec<String> = findings(&doc).into_iter().map(|f| f.0).collect();
    assert_eq!(
        active,
        ["other.env", "quoted.env", "trailing.env", "value.env"]
    );
    assert_eq!(doc["summary"]["suppressed"], 4);
    assert_eq!(doc["summary"]["total"], 4);

    let out = run(
        dir.path(),
        &["scan", ".", "--format", "json", "--show-suppressed"],
    );
    let doc = json(&out);
    let reasons: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["suppressed"].is_string())
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["suppressed"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            ("hash.env".into(), "test fixture".into()),
            ("html.md".into(), "documented sample".into()),
            ("semi.ini".into(), "rotated".into()),
            ("slash.js".into(), "inline npmsweep:ignore".into()),
        ]
    );

    // Human summary counts them; only suppressed findings left → exit 0.
    for f in ["other.env", "value.env", "quoted.env", "trailing.env"] {
        std::fs::remove_file(dir.path().join(f)).unwrap();
    }
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("4 suppressed"), "{}", stdout(&out));
    let out = run(dir.path(), &["scan", ".", "--show-suppressed"]);
    assert!(
        stdout(&out).contains("(suppressed: test fixture)"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn unknown_rule_in_a_directive_warns_and_suppresses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let t = fake_token("npm_", 22);
    write(
        dir.path(),
        "a.env",
        format!("NPM_TOKEN={t} # npmsweep:ignore npm-tokn\n"),
    );
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 1);
    assert!(
        stderr(&out).contains("a.env:1: npmsweep:ignore names unknown rule \"npm-tokn\""),
        "{}",
        stderr(&out)
    );
}

// -------------------------------------------------------------- baseline

#[test]
fn baseline_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("baseline.json");
    let base_s = base.to_str().unwrap();
    let t1 = fake_token("npm_", 31);
    let t2 = fake_token("npm_", 32);
    write(dir.path(), "old.env", format!("NPM_TOKEN={t1}\n"));
    write(
        dir.path(),
        "other.env",
        format!("X=1\nLEGACY_NPM_TOKEN={}\n", synthetic_uuid(9)),
    );

    let out = run(dir.path(), &["baseline", ".", "--output", base_s]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("wrote 2 baseline entries"),
        "{}",
        stderr(&out)
    );
    let text = std::fs::read_to_string(&base).unwrap();
    assert!(
        !text.contains(&t1) && !text.contains(&t1[4..12]),
        "baseline leaks: {text}"
    );
    assert!(
        !text.contains(&synthetic_uuid(9)[..8]),
        "baseline leaks: {text}"
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["npmsweep_baseline"], 2);
    assert_eq!(doc["salt"].as_str().unwrap().len(), 64);
    let entry = &doc["entries"][0];
    assert_eq!(entry["path"], "old.env");
    assert_eq!(entry["rule_id"], "npm-token");
    assert_eq!(entry["note"], "");
    assert!(entry["fingerprint"].as_str().unwrap().len() >= 16);

    // Everything known: clean.
    let out = run(
        dir.path(),
        &["scan", ".", "--baseline", base_s, "--format", "json"],
    );
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(findings(&json(&out)).is_empty());

    // Unrelated edits move the finding down: still matched.
    write(
        dir.path(),
        "old.env",
        format!("# header\nA=1\nB=2\n\nC=3\nNPM_TOKEN={t1}\n"),
    );
    let out = run(dir.path(), &["scan", ".", "--baseline", base_s]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));

    // A new secret: only it is reported.
    write(dir.path(), "new.env", format!("NPM_TOKEN={t2}\n"));
    let out = run(
        dir.path(),
        &["scan", ".", "--baseline", base_s, "--format", "json"],
    );
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    assert_eq!(
        findings(&doc),
        [("new.env".to_string(), 1, "npm-token".to_string())]
    );
    assert!(
        doc["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().contains("stale"))
    );

    // The old secret removed: its entry is listed as stale (JSON and human).
    write(dir.path(), "old.env", "NPM_TOKEN=${NPM_TOKEN}\n");
    let out = run(
        dir.path(),
        &["scan", ".", "--baseline", base_s, "--format", "json"],
    );
    let doc = json(&out);
    let fp = entry["fingerprint"].as_str().unwrap();
    let notes: Vec<&str> = doc["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert!(
        notes
            .iter()
            .any(|n| n.contains("stale entry") && n.contains(fp) && n.contains("old.env")),
        "{notes:?}"
    );
    let out = run(dir.path(), &["scan", ".", "--baseline", base_s]);
    assert!(stdout(&out).contains("stale entry"), "{}", stdout(&out));

    // Rewriting keeps the notes people wrote.
    let edited = text.replacen("\"note\": \"\"", "\"note\": \"accepted: CI fixture\"", 2);
    std::fs::write(&base, &edited).unwrap();
    write(dir.path(), "old.env", format!("NPM_TOKEN={t1}\n"));
    let out = run(dir.path(), &["baseline", ".", "-o", base_s]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap()).unwrap();
    let notes: Vec<&str> = doc["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes
            .iter()
            .filter(|n| **n == "accepted: CI fixture")
            .count(),
        2,
        "{doc}"
    );
    assert_eq!(notes.len(), 3);
}

#[test]
fn baseline_misuse_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["baseline", "."]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("--output FILE is required"));

    write(dir.path(), "precious.txt", "not a baseline\n");
    let out = run(dir.path(), &["baseline", ".", "-o", "precious.txt"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("refusing to overwrite"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("precious.txt")).unwrap(),
        "not a baseline\n"
    );

    let out = run(dir.path(), &["scan", ".", "--baseline", "precious.txt"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("precious.txt:1:"), "{}", stderr(&out));
}

// ---------------------------------------------------------------- staged

#[test]
fn staged_scans_the_index_not_the_working_tree() {
    let repo = git_repo();
    let dir = repo.path();
    let t = fake_token("npm_", 41);
    let t2 = fake_token("npm_", 42);

    // Staged secret, then cleaned on disk without staging: the commit would
    // still carry it.
    write(dir, "config/app.env", format!("NPM_TOKEN={t}\n"));
    git(dir, &["add", "config/app.env"]);
    write(dir, "config/app.env", "NPM_TOKEN=${NPM_TOKEN}\n");
    // Secret on disk, never staged: not part of the commit.
    write(dir, "scratch.env", format!("NPM_TOKEN={t2}\n"));

    let out = run(dir, &["scan", "--staged", "--format", "json"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        findings(&doc),
        [("config/app.env".to_string(), 1, "npm-token".to_string())]
    );
    assert_eq!(doc["findings"][0]["origin"]["kind"], "index");

    // From a subdirectory, the repository root is found.
    let out = run(
        &dir.join("config"),
        &["scan", "--staged", "--format", "json"],
    );
    assert_eq!(findings(&json(&out)).len(), 1);

    // The working tree scan sees the opposite.
    let out = run(dir, &["scan", ".", "--format", "json"]);
    let paths: Vec<String> = findings(&json(&out)).into_iter().map(|f| f.0).collect();
    assert_eq!(paths, ["scratch.env"]);

    // The repository's npmsweep.toml applies to staged scans.
    write(dir, "npmsweep.toml", "exclude = [\"config\"]\n");
    let out = run(dir, &["scan", "--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    std::fs::remove_file(dir.join("npmsweep.toml")).unwrap();

    // Once committed, nothing staged differs from HEAD.
    git(dir, &["commit", "-q", "-m", "add config"]);
    let out = run(dir, &["scan", "--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn staged_outside_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run(dir.path(), &["scan", "--staged"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("--staged needs a git repository"),
        "{}",
        stderr(&out)
    );
}

// ---------------------------------------------------------------- github

#[test]
fn github_format_prints_escaped_redacted_workflow_commands() {
    let dir = tempfile::tempdir().unwrap();
    let t = fake_token("npm_", 51);
    write(
        dir.path(),
        "notes,v1:final.txt",
        format!("intro\nkey {t}\n"),
    );
    write(
        dir.path(),
        "zz.env",
        format!("LEGACY_NPM_TOKEN={}\n", synthetic_uuid(4)),
    );
    write(
        dir.path(),
        "npmsweep.toml",
        "[severity]\nnpm-legacy-token = \"medium\"\n",
    );
    let out = run(dir.path(), &["scan", ".", "--format", "github"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert!(!text.contains(&t), "secret leaked: {text}");
    let lines: Vec<&str> = text.lines().collect();
    let expected = "::error file=notes%2Cv1%3Afinal.txt,line=2,endLine=2,col=5,endColumn=45,\
                    title=npmsweep npm-token%3A npm access token committed::[critical] ";
    assert!(lines[0].starts_with(expected), "{}", lines[0]);
    assert!(
        lines[0].contains("npm_"),
        "redacted preview expected: {}",
        lines[0]
    );
    assert!(
        lines[0].ends_with("How to fix: npmsweep explain npm-token"),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].starts_with("::warning file=zz.env,line=1,"),
        "{}",
        lines[1]
    );
    assert!(
        lines[2].starts_with("npmsweep: 2 finding(s)"),
        "{}",
        lines[2]
    );
    assert_eq!(lines.len(), 3, "{text}");

    // --quiet: only the workflow commands.
    let out = run(dir.path(), &["scan", ".", "--format", "github", "--quiet"]);
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().all(|l| l.starts_with("::")));
}

// ------------------------------------------------------ quiet and colour

#[test]
fn quiet_prints_only_findings_and_no_colour_off_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let t = fake_token("npm_", 61);
    write(dir.path(), "a.env", format!("NPM_TOKEN={t}\n"));
    write(dir.path(), "npmsweep.toml", "");
    let out = run(dir.path(), &["scan", ".", "--quiet"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    assert_eq!(
        text.lines().count(),
        2,
        "path line and finding line only: {text}"
    );
    assert!(!text.contains("finding(s)") && !text.contains("How to fix"));
    assert!(!text.contains('\u{1b}'), "no colour when not a terminal");
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));

    let out = run(dir.path(), &["scan", ".", "--color", "always"]);
    assert!(stdout(&out).contains('\u{1b}'));

    // Stable ordering: two runs are byte-identical.
    write(dir.path(), "b/c.env", format!("NPM_TOKEN={t}\n"));
    write(dir.path(), "b/a.env", format!("NPM_TOKEN={t}\n"));
    let a = run(
        dir.path(),
        &["scan", ".", "--format", "github", "-q", "-j", "2"],
    );
    let b = run(
        dir.path(),
        &["scan", ".", "--format", "github", "-q", "-j", "2"],
    );
    assert_eq!(a.stdout, b.stdout);
    let files: Vec<&str> = std::str::from_utf8(&a.stdout)
        .unwrap()
        .lines()
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        files,
        [
            "::error file=a.env",
            "::error file=b/a.env",
            "::error file=b/c.env"
        ]
    );
}

// ------------------------------------------------------------ pre-commit

/// A hook from `.pre-commit-hooks.yaml`, read with a real YAML parser.
struct Hook {
    id: String,
    entry: String,
    language: String,
    pass_filenames: bool,
}

fn hooks() -> Vec<Hook> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(".pre-commit-hooks.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let options = marked_yaml::LoaderOptions::default()
        .toplevel_sequence()
        .error_on_duplicate_keys(true);
    let root = marked_yaml::parse_yaml_with_options(0, &text, options).expect("valid YAML");
    let seq = root.as_sequence().expect("a list of hooks");
    seq.iter()
        .map(|node| {
            let map = node.as_mapping().expect("a hook is a mapping");
            let s = |k: &str| {
                map.get_scalar(k)
                    .unwrap_or_else(|| panic!("hook without {k}"))
                    .as_str()
                    .to_string()
            };
            for required in ["id", "name", "entry", "language"] {
                assert!(map.get_scalar(required).is_some(), "missing {required}");
            }
            Hook {
                id: s("id"),
                entry: s("entry"),
                language: s("language"),
                pass_filenames: map
                    .get_scalar("pass_filenames")
                    .map(|v| v.as_str() != "false")
                    .unwrap_or(true),
            }
        })
        .collect()
}

/// Run a hook the way pre-commit does: the entry split into words (it uses
/// shell-style splitting; our entries have no quotes), the hook's binary
/// found on PATH, run from the repository root, no file names appended.
fn run_hook(hook: &Hook, repo: &Path) -> Output {
    assert!(
        !hook.entry.contains(['"', '\'', '\\']),
        "entry must split on whitespace: {}",
        hook.entry
    );
    let words: Vec<&str> = hook.entry.split_whitespace().collect();
    let bin_dir: PathBuf = Path::new(bin()).parent().unwrap().to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin_dir).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    Command::new(words[0])
        .args(&words[1..])
        .current_dir(repo)
        .env("PATH", path)
        .env_remove("NO_COLOR")
        .output()
        .expect("run the hook entry")
}

#[test]
fn pre_commit_hooks_run_the_binary_on_staged_content() {
    let hooks = hooks();
    let ids: Vec<&str> = hooks.iter().map(|h| h.id.as_str()).collect();
    assert_eq!(ids, ["npmsweep", "npmsweep-system"]);
    for hook in &hooks {
        assert!(["rust", "system"].contains(&hook.language.as_str()));
        assert!(!hook.pass_filenames, "{}: the index is the input", hook.id);
        assert!(hook.entry.starts_with("npmsweep "), "{}", hook.entry);

        let repo = git_repo();
        let dir = repo.path();
        let t = fake_token("npm_", 71);
        write(dir, "clean.txt", "hello\n");
        git(dir, &["add", "clean.txt"]);
        let out = run_hook(hook, dir);
        assert_eq!(
            code(&out),
            0,
            "{}: {}{}",
            hook.id,
            stdout(&out),
            stderr(&out)
        );

        write(dir, ".env.production", format!("NPM_TOKEN={t}\n"));
        git(dir, &["add", ".env.production"]);
        let out = run_hook(hook, dir);
        assert_eq!(
            code(&out),
            1,
            "{}: a staged token must block the commit",
            hook.id
        );
        let text = stdout(&out);
        assert!(
            text.contains(".env.production") && text.contains("npm-token"),
            "{text}"
        );
        assert!(!text.contains(&t), "hook output leaks the token");
    }
}

#[test]
fn templates_expand_for_documentation_examples() {
    // The README's recipes use the same templates as rule examples; make sure
    // the suppression example from the README really suppresses.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs.env",
        expand_templates(
            "# npmsweep:ignore npm-token sample shown in the docs\nNPM_TOKEN={{npm_token}}\n",
        ),
    );
    let out = run(dir.path(), &["scan", "."]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(stdout(&out).contains("1 suppressed"));
}

// ------------------------------------------------------- pull-request mode

#[test]
fn pull_request_range_honours_suppressions_and_a_worktree_baseline() {
    let repo = git_repo();
    let dir = repo.path();
    let t1 = fake_token("npm_", 81);
    let t2 = fake_token("npm_", 82);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(
        dir,
        "fixtures/sample.env",
        format!("# npmsweep:ignore npm-token documented sample\nNPM_TOKEN={t1}\n"),
    );
    write(dir, "deploy.env", format!("NPM_TOKEN={t2}\n"));
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "add deploy config"]);

    // Record a baseline from the working tree while the secret is there.
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("baseline.json");
    let base_s = base.to_str().unwrap();
    let out = run(dir, &["baseline", ".", "-o", base_s]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));

    // The secret is removed in a later commit: still in the pushed history.
    write(dir, "deploy.env", "NPM_TOKEN=${NPM_TOKEN}\n");
    git(dir, &["commit", "-q", "-am", "use the secret store"]);
    let out = run(dir, &["scan", ".", "--format", "json"]);
    assert_eq!(
        code(&out),
        0,
        "the final tree is clean (the sample is suppressed)"
    );

    let out = run(
        dir,
        &["history", "--range", "main..feature", "--format", "json"],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(
        findings(&doc),
        [("deploy.env".to_string(), 1, "npm-token".to_string())]
    );
    assert_eq!(doc["summary"]["suppressed"], 1, "{doc}");

    // The same fingerprint from the tree scan matches the history finding.
    let out = run(
        dir,
        &[
            "history",
            "--range",
            "main..feature",
            "--baseline",
            base_s,
            "--format",
            "github",
        ],
    );
    assert_eq!(code(&out), 0, "{}{}", stdout(&out), stderr(&out));
    assert!(!stdout(&out).contains("::error"), "{}", stdout(&out));
}

#[test]
fn partial_scans_do_not_call_unscanned_baseline_entries_stale() {
    let repo = git_repo();
    let dir = repo.path();
    let t = fake_token("npm_", 91);
    write(dir, "old.env", format!("NPM_TOKEN={t}\n"));
    git(dir, &["add", "old.env"]);
    git(dir, &["commit", "-q", "-m", "old"]);
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("b.json");
    let base_s = base.to_str().unwrap();
    assert_eq!(code(&run(dir, &["baseline", ".", "-o", base_s])), 0);

    write(dir, "new.txt", "hello\n");
    git(dir, &["add", "new.txt"]);
    let out = run(
        dir,
        &["scan", "--staged", "--baseline", base_s, "--format", "json"],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let doc = json(&out);
    assert!(doc["notes"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn history_range_does_not_call_untouched_baseline_entries_stale() {
    let repo = git_repo();
    let dir = repo.path();
    write(
        dir,
        "old.env",
        format!("NPM_TOKEN={}\n", fake_token("npm_", 95)),
    );
    git(dir, &["add", "old.env"]);
    git(dir, &["commit", "-q", "-m", "old"]);
    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("b.json");
    let base_s = base.to_str().unwrap();
    assert_eq!(code(&run(dir, &["baseline", ".", "-o", base_s])), 0);
    git(dir, &["checkout", "-q", "-b", "feature"]);
    write(dir, "new.txt", "hello\n");
    git(dir, &["add", "new.txt"]);
    git(dir, &["commit", "-q", "-m", "new"]);

    let range = ["history", "--range", "main..feature", "--baseline", base_s];
    let out = run(dir, &[&range[..], &["--format", "json"]].concat());
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        json(&out)["notes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| !n.as_str().unwrap().contains("stale"))
    );

    // A full sweep does check every entry: removing the secret everywhere
    // (a rewritten history) would make it stale; here it is still matched.
    let out = run(dir, &["history", "--baseline", base_s, "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
}

#[test]
fn baseline_matches_workflow_findings_after_lines_move() {
    // Findings without a secret (workflow rules) use a detector key, not the
    // line, so they also survive edits above them.
    let dir = tempfile::tempdir().unwrap();
    let workflow = "name: release\non: push\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      \
                    - uses: actions/checkout@v5\n      - uses: actions/setup-node@v4\n        with:\n          \
                    registry-url: https://registry.npmjs.org\n      - run: npm publish\n        env:\n          \
                    NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    write(dir.path(), ".github/workflows/release.yml", workflow);
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(code(&out), 1);
    let before = findings(&json(&out));
    assert!(!before.is_empty());

    let work = tempfile::tempdir().unwrap();
    let base = work.path().join("b.json");
    let base_s = base.to_str().unwrap();
    assert_eq!(code(&run(dir.path(), &["baseline", ".", "-o", base_s])), 0);
    write(
        dir.path(),
        ".github/workflows/release.yml",
        format!("# Release pipeline.\n# Owned by the platform team.\n\n{workflow}"),
    );
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    let after = findings(&json(&out));
    assert_eq!(after.len(), before.len());
    assert!(after.iter().zip(&before).all(|(a, b)| a.1 == b.1 + 3));
    let out = run(dir.path(), &["scan", ".", "--baseline", base_s]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
}

#[test]
fn github_format_lists_suppressed_findings_as_notices_on_request() {
    let dir = tempfile::tempdir().unwrap();
    let t = fake_token("npm_", 99);
    write(
        dir.path(),
        "a.env",
        format!("NPM_TOKEN={t} # npmsweep:ignore revoked, 100% safe\n"),
    );
    let out = run(dir.path(), &["scan", ".", "--format", "github"]);
    assert_eq!(code(&out), 0);
    assert!(!stdout(&out).contains("::"), "{}", stdout(&out));
    let out = run(
        dir.path(),
        &["scan", ".", "--format", "github", "--show-suppressed"],
    );
    assert_eq!(code(&out), 0);
    let first = stdout(&out).lines().next().unwrap().to_string();
    assert!(first.starts_with("::notice file=a.env,line=1,"), "{first}");
    assert!(
        first.contains("suppressed: revoked, 100%25 safe"),
        "{first}"
    );
}

#[test]
fn sarif_marks_inline_suppressions_as_in_source() {
    let dir = tempfile::tempdir().unwrap();
    let t = fake_token("npm_", 97);
    write(
        dir.path(),
        "a.env",
        format!("# npmsweep:ignore npm-token revoked fixture\nNPM_TOKEN={t}\n"),
    );
    write(dir.path(), "b.env", format!("NPM_TOKEN={t}\n"));
    let out = run(dir.path(), &["scan", ".", "--format", "sarif"]);
    assert_eq!(code(&out), 1);
    let doc = json(&out);
    let results = doc["runs"][0]["results"].as_array().unwrap();
    let by_path = |p: &str| {
        results
            .iter()
            .find(|r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == p)
            .unwrap_or_else(|| panic!("no result for {p}: {doc}"))
    };
    let s = &by_path("a.env")["suppressions"][0];
    assert_eq!(s["kind"], "inSource");
    assert_eq!(s["justification"], "revoked fixture");
    assert!(by_path("b.env").get("suppressions").is_none());
}

#[test]
fn github_format_puts_the_most_severe_first_and_explains_the_annotation_cap() {
    let dir = tempfile::tempdir().unwrap();
    // a.env sorts first by path but is only medium after the override.
    write(
        dir.path(),
        "a.env",
        format!("LEGACY_NPM_TOKEN={}\n", synthetic_uuid(1)),
    );
    write(
        dir.path(),
        "npmsweep.toml",
        "[severity]\nnpm-legacy-token = \"medium\"\n",
    );
    for i in 0..11 {
        write(
            dir.path(),
            &format!("z/{i:02}.env"),
            format!("NPM_TOKEN={}\n", fake_token("npm_", 200 + i)),
        );
    }
    let out = run(dir.path(), &["scan", ".", "--format", "github"]);
    assert_eq!(code(&out), 1);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[..11].iter().all(|l| l.starts_with("::error file=z/")),
        "{text}"
    );
    assert!(lines[0].starts_with("::error file=z/00.env,"), "{text}");
    assert!(lines[11].starts_with("::warning file=a.env,"), "{text}");
    assert!(
        text.contains("at most 10 annotations of each level"),
        "{text}"
    );
}

#[test]
fn staged_skips_intent_to_add_and_warns_about_conflicts() {
    let repo = git_repo();
    let dir = repo.path();
    // `git add -N` announces a path without staging its content.
    write(
        dir,
        "later.env",
        format!("NPM_TOKEN={}\n", fake_token("npm_", 301)),
    );
    git(dir, &["add", "-N", "later.env"]);
    let out = run(dir, &["scan", "--staged", "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    std::fs::remove_file(dir.join("later.env")).unwrap();
    git(dir, &["rm", "-q", "--cached", "later.env"]);

    // A merge conflict leaves unmerged entries: reported, not scanned.
    write(dir, "conf.txt", "base\n");
    git(dir, &["add", "conf.txt"]);
    git(dir, &["commit", "-q", "-m", "base"]);
    git(dir, &["checkout", "-q", "-b", "other"]);
    write(dir, "conf.txt", "theirs\n");
    git(dir, &["commit", "-q", "-am", "theirs"]);
    git(dir, &["checkout", "-q", "main"]);
    write(dir, "conf.txt", "ours\n");
    git(dir, &["commit", "-q", "-am", "ours"]);
    let merge = git_output(dir, &["merge", "other"]);
    assert!(
        String::from_utf8_lossy(&merge.stdout).contains("CONFLICT"),
        "the merge must conflict: {}{}",
        String::from_utf8_lossy(&merge.stdout),
        String::from_utf8_lossy(&merge.stderr)
    );
    let out = run(dir, &["scan", "--staged"]);
    assert_eq!(code(&out), 0, "{}", stdout(&out));
    assert!(
        stderr(&out).contains("conf.txt: unmerged (conflicted) in the index"),
        "{}",
        stderr(&out)
    );
}
