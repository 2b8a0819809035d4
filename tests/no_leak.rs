//! No secret in any output: every example of every rule goes through every
//! output format (human, JSON, SARIF, GitHub; `scan` in process and
//! `history` through the binary), and a token planted in every place whose
//! text npmsweep copies into messages and details (user names, hosts, keys,
//! variable names, suppression reasons, file names, commit authors and
//! summaries, branch names) must appear nowhere. Only `--show-secrets`
//! prints a secret, and a positive control proves the check can fail.

mod support {
    pub mod cli;
}
use support::cli::git_as;

use base64::Engine;
use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::{Origin, sort_findings};
use npmsweep::report::{self, Format, ReportOptions};
use npmsweep::rules::{Example, Registry, expand_templates, synthetic_uuid};
use npmsweep::scan::{Report, detect_item};
use npmsweep::source::SourceStats;
use npmsweep::token::{fake_invalid_token, fake_token};
use std::process::Command;

const FORMATS: [(Format, &str); 4] = [
    (Format::Human, "human"),
    (Format::Json, "json"),
    (Format::Sarif, "sarif"),
    (Format::Github, "github"),
];

/// Every secret value the rule templates plant, and the password inside the
/// `_auth` / `_password` examples.
fn template_secrets() -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let auth = expand_templates("{{b64_auth}}");
    let decoded = String::from_utf8(b64.decode(&auth).unwrap()).unwrap();
    let password = decoded.split_once(':').unwrap().1.to_string();
    let mut secrets: Vec<String> = [
        "{{npm_token}}",
        "{{npm_token_2}}",
        "{{npm_token_invalid}}",
        "{{ghp_token}}",
        "{{uuid}}",
        "{{jwt}}",
        "{{b64_auth}}",
        "{{b64_password}}",
        "{{password}}",
    ]
    .iter()
    .map(|t| expand_templates(t))
    .collect();
    secrets.push(password);
    // The JWT's signature and payload segments on their own.
    let jwt = expand_templates("{{jwt}}");
    secrets.extend(jwt.split('.').skip(1).map(str::to_string));
    secrets
}

fn options(example: &Example) -> DetectOptions {
    DetectOptions {
        include_invalid_tokens: example
            .options
            .iter()
            .any(|o| o == "include-invalid-tokens"),
        ..DetectOptions::default()
    }
}

fn report_for(path: &str, content: &str, opts: &DetectOptions) -> Report {
    let item = Item {
        path,
        bytes: content.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    let d = detect_item(&item, opts);
    let mut findings = d.findings;
    sort_findings(&mut findings);
    let mut stats = SourceStats {
        items: 1,
        bytes: content.len() as u64,
        warnings: d.warnings,
        ..SourceStats::default()
    };
    stats.settle();
    Report {
        command: "scan".into(),
        findings,
        stats,
        elapsed: std::time::Duration::ZERO,
        repository: None,
        readiness: npmsweep::readiness::Readiness::new(d.publish_paths),
    }
}

/// Every format's bytes for a report, secrets hidden (colour on, to cover
/// the styled path; suppressed findings listed).
fn render_all(report: &Report, show_secrets: bool) -> Vec<(&'static str, String)> {
    FORMATS
        .iter()
        .map(|(format, name)| {
            let opts = ReportOptions {
                show_secrets,
                color: true,
                show_suppressed: true,
                quiet: false,
                sarif_category: None,
            };
            let mut out = Vec::new();
            report::write(*format, report, &opts, &mut out).unwrap();
            (*name, String::from_utf8_lossy(&out).into_owned())
        })
        .collect()
}

fn leaks<'a>(text: &str, secrets: &'a [String]) -> Vec<&'a str> {
    secrets
        .iter()
        .filter(|s| s.len() >= 6 && text.contains(s.as_str()))
        .map(String::as_str)
        .collect()
}

fn all_examples() -> Vec<(String, &'static Example)> {
    let mut out = Vec::new();
    for rule in Registry::global().all() {
        for (i, e) in rule.examples.iter().enumerate() {
            out.push((format!("{} example #{i}", rule.id), e));
        }
        for (i, e) in rule.negative_examples.iter().enumerate() {
            out.push((format!("{} negative #{i}", rule.id), e));
        }
    }
    out
}

