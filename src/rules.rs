//! Rule definitions, loaded from the TOML files under `rules/` that are
//! embedded at build time (see `build.rs`).
//!
//! A rule is data: id, title, severity, description, remediation, tags and
//! examples. Detectors refer to rules by id; [`Registry::get`] gives reporters
//! everything else.

use crate::finding::{Confidence, Severity};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

include!(concat!(env!("OUT_DIR"), "/rule_files.rs"));

/// The policy file among the embedded `rules/` files: facts, not a rule.
pub const POLICY_FILE: &str = "rules/npm-policy.toml";

/// Where the rule's documentation lives online.
pub const DOCS_BASE: &str = "https://github.com/npmsweep/npmsweep/blob/main/rules/";

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    /// The file path the example is scanned as (decides the detectors).
    pub path: String,
    /// File content; `{{npm_token}}`-style templates are expanded at test time.
    pub content: String,
    /// For positive examples: the 1-based line the finding must be on.
    #[serde(default)]
    pub line: Option<usize>,
    /// Why this example is here (documentation only).
    #[serde(default)]
    pub note: Option<String>,
    /// Scan options the example needs, by flag name without dashes
    /// (e.g. `include-invalid-tokens`).
    #[serde(default)]
    pub options: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub confidence: Confidence,
    /// SARIF `security-severity`, a score from 0.1 to 10.0.
    pub security_severity: f32,
    /// SARIF `precision`: very-high, high, medium or low.
    pub precision: String,
    /// Which detector implements the rule (informational; see `detect`).
    pub detector: String,
    #[serde(default)]
    pub tags: Vec<String>,
    pub description: String,
    /// Markdown: what to do, in order.
    pub remediation: String,
    #[serde(default)]
    pub examples: Vec<Example>,
    #[serde(default)]
    pub negative_examples: Vec<Example>,
    /// The file this rule was loaded from, relative to the repository root.
    #[serde(skip)]
    pub source_file: String,
}

impl Rule {
    pub fn docs_url(&self) -> String {
        format!(
            "{DOCS_BASE}{}",
            self.source_file.trim_start_matches("rules/")
        )
    }

    /// The remediation as plain text (markdown markers left as they are:
    /// they read fine in a terminal).
    pub fn remediation_text(&self) -> &str {
        self.remediation.trim()
    }
}

pub struct Registry {
    rules: BTreeMap<String, Rule>,
}

impl Registry {
    fn load() -> Result<Registry, String> {
        let policy = Policy::load()?;
        let mut rules = BTreeMap::new();
        for (file, text) in RULE_FILES {
            if *file == POLICY_FILE {
                continue;
            }
            let mut rule: Rule =
                toml::from_str(text).map_err(|e| format!("{file}: invalid rule file: {e}"))?;
            rule.source_file = file.to_string();
            rule.description = policy
                .interpolate(&rule.description)
                .map_err(|e| format!("{file}: description: {e}"))?;
            rule.remediation = policy
                .interpolate(&rule.remediation)
                .map_err(|e| format!("{file}: remediation: {e}"))?;
            if !(0.1..=10.0).contains(&rule.security_severity) {
                return Err(format!("{file}: security_severity out of range"));
            }
            if rules.insert(rule.id.clone(), rule).is_some() {
                return Err(format!("{file}: duplicate rule id"));
            }
        }
        Ok(Registry { rules })
    }

    /// The process-wide registry. Rule files are compiled in, so a load
    /// failure is a build defect that the test suite catches.
    pub fn global() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(|| Registry::load().unwrap_or_else(|e| panic!("{e}")))
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.get(id)
    }

    /// Every rule, sorted by id.
    pub fn all(&self) -> impl Iterator<Item = &Rule> {
        self.rules.values()
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// One fact of npm's policy (a date, a version, a URL) with its source.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fact {
    /// What texts print: phrased to read correctly before and after the date.
    pub value: String,
    /// What the fact is (documentation).
    pub note: String,
    /// Where it was announced or documented.
    pub source: String,
}

/// npm's token and publishing policy (`rules/npm-policy.toml`): the dates and
/// versions that messages and remediation cite, kept in one place so that a
/// moved date is a one-line data change. Texts refer to a fact as
/// `{{policy.NAME}}` (its value) or `{{source.NAME}}` (its source URL).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub facts: BTreeMap<String, Fact>,
}

impl Policy {
    fn load() -> Result<Policy, String> {
        let text = RULE_FILES
            .iter()
            .find(|(f, _)| *f == POLICY_FILE)
            .map(|(_, t)| *t)
            .ok_or_else(|| format!("{POLICY_FILE} is missing"))?;
        let mut policy: Policy =
            toml::from_str(text).map_err(|e| format!("{POLICY_FILE}: invalid policy file: {e}"))?;
        // A value may cite other facts (one level: a sentence citing a date).
        let raw = policy.clone();
        for (name, fact) in policy.facts.iter_mut() {
            fact.value = raw
                .interpolate(&fact.value)
                .map_err(|e| format!("{POLICY_FILE}: fact {name}: {e}"))?;
        }
        Ok(policy)
    }

