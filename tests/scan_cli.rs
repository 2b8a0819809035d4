//! End-to-end tests of `npmsweep scan`: the binary runs on trees built in
//! temporary directories. Tokens are generated at run time.

mod support {
    pub mod cli;
}
use support::cli::{git, json, npmsweep, write};

use npmsweep::rules::expand_templates;
use npmsweep::token::fake_token;

fn rule_ids(doc: &serde_json::Value) -> Vec<String> {
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn clean_tree_exits_zero_and_findings_exit_one() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".npmrc",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n",
    );
    write(
        dir.path(),
        "src/index.js",
        "console.log(process.env.npm_config_user_agent)\n",
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert_eq!(json(&out)["summary"]["total"], 0);

    write(
        dir.path(),
        "config/ci.js",
        format!("const t = '{}'\n", fake_token("npm_", 7)),
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out);
    assert_eq!(rule_ids(&doc), vec!["npm-token"]);
    assert_eq!(doc["findings"][0]["path"], "config/ci.js");
    assert_eq!(doc["findings"][0]["start_line"], 1);
    assert_eq!(doc["findings"][0]["start_column"], 12);
    assert_eq!(doc["findings"][0]["end_column"], 52);
}

#[test]
fn fail_on_threshold_and_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), ".env", expand_templates("NPM_TOKEN={{uuid}}\n"));
    // Only a high finding: failing on critical passes.
    let out = npmsweep(&["scan", ".", "--fail-on", "critical"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let out = npmsweep(&["scan", ".", "--fail-on", "high"], dir.path());
    assert_eq!(out.status.code(), Some(1));
    let out = npmsweep(&["scan", ".", "--fail-on", "severe"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = npmsweep(&["scan", "--no-such-flag"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = npmsweep(&["explain", "no-such-rule"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no rule"));
    // The same root given twice is scanned once.
    let out = npmsweep(&["scan", ".", "./", "--format", "json"], dir.path());
    assert_eq!(json(&out)["summary"]["total"], 1);
    // A mistyped path is an error, not a clean scan.
    for args in [&["scan", "no-such-dir"][..], &["scan", ".", "no-such-dir"]] {
        let out = npmsweep(args, dir.path());
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-dir: cannot scan"));
    }
}

#[test]
fn control_characters_in_file_names_are_escaped_in_the_human_report() {
    let dir = tempfile::tempdir().unwrap();
    let line = expand_templates("NPM_TOKEN={{uuid}}\n");
    write(dir.path(), "x\u{1b}[31mred/.env", &line);
    write(dir.path(), "a\nb/.env", &line);
    let out = npmsweep(&["scan", "."], dir.path());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains('\u{1b}'), "{stdout}");
    assert!(stdout.contains("x\\u{1b}[31mred/.env"), "{stdout}");
    assert!(stdout.contains("a\\nb/.env"), "{stdout}");
}

#[test]
fn package_json_scripts_are_scanned_like_shell_scripts() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "package.json",
        expand_templates(
            "{\n  \"scripts\": {\n    \"release\": \"npm publish --//registry.npmjs.org/:_authToken={{uuid}}\",\n    \"ci\": \"NPM_TOKEN={{uuid}} npm ci\",\n    \"env\": \"echo $npm_config_registry ${NPM_TOKEN}\"\n  }\n}\n",
        ),
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let doc = json(&out);
    let found: Vec<(String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        found,
        vec![
            // The publish itself: a long-lived token that stops publishing in 2027.
            ("script-npm-token-publish".to_string(), 3),
            ("npmrc-literal-auth-token".to_string(), 3),
            ("npm-legacy-token".to_string(), 4)
        ]
    );
}

#[test]
fn utf16_files_with_a_byte_order_mark_are_decoded() {
    let dir = tempfile::tempdir().unwrap();
    // What Windows PowerShell 5 writes for `echo "…" > .npmrc`.
    let text = expand_templates(
        "//registry.npmjs.org/:_authToken={{uuid}}\r\n//r.example.com/:_authToken={{npm_token}}\r\n",
    );
    let mut le = vec![0xFF, 0xFE];
    le.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    write(dir.path(), ".npmrc", &le);
    let mut be = vec![0xFE, 0xFF];
    be.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    write(dir.path(), "notes.txt", &be);
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let doc = json(&out);
    let found: Vec<(String, String, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["rule_id"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
                f["start_column"].as_u64().unwrap(),
            )
        })
        .collect();
    let want = |p: &str, r: &str, l, c| (p.to_string(), r.to_string(), l, c);
    assert_eq!(
        found,
        vec![
            want(".npmrc", "npmrc-literal-auth-token", 1, 34),
            want(".npmrc", "npm-token", 2, 29),
            want("notes.txt", "npm-token", 2, 29),
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn env_files_with_latin1_bytes_and_envrc_keep_exact_spans() {
    let dir = tempfile::tempdir().unwrap();
    let line = expand_templates("NPM_TOKEN={{uuid}}\n");
    let mut latin1 = b"# \xdcbersicht \xe9\xe9\n".to_vec();
    latin1.extend_from_slice(line.as_bytes());
    write(dir.path(), ".env", &latin1);
    write(dir.path(), ".envrc", format!("export {line}"));
    let mut npmrc = b"; Registry f\xfcr CI\n".to_vec();
    npmrc.extend_from_slice(expand_templates("//r.example.com/:_authToken={{uuid}}\n").as_bytes());
    write(dir.path(), "n/.npmrc", &npmrc);
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let doc = json(&out);
    let spans: Vec<(String, u64, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
                f["start_column"].as_u64().unwrap(),
                f["end_column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        spans,
        vec![
            (".env".to_string(), 2, 11, 47),
            (".envrc".to_string(), 1, 18, 54),
            ("n/.npmrc".to_string(), 2, 29, 65),
        ],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn secrets_are_redacted_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let token = fake_token("npm_", 11);
    let planted = expand_templates(
        "//registry.npmjs.org/:_authToken={{uuid}}\n//npm.pkg.github.com/:_authToken={{ghp_token}}\n_auth={{b64_auth}}\n",
    );
    write(dir.path(), ".npmrc", &planted);
    write(dir.path(), "a.txt", format!("x {token} y\n"));
    let secrets: Vec<String> = vec![
        token.clone(),
        expand_templates("{{uuid}}"),
        expand_templates("{{ghp_token}}"),
        expand_templates("{{b64_auth}}"),
        expand_templates("{{password}}"),
    ];
    for format in ["human", "json"] {
        let out = npmsweep(&["scan", ".", "--format", format], dir.path());
        assert_eq!(out.status.code(), Some(1));
        let all = [out.stdout.clone(), out.stderr.clone()].concat();
        let text = String::from_utf8_lossy(&all);
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "{format} output leaks a secret:\n{text}"
            );
        }
        assert!(text.contains("npm_"), "{format}: preview keeps the prefix");
    }
    let out = npmsweep(
        &["scan", ".", "--format", "json", "--show-secrets"],
        dir.path(),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&token), "--show-secrets prints the token");
    // The user name of an _auth value is reported, the password never.
    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], dir.path()));
    let basic = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule_id"] == "npmrc-basic-auth")
        .unwrap();
    assert_eq!(basic["details"]["username"], "ci-bot");
}

#[test]
fn output_is_deterministic_and_sorted() {
    let dir = tempfile::tempdir().unwrap();
    for i in 0..30 {
        write(
            dir.path(),
            &format!("pkg{}/f{i}.js", i % 5),
            format!("a\nconst t = '{}';\n", fake_token("npm_", 100 + i)),
        );
    }
    let a = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let b = npmsweep(&["scan", ".", "--format", "json", "-j", "1"], dir.path());
    assert_eq!(a.stdout, b.stdout);
    let doc = json(&a);
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted);
    assert_eq!(paths.len(), 30);
}

#[test]
fn output_file_option_writes_there() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "x.js", fake_token("npm_", 3));
    let out = npmsweep(
        &["scan", "x.js", "--format", "json", "--output", "r.json"],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(doc["findings"][0]["path"], "x.js");
}

#[test]
fn hidden_files_are_scanned_git_dir_is_not_and_ignores_are_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    git(root, &["init", "-q"]);
    write(root, ".gitignore", "ignored/\nsecret.log\n");
    write(
        root,
        ".config/.env.local",
        format!("T={}\n", fake_token("npm_", 21)),
    );
    write(root, "ignored/a.js", fake_token("npm_", 22));
    // Tracked although ignored: committed is committed.
    write(root, "secret.log", fake_token("npm_", 23));
    git(
        root,
        &[
            "add",
            "-f",
            "secret.log",
            ".config/.env.local",
            ".gitignore",
        ],
    );
    // Content inside .git is never scanned.
    write(root, ".git/leak.txt", fake_token("npm_", 24));

    let doc = json(&npmsweep(&["scan", ".", "--format", "json"], root));
    let mut paths: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(paths, vec![".config/.env.local", "secret.log"]);

    let doc = json(&npmsweep(
        &["scan", ".", "--format", "json", "--no-ignore"],
        root,
    ));
    let mut paths: Vec<String> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![".config/.env.local", "ignored/a.js", "secret.log"]
    );
}

