//! Publishing through indirection, resolved from the same tree: workflows
//! modelled on how real projects publish (changesets monorepos running
//! `pnpm release`, semantic-release and lerna through `npm run`, release
//! scripts in the repository), with their `package.json` and scripts next
//! to them, for `scan`, `scan --staged` and `history`. Also: only
//! `.github/workflows` at the repository root holds workflows.

mod support {
    pub mod cli;
}
use support::cli::write;

use npmsweep::rules::expand_templates;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;

fn git(dir: &Path, args: &[&str], n: u64) {
    let date = format!("@{} +0000", 1_709_287_200 + n * 3600);
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
        .env("GIT_AUTHOR_NAME", "Ada Lovelace")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada Lovelace")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn npmsweep(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("run npmsweep")
}

fn findings(dir: &Path, args: &[&str]) -> Vec<Value> {
    let mut all = args.to_vec();
    all.extend(["--format", "json"]);
    let out = npmsweep(dir, &all);
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", String::from_utf8_lossy(&out.stderr));
    });
    doc["findings"].as_array().unwrap().clone()
}

fn rules(found: &[Value]) -> Vec<String> {
    let mut r: Vec<String> = found
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["rule_id"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            )
        })
        .collect();
    r.sort();
    r
}

fn one<'a>(found: &'a [Value], rule: &str) -> &'a Value {
    let hits: Vec<&Value> = found.iter().filter(|f| f["rule_id"] == rule).collect();
    assert_eq!(hits.len(), 1, "want one {rule}: {:#?}", rules(found));
    hits[0]
}

/// The release job of a changesets monorepo: the publish hides behind
/// `pnpm release`, a root script.
const CHANGESETS_RELEASE: &str = r#"name: Release
on:
  push:
    branches: [main]
permissions:
  contents: write
  pull-requests: write
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: pnpm/action-setup@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 22
          cache: pnpm
      - run: pnpm install --frozen-lockfile
      - name: Publish
        run: pnpm release
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"#;

const ROOT_PACKAGE: &str = r#"{
  "name": "monorepo",
  "private": true,
  "scripts": {
    "build": "turbo run build",
    "release": "pnpm build && changeset publish"
  }
}
"#;

#[test]
fn pnpm_release_through_package_json_scripts_publishes() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, ".github/workflows/release.yml", CHANGESETS_RELEASE);
    write(root, "package.json", ROOT_PACKAGE);
    let found = findings(root, &["scan", "."]);
    assert!(
        !found
            .iter()
            .any(|f| f["rule_id"] == "gha-npm-token-in-install-job"),
        "a publishing job was told it only installs: {:#?}",
        rules(&found)
    );
    let f = one(&found, "gha-npm-long-lived-publish-token");
    assert_eq!(
        f["details"]["publish_via"],
        "`pnpm release` runs `changeset publish`"
    );
    let message = f["message"].as_str().unwrap();
    assert!(
        message.contains("`pnpm release` runs `changeset publish`"),
        "{message}"
    );
    assert_eq!(f["start_line"], 20, "points at `pnpm release`");

    // Without the script the same job does not publish.
    write(
        root,
        "package.json",
        r#"{"scripts": {"release": "changeset version"}}"#,
    );
    let found = findings(root, &["scan", "."]);
    assert!(
        !found
            .iter()
            .any(|f| f["rule_id"] == "gha-npm-long-lived-publish-token")
    );
    // …and a command named like a release that cannot be followed (no
    // script of that name) keeps the job from being called install-only.
    write(root, "package.json", r#"{"scripts": {}}"#);
    let found = findings(root, &["scan", "."]);
    assert!(
        !found
            .iter()
            .any(|f| f["rule_id"] == "gha-npm-token-in-install-job"),
        "{:#?}",
        rules(&found)
    );
}

