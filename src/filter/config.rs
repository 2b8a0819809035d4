//! `npmsweep.toml`: the per-repository settings file.
//!
//! The schema is closed (`deny_unknown_fields`) and every value is checked
//! after parsing (rule ids exist, globs compile, severities are known), so a
//! typo is an error naming the file, line and column instead of a setting
//! that silently does nothing. The README's "Living in CI" section documents
//! every key.

use super::exclude::Exclude;
use crate::finding::Severity;
use crate::rules::Registry;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// The file looked for at the scan root.
pub const FILE_NAME: &str = "npmsweep.toml";

/// The file as written, with the position of every value kept for errors.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RawConfig {
    fail_on: Option<Spanned<String>>,
    #[serde(default)]
    exclude: Vec<Spanned<String>>,
    #[serde(default)]
    disable: Vec<Spanned<String>>,
    #[serde(default)]
    severity: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    credential_names: Vec<Spanned<String>>,
    #[serde(default)]
    not_credential_names: Vec<Spanned<String>>,
    #[serde(default)]
    placeholders: Vec<Spanned<String>>,
}

/// A validated configuration.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Where it was read from (for messages).
    pub path: PathBuf,
    /// Default for `--fail-on`; the command line wins.
    pub fail_on: Option<Severity>,
    /// Paths (relative to the scan root) never scanned, as written.
    pub exclude_patterns: Vec<String>,
    /// The compiled form of `exclude_patterns` (gitignore semantics).
    pub exclude: Option<Exclude>,
    /// Rule ids whose findings are dropped.
    pub disable: Vec<String>,
    /// Rule id → severity to report instead of the rule's own.
    pub severity: BTreeMap<String, Severity>,
    /// Extra environment-variable names that hold npm credentials.
    pub credential_names: Vec<String>,
    /// Names that never hold npm credentials, whatever they look like.
    pub not_credential_names: Vec<String>,
    /// Extra values that are placeholders, not credentials.
    pub placeholders: Vec<String>,
}

/// A configuration error, already phrased as `FILE:LINE:COLUMN: message`.
#[derive(Debug, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Read and validate the configuration file at `path`.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| {
        ConfigError(format!(
            "{}: cannot read configuration: {e}",
            path.display()
        ))
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        ConfigError(format!(
            "{}: configuration is not valid UTF-8 (byte {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })?;
    parse(path, &text)
}

/// Parse and validate configuration text; `path` is only used in messages.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let at = |span: Option<Range<usize>>, msg: &str| -> ConfigError {
        match span {
            Some(span) => {
                let (line, col) = line_col(text, span.start);
                ConfigError(format!("{}:{line}:{col}: {msg}", path.display()))
            }
            None => ConfigError(format!("{}: {msg}", path.display())),
        }
    };
    let raw: RawConfig = toml::from_str(text).map_err(|e| at(e.span(), e.message().trim()))?;

    let severity_of = |v: &Spanned<String>| -> Result<Severity, ConfigError> {
        Severity::parse(v.get_ref()).ok_or_else(|| {
            at(
                Some(v.span()),
                &format!(
                    "unknown severity {:?}: use low, medium, high or critical",
                    v.get_ref()
                ),
            )
        })
    };
    let rule_of = |v: &Spanned<String>, key: &str| -> Result<String, ConfigError> {
        if Registry::global().get(v.get_ref()).is_some() {
            Ok(v.get_ref().clone())
        } else {
            Err(at(
                Some(v.span()),
                &format!(
                    "{key}: unknown rule id {:?}; `npmsweep rules` lists them",
                    v.get_ref()
                ),
            ))
        }
    };
    let non_empty = |v: &Spanned<String>, key: &str| -> Result<String, ConfigError> {
        if v.get_ref().trim().is_empty() {
            Err(at(Some(v.span()), &format!("{key}: empty value")))
        } else {
            Ok(v.get_ref().clone())
        }
    };

    let mut config = Config {
        path: path.to_path_buf(),
        ..Config::default()
    };
    if let Some(v) = &raw.fail_on {
        config.fail_on = Some(severity_of(v)?);
    }
    for v in &raw.exclude {
        let pattern = non_empty(v, "exclude")?;
        // Compile one by one so an error points at the bad pattern.
        compile_excludes(std::slice::from_ref(&pattern))
            .map_err(|e| at(Some(v.span()), &format!("exclude: {e}")))?;
        config.exclude_patterns.push(pattern);
    }
    if !config.exclude_patterns.is_empty() {
        config.exclude = Some(
            compile_excludes(&config.exclude_patterns)
                .map_err(|e| at(None, &format!("exclude: {e}")))?,
        );
    }
    for v in &raw.disable {
        config.disable.push(rule_of(v, "disable")?);
    }
    for (rule, sev) in &raw.severity {
        let id = rule_of(rule, "severity")?;
        config.severity.insert(id, severity_of(sev)?);
    }
    for (field, list, out) in [
        (
            "credential-names",
            &raw.credential_names,
            &mut config.credential_names,
        ),
        (
            "not-credential-names",
            &raw.not_credential_names,
            &mut config.not_credential_names,
        ),
    ] {
        for v in list {
            let name = non_empty(v, field)?;
            if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(at(
                    Some(v.span()),
                    &format!(
                        "{field}: {name:?} is not an environment-variable name (letters, digits, _)"
                    ),
                ));
            }
            out.push(name);
        }
    }
    for v in &raw.placeholders {
        config.placeholders.push(non_empty(v, "placeholders")?);
    }
    Ok(config)
}

