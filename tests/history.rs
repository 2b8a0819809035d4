//! End-to-end tests of `npmsweep history`: repositories are built in
//! temporary directories with the git CLI (fixed names, emails and dates so
//! commit ids never vary), and tokens are generated at run time.

use npmsweep::rules::expand_templates;
use npmsweep::token::fake_token;
use serde_json::Value;
use std::cell::Cell;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

mod support {
    pub mod cli;
}

/// A scratch repository driven through the git CLI.
struct Repo {
    _dir: TempDir,
    path: PathBuf,
    clock: Cell<u64>,
}

/// Environment that makes git deterministic and blind to the user's setup.
fn git_env(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("LC_ALL", "C")
}

fn git_in(dir: &Path, args: &[&str], when: u64) -> String {
    let date = format!("@{when} +0000");
    let out = git_env(&mut Command::new("git"))
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
            "-c",
            "tag.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// 2024-03-01T10:00:00Z; each commit is one hour later than the previous.
const EPOCH: u64 = 1_709_287_200;

impl Repo {
    fn new() -> Repo {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let repo = Repo {
            _dir: dir,
            path,
            clock: Cell::new(0),
        };
        repo.git(&["init", "-q"]);
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        git_in(&self.path, args, EPOCH + self.clock.get() * 3600)
    }

    fn write(&self, rel: &str, content: &str) {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path.join(rel)).unwrap();
    }

    /// Stage everything and commit; returns the commit id.
    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.clock.set(self.clock.get() + 1);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Date of the n-th commit made (0-based), as provenance prints it.
    fn date_of(&self, n: u64) -> String {
        npmsweep::history::provenance::rfc3339_utc((EPOCH + n * 3600) as i64)
    }
}

fn npmsweep(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run npmsweep")
}

fn history(repo: &Repo, extra: &[&str]) -> Output {
    let mut args = vec!["history", "--format", "json"];
    args.extend_from_slice(extra);
    npmsweep(&args, &repo.path)
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn findings(doc: &Value) -> Vec<Value> {
    doc["findings"].as_array().expect("findings array").clone()
}

fn token_findings(doc: &Value) -> Vec<Value> {
    findings(doc)
        .into_iter()
        .filter(|f| f["rule_id"] == "npm-token")
        .collect()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn js_with_token(token: &str) -> String {
    format!("module.exports = {{ registryToken: \"{token}\" }};\n")
}

#[test]
fn token_added_then_deleted_is_found_and_not_in_head() {
    let repo = Repo::new();
    let token = fake_token("npm_", 101);
    repo.write("README.md", "hello\n");
    repo.write("config.js", &js_with_token(&token));
    let introduced = repo.commit("add publish config");
    repo.remove("config.js");
    repo.commit("remove the token");

    let out = history(&repo, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    assert_eq!(f["path"], "config.js");
    assert_eq!(f["start_line"], 1);
    assert_eq!(f["origin"]["kind"], "blob");
    let p = &f["provenance"];
    assert_eq!(p["commit"], introduced.as_str());
    assert_eq!(p["author"], "Ada Lovelace");
    assert_eq!(p["date"], repo.date_of(0).as_str());
    assert_eq!(p["summary"], "add publish config");
    assert_eq!(p["commits"], 1);
    assert_eq!(p["in_head"], false);
    assert_eq!(p["refs"], serde_json::json!(["main"]));
    assert_eq!(doc["command"], "history");
    // Redacted by default, everywhere.
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));
    assert!(!stderr(&out).contains(&token));
}

#[test]
fn token_only_on_an_unmerged_branch() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "feature/publish"]);
    let token = fake_token("npm_", 102);
    repo.write(
        "scripts/publish.sh",
        &format!("export NPM_TOKEN={token}\nnpm publish\n"),
    );
    let introduced = repo.commit("publish script");
    repo.git(&["checkout", "-q", "main"]);

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["provenance"]["commit"], introduced.as_str());
    assert_eq!(
        found[0]["provenance"]["refs"],
        serde_json::json!(["feature/publish"])
    );
    assert_eq!(found[0]["provenance"]["in_head"], false);

    // Restricting the sweep to main does not see it.
    let out = history(&repo, &["--branch", "main"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(token_findings(&json(&out)).is_empty());
    // Naming the branch does, even once the tip no longer holds the token:
    // --branch sweeps the branch's history, not only its last tree.
    repo.git(&["checkout", "-q", "feature/publish"]);
    repo.remove("scripts/publish.sh");
    repo.commit("drop the script");
    repo.git(&["checkout", "-q", "main"]);
    let out = history(&repo, &["--branch", "feature/publish"]);
    let found = token_findings(&json(&out));
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["provenance"]["commit"], introduced.as_str());
    // An annotated tag given to --branch is peeled to its commit.
    repo.git(&["tag", "-a", "v0.1.0", "-m", "tag", &introduced]);
    let out = history(&repo, &["--branch", "v0.1.0"]);
    assert_eq!(token_findings(&json(&out)).len(), 1);
    let out = history(&repo, &["--branch", "no-such-branch"]);
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("no such revision"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn token_only_reachable_from_an_annotated_tag() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "release-tmp"]);
    let token = fake_token("npm_", 103);
    repo.write("dist/config.js", &js_with_token(&token));
    let tagged = repo.commit("release build");
    repo.git(&["tag", "-a", "v1.1.0", "-m", "v1.1.0"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "release-tmp"]);

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["provenance"]["commit"], tagged.as_str());
    assert_eq!(
        found[0]["provenance"]["refs"],
        serde_json::json!(["v1.1.0"])
    );
}

#[test]
fn tokens_only_in_the_stash_and_its_reflog() {
    let repo = Repo::new();
    repo.write("config.js", "module.exports = {};\n");
    repo.commit("init");
    let older = fake_token("npm_", 104);
    let newer = fake_token("npm_", 105);
    repo.write("config.js", &js_with_token(&older));
    repo.git(&["stash", "-q"]);
    repo.write("config.js", &js_with_token(&newer));
    repo.git(&["stash", "-q"]);

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 2, "{found:?}");
    let refs: Vec<Value> = found
        .iter()
        .map(|f| f["provenance"]["refs"].clone())
        .collect();
    assert!(refs.contains(&serde_json::json!(["stash"])), "{refs:?}");
    assert!(refs.contains(&serde_json::json!(["stash@{1}"])), "{refs:?}");
    assert!(found.iter().all(|f| f["provenance"]["in_head"] == false));
}