#[test]
fn release_tools_scripts_and_working_directories() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    // semantic-release behind `npm run`, lerna behind `yarn release` with
    // `id-token: write`, a node release script in a workspace (through
    // `defaults.run.working-directory`), a shell script asking for
    // provenance without `id-token: write`.
    write(
        root,
        ".github/workflows/release.yml",
        r#"on: push
permissions:
  contents: read
jobs:
  semantic:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm run semantic-release
        env:
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
  lerna:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - run: yarn install --frozen-lockfile
      - run: yarn release
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
  cli:
    runs-on: ubuntu-latest
    defaults:
      run:
        working-directory: packages/cli
    steps:
      - uses: actions/checkout@v4
      - run: node scripts/publish.mjs
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
  script:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: ./scripts/release.sh
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"#,
    );
    write(
        root,
        "package.json",
        r#"{"scripts": {"semantic-release": "semantic-release", "release": "lerna publish from-package --yes"}}"#,
    );
    write(root, "packages/cli/package.json", r#"{"name": "cli"}"#);
    write(
        root,
        "packages/cli/scripts/publish.mjs",
        "import { execSync } from 'node:child_process';\n// never `npm publish` by hand\nconst tag = process.env.TAG;\nexecSync(`npm publish --access public --tag ${tag}`, { stdio: 'inherit' });\n",
    );
    write(
        root,
        "scripts/release.sh",
        "#!/usr/bin/env bash\nset -euo pipefail\npnpm build\nfor dir in packages/*; do\n  (cd \"$dir\" && npm publish --provenance)\ndone\n",
    );
    let found = findings(root, &["scan", "."]);
    let got = rules(&found);
    assert!(
        !got.iter()
            .any(|r| r.starts_with("gha-npm-token-in-install-job")),
        "{got:#?}"
    );
    let via: Vec<(String, String)> = found
        .iter()
        .filter_map(|f| {
            Some((
                f["rule_id"].as_str()?.to_string(),
                f["details"]["publish_via"].as_str()?.to_string(),
            ))
        })
        .collect();
    for want in [
        (
            "gha-npm-long-lived-publish-token",
            "`npm run semantic-release` runs `semantic-release`",
        ),
        (
            "gha-npm-token-with-oidc",
            "`yarn release` runs `lerna publish`",
        ),
        (
            "gha-npm-long-lived-publish-token",
            "`node scripts/publish.mjs` runs `npm publish`",
        ),
        (
            "gha-npm-long-lived-publish-token",
            "`./scripts/release.sh` runs `npm publish`",
        ),
    ] {
        assert!(
            via.iter().any(|(r, v)| r == want.0 && v == want.1),
            "missing {want:?} in {via:#?}"
        );
    }
    let provenance = one(&found, "gha-npm-provenance-no-id-token");
    assert!(
        provenance["message"]
            .as_str()
            .unwrap()
            .contains("`./scripts/release.sh` runs `npm publish`"),
        "{provenance}"
    );
}

#[test]
fn changesets_action_publish_input_is_followed() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(
        root,
        ".github/workflows/release.yml",
        r#"on:
  push:
    branches: [main]
jobs:
  release:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      pull-requests: write
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: changesets/action@v1
        with:
          publish: pnpm ci:publish
        env:
          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}
          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
"#,
    );
    write(
        root,
        "package.json",
        r#"{"scripts": {"ci:publish": "pnpm publish -r --access public"}}"#,
    );
    let found = findings(root, &["scan", "."]);
    let f = one(&found, "gha-npm-token-with-oidc");
    assert_eq!(
        f["details"]["publish_via"],
        "`publish: pnpm ci:publish` runs `pnpm publish`"
    );
}

#[test]
fn lookups_never_leave_the_tree_or_follow_symlinks() {
    let outside = TempDir::new().unwrap();
    write(
        outside.path(),
        "package.json",
        r#"{"scripts": {"release": "npm publish"}}"#,
    );
    let dir = TempDir::new().unwrap();
    let root = dir.path().join("repo");
    write(&root, ".github/workflows/release.yml", CHANGESETS_RELEASE);
    // The repository's own package.json is a symbolic link to a file
    // outside the tree: not read.
    #[cfg(unix)]
    std::os::unix::fs::symlink(
        outside.path().join("package.json"),
        root.join("package.json"),
    )
    .unwrap();
    let found = findings(&root, &["scan", "."]);
    assert!(
        !found
            .iter()
            .any(|f| f["rule_id"] == "gha-npm-long-lived-publish-token")
    );
}

