//! GitLab CI analysis: snapshot tests of realistic pipelines (written from
//! GitLab's and npm's documented examples), local includes read through
//! the item's tree, the readiness summary, and a history sweep over a
//! pipeline that moved from a token to trusted publishing.
//!
//! Fixtures live in `tests/fixtures/gitlab/` under other names (only the
//! root `.gitlab-ci.yml` is a pipeline, so the project's own scan stays
//! clean) and are scanned as `.gitlab-ci.yml`.

use npmsweep::detect::tree::{MemoryTree, TreeView};
use npmsweep::detect::{DetectOptions, Detected, Item};
use npmsweep::finding::Origin;
use npmsweep::scan::detect_item;
use std::path::Path;

mod support {
    pub mod cli;
    pub mod detected;
}
use support::cli::history_of_two_versions;
use support::detected::render;

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/gitlab")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Scan `root` as `.gitlab-ci.yml` in a tree holding `files` too.
fn scan_in_tree(root: &str, files: &[(&str, String)]) -> Detected {
    let mut tree = MemoryTree::default();
    tree.0
        .insert(".gitlab-ci.yml".into(), root.as_bytes().to_vec());
    for (p, c) in files {
        tree.0.insert(p.to_string(), c.as_bytes().to_vec());
    }
    let item = Item {
        path: ".gitlab-ci.yml",
        bytes: root.as_bytes(),
        origin: Origin::Worktree,
        tree: Some(TreeView {
            files: &tree,
            path: ".gitlab-ci.yml",
        }),
    };
    detect_item(&item, &DetectOptions::default())
}

macro_rules! snapshot {
    ($test:ident, $file:literal) => {
        #[test]
        fn $test() {
            let d = scan_in_tree(&fixture($file), &[]);
            insta::assert_snapshot!(stringify!($test), render(&d));
        }
    };
}

snapshot!(gitlab_npm_docs_trusted, "npm-docs-trusted.yml");
snapshot!(gitlab_token_publish, "token-publish.yml");
snapshot!(gitlab_package_registry, "gitlab-registry.yml");
snapshot!(gitlab_token_overexposed, "overexposed.yml");

#[test]
fn gitlab_overexposed_token_named_by_the_project_npmrc_is_used_by_installs() {
    let count = |d: &Detected, what: &str| {
        d.findings
            .iter()
            .filter(|f| f.rule_id == "gitlab-npm-token-overexposed" && f.message.contains(what))
            .count()
    };
    let alone = scan_in_tree(&fixture("overexposed.yml"), &[]);
    assert_eq!(count(&alone, "NODE_AUTH_TOKEN (from $NPM_TOKEN)"), 1);
    // The project's .npmrc names the variable: every job that installs
    // authenticates with it, so the matrix jobs use it (a read-only token
    // would do; that is another rule's question).
    let npmrc = "//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\n".to_string();
    let with = scan_in_tree(&fixture("overexposed.yml"), &[(".npmrc", npmrc)]);
    assert_eq!(
        count(&with, "NODE_AUTH_TOKEN (from $NPM_TOKEN)"),
        0,
        "{}",
        render(&with)
    );
    // The before_script writing the token is still reported: that wiring
    // is what hands it to every job.
    assert_eq!(count(&with, "before_script"), 1, "{}", render(&with));
}

#[test]
fn gitlab_local_includes_extends_anchors_and_package_scripts() {
    let d = scan_in_tree(
        &fixture("include-root.yml"),
        &[
            ("ci/release.yml", fixture("include-release.yml")),
            ("ci/shared.yml", fixture("include-shared.yml")),
            ("package.json", fixture("include-package.json")),
        ],
    );
    insta::assert_snapshot!("gitlab_includes", render(&d));
    // The publish reached through `npm run release` → semantic-release, with
    // the token from the anchored variables and the included base's .npmrc.
    assert!(d.findings.iter().any(|f| {
        f.rule_id == "gitlab-npm-long-lived-publish-token" && f.message.contains("semantic-release")
    }));
    // The included job's problems are placed on its include entry.
    assert!(d.findings.iter().any(|f| {
        f.rule_id == "gitlab-npm-oidc-broken"
            && f.message.contains("(in ci/release.yml, line")
            && f.span.start_line == 3
    }));
    // Project and template includes are named, not fetched.
    assert_eq!(
        d.warnings
            .iter()
            .filter(|w| w.contains("not followed"))
            .count(),
        2,
        "{:?}",
        d.warnings
    );
}

