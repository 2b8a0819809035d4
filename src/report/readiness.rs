//! The publish-readiness summary as text: a section of the human report and
//! a GitHub job-summary block (Markdown) for `--format github`. JSON and
//! SARIF carry [`Readiness::to_json`] as it is.

use crate::readiness::{PublishPath, Readiness, Status};
use crate::rules::Policy;
use crate::term_line;
use std::io::{self, Write};

const ORDER: [Status; 6] = Status::ALL;

/// " (staged)" where the status does not already say so.
fn staged_note(p: &PublishPath) -> &'static str {
    if p.staged && p.status != Status::TokenStaged {
        " (staged)"
    } else {
        ""
    }
}

/// What to do about a status's paths (none for the good ones), pointing at
/// the rule that explains it for each CI system (and repository scripts)
/// that has paths in this status.
fn advice(readiness: &Readiness, status: Status) -> Option<String> {
    let general = general_advice(status)?;
    let pointers: Vec<String> = POINTERS
        .iter()
        .filter(|(ci, s, _, _)| {
            s.is_none_or(|s| s == status) && readiness.with_status(status).any(|p| p.ci == *ci)
        })
        .map(|(_, _, label, rule)| format!("{label}`npmsweep explain {rule}`"))
        .collect();
    Some(if pointers.is_empty() {
        general
    } else {
        format!("{general}: {}", pointers.join("; "))
    })
}

/// (CI system of the path, status (`None`: any), label, rule that explains
/// it), in the order they are named.
const POINTERS: &[(&str, Option<Status>, &str, &str)] = &[
    (
        "github-actions",
        Some(Status::WillBreak),
        "",
        "gha-npm-long-lived-publish-token",
    ),
    (
        "github-actions",
        Some(Status::TokenFallback),
        "",
        "gha-npm-token-with-oidc",
    ),
    (
        "github-actions",
        Some(Status::TokenStaged),
        "",
        "gha-npm-long-lived-stage-token",
    ),
    (
        "script",
        None,
        "repository scripts: ",
        "script-npm-token-publish",
    ),
    (
        "gitlab-ci",
        Some(Status::WillBreak),
        "GitLab CI (`id_tokens: NPM_ID_TOKEN`): ",
        "gitlab-npm-long-lived-publish-token",
    ),
    (
        "gitlab-ci",
        Some(Status::TokenFallback),
        "GitLab CI (`id_tokens: NPM_ID_TOKEN`): ",
        "gitlab-npm-oidc-broken",
    ),
    (
        "gitlab-ci",
        Some(Status::TokenStaged),
        "GitLab CI (`id_tokens: NPM_ID_TOKEN`): ",
        "gitlab-npm-long-lived-stage-token",
    ),
    (
        "circleci",
        Some(Status::WillBreak),
        "CircleCI (`NPM_ID_TOKEN` from `circleci run oidc get`): ",
        "circleci-npm-long-lived-publish-token",
    ),
    (
        "circleci",
        Some(Status::TokenFallback),
        "CircleCI (`NPM_ID_TOKEN` from `circleci run oidc get`): ",
        "circleci-npm-oidc-broken",
    ),
    (
        "circleci",
        Some(Status::TokenStaged),
        "CircleCI (`NPM_ID_TOKEN` from `circleci run oidc get`): ",
        "circleci-npm-long-lived-stage-token",
    ),
];

fn general_advice(status: Status) -> Option<String> {
    let p = Policy::global();
    match status {
        Status::WillBreak => Some(format!(
            "move to trusted publishing (preferred; an OIDC token for npm, npm >= {}, no token), or stage with `npm stage publish` (npm >= {}) and approve each release with 2FA",
            p.value("npm_oidc_version"),
            p.value("npm_stage_version")
        )),
        Status::TokenFallback => Some(
            "remove the token from the publish step so that a broken trusted-publisher set-up fails loudly".into(),
        ),
        Status::TokenStaged => Some(
            "keeps working, but the token is still a long-lived credential: stage with trusted publishing instead".into(),
        ),
        Status::Unknown => Some(
            "no token or OIDC token for npm visible where it runs: check how it authenticates".into(),
        ),
        Status::TrustedPublishing | Status::OtherRegistry => None,
    }
}

/// The human report's section (control characters are escaped when the
/// whole report is finished); `bold` styles the heading.
pub fn human(
    readiness: &Readiness,
    out: &mut dyn Write,
    terminal: &super::terminal::Terminal,
    bold: &dyn Fn(&str) -> String,
) -> io::Result<()> {
    if readiness.is_empty() {
        return Ok(());
    }
    term_line!(terminal, out)?;
    term_line!(
        terminal,
        out,
        "{}",
        bold(&format!("Publish readiness: {}", readiness.headline()))
    )?;
    term_line!(terminal, out, "  {}", Readiness::deadline_sentence())?;
    for status in ORDER {
        let paths: Vec<&PublishPath> = readiness.with_status(status).collect();
        if paths.is_empty() {
            continue;
        }
        term_line!(terminal, out, "  {} ({}):", status.label(), paths.len())?;
        for p in paths {
            term_line!(
                terminal,
                out,
                "    - {}{}",
                Readiness::describe(p),
                staged_note(p)
            )?;
        }
        if let Some(a) = advice(readiness, status) {
            term_line!(terminal, out, "    → {a}")?;
        }
    }
    Ok(())
}