#[test]
fn dangling_commit_is_found_only_with_all_objects() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    repo.git(&["checkout", "-q", "-b", "oops"]);
    let token = fake_token("npm_", 106);
    repo.write("config.js", &js_with_token(&token));
    let dangling = repo.commit("force-pushed away");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "oops"]);

    let out = history(&repo, &[]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(token_findings(&json(&out)).is_empty());

    let out = history(&repo, &["--all-objects"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["path"], "config.js");
    assert_eq!(found[0]["provenance"]["commit"], dangling.as_str());
    assert_eq!(found[0]["provenance"]["refs"], serde_json::json!([]));
    let notes = doc["notes"].to_string();
    assert!(notes.contains("1 unreachable commit"), "{notes}");
}

#[test]
fn stray_blob_without_any_commit_is_found_with_all_objects() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let token = fake_token("npm_", 107);
    let stray = repo.path.join("stray.txt");
    std::fs::write(&stray, js_with_token(&token)).unwrap();
    let blob = repo.git(&["hash-object", "-w", "stray.txt"]);
    std::fs::remove_file(&stray).unwrap();

    let doc = json(&history(&repo, &["--all-objects"]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["origin"]["blob_id"], blob.as_str());
    assert!(found[0]["provenance"].is_null());

    // The leak report (what to revoke) counts it too, though no commit names it.
    let human = npmsweep(&["history", "--all-objects"], &repo.path);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("Leak report: 1 secret(s) in git history"),
        "{text}"
    );
    assert!(
        text.contains("is in an unreachable blob that no commit names"),
        "{text}"
    );
}

#[test]
fn renamed_file_is_one_secret_at_two_paths() {
    let repo = Repo::new();
    let token = fake_token("npm_", 108);
    repo.write("old/config.js", &js_with_token(&token));
    let first = repo.commit("add config");
    repo.git(&["mv", "old", "new"]);
    let second = repo.commit("move config");

    let out = history(&repo, &[]);
    let doc = json(&out);
    let found = token_findings(&doc);
    assert_eq!(found.len(), 2, "{found:?}");
    let by_path = |p: &str| found.iter().find(|f| f["path"] == p).cloned().unwrap();
    assert_eq!(
        by_path("old/config.js")["provenance"]["commit"],
        first.as_str()
    );
    assert_eq!(
        by_path("new/config.js")["provenance"]["commit"],
        second.as_str()
    );
    assert_eq!(found[0]["secret_id"], found[1]["secret_id"]);
    // Still in HEAD (under the new name), which also makes the old path's
    // secret "in HEAD": it is the same secret.
    assert!(found.iter().all(|f| f["provenance"]["in_head"] == true));
    assert!(found.iter().all(|f| f["provenance"]["secret_commits"] == 2));
    // One blob read, whatever the number of paths.
    assert_eq!(doc["summary"]["items_scanned"], 1);

    // The human leak report groups the two findings under one secret.
    let human = npmsweep(&["history"], &repo.path);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("Leak report: 1 secret(s) in git history"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "appears in 2 files across 2 commits, first added in {} on {} by Ada Lovelace, still in HEAD: yes, reachable from: main",
            &first[..12],
            repo.date_of(0)
        )),
        "{text}"
    );
    let steps = &text[text.find("Next steps, in this order").expect("next steps")..];
    let revoke = steps.find("1. Revoke").expect("revoke step");
    let replace = steps.find("2. Replace").expect("replace step");
    let purge = steps.find("3. Optionally").expect("purge step");
    assert!(revoke < replace && replace < purge, "{text}");
    assert!(!text.contains(&token));
}

#[test]
fn same_blob_under_two_paths_is_read_once_and_reported_twice() {
    let repo = Repo::new();
    let token = fake_token("npm_", 109);
    repo.write("a/config.js", &js_with_token(&token));
    repo.write("b/config.js", &js_with_token(&token));
    repo.commit("two copies");

    let doc = json(&history(&repo, &[]));
    assert_eq!(doc["summary"]["items_scanned"], 1);
    let found = token_findings(&doc);
    let paths: Vec<&str> = found.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["a/config.js", "b/config.js"]);
    assert_ne!(found[0]["fingerprint"], found[1]["fingerprint"]);
}

#[test]
fn npmrc_literal_later_replaced_by_env_reference() {
    let repo = Repo::new();
    let literal = expand_templates("//registry.npmjs.org/:_authToken={{uuid}}\n");
    repo.write(".npmrc", &literal);
    let first = repo.commit("configure registry");
    let old_blob = repo.git(&["rev-parse", "HEAD:.npmrc"]);
    repo.write(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n");
    repo.commit("use NPM_TOKEN");

    let out = history(&repo, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let found = findings(&doc);
    assert!(!found.is_empty());
    for f in &found {
        assert_eq!(f["origin"]["blob_id"], old_blob.as_str(), "{f}");
        assert_eq!(f["path"], ".npmrc");
        assert_eq!(f["provenance"]["commit"], first.as_str());
        assert_eq!(f["provenance"]["in_head"], false);
    }
}

#[test]
fn range_scan_sees_only_what_the_range_adds() {
    let repo = Repo::new();
    let before = fake_token("npm_", 110);
    let inside = fake_token("npm_", 111);
    repo.write("a.js", &js_with_token(&before));
    let base = repo.commit("before the range");
    repo.write("README.md", "docs\n");
    repo.commit("unrelated");
    repo.write("b.js", &js_with_token(&inside));
    let added = repo.commit("inside the range");

    for args in [
        vec!["--range", &format!("{base}..HEAD")],
        vec!["--since-commit", &base],
    ] {
        let args: Vec<&str> = args.iter().map(|s| s.as_ref()).collect();
        let out = history(&repo, &args);
        assert_eq!(code(&out), 1, "{}", stderr(&out));
        let doc = json(&out);
        let found = token_findings(&doc);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0]["path"], "b.js");
        assert_eq!(found[0]["provenance"]["commit"], added.as_str());
        // README.md and b.js: only what the two commits changed is read.
        assert_eq!(doc["summary"]["items_scanned"], 2);
    }
    let out = history(&repo, &["--range", "not-a-range"]);
    assert_eq!(code(&out), 2);
    assert!(stderr(&out).contains("A..B"), "{}", stderr(&out));
}

