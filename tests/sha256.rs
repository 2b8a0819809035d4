//! Repositories in git's SHA-256 object format (`git init
//! --object-format=sha256`): `history` and `scan --staged` read them and
//! report exactly what they report for the same history in SHA-1 — the
//! same rules, paths, lines, commits (as 64-digit ids), refs, warnings and
//! notes. Each test builds the same history twice, once per format, with
//! fixed names and dates, then maps every object id of the SHA-256 twin to
//! its SHA-1 counterpart (same commit subject, same path) and compares the
//! reports byte for byte. Tokens are generated at run time.

use npmsweep::token::fake_token;
use serde_json::Value;
use std::cell::Cell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use tempfile::TempDir;

mod support {
    pub mod cli;
}

const SHA1: &str = "sha1";
const SHA256: &str = "sha256";

/// 2024-03-01T10:00:00Z; each commit is one hour later than the previous.
const EPOCH: u64 = 1_709_287_200;

fn git_env(cmd: &mut Command) -> &mut Command {
    cmd.env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("LC_ALL", "C")
}

struct Repo {
    _dir: TempDir,
    path: PathBuf,
    clock: Cell<u64>,
    /// Objects no ref reaches, by name (`commit <subject>` or `blob <name>`).
    unreachable: std::cell::RefCell<Vec<(String, String)>>,
}

impl Repo {
    fn new(format: &str) -> Repo {
        let dir = TempDir::new().unwrap();
        let path = dir.path().join("repo");
        std::fs::create_dir(&path).unwrap();
        let repo = Repo {
            _dir: dir,
            path,
            clock: Cell::new(0),
            unreachable: Default::default(),
        };
        repo.git(&["init", "-q", &format!("--object-format={format}")]);
        repo
    }