#[test]
fn bad_input_is_a_warning_and_the_scan_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let token = fake_token("npm_", 31);
    // Binary file with a token inside: still found.
    let mut bin = vec![0u8, 1, 2, 3, 0, 255];
    bin.extend_from_slice(token.as_bytes());
    bin.extend_from_slice(&[0, 0, 9]);
    write(root, "dist/app.bin", &bin);
    // Invalid UTF-8 in an .npmrc that also holds a token.
    let mut npmrc = b"\xff\xfe bad\n//registry.npmjs.org/:_authToken=".to_vec();
    npmrc.extend_from_slice(fake_token("npm_", 32).as_bytes());
    write(root, "a/.npmrc", &npmrc);
    // Malformed YAML and TOML must not hide literal tokens.
    write(
        root,
        ".yarnrc.yml",
        format!("npmAuthToken: [unclosed\n  x: {}\n", fake_token("npm_", 33)),
    );
    write(
        root,
        "bunfig.toml",
        format!("[install\ntoken = \"{}\"\n", fake_token("npm_", 34)),
    );
    // A file over --max-file-size.
    write(root, "big.txt", vec![b'a'; 5000]);
    // A symlink loop.
    std::os::unix::fs::symlink(root.join("loop"), root.join("loop/inner")).ok();
    std::fs::create_dir_all(root.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("loop/up")).unwrap();
    // An unreadable file (root can read anything, so this part is best effort).
    write(root, "locked.txt", fake_token("npm_", 35));
    let locked = root.join("locked.txt");
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o000);
    std::fs::set_permissions(&locked, perms).unwrap();
    let locked_readable = std::fs::read(&locked).is_ok();

    let out = npmsweep(
        &[
            "scan",
            ".",
            "--format",
            "json",
            "--max-file-size",
            "4096",
            "--follow",
        ],
        root,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc = json(&out);
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for p in ["dist/app.bin", "a/.npmrc", ".yarnrc.yml", "bunfig.toml"] {
        assert!(paths.contains(&p), "{p} not found in {paths:?}");
    }
    assert!(stderr.contains("big.txt: skipped"), "{stderr}");
    assert!(stderr.contains("symlink loop"), "{stderr}");
    assert!(stderr.contains("a/.npmrc: not valid UTF-8"), "{stderr}");
    assert!(stderr.contains(".yarnrc.yml: invalid YAML"), "{stderr}");
    assert!(
        stderr.contains("bunfig.toml: invalid TOML at line"),
        "{stderr}"
    );
    if !locked_readable {
        assert!(stderr.contains("locked.txt: cannot read"), "{stderr}");
    }
    assert!(doc["summary"]["skipped"].as_u64().unwrap() >= 1);
    assert!(!stderr.contains("panicked"));
}

