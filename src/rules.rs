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
        let mut rules = BTreeMap::new();
        for (file, text) in RULE_FILES {
            let mut rule: Rule =
                toml::from_str(text).map_err(|e| format!("{file}: invalid rule file: {e}"))?;
            rule.source_file = file.to_string();
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

/// Expand the templates used in rule examples and tests into synthetic
/// credentials built at run time: `{{npm_token}}` (checksum-valid),
/// `{{npm_token_invalid}}`, `{{npm_token_2}}` (a second distinct token),
/// `{{uuid}}`, `{{jwt}}`, `{{ghp_token}}`, `{{b64_auth}}` (base64 of
/// `ci-bot:` + a password); then `{{base64}}…{{/base64}}` and
/// `{{percent}}…{{/percent}}` encode what they enclose (encoded examples).
pub fn expand_templates(text: &str) -> String {
    let expanded = expand_credentials(text);
    let expanded = encode_between(&expanded, "base64", |s| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(s)
    });
    encode_between(&expanded, "percent", |s| {
        percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
    })
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

fn expand_credentials(text: &str) -> String {
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
