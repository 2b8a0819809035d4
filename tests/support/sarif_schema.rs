//! Checks every SARIF log the tests produce must pass: the official SARIF
//! 2.1.0 JSON schema, and the constraints GitHub code scanning enforces on
//! upload (required fields and limits).
//!
//! The schema is not copied into this repository: the `serde-sarif` crate
//! ships it in its sources (`src/schema.json`, the schema its types are
//! generated from), and `cargo metadata` says where that crate lives, so a
//! fresh checkout's `cargo test` finds it without a download.

#![allow(dead_code)] // each test binary uses a different subset

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Where `serde-sarif`'s copy of the SARIF 2.1.0 schema is on this machine.
pub fn schema_path() -> PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let manifest = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");
    let out = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--manifest-path",
            manifest,
        ])
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let manifest_path = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .find(|p| p["name"] == "serde-sarif")
        .and_then(|p| p["manifest_path"].as_str())
        .expect("serde-sarif is a dependency");
    let path = PathBuf::from(manifest_path)
        .parent()
        .expect("crate directory")
        .join("src/schema.json");
    assert!(path.is_file(), "no SARIF schema at {}", path.display());
    path
}

fn validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let text = std::fs::read_to_string(schema_path()).expect("read SARIF schema");
        let mut schema: Value = serde_json::from_str(&text).expect("SARIF schema is JSON");
        fix_language_pattern(&mut schema);
        assert_eq!(
            schema["title"], "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema",
            "unexpected schema file"
        );
        jsonschema::draft7::options()
            // `uri` and `uri-reference` formats catch unencoded paths.
            .should_validate_formats(true)
            .build(&schema)
            .expect("SARIF schema compiles")
    })
}

/// The pre-errata schema that `serde-sarif` ships writes the `language`
/// pattern as `^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$`: a stray `]` that an
/// ECMA-262 regex check (which JSON Schema prescribes) rejects, so the schema
/// would not compile. The SARIF 2.1.0 errata schema (the copy inside
/// Microsoft's SARIF multitool) spells it `^[a-zA-Z]{2}(-[a-zA-Z]{2})?$`; use
/// that. npmsweep never writes `language`, so this changes nothing we test.
fn fix_language_pattern(node: &mut Value) {
    const BROKEN: &str = "^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$";
    const ERRATA: &str = "^[a-zA-Z]{2}(-[a-zA-Z]{2})?$";
    match node {
        Value::Object(map) => {
            if map.get("pattern").and_then(Value::as_str) == Some(BROKEN) {
                map.insert("pattern".into(), Value::from(ERRATA));
            }
            map.values_mut().for_each(fix_language_pattern);
        }
        Value::Array(items) => items.iter_mut().for_each(fix_language_pattern),
        _ => {}
    }
}

/// Panic with every schema violation if `log` is not valid SARIF 2.1.0.
pub fn assert_schema_valid(log: &Value) {
    let errors: Vec<String> = validator()
        .iter_errors(log)
        .take(20)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF schema violations:\n{}",
        errors.join("\n")
    );
}

// GitHub's limits ("SARIF results exceed limits" in GitHub's docs).
pub const GH_MAX_RUNS: usize = 20;
pub const GH_MAX_RESULTS_PER_RUN: usize = 25_000;
pub const GH_MAX_RULES_PER_RUN: usize = 25_000;
pub const GH_MAX_LOCATIONS_PER_RESULT: usize = 1_000;
pub const GH_MAX_TAGS_PER_RULE: usize = 20;
pub const GH_MAX_GZIP_BYTES: usize = 10 * 1024 * 1024;