#[test]
fn staged_scan_reads_package_json_from_the_index() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"], 0);
    write(root, ".github/workflows/release.yml", CHANGESETS_RELEASE);
    write(root, "package.json", ROOT_PACKAGE);
    git(root, &["add", "-A"], 0);
    // On disk, not staged: the commit will not hold it.
    write(
        root,
        "package.json",
        r#"{"scripts": {"release": "echo no"}}"#,
    );
    let found = findings(root, &["scan", "--staged"]);
    let f = one(&found, "gha-npm-long-lived-publish-token");
    assert_eq!(
        f["details"]["publish_via"],
        "`pnpm release` runs `changeset publish`"
    );
    // And the other way round: what is staged decides.
    git(root, &["add", "package.json"], 0);
    write(root, "package.json", ROOT_PACKAGE);
    let found = findings(root, &["scan", "--staged"]);
    assert!(
        !found
            .iter()
            .any(|f| f["rule_id"] == "gha-npm-long-lived-publish-token")
    );
}

#[test]
fn history_reads_package_json_of_the_same_commit() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"], 0);
    // 1: the release script publishes.
    write(root, ".github/workflows/release.yml", CHANGESETS_RELEASE);
    write(root, "package.json", ROOT_PACKAGE);
    git(root, &["add", "-A"], 0);
    git(root, &["commit", "-q", "-m", "release with changesets"], 0);
    // 2: publishing moved elsewhere; the workflow keeps the token.
    write(
        root,
        ".github/workflows/release.yml",
        CHANGESETS_RELEASE.replace("name: Release", "name: Release (versions only)"),
    );
    write(
        root,
        "package.json",
        r#"{"scripts": {"release": "changeset version"}}"#,
    );
    git(root, &["add", "-A"], 1);
    git(root, &["commit", "-q", "-m", "stop publishing from CI"], 1);

    let found = findings(root, &["history", "."]);
    let old = one(&found, "gha-npm-long-lived-publish-token");
    assert_eq!(
        old["details"]["publish_via"],
        "`pnpm release` runs `changeset publish`"
    );
    assert_eq!(old["provenance"]["summary"], "release with changesets");
    let now: Vec<&Value> = found
        .iter()
        .filter(|f| f["rule_id"] == "gha-npm-token-in-install-job")
        .collect();
    assert_eq!(
        now.len(),
        2,
        "NPM_TOKEN and NODE_AUTH_TOKEN: {:#?}",
        rules(&found)
    );
    for f in now {
        assert_eq!(f["provenance"]["summary"], "stop publishing from CI");
        assert_eq!(f["provenance"]["in_head"], true);
    }
}

