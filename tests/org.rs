//! Sweeping an organisation: `plan` (every repository in exactly one shard),
//! `--repos`/`--shard` runs, and `merge` (one entry per secret with every
//! location, order independence, missing and failed shards). Repositories
//! are built with the git CLI in temporary directories; tokens are
//! generated at run time.

mod support {
    pub mod sarif_schema;
}

use npmsweep::org::plan::{Entry, assign};
use npmsweep::token::fake_token;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::sarif_schema::{assert_github_acceptable, assert_schema_valid};
use tempfile::TempDir;

fn git(dir: &Path, args: &[&str]) {
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
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", "@1709287200 +0000")
        .env("GIT_COMMITTER_DATE", "@1709287200 +0000")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A repository with `files` committed and an `origin` whose URL carries a
/// credential (which must never reach a report).
fn repo(root: &Path, name: &str, files: &[(&str, String)]) -> PathBuf {
    let path = root.join(name);
    std::fs::create_dir_all(&path).unwrap();
    git(&path, &["init", "-q"]);
    for (rel, content) in files {
        std::fs::write(path.join(rel), content).unwrap();
    }
    git(&path, &["add", "-A"]);
    git(&path, &["commit", "-q", "-m", "init"]);
    let url = format!("https://x-access-token:ghs_notreal123@example.com/org/{name}.git");
    git(&path, &["remote", "add", "origin", &url]);
    path
}

fn npmsweep(args: &[&str], dir: &Path) -> Output {
    npmsweep_with(args, dir, None)
}

/// `npmsweep` with `$GITHUB_STEP_SUMMARY` set to `summary`, or unset (a
/// test run inside GitHub Actions must not write to the real one).
fn npmsweep_with(args: &[&str], dir: &Path, summary: Option<&Path>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_npmsweep"));
    command
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY");
    if let Some(path) = summary {
        command.env("GITHUB_STEP_SUMMARY", path);
    }
    command.output().unwrap()
}

fn npmrc(token: &str) -> String {
    format!("//registry.npmjs.org/:_authToken={token}\n")
}

/// Four repositories: a token shared by `a`, `b` and `c` (in different
/// files), one only in `d`, and a guessable password in `a` and `d`.
fn org(root: &Path) -> (Vec<PathBuf>, String) {
    let shared = fake_token("npm_", 1501);
    let own = fake_token("npm_", 1502);
    let password =
        "//registry.example.com/:_password=aHVudGVyMg==\n//registry.example.com/:username=bob\n"
            .to_string();
    let repos = vec![
        repo(
            root,
            "a",
            &[(".npmrc", npmrc(&shared)), ("ci.npmrc", password.clone())],
        ),
        repo(root, "b", &[(".npmrc", npmrc(&shared))]),
        repo(
            root,
            "c",
            &[("deploy.env", format!("NPM_TOKEN={shared}\n"))],
        ),
        repo(
            root,
            "d",
            &[(".npmrc", npmrc(&own)), ("ci.npmrc", password)],
        ),
    ];
    let list: String = repos.iter().map(|p| format!("{}\n", p.display())).collect();
    std::fs::write(root.join("repos.txt"), &list).unwrap();
    (repos, shared)
}

/// A small deterministic generator (xorshift), so the property loop is
/// reproducible.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn plan_puts_every_repository_in_exactly_one_shard() {
    let mut rng = Rng(0x5eed_1234);
    for round in 0..300 {
        let n = (rng.next() % 60) as usize;
        let shards = 1 + (rng.next() % 9) as usize;
        let entries: Vec<Entry> = (0..n)
            .map(|i| Entry {
                repository: format!("https://example.com/org/r{i}-{round}.git"),
                size: match rng.next() % 3 {
                    0 => None,
                    _ => Some(rng.next() % 100_000),
                },
            })
            .collect();
        let plan = assign(&entries, shards);
        assert_eq!(plan.len(), shards);
        let mut seen: Vec<&str> = plan
            .iter()
            .flat_map(|s| s.repositories.iter().map(|e| e.repository.as_str()))
            .collect();
        seen.sort();
        let mut want: Vec<&str> = entries.iter().map(|e| e.repository.as_str()).collect();
        want.sort();
        assert_eq!(seen, want, "round {round}: each repository exactly once");
        // The order of the list does not matter.
        let mut reversed = entries.clone();
        reversed.reverse();
        assert_eq!(assign(&reversed, shards), plan, "round {round}");
        // Greedy bound: no shard exceeds the lightest by more than the
        // largest single repository.
        let max_item = plan
            .iter()
            .flat_map(|s| s.repositories.iter())
            .map(|e| e.size.unwrap_or(0))
            .max()
            .unwrap_or(0);
        let loads: Vec<u64> = plan.iter().map(|s| s.load).collect();
        let (lo, hi) = (loads.iter().min().unwrap(), loads.iter().max().unwrap());
        if entries.iter().all(|e| e.size.is_some()) {
            assert!(hi - lo <= max_item, "round {round}: loads {loads:?}");
        }
    }
}