/// Panic unless `log` meets what GitHub code scanning requires of an upload:
/// the required properties of its SARIF support table and the multitool's
/// GH rules, and the documented limits.
pub fn assert_github_acceptable(raw: &[u8]) {
    let log: Value = serde_json::from_slice(raw).expect("SARIF is JSON");
    assert_eq!(log["version"], "2.1.0");
    assert!(
        log["$schema"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://"))
    );
    let runs = log["runs"].as_array().expect("runs");
    assert!(!runs.is_empty() && runs.len() <= GH_MAX_RUNS);
    let mut categories = std::collections::HashSet::new();
    for run in runs {
        let id = run["automationDetails"]["id"]
            .as_str()
            .expect("automationDetails.id");
        assert!(
            categories.insert(id.to_string()),
            "two runs share category {id}"
        );
        assert!(run["originalUriBaseIds"]["%SRCROOT%"].is_object());
        assert!(run["columnKind"].is_string());
        assert!(run["invocations"][0]["executionSuccessful"].is_boolean());

        let driver = &run["tool"]["driver"];
        assert!(driver["name"].as_str().is_some_and(|n| !n.is_empty()));
        let rules = driver["rules"].as_array().expect("tool.driver.rules");
        assert!(rules.len() <= GH_MAX_RULES_PER_RUN);
        for rule in rules {
            check_rule(rule);
        }

        let results = run["results"].as_array().expect("results (may be empty)");
        assert!(
            results.len() <= GH_MAX_RESULTS_PER_RUN,
            "{} results",
            results.len()
        );
        for r in results {
            check_result(r, rules);
        }
    }
    if let Some(size) = gzip_size(raw) {
        assert!(
            size <= GH_MAX_GZIP_BYTES,
            "gzip size {size} over GitHub's limit"
        );
    }
}

fn check_rule(rule: &Value) {
    let id = rule["id"].as_str().expect("rule id");
    let text = |v: &Value| v["text"].as_str().map(str::to_string).unwrap_or_default();
    let chars = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
    assert!(
        chars(&rule["name"]) > 0 && chars(&rule["name"]) <= 255,
        "{id}: name"
    );
    for key in ["shortDescription", "fullDescription"] {
        let t = text(&rule[key]);
        assert!(!t.is_empty() && t.chars().count() <= 1024, "{id}: {key}");
    }
    assert!(!text(&rule["help"]).is_empty(), "{id}: help.text (GH2012)");
    let level = rule["defaultConfiguration"]["level"]
        .as_str()
        .unwrap_or("warning");
    assert!(
        ["note", "warning", "error"].contains(&level),
        "{id}: level {level}"
    );
    let props = &rule["properties"];
    let tags = props["tags"].as_array().expect("tags");
    assert!(tags.len() <= GH_MAX_TAGS_PER_RULE, "{id}: tags");
    let sev: f64 = props["security-severity"]
        .as_str()
        .expect("security-severity is a string")
        .parse()
        .expect("security-severity is a number");
    assert!(sev > 0.0 && sev <= 10.0, "{id}: security-severity {sev}");
    let precision = props["precision"].as_str().unwrap_or("");
    assert!(
        ["very-high", "high", "medium", "low"].contains(&precision),
        "{id}: precision {precision}"
    );
}

fn check_result(r: &Value, rules: &[Value]) {
    let rule_id = r["ruleId"].as_str().expect("ruleId");
    let index = r["ruleIndex"].as_u64().expect("ruleIndex") as usize;
    assert_eq!(rules[index]["id"], rule_id, "ruleIndex points at its rule");
    assert!(
        r["message"]["text"].as_str().is_some_and(|t| !t.is_empty()),
        "message.text"
    );
    assert!(["note", "warning", "error"].contains(&r["level"].as_str().unwrap_or("warning")));
    let locations = r["locations"].as_array().expect("locations");
    assert!(!locations.is_empty() && locations.len() <= GH_MAX_LOCATIONS_PER_RESULT);
    let phys = &locations[0]["physicalLocation"];
    let uri = phys["artifactLocation"]["uri"]
        .as_str()
        .expect("artifactLocation.uri");
    assert!(
        !uri.contains("://") && !uri.starts_with('/') && !uri.contains('\\'),
        "uri {uri} is a relative path"
    );
    assert!(
        !uri.chars().any(|c| c == ' ' || c == '#' || !c.is_ascii()),
        "uri {uri} is percent-encoded"
    );
    assert_eq!(phys["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    let region = &phys["region"];
    let n = |k: &str| {
        region[k]
            .as_u64()
            .unwrap_or_else(|| panic!("region.{k} in {uri}"))
    };
    assert!(n("startLine") >= 1 && n("startColumn") >= 1 && n("endColumn") >= 1);
    assert!(n("endLine") >= n("startLine"));
    let fp = r["partialFingerprints"]["primaryLocationLineHash"].as_str();
    assert!(fp.is_some_and(|f| !f.is_empty()), "primaryLocationLineHash");
}

/// The size of `raw` gzipped, when a `gzip` binary is available; `None`
/// otherwise (the estimate in the reporter still bounds the size).
pub fn gzip_size(raw: &[u8]) -> Option<usize> {
    use std::io::Write;
    let mut child = Command::new("gzip")
        .arg("-c")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    let mut stdin = child.stdin.take()?;
    let data = raw.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&data));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    out.status.success().then_some(out.stdout.len())
}