#[test]
fn only_root_workflows_are_workflows() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"], 0);
    let leaky = expand_templates(
        "on: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    env:\n      NPM_TOKEN: {{uuid}}\n    steps:\n      - run: npm ci\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    write(root, ".github/workflows/ci.yml", &leaky);
    write(
        root,
        "node_modules/some-dep/.github/workflows/ci.yml",
        &leaky,
    );
    write(root, "vendor/tool/.github/workflows/ci.yml", &leaky);
    write(root, ".github/workflows/nested/ci.yml", &leaky);
    let found = findings(root, &["scan", "."]);
    let got = rules(&found);
    // Literal credentials are found everywhere…
    for path in [
        ".github/workflows/ci.yml",
        "node_modules/some-dep/.github/workflows/ci.yml",
        "vendor/tool/.github/workflows/ci.yml",
    ] {
        assert!(
            got.contains(&format!("npm-legacy-token {path}")),
            "{path}: {got:#?}"
        );
    }
    // …but the workflow rules run on the root's workflows only.
    let workflow_paths: Vec<&str> = found
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("gha-"))
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!workflow_paths.is_empty());
    assert!(
        workflow_paths
            .iter()
            .all(|p| *p == ".github/workflows/ci.yml"),
        "{workflow_paths:?}"
    );

    // A scan of a subdirectory keeps classifying the root's workflows, and
    // not a vendored project's.
    let sub = findings(root, &["scan", ".github"]);
    assert!(
        sub.iter()
            .any(|f| f["rule_id"].as_str().unwrap().starts_with("gha-"))
    );
    let vendored = findings(root, &["scan", "vendor"]);
    assert!(
        !vendored
            .iter()
            .any(|f| f["rule_id"].as_str().unwrap().starts_with("gha-"))
    );

    // A repository of its own inside the scanned folder has real workflows.
    git(&root.join("vendor/tool"), &["init", "-q"], 0);
    let nested = findings(root, &["scan", "vendor"]);
    assert!(
        nested
            .iter()
            .any(|f| f["rule_id"].as_str().unwrap().starts_with("gha-")),
        "{:#?}",
        rules(&nested)
    );

    // History: the same rule, from the root of each commit's tree.
    std::fs::remove_dir_all(root.join("vendor/tool/.git")).unwrap();
    git(root, &["add", "-A", "-f"], 0);
    git(root, &["commit", "-q", "-m", "vendored copies"], 0);
    let history = findings(root, &["history", "."]);
    let paths: Vec<&str> = history
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("gha-"))
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!paths.is_empty());
    assert!(
        paths.iter().all(|p| *p == ".github/workflows/ci.yml"),
        "{paths:?}"
    );
}

// ------------------------------------------------------------ snapshots

use npmsweep::detect::tree::{MemoryTree, TreeView};
use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::Origin;

/// Findings for `path` in a tree held in memory, one line each with how
/// the publish was recognised.
fn snapshot_of(path: &str, files: &[(&str, &str)]) -> String {
    let tree = MemoryTree(
        files
            .iter()
            .map(|(p, c)| (p.to_string(), c.as_bytes().to_vec()))
            .collect(),
    );
    let bytes = tree.0[path].clone();
    let item = Item {
        path,
        bytes: &bytes,
        origin: Origin::Worktree,
        tree: Some(TreeView { files: &tree, path }),
    };
    let mut d = npmsweep::scan::detect_item(&item, &DetectOptions::default());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    npmsweep::finding::sort_findings(&mut d.findings);
    let mut out = String::new();
    for f in &d.findings {
        out.push_str(&format!(
            "{}:{} {} {}\n    {}\n",
            f.span.start_line, f.span.start_column, f.severity, f.rule_id, f.message
        ));
        if let Some(via) = f.details.get("publish_via") {
            out.push_str(&format!("    publish_via: {via}\n"));
        }
    }
    out
}

/// A release in the style of vuejs/core: `pnpm release` runs a node script
/// that publishes each package with `execa('pnpm', ['publish', …])`.
#[test]
fn snap_node_release_script() {
    let findings = snapshot_of(
        ".github/workflows/release.yml",
        &[
            (
                ".github/workflows/release.yml",
                "name: Release\non:\n  push:\n    tags: ['v*']\njobs:\n  release:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n      id-token: write\n    steps:\n      - uses: actions/checkout@v4\n      - uses: pnpm/action-setup@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 24\n          registry-url: https://registry.npmjs.org\n      - run: pnpm install\n      - name: Build and publish\n        run: pnpm release --publishOnly\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
            ),
            (
                "package.json",
                r#"{"private": true, "scripts": {"build": "node scripts/build.js", "release": "node scripts/release.js"}}"#,
            ),
            (
                "scripts/release.js",
                "import { execa } from 'execa'\n\nasync function publishPackage(pkg, version) {\n  // dry runs print instead\n  await execa('pnpm', ['publish', '--access', 'public', '--no-git-checks'], { cwd: pkg })\n}\n",
            ),
        ],
    );
    insta::assert_snapshot!(findings);
}

