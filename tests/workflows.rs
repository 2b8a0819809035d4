//! Workflow and Dockerfile analysis: every workflow/docker rule's examples,
//! snapshot tests over realistic workflow files, files that must stay
//! silent, malformed input, and one end-to-end run of the binary.
//!
//! Fixture workflows live in `tests/fixtures/workflows/` (not under a
//! `.github/workflows/` directory, so the project's own scan stays clean)
//! and are scanned as `.github/workflows/<name>`.

use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::{Finding, Origin};
use npmsweep::rules::{Example, Registry, expand_templates};
use npmsweep::scan::detect_item;
use std::path::Path;

fn scan_as(path: &str, content: &str) -> npmsweep::detect::Detected {
    let item = Item {
        path,
        bytes: content.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    detect_item(&item, &DetectOptions::default())
}

fn example_findings(e: &Example) -> Vec<Finding> {
    scan_as(&e.path, &expand_templates(&e.content)).findings
}

fn our_rules() -> Vec<&'static npmsweep::rules::Rule> {
    Registry::global()
        .all()
        .filter(|r| r.detector == "workflow" || r.detector == "dockerfile")
        .collect()
}

#[test]
fn rule_examples_fire_on_their_line_and_negatives_stay_silent() {
    let rules = our_rules();
    assert!(
        rules.len() >= 17,
        "only {} workflow/docker rules",
        rules.len()
    );
    let mut failures = Vec::new();
    for rule in rules {
        for (i, e) in rule.examples.iter().enumerate() {
            let f = example_findings(e);
            let lines: Vec<usize> = f
                .iter()
                .filter(|f| f.rule_id == rule.id)
                .map(|f| f.span.start_line)
                .collect();
            let ok = match e.line {
                Some(l) => lines.contains(&l),
                None => !lines.is_empty(),
            };
            if !ok {
                failures.push(format!(
                    "{} example #{i}: want line {:?}, got {lines:?}; all: {:?}",
                    rule.id,
                    e.line,
                    f.iter()
                        .map(|f| (f.rule_id.as_str(), f.span.start_line))
                        .collect::<Vec<_>>()
                ));
            }
        }
        for (i, e) in rule.negative_examples.iter().enumerate() {
            let f = example_findings(e);
            if let Some(bad) = f.iter().find(|f| f.rule_id == rule.id) {
                failures.push(format!(
                    "{} negative #{i} fired on line {}: {}",
                    rule.id, bad.span.start_line, bad.message
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn fixture(name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Where a fixture is scanned from: the path decides the detectors.
fn scan_path(name: &str) -> String {
    match name {
        "composite-action.yml" => ".github/actions/publish/action.yml".into(),
        n if n.ends_with(".Dockerfile.txt") => {
            format!("docker/{}", n.trim_end_matches(".txt"))
        }
        n => format!(".github/workflows/{n}"),
    }
}

/// One line per finding: position, severity, rule, message.
fn render(findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        out.push_str(&format!(
            "{}:{} {} {}\n    {}\n",
            f.span.start_line, f.span.start_column, f.severity, f.rule_id, f.message
        ));
    }
    if out.is_empty() {
        out.push_str("(no findings)\n");
    }
    out
}

fn findings_of(dir: &str, name: &str) -> Vec<Finding> {
    let path = scan_path(name);
    let d = scan_as(&path, &fixture(&format!("{dir}/{name}")));
    assert!(d.warnings.is_empty(), "{name}: {:?}", d.warnings);
    let mut f = d.findings;
    npmsweep::finding::sort_findings(&mut f);
    f
}

macro_rules! snapshot {
    ($test:ident, $dir:literal, $file:literal) => {
        #[test]
        fn $test() {
            let f = findings_of($dir, $file);
            insta::assert_snapshot!(stringify!($test), render(&f));
        }
    };
}

snapshot!(snap_setup_node_token, "workflows", "setup-node-token.yml");
snapshot!(snap_handwritten_npmrc, "workflows", "handwritten-npmrc.yml");
snapshot!(snap_npm_config_set, "workflows", "npm-config-set.yml");
snapshot!(snap_changesets, "workflows", "changesets.yml");
snapshot!(snap_semantic_release, "workflows", "semantic-release.yml");
snapshot!(snap_pnpm_oidc_mixed, "workflows", "pnpm-oidc-mixed.yml");
snapshot!(snap_yarn_berry, "workflows", "yarn-berry.yml");
snapshot!(
    snap_trusted_publishing_wrong,
    "workflows",
    "trusted-publishing-wrong.yml"
);
snapshot!(snap_reusable_publish, "workflows", "reusable-publish.yml");
snapshot!(snap_release_caller, "workflows", "release-caller.yml");
snapshot!(snap_pr_target, "workflows", "pr-target.yml");
snapshot!(snap_docker_image, "workflows", "docker-image.yml");
snapshot!(snap_composite_action, "workflows", "composite-action.yml");
snapshot!(
    snap_dockerfile_classic,
    "dockerfiles",
    "classic-token.Dockerfile.txt"
);

#[test]
fn correct_workflows_produce_no_findings() {
    for name in [
        "trusted-publishing-right.yml",
        "token-in-step-env-right.yml",
        "no-npm-credentials.yml",
    ] {
        let f = findings_of("workflows", name);
        assert!(f.is_empty(), "{name}:\n{}", render(&f));
    }
    let f = findings_of("dockerfiles", "secret-mount.Dockerfile.txt");
    assert!(f.is_empty(), "secret mount:\n{}", render(&f));
}

#[test]
fn findings_point_at_the_offending_key_or_command() {
    let text = fixture("workflows/setup-node-token.yml");
    let f = findings_of("workflows", "setup-node-token.yml");
    assert_eq!(f.len(), 1, "{}", render(&f));
    let line = text.lines().nth(f[0].span.start_line - 1).unwrap();
    let col = f[0].span.start_column - 1;
    assert!(
        line[col..].starts_with("npm publish --access public"),
        "{line}"
    );

    let text = fixture("workflows/pr-target.yml");
    let f = findings_of("workflows", "pr-target.yml");
    let hit = f
        .iter()
        .find(|f| f.rule_id == "gha-npm-token-untrusted-trigger")
        .expect("untrusted trigger");
    let line = text.lines().nth(hit.span.start_line - 1).unwrap();
    assert!(
        line[hit.span.start_column - 1..].starts_with("NODE_AUTH_TOKEN:"),
        "{line}"
    );
    assert_eq!(hit.severity, npmsweep::finding::Severity::Critical);
}

#[test]
fn severity_depends_on_context() {
    use npmsweep::finding::Severity;
    // Without a checkout of the PR head the untrusted trigger is high.
    let wf = "on: workflow_run\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm ci\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n";
    let f = scan_as(".github/workflows/a.yml", wf).findings;
    let hit = f
        .iter()
        .find(|f| f.rule_id == "gha-npm-token-untrusted-trigger")
        .unwrap();
    assert_eq!(hit.severity, Severity::High);
    // A registered secret echoed verbatim is masked: medium; transformed: high.
    let wf = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo \"$T\"\n          echo \"${T:0:8}\"\n        env:\n          T: ${{ secrets.NPM_TOKEN }}\n";
    let f = scan_as(".github/workflows/a.yml", wf).findings;
    let printed: Vec<_> = f
        .iter()
        .filter(|f| f.rule_id == "gha-npm-secret-printed")
        .map(|f| (f.span.start_line, f.severity))
        .collect();
    assert_eq!(printed, vec![(7, Severity::Medium), (8, Severity::High)]);
}

#[test]
fn extra_credential_names_are_honoured() {
    let wf = "on: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.REGISTRY_PUSH }}\n      - run: echo \"$REGISTRY_PUSH\" | base64\n";
    let item = Item {
        path: ".github/workflows/a.yml",
        bytes: wf.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    let plain = detect_item(&item, &DetectOptions::default()).findings;
    assert!(plain.iter().all(|f| f.rule_id != "gha-npm-secret-printed"));
    let opts = DetectOptions {
        extra_credential_names: vec!["REGISTRY_PUSH".into()],
        ..DetectOptions::default()
    };
    let f = detect_item(&item, &opts).findings;
    let ids: Vec<&str> = f.iter().map(|f| f.rule_id.as_str()).collect();
    assert!(ids.contains(&"gha-npm-secret-printed"), "{ids:?}");
    assert!(ids.contains(&"gha-npm-long-lived-publish-token"), "{ids:?}");
}

#[test]
fn fingerprints_survive_line_moves_and_output_is_deterministic() {
    let text = fixture("workflows/trusted-publishing-wrong.yml");
    let a = scan_as(".github/workflows/p.yml", &text).findings;
    let b = scan_as(".github/workflows/p.yml", &text).findings;
    let fp = |f: &[Finding]| {
        let mut v: Vec<(String, String)> = f
            .iter()
            .map(|f| (f.rule_id.clone(), f.fingerprint.clone()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(fp(&a), fp(&b));
    let moved = format!("# a comment\n# another\n{text}");
    let c = scan_as(".github/workflows/p.yml", &moved).findings;
    assert_eq!(fp(&a), fp(&c));
    // token-with-oidc, self-hosted, provenance and more (a token publish is
    // not also an OIDC failure).
    assert!(a.len() >= 4);
    // Every finding of one file has its own fingerprint.
    let mut all = fp(&a);
    all.dedup_by(|x, y| x.1 == y.1);
    assert_eq!(
        all.len(),
        a.len(),
        "duplicate fingerprints:\n{}",
        render(&a)
    );
}

#[test]
fn malformed_yaml_is_a_positioned_warning_not_a_panic() {
    let d = scan_as(
        ".github/workflows/broken.yml",
        "on: push\njobs:\n  a:\n    steps: [\n      - run: npm publish\n",
    );
    assert!(d.findings.iter().all(|f| !f.rule_id.starts_with("gha-")));
    let w = d
        .warnings
        .iter()
        .find(|w| w.contains("workflow not analysed"))
        .unwrap_or_else(|| panic!("{:?}", d.warnings));
    assert!(w.starts_with(".github/workflows/broken.yml: "), "{w}");
    let re = regex::Regex::new(r"\d+:\d+").unwrap();
    assert!(re.is_match(w), "no line:column in {w}");
}

#[test]
fn odd_but_valid_shapes_do_not_panic() {
    let cases = [
        "",
        "# only a comment\n",
        "just a string\n",
        "- a\n- b\n",
        "on: push\njobs: 3\n",
        "on: push\njobs:\n  a: 3\n  b:\n    steps: nope\n  c:\n    steps:\n      - 1\n      - run: [a, b]\n      - run:\n      - env: 3\n        run: echo\n",
        "on: push\njobs:\n  a:\n    runs-on: {group: x}\n    permissions: 7\n    env: ${{ fromJSON(vars.E) }}\n    steps:\n      - run: \"if then fi ${{ \"\n",
        "on: push\njobs:\n  a:\n    steps:\n      - run: \"echo \\t${NPM_TOKEN:-x} \\\\\\n  > .npmrc\"\n",
    ];
    for c in cases {
        let _ = scan_as(".github/workflows/x.yml", c);
        let _ = scan_as("action.yml", c);
        let _ = scan_as("Dockerfile", c);
    }
    let d = scan_as(".github/workflows/bin.yml", "on: push\n\u{0}\u{1}\u{2}");
    let _ = d;
    let item = Item {
        path: ".github/workflows/latin1.yml",
        bytes: b"on: push\nname: caf\xe9\n",
        origin: Origin::Worktree,
        tree: None,
    };
    let d = detect_item(&item, &DetectOptions::default());
    assert!(!d.warnings.is_empty());
}

#[test]
fn truncated_fixtures_never_panic() {
    // Every prefix of every fixture (at char boundaries, in steps) is
    // malformed in its own way; none may panic.
    let mut names = Vec::new();
    for sub in ["workflows", "dockerfiles"] {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(sub);
        for e in std::fs::read_dir(&dir).unwrap() {
            let name = e.unwrap().file_name().to_string_lossy().to_string();
            names.push((sub, name));
        }
    }
    names.sort();
    assert!(names.len() >= 17);
    for (sub, name) in names {
        let text = fixture(&format!("{sub}/{name}"));
        let path = scan_path(&name);
        let mut cut = 0;
        while cut < text.len() {
            if text.is_char_boundary(cut) {
                let _ = scan_as(&path, &text[..cut]);
            }
            cut += 13;
        }
    }
}

#[test]
fn binary_scans_a_workflow_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let wf_dir = dir.path().join(".github/workflows");
    std::fs::create_dir_all(&wf_dir).unwrap();
    std::fs::write(
        wf_dir.join("release.yml"),
        fixture("workflows/pr-target.yml"),
    )
    .unwrap();
    std::fs::write(
        wf_dir.join("ci.yml"),
        fixture("workflows/trusted-publishing-right.yml"),
    )
    .unwrap();
    std::fs::write(wf_dir.join("broken.yml"), "on: [push\n").unwrap();
    std::fs::write(
        dir.path().join("Dockerfile"),
        fixture("dockerfiles/classic-token.Dockerfile.txt"),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(["scan"])
        .arg(dir.path())
        .args(["--format", "json"])
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let found: Vec<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let has = |p: &str, r: &str| found.iter().any(|(fp, fr)| fp == p && fr == r);
    assert!(
        has(
            ".github/workflows/release.yml",
            "gha-npm-token-untrusted-trigger"
        ),
        "{found:?}"
    );
    assert!(has("Dockerfile", "docker-npm-token-build-arg"), "{found:?}");
    assert!(has("Dockerfile", "docker-npmrc-in-layer"), "{found:?}");
    assert!(
        !found.iter().any(|(p, _)| p == ".github/workflows/ci.yml"),
        "{found:?}"
    );
    // The malformed workflow is reported, with its position, and the scan went on.
    let all = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("broken.yml") && all.contains("1:"), "{all}");
}

#[test]
fn printing_edge_cases() {
    let printed = |body: &str, runs_on: &str, shell: &str| -> Vec<usize> {
        let wf = format!(
            "on: push\njobs:\n  a:\n    runs-on: {runs_on}\n    steps:\n      - {shell}run: |\n{}        env:\n          T: ${{{{ secrets.NPM_TOKEN }}}}\n",
            body.lines()
                .map(|l| format!("          {l}\n"))
                .collect::<String>()
        );
        scan_as(".github/workflows/a.yml", &wf)
            .findings
            .iter()
            .filter(|f| f.rule_id == "gha-npm-secret-printed")
            .map(|f| f.span.start_line)
            .collect()
    };
    // stderr is the log too.
    assert_eq!(
        printed("echo \"$T\" > /dev/stderr", "ubuntu-latest", ""),
        vec![7]
    );
    // add-mask hides; a heredoc into a file writes; tee to a file prints too.
    assert!(printed("echo \"::add-mask::$T\"", "ubuntu-latest", "").is_empty());
    assert!(
        printed(
            "cat > .npmrc <<EOF\n//r/:_authToken=${T}\nEOF",
            "ubuntu-latest",
            ""
        )
        .is_empty()
    );
    assert_eq!(
        printed(
            "echo \"//r/:_authToken=$T\" | tee .npmrc",
            "ubuntu-latest",
            ""
        ),
        vec![7]
    );
    // A token captured by $( ) is not printed; printing the result is.
    assert!(printed("X=$(echo \"$T\")", "ubuntu-latest", "").is_empty());
    assert_eq!(
        printed("X=$(echo \"$T\" | rev)\necho \"$X\"", "ubuntu-latest", ""),
        vec![8]
    );
    // Windows runners default to PowerShell; `shell: bash` opts back in.
    assert!(printed("echo \"$T\" | base64", "windows-latest", "").is_empty());
    assert_eq!(
        printed(
            "echo \"$T\" | base64",
            "windows-latest",
            "shell: bash\n        "
        ),
        vec![8]
    );
    // `bash -x` traces from the start.
    assert_eq!(
        printed(
            "npm config set //r/:_authToken \"$T\"",
            "ubuntu-latest",
            "shell: bash -x {0}\n        "
        ),
        vec![8]
    );
}

#[test]
fn default_shells_decide_how_run_bodies_are_read() {
    let wf = |defaults: &str| {
        format!(
            "on: push\n{defaults}jobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm config set //r/:_authToken \"$T\"\n        env:\n          T: ${{{{ secrets.NPM_TOKEN }}}}\n"
        )
    };
    let printed = |text: String| {
        scan_as(".github/workflows/a.yml", &text)
            .findings
            .iter()
            .filter(|f| f.rule_id == "gha-npm-secret-printed")
            .count()
    };
    assert_eq!(printed(wf("")), 0);
    assert_eq!(
        printed(wf("defaults:\n  run:\n    shell: bash -x {0}\n")),
        1
    );
    assert_eq!(printed(wf("defaults:\n  run:\n    shell: pwsh\n")), 0);
}

#[test]
fn token_files_and_exports() {
    let ids = |steps: &str| -> Vec<(String, usize)> {
        let wf = format!(
            "on: push\npermissions: {{contents: read}}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
        );
        let mut v: Vec<(String, usize)> = scan_as(".github/workflows/a.yml", &wf)
            .findings
            .iter()
            // Install-only jobs with a publish secret are reported too;
            // not what this test is about.
            .filter(|f| f.rule_id != "gha-npm-token-in-install-job")
            .map(|f| (f.rule_id.clone(), f.span.start_line))
            .collect();
        v.sort();
        v
    };
    let write = "      - run: echo \"//registry.npmjs.org/:_authToken=$T\" | tee ${{ github.workspace }}/.npmrc > /dev/null\n        env:\n          T: ${{ secrets.NPM_TOKEN }}\n";
    // upload-artifact v3 still included dot-files.
    let v3 = format!(
        "{write}      - uses: actions/upload-artifact@v3\n        with:\n          path: .\n"
    );
    assert_eq!(ids(&v3), vec![("gha-npm-token-persisted".to_string(), 7)]);
    // v4 leaves them out unless asked; removing the file first also helps.
    let v4 = format!(
        "{write}      - uses: actions/upload-artifact@v4\n        with:\n          path: .\n"
    );
    assert!(ids(&v4).is_empty(), "{:?}", ids(&v4));
    let removed = format!(
        "{write}      - run: rm -f .npmrc\n      - uses: actions/upload-artifact@v3\n        with:\n          path: .\n"
    );
    assert!(ids(&removed).is_empty(), "{:?}", ids(&removed));
    // A Docker build of the workspace ships it too.
    let docker = format!("{write}      - run: docker build -t app .\n");
    assert_eq!(
        ids(&docker),
        vec![("gha-npm-token-persisted".to_string(), 7)]
    );
    // Exporting through $GITHUB_ENV hands it to every later step.
    let env = "      - run: echo \"NPM_TOKEN=$T\" >> \"$GITHUB_ENV\"\n        env:\n          T: ${{ secrets.NPM_TOKEN }}\n      - uses: some-org/action@v1\n";
    assert_eq!(ids(env), vec![("gha-npm-token-overexposed".to_string(), 7)]);
}

#[test]
fn identities_stay_unique() {
    let fps = |path: &str, text: &str| -> Vec<(String, usize, String)> {
        scan_as(path, text)
            .findings
            .iter()
            .map(|f| (f.rule_id.clone(), f.span.start_line, f.fingerprint.clone()))
            .collect()
    };
    // The same ARG in two stages: two findings, two identities.
    let d = fps(
        "Dockerfile",
        "FROM node:24 AS deps\nARG NPM_TOKEN\nRUN npm ci\nFROM node:24 AS test\nARG NPM_TOKEN\nRUN npm test\n",
    );
    assert_eq!(d.len(), 2, "{d:?}");
    assert_ne!(d[0].2, d[1].2);
    // Two steps named alike publish twice: two findings, two identities.
    let wf = "on: push\npermissions: {contents: read}\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - name: Publish\n        run: npm publish -w a\n        env: {NODE_AUTH_TOKEN: \"${{ secrets.NPM_TOKEN }}\"}\n      - name: Publish\n        run: npm publish -w b\n        env: {NODE_AUTH_TOKEN: \"${{ secrets.NPM_TOKEN }}\"}\n";
    let w = fps(".github/workflows/a.yml", wf);
    assert_eq!(w.len(), 2, "{w:?}");
    assert_ne!(w[0].2, w[1].2);
    // One command repeated in a step is one finding.
    let wf = "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          echo \"$T\" | base64\n          echo \"$T\" | base64\n        env: {T: \"${{ secrets.NPM_READ_TOKEN }}\"}\n";
    let p = fps(".github/workflows/a.yml", wf);
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn secret_in_run_remediation_names_the_steps_own_shell_syntax() {
    let message = |runs_on: &str, shell: &str| -> String {
        let wf = format!(
            "on: push\njobs:\n  a:\n    runs-on: {runs_on}\n    steps:\n      - {shell}run: npm whoami --token ${{{{ secrets.NPM_TOKEN }}}}\n"
        );
        let found = scan_as(".github/workflows/a.yml", &wf).findings;
        let f = found
            .iter()
            .find(|f| f.rule_id == "gha-npm-secret-in-run")
            .unwrap_or_else(|| panic!("{found:?}"));
        f.message.to_string()
    };
    assert!(message("ubuntu-latest", "").ends_with("use `\"$NPM_TOKEN\"`"));
    // `"$NPM_TOKEN"` is an empty variable in PowerShell and literal text in cmd.
    assert!(message("windows-latest", "").ends_with("use `$env:NPM_TOKEN`"));
    assert!(message("ubuntu-latest", "shell: pwsh\n        ").ends_with("use `$env:NPM_TOKEN`"));
    assert!(message("windows-latest", "shell: cmd\n        ").ends_with("use `%NPM_TOKEN%`"));
    assert!(message("windows-latest", "shell: bash\n        ").ends_with("use `\"$NPM_TOKEN\"`"));
}
