//! CircleCI analysis: snapshot tests of realistic configs (written from
//! CircleCI's and npm's documented examples and public projects' configs),
//! package scripts read through the item's tree, the readiness summary, and
//! a history sweep over a config that moved from a token to trusted
//! publishing.
//!
//! Fixtures live in `tests/fixtures/circleci/` under other names (only the
//! root `.circleci/config.yml` is a config, so the project's own scan stays
//! clean) and are scanned as `.circleci/config.yml`.

use npmsweep::detect::tree::{MemoryTree, TreeView};
use npmsweep::detect::{DetectOptions, Detected, Item};
use npmsweep::finding::Origin;
use npmsweep::readiness::Status;
use npmsweep::scan::detect_item;
use std::path::Path;

mod support {
    pub mod cli;
    pub mod detected;
}
use support::cli::history_of_two_versions;
use support::detected::render;

const CONFIG: &str = ".circleci/config.yml";

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/circleci")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Scan `config` as `.circleci/config.yml` in a tree holding `files` too.
fn scan_in_tree(config: &str, files: &[(&str, String)]) -> Detected {
    let mut tree = MemoryTree::default();
    tree.0.insert(CONFIG.into(), config.as_bytes().to_vec());
    for (p, c) in files {
        tree.0.insert(p.to_string(), c.as_bytes().to_vec());
    }
    let item = Item {
        path: CONFIG,
        bytes: config.as_bytes(),
        origin: Origin::Worktree,
        tree: Some(TreeView {
            files: &tree,
            path: CONFIG,
        }),
    };
    detect_item(&item, &DetectOptions::default())
}

fn rules(d: &Detected) -> Vec<&str> {
    d.findings.iter().map(|f| f.rule_id.as_str()).collect()
}

#[test]
fn circleci_npm_docs_example() {
    let d = scan_in_tree(&fixture("npm-docs-trusted.yml"), &[]);
    insta::assert_snapshot!("circleci_npm_docs", render(&d));
    // npm's own example runs cimg/node:22.14, whose bundled npm 10 never
    // reads NPM_ID_TOKEN: the one problem it has.
    assert_eq!(rules(&d), ["circleci-npm-oidc-broken"], "{}", render(&d));
    assert!(d.findings[0].message.contains("image cimg/node:22.14"));
}

#[test]
fn circleci_trusted_publishing_is_clean() {
    let d = scan_in_tree(&fixture("trusted.yml"), &[]);
    insta::assert_snapshot!("circleci_trusted", render(&d));
    assert!(d.findings.is_empty(), "{}", render(&d));
    assert_eq!(d.publish_paths.len(), 1);
    assert_eq!(d.publish_paths[0].status, Status::TrustedPublishing);
    assert_eq!(d.publish_paths[0].ci, "circleci");
}

#[test]
fn circleci_token_publish() {
    let d = scan_in_tree(&fixture("token-publish.yml"), &[]);
    insta::assert_snapshot!("circleci_token_publish", render(&d));
    let r = rules(&d);
    for want in [
        "circleci-npm-long-lived-publish-token",
        "circleci-npm-token-printed",
        "circleci-npm-token-in-pr-build",
    ] {
        assert!(r.contains(&want), "{want} missing: {}", render(&d));
    }
    // The .npmrc the reusable command writes into ~/repo is persisted with
    // the whole project; the publish job's ~/.npmrc is not.
    assert!(d.findings.iter().any(|f| {
        f.rule_id == "circleci-npm-token-printed" && f.message.contains("persist_to_workspace")
    }));
    // The orb job run by the workflow is named, not analysed.
    assert!(d.warnings.iter().any(|w| w.contains("orb jobs node/test")));
    assert_eq!(d.publish_paths[0].status, Status::WillBreak);
}

#[test]
fn circleci_release_tool_on_a_runner() {
    let d = scan_in_tree(
        &fixture("release-tool.yml"),
        &[("package.json", fixture("release-tool-package.json"))],
    );
    insta::assert_snapshot!("circleci_release_tool", render(&d));
    let problems: Vec<&str> = d
        .findings
        .iter()
        .filter(|f| f.rule_id == "circleci-npm-oidc-broken")
        .filter_map(|f| f.details.get("problem").map(|p| p.as_str()))
        .collect();
    assert!(problems.contains(&"self-hosted"), "{}", render(&d));
    assert!(problems.contains(&"token-fallback"), "{}", render(&d));
    // `npm run release` → semantic-release, through package.json.
    assert!(
        d.publish_paths
            .iter()
            .any(|p| p.command.as_str().contains("semantic-release")),
        "{}",
        render(&d)
    );
}