/// release-it in one workspace of a monorepo: the step runs in
/// `packages/core` (its own package.json) and publishes through
/// `npm run release`, with a long-lived token and no `id-token: write`.
#[test]
fn snap_release_it_in_a_workspace() {
    let findings = snapshot_of(
        ".github/workflows/release.yml",
        &[
            (
                ".github/workflows/release.yml",
                "name: Release core\non: workflow_dispatch\npermissions:\n  contents: write\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 22\n          registry-url: https://registry.npmjs.org\n      - run: npm ci\n      - name: Release\n        working-directory: packages/core\n        run: |\n          git config user.name \"release bot\"\n          npm run release -- --ci\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n",
            ),
            (
                "package.json",
                r#"{"private": true, "workspaces": ["packages/*"], "scripts": {"test": "vitest"}}"#,
            ),
            (
                "packages/core/package.json",
                r#"{"name": "@acme/core", "scripts": {"release": "release-it"}}"#,
            ),
        ],
    );
    insta::assert_snapshot!(findings);
}

#[test]
fn history_judges_an_unchanged_workflow_with_each_commits_package_json() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"], 0);
    write(root, ".github/workflows/release.yml", CHANGESETS_RELEASE);
    write(root, "package.json", ROOT_PACKAGE);
    git(root, &["add", "-A"], 0);
    git(root, &["commit", "-q", "-m", "publish from CI"], 0);
    write(root, "README.md", "docs\n");
    git(root, &["add", "-A"], 1);
    git(root, &["commit", "-q", "-m", "docs"], 1);
    // The same workflow blob; only the script behind `pnpm release` changes.
    write(
        root,
        "package.json",
        r#"{"scripts": {"release": "changeset version"}}"#,
    );
    git(root, &["add", "-A"], 2);
    git(root, &["commit", "-q", "-m", "versions only"], 2);

    let found = findings(root, &["history", "."]);
    let old = one(&found, "gha-npm-long-lived-publish-token");
    assert_eq!(old["provenance"]["summary"], "publish from CI");
    assert_eq!(old["provenance"]["commits"], 2);
    assert_eq!(old["provenance"]["in_head"], false);
    let now: Vec<&Value> = found
        .iter()
        .filter(|f| f["rule_id"] == "gha-npm-token-in-install-job")
        .collect();
    assert_eq!(now.len(), 2, "{:#?}", rules(&found));
    for f in now {
        assert_eq!(f["provenance"]["summary"], "versions only");
        assert_eq!(f["provenance"]["commits"], 1);
        assert_eq!(f["provenance"]["in_head"], true);
    }
}

#[test]
fn a_step_publishing_through_a_script_uses_the_job_token() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(
        root,
        ".github/workflows/release.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  release:\n    runs-on: ubuntu-latest\n    env:\n      NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n    steps:\n      - run: ./scripts/publish.sh\n",
    );
    write(
        root,
        "scripts/publish.sh",
        "#!/bin/sh\nnpm publish --access public\n",
    );
    let found = findings(root, &["scan", "."]);
    let got = rules(&found);
    assert!(
        !got.iter()
            .any(|r| r.starts_with("gha-npm-token-overexposed")),
        "{got:#?}"
    );
    one(&found, "gha-npm-long-lived-publish-token");
}

