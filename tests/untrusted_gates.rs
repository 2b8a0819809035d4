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

/// A comment command whose membership check is a shell step in a job the
/// publishing job `needs`, its step and the publishing job both keyed on
/// one output of a trigger step: an outsider fails the check, so the job
/// that needs it never runs. `CHECK` is the check step's script body.
fn comment_command(check: &str, check_extra: &str, deploy_if: &str) -> String {
    format!(
        r#"on:
  issue_comment:
    types: [created]
jobs:
  check:
    runs-on: ubuntu-latest
    outputs:
      triggered: ${{{{ steps.trigger.outputs.triggered }}}}
    steps:
      - id: trigger
        uses: example/comment-trigger@v1
        with:
          trigger: /release-pr
      - name: members only
        if: ${{{{ steps.trigger.outputs.triggered == 'true' }}}}
        env:
          ASSOCIATION: ${{{{ github.event.comment.author_association }}}}
{check_extra}        run: |
{check}
  deploy:
    runs-on: ubuntu-latest
    needs: check
    if: {deploy_if}
    steps:
      - uses: actions/checkout@v4
        with:
          ref: refs/pull/${{{{ github.event.issue.number }}}}/head
      - run: echo "//registry.npmjs.org/:_authToken=${{NPM_TOKEN}}" > .npmrc
        env:
          NPM_TOKEN: ${{{{ secrets.NPM_TOKEN }}}}
      - run: npm ci && npm publish --tag pr
"#
    )
}

const MEMBERS_ONLY: &str = r#"          if [[ "${ASSOCIATION}" != 'MEMBER' && "${ASSOCIATION}" != 'OWNER' ]]
          then
            echo "not a member"
            exit 1
          fi"#;

const TRIGGERED: &str = "needs.check.outputs.triggered == 'true'";

#[test]
fn a_shell_membership_check_in_a_needed_job_keeps_outsiders_out() {
    let f = untrusted(&comment_command(MEMBERS_ONLY, "", TRIGGERED));
    assert!(f.is_empty(), "{f:#?}");
    // The other shapes of the same check.
    for check in [
        "          [[ \"$ASSOCIATION\" == MEMBER || \"$ASSOCIATION\" == OWNER ]] || exit 1",
        "          if [ \"$ASSOCIATION\" = COLLABORATOR ]; then echo ok; else exit 1; fi",
        "          if ! [[ ${{ github.event.comment.author_association }} == MEMBER ]]; then exit 1; fi",
    ] {
        let f = untrusted(&comment_command(check, "", TRIGGERED));
        assert!(f.is_empty(), "{check}: {f:#?}");
    }
}

#[test]
fn a_shell_check_an_outsider_passes_or_can_skip_is_no_gate() {
    // Anyone who is not NONE passes (a contributor is not NONE).
    let weak = "          if [[ \"$ASSOCIATION\" == NONE ]]; then exit 1; fi";
    let cases = [
        (weak, "", TRIGGERED),
        // The check may fail without failing its job.
        (MEMBERS_ONLY, "        continue-on-error: true\n", TRIGGERED),
        // The deploy job does not wait for the check to pass…
        (
            MEMBERS_ONLY,
            "",
            "always() && needs.check.outputs.triggered == 'true'",
        ),
        // …or does not test what the check step is keyed on, so it can run
        // when the check was skipped.
        (MEMBERS_ONLY, "", "github.event.issue.pull_request != null"),
    ];
    for (check, extra, deploy_if) in cases {
        let f = untrusted(&comment_command(check, extra, deploy_if));
        assert_eq!(
            severity(&f),
            Some(Severity::Critical),
            "{check} {extra} {deploy_if}: {f:#?}"
        );
    }
}

#[test]
fn a_shell_membership_check_stops_the_later_steps_of_its_own_job() {
    let wf = r#"on:
  pull_request_target:
jobs:
  preview:
    runs-on: ubuntu-latest
    steps:
      - env:
          ASSOCIATION: ${{ github.event.pull_request.author_association }}
        run: '[[ "$ASSOCIATION" == MEMBER ]] || exit 1'
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: npm ci && npm publish --tag pr
        env:
          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}
"#;
    assert!(untrusted(wf).is_empty(), "{:#?}", untrusted(wf));
    // A step that runs after a failure is still reached.
    let after = wf.replace(
        "      - run: npm ci && npm publish --tag pr",
        "      - if: always()\n        run: npm ci && npm publish --tag pr",
    );
    assert!(!untrusted(&after).is_empty());
}
