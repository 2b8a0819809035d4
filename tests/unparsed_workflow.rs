//! A workflow the YAML parser rejects is not silently dropped: literal
//! credentials in it are still found line by line, and the parse failure is
//! visible in every format, `--quiet` included.

mod support {
    pub mod cli;
}
use support::cli::npmsweep;

use npmsweep::rules::expand_templates;

/// Invalid YAML (an unclosed flow sequence) holding a legacy token at
/// `NPM_TOKEN`, a checksum-valid `npm_` token and a literal `_authToken` write.
fn broken_workflow() -> String {
    expand_templates(
        "on: push\njobs:\n  publish:\n    runs-on: [ubuntu-latest\n    env:\n      NPM_TOKEN: {{uuid}}\n      OTHER: {{npm_token}}\n    steps:\n      - run: echo \"//registry.npmjs.org/:_authToken={{uuid}}\" > ~/.npmrc\n      - run: npm publish\n",
    )
}

fn tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let wf = dir.path().join(".github/workflows/release.yml");
    std::fs::create_dir_all(wf.parent().unwrap()).unwrap();
    std::fs::write(wf, broken_workflow()).unwrap();
    dir
}

#[test]
fn literal_credentials_are_still_found_and_the_failure_is_reported() {
    let dir = tree();
    let out = npmsweep(
        &["scan", "--no-config", "--format", "json", "-q", "."],
        dir.path(),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut rules: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    rules.sort();
    assert_eq!(
        rules,
        ["npm-legacy-token", "npm-token", "npmrc-literal-auth-token"],
        "{v:#}"
    );
    let warnings = v["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| {
            let w = w.as_str().unwrap();
            w.starts_with(".github/workflows/release.yml: invalid YAML: ")
                && w.contains("workflow not analysed")
        }),
        "{warnings:?}"
    );
    // `-q` hides warnings, except this one: the CI rules did not run.
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("workflow not analysed"), "{stderr}");
}

#[test]
fn every_format_shows_the_parse_failure() {
    let dir = tree();
    let human = npmsweep(&["scan", "--no-config", "-q", "."], dir.path());
    assert!(String::from_utf8_lossy(&human.stderr).contains("release.yml: invalid YAML"));
    let sarif = npmsweep(
        &["scan", "--no-config", "-q", "--format", "sarif", "."],
        dir.path(),
    );
    let v: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let notes = &v["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert!(
        notes
            .as_array()
            .is_some_and(|n| n.iter().any(|n| n["message"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("workflow not analysed"))
                && n["level"] == "warning")),
        "{notes:#}"
    );
    let gh = npmsweep(
        &["scan", "--no-config", "-q", "--format", "github", "."],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&gh.stdout);
    assert!(
        text.lines().any(|l| l.starts_with(
            "::warning file=.github/workflows/release.yml,title=npmsweep%3A workflow not analysed::invalid YAML"
        )),
        "{text}"
    );
}