#[test]
fn shallow_clone_says_history_is_truncated() {
    let repo = Repo::new();
    let old = fake_token("npm_", 112);
    repo.write("config.js", &js_with_token(&old));
    repo.commit("old token");
    let current = fake_token("npm_", 113);
    repo.write("config.js", &js_with_token(&current));
    repo.commit("new token");

    let target = repo.path.parent().unwrap().join("shallow");
    let url = format!("file://{}", repo.path.display());
    git_in(
        repo.path.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            &url,
            target.to_str().unwrap(),
        ],
        EPOCH,
    );
    let out = npmsweep(&["history", "--format", "json"], &target);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert!(
        doc["notes"].to_string().contains("history is truncated"),
        "{doc}"
    );
    assert_eq!(
        token_findings(&doc).len(),
        1,
        "only the commit the clone has"
    );
    // The missing parent is expected in a shallow clone: no warning for it.
    assert!(doc["warnings"].as_array().unwrap().is_empty(), "{doc}");
}

#[test]
fn removed_loose_object_is_a_warning_and_the_sweep_completes() {
    let repo = Repo::new();
    let token = fake_token("npm_", 114);
    repo.write("config.js", &js_with_token(&token));
    repo.write("docs/guide.md", "a guide\n");
    repo.commit("init");
    let lost = repo.git(&["rev-parse", "HEAD:docs/guide.md"]);
    let object = repo
        .path
        .join(".git/objects")
        .join(&lost[..2])
        .join(&lost[2..]);
    std::fs::remove_file(&object).expect("the blob is a loose object");

    let out = history(&repo, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(token_findings(&doc).len(), 1);
    assert_eq!(doc["summary"]["skipped"], 1);
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains(&lost), "{warnings}");
    assert!(warnings.contains("missing"), "{warnings}");
    assert!(stderr(&out).contains(&lost));
}

#[test]
fn removed_tree_object_is_a_warning_too() {
    let repo = Repo::new();
    let token = fake_token("npm_", 115);
    repo.write("config.js", &js_with_token(&token));
    repo.write("docs/guide.md", "a guide\n");
    repo.commit("init");
    let lost = repo.git(&["rev-parse", "HEAD:docs"]);
    std::fs::remove_file(
        repo.path
            .join(".git/objects")
            .join(&lost[..2])
            .join(&lost[2..]),
    )
    .unwrap();

    let out = history(&repo, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(token_findings(&doc).len(), 1);
    assert!(doc["warnings"].to_string().contains(&lost));
    assert!(doc["summary"]["skipped"].as_u64().unwrap() >= 1);
}

#[test]
fn non_repository_path_is_an_error() {
    let dir = TempDir::new().unwrap();
    let out = npmsweep(&["history", dir.path().to_str().unwrap()], dir.path());
    assert_eq!(code(&out), 2);
    assert!(
        stderr(&out).contains("not in a git repository"),
        "{}",
        stderr(&out)
    );
    let out = npmsweep(&["history", "/nonexistent/npmsweep"], dir.path());
    assert_eq!(code(&out), 2);
}

#[test]
fn bare_repository_works() {
    let repo = Repo::new();
    let token = fake_token("npm_", 116);
    repo.write("config.js", &js_with_token(&token));
    repo.commit("init");
    let bare = repo.path.parent().unwrap().join("bare.git");
    git_in(
        repo.path.parent().unwrap(),
        &[
            "clone",
            "-q",
            "--bare",
            repo.path.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
        EPOCH,
    );
    let out = npmsweep(
        &["history", "--format", "json", bare.to_str().unwrap()],
        repo.path.parent().unwrap(),
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0]["provenance"]["in_head"], true);
}

#[test]
fn purge_plan_is_private_and_holds_filter_repo_expressions() {
    use std::os::unix::fs::PermissionsExt;
    let repo = Repo::new();
    let token = fake_token("npm_", 117);
    repo.write("config.js", &js_with_token(&token));
    repo.commit("init");
    repo.remove("config.js");
    repo.commit("remove");
    let plan = repo.path.parent().unwrap().join("purge.txt");

    let out = history(&repo, &["--purge-plan", plan.to_str().unwrap()]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let mode = std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&plan).unwrap();
    assert_eq!(text, format!("literal:{token}==>REDACTED-BY-NPMSWEEP\n"));
    let readme = std::fs::read_to_string(plan.with_file_name("purge.txt.README")).unwrap();
    assert!(
        readme.contains("git filter-repo --sensitive-data-removal --replace-text"),
        "{readme}"
    );
    assert!(readme.contains("Revoke every secret first"), "{readme}");
    assert!(readme.contains("forks"), "{readme}");
    assert!(!readme.contains(&token));
    let err = stderr(&out);
    assert!(err.contains("holds 1 secret(s) in full"), "{err}");
    assert!(!err.contains(&token));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));

    // An existing, world-readable file is tightened before secrets go in.
    std::fs::set_permissions(&plan, std::fs::Permissions::from_mode(0o644)).unwrap();
    history(&repo, &["--purge-plan", plan.to_str().unwrap()]);
    let mode = std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn secrets_are_redacted_in_every_format_unless_asked() {
    let repo = Repo::new();
    let token = fake_token("npm_", 118);
    repo.write("config.js", &js_with_token(&token));
    repo.commit("init");
    for format in ["human", "json", "sarif", "github"] {
        let out = npmsweep(&["history", "--format", format], &repo.path);
        assert_eq!(code(&out), 1, "{format}: {}", stderr(&out));
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), stderr(&out));
        assert!(!all.contains(&token), "{format} leaked the token");
        assert!(all.contains("npm_"), "{format} shows a preview: {all}");
    }
    let out = npmsweep(&["history", "--show-secrets"], &repo.path);
    assert!(String::from_utf8_lossy(&out.stdout).contains(&token));
}

#[test]
fn output_is_deterministic() {
    let repo = Repo::new();
    for seed in 0..6u64 {
        repo.write(
            &format!("pkg{seed}/config.js"),
            &js_with_token(&fake_token("npm_", 200 + seed)),
        );
        repo.commit(&format!("package {seed}"));
    }
    let a = history(&repo, &["-j", "2"]);
    let b = history(&repo, &["-j", "1"]);
    assert_eq!(a.stdout, b.stdout);
    assert_eq!(token_findings(&json(&a)).len(), 6);
}