    /// The process-wide policy (compiled in, like the rules).
    pub fn global() -> &'static Policy {
        static POLICY: OnceLock<Policy> = OnceLock::new();
        POLICY.get_or_init(|| Policy::load().unwrap_or_else(|e| panic!("{e}")))
    }

    /// A fact's value. Detectors name facts with constants; an unknown name
    /// is a build defect, caught by the tests that run every detector.
    pub fn value(&self, name: &str) -> &str {
        match self.facts.get(name) {
            Some(f) => &f.value,
            None => panic!("{POLICY_FILE} has no fact {name}"),
        }
    }

    /// Replace `{{policy.NAME}}` and `{{source.NAME}}` in `text`; an unknown
    /// name is an error. Other `{{…}}` (GitHub expressions, test templates)
    /// are left alone.
    pub fn interpolate(&self, text: &str) -> Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(i) = rest.find("{{") {
            let (before, after) = rest.split_at(i);
            out.push_str(before);
            let reference = after[2..].find("}}").and_then(|end| {
                let inner = &after[2..2 + end];
                let (kind, name) = inner.split_once('.')?;
                matches!(kind, "policy" | "source").then_some((kind, name, end))
            });
            match reference {
                Some((kind, name, end)) => {
                    let fact = self
                        .facts
                        .get(name)
                        .ok_or_else(|| format!("unknown policy fact `{name}`"))?;
                    out.push_str(if kind == "policy" {
                        &fact.value
                    } else {
                        &fact.source
                    });
                    rest = &after[2 + end + 2..];
                }
                None => {
                    out.push_str("{{");
                    rest = &after[2..];
                }
            }
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// Expand the templates used in rule examples and tests into synthetic
/// credentials built at run time: `{{npm_token}}` (checksum-valid),
/// `{{npm_token_invalid}}`, `{{npm_token_2}}` (a second distinct token),
/// `{{uuid}}`, `{{jwt}}`, `{{ghp_token}}`, `{{b64_auth}}` (base64 of
/// `ci-bot:` + a password), and one per credential shape of
/// [`crate::detect::shape`]: `{{github_pat}}`, `{{ghs_token}}`, `{{glpat}}`,
/// `{{gldt}}`, `{{glcbt}}`, `{{artifactory_api_key}}`, `{{artifactory_ref}}`,
/// `{{codeartifact_token}}`, `{{azure_pat}}` (52 base32), `{{azure_pat_84}}`,
/// `{{entropy_token}}` (40 base62, no known prefix).
/// Then `{{base64}}…{{/base64}}` and `{{percent}}…{{/percent}}` encode what
/// they enclose (encoded examples).
pub fn expand_templates(text: &str) -> String {
    if !text.contains("{{") {
        return text.to_string();
    }
    let expanded = expand_credentials(text);
    let expanded = encode_between(&expanded, "base64", |s| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    encode_between(&expanded, "percent", |s| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    })
}

/// Credential templates: npm's, then one per credential shape.
fn expand_credentials(text: &str) -> String {
    let mut out = expand_npm_templates(text);
    if out.contains("{{") {
        for (name, value) in shape_templates() {
            out = out.replace(name, &value);
        }
    }
    out
}

/// `n` base62 characters derived from `seed` (not a secret: deterministic).
pub fn synthetic_base62(seed: u64, n: usize) -> String {
    let mut out = String::new();
    let mut i = 0;
    while out.len() < n {
        out.push_str(&crate::token::fake_token("", seed * 1000 + i)[..30]);
        i += 1;
    }
    out.truncate(n);
    out
}

fn shape_templates() -> Vec<(&'static str, String)> {
    use base64::Engine;
    let b32: String = synthetic_base62(24, 52)
        .bytes()
        .map(|b| b"abcdefghijklmnopqrstuvwxyz234567"[b as usize % 32] as char)
        .collect();
    let codeartifact_head = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"ver":1,"isu":1700000000,"enc":"A128GCM","tag":"synthetic","iv":"x"}"#);
    vec![
        (
            "{{github_pat}}",
            format!(
                "github_pat_{}_{}",
                synthetic_base62(11, 22),
                synthetic_base62(12, 59)
            ),
        ),
        ("{{ghs_token}}", crate::token::fake_token("ghs_", 13)),
        ("{{glpat}}", format!("glpat-{}", synthetic_base62(14, 20))),
        ("{{gldt}}", format!("gldt-{}", synthetic_base62(15, 20))),
        (
            "{{glcbt}}",
            format!("glcbt-64_{}", synthetic_base62(16, 20)),
        ),
        (
            "{{artifactory_api_key}}",
            format!("AKCp{}", synthetic_base62(17, 69)),
        ),
        (
            "{{artifactory_ref}}",
            format!("cmVmdGtuOjAxOjE3{}", synthetic_base62(18, 48)),
        ),
        (
            "{{codeartifact_token}}",
            format!(
                "{codeartifact_head}.{}.{}",
                synthetic_base62(19, 120),
                synthetic_base62(20, 22)
            ),
        ),
        ("{{azure_pat}}", b32),
        (
            "{{azure_pat_84}}",
            format!(
                "{}AZDO{}",
                synthetic_base62(21, 76),
                synthetic_base62(22, 4)
            ),
        ),
        ("{{entropy_token}}", synthetic_base62(23, 40)),
    ]
}

