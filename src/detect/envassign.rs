//! npm credentials assigned wherever an assignment lives: `.env` files,
//! shell, Makefiles, Dockerfiles, source code, JSON/YAML/TOML maps of
//! environment variables (compose, Kubernetes `env: - name: … value: …`,
//! Helm values, VS Code and devcontainer settings, `vercel.json`, CI
//! configurations of every system), and `.npmrc` lines with a literal
//! `_authToken` that a script writes.
//!
//! A value is reported when the name holds an npm credential
//! ([`is_credential_name`]), the value is a literal (not an environment
//! reference, placeholder or fake value, see [`super::values`]) and it has a
//! credential's shape ([`super::shape`]). UUIDs and Nexus `NpmToken.<uuid>`
//! keep their historical rule `npm-legacy-token`; every other shape is
//! `npm-credential-assignment`, with the shape in `details.shape`.

use super::assignment;
use super::shape::{Shape, is_uuid, shape_of};
use super::values::{ValueClass, classify};
use super::{DetectOptions, FileKind, Hit, Item, Sink, yaml};
use crate::finding::Confidence;
use marked_yaml::Node;
use std::ops::Range;

pub const RULE_LEGACY: &str = "npm-legacy-token";
pub const RULE_ASSIGNMENT: &str = "npm-credential-assignment";
pub const RULE_SCRIPT_NPMRC: &str = "npmrc-literal-auth-token";