#[test]
fn workflow_kind_follows_the_path_the_blob_was_seen_under() {
    // The same bytes as a plain file and as an .npmrc: the .npmrc analyser
    // runs once for the blob, and the finding is reported at the .npmrc path.
    let repo = Repo::new();
    let content = expand_templates("//registry.npmjs.org/:_authToken={{uuid}}\n");
    repo.write("example.txt", &content);
    repo.write("pkg/.npmrc", &content);
    repo.commit("init");
    let doc = json(&history(&repo, &[]));
    assert_eq!(doc["summary"]["items_scanned"], 1);
    let found = findings(&doc);
    assert!(!found.is_empty());
    assert!(found.iter().all(|f| f["path"] == "pkg/.npmrc"), "{found:?}");
}

#[test]
fn blob_seen_under_a_config_name_only_in_older_history_gets_the_config_analyser() {
    // Newest commit first: the bytes are met as a plain file (and handed to
    // the readers) before the walk reaches the older commit that had them as
    // an .npmrc. The .npmrc analyser must still run on them, and the blob
    // must still count once.
    let repo = Repo::new();
    let content = expand_templates("//registry.npmjs.org/:_authToken={{uuid}}\n");
    repo.write("pkg/.npmrc", &content);
    let first = repo.commit("npmrc with a literal");
    repo.remove("pkg/.npmrc");
    repo.write("example.txt", &content);
    for i in 0..150 {
        repo.write(&format!("filler/{i}.txt"), &format!("filler {i}\n"));
    }
    repo.commit("keep it as an example, add files");

    let doc = json(&history(&repo, &[]));
    assert_eq!(doc["summary"]["items_scanned"], 151);
    let found = findings(&doc);
    assert!(!found.is_empty(), "{doc}");
    for f in &found {
        assert_eq!(f["path"], "pkg/.npmrc", "{f}");
        assert_eq!(f["provenance"]["commit"], first.as_str());
    }
}

/// Run npmsweep, failing the test (instead of hanging it) after 60 s.
fn npmsweep_with_deadline(args: &[&str], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run npmsweep");
    let start = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() {
        if start.elapsed() > std::time::Duration::from_secs(60) {
            let _ = child.kill();
            panic!("npmsweep {args:?} did not finish in 60 s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect output")
}

#[test]
fn truncated_loose_objects_are_warnings_not_a_hang() {
    // libgit2 never returns from inflating a cut-short loose object: the
    // sweep must find those first and leave them alone.
    let repo = Repo::new();
    let token = fake_token("npm_", 119);
    repo.write("config.js", &js_with_token(&token));
    repo.write(
        "docs/guide.md",
        "a guide that is long enough to be worth cutting\n",
    );
    repo.commit("init");
    let cut = |id: &str| {
        let path = repo.path.join(".git/objects").join(&id[..2]).join(&id[2..]);
        let bytes = std::fs::read(&path).unwrap();
        let mut perms = std::fs::metadata(&path).unwrap().permissions();
        #[allow(clippy::permissions_set_readonly_false)]
        perms.set_readonly(false);
        std::fs::set_permissions(&path, perms).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    };
    let blob = repo.git(&["rev-parse", "HEAD:docs/guide.md"]);
    let tree = repo.git(&["rev-parse", "HEAD:docs"]);
    cut(&blob);
    cut(&tree);

    let out = npmsweep_with_deadline(&["history", "--format", "json"], &repo.path);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert_eq!(token_findings(&doc).len(), 1);
    let warnings = doc["warnings"].to_string();
    assert!(
        warnings.contains(&blob) && warnings.contains(&tree),
        "{warnings}"
    );
    assert!(warnings.contains("damaged loose object"), "{warnings}");
    assert!(doc["summary"]["skipped"].as_u64().unwrap() >= 2);

    // A range walk cannot be kept away from them: a clear error instead.
    let out = npmsweep_with_deadline(&["history", "--range", "HEAD~1..HEAD"], &repo.path);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("damaged loose objects"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn token_only_in_a_git_note() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let token = fake_token("npm_", 120);
    repo.git(&["notes", "add", "-m", &format!("publish with {token}")]);

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{doc}");
    assert_eq!(
        found[0]["provenance"]["refs"],
        serde_json::json!(["notes/commits"])
    );
    assert_eq!(found[0]["provenance"]["in_head"], false);
}

#[test]
fn introducing_commit_is_the_one_that_added_it_even_within_one_second() {
    // Scripted histories (bots, imports, tests) put many commits in one
    // second: author dates tie, and the commit that added the secret must
    // still win over later ones and over the merge that brought it in.
    let repo = Repo::new();
    let same_second = |message: &str| -> String {
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "--allow-empty", "-m", message]);
        repo.git(&["rev-parse", "HEAD"])
    };
    repo.write("README.md", "hello\n");
    same_second("init");
    repo.git(&["checkout", "-q", "-b", "feature"]);
    let token = fake_token("npm_", 121);
    repo.write("config.js", &js_with_token(&token));
    let added = same_second("add config");
    let mut later = Vec::new();
    for n in 0..6 {
        repo.write("notes.txt", &format!("{n}\n"));
        later.push(same_second(&format!("feature work {n}")));
    }
    repo.git(&["checkout", "-q", "main"]);
    repo.write("other.txt", "x\n");
    same_second("main work");
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    later.push(repo.git(&["rev-parse", "HEAD"]));
    // Ids decide among tied dates: this history must be one where an
    // inheriting commit has the smallest id, or the test proves nothing.
    assert!(later.iter().any(|c| c < &added), "{added} {later:?}");

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["provenance"]["commit"], added.as_str());
    assert_eq!(found[0]["provenance"]["summary"], "add config");
    assert_eq!(found[0]["provenance"]["commits"], 8);
}