/// Replace every `{{name}}…{{/name}}` with `encode(…)`.
fn encode_between(text: &str, name: &str, encode: impl Fn(&str) -> String) -> String {
    let (open, close) = (format!("{{{{{name}}}}}"), format!("{{{{/{name}}}}}"));
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(&open) {
        let Some(len) = rest[start + open.len()..].find(&close) else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push_str(&encode(&rest[start + open.len()..start + open.len() + len]));
        rest = &rest[start + open.len() + len + close.len()..];
    }
    out.push_str(rest);
    out
}

fn expand_npm_templates(text: &str) -> String {
    use base64::Engine;
    let t = crate::token::fake_token("npm_", 1);
    let t2 = crate::token::fake_token("npm_", 2);
    let bad = crate::token::fake_invalid_token(3);
    let ghp = crate::token::fake_token("ghp_", 4);
    let uuid = synthetic_uuid(5);
    let jwt_body = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"sub":"ci-bot","iat":1700000000}"#);
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.{jwt_body}.c2lnbmF0dXJlLXN5bnRoZXRpYw");
    let password = format!("pw{}", &crate::token::fake_token("", 6)[..14]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(format!("ci-bot:{password}"));
    let b64_password = base64::engine::general_purpose::STANDARD.encode(&password);
    text.replace("{{npm_token}}", &t)
        .replace("{{npm_token_2}}", &t2)
        .replace("{{npm_token_invalid}}", &bad)
        .replace("{{ghp_token}}", &ghp)
        .replace("{{uuid}}", &uuid)
        .replace("{{jwt}}", &jwt)
        .replace("{{b64_auth}}", &b64)
        .replace("{{b64_password}}", &b64_password)
        .replace("{{password}}", &password)
}

/// A version-4-shaped UUID from a seed (lowercase hex).
pub fn synthetic_uuid(seed: u64) -> String {
    let hex = crate::finding::hash_hex(&[b"uuid", &seed.to_le_bytes()]);
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_loads_with_sources() {
        let p = Policy::global();
        assert_eq!(p.value("bypass_2fa_publish_end"), "about January 2027");
        for (name, fact) in &p.facts {
            assert!(
                fact.source.starts_with("https://"),
                "{name}: {}",
                fact.source
            );
            assert!(!fact.value.is_empty() && !fact.note.is_empty(), "{name}");
        }
    }

    #[test]
    fn interpolation() {
        let p = Policy::global();
        let got = p
            .interpolate("npm {{policy.npm_stage_version}} ({{source.npm_stage_version}}), ${{ secrets.NPM_TOKEN }} {{npm_token}}")
            .unwrap();
        assert_eq!(
            got,
            "npm 11.15.0 (https://docs.npmjs.com/cli/v11/commands/npm-stage), ${{ secrets.NPM_TOKEN }} {{npm_token}}"
        );
        assert!(p.interpolate("{{policy.no_such_fact}}").is_err());
        assert_eq!(
            p.interpolate("unclosed {{policy.x").unwrap(),
            "unclosed {{policy.x"
        );
    }

    /// Since phase 1 of the 2FA-bypass deprecation, revoking needs an
    /// interactive 2FA challenge: every "revoke" says how.
    #[test]
    fn every_revoke_says_how() {
        for rule in Registry::global().all() {
            let text = rule.remediation.to_lowercase();
            if text.contains("revoke") {
                assert!(
                    text.contains("access tokens") && text.contains("--otp"),
                    "{}: says revoke but not how",
                    rule.id
                );
            }
        }
    }

    /// Remediation snippets agree with each other and with npm 12: one
    /// major version per action, checkouts that do not keep the job's
    /// GitHub token on disk, no blind `npm@latest` (npm 12 changes install
    /// defaults).
    #[test]
    fn remediation_snippets_are_consistent() {
        let policy = Policy::global();
        let checkout = policy.value("checkout_action");
        let setup_node = policy.value("setup_node_action");
        for rule in Registry::global().all() {
            let text = &rule.remediation;
            for (i, _) in text.match_indices("actions/checkout@") {
                let rest = &text[i..];
                assert!(rest.starts_with(checkout), "{}", rule.id);
                let next = rest.lines().take(3).collect::<Vec<_>>().join("\n");
                assert!(
                    next.contains("persist-credentials: false"),
                    "{}: {next}",
                    rule.id
                );
            }
            for (i, _) in text.match_indices("actions/setup-node@") {
                assert!(text[i..].starts_with(setup_node), "{}", rule.id);
            }
            assert!(!text.contains("npm@latest"), "{}", rule.id);
        }
    }

    #[test]
    fn every_rule_text_is_interpolated() {
        for rule in Registry::global().all() {
            for text in [&rule.description, &rule.remediation] {
                assert!(!text.contains("{{policy."), "{}", rule.id);
                assert!(!text.contains("{{source."), "{}", rule.id);
            }
        }
    }
}