#[test]
fn a_local_composite_action_that_publishes_makes_the_job_publish() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(
        root,
        ".github/workflows/release.yml",
        "on:\n  push:\n    tags: ['v*']\npermissions:\n  contents: read\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: ./.github/actions/setup\n      - uses: ./.github/actions/publish\n        with:\n          npm-token: ${{ secrets.NPM_TOKEN }}\n",
    );
    write(
        root,
        ".github/actions/setup/action.yml",
        "name: setup\nruns:\n  using: composite\n  steps:\n    - uses: pnpm/action-setup@v4\n    - run: pnpm install --frozen-lockfile\n      shell: bash\n",
    );
    write(
        root,
        ".github/actions/publish/action.yml",
        "name: publish\ninputs:\n  npm-token:\n    required: true\nruns:\n  using: composite\n  steps:\n    - run: pnpm run publish-packages\n      shell: bash\n      env:\n        NODE_AUTH_TOKEN: ${{ inputs.npm-token }}\n",
    );
    write(
        root,
        "package.json",
        r#"{"scripts": {"publish-packages": "pnpm -r publish --access public"}}"#,
    );
    let found = findings(root, &["scan", "."]);
    let f = one(&found, "gha-npm-long-lived-publish-token");
    assert_eq!(f["path"], ".github/workflows/release.yml");
    assert_eq!(
        f["details"]["publish_via"],
        "`./.github/actions/publish` runs `pnpm run publish-packages` runs `pnpm publish`"
    );
    assert!(
        !rules(&found)
            .iter()
            .any(|r| r.starts_with("gha-npm-token-in-install-job"))
    );
}

/// Past 2,048 blobs a history sweep reads the rest by pack traversal on its
/// own threads: a workflow read there still sees its commit's package.json.
#[test]
fn history_at_pack_traversal_scale_reads_package_json_of_the_same_commit() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"], 0);
    write(root, ".github/workflows/release.yml", CHANGESETS_RELEASE);
    write(root, "package.json", ROOT_PACKAGE);
    git(root, &["add", "-A"], 0);
    git(root, &["commit", "-q", "-m", "release with changesets"], 0);
    // The newest commit brings enough blobs that the old workflow is read
    // by pack traversal, not by the first libgit2 readers.
    for i in 0..2_200 {
        write(
            root,
            &format!("src/f{i}.js"),
            format!("module.exports = {i};\n"),
        );
    }
    write(
        root,
        ".github/workflows/release.yml",
        CHANGESETS_RELEASE.replace("name: Release", "name: Release (versions only)"),
    );
    write(
        root,
        "package.json",
        r#"{"scripts": {"release": "changeset version"}}"#,
    );
    git(root, &["add", "-A"], 1);
    git(root, &["commit", "-q", "-m", "stop publishing from CI"], 1);
    git(root, &["gc", "-q"], 1);

    let found = findings(root, &["history", "."]);
    let old = one(&found, "gha-npm-long-lived-publish-token");
    assert_eq!(
        old["details"]["publish_via"],
        "`pnpm release` runs `changeset publish`"
    );
    assert_eq!(old["provenance"]["summary"], "release with changesets");
}

#[test]
fn secrets_inherit_reads_a_local_callee_from_the_same_tree() {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    // Named like npm, runs tests: `secrets: inherit` into it is not a
    // publishing concern (mocha's npm-script.yml).
    write(
        root,
        ".github/workflows/browser.yml",
        "on: push\njobs:\n  test-browser:\n    uses: ./.github/workflows/npm-script.yml\n    secrets: inherit\n    with:\n      npm-script: test.browser\n",
    );
    write(
        root,
        ".github/workflows/npm-script.yml",
        "on:\n  workflow_call:\n    inputs:\n      npm-script:\n        type: string\njobs:\n  script:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - run: npm ci\n      - run: npm run ${{ inputs.npm-script }}\n        env:\n          SAUCE_KEY: ${{ secrets.SAUCE_KEY }}\n",
    );
    // Named neutrally, publishes through a package.json script.
    write(
        root,
        ".github/workflows/main.yml",
        "on: push\njobs:\n  ship:\n    uses: ./.github/workflows/shared.yml\n    secrets: inherit\n",
    );
    write(
        root,
        ".github/workflows/shared.yml",
        "on: workflow_call\njobs:\n  go:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm run ship\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    write(
        root,
        "package.json",
        r#"{"scripts": {"ship": "npm publish --access public"}}"#,
    );
    let found = findings(root, &["scan", "."]);
    let f = one(&found, "gha-npm-secrets-inherit");
    assert_eq!(f["path"], ".github/workflows/main.yml");
}