#[test]
fn detached_head_of_another_worktree_is_a_ref() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let wt = repo.path.parent().unwrap().join("wt");
    repo.git(&["worktree", "add", "-q", "--detach", wt.to_str().unwrap()]);
    let token = fake_token("npm_", 122);
    std::fs::write(wt.join("config.js"), js_with_token(&token)).unwrap();
    git_in(&wt, &["add", "-A"], EPOCH + 7200);
    git_in(
        &wt,
        &["commit", "-q", "-m", "work in a worktree"],
        EPOCH + 7200,
    );

    // git log --all and git gc count it; so does the default sweep.
    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(
        found[0]["provenance"]["refs"],
        serde_json::json!(["HEAD@worktree:wt"])
    );
    assert_eq!(found[0]["provenance"]["in_head"], false);
    // From the linked worktree, it is HEAD.
    let out = npmsweep(&["history", "--format", "json"], &wt);
    let found = token_findings(&json(&out));
    assert_eq!(found[0]["provenance"]["refs"], serde_json::json!(["HEAD"]));
}

#[test]
fn all_objects_is_refused_with_branch() {
    // Everything that --branch does not reach is not "unreachable": combined,
    // the sweep went past the chosen branch and called other branches'
    // commits unreachable.
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let out = history(&repo, &["--branch", "main", "--all-objects"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("--all-objects"), "{}", stderr(&out));
}

#[test]
fn a_repository_nothing_can_be_read_from_is_an_error_not_clean() {
    // Every object lives in one pack, and the pack is cut short: no ref
    // resolves. A CI gate must not read that as "no findings".
    let repo = Repo::new();
    repo.write("a.js", &js_with_token(&fake_token("npm_", 77)));
    repo.commit("add");
    repo.git(&["gc", "-q"]);
    let pack_dir = repo.path.join(".git/objects/pack");
    let pack = std::fs::read_dir(&pack_dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "pack"))
        .expect("a pack");
    let bytes = std::fs::read(&pack).unwrap();
    let mut perms = std::fs::metadata(&pack).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o644);
    std::fs::set_permissions(&pack, perms).unwrap();
    std::fs::write(&pack, &bytes[..100]).unwrap();
    let out = history(&repo, &[]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing in"), "{}", stderr(&out));
}

fn github(repo: &Repo) -> String {
    let out = npmsweep(&["history", "--format", "github"], &repo.path);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn secret_still_in_head_is_reported_at_heads_location() {
    let repo = Repo::new();
    let token = fake_token("npm_", 131);
    repo.write("config.js", &js_with_token(&token));
    let introduced = repo.commit("add config");
    let first_blob = repo.git(&["rev-parse", "HEAD:config.js"]);
    repo.write(
        "config.js",
        &format!("// a\n// b\n// c\n{}", js_with_token(&token)),
    );
    repo.commit("comment the config");
    let head_blob = repo.git(&["rev-parse", "HEAD:config.js"]);

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    let f = &found[0];
    // HEAD's file, HEAD's line: what the maintainer edits.
    assert_eq!(f["start_line"], 4);
    assert_eq!(f["origin"]["blob_id"], head_blob.as_str());
    let p = &f["provenance"];
    assert_eq!(p["at_head"], true);
    assert_eq!(p["in_head"], true);
    // Still introduced by the first version, whose location is listed.
    assert_eq!(p["commit"], introduced.as_str());
    let earlier = p["earlier_locations"]
        .as_array()
        .expect("earlier locations");
    assert_eq!(earlier.len(), 1, "{earlier:?}");
    assert_eq!(earlier[0]["start_line"], 1);
    assert_eq!(earlier[0]["blob_id"], first_blob.as_str());
    assert_eq!(earlier[0]["commit"], introduced.as_str());

    let annotations = github(&repo);
    assert!(
        annotations.contains("file=config.js,line=4,endLine=4"),
        "{annotations}"
    );
}

#[test]
fn secret_gone_from_head_is_not_annotated_on_current_files() {
    let repo = Repo::new();
    let token = fake_token("npm_", 132);
    repo.write("config.js", &js_with_token(&token));
    let introduced = repo.commit("add config");
    repo.write("config.js", "// clean now\n");
    repo.commit("remove the token");

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    let p = &found[0]["provenance"];
    assert_eq!(p["at_head"], false);
    assert_eq!(p["in_head"], false);
    assert!(p.get("earlier_locations").is_none(), "{p}");

    let annotations = github(&repo);
    let line = annotations
        .lines()
        .find(|l| l.contains("npm-token"))
        .expect("an annotation for the token");
    assert!(!line.contains("file="), "{line}");
    assert!(!line.contains("line="), "{line}");
    assert!(line.contains("in git history only"), "{line}");
    assert!(line.contains(&introduced[..12]), "{line}");
}

#[test]
fn introduction_prefers_branches_over_pull_request_refs() {
    let repo = Repo::new();
    repo.write("README.md", "hello\n");
    repo.commit("init");
    let token = fake_token("npm_", 133);
    // A contributor's pull request adds the token first; it is never merged.
    repo.git(&["checkout", "-q", "-b", "contrib"]);
    repo.write("config.js", &js_with_token(&token));
    repo.commit("contributor adds config");
    repo.git(&["update-ref", "refs/pull/1/head", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "contrib"]);
    // Later the same file lands on main.
    repo.write("config.js", &js_with_token(&token));
    let on_main = repo.commit("maintainer adds config");
    // Another token only ever in a pull request.
    let other = fake_token("npm_", 134);
    repo.git(&["checkout", "-q", "-b", "contrib2"]);
    repo.write("other.js", &js_with_token(&other));
    let only_pr = repo.commit("second pull request");
    repo.git(&["update-ref", "refs/pull/2/head", "HEAD"]);
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "contrib2"]);

    let doc = json(&history(&repo, &[]));
    let found = token_findings(&doc);
    assert_eq!(found.len(), 2, "{found:?}");
    let config = found.iter().find(|f| f["path"] == "config.js").unwrap();
    let p = &config["provenance"];
    assert_eq!(p["commit"], on_main.as_str());
    assert_eq!(p["introduced_only_in_pull_request"], false);
    assert_eq!(p["refs"], serde_json::json!(["main"]));
    // pull/2 is built on main, so it carries the file too.
    assert_eq!(p["pull_request_refs"], 2);

    let other = found.iter().find(|f| f["path"] == "other.js").unwrap();
    let p = &other["provenance"];
    assert_eq!(p["commit"], only_pr.as_str());
    assert_eq!(p["introduced_only_in_pull_request"], true);
    assert_eq!(p["refs"], serde_json::json!([]));
    assert_eq!(p["pull_request_refs"], 1);

    let human = npmsweep(&["history"], &repo.path);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("reachable only from pull-request refs"),
        "{text}"
    );
}