/// Does this variable name hold an npm credential?
pub fn is_credential_name(name: &str, extra: &[String]) -> bool {
    // `!NAME` entries (from `not-credential-names`) take a name away.
    if extra.iter().any(|e| {
        e.strip_prefix('!')
            .is_some_and(|n| n.eq_ignore_ascii_case(name))
    }) {
        return false;
    }
    if extra.iter().any(|e| e.eq_ignore_ascii_case(name)) {
        return true;
    }
    let lower = name.to_ascii_lowercase();
    // `NPM_TOKEN_FILE=/run/secrets/npm` names where a token is, not a token;
    // `NPM_TOKEN_ID` names a token, `YARN_CACHE_KEY` is no credential.
    const NOT_A_VALUE: &[&str] = &[
        "_file",
        "_path",
        "_dir",
        "_url",
        "_name",
        "_type",
        "_enabled",
        "_env",
        "_id",
        "_user",
        "_username",
        "_email",
        "_scope",
        "_registry",
    ];
    if NOT_A_VALUE.iter().any(|s| lower.ends_with(s)) || lower.contains("cache") {
        return false;
    }
    let npmish = lower.contains("npm") || lower.contains("node_auth") || lower.contains("yarn");
    let credish = ["token", "auth", "pass", "secret", "key"]
        .iter()
        .any(|w| lower.contains(w));
    npmish && credish
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Format {
    Yaml,
    Json,
    Toml,
    Text,
}

fn format_of(path: &str) -> Format {
    let lower = path.to_ascii_lowercase();
    if matches!(
        FileKind::of(path),
        FileKind::Compose | FileKind::Workflow | FileKind::Action
    ) || lower.ends_with(".yml")
        || lower.ends_with(".yaml")
    {
        Format::Yaml
    } else if lower.ends_with(".json") || lower.ends_with(".code-workspace") {
        Format::Json
    } else if lower.ends_with(".toml") {
        Format::Toml
    } else {
        Format::Text
    }
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    // One Aho-Corasick pass: no credential name, nothing to do.
    if !assignment::may_contain(item.bytes, &opts.extra_credential_names) {
        return;
    }
    // A binary file (NUL in its first 8 KiB) holds no assignments.
    if memchr::memchr(0, &item.bytes[..item.bytes.len().min(8192)]).is_some() {
        return;
    }
    let first_hit = sink.hits.len();
    detect_assignments(item, opts, sink);
    // `NPM_TOKEN=${NPM_TOKEN:-…}` names the credential twice, a YAML key
    // and the script line inside it may too: one finding per value.
    let mut seen = std::collections::HashSet::new();
    let mut index = 0;
    sink.hits.retain(|h| {
        index += 1;
        index <= first_hit || seen.insert((h.rule_id, h.range.clone()))
    });
}

fn detect_assignments(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    // Invalid bytes become one `?` each, so spans still point at the bytes.
    let (text, _) = super::text_keeping_offsets(item.bytes);
    let parsed_config = FileKind::of(item.path).is_parsed_config();
    let format = format_of(item.path);
    // Parsing is for files that name a credential, or (YAML) hold one under
    // a key that is not a name: Travis `api_key`, an action's `with:` input.
    let names = assignment::credential_names(&text, &opts.extra_credential_names);
    let worth_parsing = !names.is_empty()
        || (format == Format::Yaml
            && (memchr::memmem::find(item.bytes, b"api_key").is_some()
                || memchr::memmem::find(item.bytes, b"with:").is_some()));
    let structured = match format {
        _ if !worth_parsing => Ok(()),
        Format::Yaml => match yaml::parse_all(&text) {
            // Every document of the stream: compose overrides, Kubernetes
            // manifests and CI files may hold several.
            Ok(docs) => {
                let positions = yaml::Positions::new(&text);
                for root in &docs {
                    walk_yaml(item, &positions, root, None, opts, sink);
                }
                Ok(())
            }
            Err(e) => Err(e),
        },
        Format::Json => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => {
                let mut found = Vec::new();
                walk_json(&v, None, opts, &mut found);
                report_located(item, &text, &found, true, opts, sink);
                Ok(())
            }
            Err(e) => Err(format!("invalid JSON: {e}")),
        },
        Format::Toml => match toml::from_str::<toml::Value>(&text) {
            Ok(v) => {
                let mut found = Vec::new();
                walk_toml(&v, opts, &mut found);
                report_located(item, &text, &found, false, opts, sink);
                Ok(())
            }
            Err(e) => Err(format!(
                "invalid TOML: {}",
                e.message().lines().next().unwrap_or("")
            )),
        },
        Format::Text => Err(String::new()),
    };
    if let Err(e) = structured {
        // Workflows and actions have their own analyser that reports the
        // parse error; files of no known kind (a JSON with comments, a Helm
        // template) are read line by line without a word.
        if !e.is_empty()
            && parsed_config
            && !matches!(
                FileKind::of(item.tree_path()),
                FileKind::Workflow | FileKind::Action
            )
        {
            sink.warn(item.path, format!("{e}; falling back to line matching"));
        }
        for a in assignment::find_at(&text, &names) {
            let value = &text[a.value.clone()];
            if a.in_comment && !sure_in_a_comment(value) {
                continue;
            }
            report(item, &a.name, value, a.value, opts, sink);
        }
    }
    nexus_tokens(item, &text, opts, sink);
    // npm config lines written by scripts and CI configs, and the
    // `--//host/:_authToken=…` command lines of npm debug logs. (npm config
    // in source strings and documents is the embedded-config analyser's.)
    // Inside a layer (a Markdown `sh` block, decoded base64) the layer chose
    // the kinds: the outer path's kind says nothing about the inner text.
    let kind = FileKind::of(item.path);
    if kind != FileKind::Other || super::kind::is_npm_debug_log(item.path) || opts.layer_depth > 0 {
        scripted_npmrc(item, &text, opts, sink);
    }
}

/// A commented-out credential is still committed, but in a comment only a
/// documented token format is sure enough to report (an entropy guess or a
/// UUID in prose is not).
fn sure_in_a_comment(value: &str) -> bool {
    shape_of(value.trim()).is_some_and(|s| s.confidence() == Confidence::High)
}

