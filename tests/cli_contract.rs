//! What the README and `--help` promise, checked against the binary: each
//! test pins one statement a first-time user relies on. Tokens are
//! generated at run time.

mod support {
    pub mod cli;
}
use support::cli::{json, npmsweep, stderr, stdout, write};

use npmsweep::token::fake_token;
use std::path::Path;
use std::process::{Command, Output};

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap()
}

fn git(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .unwrap()
}

/// Item 1: `baseline` takes the scan flags that choose what is scanned, and
/// says why it refuses `--format` and `--baseline` (as `--help` documents).
#[test]
fn baseline_documents_and_refuses_format_and_baseline() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "nothing here\n");
    let help = stdout(&npmsweep(&["baseline", "--help"], dir.path()));
    assert!(
        help.contains("not `--format`") && help.contains("nor `--baseline`"),
        "{help}"
    );
    let out = npmsweep(
        &["baseline", ".", "-o", "b.json", "--format", "json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--format does not apply"),
        "{}",
        stderr(&out)
    );
    let out = npmsweep(
        &["baseline", ".", "-o", "b.json", "--baseline", "old.json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--baseline is for"),
        "{}",
        stderr(&out)
    );
    let out = npmsweep(
        &["baseline", ".", "-o", "b.json", "--no-ignore"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Item 3: `--all-objects` conflicts with every way of choosing part of history.
#[test]
fn all_objects_conflicts_are_documented_and_enforced() {
    let dir = tempfile::tempdir().unwrap();
    let help = stdout(&npmsweep(&["history", "--help"], dir.path()));
    let flag = help
        .split("--all-objects")
        .nth(1)
        .expect("--all-objects in help");
    let flag = &flag[..flag.find("\n  -").unwrap_or(flag.len())];
    assert!(
        flag.contains("--branch") && flag.contains("--range") && flag.contains("--since-commit"),
        "{flag}"
    );
    for other in [
        ["--range", "a..b"],
        ["--since-commit", "a"],
        ["--branch", "main"],
    ] {
        let out = npmsweep(
            &["history", ".", "--all-objects", other[0], other[1]],
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(2), "{other:?}");
        assert!(
            stderr(&out).contains("cannot be used with"),
            "{}",
            stderr(&out)
        );
    }
}

/// Item 4: `human` is the default format everywhere, not only on a terminal.
#[test]
fn human_is_the_default_format_when_piped() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "nothing here\n");
    let help = stdout(&npmsweep(&["scan", "--help"], dir.path()));
    assert!(!help.contains("on a terminal)"), "{help}");
    let out = npmsweep(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).starts_with("0 finding(s); 1 file scanned"),
        "{}",
        stdout(&out)
    );
}

/// Item 5: the README's recipe for `secret_id` reproduces the id.
#[test]
fn secret_id_recipe_in_the_readme_reproduces_the_id() {
    let readme = readme();
    let row = readme
        .lines()
        .find(|l| l.starts_with("| `findings[].secret_id` |"))
        .expect("secret_id row");
    let recipe = row
        .split('`')
        .find(|part| part.starts_with("python3 "))
        .expect("a python3 recipe in the secret_id row");
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("python3 not found: the README's secret_id recipe is not checked");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 31);
    write(dir.path(), "a.js", format!("const t = '{token}';\n"));
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], dir.path()));
    let id = doc["findings"][0]["secret_id"]
        .as_str()
        .unwrap()
        .to_string();
    let out = Command::new("sh")
        .args(["-c", recipe])
        .env("TOKEN", &token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out).trim(), id, "recipe: {recipe}");
}

/// Item 6: the pre-commit snippet does not name a tag that does not exist.
#[test]
fn pre_commit_snippet_names_no_missing_tag() {
    let readme = readme();
    let rev = readme
        .lines()
        .find_map(|l| l.trim().strip_prefix("rev: "))
        .expect("a rev: line in the pre-commit snippet");
    let rev = rev.split_whitespace().next().unwrap();
    if rev.starts_with('v') && rev[1..].starts_with(|c: char| c.is_ascii_digit()) {
        let tags = git(
            Path::new(env!("CARGO_MANIFEST_DIR")),
            &["tag", "--list", rev],
        );
        assert_eq!(
            String::from_utf8_lossy(&tags.stdout).trim(),
            rev,
            "the README pins pre-commit to tag {rev}, which this repository does not have"
        );
    }
}

