//! Literal credentials in package-manager configuration (`.npmrc`,
//! `.yarnrc.yml`, `.yarnrc`, `bunfig.toml`) become environment references.
//!
//! The edit replaces exactly the value on the finding's line — the
//! characters around the detected secret up to a quote, whitespace, `=` or
//! `,` — so keys, quotes, comments and order stay as written. A value with
//! a literal fallback (`${NPM_TOKEN:-…}`) is replaced whole.
//!
//! The variable: `NPM_TOKEN` for a token, `NPM_AUTH` for `_auth` /
//! `npmAuthIdent`, `NPM_PASSWORD` for `_password` / `password`. When the
//! file holds credentials for more than one registry, or the plain name is
//! already used in it, the name gets the registry as a suffix:
//! `NPM_TOKEN_NPM_PKG_GITHUB_COM` for `//npm.pkg.github.com/`,
//! `NPM_TOKEN_ACME` for Yarn's `npmScopes.acme`.

use super::{Edit, FindingFix};
use crate::detect::kind::FileKind;
use crate::detect::lines::LineIndex;
use crate::finding::{Finding, redact};
use crate::rules::Policy;
use std::collections::BTreeSet;

/// Characters that end a configuration value on its line.
fn is_delimiter(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '=' | ',')
}

/// What kind of credential a key holds, as the variable's base name.
fn base_name(key: &str) -> &'static str {
    let last = key
        .rsplit([':', '.', '/'])
        .next()
        .unwrap_or(key)
        .trim_matches('"');
    match last {
        "_auth" | "npmAuthIdent" => "NPM_AUTH",
        "_password" | "password" => "NPM_PASSWORD",
        _ => "NPM_TOKEN",
    }
}