#[test]
fn every_rule_example_in_every_format_leaks_nothing() {
    let secrets = template_secrets();
    let mut failures = Vec::new();
    let mut findings_seen = 0;
    for (name, example) in all_examples() {
        let content = expand_templates(&example.content);
        let report = report_for(&example.path, &content, &options(example));
        findings_seen += report.findings.len();
        for (format, text) in render_all(&report, false) {
            let leaked = leaks(&text, &secrets);
            if !leaked.is_empty() {
                failures.push(format!("{name} ({format}): {leaked:?}\n{text}"));
            }
        }
    }
    assert!(findings_seen > 50, "only {findings_seen} findings");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn show_secrets_is_the_only_way_and_the_check_can_fail() {
    let secrets = template_secrets();
    let report = report_for(
        ".npmrc",
        &expand_templates("//registry.npmjs.org/:_authToken={{npm_token}}\n"),
        &DetectOptions::default(),
    );
    let shown = render_all(&report, true);
    let human = &shown.iter().find(|(f, _)| *f == "human").unwrap().1;
    assert!(!leaks(human, &secrets).is_empty(), "{human}");
    // SARIF ignores --show-secrets.
    let sarif = &shown.iter().find(|(f, _)| *f == "sarif").unwrap().1;
    assert!(leaks(sarif, &secrets).is_empty(), "{sarif}");
}

/// A planted value per shape a credential takes: a checksum-valid npm
/// token and a UUID (legacy token).
fn plants() -> Vec<String> {
    vec![fake_token("npm_", 9001), synthetic_uuid(9002)]
}

/// Put `plant` into one input-derived place of an (expanded) example.
/// Returns `None` when the example has no such place.
fn plant_into(place: &str, content: &str, line: Option<usize>, plant: &str) -> Option<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let replaced = |from: &str, to: &str| content.contains(from).then(|| content.replace(from, to));
    match place {
        "user name" => {
            let auth = expand_templates("{{b64_auth}}");
            if content.contains(&auth) {
                let decoded = String::from_utf8(b64.decode(&auth).unwrap()).unwrap();
                let (_, password) = decoded.split_once(':').unwrap();
                return Some(content.replace(&auth, &b64.encode(format!("{plant}:{password}"))));
            }
            replaced("ci-bot", plant)
        }
        "host" => replaced("registry.example.com", &format!("{plant}.example.com"))
            .or_else(|| replaced("registry.npmjs.org", &format!("{plant}.npmjs.org"))),
        "key" => replaced(":_authToken", &format!(":_authToken_{plant}"))
            .or_else(|| replaced("npmAuthToken", &format!("npmAuthToken{plant}"))),
        "variable name" => replaced("NPM_TOKEN", &format!("NPM_TOKEN_{plant}"))
            .or_else(|| replaced("NODE_AUTH_TOKEN", &format!("NODE_AUTH_TOKEN_{plant}"))),
        "expression literal" => {
            replaced("secrets.NPM_TOKEN", &format!("format('{{0}}', '{plant}')"))
        }
        "file name" => replaced("~/.npmrc", &format!("~/{plant}/.npmrc"))
            .or_else(|| replaced("$HOME/.npmrc", &format!("$HOME/{plant}/.npmrc")))
            .or_else(|| replaced("COPY .npmrc", &format!("COPY {plant}.npmrc"))),
        "suppression reason" => {
            let line = line?;
            let mut lines: Vec<&str> = content.split('\n').collect();
            let comment = format!("# npmsweep:ignore accepted for now {plant}");
            lines.insert(line - 1, &comment);
            Some(lines.join("\n"))
        }
        _ => unreachable!(),
    }
}