#[test]
fn rules_and_explain_list_every_rule() {
    let dir = tempfile::tempdir().unwrap();
    let out = npmsweep(&["rules"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    for id in [
        "npm-token",
        "npmrc-literal-auth-token",
        "npmrc-basic-auth",
        "yarnrc-literal-auth",
        "bunfig-literal-auth",
        "registry-url-credentials",
        "npm-legacy-token",
    ] {
        assert!(text.contains(id), "{id} missing from `rules`");
        let out = npmsweep(&["explain", id], dir.path());
        assert_eq!(out.status.code(), Some(0));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Remediation"), "{id}");
        assert!(
            text.contains("${NPM") || text.contains("$NPM"),
            "{id}: no env reference advice"
        );
    }
}

#[test]
fn invalid_checksums_are_silent_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docs.md",
        expand_templates("example: {{npm_token_invalid}}\n"),
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    assert_eq!(out.status.code(), Some(0));
    let out = npmsweep(
        &["scan", ".", "--format", "json", "--include-invalid-tokens"],
        dir.path(),
    );
    assert_eq!(rule_ids(&json(&out)), vec!["npm-token-invalid-checksum"]);
}

#[test]
fn paths_are_shown_as_the_root_was_named() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        ".github/workflows/ci.yml",
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ secrets.NPM_TOKEN }} | base64\n",
    );
    write(root, "sub/a.js", fake_token("npm_", 41));
    // A scan of `.github` still sees a workflow: its path keeps `.github/`.
    for arg in [".github", ".github/workflows", "."] {
        let doc = json(&npmsweep(&["scan", arg, "--format", "json"], root));
        let paths: Vec<&str> = doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["path"].as_str().unwrap())
            .filter(|p| p.ends_with(".yml"))
            .collect();
        assert!(
            !paths.is_empty(),
            "scan {arg}: the workflow was not analysed"
        );
        assert!(
            paths.iter().all(|p| *p == ".github/workflows/ci.yml"),
            "{paths:?}"
        );
    }
    let doc = json(&npmsweep(&["scan", "sub", "--format", "json"], root));
    assert_eq!(doc["findings"][0]["path"], "sub/a.js");
    // An absolute root shows paths relative to itself.
    let abs = root.join("sub");
    let doc = json(&npmsweep(
        &["scan", abs.to_str().unwrap(), "--format", "json"],
        root,
    ));
    assert_eq!(doc["findings"][0]["path"], "a.js");
}