/// `NPM_PKG_GITHUB_COM` for `//npm.pkg.github.com/` or
/// `https://npm.pkg.github.com/x`; `ACME` for `@acme`.
pub fn upper_snake(label: &str) -> String {
    let mut out = String::new();
    for c in label.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_uppercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// The registry (host) or scope a finding's credential is for, as a name
/// part; `None` for an unscoped key.
fn registry_label(f: &Finding, line: &str) -> Option<String> {
    if let Some(registry) = f.details.get("registry") {
        let r = registry.as_str();
        let rest = r.split_once("://").map(|(_, h)| h).unwrap_or(r);
        let host = rest.trim_start_matches('/').split('/').next().unwrap_or("");
        let host = host.rsplit('@').next().unwrap_or(host);
        let host = host.split(':').next().unwrap_or(host);
        return Some(upper_snake(host)).filter(|s| !s.is_empty());
    }
    if let Some(key) = f.details.get("key") {
        // `npmScopes.acme.npmAuthToken`, `install.scopes.@acme.token`.
        let key = key.as_str();
        let parent = key.rsplit_once('.').map(|(p, _)| p)?;
        let last = parent.rsplit('.').next().unwrap_or(parent);
        if matches!(last, "install" | "registry" | "") {
            return None;
        }
        return Some(upper_snake(last)).filter(|s| !s.is_empty());
    }
    // A token found by its shape: the `//host/:` of an `.npmrc` key.
    let key = line.trim_start().strip_prefix("//")?;
    let host = key.split('/').next()?;
    Some(upper_snake(host)).filter(|s| !s.is_empty())
}

/// The key a finding's credential is written at.
fn key_of(f: &Finding, line: &str, value_start_in_line: usize) -> String {
    if let Some(k) = f.details.get("key") {
        return k.as_str().to_string();
    }
    line[..value_start_in_line]
        .trim_end()
        .trim_end_matches(['=', ':'])
        .trim()
        .trim_matches('"')
        .to_string()
}

/// The reference syntax each tool expands.
fn reference(kind: FileKind, var: &str) -> String {
    match kind {
        // Bun expands `$NAME` (and `${NAME}`), its docs use `$NAME`.
        FileKind::Bunfig => format!("${var}"),
        _ => format!("${{{var}}}"),
    }
}

pub fn fix(f: &Finding, text: &str, siblings: &[&Finding]) -> Result<FindingFix, String> {
    let kind = FileKind::of(&f.path);
    if !matches!(
        kind,
        FileKind::Npmrc | FileKind::YarnrcYml | FileKind::YarnrcClassic | FileKind::Bunfig
    ) {
        return Err(
            "not in package-manager configuration (.npmrc, .yarnrc.yml, .yarnrc, bunfig.toml): how this file should read the value from the environment depends on it; not changed automatically".into(),
        );
    }
    let secret = f
        .secret
        .as_ref()
        .ok_or("the finding carries no credential value to replace")?;
    let index = LineIndex::new(text.as_bytes());
    let line_start = index.line_start(f.span.start_line);
    let line_end = text[line_start..]
        .find('\n')
        .map_or(text.len(), |i| line_start + i);
    let line = &text[line_start..line_end];
    // Some detectors keep the quotes of `"value" ; comment`: they stay.
    let secret_text = secret.expose().trim_matches(|c| c == '"' || c == '\'');
    if secret_text.is_empty() {
        return Err("the finding carries no credential value to replace".into());
    }
    let Some(at) = line.find(secret_text) else {
        return Err(
            "the value is not written literally on its line (encoded or embedded); replace it by hand"
                .into(),
        );
    };
    // Widen to the whole value.
    let mut start = at;
    while let Some(c) = line[..start]
        .chars()
        .next_back()
        .filter(|c| !is_delimiter(*c))
    {
        start -= c.len_utf8();
    }
    let mut end = at + secret_text.len();
    while let Some(c) = line[end..].chars().next().filter(|c| !is_delimiter(*c)) {
        end += c.len_utf8();
    }
    let value = &line[start..end];
    let key = key_of(f, line, start);
    let base = base_name(&key);
    let label = registry_label(f, line);
    let registries: BTreeSet<Option<String>> = siblings
        .iter()
        .filter(|s| s.secret.is_some())
        .map(|s| {
            let l = index.line_start(s.span.start_line);
            let e = text[l..].find('\n').map_or(text.len(), |i| l + i);
            registry_label(s, &text[l..e])
        })
        .collect();
    let plain_taken = text.contains(&format!("${{{base}}}"))
        || text.contains(&format!("${base}"))
        || text.contains(&format!("${{{base}:")) && !value.contains(&format!("${{{base}:"));
    let var = match &label {
        Some(l) if registries.len() > 1 || plain_taken => format!("{base}_{l}"),
        _ => base.to_string(),
    };
    let new_value = reference(kind, &var);
    let line_no = f.span.start_line;
    let mut checklist = vec![format!(
        "Set `{var}` in the environment that uses {} (for GitHub Actions: a repository or environment secret `{var}`, passed to the step as `env: {var}: ${{{{ secrets.{var} }}}}`), holding a NEW credential.",
        f.path
    )];
    checklist.push(match base {
        "NPM_TOKEN" => format!(
            "Revoke the token that was committed in {}:{line_no} ({}) where it was issued.",
            f.path,
            redact(value),
        ),
        _ => format!(
            "Change the password committed (base64 is not protection) in {}:{line_no} ({}) on its registry.",
            f.path,
            redact(value)
        ),
    });
    checklist.push(format!(
        "To revoke an npm token: {}; for another registry, in its token settings.",
        Policy::global().value("revoke_npm_token")
    ));
    checklist.push(
        "The old value stays in git history: after revoking, see `npmsweep history` (and its `--purge-plan`)."
            .to_string(),
    );
    Ok(FindingFix {
        edits: vec![Edit {
            range: line_start + start..line_start + end,
            replacement: new_value,
            rank: 0,
        }],
        removed_values: vec![
            value.to_string(),
            secret_text.to_string(),
            secret.expose().to_string(),
        ],
        checklist,
        left: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_upper_snake() {
        assert_eq!(upper_snake("npm.pkg.github.com"), "NPM_PKG_GITHUB_COM");
        assert_eq!(upper_snake("@acme"), "ACME");
        assert_eq!(base_name("//r/:_auth"), "NPM_AUTH");
        assert_eq!(base_name("install.scopes.@acme.password"), "NPM_PASSWORD");
        assert_eq!(base_name("npmScopes.acme.npmAuthToken"), "NPM_TOKEN");
    }
}