/// Item 9: singular counts and aligned columns in the human report.
#[test]
fn human_report_counts_and_aligns() {
    let dir = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    for i in 0..12 {
        lines.push_str(&format!("const t{i} = '{}';\n", fake_token("npm_", 40 + i)));
    }
    write(dir.path(), "many.js", &lines);
    write(dir.path(), ".npmrc", npmrc_with_uuid());
    let out = npmsweep(&["scan", "."], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("; 2 files scanned ("), "{text}");
    // Every finding line has its severity and its message at the same columns.
    let rows: Vec<&str> = text
        .lines()
        .filter(|l| {
            l.strip_prefix("  ")
                .and_then(|r| r.split_once(':'))
                .is_some_and(|(line, rest)| {
                    !line.is_empty()
                        && line.bytes().all(|b| b.is_ascii_digit())
                        && rest.starts_with(|c: char| c.is_ascii_digit())
                })
        })
        .collect();
    assert_eq!(rows.len(), 13, "{text}");
    let severity_columns: Vec<usize> = rows
        .iter()
        .map(|r| {
            ["critical", "high", "medium", "low"]
                .iter()
                .find_map(|word| r.find(word))
                .unwrap()
        })
        .collect();
    assert!(severity_columns.windows(2).all(|w| w[0] == w[1]), "{text}");
    let message_columns: Vec<usize> = rows
        .iter()
        .map(|r| {
            let after_rule = r.find("npm").unwrap();
            after_rule
                + r[after_rule..].find(' ').unwrap()
                + r[after_rule..][r[after_rule..].find(' ').unwrap()..]
                    .find(|c: char| c != ' ')
                    .unwrap()
        })
        .collect();
    assert!(message_columns.windows(2).all(|w| w[0] == w[1]), "{text}");
}

/// Item 7: `exclude` has `.gitignore` semantics: negations re-include,
/// `dir/` patterns match directories, excluded directories are not walked.
#[test]
fn exclude_has_gitignore_semantics() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let line = |seed| format!("const t = '{}';\n", fake_token("npm_", seed));
    write(root, "fixtures/drop.js", line(51));
    write(root, "fixtures/keep.js", line(52));
    write(root, "vendor/lib.js", line(53));
    write(root, "src/vendor", line(54)); // a file named like the directory pattern
    write(root, "src/app.js", line(55));
    write(
        root,
        "npmsweep.toml",
        "exclude = [\"fixtures/*\", \"!fixtures/keep.js\", \"vendor/\"]\n",
    );
    // A symbolic-link loop inside the excluded directory: walking it with
    // -L would warn about the loop.
    #[cfg(unix)]
    std::os::unix::fs::symlink("..", root.join("vendor/loop")).unwrap();
    let out = npmsweep(&["scan", ".", "-L", "--format", "json"], root);
    let doc = json(&out);
    let mut paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    paths.sort();
    assert_eq!(paths, ["fixtures/keep.js", "src/app.js", "src/vendor"]);
    assert_eq!(doc["warnings"], serde_json::json!([]), "{}", stderr(&out));
}

/// Item 10: every remediation text (and the README) names one major version
/// of each action it shows, so a user copying two snippets gets one setup.
#[test]
fn remediation_texts_agree_on_action_versions() {
    let mut texts: Vec<(String, String)> = npmsweep::rules::Registry::global()
        .all()
        .map(|r| (r.id.clone(), r.remediation.clone()))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.txt", "x\n");
    let sarif = stdout(&npmsweep(&["scan", ".", "--format", "sarif"], dir.path()));
    texts.push(("SARIF help".into(), sarif));
    texts.push(("README".into(), readme()));
    for action in [
        "actions/checkout@",
        "actions/setup-node@",
        "actions/upload-artifact@",
    ] {
        let mut majors = std::collections::BTreeMap::new();
        for (source, text) in &texts {
            for (i, _) in text.match_indices(action) {
                let version: String = text[i + action.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric())
                    .collect();
                // A commit pin is followed by a `# vN.M.K` comment.
                let shown = if version.len() == 40 {
                    let rest = &text[i + action.len() + 40..];
                    rest.trim_start_matches(' ')
                        .strip_prefix("# v")
                        .map(|v| format!("v{}", v.split('.').next().unwrap_or("")))
                        .unwrap_or(version)
                } else {
                    version
                };
                majors
                    .entry(shown)
                    .or_insert_with(Vec::new)
                    .push(source.clone());
            }
        }
        assert!(
            majors.len() <= 1,
            "{action} in several versions: {majors:?}"
        );
    }
}

/// Colour is decided by anstream: `--color always` colours a pipe,
/// `CLICOLOR_FORCE` does too, `NO_COLOR` wins over it, `--color never` and
/// machine formats never carry escape sequences.
#[test]
fn colour_follows_the_flag_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".npmrc", npmrc_with_uuid());
    let run = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_npmsweep"));
        cmd.args(args)
            .current_dir(dir.path())
            .env_remove("NO_COLOR")
            .env_remove("CLICOLOR_FORCE")
            .env_remove("CLICOLOR");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        out.stdout.contains(&0x1b)
    };
    assert!(run(&["scan", ".", "--color", "always"], &[]));
    assert!(!run(&["scan", "."], &[]), "a pipe is not coloured");
    assert!(run(&["scan", "."], &[("CLICOLOR_FORCE", "1")]));
    assert!(!run(
        &["scan", "."],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
    ));
    assert!(!run(
        &["scan", ".", "--color", "never"],
        &[("CLICOLOR_FORCE", "1")]
    ));
    assert!(!run(
        &["scan", ".", "--format", "json", "--color", "always"],
        &[]
    ));
}