#[test]
fn yaml_anchors_and_aliases_are_expanded() {
    // GitHub Actions accepts anchors; a workflow using them is analysed,
    // and a tag (GitLab's `!reference`) does not stop parsing.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "on: push\npermissions:\n  contents: read\njobs:\n  a:\n    runs-on: ubuntu-latest\n    env: &e\n      NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n    steps:\n      - run: npm ci\n  b:\n    runs-on: ubuntu-latest\n    env: *e\n    steps:\n      - run: echo \"$NODE_AUTH_TOKEN\" | base64\n",
    );
    write(
        dir.path(),
        ".gitlab-ci.yml",
        expand_templates(
            ".vars: &vars\n  NPM_TOKEN: \"{{uuid}}\"\npublish:\n  variables: *vars\n  script:\n    - !reference [.setup, script]\n    - npm publish\n",
        ),
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("invalid YAML"), "{stderr}");
    let doc = json(&out);
    let found: Vec<(String, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_string(),
                f["start_line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        found.contains(&("gha-npm-secret-printed".to_string(), 15)),
        "{found:?}"
    );
    // The aliased variables repeat the anchored UUID: one finding, at the anchor.
    let legacy: Vec<_> = found
        .iter()
        .filter(|(r, _)| r == "npm-legacy-token")
        .collect();
    assert_eq!(legacy, vec![&("npm-legacy-token".to_string(), 2)]);
}

#[test]
fn overlapping_roots_and_extensionless_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        ".npmrc",
        expand_templates("//r.example/:_authToken={{uuid}}\n"),
    );
    // A script without an extension is recognised by its shebang; a Python
    // assignment is found wherever it is.
    write(
        root,
        "bin/release",
        expand_templates("#!/usr/bin/env bash\nexport NPM_TOKEN={{uuid}}\nnpm publish\n"),
    );
    write(
        root,
        "bin/notes",
        expand_templates("#!/usr/bin/env python3\nNPM_TOKEN='{{uuid}}'\n"),
    );
    let doc = json(&npmsweep(
        &["scan", "./.npmrc", ".", "--format", "json"],
        root,
    ));
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
    assert_eq!(
        found,
        vec![
            (".npmrc".to_string(), "npmrc-literal-auth-token".to_string()),
            ("bin/notes".to_string(), "npm-legacy-token".to_string()),
            ("bin/release".to_string(), "npm-legacy-token".to_string()),
            // It also publishes with that token (stops working in 2027).
            (
                "bin/release".to_string(),
                "script-npm-token-publish".to_string()
            ),
        ]
    );
}

#[test]
fn every_yaml_document_is_read_and_extra_workflow_documents_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "docker-compose.yml",
        expand_templates(
            "services:\n  a:\n    image: x\n---\nservices:\n  b:\n    environment:\n      NPM_TOKEN: {{uuid}}\n",
        ),
    );
    write(
        dir.path(),
        ".github/workflows/ci.yml",
        "on: push\njobs: {}\n---\non: push\n",
    );
    let out = npmsweep(&["scan", ".", "--format", "json"], dir.path());
    let doc = json(&out);
    assert_eq!(doc["findings"][0]["rule_id"], "npm-legacy-token");
    assert_eq!(doc["findings"][0]["start_line"], 8);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(".github/workflows/ci.yml: 2 YAML documents; only the first is analysed"),
        "{stderr}"
    );
}
