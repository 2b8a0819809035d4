//! `gha-npm-token-untrusted-trigger` follows what an outsider can reach:
//! job and step `if:` gates, and whether the pull request's code is checked
//! out and run.

use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::{Finding, Origin, Severity};
use npmsweep::scan::detect_item;

const RULE: &str = "gha-npm-token-untrusted-trigger";

fn untrusted(content: &str) -> Vec<Finding> {
    let item = Item {
        path: ".github/workflows/ci.yml",
        bytes: content.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    let d = detect_item(&item, &DetectOptions::default());
    assert!(d.warnings.is_empty(), "{:?}", d.warnings);
    d.findings
        .into_iter()
        .filter(|f| f.rule_id == RULE)
        .collect()
}

/// A preview-publish job on `pull_request_target`, with `IF` as the job's
/// condition and `CHECKOUT_IF` on the checkout of the head.
fn preview(job_if: &str, checkout_if: &str, run: &str) -> String {
    format!(
        r#"name: preview
on:
  push:
    branches: [main]
  pull_request_target:
    types: [opened, synchronize]
jobs:
  preview:
    runs-on: ubuntu-latest
    {job_if}
    steps:
      - uses: actions/checkout@v4
        {checkout_if}
        with:
          ref: ${{{{ github.event.pull_request.head.sha }}}}
      - uses: actions/setup-node@v4
        with:
          node-version: 22
          registry-url: https://registry.npmjs.org
      - run: {run}
      - run: npm publish --tag pr-${{{{ github.event.number }}}}
        env:
          NODE_AUTH_TOKEN: ${{{{ secrets.NPM_TOKEN }}}}
"#
    )
}

fn severity(f: &[Finding]) -> Option<Severity> {
    assert!(f.len() <= 1, "{f:#?}");
    f.first().map(|f| f.severity)
}

#[test]
fn ungated_checkout_and_install_of_the_head_is_critical() {
    let f = untrusted(&preview("", "", "npm ci"));
    assert_eq!(severity(&f), Some(Severity::Critical), "{f:#?}");
}

#[test]
fn owner_checks_do_not_keep_outsiders_out() {
    // `repository_owner` is the base repository's owner on a fork's PR too.
    let f = untrusted(&preview(
        "if: github.repository_owner == 'acme'",
        "",
        "npm ci",
    ));
    assert_eq!(severity(&f), Some(Severity::Critical), "{f:#?}");
    let f = untrusted(&preview(
        "if: ${{ !cancelled() && github.actor != 'dependabot[bot]' }}",
        "",
        "npm ci",
    ));
    assert_eq!(severity(&f), Some(Severity::Critical), "{f:#?}");
}

#[test]
fn gates_that_keep_outsiders_out_silence_the_job() {
    for gate in [
        "if: github.event_name == 'push'",
        "if: github.event.pull_request.head.repo.full_name == github.repository",
        "if: ${{ !github.event.pull_request.head.repo.fork }}",
        "if: github.actor == 'renovate[bot]' || github.actor == 'dependabot[bot]'",
        "if: contains(github.event.pull_request.labels.*.name, 'safe to publish')",
        "if: (github.event_name == 'push') || (github.event.pull_request.head.repo.full_name == github.repository && github.event.action != 'closed')",
    ] {
        let f = untrusted(&preview(gate, "", "npm ci"));
        assert!(f.is_empty(), "{gate}: {f:#?}");
    }
}

#[test]
fn head_checked_out_but_not_run_is_high() {
    // The head is checked out; only the token is written, nothing of the
    // tree runs (a publish would run its lifecycle scripts).
    let wf = preview("", "", "ls").replace(
        "      - run: npm publish --tag pr-${{ github.event.number }}",
        "      - run: echo \"//registry.npmjs.org/:_authToken=${NODE_AUTH_TOKEN}\" > ~/.npmrc",
    );
    let f = untrusted(&wf);
    assert_eq!(severity(&f), Some(Severity::High), "{f:#?}");
    assert!(f[0].message.contains("read, not run"), "{}", f[0].message);
}

#[test]
fn a_gated_checkout_of_the_head_is_not_the_outsiders() {
    let f = untrusted(&preview("", "if: github.event_name == 'push'", "npm ci"));
    assert_eq!(severity(&f), Some(Severity::High), "{f:#?}");
}

#[test]
fn a_gated_credential_step_is_not_reached() {
    let wf = preview("", "", "npm ci").replace(
        "      - run: npm publish",
        "      - if: github.event_name == 'push'\n        run: npm publish",
    );
    let f = untrusted(&wf);
    assert!(f.is_empty(), "{f:#?}");
}

#[test]
fn comment_commands_restricted_to_members() {
    let wf = r#"on:
  issue_comment:
    types: [created]
jobs:
  release:
    if: >-
      github.event.issue.pull_request &&
      startsWith(github.event.comment.body, '/release') &&
      contains(fromJSON('["OWNER", "MEMBER", "COLLABORATOR"]'), github.event.comment.author_association)
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - run: npm ci && npm publish
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"#;
    assert!(untrusted(wf).is_empty());
    let open = wf.replace(
        "contains(fromJSON('[\"OWNER\", \"MEMBER\", \"COLLABORATOR\"]'), github.event.comment.author_association)",
        "github.event.comment.author_association != 'NONE'",
    );
    assert_eq!(severity(&untrusted(&open)), Some(Severity::High));
}
