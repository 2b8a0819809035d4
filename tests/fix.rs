//! `npmsweep fix` on every positive example of every fixable rule: the fix
//! is applied to the example, the result is scanned again (the finding is
//! gone, no new one appears), parsed again, and fixed again (nothing
//! changes). Examples outside the files a rule's fix edits must be listed
//! as not fixed, with a reason. Golden diffs are insta snapshots of the
//! redacted output.

use npmsweep::detect::kind::FileKind;
use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::{Finding, Origin};
use npmsweep::fix::{self, FIXABLE_RULES, FixOptions, Plan};
use npmsweep::rules::{Example, Registry, expand_templates};
use npmsweep::scan::detect_item;

fn options_for(example: &Example) -> DetectOptions {
    let mut opts = DetectOptions::default();
    for o in &example.options {
        match o.as_str() {
            "include-invalid-tokens" => opts.include_invalid_tokens = true,
            other => panic!("unknown example option {other:?}"),
        }
    }
    opts
}

fn scan(path: &str, content: &str, opts: &DetectOptions) -> Vec<Finding> {
    let item = Item {
        path,
        bytes: content.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    detect_item(&item, opts).findings
}

fn plan_for(path: &str, content: &str, rule: &str, opts: &DetectOptions) -> Plan {
    let findings = scan(path, content, opts);
    fix::plan(
        &findings,
        &FixOptions {
            rules: vec![rule.to_string()],
        },
        |p| {
            assert_eq!(p, path);
            Ok(content.to_string())
        },
    )
}

/// The examples whose findings of `rule` the fixer edits.
fn edited_here(rule: &str, path: &str, content: &str) -> bool {
    let kind = FileKind::of(path);
    if rule == "gha-npm-secret-in-run" || rule == "gha-npm-token-overexposed" {
        return kind == FileKind::Workflow;
    }
    if rule == "docker-npm-token-build-arg" || rule == "docker-npmrc-in-layer" {
        // A `--build-arg` in a workflow is listed, not edited.
        return kind == FileKind::Dockerfile;
    }
    if rule == "gha-npm-long-lived-publish-token" {
        // Trusted publishing does not run on self-hosted runners.
        return kind == FileKind::Workflow && !content.contains("self-hosted");
    }
    matches!(
        kind,
        FileKind::Npmrc | FileKind::YarnrcYml | FileKind::YarnrcClassic | FileKind::Bunfig
    )
}

/// The fixed text still parses as what it is.
fn assert_parses(path: &str, text: &str) {
    match FileKind::of(path) {
        FileKind::YarnrcYml | FileKind::Workflow => {
            npmsweep::detect::yaml::parse(text)
                .unwrap_or_else(|e| panic!("{path}: fixed YAML does not parse: {e}\n{text}"));
        }
        FileKind::Bunfig => {
            text.parse::<toml::Table>()
                .unwrap_or_else(|e| panic!("{path}: fixed TOML does not parse: {e}\n{text}"));
        }
        _ => {}
    }
}

/// No Docker engine here: the fixed Dockerfile is checked for structure.
/// Every instruction is a known one; every `RUN` parses as shell with no
/// dangling `&&`; no `ARG`/`ENV` credential (for the build-arg rule) and
/// no copied `.npmrc` (for the layer rule) is left; every `RUN` that runs a package manager mounts the secret.
fn assert_dockerfile(path: &str, text: &str, rule: &str) {
    use npmsweep::detect::dockerfile::{instructions, run_body};
    const KNOWN: &[&str] = &[
        "FROM",
        "RUN",
        "CMD",
        "LABEL",
        "EXPOSE",
        "ENV",
        "ADD",
        "COPY",
        "ENTRYPOINT",
        "VOLUME",
        "USER",
        "WORKDIR",
        "ARG",
        "ONBUILD",
        "STOPSIGNAL",
        "HEALTHCHECK",
        "SHELL",
    ];
    let all = instructions(text);
    assert!(
        all.iter().any(|i| i.keyword == "FROM"),
        "{path}: no FROM left:\n{text}"
    );
    for ins in &all {
        let args = &text[ins.args.clone()];
        assert!(
            KNOWN.contains(&ins.keyword.as_str()),
            "{path}: {}:\n{text}",
            ins.keyword
        );
        assert!(
            !args.trim().is_empty(),
            "{path}: empty {}:\n{text}",
            ins.keyword
        );
        match ins.keyword.as_str() {
            "ARG" | "ENV" if rule == "docker-npm-token-build-arg" => assert!(
                !args.to_ascii_uppercase().contains("TOKEN"),
                "{path}: a token variable is left:\n{text}"
            ),
            "COPY" | "ADD" if rule == "docker-npmrc-in-layer" => {
                assert!(!args.contains(".npmrc"), "{path}: .npmrc copied:\n{text}")
            }
            "RUN" => {
                let (flags, body) = run_body(text, ins.args.clone());
                let body = text[body].replace("\\\n", " ");
                let body = body.trim();
                for sep in ["&&", ";", "||"] {
                    assert!(
                        !body.starts_with(sep) && !body.ends_with(sep),
                        "{path}: dangling {sep} in RUN:\n{text}"
                    );
                }
                assert!(!body.contains("&& &&"), "{path}:\n{text}");
                let script = npmsweep::detect::workflow::shell::parse(body);
                assert!(
                    script.not_analysed.is_none() && !script.commands.is_empty(),
                    "{path}:\n{text}"
                );
                let installs = script.commands.iter().any(|c| {
                    let sub = c.argv().next().unwrap_or("");
                    matches!(c.name.as_str(), "npm" | "pnpm" | "yarn")
                        && matches!(sub, "" | "ci" | "install" | "i" | "add")
                });
                if installs {
                    assert!(
                        flags.iter().any(|f| f == npmsweep::fix::dockerfile::MOUNT),
                        "{path}: an install without the secret:\n{text}"
                    );
                }
            }
            _ => {}
        }
    }
}

fn rule_set(findings: &[Finding]) -> Vec<(String, usize)> {
    let mut v: Vec<(String, usize)> = findings
        .iter()
        .map(|f| (f.rule_id.clone(), f.span.start_line))
        .collect();
    v.sort();
    v
}

#[test]
fn every_positive_example_of_a_fixable_rule_is_fixed_or_says_why() {
    let mut fixed = 0;
    for rule in Registry::global().all() {
        if !FIXABLE_RULES.contains(&rule.id.as_str()) {
            continue;
        }
        for example in &rule.examples {
            let content = expand_templates(&example.content);
            let opts = options_for(example);
            let before = scan(&example.path, &content, &opts);
            let plan = plan_for(&example.path, &content, &rule.id, &opts);
            let at = format!(
                "{} example {} line {:?}",
                rule.id, example.path, example.line
            );
            if !edited_here(&rule.id, &example.path, &content) {
                assert!(plan.patches.is_empty(), "{at}: edited a file it should not");
                assert!(
                    plan.unfixed
                        .iter()
                        .any(|u| u.rule_id == rule.id && !u.reason.is_empty()),
                    "{at}: not fixed and not listed with a reason"
                );
                continue;
            }
            assert_eq!(
                plan.patches.len(),
                1,
                "{at}: no patch; unfixed: {:?}",
                plan.unfixed.iter().map(|u| &u.reason).collect::<Vec<_>>()
            );
            let patch = &plan.patches[0];
            let after = scan(&example.path, &patch.fixed, &opts);
            assert!(
                !after.iter().any(|f| f.rule_id == rule.id),
                "{at}: the finding is still there:\n{}",
                patch.fixed
            );
            // No new finding: every finding after the fix was there before
            // (same rule; lines may move by the lines an `env:` adds).
            let before_rules: Vec<String> = rule_set(&before).into_iter().map(|r| r.0).collect();
            for (r, line) in rule_set(&after) {
                assert!(
                    before_rules.contains(&r),
                    "{at}: the fix introduced {r} at line {line}:\n{}",
                    patch.fixed
                );
            }
            assert_parses(&example.path, &patch.fixed);
            // npm is upgraded to the policy's version, never to npm 12 blindly.
            assert_eq!(
                patch.fixed.matches("npm@latest").count(),
                content.matches("npm@latest").count(),
                "{at}: the fix added npm@latest"
            );
            if FileKind::of(&example.path) == FileKind::Dockerfile {
                assert_dockerfile(&example.path, &patch.fixed, &rule.id);
            }
            // `scripts/lint-fixed-workflows.sh` lints these with actionlint.
            if let Some(dir) = std::env::var_os("NPMSWEEP_FIX_DUMP")
                && FileKind::of(&example.path) == FileKind::Workflow
            {
                let dir = std::path::Path::new(&dir);
                std::fs::create_dir_all(dir).unwrap();
                let name = format!("{}-{fixed}", rule.id);
                std::fs::write(dir.join(format!("{name}.before.yml")), &content).unwrap();
                std::fs::write(dir.join(format!("{name}.after.yml")), &patch.fixed).unwrap();
            }
            // The secret is gone from the text.
            for f in before.iter().filter(|f| f.rule_id == rule.id) {
                if let Some(s) = &f.secret {
                    assert!(
                        !patch.fixed.contains(s.expose()),
                        "{at}: secret left in the file"
                    );
                }
            }
            // Idempotent: a second run changes nothing.
            let again = plan_for(&example.path, &patch.fixed, &rule.id, &opts);
            assert!(
                again.patches.is_empty(),
                "{at}: second run changed:\n{}",
                patch.fixed
            );
            // The diff never shows the secret.
            let diff = fix::diff::unified(patch, false);
            for f in &before {
                if let Some(s) = &f.secret {
                    assert!(
                        !diff.contains(s.expose()),
                        "{at}: diff shows the secret:\n{diff}"
                    );
                }
            }
            fixed += 1;
        }
    }
    assert!(fixed >= 15, "only {fixed} examples fixed");
}

fn diff_of(path: &str, template: &str) -> String {
    let content = expand_templates(template);
    let findings = scan(path, &content, &DetectOptions::default());
    let plan = fix::plan(&findings, &FixOptions { rules: vec![] }, |_| {
        Ok(content.clone())
    });
    let mut out = String::new();
    for p in &plan.patches {
        out.push_str(&fix::diff::unified(p, false));
        if let Some(dir) = std::env::var_os("NPMSWEEP_FIX_DUMP")
            && FileKind::of(path) == FileKind::Workflow
        {
            let dir = std::path::Path::new(&dir);
            std::fs::create_dir_all(dir).unwrap();
            let name = format!(
                "golden-{}",
                npmsweep::finding::hash_hex(&[content.as_bytes()])
            );
            std::fs::write(dir.join(format!("{}.before.yml", &name[..15])), &content).unwrap();
            std::fs::write(dir.join(format!("{}.after.yml", &name[..15])), &p.fixed).unwrap();
        }
    }
    for u in &plan.unfixed {
        out.push_str(&format!(
            "not fixed: {}:{} {}: {}\n",
            u.path, u.line, u.rule_id, u.reason
        ));
    }
    out
}

#[test]
fn golden_npmrc_with_two_registries() {
    insta::assert_snapshot!(diff_of(
        ".npmrc",
        "; team registry\n@acme:registry=https://npm.pkg.github.com/\n//npm.pkg.github.com/:_authToken=\"{{ghp_token}}\" ; GitHub Packages\n//registry.npmjs.org/:_authToken={{uuid}}\nalways-auth=true\n"
    ));
}

#[test]
fn golden_yarnrc_and_bunfig() {
    insta::assert_snapshot!(diff_of(
        ".yarnrc.yml",
        "# yarn\nnpmScopes:\n  acme:\n    npmRegistryServer: \"https://npm.pkg.github.com\"\n    npmAuthToken: \"{{ghp_token}}\" # scope token\nnodeLinker: node-modules\n"
    ));
    insta::assert_snapshot!(diff_of(
        "bunfig.toml",
        "[install.scopes]\n# private\n\"@acme\" = { username = \"ci-bot\", password = \"{{password}}\", url = \"https://npm.example.com/\" }\n"
    ));
}

#[test]
fn golden_workflow_secret_moves_to_env() {
    insta::assert_snapshot!(diff_of(
        ".github/workflows/release.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  check:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          # who am I\n          npm whoami --registry https://npm.pkg.github.com --//npm.pkg.github.com/:_authToken=${{ secrets.NPM_TOKEN }}\n      - name: with env\n        env:\n          CI: true\n        run: |\n          curl -H 'Authorization: Bearer ${{ secrets.NPM_TOKEN }}' https://npm.pkg.github.com/\n          echo \"done\" # ${{ secrets.NPM_TOKEN }} again\n      - shell: pwsh\n        run: npm whoami --//npm.pkg.github.com/:_authToken=${{ secrets.NPM_TOKEN }}\n"
    ));
}

#[test]
fn a_token_in_source_code_is_listed_not_edited() {
    let out = diff_of(
        "src/publish.js",
        "const token = '{{uuid}}';\nfetch(url, { headers: { authorization: `Bearer ${token}` } });\n",
    );
    assert!(!out.contains("+++"), "{out}");
}

#[test]
fn cli_dry_run_then_apply_then_nothing_left() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let npmrc = dir.path().join(".npmrc");
    let content = expand_templates(
        "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={{uuid}}\n",
    );
    std::fs::write(&npmrc, &content).unwrap();
    std::fs::set_permissions(&npmrc, std::fs::Permissions::from_mode(0o640)).unwrap();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_npmsweep"))
            .arg("fix")
            .args(args)
            .current_dir(dir.path())
            .output()
            .unwrap()
    };
    let dry = run(&["."]);
    assert_eq!(dry.status.code(), Some(1));
    let diff = String::from_utf8(dry.stdout).unwrap();
    assert!(
        diff.contains("+//registry.npmjs.org/:_authToken=${NPM_TOKEN}"),
        "{diff}"
    );
    let token = content.lines().nth(1).unwrap().split('=').nth(1).unwrap();
    assert!(!diff.contains(token), "the diff shows the token");
    let checklist = String::from_utf8(dry.stderr).unwrap();
    assert!(checklist.contains("Revoke the token"), "{checklist}");
    assert_eq!(
        std::fs::read_to_string(&npmrc).unwrap(),
        content,
        "a dry run wrote"
    );
    // --rule limits what is fixed.
    let other = run(&[".", "--rule", "bunfig-literal-auth"]);
    assert!(other.stdout.is_empty());
    let applied = run(&[".", "--apply"]);
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(&npmrc).unwrap(),
        "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n"
    );
    let mode = std::fs::metadata(&npmrc).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640, "the file's mode changed");
    let again = run(&["."]);
    assert_eq!(again.status.code(), Some(0));
    assert!(again.stdout.is_empty(), "second run printed a diff");
}