/// A GitHub job-summary block (Markdown) for `--format github`.
pub fn markdown(readiness: &Readiness) -> String {
    let mut out = String::from("## npm publish readiness\n\n");
    out.push_str(&Readiness::deadline_sentence());
    out.push_str("\n\n");
    if readiness.is_empty() {
        out.push_str("No publish path found.\n");
        return out;
    }
    out.push_str("| status | publish paths |\n|---|---:|\n");
    for s in ORDER {
        out.push_str(&format!("| {} | {} |\n", s.label(), readiness.count(s)));
    }
    out.push_str(&format!(
        "| staged for approval (any authentication) | {} |\n\n",
        readiness.staged()
    ));
    out.push_str("| status | file | CI | job | step | command | credential |\n");
    out.push_str("|---|---|---|---|---|---|---|\n");
    for status in ORDER {
        for p in readiness.with_status(status) {
            out.push_str(&format!(
                "| {}{} | `{}:{}` | {} | {} | {} | `{}` | {} |\n",
                p.status.label(),
                staged_note(p),
                md_cell(&p.path),
                p.line,
                p.ci,
                md_code(&p.job),
                md_code(&p.step),
                md_cell(&p.command),
                p.credential
                    .as_deref()
                    .map(|c| format!("`{}`", md_cell(c)))
                    .unwrap_or_else(|| "-".into()),
            ));
        }
    }
    let todo: Vec<Status> = ORDER
        .into_iter()
        .filter(|s| readiness.count(*s) > 0)
        .filter(|s| general_advice(*s).is_some())
        .collect();
    if !todo.is_empty() {
        out.push('\n');
        for s in todo {
            out.push_str(&format!(
                "- **{}**: {}\n",
                s.label(),
                advice(readiness, s).unwrap_or_default()
            ));
        }
    }
    let p = Policy::global();
    out.push_str(&format!(
        "\nSources: [npm token changes]({}), [trusted publishing]({}), [staged publishing]({}).\n",
        p.facts["bypass_2fa_publish_end"].source,
        p.value("trusted_publishing_docs"),
        p.value("staged_publishing_docs"),
    ));
    out
}

/// A table cell: no pipes, backticks or line breaks from file content can
/// change the table's structure.
fn md_cell(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '|' => '/',
            '`' => '\'',
            c if c.is_control() => ' ',
            c => c,
        })
        .collect()
}

/// A cell of text from the input (a job or step name), as a code span: no
/// link, image, HTML or emphasis in a name renders on the summary page
/// (a `[click here](…)` or a tracking image planted in a step name).
pub(crate) fn md_code(s: &str) -> String {
    let cell = md_cell(s);
    if cell.trim().is_empty() {
        "-".into()
    } else {
        format!("`{cell}`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_from_the_input_render_as_code_not_markup() {
        assert_eq!(
            md_code("![x](https://evil.example/p.png) <b>`"),
            "`![x](https://evil.example/p.png) <b>'`"
        );
        assert_eq!(md_code(""), "-");
    }

    #[test]
    fn cells_cannot_break_the_table() {
        assert_eq!(md_cell("a|b`c\nd"), "a/b'c d");
    }

    #[test]
    fn circleci_paths_are_counted_and_pointed_at_circleci_rules() {
        use crate::readiness::{Auth, PublishPath, Site};
        let path = |auth: Auth| {
            PublishPath::new(
                ".circleci/config.yml",
                9,
                Site {
                    ci: "circleci",
                    range: 0..1,
                    job: "publish".into(),
                    step: "#2".into(),
                    command: "npm publish".into(),
                    auth,
                    credential: None,
                    staged: false,
                    npmjs: true,
                },
            )
        };
        let r = Readiness::new(vec![
            path(Auth::Token),
            path(Auth::TrustedPublishingWithToken),
        ]);
        assert_eq!(r.count(Status::WillBreak), 1);
        assert_eq!(r.count(Status::TokenFallback), 1);
        let will_break = advice(&r, Status::WillBreak).unwrap();
        assert!(
            will_break.contains("circleci-npm-long-lived-publish-token"),
            "{will_break}"
        );
        assert!(!will_break.contains("gitlab-"), "{will_break}");
        let fallback = advice(&r, Status::TokenFallback).unwrap();
        assert!(fallback.contains("circleci-npm-oidc-broken"), "{fallback}");
    }

    #[test]
    fn advice_names_the_rule_of_each_ci_system_present() {
        use crate::readiness::{Auth, PublishPath, Site};
        let path = |ci: &'static str| {
            PublishPath::new(
                ".gitlab-ci.yml",
                3,
                Site {
                    ci,
                    range: 0..1,
                    job: "publish".into(),
                    step: "script".into(),
                    command: "npm publish".into(),
                    auth: Auth::Token,
                    credential: None,
                    staged: false,
                    npmjs: true,
                },
            )
        };
        let gitlab = advice(&Readiness::new(vec![path("gitlab-ci")]), Status::WillBreak).unwrap();
        assert!(
            gitlab.contains("gitlab-npm-long-lived-publish-token"),
            "{gitlab}"
        );
        assert!(!gitlab.contains("gha-"), "{gitlab}");
        let both = advice(
            &Readiness::new(vec![path("gitlab-ci"), path("github-actions")]),
            Status::WillBreak,
        )
        .unwrap();
        assert!(both.contains("gha-npm-long-lived-publish-token"), "{both}");
        assert!(
            both.contains("gitlab-npm-long-lived-publish-token"),
            "{both}"
        );
    }

    #[test]
    fn empty_summary_says_so() {
        let md = markdown(&Readiness::default());
        assert!(md.contains("No publish path found."), "{md}");
        let mut out = Vec::new();
        let terminal = super::super::terminal::Terminal::new(false);
        human(&Readiness::default(), &mut out, &terminal, &|s| s.into()).unwrap();
        assert!(out.is_empty());
    }
}