#[test]
fn a_token_planted_in_every_input_derived_place_appears_nowhere() {
    let places = [
        "user name",
        "host",
        "key",
        "variable name",
        "expression literal",
        "file name",
        "suppression reason",
    ];
    let mut secrets = template_secrets();
    secrets.extend(plants());
    let mut failures = Vec::new();
    let mut exercised = std::collections::BTreeMap::<&str, usize>::new();
    // Each (example, place) gets one of the planted shapes, alternating, so
    // every shape meets every place across the examples at half the cost.
    let plants = plants();
    for (i, (name, example)) in all_examples().into_iter().enumerate() {
        let content = expand_templates(&example.content);
        for (j, place) in places.into_iter().enumerate() {
            let plant = &plants[(i + j) % plants.len()];
            let Some(planted) = plant_into(place, &content, example.line, plant) else {
                continue;
            };
            let report = report_for(&example.path, &planted, &options(example));
            if report.findings.is_empty() {
                continue;
            }
            *exercised.entry(place).or_default() += 1;
            for (format, text) in render_all(&report, false) {
                let leaked = leaks(&text, &secrets);
                if !leaked.is_empty() {
                    failures.push(format!("{name}, {place} ({format}): {leaked:?}\n{text}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for place in places {
        assert!(
            exercised.get(place).copied().unwrap_or(0) > 0,
            "no example exercised {place}: {exercised:?}"
        );
    }
}

/// `history` through the binary: one commit per positive example, each with
/// a planted token in the author name and the summary, and a branch named
/// after one; every format, standard output and standard error.
#[test]
fn history_of_every_example_in_every_format_leaks_nothing() {
    let dir = tempfile::TempDir::new().unwrap();
    let repo = dir.path();
    git_as(repo, &["init", "-q"], "x");
    let plant = fake_token("npm_", 9003);
    let uuid_plant = synthetic_uuid(9004);
    let mut secrets = template_secrets();
    secrets.push(plant.clone());
    secrets.push(uuid_plant.clone());
    secrets.push(fake_invalid_token(3));
    for (i, rule) in Registry::global().all().enumerate() {
        for example in &rule.examples {
            let path = repo.join(&example.path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, expand_templates(&example.content)).unwrap();
        }
        git_as(repo, &["add", "-A"], "x");
        git_as(
            repo,
            &[
                "commit",
                "-q",
                "-m",
                &format!("add {} config with {plant} and {uuid_plant}", rule.id),
            ],
            &format!("Dev {plant} {i}"),
        );
    }
    git_as(repo, &["branch", &format!("leak-{uuid_plant}")], "x");
    let mut found = 0;
    for (_, format) in FORMATS {
        let out = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
            .args(["history", ".", "--show-suppressed", "--format", format])
            .current_dir(repo)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let text = format!(
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        found += text.len();
        let leaked = leaks(&text, &secrets);
        assert!(
            leaked.is_empty(),
            "history --format {format}: {leaked:?}\n{text}"
        );
    }
    assert!(found > 1000);
    // Positive control: the same check sees a secret when one is printed.
    let out = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(["history", ".", "--show-secrets", "--format", "json"])
        .current_dir(repo)
        .output()
        .unwrap();
    assert!(!leaks(&String::from_utf8_lossy(&out.stdout), &secrets).is_empty());
}

/// A file, a directory, an archive member and a workflow named after a token:
/// the path is where the finding is, and every format prints it with the
/// token redacted (standard error and the job summary too). Only
/// `--show-secrets` prints it in full.
#[test]
fn a_token_in_a_path_appears_nowhere_in_any_format() {
    let dir = tempfile::TempDir::new().unwrap();
    let root = dir.path();
    let plant = fake_token("npm_", 9101);
    let secret = fake_token("npm_", 9102);
    let named = root.join(format!("d{plant}"));
    std::fs::create_dir_all(&named).unwrap();
    std::fs::write(named.join(format!("{plant}.txt")), format!("x={secret}\n")).unwrap();
    let workflows = root.join(".github/workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    std::fs::write(
        workflows.join(format!("r{plant}.yml")),
        "on: push\njobs:\n  release:\n    runs-on: ubuntu-latest\n    steps:\n      - run: npm publish\n        env:\n          NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}\n",
    )
    .unwrap();
    let member = format!("package/{plant}.npmrc");
    let line = format!("//registry.npmjs.org/:_authToken={secret}\n");
    let mut tgz = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::fast(),
    ));
    let mut header = tar::Header::new_gnu();
    header.set_size(line.len() as u64);
    header.set_mode(0o644);
    tgz.append_data(&mut header, &member, line.as_bytes())
        .unwrap();
    std::fs::write(
        root.join("pkg.tgz"),
        tgz.into_inner().unwrap().finish().unwrap(),
    )
    .unwrap();
    let summary = root.join("summary.md");
    let secrets = vec![plant.clone(), secret.clone()];
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
            .args(["scan", "."])
            .args(args)
            .current_dir(root)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        format!(
            "{}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            std::fs::read_to_string(&summary).unwrap_or_default()
        )
    };
    for format in ["human", "json", "jsonl", "sarif", "github"] {
        let text = run(&["--format", format]);
        assert!(text.contains("pkg.tgz"), "{format}: {text}");
        assert!(text.contains(".yml"), "{format}: {text}");
        // The names are findings themselves, reported redacted.
        assert!(text.contains("npm-token-in-path"), "{format}: {text}");
        if format == "github" {
            // An annotation never names a file that does not exist.
            for line in text.lines() {
                if let Some((_, rest)) = line.split_once("file=") {
                    let file = rest.split(',').next().unwrap_or("");
                    assert!(!file.contains('…'), "{line}");
                }
            }
        }
        let leaked = leaks(&text, &secrets);
        assert!(
            leaked.is_empty(),
            "scan --format {format}: {leaked:?}\n{text}"
        );
    }
    // A baseline is committed: its informational paths are redacted too.
    let baseline = root.join("baseline.json");
    let out = Command::new(env!("CARGO_BIN_EXE_npmsweep"))
        .args(["baseline", ".", "-o"])
        .arg(&baseline)
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let written = std::fs::read_to_string(&baseline).unwrap();
    assert!(written.contains("pkg.tgz"), "{written}");
    assert!(leaks(&written, &secrets).is_empty(), "{written}");
    // Positive control: --show-secrets prints paths (and secrets) in full.
    assert!(run(&["--show-secrets", "--format", "json"]).contains(&plant));
}