#[test]
fn golden_overexposed_token_moves_to_the_steps_that_read_it() {
    insta::assert_snapshot!(diff_of(
        ".github/workflows/release.yml",
        "on: push\npermissions:\n  contents: read\nenv:\n  CI: true\n  NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }} # publish token\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n      - uses: some-org/lint-action@v1\n      - name: test\n        env:\n          FORCE_COLOR: 1\n        run: npm ci && npm test\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n      - uses: some-org/changelog-action@v1\n      - run: npm publish\n"
    ));
}

#[test]
fn golden_workflow_trusted_publishing_semantic_release() {
    // No permissions anywhere (the repository default), an old literal
    // Node, no registry-url; semantic-release pushes tags with git, so the
    // checkout keeps its credentials and says why.
    insta::assert_snapshot!(diff_of(
        ".github/workflows/release.yml",
        "name: release\non:\n  push:\n    branches: [main]\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n        with:\n          fetch-depth: 0\n      - uses: actions/setup-node@v4\n        with:\n          node-version: \"20\" # LTS\n      - run: npm ci\n      - name: Release\n        env:\n          GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n        run: npx semantic-release\n"
    ));
}

#[test]
fn golden_workflow_trusted_publishing_matrix_and_no_setup_node() {
    // Job scopes kept and extended; a matrix Node gets an npm upgrade step;
    // a job without setup-node gets one before the publish.
    insta::assert_snapshot!(diff_of(
        ".github/workflows/publish.yml",
        "on:\n  release:\n    types: [published]\npermissions:\n  contents: read\njobs:\n  npm:\n    runs-on: ubuntu-latest\n    strategy:\n      matrix:\n        node: [\"${{ vars.NODE }}\"]\n    permissions:\n      contents: write # release assets\n    steps:\n      - uses: actions/checkout@v5\n      - uses: actions/setup-node@v4\n        with:\n          node-version: ${{ matrix.node }}\n          registry-url: https://registry.npmjs.org\n      - run: npm ci && npm run build\n      - run: npm publish --provenance --access public\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n          FORCE_COLOR: 1\n  plain:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n        with: { fetch-depth: 1 }\n      - run: npm ci\n      # publish\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n"
    ));
}

