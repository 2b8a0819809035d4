//! Yarn configuration: Berry's `.yarnrc.yml` (`npmAuthToken`, `npmAuthIdent`
//! at top level and under `npmScopes` / `npmRegistries`) and classic
//! `.yarnrc` (`"//host/:_authToken" value` lines).

use super::values::{ValueClass, classify};
use super::{DetectOptions, FileKind, Hit, Item, Sink, yaml};
use marked_yaml::Node;

pub const RULE: &str = "yarnrc-literal-auth";

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let (text, invalid_at) = super::text_keeping_offsets(item.bytes);
    if let Some(at) = invalid_at {
        sink.warn(
            item.path,
            format!("not valid UTF-8 at byte {at}; invalid bytes read as '?'"),
        );
    }
    match FileKind::of(item.path) {
        FileKind::YarnrcClassic => classic(item, &text, opts, sink),
        _ => berry(item, &text, opts, sink),
    }
}

fn berry(item: &Item, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    let root = match yaml::parse(text) {
        Ok(root) => root,
        Err(e) => {
            // Malformed YAML (or YAML the parser does not support, such as
            // anchors) must not hide a literal token: match lines instead.
            sink.warn(item.path, format!("{e}; falling back to line matching"));
            berry_lines(item, text, opts, sink);
            return;
        }
    };
    walk(
        item,
        &yaml::Positions::new(text),
        &root,
        &mut Vec::new(),
        opts,
        sink,
    );
}

/// Visit every mapping: the auth keys count wherever they sit (top level,
/// `npmScopes.<scope>`, `npmRegistries.<url>`).
fn walk(
    item: &Item,
    pos: &yaml::Positions,
    node: &Node,
    path: &mut Vec<String>,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    let Some(map) = node.as_mapping() else {
        if let Some(seq) = node.as_sequence() {
            for child in seq.iter() {
                walk(item, pos, child, path, opts, sink);
            }
        }
        return;
    };
    for (key, value) in map.iter() {
        let k = key.as_str();
        if matches!(k, "npmAuthToken" | "npmAuthIdent")
            && let Some(scalar) = value.as_scalar()
        {
            let v = scalar.as_str();
            let range = pos.scalar_range(scalar.span(), v);
            let (secret, range) = match classify(v, &opts.extra_placeholders) {
                ValueClass::Literal => (v.to_string(), range),
                ValueClass::LiteralDefault(r) => (
                    v[r.clone()].to_string(),
                    range.start + r.start..range.start + r.end,
                ),
                _ => continue,
            };
            let where_ = if path.is_empty() {
                "the default registry".to_string()
            } else {
                path.join(".")
            };
            let mut hit = Hit::new(
                RULE,
                range,
                format!("literal {k} for {where_} in {}", item.path),
            )
            .with_secret(secret)
            .with_detail(
                "key",
                if path.is_empty() {
                    k.to_string()
                } else {
                    format!("{}.{k}", path.join("."))
                },
            );
            if k == "npmAuthIdent"
                && let Some(user) = ident_user(v)
            {
                hit = hit.with_detail("username", user);
            }
            // The registry it belongs to: the `npmRegistries` key, or the
            // `npmRegistryServer` next to it (a scope, or the top level).
            let server = map
                .iter()
                .find(|(key, _)| key.as_str() == "npmRegistryServer")
                .and_then(|(_, v)| v.as_scalar().map(|s| s.as_str().to_string()));
            let registry = match path.as_slice() {
                [first, url] if first == "npmRegistries" => Some(url.clone()),
                _ => server,
            };
            if let Some(registry) = registry {
                hit = hit.with_detail("registry", registry);
            }
            sink.hit(hit);
            continue;
        }
        path.push(k.to_string());
        walk(item, pos, value, path, opts, sink);
        path.pop();
    }
}

/// `npmAuthToken: value` / `npmAuthIdent: value` lines of a `.yarnrc.yml`
/// the YAML parser rejected: plain or quoted scalars only (an anchor is
/// skipped; flow collections and block scalars are not guessed at).
fn berry_lines(item: &Item, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        let Some(key) = ["npmAuthToken", "npmAuthIdent"]
            .into_iter()
            .find(|k| trimmed.starts_with(k))
        else {
            continue;
        };
        let Some(after) = trimmed[key.len()..].trim_start().strip_prefix(':') else {
            continue;
        };
        let mut value = after.trim_start();
        if value.starts_with('&') {
            // `&anchor value`
            value = value
                .split_once(char::is_whitespace)
                .map_or("", |(_, v)| v.trim_start());
        }
        let start = line_start + (line.len() - value.len());
        let (value, range) = match value.chars().next() {
            Some(q @ ('"' | '\'')) => match value[1..].find(q) {
                Some(end) => (&value[1..1 + end], start + 1..start + 1 + end),
                None => continue,
            },
            Some(c) if !"[{|>*!#".contains(c) => {
                let end = value.find(" #").unwrap_or(value.len());
                let v = value[..end].trim_end();
                (v, start..start + v.len())
            }
            _ => continue,
        };
        let (secret, range) = match classify(value, &opts.extra_placeholders) {
            ValueClass::Literal => (value.to_string(), range),
            ValueClass::LiteralDefault(r) => (
                value[r.clone()].to_string(),
                range.start + r.start..range.start + r.end,
            ),
            _ => continue,
        };
        let mut hit = Hit::new(
            RULE,
            range,
            format!("literal {key} in {}, line {}", item.path, index + 1),
        )
        .with_secret(secret)
        .with_detail("key", key);
        if key == "npmAuthIdent"
            && let Some(user) = ident_user(value)
        {
            hit = hit.with_detail("username", user);
        }
        sink.hit(hit);
    }
}