    fn git(&self, args: &[&str]) -> String {
        let date = format!("@{} +0000", EPOCH + self.clock.get() * 3600);
        let out = git_env(&mut Command::new("git"))
            .args([
                "-c",
                "init.defaultBranch=main",
                "-c",
                "commit.gpgsign=false",
                "-c",
                "tag.gpgsign=false",
                "-c",
                "gc.auto=0",
            ])
            .args(args)
            .current_dir(&self.path)
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

    fn write(&self, rel: &str, content: &str) {
        let p = self.path.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }

    fn remove(&self, rel: &str) {
        std::fs::remove_file(self.path.join(rel)).unwrap();
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.clock.set(self.clock.get() + 1);
        self.git(&["rev-parse", "HEAD"])
    }

    /// Every object reachable from a ref, keyed by what names it in either
    /// format: a commit by its subject, a tree or blob by commit subject and
    /// path, a tag by its name.
    fn objects(&self) -> HashMap<String, String> {
        let mut out = HashMap::new();
        let mut commits: Vec<(String, String)> = self
            .git(&["log", "--all", "--format=%H %s"])
            .lines()
            .map(|l| {
                let (id, subject) = l.split_once(' ').unwrap();
                (id.to_string(), subject.to_string())
            })
            .collect();
        for (name, id) in self.unreachable.borrow().iter() {
            match name.strip_prefix("commit ") {
                Some(subject) => commits.push((id.clone(), subject.to_string())),
                None => {
                    out.insert(name.clone(), id.clone());
                }
            }
        }
        for (commit, subject) in &commits {
            let (commit, subject) = (commit.as_str(), subject.as_str());
            assert!(
                out.insert(format!("commit {subject}"), commit.to_string())
                    .is_none(),
                "commit subjects must be unique: {subject}"
            );
            let root = self.git(&["rev-parse", &format!("{commit}^{{tree}}")]);
            out.insert(format!("tree {subject}:"), root);
            for entry in self.git(&["ls-tree", "-r", "-t", commit]).lines() {
                let (meta, path) = entry.split_once('\t').unwrap();
                let id = meta.rsplit(' ').next().unwrap();
                out.insert(format!("object {subject}:{path}"), id.to_string());
            }
        }
        for tag in self.git(&["tag", "--list"]).lines() {
            out.insert(
                format!("tag {tag}"),
                self.git(&["rev-parse", &format!("refs/tags/{tag}")]),
            );
        }
        out
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

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Both twins' object ids, SHA-256 → SHA-1, full and as the 12-digit
/// prefixes the human report shows.
fn id_map(sha256: &Repo, sha1: &Repo) -> Vec<(String, String)> {
    let long = sha256.objects();
    let short = sha1.objects();
    assert_eq!(long.len(), short.len(), "the twins hold the same history");
    let mut pairs: Vec<(String, String)> = long
        .iter()
        .map(|(name, id)| {
            assert_eq!(id.len(), 64, "{name}: {id}");
            let other = &short[name];
            assert_eq!(other.len(), 40, "{name}: {other}");
            (id.clone(), other.clone())
        })
        .collect();
    let prefixes: Vec<(String, String)> = pairs
        .iter()
        .map(|(a, b)| (a[..12].to_string(), b[..12].to_string()))
        .collect();
    // Full ids first, so a prefix never replaces part of a full id.
    pairs.sort();
    pairs.dedup();
    pairs.extend(prefixes);
    pairs
}

/// The SHA-256 twin's output with every id replaced by the SHA-1 twin's.
fn translated(text: &str, ids: &[(String, String)]) -> String {
    let mut text = text.to_string();
    for (long, short) in ids {
        text = text.replace(long.as_str(), short);
    }
    text
}

/// Human reports end with the time the run took.
fn without_timing(text: &str) -> String {
    text.lines()
        .map(|l| match l.rfind(", in ") {
            Some(at) if l.ends_with('s') => &l[..at],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Run `args` in both twins and check that the reports (standard output
/// and error) are the same but for the object ids; returns the SHA-256
/// twin's JSON report when the run asked for one.
fn same_report(twins: &Twins, args: &[&str]) -> Option<Value> {
    let (sha256, sha1, ids) = (&twins.sha256, &twins.sha1, &twins.ids);
    let long = npmsweep(args, &sha256.path);
    let short = npmsweep(args, &sha1.path);
    assert_eq!(
        long.status.code(),
        short.status.code(),
        "{args:?}: {} / {}",
        stderr(&long),
        stderr(&short)
    );
    assert_ne!(long.status.code(), Some(2), "{args:?}: {}", stderr(&long));
    let long_out = String::from_utf8_lossy(&long.stdout).into_owned();
    let short_out = String::from_utf8_lossy(&short.stdout).into_owned();
    let json = args.windows(2).any(|w| w == ["--format", "json"]);
    if json {
        let mut doc: Value = serde_json::from_str(&translated(&long_out, ids)).unwrap();
        // The one difference: the SHA-256 report says which ids it has.
        assert_eq!(doc["repository"]["object_format"], SHA256, "{args:?}");
        doc["repository"]
            .as_object_mut()
            .unwrap()
            .remove("object_format");
        let twin: Value = serde_json::from_str(&short_out).unwrap();
        assert_eq!(twin["repository"].get("object_format"), None);
        assert_eq!(doc, twin, "{args:?}");
    } else {
        assert_eq!(
            without_timing(&translated(&long_out, ids)),
            without_timing(&short_out),
            "{args:?}"
        );
    }
    assert_eq!(
        without_timing(&translated(&stderr(&long), ids)),
        without_timing(&stderr(&short)),
        "{args:?}"
    );
    json.then(|| serde_json::from_str(&long_out).unwrap())
}

const WORKFLOW: &str = r#"name: Release
on:
  push:
    branches: [main]
permissions:
  contents: write
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 22
      - run: npm ci
      - name: Publish
        run: npm run release
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"#;

const PACKAGE: &str = r#"{
  "name": "acme-web",
  "scripts": {
    "release": "npm publish --access public"
  }
}
"#;

fn js_with_token(token: &str) -> String {
    format!("module.exports = {{ registryToken: \"{token}\" }};\n")
}

/// The shared history: a workflow publishing through `package.json`, a
/// token committed then removed on main, a literal `.npmrc` only on a
/// branch, an annotated tag, everything packed with deltas by `git gc`,
/// then a last commit whose objects stay loose.
fn build(format: &str) -> Repo {
    let repo = Repo::new(format);
    repo.write("README.md", "hello\n");
    repo.write("package.json", PACKAGE);
    repo.write(".github/workflows/release.yml", WORKFLOW);
    let mut app = String::from("// app\n");
    repo.write("src/app.js", &app);
    repo.commit("init");
    repo.write("config.js", &js_with_token(&fake_token("npm_", 301)));
    repo.commit("add publish config");
    for version in 0..8 {
        for line in 0..40 {
            app.push_str(&format!("export const v{version}_{line} = {line};\n"));
        }
        repo.write("src/app.js", &app);
        repo.commit(&format!("app v{version}"));
    }
    repo.git(&["checkout", "-q", "-b", "feature"]);
    repo.write(
        ".npmrc",
        &format!(
            "//registry.npmjs.org/:_authToken={}\n",
            fake_token("npm_", 302)
        ),
    );
    repo.commit("leak npmrc");
    repo.remove(".npmrc");
    repo.commit("drop npmrc");
    repo.git(&["checkout", "-q", "main"]);
    repo.remove("config.js");
    repo.commit("remove the token");
    repo.git(&["tag", "-a", "v1", "-m", "release 1"]);
    repo.git(&["gc", "-q", "--aggressive"]);
    repo.write(
        ".yarnrc.yml",
        &format!("npmAuthToken: \"{}\"\n", fake_token("npm_", 303)),
    );
    repo.commit("yarn config");
    // What a force-push leaves behind: a commit no ref reaches, and a blob
    // no commit holds (both loose).
    repo.git(&["checkout", "-q", "-b", "scratch"]);
    repo.write("scratch.js", &js_with_token(&fake_token("npm_", 308)));
    let dangling = repo.commit("scratch work");
    repo.git(&["checkout", "-q", "main"]);
    repo.git(&["branch", "-q", "-D", "scratch"]);
    repo.write("stray.js", &js_with_token(&fake_token("npm_", 309)));
    let stray = repo.git(&["hash-object", "-w", "stray.js"]);
    repo.remove("stray.js");
    repo.unreachable.borrow_mut().extend([
        ("commit scratch work".to_string(), dangling),
        ("blob stray".to_string(), stray),
    ]);
    repo
}

/// Loose object files of a repository (`objects/xx/…`), by name length.
fn loose_object_names(repo: &Repo) -> Vec<usize> {
    let mut lengths = Vec::new();
    for dir in std::fs::read_dir(repo.path.join(".git/objects")).unwrap() {
        let dir = dir.unwrap();
        let name = dir.file_name().to_string_lossy().into_owned();
        if name.len() == 2 {
            for file in std::fs::read_dir(dir.path()).unwrap() {
                lengths.push(2 + file.unwrap().file_name().len());
            }
        }
    }
    lengths
}

/// `git clone --shared` of `repo`, its remote renamed so that both twins'
/// clones have the same URL.
fn shared_clone(repo: &Repo) -> Repo {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("clone");
    repo.git(&["clone", "-q", "--shared", ".", path.to_str().unwrap()]);
    let clone = Repo {
        _dir: dir,
        path,
        clock: Cell::new(repo.clock.get()),
        unreachable: std::cell::RefCell::new(repo.unreachable.borrow().clone()),
    };
    clone.git(&[
        "remote",
        "set-url",
        "origin",
        "https://example.com/acme/web.git",
    ]);
    assert!(
        std::fs::read_to_string(clone.path.join(".git/objects/info/alternates")).is_ok(),
        "a shared clone has alternates"
    );
    clone
}

fn git_makes_sha256_repositories() -> bool {
    let probe = TempDir::new().unwrap();
    let ok = git_env(&mut Command::new("git"))
        .args(["init", "-q", "--object-format=sha256", "."])
        .current_dir(probe.path())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("this git cannot create SHA-256 repositories: not checked");
    }
    ok
}

/// The same history in both formats, and the map between their ids.
struct Twins {
    sha256: Repo,
    sha1: Repo,
    ids: Vec<(String, String)>,
}

impl Twins {
    fn build() -> Option<Twins> {
        if !git_makes_sha256_repositories() {
            return None;
        }
        let (sha256, sha1) = (build(SHA256), build(SHA1));
        Some(Twins::of(sha256, sha1))
    }

    fn of(sha256: Repo, sha1: Repo) -> Twins {
        let ids = id_map(&sha256, &sha1);
        Twins { sha256, sha1, ids }
    }

    fn both(&self) -> [&Repo; 2] {
        [&self.sha256, &self.sha1]
    }
}

#[test]
fn history_of_a_sha256_repository_is_its_sha1_twins_history() {
    let Some(twins) = Twins::build() else { return };
    let long = &twins.sha256;
    // Packed with deltas, and loose objects named by 64 hex digits.
    let packs = std::fs::read_dir(long.path.join(".git/objects/pack"))
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "pack")
        })
        .count();
    assert_eq!(packs, 1);
    let loose = loose_object_names(long);
    assert!(
        !loose.is_empty() && loose.iter().all(|&n| n == 64),
        "{loose:?}"
    );

    let doc = same_report(&twins, &["history", "--format", "json"]).unwrap();
    let mut found: Vec<(String, String, u64, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["path"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
                f["provenance"]["summary"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    found.sort();
    let expect = |rule: &str, path: &str, summary: &str| {
        assert!(
            found
                .iter()
                .any(|(r, p, l, s)| r == rule && p == path && *l == 1 && s == summary),
            "{rule} in {path} from {summary:?}: {found:#?}"
        );
    };
    expect("npm-token", "config.js", "add publish config");
    expect("npm-token", ".npmrc", "leak npmrc");
    expect("npm-token", ".yarnrc.yml", "yarn config");
    // The introducing commit is named by its full SHA-256 id.
    for f in doc["findings"].as_array().unwrap() {
        let commit = f["provenance"]["commit"].as_str().unwrap();
        let subject = f["provenance"]["summary"].as_str().unwrap();
        assert_eq!(commit.len(), 64, "{f}");
        assert_eq!(long.git(&["log", "--format=%s", "-1", commit]), subject);
        assert_eq!(f["origin"]["blob_id"].as_str().unwrap().len(), 64);
    }
    // The workflow publishes through package.json, read from the tree.
    assert_eq!(
        doc["publish_readiness"]["total"], 1,
        "{}",
        doc["publish_readiness"]
    );
    assert_eq!(doc["repository"]["head"].as_str().unwrap().len(), 64);

    // The human report, and every way of choosing what to sweep.
    same_report(&twins, &["history"]);
    assert!(
        !doc.to_string().contains("scratch"),
        "unreachable objects are not swept by default"
    );
    let all = same_report(&twins, &["history", "--format", "json", "--all-objects"]).unwrap();
    let paths: Vec<&str> = all["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(paths.contains(&"scratch.js"), "{paths:?}");
    assert!(paths.contains(&"(unreachable blob)"), "{paths:?}");
    for args in [
        &["history", "--format", "json", "--branch", "feature"][..],
        &["history", "--format", "json", "--branch", "v1"],
        &["history", "--format", "json", "--range", "main~3..main"],
        &["history", "--format", "sarif"],
    ] {
        same_report(&twins, args);
    }
    // A clone sharing the original's objects (`git clone --shared`: an
    // `info/alternates` entry) reaches the original's unreachable objects
    // through the alternate.
    let clones = Twins::of(shared_clone(&twins.sha256), shared_clone(&twins.sha1));
    let all = same_report(&clones, &["history", "--format", "json", "--all-objects"]).unwrap();
    assert!(
        all["findings"].to_string().contains("scratch.js"),
        "{}",
        all["findings"]
    );
    // A full id is a revision of its own.
    let feature = long.git(&["rev-parse", "feature"]);
    let by_id = npmsweep(
        &["history", "--format", "json", "--branch", &feature],
        &long.path,
    );
    assert_eq!(by_id.status.code(), Some(1), "{}", stderr(&by_id));
}

#[test]
fn staged_files_of_a_sha256_repository_are_scanned_like_sha1() {
    let Some(twins) = Twins::build() else { return };
    for repo in twins.both() {
        repo.write(
            ".npmrc",
            &format!(
                "//registry.npmjs.org/:_authToken={}\n",
                fake_token("npm_", 304)
            ),
        );
        // The publish indirection is judged from the index's package.json.
        repo.write(
            "package.json",
            &PACKAGE.replace("npm publish --access public", "npm publish"),
        );
        repo.git(&["add", ".npmrc", "package.json"]);
        // Not staged: not what the commit holds, not scanned.
        repo.write("unstaged.js", &js_with_token(&fake_token("npm_", 305)));
    }
    let doc = same_report(&twins, &["scan", "--staged", ".", "--format", "json"]).unwrap();
    let found: Vec<(&str, &str)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule_id"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert!(found.contains(&("npm-token", ".npmrc")), "{found:?}");
    assert!(!found.iter().any(|(_, p)| *p == "unstaged.js"), "{found:?}");
    same_report(&twins, &["scan", "--staged", "."]);
    // A plain scan of the working tree reads the index too (tracked files
    // that .gitignore matches are added back), without a warning.
    for repo in twins.both() {
        repo.write(".gitignore", "config/\n");
        repo.write(
            "config/publish.js",
            &js_with_token(&fake_token("npm_", 306)),
        );
        repo.git(&["add", "-f", ".gitignore", "config/publish.js"]);
    }
    let doc = same_report(&twins, &["scan", ".", "--format", "json"]).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["path"] == "config/publish.js"),
        "{}",
        doc["findings"]
    );
    assert_eq!(doc["warnings"], serde_json::json!([]));
}

#[test]
fn cache_purge_plan_and_damage_work_in_a_sha256_repository() {
    let Some(twins) = Twins::build() else { return };
    let dir = TempDir::new().unwrap();
    let mut plans = Vec::new();
    for (name, repo) in [("long", &twins.sha256), ("short", &twins.sha1)] {
        let cache = dir.path().join(format!("{name}.cache"));
        let cache = cache.to_str().unwrap();
        let first = npmsweep(
            &["history", "--format", "json", "--cache", cache],
            &repo.path,
        );
        assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
        let second = npmsweep(
            &["history", "--format", "json", "--cache", cache],
            &repo.path,
        );
        let second: Value = serde_json::from_slice(&second.stdout).unwrap();
        // Only the blobs with findings (or that consult sibling files) are
        // read again; the cache names the rest by their full ids.
        let first: Value = serde_json::from_slice(&first.stdout).unwrap();
        assert!(
            second["summary"]["items_scanned"].as_u64().unwrap()
                < first["summary"]["items_scanned"].as_u64().unwrap() / 2,
            "{} then {}",
            first["summary"],
            second["summary"]
        );
        assert_eq!(second["findings"], first["findings"]);
        assert!(
            second["notes"]
                .to_string()
                .contains("walk over commits and trees was reused"),
            "{name}: {}",
            second["notes"]
        );
        assert_eq!(second["warnings"], first["warnings"], "{name}");
        let text = std::fs::read_to_string(cache).unwrap();
        let id_len = if name == "long" { 64 } else { 40 };
        assert!(
            text.lines()
                .skip(2)
                .filter(|l| !l.starts_with("walk "))
                .all(|l| l.split(' ').next().unwrap().len() == id_len),
            "{text}"
        );
        // The second sweep replayed the walk the first recorded, with ids
        // of the repository's own length.
        let walk: Value = text
            .lines()
            .find_map(|l| l.strip_prefix("walk "))
            .map(|j| serde_json::from_str(j).unwrap())
            .expect("a walk record");
        let commits = walk["commits"].as_array().unwrap();
        assert!(!commits.is_empty());
        assert!(
            commits.iter().all(|c| c.as_str().unwrap().len() == id_len),
            "{walk}"
        );
        let plan = dir.path().join(format!("{name}.plan"));
        let out = npmsweep(
            &["history", "-q", "--purge-plan", plan.to_str().unwrap()],
            &repo.path,
        );
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        plans.push(std::fs::read_to_string(&plan).unwrap());
    }
    assert_eq!(plans[0], plans[1], "the same secrets to purge");
    assert_eq!(plans[0].lines().count(), 3, "{}", plans[0].len());

    // A loose object cut short is a warning naming its 64-digit id, and a
    // bad line in packed-refs makes npmsweep read the ref files itself
    // (64-digit ids there); the sweep goes on.
    let blob = twins.sha256.git(&["rev-parse", "HEAD:.yarnrc.yml"]);
    for repo in twins.both() {
        // (git itself refuses the damaged packed-refs: ask it first.)
        let blob = repo.git(&["rev-parse", "HEAD:.yarnrc.yml"]);
        let packed = repo.path.join(".git/packed-refs");
        let mut refs = std::fs::read_to_string(&packed).unwrap();
        assert!(refs.contains("refs/tags/v1"), "{refs}");
        refs.push_str("GARBAGE LINE\n");
        std::fs::write(&packed, refs).unwrap();
        let path = repo
            .path
            .join(".git/objects")
            .join(&blob[..2])
            .join(&blob[2..]);
        let bytes = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    }
    let doc = same_report(&twins, &["history", "--format", "json"]).unwrap();
    let warnings = doc["warnings"].to_string();
    assert!(warnings.contains(&blob), "{warnings}");
    assert!(
        warnings.contains("from the ref files directly"),
        "{warnings}"
    );
    // Every finding but the damaged blob's is still there, with its refs.
    let refs: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["provenance"]["refs"].to_string())
        .collect();
    assert!(refs.iter().any(|r| r.contains("v1")), "{refs:?}");
    assert!(refs.iter().any(|r| r.contains("feature")), "{refs:?}");
}

/// Past 2,048 blobs the sweep reads the rest by its own pack traversal:
/// 32-byte ids in the pack index, trees and delta bases.
#[test]
fn pack_traversal_reads_sha256_packs() {
    if !git_makes_sha256_repositories() {
        return;
    }
    let build = |format: &str| {
        let repo = Repo::new(format);
        let mut stream = String::new();
        let mut text = String::from("// settings\n");
        for version in 0..20u64 {
            text.push_str(&format!("// revision {version}\n"));
            let body = if version == 7 {
                format!("{text}{}", js_with_token(&fake_token("npm_", 307)))
            } else {
                text.clone()
            };
            stream.push_str(&format!(
                "commit refs/heads/main\ncommitter Ada <ada@example.com> {} +0000\ndata 3\nv{version:02}\n",
                EPOCH + version * 3600,
            ));
            // The oldest commit's workflow is met after 2,048 blobs: read
            // by pack traversal, with package.json read from its tree.
            if version == 0 {
                stream.push_str(&format!(
                    "M 100644 inline package.json\ndata {}\n{PACKAGE}\n",
                    PACKAGE.len()
                ));
                stream.push_str(&format!(
                    "M 100644 inline .github/workflows/release.yml\ndata {}\n{WORKFLOW}\n",
                    WORKFLOW.len()
                ));
            }
            if version == 1 {
                for n in 0..2100 {
                    stream.push_str(&format!(
                        "M 100644 inline src/file-{n:04}.js\ndata <<EOF\nmodule.exports = {n};\nEOF\n"
                    ));
                }
            }
            stream.push_str(&format!(
                "M 100644 inline config.js\ndata {}\n{body}\n",
                body.len()
            ));
        }
        support::cli::fast_import(&repo.path, &stream);
        repo.git(&["repack", "-adfq", "--depth=50", "--window=50"]);
        repo
    };
    let twins = Twins::of(build(SHA256), build(SHA1));
    let doc = same_report(&twins, &["history", "--format", "json"]).unwrap();
    assert_eq!(doc["summary"]["items_scanned"], 2100 + 20 + 2);
    let tokens: Vec<&Value> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"] == "npm-token")
        .collect();
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    assert_eq!(tokens[0]["path"], "config.js");
    assert_eq!(tokens[0]["start_line"], 10);
}