#[test]
fn circleci_literal_credentials_are_the_generic_detectors() {
    let yaml = "version: 2.1\njobs:\n  publish:\n    docker: [{image: cimg/node:24.11}]\n    environment:\n      NPM_TOKEN: \"s3cr3tValueForNpmRegistry1234\"\n    steps:\n      - run: echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc\n      - run: npm publish\n";
    let d = scan_in_tree(yaml, &[]);
    let r = rules(&d);
    assert_eq!(
        r.iter()
            .filter(|r| **r == "npm-credential-assignment")
            .count(),
        1,
        "{r:?}"
    );
    assert!(
        r.contains(&"circleci-npm-long-lived-publish-token"),
        "{r:?}"
    );
    // The literal never reaches a message.
    assert!(
        d.findings
            .iter()
            .all(|f| !f.message.contains("s3cr3tValue")),
        "{}",
        render(&d)
    );
}

#[test]
fn circleci_literal_token_in_a_script_is_found_once_and_redacted() {
    let token = npmsweep::rules::expand_templates("{{npm_token}}");
    let yaml = format!(
        "version: 2.1\njobs:\n  publish:\n    docker: [{{image: cimg/node:24.11}}]\n    steps:\n      - run: echo \"//registry.npmjs.org/:_authToken={token}\" > ~/.npmrc\n      - run: npm publish\n"
    );
    let d = scan_in_tree(&yaml, &[]);
    let r = rules(&d);
    assert_eq!(r.iter().filter(|r| **r == "npm-token").count(), 1, "{r:?}");
    assert!(
        d.findings.iter().all(|f| !f.message.contains(&token)),
        "{}",
        render(&d)
    );
}

#[test]
fn circleci_job_shell_with_tracing_prints_the_token() {
    let yaml = "version: 2.1\njobs:\n  publish:\n    docker: [{image: cimg/node:24.11}]\n    shell: /bin/bash -eox pipefail\n    steps:\n      - run: echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc\n";
    let d = scan_in_tree(yaml, &[]);
    assert!(
        rules(&d).contains(&"circleci-npm-token-printed"),
        "{}",
        render(&d)
    );
}

/// A command used several times (here through nested commands, 2 × 3
/// expansions of one line, and a second line used once) is one finding per
/// line of the file, not one per expansion; two unnamed steps at different
/// places stay two findings.
#[test]
fn circleci_a_command_expanded_many_times_is_one_finding_per_line() {
    let yaml = "version: 2.1\ncommands:\n  leak:\n    steps:\n      - run: echo $NPM_TOKEN\n  twice:\n    steps:\n      - leak\n      - leak\n      - leak\njobs:\n  build:\n    docker: [{image: cimg/node:24.11}]\n    steps:\n      - twice\n      - twice\n      - run: echo $NPM_TOKEN\n";
    let d = scan_in_tree(yaml, &[]);
    let lines: Vec<usize> = d
        .findings
        .iter()
        .filter(|f| f.rule_id == "circleci-npm-token-printed")
        .map(|f| f.span.start_line)
        .collect();
    assert_eq!(lines, [5, 17], "{}", render(&d));
}

