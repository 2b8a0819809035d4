//! Bun's `bunfig.toml`: `token` and `password` in `[install.registry]`,
//! `[install.scopes]` and inline tables. Credentials inside registry URLs
//! are left to the URL-credentials detector.

use super::values::{ValueClass, classify};
use super::{DetectOptions, Hit, Item, Sink};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

pub const RULE: &str = "bunfig-literal-auth";

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        sink.warn(item.path, "not valid UTF-8; skipped bunfig.toml parsing");
        return;
    };
    let (root, errors) = DeTable::parse_recoverable(text);
    if let Some(err) = errors.first() {
        let at = err
            .span()
            .map(|s| {
                let (line, col) = line_col(text, s.start);
                format!(" at line {line}, column {col}")
            })
            .unwrap_or_default();
        sink.warn(
            item.path,
            format!("invalid TOML{at}: {}", err.message().trim()),
        );
    }
    let Some(install) = root.get_ref().get("install") else {
        return;
    };
    walk(
        item,
        text,
        install,
        &mut vec!["install".to_string()],
        opts,
        sink,
    );
}

fn walk(
    item: &Item,
    text: &str,
    value: &Spanned<DeValue>,
    path: &mut Vec<String>,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    let DeValue::Table(table) = value.get_ref() else {
        return;
    };
    for (key, child) in table.iter() {
        let k = key.get_ref().as_ref();
        if matches!(k, "token" | "password")
            && let DeValue::String(s) = child.get_ref()
        {
            let range = string_range(text, child.span(), s);
            let (secret, range) = match classify(s, &opts.extra_placeholders) {
                ValueClass::Literal => (s.to_string(), range),
                ValueClass::LiteralDefault(r) => (
                    s[r.clone()].to_string(),
                    range.start + r.start..range.start + r.end,
                ),
                _ => continue,
            };
            let mut hit = Hit::new(
                RULE,
                range,
                format!("literal {k} for {} in {}", path.join("."), item.path),
            )
            .with_secret(secret)
            .with_detail("key", format!("{}.{k}", path.join(".")));
            if let Some(user) = table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == "username")
                .and_then(|(_, v)| match v.get_ref() {
                    DeValue::String(u) => Some(u.to_string()),
                    _ => None,
                })
            {
                hit = hit.with_detail("username", user);
            }
            // `[install.registry]` / a scope table: its `url` is the registry.
            if let Some((_, DeValue::String(url))) = table
                .iter()
                .find(|(key, _)| key.get_ref().as_ref() == "url")
                .map(|(k, v)| (k, v.get_ref()))
            {
                hit = hit.with_detail("registry", url.to_string());
            }
            sink.hit(hit);
            continue;
        }
        path.push(k.to_string());
        walk(item, text, child, path, opts, sink);
        path.pop();
    }
}

/// The span of a TOML string includes its quotes: point at the content
/// when it appears verbatim.
fn string_range(text: &str, span: std::ops::Range<usize>, value: &str) -> std::ops::Range<usize> {
    let raw = text.get(span.clone()).unwrap_or("");
    match raw.find(value) {
        Some(i) if !value.is_empty() => span.start + i..span.start + i + value.len(),
        _ => span,
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}