fn npmsweep_stdin(args: &[&str], dir: &Path, input: &[u8]) -> Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("NPMSWEEP_CONFIG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn tree_with_findings() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "a.js",
        format!("const t = '{}';\n", fake_token("npm_", 61)),
    );
    write(dir.path(), ".npmrc", npmrc_with_uuid());
    dir
}

#[test]
fn jsonl_is_one_json_finding_per_line() {
    let dir = tree_with_findings();
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], dir.path()));
    let out = npmsweep(&["scan", ".", "--format", "jsonl"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(&lines, doc["findings"].as_array().unwrap());
    // A clean tree (an empty one is an error: nothing was scanned).
    let clean = tempfile::tempdir().unwrap();
    write(clean.path(), "a.js", "const ok = process.env.NPM_TOKEN;\n");
    let out = npmsweep(&["scan", ".", "--format", "jsonl"], clean.path());
    assert_eq!((out.status.code(), out.stdout.len()), (Some(0), 0));
}

#[test]
fn several_reports_in_one_run() {
    let dir = tree_with_findings();
    let reports = tempfile::tempdir().unwrap();
    let json_file = reports.path().join("r.json");
    let sarif_file = reports.path().join("r.sarif");
    let out = npmsweep(
        &[
            "scan",
            ".",
            "--json-output",
            json_file.to_str().unwrap(),
            "--sarif-output",
            sarif_file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).contains("2 finding(s)"),
        "human report on stdout"
    );
    let alone = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(std::fs::read(&json_file).unwrap(), alone.stdout);
    let alone = npmsweep(&["scan", ".", "--format", "sarif"], dir.path());
    assert_eq!(std::fs::read(&sarif_file).unwrap(), alone.stdout);

    let same = npmsweep(
        &[
            "scan",
            ".",
            "-o",
            json_file.to_str().unwrap(),
            "--json-output",
            json_file.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(same.status.code(), Some(2));
    assert!(stderr(&same).contains("two reports cannot be written to one file"));
}

#[test]
fn scan_dash_reads_standard_input() {
    let dir = tempfile::tempdir().unwrap();
    let npmrc = npmrc_with_uuid();
    let npmrc = npmrc.as_bytes();
    let out = npmsweep_stdin(
        &["scan", "-", "--stdin-path", ".npmrc", "--format", "json"],
        dir.path(),
        npmrc,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["rule_id"], "npmrc-literal-auth-token");
    assert_eq!(doc["findings"][0]["path"], ".npmrc");
    assert_eq!(doc["findings"][0]["origin"]["kind"], "stdin");
    // Without a name only the token matcher runs: a UUID is not a token.
    let out = npmsweep_stdin(&["scan", "-"], dir.path(), npmrc);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let token = format!("x {}\n", fake_token("npm_", 62));
    let doc = json(&npmsweep_stdin(
        &["scan", "-", "--format", "json"],
        dir.path(),
        token.as_bytes(),
    ));
    assert_eq!(doc["findings"][0]["path"], "<stdin>");
    for (args, message) in [
        (&["scan", "-", "."][..], "give no other PATH"),
        (
            &["scan", ".", "--stdin-path", "x"][..],
            "use it with `scan -`",
        ),
        (
            &["scan", "-", "--stdin-path", "/etc/npmrc"][..],
            "relative path",
        ),
        (&["scan", "-", "--staged"][..], "not standard input"),
    ] {
        let out = npmsweep_stdin(args, dir.path(), b"");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(message), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn configuration_is_found_up_to_the_repository_root() {
    let outer = tempfile::tempdir().unwrap();
    // Above the repository: never read.
    write(outer.path(), "npmsweep.toml", "disable = [\"npm-token\"]\n");
    let repo = outer.path().join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    assert!(git(&repo, &["init", "-q", "."]).status.success());
    let token = |seed| format!("const t = '{}';\n", fake_token("npm_", seed));
    write(&repo, "packages/api/src/a.js", token(71));
    write(&repo, "packages/api/fixtures/b.js", token(72));
    let rules = |args: &[&str], env: Option<&str>| -> Vec<String> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_npmsweep"));
        cmd.args(args)
            .current_dir(&repo)
            .env_remove("NPMSWEEP_CONFIG");
        if let Some(file) = env {
            cmd.env("NPMSWEEP_CONFIG", file);
        }
        let out = cmd.output().unwrap();
        assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
        json(&out)["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_string())
            .collect()
    };
    let scan_api = ["scan", "packages/api", "--format", "json"];
    assert_eq!(
        rules(&scan_api, None).len(),
        2,
        "the file above the repository root is not read"
    );
    // At the repository root, patterns relative to it.
    write(
        &repo,
        "npmsweep.toml",
        "exclude = [\"packages/api/fixtures\"]\n",
    );
    assert_eq!(rules(&scan_api, None), ["packages/api/src/a.js"]);
    // Inside the subtree, the nearest file wins.
    write(&repo, "packages/api/npmsweep.toml", "exclude = [\"src\"]\n");
    assert_eq!(rules(&scan_api, None), ["packages/api/fixtures/b.js"]);
    // NPMSWEEP_CONFIG names a file; --no-config reads none.
    write(&repo, "ci/strict.toml", "exclude = [\"*.js\"]\n");
    assert!(rules(&scan_api, Some("ci/strict.toml")).is_empty());
    let mut no_config = scan_api.to_vec();
    no_config.push("--no-config");
    assert_eq!(rules(&no_config, Some("ci/strict.toml")).len(), 2);
}

/// `--version` names the commit the binary was built from.
#[test]
fn version_names_the_commit() {
    let dir = tempfile::tempdir().unwrap();
    let out = npmsweep(&["--version"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("npmsweep {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
    let head = git(
        Path::new(env!("CARGO_MANIFEST_DIR")),
        &["rev-parse", "--short=12", "HEAD"],
    );
    if head.status.success() && std::env::var_os("NPMSWEEP_BUILD_COMMIT").is_none() {
        let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
        assert!(
            text.contains(&format!("(commit {head}, ")),
            "{text} vs HEAD {head}"
        );
    }
}

/// Completion scripts and manual pages come from the same command
/// definition as `--help`.
#[test]
fn completions_and_manual_pages() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = npmsweep(&["completions", shell], dir.path());
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let script = stdout(&out);
        assert!(
            script.contains("npmsweep")
                && script.contains("sarif-output")
                && script.contains("history"),
            "{shell}: {script}"
        );
    }
    let out = npmsweep(&["completions", "tcsh"], dir.path());
    assert_eq!(out.status.code(), Some(2));

    let page = npmsweep(&["man"], dir.path());
    assert_eq!(page.status.code(), Some(0));
    let roff = stdout(&page);
    assert!(
        roff.contains(".TH npmsweep 1") && roff.contains(".SH NAME"),
        "{roff}"
    );
    assert_eq!(
        npmsweep(&["man"], dir.path()).stdout,
        page.stdout,
        "deterministic"
    );
    let out = npmsweep(&["man", "--output-dir", "pages"], dir.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let scan_page = std::fs::read_to_string(dir.path().join("pages/npmsweep-scan.1")).unwrap();
    assert!(scan_page.contains("stdin\\-path"), "{scan_page}");
    assert!(dir.path().join("pages/npmsweep-history.1").is_file());
}

/// A release is one version everywhere: the action installs by default the
/// release it ships with, and the npm launcher names the same version.
#[test]
fn distribution_files_name_the_crate_version() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap();
    let version_input = action
        .split("\n  version:\n")
        .nth(1)
        .expect("a version input in action.yml");
    let default = version_input
        .lines()
        .find_map(|l| l.trim().strip_prefix("default: "))
        .unwrap()
        .trim_matches('"');
    assert_eq!(
        default,
        env!("CARGO_PKG_VERSION"),
        "action.yml version default"
    );
    let package: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("npm/npmsweep/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(package["version"], env!("CARGO_PKG_VERSION"));
    for (name, version) in package["optionalDependencies"].as_object().unwrap() {
        assert_eq!(version, env!("CARGO_PKG_VERSION"), "{name}");
    }
    assert!(package.get("scripts").is_none(), "no install scripts");
}

/// An `.npmrc` line with a legacy (UUID) token, built at run time: no
/// credential-shaped literal is committed (npmsweep passes its own scan).
fn npmrc_with_uuid() -> String {
    format!(
        "//registry.npmjs.org/:_authToken={}\n",
        npmsweep::rules::synthetic_uuid(7)
    )
}

/// `npmsweep completions bash | head -1`: a reader that stops early is an
/// error npmsweep reports (exit 2), never a panic (clap_complete panics when
/// its writer fails).
#[test]
fn completions_and_man_into_a_closed_pipe_do_not_panic() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["completions", "bash"][..], &["man"], &["rules"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
            .args(args)
            .current_dir(dir.path())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Close the read end before the child writes.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let err = stderr(&out);
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(
            matches!(out.status.code(), Some(0 | 2)),
            "{args:?}: {out:?}"
        );
    }
}