/// Report `value` (found at `range` of the item) assigned to `name`, if it
/// is a literal credential.
fn report(
    item: &Item,
    name: &str,
    value: &str,
    range: Range<usize>,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    let (secret, range) = match classify(value, &opts.extra_placeholders) {
        ValueClass::Literal => {
            let t = value.trim();
            let lead = value.len() - value.trim_start().len();
            (t, range.start + lead..range.start + lead + t.len())
        }
        ValueClass::LiteralDefault(r) => (
            &value[r.clone()],
            range.start + r.start..range.start + r.end,
        ),
        _ => return,
    };
    let Some(shape) = shape_of(secret) else {
        return;
    };
    sink.hit(shape_hit(item, range, secret, name, shape));
}

fn shape_hit(item: &Item, range: Range<usize>, secret: &str, name: &str, shape: Shape) -> Hit {
    let rule = match shape {
        Shape::Uuid | Shape::NexusNpmToken => RULE_LEGACY,
        _ => RULE_ASSIGNMENT,
    };
    let what = shape.describe();
    Hit::new(
        rule,
        range,
        format!("{what} assigned to {name} in {}", item.path),
    )
    .with_secret(secret)
    .with_detail("variable", name)
    .with_detail("shape", shape.name())
    .with_severity(shape.severity())
    .with_confidence(shape.confidence())
}

