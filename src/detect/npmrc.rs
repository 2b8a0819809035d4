//! `.npmrc` analyser. Parses the INI dialect the way npm's `ini` package
//! does (first `=` splits, `;`/`#` comment lines, quoted values, inline
//! comments cut unquoted values) and reports literal credentials under the
//! auth keys, scoped (`//host/path/:_authToken`) or not.

use super::values::{ValueClass, classify};
use super::{DetectOptions, Hit, Item, Sink};
use base64::Engine;

pub const RULE_AUTH_TOKEN: &str = "npmrc-literal-auth-token";
pub const RULE_BASIC_AUTH: &str = "npmrc-basic-auth";

/// One `key=value` line, with byte offsets into the file.
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub key: &'a str,
    pub value: String,
    /// Byte range of the value (inside quotes) in the file.
    pub value_range: std::ops::Range<usize>,
    pub line: usize,
}

/// Parse `.npmrc` text into entries. Never fails: lines that are not
/// `key=value` are skipped, like npm does.
pub fn parse(text: &str) -> Vec<Entry<'_>> {
    let mut entries = Vec::new();
    let mut offset = 0;
    for (index, raw_line) in text.split_inclusive('\n').enumerate() {
        let mut line_start = offset;
        offset += raw_line.len();
        let mut line = raw_line.trim_end_matches(['\n', '\r']);
        // A byte-order mark (Windows editors write one) is not part of the key.
        if index == 0
            && let Some(rest) = line.strip_prefix('\u{feff}')
        {
            line = rest;
            line_start += '\u{feff}'.len_utf8();
        }
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
            continue;
        }
        if trimmed.starts_with('[') && trimmed.trim_end().ends_with(']') {
            continue;
        }
        let Some(eq) = line.find('=') else { continue };
        let key = line[..eq].trim();
        // `ini` unquotes keys as it does values: `"//host/:_authToken"=…`.
        let key = match key.as_bytes() {
            [b'"', .., b'"'] | [b'\'', .., b'\''] if key.len() >= 2 => key[1..key.len() - 1].trim(),
            _ => key,
        };
        if key.is_empty() {
            continue;
        }
        let raw_value = &line[eq + 1..];
        let lead = raw_value.len() - raw_value.trim_start().len();
        let value_text = raw_value.trim();
        let value_start = line_start + eq + 1 + lead;
        let (value, range) = unquote(value_text, value_start);
        entries.push(Entry {
            key,
            value,
            value_range: range,
            line: index + 1,
        });
    }
    entries
}