/// Compile exclude patterns with `.gitignore` semantics (see [`Exclude`]).
pub fn compile_excludes(patterns: &[String]) -> Result<Exclude, String> {
    Exclude::new(patterns)
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..floor_char_boundary(text, offset)];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_str(text: &str) -> Result<Config, ConfigError> {
        parse(Path::new("npmsweep.toml"), text)
    }

    #[test]
    fn full_example_parses() {
        let c = parse_str(
            r#"
fail-on = "high"
exclude = ["tests/fixtures", "*.snap"]
disable = ["npm-token-invalid-checksum"]
credential-names = ["ACME_REGISTRY_TOKEN"]
placeholders = ["replace-me"]

[severity]
npm-legacy-token = "medium"
"#,
        )
        .unwrap();
        assert_eq!(c.fail_on, Some(Severity::High));
        assert_eq!(c.disable, ["npm-token-invalid-checksum"]);
        assert_eq!(c.severity["npm-legacy-token"], Severity::Medium);
        assert_eq!(c.credential_names, ["ACME_REGISTRY_TOKEN"]);
        assert_eq!(c.placeholders, ["replace-me"]);
        let ex = c.exclude.unwrap();
        assert!(ex.excludes("tests/fixtures/a/.npmrc", false));
        assert!(ex.excludes("tests/fixtures", true));
        assert!(ex.excludes("deep/dir/x.snap", false));
        assert!(!ex.excludes("tests/other/.npmrc", false));
        assert!(!ex.excludes("src/fixtures.rs", false));
    }

    #[test]
    fn empty_file_is_the_default() {
        let c = parse_str("").unwrap();
        assert!(c.fail_on.is_none() && c.exclude.is_none() && c.disable.is_empty());
    }

    #[test]
    fn unknown_key_names_line_and_column() {
        let e = parse_str("fail-on = \"low\"\nexclud = [\"x\"]\n").unwrap_err();
        assert!(e.0.starts_with("npmsweep.toml:2:1: "), "{e}");
        assert!(e.0.contains("exclud"), "{e}");
    }

    #[test]
    fn wrong_type_names_line() {
        let e = parse_str("\n\nexclude = \"tests\"\n").unwrap_err();
        assert!(e.0.starts_with("npmsweep.toml:3:"), "{e}");
    }

    #[test]
    fn bad_values_point_at_the_value() {
        let e = parse_str("fail-on = \"severe\"\n").unwrap_err();
        assert_eq!(
            e.0,
            "npmsweep.toml:1:11: unknown severity \"severe\": use low, medium, high or critical"
        );
        let e = parse_str("disable = [\"npm-token\", \"no-such-rule\"]\n").unwrap_err();
        assert!(
            e.0.starts_with("npmsweep.toml:1:25: disable: unknown rule id"),
            "{e}"
        );
        let e = parse_str("[severity]\nno-such-rule = \"low\"\n").unwrap_err();
        assert!(
            e.0.starts_with("npmsweep.toml:2:1: severity: unknown rule id"),
            "{e}"
        );
        let e = parse_str("[severity]\nnpm-token = \"urgent\"\n").unwrap_err();
        assert!(
            e.0.starts_with("npmsweep.toml:2:13: unknown severity"),
            "{e}"
        );
        let anchored = compile_excludes(&["/.env".to_string()]).unwrap();
        assert!(anchored.excludes(".env", false) && !anchored.excludes("sub/.env", false));
        let e = parse_str("exclude = [\"a[\"]\n").unwrap_err();
        assert!(
            e.0.starts_with("npmsweep.toml:1:12: exclude: invalid glob"),
            "{e}"
        );
        let e = parse_str("credential-names = [\"MY TOKEN\"]\n").unwrap_err();
        assert!(e.0.contains("not an environment-variable name"), "{e}");
        let e = parse_str("not-credential-names = [\"!NPM_BOT\"]\n").unwrap_err();
        assert!(
            e.0.starts_with("npmsweep.toml:1:25: not-credential-names: \"!NPM_BOT\""),
            "{e}"
        );
        let c = parse_str("not-credential-names = [\"NPM_BOT_TOKEN\"]\n").unwrap();
        assert_eq!(c.not_credential_names, ["NPM_BOT_TOKEN"]);
    }

    #[test]
    fn syntax_error_is_positioned() {
        let e = parse_str("fail-on = \n").unwrap_err();
        assert!(e.0.starts_with("npmsweep.toml:1:"), "{e}");
    }
}