#[test]
fn ref_lists_name_branches_and_count_pull_request_and_bot_refs() {
    let repo = Repo::new();
    let token = fake_token("npm_", 135);
    repo.write("config.js", &js_with_token(&token));
    repo.commit("add config");
    repo.git(&["tag", "v1.0.0"]);
    for n in 0..60 {
        repo.git(&["update-ref", &format!("refs/pull/{n}/head"), "HEAD"]);
    }
    repo.git(&["branch", "dependabot/npm_and_yarn/lodash-4.17.21"]);
    repo.git(&["branch", "renovate/eslint-9.x"]);

    let out = history(&repo, &[]);
    let doc = json(&out);
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    let p = &found[0]["provenance"];
    assert_eq!(p["refs"], serde_json::json!(["main", "v1.0.0"]));
    assert_eq!(p["pull_request_refs"], 60);
    assert_eq!(p["bot_refs"], 2);
    // The report does not grow with the number of refs.
    assert!(
        out.stdout.len() < 8_000,
        "{} bytes for one finding",
        out.stdout.len()
    );
    let human = npmsweep(&["history"], &repo.path);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("reachable from: main, v1.0.0, 60 pull-request refs, 2 bot branches"),
        "{text}"
    );
}

/// Past a few thousand blobs the sweep reads packs by resolving their
/// deltas itself: a deep delta chain still yields every version, with the
/// right line, and every blob is counted once.
#[test]
fn large_deltified_history_is_read_through_pack_traversal() {
    let repo = Repo::new();
    let token = fake_token("npm_", 136);
    let mut stream = String::new();
    let mut files = String::new();
    for n in 0..2500 {
        files.push_str(&format!(
            "M 100644 inline src/file-{n:04}.js\ndata <<EOF\nmodule.exports = {n};\nEOF\n"
        ));
    }
    let mut text = String::from("// settings\n");
    for version in 0..30u64 {
        text.push_str(&format!("// revision {version}\n"));
        let body = if version == 10 {
            format!("{text}{}", js_with_token(&token))
        } else {
            text.clone()
        };
        stream.push_str(&format!(
            "commit refs/heads/main\ncommitter Ada <ada@example.com> {} +0000\ndata 2\nv\n",
            EPOCH + version * 3600
        ));
        if version == 0 {
            stream.push_str(&files);
        }
        stream.push_str(&format!(
            "M 100644 inline config.js\ndata {}\n{body}\n",
            body.len()
        ));
    }
    support::cli::fast_import(&repo.path, &stream);
    repo.git(&["repack", "-adfq", "--depth=50", "--window=50"]);

    let out = history(&repo, &[]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    // 2,500 small files and 30 versions of config.js.
    assert_eq!(doc["summary"]["items_scanned"], 2530, "{}", doc["summary"]);
    assert_eq!(doc["summary"]["skipped"], 0);
    let found = token_findings(&doc);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["path"], "config.js");
    assert_eq!(found[0]["start_line"], 13);
    assert_eq!(found[0]["provenance"]["date"], repo.date_of(10).as_str());
}

