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
