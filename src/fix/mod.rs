//! `npmsweep fix`: the remediation of a scan, applied as span edits of the
//! original text (never a re-serialisation, so comments, order, quoting and
//! layout survive), shown as a unified diff and optionally written back.
//!
//! Findings → [`plan`] → one [`FilePatch`] per file (the edits, the new
//! text) + the findings that could not be fixed (with the reason) + the
//! steps only a human can take. One module per kind of fix: [`config`]
//! (package-manager configuration), [`run_env`] (`${{ secrets.X }}` in a
//! workflow `run:`), [`scoped_env`] (a token in workflow or job `env:` moves
//! to the steps that read it), [`trusted_publishing`] (a publish with a
//! long-lived token becomes npm trusted publishing), [`dockerfile`] (an npm
//! token in an image becomes a build secret); [`step_env`] edits a step's
//! `env:`, [`block`] inserts and removes block-YAML text, [`diff`] renders
//! the patch.

pub mod block;
pub mod config;
pub mod diff;
pub mod dockerfile;
pub mod run_env;
pub mod scoped_env;
pub mod step_env;
pub mod trusted_publishing;

use crate::finding::{Finding, Origin};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// Replace `range` of the original text with `replacement`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub range: Range<usize>,
    pub replacement: String,
    /// Order among insertions at one offset; identical edits (the same
    /// `env:` header wanted by two fixes in one step) are applied once.
    pub rank: u8,
}

/// What fixing one finding produced.
pub struct FindingFix {
    pub edits: Vec<Edit>,
    /// Original texts that held a credential: redacted in the diff.
    pub removed_values: Vec<String>,
    /// Steps only a human can take (set a secret, revoke a token…).
    pub checklist: Vec<String>,
    /// Parts of the finding's remediation left as they are, with the
    /// reason (listed with the findings not fixed).
    pub left: Vec<String>,
}

/// The rules `fix` knows how to fix.
pub const FIXABLE_RULES: &[&str] = &[
    "npmrc-literal-auth-token",
    "npmrc-basic-auth",
    "yarnrc-literal-auth",
    "bunfig-literal-auth",
    "npm-token",
    "npm-legacy-token",
    run_env::RULE,
    scoped_env::RULE,
    trusted_publishing::RULE,
    dockerfile::RULES[0],
    dockerfile::RULES[1],
];

/// Why a rule is never fixed automatically (shown for its findings).
pub fn not_fixable_reason(rule_id: &str) -> &'static str {
    match rule_id {
        "gha-npm-long-lived-stage-token" => {
            "staging with a token keeps working; moving the staged publish to trusted publishing is a choice made by hand (see `npmsweep explain`)"
        }
        "gha-npm-token-persisted" => {
            "which later step ships the file off the runner is a design decision; not changed automatically"
        }
        "registry-url-credentials" => {
            "credentials in a registry URL need the URL split into a registry and an auth key; not changed automatically"
        }
        _ => "no automatic fix for this rule",
    }
}

/// The patch for one file.
pub struct FilePatch {
    pub path: String,
    pub original: String,
    pub fixed: String,
    /// Credential texts removed by the patch (redacted in the diff).
    pub removed_values: Vec<String>,
}

/// A finding left as it is, and why.
pub struct Unfixed {
    pub rule_id: String,
    pub path: String,
    pub line: usize,
    pub reason: String,
}

/// Everything `fix` will do and say.
#[derive(Default)]
pub struct Plan {
    pub patches: Vec<FilePatch>,
    pub unfixed: Vec<Unfixed>,
    pub fixed_findings: usize,
    /// Human-only steps, deduplicated, in order of first appearance.
    pub checklist: Vec<String>,
}

/// Which findings to fix: `rules` empty means every fixable rule.
pub struct FixOptions {
    pub rules: Vec<String>,
}

/// Apply non-overlapping edits to `text` (in any order). Overlapping edits
/// are an error: two fixes disagree about the same bytes.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by(|a, b| {
        (a.range.start, a.range.end, a.rank, &a.replacement).cmp(&(
            b.range.start,
            b.range.end,
            b.rank,
            &b.replacement,
        ))
    });
    sorted.dedup_by(|a, b| a == b);
    let mut out = String::with_capacity(text.len() + 64);
    let mut at = 0;
    for e in sorted {
        if e.range.start < at || e.range.end > text.len() || e.range.start > e.range.end {
            return Err("two fixes overlap".into());
        }
        if !text.is_char_boundary(e.range.start) || !text.is_char_boundary(e.range.end) {
            return Err("an edit does not fall on a character boundary".into());
        }
        out.push_str(&text[at..e.range.start]);
        out.push_str(&e.replacement);
        at = e.range.end;
    }
    out.push_str(&text[at..]);
    Ok(out)
}