#[test]
fn circleci_environment_values_are_not_interpolated() {
    let yaml = "version: 2.1\njobs:\n  publish:\n    docker: [{image: cimg/node:24.11}]\n    environment:\n      NODE_AUTH_TOKEN: ${NPM_TOKEN}\n    steps:\n      - run: npm publish\n";
    let d = scan_in_tree(yaml, &[]);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("line 6: CircleCI does not expand variables")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn circleci_only_the_root_config_is_analysed() {
    let yaml = fixture("token-publish.yml");
    let mut tree = MemoryTree::default();
    tree.0.insert(
        "vendor/x/.circleci/config.yml".into(),
        yaml.as_bytes().to_vec(),
    );
    let item = Item {
        path: "vendor/x/.circleci/config.yml",
        bytes: yaml.as_bytes(),
        origin: Origin::Worktree,
        tree: Some(TreeView {
            files: &tree,
            path: "vendor/x/.circleci/config.yml",
        }),
    };
    let d = detect_item(&item, &DetectOptions::default());
    assert!(
        rules(&d).iter().all(|r| !r.starts_with("circleci-")),
        "{}",
        render(&d)
    );
}

#[test]
fn circleci_bad_input_is_a_warning_not_a_panic() {
    for text in [
        "jobs: [unclosed",
        "- a list at the top\n",
        "version: 2.1\ncommands:\n  a:\n    steps: [a]\njobs:\n  j:\n    steps: [a, {run: {command: 42}}, {persist_to_workspace: 7}]\n",
        "version: 2.1\njobs:\n  j:\n    executor: {name: missing}\n    steps: 12\nworkflows:\n  w:\n    jobs: [{j: {requires: 5, filters: [x]}}]\n",
    ] {
        let d = scan_in_tree(text, &[]);
        let _ = render(&d);
    }
    let d = scan_in_tree("jobs: [unclosed", &[]);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("CircleCI config not analysed")),
        "{:?}",
        d.warnings
    );
    let d = scan_in_tree(
        "version: 2.1\norbs:\n  npm: acme/npm-publisher@1\njobs:\n  release:\n    docker: [{image: cimg/node:24.11}]\n    steps: [checkout, npm/publish]\n",
        &[],
    );
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("orb commands npm/publish (job release) look like publishes")),
        "{:?}",
        d.warnings
    );
    let d = scan_in_tree(
        "version: 2.1\nsetup: true\norbs:\n  continuation: circleci/continuation@1\njobs:\n  setup:\n    docker: [{image: cimg/base:current}]\n    steps: [checkout]\n",
        &[],
    );
    assert!(
        d.warnings.iter().any(|w| w.contains("setup: true")),
        "{:?}",
        d.warnings
    );
}

/// Every prefix (at line boundaries) and every line dropped in turn of the
/// realistic configs: the analysis never panics, whatever half a config
/// looks like.
#[test]
fn circleci_truncated_and_mangled_configs_never_panic() {
    for name in ["token-publish.yml", "trusted.yml", "release-tool.yml"] {
        let text = fixture(name);
        let lines: Vec<&str> = text.lines().collect();
        for n in 0..=lines.len() {
            for candidate in [
                lines[..n].join("\n"),
                lines
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| *i != n)
                    .map(|(_, l)| *l)
                    .collect::<Vec<_>>()
                    .join("\n"),
            ] {
                let d = scan_in_tree(&candidate, &[]);
                assert!(
                    d.warnings.iter().all(|w| !w.contains("internal error")),
                    "{name} variant {n}: {:?}",
                    d.warnings
                );
            }
        }
    }
}

// History: a config that moved from a token to trusted publishing.

#[test]
fn circleci_history_from_token_to_trusted_publishing() {
    let doc = history_of_two_versions(
        CONFIG,
        &fixture("token-publish.yml"),
        &fixture("trusted.yml"),
    );
    let findings = doc["findings"].as_array().unwrap();
    // The token config's publish is found in the old commit…
    assert!(
        findings
            .iter()
            .any(|f| f["rule_id"] == "circleci-npm-long-lived-publish-token"),
        "{doc:#}"
    );
    // …and HEAD's readiness summary shows the trusted-publishing path only.
    let paths = doc["publish_readiness"]["paths"].as_array().expect("paths");
    assert_eq!(paths.len(), 1, "{:#}", doc["publish_readiness"]);
    assert_eq!(paths[0]["ci"], "circleci");
    assert_eq!(paths[0]["auth"], "trusted-publishing");
}

/// Staging with a token keeps working after January 2027 but still holds a
/// long-lived credential; with the npm OIDC token staging is correct.
#[test]
fn circleci_token_staging_is_reported_and_trusted_staging_is_not() {
    let token = "version: 2.1\njobs:\n  stage:\n    docker: [{image: cimg/node:24.11}]\n    steps:\n      - run: echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n      - run: npm stage publish\nworkflows:\n  release:\n    jobs:\n      - stage: {filters: {branches: {only: main}}}\n";
    let d = scan_in_tree(token, &[]);
    assert_eq!(
        rules(&d),
        ["circleci-npm-long-lived-stage-token"],
        "{}",
        render(&d)
    );
    assert_eq!(d.publish_paths[0].status, Status::TokenStaged);
    let trusted = "version: 2.1\njobs:\n  stage:\n    docker: [{image: cimg/node:24.11}]\n    steps:\n      - run: |\n          export NPM_ID_TOKEN=$(circleci run oidc get --claims '{\"aud\":\"npm:registry.npmjs.org\"}')\n          npm stage publish\n";
    let d = scan_in_tree(trusted, &[]);
    assert!(d.findings.is_empty(), "{}", render(&d));
    assert_eq!(d.publish_paths[0].status, Status::TrustedPublishing);
}