#[test]
fn plan_cli_json_and_one_shard_listing() {
    let dir = TempDir::new().unwrap();
    std::fs::write(
        dir.path().join("r.txt"),
        "# org\nhttps://e.com/a 10\nhttps://e.com/b 9\nhttps://e.com/c 2\n",
    )
    .unwrap();
    let out = npmsweep(&["plan", "--shards", "2", "r.txt"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let plan: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(plan["shard_count"], 2);
    assert_eq!(
        plan["shards"][0]["repositories"][0]["repository"],
        "https://e.com/a"
    );
    assert_eq!(plan["shards"][1]["load"], 11);
    let one = npmsweep(
        &["plan", "--shards", "2", "--shard", "1", "r.txt"],
        dir.path(),
    );
    assert_eq!(
        String::from_utf8_lossy(&one.stdout),
        "https://e.com/b\nhttps://e.com/c\n"
    );
    let bad = npmsweep(&["plan", "--shards", "2", "missing.txt"], dir.path());
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn history_report_names_its_repository_without_credentials() {
    let dir = TempDir::new().unwrap();
    let (repos, _) = org(dir.path());
    let out = npmsweep(
        &["history", "--format", "json", repos[0].to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        !text.contains("ghs_notreal123") && !text.contains("x-access-token"),
        "{text}"
    );
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["schema_version"], 2);
    assert_eq!(report["repository"]["url"], "https://example.com/org/a.git");
    assert_eq!(report["repository"]["default_branch"], "main");
    assert_eq!(report["repository"]["head"].as_str().unwrap().len(), 40);
}

/// Run the four repositories as two shards and merge.
fn shard_reports(root: &Path, command: &str) -> Vec<PathBuf> {
    (0..2)
        .map(|i| {
            let file = root.join(format!("{command}-{i}.json"));
            let out = npmsweep(
                &[
                    command,
                    "--repos",
                    "repos.txt",
                    "--shard",
                    &format!("{i}/2"),
                    "--format",
                    "json",
                    "-o",
                    file.to_str().unwrap(),
                ],
                root,
            );
            assert!(
                matches!(out.status.code(), Some(0 | 1)),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            file
        })
        .collect()
}

#[test]
fn merge_makes_one_entry_per_secret_with_every_location_in_any_order() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let (_, shared) = org(root);
    let reports = shard_reports(root, "history");
    let plan = npmsweep(
        &["plan", "--shards", "2", "repos.txt", "-o", "plan.json"],
        root,
    );
    assert_eq!(plan.status.code(), Some(0));
    let merge = |files: &[&PathBuf]| {
        let mut args = vec!["merge", "--format", "json", "--plan", "plan.json"];
        args.extend(files.iter().map(|f| f.to_str().unwrap()));
        npmsweep(&args, root)
    };
    let forward = merge(&[&reports[0], &reports[1]]);
    let backward = merge(&[&reports[1], &reports[0]]);
    assert_eq!(
        forward.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&forward.stderr)
    );
    assert_eq!(
        forward.stdout, backward.stdout,
        "same reports in any order, same bytes"
    );
    let text = String::from_utf8_lossy(&forward.stdout);
    assert!(!text.contains(&shared), "the secret itself never appears");
    assert!(!text.contains("ghs_notreal123"));
    let merged: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(merged["summary"]["repositories"], 4);
    assert_eq!(merged["shards"]["missing"].as_array().unwrap().len(), 0);
    let findings = merged["findings"].as_array().unwrap();
    let with_three: Vec<&Value> = findings
        .iter()
        .filter(|f| f["repositories"].as_array().unwrap().len() == 3)
        .collect();
    assert_eq!(with_three.len(), 1, "the shared token is one entry: {text}");
    let entry = with_three[0];
    assert!(entry["secret_id"].is_string());
    let locations = entry["locations"].as_array().unwrap();
    let places: Vec<(String, String)> = locations
        .iter()
        .map(|l| {
            (
                l["repository"].as_str().unwrap().to_string(),
                l["path"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (repo, path) in [("a", ".npmrc"), ("b", ".npmrc"), ("c", "deploy.env")] {
        let url = format!("https://example.com/org/{repo}.git");
        assert!(
            places.contains(&(url, path.to_string())),
            "{repo}/{path} in {places:?}"
        );
    }
    assert!(
        locations
            .iter()
            .all(|l| l["commit"].as_str().is_some_and(|c| c.len() == 40))
    );
    // The guessable password has no secret_id: one entry per repository.
    let guessable: Vec<&Value> = findings
        .iter()
        .filter(|f| f["secret_id"].is_null() && f["locations"][0]["path"] == "ci.npmrc")
        .collect();
    assert_eq!(guessable.len(), 2, "{text}");
    assert!(
        guessable
            .iter()
            .all(|f| f["repositories"].as_array().unwrap().len() == 1)
    );
    // Totals per repository and per rule.
    let repo_a = merged["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["repository"]["url"] == "https://example.com/org/a.git")
        .unwrap();
    assert!(repo_a["total"].as_u64().unwrap() >= 2);
    assert!(merged["summary"]["by_rule"]["npm-token"].as_u64().unwrap() >= 4);
}

/// Every format of `merge`: the same two shard reports in either order give
/// the same bytes (and the same job summary, and the same SARIF files).
#[test]
fn every_merge_format_is_the_same_bytes_in_any_order() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let (_, shared) = org(root);
    let reports = shard_reports(root, "history");
    let (r0, r1) = (reports[0].to_str().unwrap(), reports[1].to_str().unwrap());
    let merge = |format: &str, files: [&str; 2], extra: &[&str], summary: Option<&Path>| {
        let mut args = vec!["merge", "--format", format];
        args.extend(extra);
        args.extend(files);
        let out = npmsweep_with(&args, root, summary);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{format}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stdout).contains(&shared));
        out.stdout
    };
    for format in ["human", "json", "jsonl", "github"] {
        assert_eq!(
            merge(format, [r0, r1], &[], None),
            merge(format, [r1, r0], &[], None),
            "{format}: same reports in any order, same bytes"
        );
    }

    // JSON Lines: exactly the JSON report's findings, one per line.
    let json: Value = serde_json::from_slice(&merge("json", [r0, r1], &[], None)).unwrap();
    let jsonl = String::from_utf8(merge("jsonl", [r0, r1], &[], None)).unwrap();
    let lines: Vec<Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(&lines, json["findings"].as_array().unwrap());

    // GitHub: no annotation points into the repository running the merge;
    // the shared token's names all three repositories; the tables go to
    // the job summary.
    let summaries = [root.join("summary-0.md"), root.join("summary-1.md")];
    let github = [
        merge("github", [r0, r1], &[], Some(&summaries[0])),
        merge("github", [r1, r0], &[], Some(&summaries[1])),
    ];
    assert_eq!(github[0], github[1]);
    let text = String::from_utf8(github[0].clone()).unwrap();
    let commands: Vec<&str> = text.lines().filter(|l| l.starts_with("::")).collect();
    assert_eq!(commands.len(), json["findings"].as_array().unwrap().len());
    assert!(commands.iter().all(|c| !c.contains("file=")), "{text}");
    let shared_line = commands
        .iter()
        .find(|c| c.contains("(3 repositories)"))
        .unwrap_or_else(|| panic!("{text}"));
    for repo in ["a", "b", "c"] {
        assert!(
            shared_line.contains(&format!("https://example.com/org/{repo}.git ")),
            "{shared_line}"
        );
    }
    assert!(text.ends_with("npmsweep: the merged report is in the job summary\n"));
    let summary = std::fs::read_to_string(&summaries[0]).unwrap();
    assert_eq!(summary, std::fs::read_to_string(&summaries[1]).unwrap());
    assert!(summary.starts_with("## npmsweep: organisation sweep\n"));
    assert!(
        summary.contains("| `https://example.com/org/d.git` |"),
        "{summary}"
    );
    assert!(!summary.contains(&shared));

    // SARIF: one file per repository in the -o directory, the same files
    // in either order, each valid and uploadable.
    assert!(merge("sarif", [r0, r1], &["-o", "sarif-0"], None).is_empty());
    merge("sarif", [r1, r0], &["-o", "sarif-1"], None);
    let read_dir = |d: &str| {
        let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(root.join(d))
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().to_string_lossy().into_owned(),
                    std::fs::read(e.path()).unwrap(),
                )
            })
            .collect();
        files.sort();
        files
    };
    let sarif = read_dir("sarif-0");
    assert_eq!(sarif.len(), 4);
    assert_eq!(sarif, read_dir("sarif-1"));
    for (name, raw) in &sarif {
        assert_schema_valid(&serde_json::from_slice(raw).unwrap());
        assert_github_acceptable(raw);
        // `scripts/validate-sarif.sh` runs Microsoft's SARIF Multitool over these.
        if let Some(dir) = std::env::var_os("NPMSWEEP_SARIF_OUT") {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(Path::new(&dir).join(format!("merge-{name}")), raw).unwrap();
        }
    }
    // Where the files go must be said.
    let no_dir = npmsweep(&["merge", "--format", "sarif", r0, r1], root);
    assert_eq!(no_dir.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_dir.stderr).contains("-o DIR"));
}