/// Plan the fixes for `findings` (a scan's, suppressed ones skipped);
/// `read` returns a file's text by its report path.
pub fn plan(
    findings: &[Finding],
    opts: &FixOptions,
    read: impl Fn(&str) -> Result<String, String>,
) -> Plan {
    let mut plan = Plan::default();
    let mut by_file: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    let mut checklist = BTreeSet::new();
    for f in findings.iter().filter(|f| f.suppressed.is_none()) {
        if !opts.rules.is_empty() && !opts.rules.contains(&f.rule_id) {
            continue;
        }
        by_file.entry(f.path.as_str()).or_default().push(f);
    }
    for (path, found) in by_file {
        let text = read(path);
        let mut edits = Vec::new();
        let mut removed = Vec::new();
        let mut fixed_here = 0;
        let mut refused: Vec<(&Finding, String)> = Vec::new();
        let mut fixed_rules: Vec<String> = Vec::new();
        for f in &found {
            let outcome = match &text {
                Err(e) => Err(e.clone()),
                // A defect in one fix is that finding's reason, not a crash.
                Ok(text) => {
                    crate::detect::isolate::guard(&f.path, "fix", || fix_one(f, text, &found))
                        .and_then(|r| r)
                }
            };
            match outcome {
                Ok(fix) => {
                    edits.extend(fix.edits);
                    removed.extend(fix.removed_values);
                    for reason in fix.left {
                        plan.unfixed.push(Unfixed {
                            rule_id: f.rule_id.clone(),
                            path: f.path.clone(),
                            line: f.span.start_line,
                            reason: format!("partly fixed: {reason}"),
                        });
                    }
                    for item in fix.checklist {
                        if checklist.insert(item.clone()) {
                            plan.checklist.push(item);
                        }
                    }
                    fixed_here += 1;
                    fixed_rules.push(f.rule_id.clone());
                }
                Err(reason) => refused.push((f, reason)),
            }
        }
        let unfixed = |plan: &mut Plan, f: &Finding, reason: String| {
            plan.unfixed.push(Unfixed {
                rule_id: f.rule_id.clone(),
                path: f.path.clone(),
                line: f.span.start_line,
                reason,
            })
        };
        let patched = match &text {
            Ok(original) if !edits.is_empty() => match apply_edits(original, &edits) {
                Ok(fixed) if fixed != *original => Some(fixed),
                Ok(_) => None,
                Err(e) => {
                    for f in &found {
                        unfixed(&mut plan, f, format!("{e}; fix this file by hand"));
                    }
                    continue;
                }
            },
            _ => None,
        };
        let Some(fixed) = patched else {
            for (f, reason) in refused {
                unfixed(&mut plan, f, reason);
            }
            continue;
        };
        // A finding without a fix of its own may be gone with the others'
        // (`id-token: write` added for trusted publishing also settles a
        // provenance finding): the patched file says which.
        // Fingerprints can change with the edits (a step without a name is
        // known by its position), so a rule must also be reported fewer
        // times than its own fixes account for.
        let (before, after) = (reported(path, original_text(&text)), reported(path, &fixed));
        let mut gone: BTreeMap<&str, usize> = BTreeMap::new();
        for (rule, n) in &before.1 {
            let own = fixed_rules.iter().filter(|r| *r == rule).count();
            let left = after.1.get(rule).copied().unwrap_or(0);
            gone.insert(rule.as_str(), n.saturating_sub(left).saturating_sub(own));
        }
        for (f, reason) in refused {
            let budget = gone.entry(f.rule_id.as_str()).or_default();
            if !after.0.contains(&f.fingerprint) && *budget > 0 {
                *budget -= 1;
                fixed_here += 1;
            } else {
                unfixed(&mut plan, f, reason);
            }
        }
        plan.fixed_findings += fixed_here;
        plan.patches.push(FilePatch {
            path: path.to_string(),
            original: text.unwrap_or_default(),
            fixed,
            removed_values: removed,
        });
    }
    plan.unfixed
        .sort_by(|a, b| (&a.path, a.line, &a.rule_id).cmp(&(&b.path, b.line, &b.rule_id)));
    plan
}

/// What a scan of `text` (as the file at `path`) reports: fingerprints,
/// and findings per rule.
fn reported(path: &str, text: &str) -> (BTreeSet<String>, BTreeMap<String, usize>) {
    let item = crate::detect::Item {
        path,
        bytes: text.as_bytes(),
        origin: Origin::Worktree,
        tree: None,
    };
    let mut fingerprints = BTreeSet::new();
    let mut per_rule = BTreeMap::new();
    for f in crate::scan::detect_item(&item, &crate::detect::DetectOptions::default()).findings {
        *per_rule.entry(f.rule_id).or_default() += 1;
        fingerprints.insert(f.fingerprint);
    }
    (fingerprints, per_rule)
}

fn original_text(text: &Result<String, String>) -> &str {
    text.as_deref().unwrap_or("")
}

/// Fix one finding in its file's text (`siblings`: every finding in the file).
fn fix_one(f: &Finding, text: &str, siblings: &[&Finding]) -> Result<FindingFix, String> {
    if f.origin != Origin::Worktree {
        return Err("only files in a working tree are fixed".into());
    }
    if f.rule_id == run_env::RULE {
        return run_env::fix(f, text);
    }
    if f.rule_id == scoped_env::RULE {
        return scoped_env::fix(f, text);
    }
    if f.rule_id == trusted_publishing::RULE {
        return trusted_publishing::fix(f, text, siblings);
    }
    if dockerfile::RULES.contains(&f.rule_id.as_str()) {
        return dockerfile::fix(f, text, siblings);
    }
    if FIXABLE_RULES.contains(&f.rule_id.as_str()) {
        return config::fix(f, text, siblings);
    }
    Err(not_fixable_reason(&f.rule_id).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edits_apply_in_order_and_refuse_overlap() {
        let e = |a: usize, b: usize, s: &str| Edit {
            range: a..b,
            replacement: s.into(),
            rank: 0,
        };
        assert_eq!(
            apply_edits("abcdef", &[e(4, 5, "X"), e(0, 1, "Y")]).unwrap(),
            "YbcdXf"
        );
        assert!(apply_edits("abcdef", &[e(0, 3, "X"), e(2, 4, "Y")]).is_err());
        assert_eq!(apply_edits("abc", &[e(1, 1, "-")]).unwrap(), "a-bc");
    }
}