/// A Sonatype Nexus `NpmToken.<uuid>` is an npm credential whatever it is
/// assigned to.
fn nexus_tokens(item: &Item, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    for at in memchr::memmem::find_iter(text.as_bytes(), b"NpmToken.") {
        let end = at + "NpmToken.".len() + 36;
        if end > text.len() || !text.is_char_boundary(end) || !is_uuid(&text[at + 9..end]) {
            continue;
        }
        if text[end..].starts_with(|c: char| c.is_ascii_alphanumeric())
            || text[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        {
            continue;
        }
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        let before = text[line_start..at].trim_start();
        if before.starts_with('#') || before.starts_with("//") || before.starts_with(';') {
            continue;
        }
        let value = &text[at..end];
        if !matches!(
            classify(value, &opts.extra_placeholders),
            ValueClass::Literal
        ) {
            continue;
        }
        sink.hit(shape_hit(
            item,
            at..end,
            value,
            "NpmToken",
            Shape::NexusNpmToken,
        ));
    }
}

/// A candidate found in a parsed document: `name` holds `value` (decoded
/// from the format's string escapes; [`report_located`] finds it in the
/// source).
struct Found {
    name: String,
    value: String,
}

/// Walk a JSON document: `"NAME": "value"` pairs at any depth, `{"name":
/// "NAME", "value": "…"}` objects (Kubernetes, ECS task definitions), and
/// assignments inside any string (`"release": "NPM_TOKEN=… npm publish"`).
fn walk_json(v: &serde_json::Value, key: Option<&str>, opts: &DetectOptions, out: &mut Vec<Found>) {
    use serde_json::Value;
    match v {
        Value::Object(map) => {
            if let (Some(Value::String(n)), Some(Value::String(val))) =
                (map.get("name"), map.get("value"))
                && assignment::is_npm_credential_name(n, &opts.extra_credential_names)
            {
                out.push(Found {
                    name: n.clone(),
                    value: val.clone(),
                });
            }
            for (k, v) in map {
                // `"NPM_TOKEN": {"value": "…"}` (Heroku app.json, many
                // settings schemas): the inner value is the credential's.
                if let Value::Object(inner) = v
                    && assignment::is_npm_credential_name(k, &opts.extra_credential_names)
                    && let Some(Value::String(val)) = inner.get("value").or(inner.get("default"))
                {
                    out.push(Found {
                        name: k.clone(),
                        value: val.clone(),
                    });
                }
                walk_json(v, Some(k), opts, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk_json(v, None, opts, out)),
        Value::String(s) => string_value(s, key, opts, out),
        _ => {}
    }
}

fn walk_toml(v: &toml::Value, opts: &DetectOptions, out: &mut Vec<Found>) {
    use toml::Value;
    match v {
        Value::Table(t) => {
            if let (Some(Value::String(n)), Some(Value::String(val))) =
                (t.get("name"), t.get("value"))
                && assignment::is_npm_credential_name(n, &opts.extra_credential_names)
            {
                out.push(Found {
                    name: n.clone(),
                    value: val.clone(),
                });
            }
            for (k, v) in t {
                if let Value::String(s) = v {
                    string_value(s, Some(k), opts, out);
                } else {
                    walk_toml(v, opts, out);
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| walk_toml(v, opts, out)),
        Value::String(s) => string_value(s, None, opts, out),
        _ => {}
    }
}

/// A string under `key`: the key's value if it names a credential, and the
/// assignments written inside it (a script line, a command).
fn string_value(s: &str, key: Option<&str>, opts: &DetectOptions, out: &mut Vec<Found>) {
    if let Some(k) = key
        && assignment::is_npm_credential_name(k, &opts.extra_credential_names)
    {
        out.push(Found {
            name: k.to_string(),
            value: s.to_string(),
        });
    }
    if assignment::may_contain(s.as_bytes(), &opts.extra_credential_names) {
        for a in assignment::find(s, &opts.extra_credential_names) {
            if a.in_comment && !sure_in_a_comment(&s[a.value.clone()]) {
                continue;
            }
            out.push(Found {
                name: a.name,
                value: s[a.value].to_string(),
            });
        }
    }
}

/// Report what a parser found at its position in the source: the value as
/// written (JSON-escaped when `json`), preferably after its name.
fn report_located(
    item: &Item,
    text: &str,
    found: &[Found],
    json: bool,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    for f in found {
        // Only values that could be reported are worth locating.
        let candidate = match classify(&f.value, &opts.extra_placeholders) {
            ValueClass::Literal => f.value.trim(),
            ValueClass::LiteralDefault(ref r) => &f.value[r.clone()],
            _ => continue,
        };
        if shape_of(candidate).is_none() {
            continue;
        }
        let written = if json {
            let quoted = serde_json::to_string(&f.value).unwrap_or_default();
            quoted[1..quoted.len().saturating_sub(1).max(1)].to_string()
        } else {
            f.value.clone()
        };
        let at = text
            .match_indices(written.as_str())
            .map(|(i, _)| i)
            .find(|&i| {
                text[..i]
                    .rfind(f.name.as_str())
                    .is_some_and(|n| i - n < 400)
            })
            .or_else(|| text.find(written.as_str()))
            .or_else(|| text.find(candidate));
        let Some(at) = at else { continue };
        let range = at..at + written.len();
        report(item, &f.name, &text[range.clone()], range, opts, sink);
    }
}

/// Walk a YAML document: every `NAME: value` pair and every `NAME=value`
/// list entry or script line, at any depth (compose `environment` and
/// `build.args`, workflow `env:`, CI `variables:` and `script:` lines), and
/// Kubernetes-style `- name: NAME` / `value: …` pairs.
fn walk_yaml(
    item: &Item,
    pos: &yaml::Positions,
    node: &Node,
    key: Option<&str>,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    match node {
        Node::Mapping(map) => {
            if let (Some(n), Some(v)) = (map.get_scalar("name"), map.get_scalar("value"))
                && assignment::is_npm_credential_name(n.as_str(), &opts.extra_credential_names)
            {
                let range = pos.scalar_range(v.span(), v.as_str());
                yaml_value(item, pos, n.as_str(), v.as_str(), range, opts, sink);
            }
            for (name, v) in npm_context_values(map) {
                let range = pos.scalar_range(v.span(), v.as_str());
                yaml_value(item, pos, name, v.as_str(), range, opts, sink);
            }
            for (k, v) in map.iter() {
                if let Node::Mapping(inner) = v
                    && assignment::is_npm_credential_name(k.as_str(), &opts.extra_credential_names)
                    && let Some(val) = inner.get_scalar("value").or(inner.get_scalar("default"))
                {
                    let range = pos.scalar_range(val.span(), val.as_str());
                    yaml_value(item, pos, k.as_str(), val.as_str(), range, opts, sink);
                }
                walk_yaml(item, pos, v, Some(k.as_str()), opts, sink);
            }
        }
        Node::Sequence(seq) => {
            for v in seq.iter() {
                walk_yaml(item, pos, v, None, opts, sink);
            }
        }
        Node::Scalar(s) => {
            let value = s.as_str();
            if let Some(k) = key
                && !value.contains('\n')
                && assignment::is_npm_credential_name(k, &opts.extra_credential_names)
            {
                let range = pos.scalar_range(s.span(), value);
                yaml_value(item, pos, k, value, range, opts, sink);
            }
            // Assignments inside the scalar: `- NPM_TOKEN=…` list entries,
            // script lines of block scalars.
            if !assignment::may_contain(value.as_bytes(), &opts.extra_credential_names) {
                return;
            }
            let base = pos.span_start(s.span());
            for a in assignment::find(value, &opts.extra_credential_names) {
                let v = &value[a.value.clone()];
                if a.in_comment && !sure_in_a_comment(v) {
                    continue;
                }
                let at = pos.text[base.min(pos.text.len())..]
                    .find(v)
                    .map(|i| base + i);
                if let Some(at) = at {
                    report(item, &a.name, v, at..at + v.len(), opts, sink);
                }
            }
        }
    }
}

/// Keys that hold an npm credential because of where they are, not their
/// name: Travis CI's `deploy: {provider: npm, api_key: …}` (an encrypted
/// `secure:` value is a mapping, never reported), and the token input of an
/// npm-publishing action in a workflow step (`uses: JS-DevTools/npm-publish`,
/// `with: {token: …}`).
fn npm_context_values(
    map: &marked_yaml::types::MarkedMappingNode,
) -> Vec<(&'static str, &marked_yaml::types::MarkedScalarNode)> {
    let mut out = Vec::new();
    if map
        .get_scalar("provider")
        .is_some_and(|p| p.as_str() == "npm")
        && let Some(v) = map.get_scalar("api_key")
    {
        out.push(("api_key", v));
    }
    if let Some(uses) = map.get_scalar("uses")
        && is_npm_publish_action(uses.as_str())
        && let Some(with) = map.get_mapping("with")
    {
        for key in [
            "token",
            "npm_token",
            "npm-token",
            "npm_auth_token",
            "registry-token",
        ] {
            if let Some(v) = with.get_scalar(key) {
                out.push((key, v));
            }
        }
    }
    out
}

/// An action that publishes to an npm registry with a token input.
fn is_npm_publish_action(uses: &str) -> bool {
    let name = uses.split('@').next().unwrap_or("").to_ascii_lowercase();
    name.contains("npm-publish")
        || name.contains("npm_publish")
        || name.contains("publish-npm")
        || name.contains("semantic-release")
        || name == "changesets/action"
}

/// A YAML scalar value of a credential key, at `range` in the source.
fn yaml_value(
    item: &Item,
    pos: &yaml::Positions,
    name: &str,
    value: &str,
    range: Range<usize>,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    // Travis CI encrypts values as `secure: …`: a mapping, never a scalar
    // here. A scalar whose source text differs from its value (escapes,
    // folding) is reported at its start.
    if pos.text.get(range.clone()) == Some(value) {
        report(item, name, value, range, opts, sink);
    } else {
        let end = (range.start + value.len()).min(pos.text.len());
        report(item, name, value, range.start..end, opts, sink);
    }
}

/// A printf conversion (`%s`, `%b`, `%q`, `%-20s`…) at the start of `s`.
fn printf_conversion(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('%') else {
        return false;
    };
    let spec = rest.trim_start_matches(|c: char| c.is_ascii_digit() || "-+ #.*".contains(c));
    let mut chars = spec.chars();
    matches!(
        chars.next(),
        Some('s' | 'b' | 'q' | 'd' | 'i' | 'u' | 'x' | 'X')
    ) && !chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
}

/// `echo "//registry/:_authToken=<literal>" >> ~/.npmrc`, `npm config set
/// //registry/:_authToken <literal>` and `--//registry/:_authToken=<literal>`
/// in scripts: a literal token written into npm's config.
fn scripted_npmrc(item: &Item, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    // Lines counted incrementally: matches come in order, so the whole text
    // is scanned for newlines once, not once per match.
    let (mut line, mut counted_to) = (1, 0);
    for (at, _) in text.match_indices(":_authToken") {
        let mut i = at + ":_authToken".len();
        let rest = &text[i..];
        let sep = rest.len() - rest.trim_start_matches(['=', ' ', '\t']).len();
        if sep == 0 {
            continue;
        }
        i += sep;
        // `$…` is an expansion (`${NPM_TOKEN}`, `$NPM_TOKEN`, `${{ secrets.X }}`,
        // `$(cat token)`), never a literal, whatever follows its first space.
        // `%s` is a printf conversion filled in at run time (`printf
        // '//registry/:_authToken=%s\n' "$NPM_TOKEN"`), not a literal either.
        if text[i..].starts_with('$') || printf_conversion(&text[i..]) {
            continue;
        }
        // A backslash ends the value too: `\n` in an `echo -e`/`printf`
        // string is not part of the token.
        let value_end = text[i..]
            .find(|c: char| {
                c.is_whitespace() || matches!(c, '"' | '\'' | '`' | ';' | '&' | '|' | ')' | '\\')
            })
            .map(|e| i + e)
            .unwrap_or(text.len());
        let value = &text[i..value_end];
        match classify(value, &opts.extra_placeholders) {
            ValueClass::Literal => {}
            _ => continue,
        }
        line += memchr::memchr_iter(b'\n', &text.as_bytes()[counted_to..at]).count();
        counted_to = at;
        sink.hit(
            Hit::new(
                RULE_SCRIPT_NPMRC,
                i..value_end,
                format!(
                    "literal _authToken written into npm config by {}, line {line}",
                    item.path
                ),
            )
            .with_secret(value)
            .with_detail("key", "_authToken"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scripted(text: &str) -> Vec<String> {
        let mut sink = Sink::default();
        let item = Item {
            path: "ci/publish.sh",
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        scripted_npmrc(&item, text, &DetectOptions::default(), &mut sink);
        sink.hits
            .iter()
            .map(|h| text[h.range.clone()].to_string())
            .collect()
    }

    #[test]
    fn printf_conversions_are_not_literals() {
        assert!(printf_conversion("%s\\n'"));
        assert!(printf_conversion("%-20s"));
        assert!(!printf_conversion("%NPM_TOKEN%"));
        assert!(!printf_conversion("s3cr3t"));
        let text = "printf '//registry.npmjs.org/:_authToken=%s\\n' \"$NPM_TOKEN\" > ~/.npmrc\n";
        assert!(scripted(text).is_empty(), "{:?}", scripted(text));
    }

    fn legacy(path: &str, text: &str) -> Vec<(String, String)> {
        let mut sink = Sink::default();
        let item = Item {
            path,
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        detect(&item, &DetectOptions::default(), &mut sink);
        sink.hits
            .iter()
            .filter(|h| h.rule_id == RULE_LEGACY)
            .map(|h| {
                (
                    h.details["variable"].clone(),
                    text[h.range.clone()].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn shell_fallbacks_are_literals() {
        let u = "3f2a9c1e-0b7d-4c11-9a2b-5c1f0e9a2b7d";
        let want = vec![("NPM_TOKEN".to_string(), u.to_string())];
        for text in [
            format!("NPM_TOKEN=${{NPM_TOKEN:-{u}}}\n"),
            format!("export TOKEN=\"${{NPM_TOKEN-{u}}}\"\n"),
        ] {
            assert_eq!(legacy(".env", &text), want, "{text}");
        }
        let compose =
            format!("services:\n  web:\n    environment:\n      NPM_TOKEN: ${{NPM_TOKEN:-{u}}}\n");
        assert_eq!(legacy("docker-compose.yml", &compose), want);
        // npm's and Yarn's own names for the setting.
        for (text, name) in [
            (
                format!("npm_config__authToken={u}\n"),
                "npm_config__authToken",
            ),
            (
                format!("yarn config set npmAuthToken {u}\n"),
                "npmAuthToken",
            ),
            (format!("_authToken={u}\n"), "_authToken"),
        ] {
            assert_eq!(
                legacy("ci/setup.sh", &text),
                vec![(name.to_string(), u.to_string())],
                "{text}"
            );
        }
        // `//host/:_authToken=<uuid>` is reported once, as a literal _authToken.
        let scoped = format!("echo \"//r.example/:_authToken={u}\" > .npmrc\n");
        assert!(legacy("ci/setup.sh", &scoped).is_empty());
        assert_eq!(scripted(&scoped), vec![u.to_string()]);
        // A reference with no fallback stays silent.
        assert!(legacy(".env", "NPM_TOKEN=${NPM_TOKEN}\n").is_empty());
    }

    #[test]
    fn the_shape_is_reported_and_sets_severity_and_confidence() {
        use crate::finding::{Confidence, Severity};
        let text = crate::rules::expand_templates(
            "NPM_TOKEN={{ghp_token}}\nNODE_AUTH_TOKEN={{entropy_token}}\nNPM_AUTH_TOKEN={{uuid}}\n",
        );
        let mut sink = Sink::default();
        let item = Item {
            path: ".env",
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        detect(&item, &DetectOptions::default(), &mut sink);
        let got: Vec<_> = sink
            .hits
            .iter()
            .map(|h| {
                (
                    h.rule_id,
                    h.details["shape"].as_str(),
                    h.severity,
                    h.confidence,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (
                    RULE_ASSIGNMENT,
                    "github-token",
                    Some(Severity::High),
                    Some(Confidence::High)
                ),
                (
                    RULE_ASSIGNMENT,
                    "high-entropy",
                    Some(Severity::Medium),
                    Some(Confidence::Low)
                ),
                (
                    RULE_LEGACY,
                    "uuid",
                    Some(Severity::High),
                    Some(Confidence::Medium)
                ),
            ]
        );
    }

    #[test]
    fn an_escaped_newline_ends_the_value() {
        let text = "echo -e \"//r.example/:_authToken=s3cr3tValue99x\\n\" > .npmrc\n";
        assert_eq!(scripted(text), vec!["s3cr3tValue99x"]);
    }
}

#[cfg(test)]
mod credential_name_tests {
    use super::is_credential_name;

    #[test]
    fn credential_names() {
        for n in [
            "NPM_TOKEN",
            "NODE_AUTH_TOKEN",
            "NPM_AUTH_TOKEN",
            "YARN_NPM_AUTH_TOKEN",
            "npm_config__authToken",
            "NPM_PUBLISH_TOKEN",
        ] {
            assert!(is_credential_name(n, &[]), "{n}");
        }
        for n in [
            "NPM_TOKEN_FILE",
            "NODE_AUTH_TOKEN_PATH",
            "NPM_REGISTRY_URL",
            "NODE_ENV",
            "GITHUB_TOKEN",
        ] {
            assert!(!is_credential_name(n, &[]), "{n}");
        }
        assert!(!is_credential_name(
            "NPM_BOT_TOKEN",
            &["!npm_bot_token".into()]
        ));
        assert!(is_credential_name("NPM_TOKEN", &["!NPM_BOT_TOKEN".into()]));
        assert!(!crate::detect::assignment::is_npm_credential_name(
            "registry.npmjs.org%2Fkeys.json",
            &[]
        ));
        assert!(is_credential_name(
            "REGISTRY_BEARER",
            &["registry_bearer".into()]
        ));
    }
}