#[test]
fn a_missing_shard_is_reported_and_fails() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    org(root);
    let reports = shard_reports(root, "scan");
    npmsweep(
        &["plan", "--shards", "2", "repos.txt", "-o", "plan.json"],
        root,
    );
    let out = npmsweep(
        &[
            "merge",
            "--format",
            "json",
            "--plan",
            "plan.json",
            reports[0].to_str().unwrap(),
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(2));
    let merged: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(merged["shards"]["missing"], serde_json::json!([1]));
    let human = npmsweep(
        &["merge", "--plan", "plan.json", reports[0].to_str().unwrap()],
        root,
    );
    assert!(String::from_utf8_lossy(&human.stdout).contains("MISSING shard(s) 1 of 2"));
    // Formats that carry no failures say them on standard error; GitHub's
    // makes them error annotations.
    let jsonl = npmsweep(
        &[
            "merge",
            "--format",
            "jsonl",
            "--plan",
            "plan.json",
            reports[0].to_str().unwrap(),
        ],
        root,
    );
    assert_eq!(jsonl.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&jsonl.stderr)
            .contains("npmsweep: error: shard 1 of 2 has no report"),
        "{}",
        String::from_utf8_lossy(&jsonl.stderr)
    );
    let github = npmsweep(
        &[
            "merge",
            "--format",
            "github",
            "--plan",
            "plan.json",
            reports[0].to_str().unwrap(),
        ],
        root,
    );
    assert_eq!(github.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&github.stdout)
            .starts_with("::error title=npmsweep merge%3A missing shard::shard 1 of 2")
    );
}