#[test]
fn cache_makes_a_re_sweep_read_only_new_blobs_and_never_hides_findings() {
    let repo = Repo::new();
    let token = fake_token("npm_", 137);
    for n in 0..20 {
        repo.write(&format!("src/f{n}.js"), &format!("module.exports = {n};\n"));
    }
    repo.write("config.js", &js_with_token(&token));
    repo.commit("init");
    let dir = TempDir::new().unwrap();
    let cache = dir.path().join("history.cache");
    let cache_arg = cache.to_str().unwrap();

    let first = history(&repo, &["--cache", cache_arg]);
    assert_eq!(code(&first), 1, "{}", stderr(&first));
    let first = json(&first);
    assert_eq!(first["summary"]["items_scanned"], 21);
    let written = std::fs::read_to_string(&cache).unwrap();
    assert!(!written.contains(&token), "the cache holds no secret");
    assert!(!written.contains(&token[4..20]));
    // Header, key, 20 clean blobs, the walk's record.
    assert_eq!(written.lines().count(), 2 + 20 + 1, "{written}");
    assert!(written.lines().last().unwrap().starts_with("walk "));

    // Unchanged repository: only the blob with a finding is read again, and
    // the finding is reported as before.
    let second = history(&repo, &["--cache", cache_arg]);
    assert_eq!(code(&second), 1, "{}", stderr(&second));
    let second = json(&second);
    assert_eq!(second["summary"]["items_scanned"], 1);
    assert_eq!(token_findings(&second), token_findings(&first));
    assert!(
        second["notes"]
            .to_string()
            .contains("20 blob(s) already swept clean"),
        "{}",
        second["notes"]
    );

    // A new blob is read; a new token in it is found.
    let other = fake_token("npm_", 138);
    repo.write("src/f3.js", &js_with_token(&other));
    repo.commit("leak");
    let third = json(&history(&repo, &["--cache", cache_arg]));
    assert_eq!(third["summary"]["items_scanned"], 2);
    assert_eq!(token_findings(&third).len(), 2);

    // Other detector options: the cache does not apply.
    std::fs::write(
        repo.path.join("npmsweep.toml"),
        "credential-names = [\"ACME_TOKEN\"]\n",
    )
    .unwrap();
    let fourth = json(&history(&repo, &["--cache", cache_arg]));
    std::fs::remove_file(repo.path.join("npmsweep.toml")).unwrap();
    assert!(
        fourth["notes"]
            .to_string()
            .contains("written for other rules"),
        "{}",
        fourth["notes"]
    );
    assert_eq!(token_findings(&fourth).len(), 2);

    // A damaged or foreign file: a warning and a full sweep.
    std::fs::write(&cache, "{\"not\": \"a cache\"}\n").unwrap();
    let out = history(&repo, &["--cache", cache_arg]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let doc = json(&out);
    assert!(
        doc["warnings"]
            .to_string()
            .contains("not an npmsweep history cache"),
        "{}",
        doc["warnings"]
    );
    assert_eq!(doc["summary"]["items_scanned"], 22);
    assert_eq!(token_findings(&doc).len(), 2);
    // ... and rewritten, so the next sweep uses it again.
    let doc = json(&history(&repo, &["--cache", cache_arg]));
    assert_eq!(doc["summary"]["items_scanned"], 2);
}

#[test]
fn cache_replays_the_walk_of_an_unchanged_repository_with_the_same_findings() {
    let repo = Repo::new();
    let (kept, dropped, branch_only) = (
        fake_token("npm_", 141),
        fake_token("npm_", 142),
        fake_token("npm_", 143),
    );
    for n in 0..10 {
        repo.write(&format!("src/f{n}.js"), &format!("module.exports = {n};\n"));
    }
    repo.write("config.js", &js_with_token(&kept));
    repo.write(
        ".npmrc",
        &format!("//registry.npmjs.org/:_authToken={dropped}\n"),
    );
    repo.write(
        "package.json",
        "{\"name\": \"p\", \"scripts\": {\"release\": \"npm publish\"}}\n",
    );
    repo.write(
        ".github/workflows/release.yml",
        "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run release\n",
    );
    repo.commit("init");
    repo.write(".npmrc", "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n");
    repo.commit("use the environment");
    repo.git(&["checkout", "-q", "-b", "topic"]);
    repo.write("topic.js", &js_with_token(&branch_only));
    repo.commit("topic");
    repo.git(&["checkout", "-q", "-"]);
    let dir = TempDir::new().unwrap();
    let cache = dir.path().join("history.cache");
    let cache_arg = cache.to_str().unwrap();
    let full = |repo: &Repo| json(&history(repo, &[]))["findings"].clone();
    let reused = |doc: &Value| {
        doc["notes"]
            .to_string()
            .contains("walk over commits and trees was reused")
    };

    let expected = full(&repo);
    assert_eq!(token_findings(&json(&history(&repo, &[]))).len(), 3);
    let first = json(&history(&repo, &["--cache", cache_arg]));
    assert!(!reused(&first), "{}", first["notes"]);
    assert_eq!(first["findings"], expected);
    let written = std::fs::read_to_string(&cache).unwrap();
    for token in [&kept, &dropped, &branch_only] {
        assert!(
            !written.contains(&token[4..20]),
            "the cache holds no secret"
        );
    }

    // Unchanged: the walk is replayed, only blobs with findings are read,
    // and the findings (provenance included) are those of a full sweep.
    let second = json(&history(&repo, &["--cache", cache_arg]));
    assert!(reused(&second), "{}", second["notes"]);
    // 16 blobs in all; only the three with tokens and the workflow with a
    // finding are read again.
    assert_eq!(
        first["summary"]["items_scanned"], 16,
        "{}",
        first["summary"]
    );
    assert_eq!(second["findings"], expected);
    assert!(
        second["summary"]["items_scanned"].as_u64().unwrap() <= 4,
        "{}",
        second["summary"]
    );

    // A ref deleted: what only it reached is gone from a full sweep and
    // from the cached one alike.
    repo.git(&["branch", "-q", "-D", "topic"]);
    let expected = full(&repo);
    assert_eq!(token_findings(&json(&history(&repo, &[]))).len(), 2);
    let third = json(&history(&repo, &["--cache", cache_arg]));
    assert!(!reused(&third), "{}", third["notes"]);
    assert_eq!(third["findings"], expected);

    // A new commit: walked again, then replayed.
    repo.write("src/f1.js", "module.exports = 'one';\n");
    repo.commit("edit");
    let expected = full(&repo);
    let fourth = json(&history(&repo, &["--cache", cache_arg]));
    assert!(!reused(&fourth), "{}", fourth["notes"]);
    assert_eq!(fourth["findings"], expected);
    let fifth = json(&history(&repo, &["--cache", cache_arg]));
    assert!(reused(&fifth), "{}", fifth["notes"]);
    assert_eq!(fifth["findings"], expected);

    // A damaged record: a warning and a full walk, same findings.
    let text = std::fs::read_to_string(&cache).unwrap();
    let damaged = text.replace("\"commits\":[\"", "\"commits\":[\"zz");
    assert_ne!(damaged, text);
    std::fs::write(&cache, damaged).unwrap();
    let sixth = json(&history(&repo, &["--cache", cache_arg]));
    assert!(!reused(&sixth), "{}", sixth["notes"]);
    assert!(
        sixth["warnings"]
            .to_string()
            .contains("damaged walk record"),
        "{}",
        sixth["warnings"]
    );
    assert_eq!(sixth["findings"], expected);
    assert!(reused(&json(&history(&repo, &["--cache", cache_arg]))));
}

/// The walk record of a `--cache` file, as JSON.
fn walk_record(cache: &Path) -> Value {
    let text = std::fs::read_to_string(cache).unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("walk "))
        .unwrap_or_else(|| panic!("no walk record in {text}"));
    serde_json::from_str(line).unwrap()
}