/// `npmAuthIdent` is `user:password`, plain or base64: the user part only.
fn ident_user(v: &str) -> Option<String> {
    if let Some((user, _)) = v.split_once(':') {
        return Some(user.to_string());
    }
    super::npmrc::basic_auth_user(v)
}

/// Yarn classic `.yarnrc`: one `key value` per line, either side optionally
/// double-quoted, `#` comments.
fn classic(item: &Item, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let lead = line.len() - trimmed.len();
        let Some((key, key_len)) = classic_token(trimmed) else {
            continue;
        };
        let after_key = &trimmed[key_len..];
        let gap = after_key.len() - after_key.trim_start().len();
        let rest = after_key.trim_start();
        let Some((value, value_len)) = classic_token(rest) else {
            continue;
        };
        let name = key.rsplit(':').next().unwrap_or(&key);
        if !matches!(name, "_authToken" | "_auth" | "_password" | "npmAuthToken") {
            continue;
        }
        let value_start = line_start + lead + key_len + gap;
        let quoted = rest.starts_with('"');
        let range = if quoted {
            value_start + 1..value_start + value_len - 1
        } else {
            value_start..value_start + value_len
        };
        let (secret, range) = match classify(&value, &opts.extra_placeholders) {
            ValueClass::Literal => (value.clone(), range),
            ValueClass::LiteralDefault(r) => (
                value[r.clone()].to_string(),
                range.start + r.start..range.start + r.end,
            ),
            _ => continue,
        };
        sink.hit(
            Hit::new(
                RULE,
                range,
                format!("literal {name} in {}, line {}", item.path, index + 1),
            )
            .with_secret(secret)
            .with_detail("key", key.clone()),
        );
    }
}

/// One token of a `.yarnrc` line: a double-quoted string (JSON escapes) or
/// a run of non-space characters. Returns the token and its length as written.
fn classic_token(s: &str) -> Option<(String, usize)> {
    if s.is_empty() {
        return None;
    }
    if let Some(unterminated) = s.strip_prefix('"') {
        let bytes = s.as_bytes();
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => {
                    let lit = &s[..=i];
                    let value = serde_json::from_str::<String>(lit)
                        .unwrap_or_else(|_| lit[1..lit.len() - 1].to_string());
                    return Some((value, i + 1));
                }
                _ => i += 1,
            }
        }
        return Some((unterminated.to_string(), s.len()));
    }
    let end = s.find(char::is_whitespace).unwrap_or(s.len());
    Some((s[..end].to_string(), end))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hits(text: &str) -> Vec<(String, String)> {
        let mut sink = Sink::default();
        let item = Item {
            path: ".yarnrc.yml",
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        detect(&item, &DetectOptions::default(), &mut sink);
        sink.hits
            .iter()
            .map(|h| (h.details["key"].clone(), text[h.range.clone()].to_string()))
            .collect()
    }

    #[test]
    fn malformed_yaml_falls_back_to_lines() {
        let u = "3f2a9c1e-0b7d-4c11-9a2b-5c1f0e9a2b7d";
        // Anchors are expanded: the alias repeats the anchored value, at the
        // anchor (`detect::detect` then keeps one finding for those bytes).
        let anchored =
            format!("npmAuthToken: &tok \"{u}\"\nnpmScopes:\n  acme:\n    npmAuthToken: *tok\n");
        assert_eq!(
            hits(&anchored),
            vec![
                ("npmAuthToken".to_string(), u.to_string()),
                ("npmScopes.acme.npmAuthToken".to_string(), u.to_string())
            ]
        );
        let item = Item {
            path: ".yarnrc.yml",
            bytes: anchored.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        let findings =
            crate::detect::detect(&item, &[FileKind::YarnrcYml], &DetectOptions::default());
        assert_eq!(findings.findings.len(), 1);
        let broken = "npmAuthIdent: bob:s3cretPassw0rd # ci\n  bad: [x\nnpmAuthToken: [unclosed\n";
        assert_eq!(
            hits(broken),
            vec![("npmAuthIdent".to_string(), "bob:s3cretPassw0rd".to_string())]
        );
        assert!(hits("npmAuthToken: ${NPM_TOKEN}\n  bad: [x\n").is_empty());
    }
}