#[test]
fn gitlab_literal_credentials_are_the_generic_detectors() {
    // A literal in `variables:` is reported once, by npm-credential-assignment.
    let yaml = "variables:\n  NPM_TOKEN: \"s3cr3tValueForNpmRegistry1234\"\npublish:\n  script:\n    - echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n    - npm publish\n";
    let d = scan_in_tree(yaml, &[]);
    let rules: Vec<&str> = d.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(
        rules
            .iter()
            .filter(|r| **r == "npm-credential-assignment")
            .count(),
        1,
        "{rules:?}"
    );
    assert!(
        rules
            .iter()
            .all(|r| !r.starts_with("gitlab-npm-token-printed")),
        "{rules:?}"
    );
    // And the publish with it is the long-lived-token rule's.
    assert!(
        rules.contains(&"gitlab-npm-long-lived-publish-token"),
        "{rules:?}"
    );
}

#[test]
fn gitlab_bad_input_is_a_warning_not_a_panic() {
    for text in [
        "publish: [unclosed",
        "- a list at the top\n",
        "a: &x\n  extends: a\n  script: npm publish\nb:\n  extends: [b, a]\n  script: [npm publish]\n",
        "job:\n  extends: .missing\n  script: 42\n",
    ] {
        let d = scan_in_tree(text, &[]);
        let _ = render(&d);
    }
    let d = scan_in_tree("publish: [unclosed", &[]);
    assert!(
        d.warnings
            .iter()
            .any(|w| w.contains("GitLab CI pipeline not analysed")),
        "{:?}",
        d.warnings
    );
}

#[test]
fn gitlab_extends_cycles_and_depth_are_bounded() {
    let mut yaml = String::new();
    for i in 0..40 {
        yaml.push_str(&format!(".b{i}:\n  extends: .b{}\n", i + 1));
    }
    yaml.push_str(".b40:\n  extends: .b0\n  variables:\n    NODE_AUTH_TOKEN: $NPM_TOKEN\n");
    yaml.push_str("publish:\n  extends: .b0\n  script:\n    - npm publish\n");
    let d = scan_in_tree(&yaml, &[]);
    // Beyond GitLab's 11 levels the token is not inherited; nothing loops.
    assert!(
        !d.findings
            .iter()
            .any(|f| f.rule_id == "gitlab-npm-long-lived-publish-token"),
        "{}",
        render(&d)
    );
}

// History: a pipeline that moved from a token to trusted publishing.

#[test]
fn gitlab_history_from_token_to_trusted_publishing() {
    let doc = history_of_two_versions(
        ".gitlab-ci.yml",
        &fixture("token-publish.yml"),
        &fixture("npm-docs-trusted.yml"),
    );
    let findings = doc["findings"].as_array().unwrap();
    // The token pipeline's publish is found in the old commit…
    assert!(
        findings
            .iter()
            .any(|f| f["rule_id"] == "gitlab-npm-long-lived-publish-token"),
        "{doc:#}"
    );
    // …and HEAD's readiness summary shows the trusted-publishing path only.
    let paths = doc["publish_readiness"]["paths"].as_array().expect("paths");
    assert_eq!(paths.len(), 1, "{:#}", doc["publish_readiness"]);
    assert_eq!(paths[0]["ci"], "gitlab-ci");
    assert_eq!(paths[0]["auth"], "trusted-publishing");
}

/// Staging with a token keeps working after January 2027 but still holds a
/// long-lived credential; with the npm ID token staging is correct.
#[test]
fn gitlab_token_staging_is_reported_and_trusted_staging_is_not() {
    let token = "stage-release:\n  image: node:24\n  script:\n    - echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\n    - npm stage publish\n";
    let d = scan_in_tree(token, &[]);
    let rules: Vec<&str> = d.findings.iter().map(|f| f.rule_id.as_str()).collect();
    assert_eq!(
        rules,
        ["gitlab-npm-long-lived-stage-token"],
        "{}",
        render(&d)
    );
    assert_eq!(d.publish_paths.len(), 1);
    assert_eq!(
        d.publish_paths[0].status,
        npmsweep::readiness::Status::TokenStaged
    );
    let trusted = "stage-release:\n  image: node:24\n  id_tokens:\n    NPM_ID_TOKEN:\n      aud: \"npm:registry.npmjs.org\"\n  script:\n    - npm ci\n    - npm stage publish\n";
    let d = scan_in_tree(trusted, &[]);
    assert!(d.findings.is_empty(), "{}", render(&d));
    assert_eq!(
        d.publish_paths[0].status,
        npmsweep::readiness::Status::TrustedPublishing
    );
}