#[test]
fn a_failed_repository_is_reported_and_fails() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    org(root);
    std::fs::write(
        root.join("repos.txt"),
        format!(
            "{}\n{}\n",
            root.join("a").display(),
            root.join("nowhere").display()
        ),
    )
    .unwrap();
    let out = npmsweep(
        &[
            "history",
            "--repos",
            "repos.txt",
            "--format",
            "json",
            "-o",
            "s.json",
        ],
        root,
    );
    assert_eq!(out.status.code(), Some(2));
    let merged = npmsweep(&["merge", "--format", "json", "s.json"], root);
    assert_eq!(merged.status.code(), Some(2));
    let doc: Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(doc["failures"].as_array().unwrap().len(), 1);
    assert_eq!(doc["summary"]["repositories"], 1);
}

#[test]
fn sarif_is_split_per_repository() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    org(root);
    let reports = shard_reports(root, "scan");
    let out = npmsweep(
        &[
            "merge",
            "--sarif-dir",
            "sarif",
            "-o",
            "merged.txt",
            reports[0].to_str().unwrap(),
            reports[1].to_str().unwrap(),
        ],
        root,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut files: Vec<String> = std::fs::read_dir(root.join("sarif"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "example.com_org_a.sarif",
            "example.com_org_b.sarif",
            "example.com_org_c.sarif",
            "example.com_org_d.sarif"
        ]
    );
    for file in &files {
        let raw = std::fs::read(root.join("sarif").join(file)).unwrap();
        assert_schema_valid(&serde_json::from_slice(&raw).unwrap());
        assert_github_acceptable(&raw);
    }
    let b: Value =
        serde_json::from_slice(&std::fs::read(root.join("sarif/example.com_org_b.sarif")).unwrap())
            .unwrap();
    let results = b["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert!(
        results[0]["message"]["text"]
            .as_str()
            .unwrap()
            .contains("2 other repositories")
    );
    assert_eq!(
        b["runs"][0]["versionControlProvenance"][0]["repositoryUri"],
        "https://example.com/org/b.git"
    );
    // Result paths are relative to the repository's root (SARIF2007).
    assert_eq!(
        b["runs"][0]["versionControlProvenance"][0]["mappedTo"]["uriBaseId"],
        "%SRCROOT%"
    );
}