/// `--cache` after new commits walks only them, and every finding
/// (provenance included: introducing commit, refs reaching, still in HEAD,
/// at HEAD) equals a full sweep's, through a new commit adding a secret, a
/// new branch changing what a workflow's analysis reads, a merge, tags, the
/// same bytes committed under a config file's name, stashes (and a stash's
/// reflog entry), deleted refs and a force-push (walked in full, with a
/// note) and a rules change; the record it writes equals a full walk's.
#[test]
fn cache_walks_only_new_commits_with_the_findings_of_a_full_sweep() {
    let repo = Repo::new();
    let (first, second, on_branch) = (
        fake_token("npm_", 151),
        fake_token("npm_", 152),
        fake_token("npm_", 153),
    );
    for n in 0..10 {
        repo.write(&format!("src/f{n}.js"), &format!("module.exports = {n};\n"));
    }
    repo.write("config.js", &js_with_token(&first));
    repo.write(
        "package.json",
        "{\"name\": \"p\", \"scripts\": {\"release\": \"npm publish\", \"build\": \"tsc\"}}\n",
    );
    repo.write(
        ".github/workflows/release.yml",
        "on: push\njobs:\n  r:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run release\n",
    );
    // Reads package.json and finds nothing, until a branch makes its
    // build publish.
    repo.write(
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run build\n",
    );
    let literal = expand_templates("//registry.npmjs.org/:_authToken={{uuid}}\n");
    repo.write("docs/example.txt", &literal);
    repo.commit("init");
    // More versions of the file the workflows' analyses read than
    // attribution analyses apart (past 16 groups the rest share one).
    for i in 0..17 {
        repo.write(
            "package.json",
            &format!(
                "{{\"name\": \"p\", \"scripts\": {{\"release\": \"npm publish\", \"build\": \"tsc -p v{i}\"}}}}\n"
            ),
        );
        repo.commit(&format!("build {i}"));
    }
    let dir = TempDir::new().unwrap();
    let cache = dir.path().join("history.cache");
    let cache_arg = cache.to_str().unwrap();
    let note = |doc: &Value, what: &str| doc["notes"].to_string().contains(what);
    // A cached sweep (expected to walk only new commits or not) against a
    // full one, then a replay of what it recorded.
    let check = |step: &str, incremental: bool| {
        let full = json(&history(&repo, &[]));
        let cached = json(&history(&repo, &["--cache", cache_arg]));
        assert_eq!(
            note(&cached, "only the new commit(s) were walked"),
            incremental,
            "{step}: {}",
            cached["notes"]
        );
        assert_eq!(cached["findings"], full["findings"], "{step}");
        assert_eq!(cached["warnings"], full["warnings"], "{step}");
        // The grown record lists the commits, parents and times in the
        // order a full walk records them. (Its count of blobs met, which
        // only a note shows, counts again a blob met before elsewhere and
        // now added at another path.)
        let fresh = dir.path().join("fresh.cache");
        let _ = std::fs::remove_file(&fresh);
        history(&repo, &["--cache", fresh.to_str().unwrap()]);
        let (grown, walked) = (walk_record(&cache), walk_record(&fresh));
        for field in ["commits", "parents", "times", "walk_key", "base_key"] {
            assert_eq!(grown[field], walked[field], "{step}: {field}");
        }
        // And the same placements, groups with findings and barren blobs.
        let found = |record: &Value| -> std::collections::BTreeMap<String, Value> {
            record["found"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| {
                    let id = f["id"].as_str().unwrap().to_string();
                    (
                        id,
                        serde_json::json!([f["placements"], f["groups"], f["barren"]]),
                    )
                })
                .collect()
        };
        assert_eq!(found(&grown), found(&walked), "{step}");
        let replayed = json(&history(&repo, &["--cache", cache_arg]));
        assert!(
            note(&replayed, "walk over commits and trees was reused"),
            "{step}: {}",
            replayed["notes"]
        );
        assert_eq!(replayed["findings"], full["findings"], "{step}");
        full
    };
    let first_sweep = json(&history(&repo, &["--cache", cache_arg]));
    assert_eq!(token_findings(&first_sweep).len(), 1);

    repo.write("src/f1.js", &js_with_token(&second));
    repo.commit("a new commit on main adds a secret");
    let full = check("new commit", true);
    assert_eq!(token_findings(&full).len(), 2);

    // A branch whose package.json releases no more but builds by
    // publishing: the unchanged workflows are judged against other files
    // in its commits (one of them found nothing before).
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        "package.json",
        "{\"name\": \"p\", \"scripts\": {\"release\": \"echo no\", \"build\": \"npm publish\"}}\n",
    );
    repo.write("feature.js", &js_with_token(&on_branch));
    repo.commit("feature: no publish, a secret");
    repo.git(&["checkout", "-q", "main"]);
    let full = check("new branch", true);
    assert_eq!(token_findings(&full).len(), 3);
    assert!(
        findings(&full)
            .iter()
            .any(|f| f["path"] == ".github/workflows/ci.yml"),
        "{full}"
    );

    repo.write("src/f2.js", "module.exports = 'two';\n");
    repo.commit("main moves on");
    repo.git(&["merge", "-q", "--no-ff", "-m", "merge feature", "feature"]);
    repo.clock.set(repo.clock.get() + 1);
    check("merge", true);

    repo.git(&["tag", "v1"]);
    repo.git(&["tag", "-a", "-m", "annotated", "v0", "HEAD~2"]);
    check("tags", true);

    // The bytes of a clean text file, now an .npmrc: the .npmrc analyser
    // finds them, in every commit holding them there.
    repo.write("pkg/.npmrc", &literal);
    repo.commit("the example becomes a config");
    let full = check("same bytes, new kind of path", true);
    assert!(
        findings(&full).iter().any(|f| f["path"] == "pkg/.npmrc"),
        "{full}"
    );

    // Stashes: the stash and, once another is made, its reflog entry.
    let stashed = fake_token("npm_", 154);
    repo.write("src/f0.js", &js_with_token(&stashed));
    repo.git(&["stash", "-q"]);
    check("a stash", true);
    repo.write("src/f0.js", "module.exports = 'zero';\n");
    repo.git(&["stash", "-q"]);
    let full = check("a second stash", true);
    assert!(
        findings(&full).iter().any(|f| f["path"] == "src/f0.js"),
        "{full}"
    );

    repo.git(&["stash", "clear"]);
    repo.git(&["branch", "-q", "-D", "feature"]);
    repo.git(&["tag", "-d", "v0"]);
    repo.git(&["tag", "-d", "v1"]);
    repo.git(&["reset", "-q", "--hard", "HEAD~1"]);
    repo.write("src/f3.js", "module.exports = 'three';\n");
    repo.commit("after a force-push");
    let cached = json(&history(&repo, &["--cache", cache_arg]));
    assert!(
        note(&cached, "no longer reachable from any ref"),
        "{}",
        cached["notes"]
    );
    check("after the fall-back", false);

    // Other rules or options: every blob is read again, walked in full.
    std::fs::write(
        repo.path.join("npmsweep.toml"),
        "credential-names = [\"ACME_TOKEN\"]\n",
    )
    .unwrap();
    let cached = json(&history(&repo, &["--cache", cache_arg]));
    assert!(
        note(&cached, "written for other rules"),
        "{}",
        cached["notes"]
    );
    assert_eq!(cached["findings"], json(&history(&repo, &[]))["findings"]);
    std::fs::remove_file(repo.path.join("npmsweep.toml")).unwrap();
    repo.write("src/f4.js", "module.exports = 'four';\n");
    repo.commit("one more");
    // The sweep with other options recorded under its own key: this one
    // (default options) walks in full again, then grows again.
    check("rules back", false);
    repo.write("src/f5.js", &js_with_token(&second));
    repo.commit("and another");
    check("and grows again", true);
}