/// Unquote a value the way `ini` does: `"…"` is JSON, `'…'` is stripped,
/// an unquoted value ends at the first unescaped `;` or `#`.
fn unquote(v: &str, start: usize) -> (String, std::ops::Range<usize>) {
    let quoted = v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')));
    if quoted {
        let inner = &v[1..v.len() - 1];
        let value = if v.starts_with('"') {
            serde_json::from_str::<String>(v).unwrap_or_else(|_| inner.to_string())
        } else {
            inner.to_string()
        };
        return (value, start + 1..start + 1 + inner.len());
    }
    let mut out = String::new();
    let mut escaped = false;
    let mut end = v.len();
    for (i, c) in v.char_indices() {
        if escaped {
            if c != ';' && c != '#' {
                out.push('\\');
            }
            out.push(c);
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ';' || c == '#' {
            end = i;
            break;
        } else {
            out.push(c);
        }
    }
    let kept = v[..end].trim_end();
    (out.trim_end().to_string(), start..start + kept.len())
}

/// Split `//host/path/:_authToken` into (`//host/path/`, `_authToken`).
pub fn split_scoped_key(key: &str) -> (Option<&str>, &str) {
    if key.starts_with("//")
        && let Some(colon) = key.rfind(':')
    {
        return (Some(&key[..colon]), &key[colon + 1..]);
    }
    (None, key)
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let (text, invalid_at) = super::text_keeping_offsets(item.bytes);
    if let Some(at) = invalid_at {
        sink.warn(
            item.path,
            format!("not valid UTF-8 at byte {at}; invalid bytes read as '?'"),
        );
    }
    let entries = parse(&text);
    for entry in &entries {
        let (scope, name) = split_scoped_key(entry.key);
        let rule = match name {
            "_authToken" => RULE_AUTH_TOKEN,
            "_auth" | "_password" => RULE_BASIC_AUTH,
            _ => continue,
        };
        let (secret, range) = match classify(&entry.value, &opts.extra_placeholders) {
            ValueClass::Literal => (entry.value.clone(), entry.value_range.clone()),
            ValueClass::LiteralDefault(r) => {
                let file_range = entry.value_range.start + r.start..entry.value_range.start + r.end;
                (entry.value[r].to_string(), file_range)
            }
            _ => continue,
        };
        let where_ = match scope {
            Some(s) => format!("registry {s}"),
            None => "every registry (unscoped key)".to_string(),
        };
        let mut hit = Hit::new(
            rule,
            range,
            format!(
                "literal {name} for {where_} in {}, line {}",
                item.path, entry.line
            ),
        )
        .with_secret(secret)
        .with_detail("key", entry.key);
        if let Some(s) = scope {
            hit = hit.with_detail("registry", s);
        }
        match name {
            "_auth" => {
                if let Some(user) = basic_auth_user(&entry.value) {
                    hit = hit.with_detail("username", user);
                }
            }
            "_password" => {
                let user_key = match scope {
                    Some(s) => format!("{s}:username"),
                    None => "username".to_string(),
                };
                if let Some(u) = entries.iter().rev().find(|e| e.key == user_key) {
                    hit = hit.with_detail("username", u.value.clone());
                }
            }
            _ => {}
        }
        sink.hit(hit);
    }
}

/// The user name in a base64 `user:password` value; never the password.
pub fn basic_auth_user(value: &str) -> Option<String> {
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(value.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, _password) = text.split_once(':')?;
    Some(user.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_npm_ini() {
        let text = "; comment\n# other\nregistry=https://r.example/\n//r.example/:_authToken = \"abc;def\"\nkey=val ; trailing\nesc=a\\;b\n";
        let e = parse(text);
        let get = |k: &str| e.iter().find(|x| x.key == k).unwrap().value.clone();
        assert_eq!(get("registry"), "https://r.example/");
        assert_eq!(get("//r.example/:_authToken"), "abc;def");
        assert_eq!(get("key"), "val");
        assert_eq!(get("esc"), "a;b");
        let tok = e
            .iter()
            .find(|x| x.key == "//r.example/:_authToken")
            .unwrap();
        assert_eq!(&text[tok.value_range.clone()], "abc;def");
    }

    #[test]
    fn byte_order_mark_is_not_part_of_the_first_key() {
        let text = "\u{feff}//r.example/:_authToken=abc\r\n";
        let e = parse(text);
        assert_eq!(e[0].key, "//r.example/:_authToken");
        assert_eq!(&text[e[0].value_range.clone()], "abc");
    }

    #[test]
    fn quoted_keys_are_unquoted() {
        let e = parse("\"//r.example/:_authToken\"=abc\n'_auth' = def\n");
        assert_eq!(e[0].key, "//r.example/:_authToken");
        assert_eq!(e[1].key, "_auth");
    }

    #[test]
    fn invalid_utf8_does_not_hide_later_lines() {
        let mut bytes = b"; f\xfcr CI\n".to_vec();
        bytes.extend_from_slice(b"//r.example/:_authToken=s3cr3tValue99x\n");
        let mut sink = Sink::default();
        let item = Item {
            path: ".npmrc",
            bytes: &bytes,
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        detect(&item, &DetectOptions::default(), &mut sink);
        assert_eq!(sink.hits.len(), 1, "{:?}", sink.hits);
        assert_eq!(&bytes[sink.hits[0].range.clone()], b"s3cr3tValue99x");
    }

    #[test]
    fn splits_scoped_keys() {
        assert_eq!(
            split_scoped_key("//npm.pkg.github.com/:_authToken"),
            (Some("//npm.pkg.github.com/"), "_authToken")
        );
        assert_eq!(split_scoped_key("_auth"), (None, "_auth"));
    }

    #[test]
    fn decodes_user_only() {
        let v = base64::engine::general_purpose::STANDARD.encode("bob:pw");
        assert_eq!(basic_auth_user(&v).as_deref(), Some("bob"));
    }
}