/// The Kubernetes examples parse, and carry what the API server requires of
/// a Job (and what makes the completion index the shard).
#[test]
fn kubernetes_manifests_are_valid_jobs() {
    use yaml_rust2::{Yaml, YamlLoader};
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/k8s");
    let load = |name: &str| {
        YamlLoader::load_from_str(&std::fs::read_to_string(root.join(name)).unwrap()).unwrap()
    };
    let s = |y: &Yaml| y.as_str().map(str::to_string);
    let mut jobs = Vec::new();
    for file in ["org-sweep-job.yaml", "org-merge-job.yaml"] {
        for doc in load(file) {
            assert!(
                s(&doc["apiVersion"]).is_some() && s(&doc["kind"]).is_some(),
                "{file}"
            );
            let name = s(&doc["metadata"]["name"]).expect("metadata.name");
            // A DNS-1123 label: lowercase alphanumerics and '-'.
            assert!(
                name.len() <= 63
                    && name
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                "{name}"
            );
            if doc["kind"].as_str() == Some("Job") {
                assert_eq!(doc["apiVersion"].as_str(), Some("batch/v1"));
                jobs.push(doc);
            }
        }
    }
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        let pod = &job["spec"]["template"]["spec"];
        // A Job's pods must not restart Always.
        assert!(matches!(
            pod["restartPolicy"].as_str(),
            Some("Never" | "OnFailure")
        ));
        let volumes: Vec<String> = pod["volumes"]
            .as_vec()
            .unwrap()
            .iter()
            .filter_map(|v| s(&v["name"]))
            .collect();
        let containers = pod["containers"].as_vec().expect("containers");
        assert!(!containers.is_empty());
        for c in containers
            .iter()
            .chain(pod["initContainers"].as_vec().into_iter().flatten())
        {
            assert!(s(&c["name"]).is_some() && s(&c["image"]).is_some());
            assert_eq!(
                c["securityContext"]["allowPrivilegeEscalation"].as_bool(),
                Some(false)
            );
            for m in c["volumeMounts"].as_vec().into_iter().flatten() {
                let v = s(&m["name"]).unwrap();
                assert!(volumes.contains(&v), "volumeMount {v} names no volume");
                assert!(s(&m["mountPath"]).is_some_and(|p| p.starts_with('/')));
            }
        }
    }
    let sweep = &jobs[0];
    assert_eq!(sweep["spec"]["completionMode"].as_str(), Some("Indexed"));
    let completions = sweep["spec"]["completions"]
        .as_i64()
        .expect("Indexed Jobs need completions");
    assert!(sweep["spec"]["parallelism"].as_i64().unwrap() <= completions);
    let container = &sweep["spec"]["template"]["spec"]["containers"][0];
    let script = container["args"][0].as_str().unwrap();
    assert!(
        script.contains("--shard \"$JOB_COMPLETION_INDEX/$SHARDS\""),
        "{script}"
    );
    let shards = container["env"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|e| e["name"].as_str() == Some("SHARDS"))
        .unwrap();
    assert_eq!(
        shards["value"].as_str(),
        Some(completions.to_string().as_str()),
        "SHARDS must equal completions"
    );
}

/// A listed URL is cloned (here `file://`, offline) and named by its URL.
#[test]
fn listed_urls_are_cloned_and_named_by_url() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    let (repos, shared) = org(root);
    let url = format!("file://{}", repos[1].display());
    std::fs::write(root.join("urls.txt"), format!("{url} 10\n")).unwrap();
    for command in ["history", "scan"] {
        let out = npmsweep(&[command, "--repos", "urls.txt", "--format", "json"], root);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(!text.contains(&shared));
        let doc: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(doc["kind"], "npmsweep-shard");
        let report = &doc["reports"][0];
        assert_eq!(report["repository"]["url"], url.as_str(), "{command}");
        assert_eq!(report["repository"]["path"], url.as_str());
        assert_eq!(report["findings"][0]["path"], ".npmrc");
    }
}