#[test]
fn trusted_publishing_refusals_say_why() {
    let out = diff_of(
        ".github/workflows/release.yml",
        "on: push\npermissions: read-all\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n  b:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - run: npm publish && npm dist-tag add pkg@1.0.0 next\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n  c:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - run: npm publish --//registry.npmjs.org/:_authToken=$NODE_AUTH_TOKEN\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n  d:\n    runs-on: ubuntu-latest\n    permissions:\n      contents: read\n    steps:\n      - run: |\n          if [ -n \"$X\" ]; then\n            echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > ~/.npmrc\n          fi\n          npm publish\n        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    assert!(out.contains("empty shell block"), "{out}");
    assert!(!out.contains("+++"), "{out}");
    assert!(out.contains("`read-all`"), "{out}");
    assert!(out.contains("npm dist-tag"), "{out}");
    assert!(out.contains("$NODE_AUTH_TOKEN by name"), "{out}");
}

#[test]
fn golden_dockerfile_token_becomes_a_build_secret() {
    insta::assert_snapshot!(diff_of(
        "Dockerfile",
        "# build\nFROM node:24 AS build\nARG NPM_TOKEN\nWORKDIR /app\nCOPY package.json package-lock.json .npmrc ./\nRUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && \\\n    npm ci\nRUN rm -f .npmrc\nCOPY . .\nRUN npm run build\n\nFROM node:24-slim\nENV NODE_AUTH_TOKEN=${NODE_AUTH_TOKEN}\nWORKDIR /app\nCOPY --from=build /app/dist ./dist\nRUN npm ci --omit=dev\nCMD [\"node\", \"dist/index.js\"]\n"
    ));
}

#[test]
fn dockerfile_refusals_say_why() {
    let out = diff_of(
        "Dockerfile",
        "FROM node:24\nARG NPM_TOKEN\nUSER node\nRUN npm ci\n",
    );
    assert!(out.contains("USER node"), "{out}");
    let out = diff_of(
        "Dockerfile",
        "FROM node:24\nARG NPM_TOKEN\nRUN curl -H \"Authorization: Bearer $NPM_TOKEN\" https://npm.example.com/x.tgz -o x.tgz\n",
    );
    assert!(out.contains("uses $NPM_TOKEN by name"), "{out}");
    assert!(!out.contains("+++"), "{out}");
    // A copied npm config may read the variable: removing it would stop npm.
    let out = diff_of(
        "Dockerfile",
        "FROM node:24\nARG NPM_TOKEN\nCOPY .npmrc-ci .npmrc\nRUN npm ci\n",
    );
    assert!(out.contains("copies an npm config file"), "{out}");
    assert!(!out.contains("+++"), "{out}");
}

#[test]
fn fix_help_lists_only_the_flags_fix_takes() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_npmsweep"))
            .arg("fix")
            .args(args)
            .output()
            .unwrap()
    };
    let help = String::from_utf8(run(&["--help"]).stdout).unwrap();
    let refused = [
        "--stdin-path",
        "--staged",
        "--repos",
        "--shard",
        "--format",
        "--output",
        "--json-output",
        "--sarif-output",
        "--sarif-category",
        "--fail-on",
        "--quiet",
        "--color",
        "--show-suppressed",
        "--verify",
        "--only-verified",
        "--verify-timeout",
        "--verify-deadline",
        "--verify-per-host",
    ];
    // An option line starts with the flag (or `-x, ` and the flag).
    let options: Vec<&str> = help
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with('-'))
        .map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("--"))
                .unwrap_or("")
        })
        .collect();
    for taken in [
        "--apply",
        "--rule",
        "--no-ignore",
        "--config",
        "--show-secrets",
    ] {
        assert!(options.contains(&taken), "{taken} missing:\n{help}");
    }
    for flag in refused {
        assert!(!options.contains(&flag), "{flag} listed:\n{help}");
    }
    // Each is refused with a clear error, before anything is scanned.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().to_str().unwrap();
    for (flag, value) in [
        ("--format", Some("json")),
        ("--staged", None),
        ("--quiet", None),
        ("--verify-timeout", Some("3")),
        ("--repos", Some("list.txt")),
    ] {
        let mut args = vec![flag];
        args.extend(value);
        args.push(path);
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.contains(&format!("{flag} is for scan")),
            "{flag}: {err}"
        );
    }
}

