//! Credentials by use, not by name: a secret named like an npm token that
//! only feeds the GitHub API is not an npm credential; the job's
//! `GITHUB_TOKEN` is one only where it authenticates to GitHub Packages.

use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::{Finding, Origin};
use npmsweep::scan::detect_item;

fn scan_with(content: &str, opts: &DetectOptions) -> Vec<Finding> {
    let item = Item {
        path: ".github/workflows/release.yml",
        bytes: content.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    detect_item(&item, opts).findings
}

fn scan(content: &str) -> Vec<Finding> {
    scan_with(content, &DetectOptions::default())
}

fn rules(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.rule_id.as_str()).collect()
}

const GH_RELEASE_ONLY: &str = r#"name: release
on:
  push:
    tags: ['v*']
env:
  NPM_BOT_TOKEN: ${{ secrets.NPM_BOT_TOKEN }}
jobs:
  release:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm test
      - name: GitHub release
        env:
          GH_TOKEN: ${{ secrets.NPM_BOT_TOKEN }}
        run: gh release create "$GITHUB_REF_NAME" --generate-notes
      - uses: actions/github-script@v7
        with:
          github-token: ${{ secrets.NPM_BOT_TOKEN }}
          script: |
            await github.rest.issues.createComment({issue_number: 1, owner: 'o', repo: 'r', body: 'released'})
      - run: |
          curl -sf -H "Authorization: token $NPM_BOT_TOKEN" https://api.github.com/repos/o/r/dispatches -d '{}'
"#;

#[test]
fn npm_named_secret_feeding_only_the_github_api_is_not_an_npm_credential() {
    let item = Item {
        path: ".github/workflows/release.yml",
        bytes: GH_RELEASE_ONLY.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    let d = detect_item(&item, &DetectOptions::default());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    let f = d.findings;
    assert!(f.is_empty(), "{:#?}", rules(&f));
}

#[test]
fn the_same_secret_also_reaching_npm_is_one() {
    // One extra step hands it to npm: now it is an npm credential, and the
    // workflow-level env exposes it to steps that do not need it.
    let wf = GH_RELEASE_ONLY.replace(
        "      - run: npm test\n",
        "      - run: npm test\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_BOT_TOKEN }}\n",
    );
    let f = scan(&wf);
    let r = rules(&f);
    assert!(r.contains(&"gha-npm-token-overexposed"), "{r:?}");
    assert!(r.contains(&"gha-npm-long-lived-publish-token"), "{r:?}");
}

#[test]
fn token_input_of_a_non_npm_action_and_inline_gh_are_github_uses() {
    let wf = r#"on: pull_request
jobs:
  label:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/labeler@v5
        with:
          repo-token: ${{ secrets.NPM_PUBLISH_TOKEN }}
      - run: gh pr comment 1 --body hi --repo o/r
        env:
          GITHUB_TOKEN: ${{ secrets.NPM_PUBLISH_TOKEN }}
      - run: git push https://x-access-token:${{ secrets.NPM_PUBLISH_TOKEN }}@github.com/o/r HEAD:main
"#;
    let f = scan(wf);
    assert!(f.is_empty(), "{:#?}", rules(&f));
}

#[test]
fn a_name_alone_still_counts_when_nothing_shows_another_use() {
    // Neither npm nor GitHub use visible: the name decides.
    let wf = r#"on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      NPM_TOKEN: ${{ secrets.NPM_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - run: npm ci
      - run: npm test
"#;
    let r = rules(&scan(wf)).join(",");
    assert!(r.contains("gha-npm-token-in-install-job"), "{r}");
}

#[test]
fn github_token_for_github_packages_says_there_is_nothing_to_revoke() {
    let wf = r#"on:
  release:
    types: [published]
permissions:
  contents: read
  packages: write
jobs:
  publish:
    runs-on: ubuntu-latest
    env:
      NODE_AUTH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          registry-url: https://npm.pkg.github.com
      - run: npm ci
      - run: echo "//npm.pkg.github.com/:_authToken=$NODE_AUTH_TOKEN" > .npmrc
      - uses: actions/upload-artifact@v4
        with:
          name: ws
          path: .
          include-hidden-files: true
      - run: npm publish
"#;
    let f = scan(wf);
    let r = rules(&f);
    // Not long-lived, and it reaches every step through `github.token` anyway.
    assert!(!r.contains(&"gha-npm-long-lived-publish-token"), "{r:?}");
    assert!(!r.contains(&"gha-npm-token-overexposed"), "{r:?}");
    let persisted = f
        .iter()
        .find(|f| f.rule_id == "gha-npm-token-persisted")
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(
        persisted.message.contains("nothing to revoke"),
        "{}",
        persisted.message
    );
}

#[test]
fn github_token_for_the_api_only_is_never_an_npm_credential() {
    let wf = r#"on: pull_request_target
jobs:
  triage:
    runs-on: ubuntu-latest
    steps:
      - run: gh pr edit "$PR" --add-label triage
        env:
          GH_TOKEN: ${{ secrets.GITHUB_TOKEN }}
          PR: ${{ github.event.pull_request.number }}
"#;
    let f = scan(wf);
    assert!(f.is_empty(), "{:#?}", rules(&f));
}

#[test]
fn not_credential_names_removes_a_name() {
    let wf = r#"on: push
jobs:
  build:
    runs-on: ubuntu-latest
    env:
      NPM_MIRROR_TOKEN: ${{ secrets.NPM_MIRROR_TOKEN }}
    steps:
      - run: npm ci
"#;
    assert!(!scan(wf).is_empty());
    let opts = DetectOptions {
        extra_credential_names: vec!["!NPM_MIRROR_TOKEN".into()],
        ..DetectOptions::default()
    };
    let f = scan_with(wf, &opts);
    assert!(f.is_empty(), "{:#?}", rules(&f));
}

#[test]
fn a_token_publish_on_an_old_node_is_not_a_failing_oidc_exchange() {
    // npm older than 11.5.1 never tries OIDC: the token publishes. The mix
    // is `gha-npm-token-with-oidc`'s finding, not an OIDC failure.
    let wf = r#"on:
  release:
    types: [published]
jobs:
  publish:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      id-token: write
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 22.11.0
      - run: npm ci
      - run: npm publish --provenance
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"#;
    let f = scan(wf);
    let r = rules(&f);
    assert!(r.contains(&"gha-npm-token-with-oidc"), "{r:?}");
    assert!(!r.contains(&"gha-npm-oidc-npm-too-old"), "{r:?}");
}
