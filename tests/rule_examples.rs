//! Every example in `rules/` runs through the real detectors: positive
//! examples must produce a finding of their rule (on the given line),
//! negative ones must not. Adding a rule means adding examples, and this
//! test holds them to it.

use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::Origin;
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

fn findings_for(example: &Example) -> Vec<npmsweep::finding::Finding> {
    let content = expand_templates(&example.content);
    assert!(
        // `${{ … }}` is GitHub Actions expression syntax, not a template.
        !content.replace("${{", "").contains("{{"),
        "unexpanded template in example for {}: {}",
        example.path,
        example.content
    );
    // A path may hold a template too (a file named after a token).
    let path = expand_templates(&example.path);
    let item = Item {
        path: &path,
        bytes: content.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    detect_item(&item, &options_for(example)).findings
}

#[test]
fn registry_loads_and_every_rule_is_documented() {
    let registry = Registry::global();
    assert!(registry.len() >= 8, "only {} rules", registry.len());
    for rule in registry.all() {
        assert!(!rule.title.trim().is_empty(), "{}: title", rule.id);
        assert!(
            rule.description.trim().len() > 40,
            "{}: description",
            rule.id
        );
        assert!(
            rule.remediation.trim().len() > 40,
            "{}: remediation",
            rule.id
        );
        assert!(
            ["very-high", "high", "medium", "low"].contains(&rule.precision.as_str()),
            "{}: precision {}",
            rule.id,
            rule.precision
        );
        assert!(
            rule.source_file.ends_with(&format!("{}.toml", rule.id)),
            "{}: file name {} should match the id",
            rule.id,
            rule.source_file
        );
        assert!(
            !rule.examples.is_empty(),
            "{}: no positive example",
            rule.id
        );
        assert!(
            !rule.negative_examples.is_empty(),
            "{}: no negative example",
            rule.id
        );
    }
}

#[test]
fn positive_examples_fire() {
    let mut failures = Vec::new();
    for rule in Registry::global().all() {
        for (i, example) in rule.examples.iter().enumerate() {
            let findings = findings_for(example);
            let matching: Vec<_> = findings.iter().filter(|f| f.rule_id == rule.id).collect();
            if matching.is_empty() {
                failures.push(format!(
                    "{} example #{i} ({}): no finding; got {:?}",
                    rule.id,
                    example.path,
                    findings.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
                ));
                continue;
            }
            if let Some(line) = example.line
                && !matching.iter().any(|f| f.span.start_line == line)
            {
                failures.push(format!(
                    "{} example #{i} ({}): expected line {line}, got {:?}",
                    rule.id,
                    example.path,
                    matching
                        .iter()
                        .map(|f| f.span.start_line)
                        .collect::<Vec<_>>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn negative_examples_stay_silent() {
    let mut failures = Vec::new();
    for rule in Registry::global().all() {
        for (i, example) in rule.negative_examples.iter().enumerate() {
            let findings = findings_for(example);
            let wrong: Vec<_> = findings.iter().filter(|f| f.rule_id == rule.id).collect();
            if !wrong.is_empty() {
                failures.push(format!(
                    "{} negative example #{i} ({}): fired at {:?}: {}",
                    rule.id,
                    example.path,
                    wrong.iter().map(|f| f.span.start_line).collect::<Vec<_>>(),
                    wrong[0].message
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_never_carry_the_secret_in_message_or_preview() {
    for rule in Registry::global().all() {
        for example in &rule.examples {
            for f in findings_for(example) {
                if let Some(secret) = &f.secret {
                    let s = secret.expose();
                    assert!(!f.message.contains(s), "{}: message leaks", rule.id);
                    let preview = f.preview.clone().unwrap_or_default();
                    assert!(!preview.contains(s), "{}: preview leaks", rule.id);
                    for v in f.details.values() {
                        assert!(!v.contains(s) || s.len() < 6, "{}: details leak", rule.id);
                    }
                }
            }
        }
    }
}