#[test]
fn golden_workflow_trusted_publishing_written_npmrc() {
    // The token written into ~/.npmrc: the writing lines go (the whole
    // step when nothing else is left in it), with the env entries only they
    // read.
    insta::assert_snapshot!(diff_of(
        ".github/workflows/release.yml",
        "on:\n  push:\n    tags: [\"v*\"]\npermissions:\n  contents: read\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v5\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 24\n      - name: npm auth\n        run: |\n          echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > ~/.npmrc\n        env:\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n      - run: npm ci\n      - name: Publish\n        run: |\n          if [ \"$CHANNEL\" = beta ]; then\n            echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" >> ~/.npmrc\n            npm publish --tag beta\n          else\n            echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" >> ~/.npmrc\n            npm publish\n          fi\n        env:\n          CHANNEL: latest\n          NPM_TOKEN: ${{ secrets.NPM_TOKEN }}\n"
    ));
}

#[test]
fn trusted_publishing_converts_every_publish_of_the_job_at_once() {
    // Two publishing steps in one job: converting one alone would leave
    // the other's token next to `id-token: write` (gha-npm-token-with-oidc).
    let out = diff_of(
        ".github/workflows/release.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    environment: npm\n    steps:\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 24\n          registry-url: https://registry.npmjs.org\n      - run: npm publish -w packages/a\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n      - run: npm publish -w packages/b\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    assert!(!out.contains("not fixed"), "{out}");
    assert_eq!(
        out.matches("-          NODE_AUTH_TOKEN").count(),
        2,
        "{out}"
    );
    assert_eq!(out.matches("+      id-token: write").count(), 1, "{out}");
}

#[test]
fn trusted_publishing_upgrades_npm_to_the_policy_version() {
    let out = diff_of(
        ".github/workflows/release.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  publish:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/setup-node@v4\n        with:\n          node-version-file: .nvmrc\n          registry-url: https://registry.npmjs.org\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    );
    let policy = npmsweep::rules::Policy::global();
    let want = format!(
        "+        run: npm install -g npm@^{}\n",
        policy.value("npm_stage_version")
    );
    assert!(out.contains(&want), "{out}");
    assert!(!out.contains("npm@latest"), "{out}");
}

#[test]
fn dockerfile_write_use_delete_run_keeps_only_the_install() {
    let out = diff_of(
        "Dockerfile",
        "FROM node:24\nARG NPM_TOKEN\nCOPY package*.json ./\nRUN echo \"//registry.npmjs.org/:_authToken=$NPM_TOKEN\" > .npmrc && \\\n  npm ci --omit=dev && \\\n  rm -f .npmrc\n",
    );
    assert!(
        out.contains("+RUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci --omit=dev\n"),
        "{out}"
    );
    assert!(!out.contains("not fixed"), "{out}");
}
