//! npm credentials assigned in `.env` files, shell scripts, Dockerfiles and
//! compose files: legacy (UUID) tokens under a credential name
//! (`NPM_TOKEN=<uuid>`, `ARG NODE_AUTH_TOKEN=<uuid>`, `NpmToken.<uuid>`), and
//! `.npmrc` lines with a literal `_authToken` that a script writes.
//!
//! A UUID with no npm context is not a finding: UUIDs are everywhere.

use super::values::{ValueClass, classify, is_placeholder};
use super::{DetectOptions, FileKind, Hit, Item, Sink, yaml};
use marked_yaml::Node;
use regex::Regex;
use std::sync::OnceLock;

pub const RULE_LEGACY: &str = "npm-legacy-token";
pub const RULE_SCRIPT_NPMRC: &str = "npmrc-literal-auth-token";

fn uuid_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"\b(?:NpmToken\.)?([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\b")
            .expect("valid regex")
    })
}

/// The name to the left of an assignment ending right before `at`:
/// `NAME=`, `NAME: `, `NAME ` (Dockerfile `ENV NAME value`), optionally quoted.
fn assigned_name(line: &str, at: usize) -> Option<&str> {
    // `NAME=${NPM_TOKEN:-<uuid>}`: the fallback is what NPM_TOKEN gets.
    if let Some(open) = line[..at].rfind("${") {
        let inner = &line[open + 2..at];
        if let Some(name) = [":-", ":=", "-", "="]
            .iter()
            .find_map(|op| inner.strip_suffix(op))
            .filter(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            return Some(name);
        }
    }
    let before = line[..at].trim_end_matches(['"', '\'']);
    let before = before.trim_end();
    let before = before
        .strip_suffix('=')
        .or_else(|| before.strip_suffix(':'))
        .unwrap_or(before)
        .trim_end()
        .trim_end_matches(['"', '\'']);
    // Start right after the last character that cannot be in a name (which
    // may be several bytes long: step over the whole character).
    let start = before
        .char_indices()
        .rev()
        .find(|(_, c)| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '.'))
        .map(|(i, c)| i + c.len_utf8())
        .unwrap_or(0);
    let name = &before[start..];
    (!name.is_empty()).then_some(name)
}

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
    // `NPM_TOKEN_FILE=/run/secrets/npm` names where a token is, not a token.
    const NOT_A_VALUE: &[&str] = &[
        "_file", "_path", "_dir", "_url", "_name", "_type", "_enabled", "_env",
    ];
    if NOT_A_VALUE.iter().any(|s| lower.ends_with(s)) {
        return false;
    }
    let npmish = lower.contains("npm") || lower.contains("node_auth") || lower.contains("yarn");
    let credish = ["token", "auth", "pass", "secret", "key"]
        .iter()
        .any(|w| lower.contains(w));
    npmish && credish
}

/// YAML files are walked as YAML (compose, workflows, YAML CI configs);
/// the rest line by line as shell/dotenv/Dockerfile assignments.
fn is_yaml(path: &str) -> bool {
    let lower = path.to_ascii_lowercase();
    matches!(
        FileKind::of(path),
        FileKind::Compose | FileKind::Workflow | FileKind::Action
    ) || lower.ends_with(".yml")
        || lower.ends_with(".yaml")
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    // Invalid bytes become one `?` each, so spans still point at the bytes.
    let (text, _) = super::text_keeping_offsets(item.bytes);
    if is_yaml(item.path) {
        // Every document of the stream: compose overrides and CI files may
        // hold several.
        match yaml::parse_all(&text) {
            Ok(docs) => {
                let positions = yaml::Positions::new(&text);
                for root in &docs {
                    walk_yaml(item, &text, &positions, root, None, opts, sink);
                }
                scripted_npmrc(item, &text, opts, sink);
                return;
            }
            Err(e) => {
                // Workflows and actions have their own analyser that
                // reports the parse error; say it once.
                if !matches!(
                    FileKind::of(item.tree_path()),
                    FileKind::Workflow | FileKind::Action
                ) {
                    sink.warn(item.path, format!("{e}; falling back to line matching"));
                }
            }
        }
    }
    lines(item, &text, opts, sink);
    scripted_npmrc(item, &text, opts, sink);
}

fn legacy_hit(item: &Item, range: std::ops::Range<usize>, uuid: &str, name: &str) -> Hit {
    Hit::new(
        RULE_LEGACY,
        range,
        format!(
            "legacy (UUID) npm token assigned to {name} in {}",
            item.path
        ),
    )
    .with_secret(uuid)
    .with_detail("variable", name)
}

fn lines(item: &Item, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.starts_with("//") {
            continue;
        }
        for caps in uuid_re().captures_iter(line) {
            let whole = caps.get(0).expect("group 0");
            let uuid = caps.get(1).expect("group 1");
            if is_placeholder(uuid.as_str(), &opts.extra_placeholders) {
                continue;
            }
            let nexus = whole.as_str().starts_with("NpmToken.");
            let name = assigned_name(line, whole.start());
            let npm_key =
                name.is_some_and(|n| n.ends_with("_authToken") || n.ends_with("npmAuthToken"));
            let named = name.is_some_and(|n| is_credential_name(n, &opts.extra_credential_names));
            if !(nexus || npm_key || named) {
                continue;
            }
            let label = if nexus {
                "NpmToken"
            } else {
                name.unwrap_or("?")
            };
            // Leave `//host/:_authToken=<uuid>` to the scripted-.npmrc check,
            // which reports it as a literal _authToken. Everything else
            // (`npm_config__authToken=`, `yarn config set npmAuthToken …`,
            // an unscoped `_authToken=`) is reported here.
            let before = &line[..whole.start()];
            let scripted = name == Some("_authToken")
                && [":_authToken=", ":_authToken ", ":_authToken\t"]
                    .iter()
                    .any(|k| before.contains(k));
            if scripted {
                continue;
            }
            sink.hit(legacy_hit(
                item,
                line_start + whole.start()..line_start + whole.end(),
                whole.as_str(),
                label,
            ));
        }
    }
}

/// Walk a YAML document: every `NAME: value` pair and every `NAME=value`
/// list entry or script line, at any depth (compose `environment` and
/// `build.args`, workflow `env:`, CI `variables:` and `script:` lines).
fn walk_yaml(
    item: &Item,
    text: &str,
    pos: &yaml::Positions,
    node: &Node,
    key: Option<&str>,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    match node {
        Node::Mapping(map) => {
            for (k, v) in map.iter() {
                walk_yaml(item, text, pos, v, Some(k.as_str()), opts, sink);
            }
        }
        Node::Sequence(seq) => {
            for v in seq.iter() {
                walk_yaml(item, text, pos, v, None, opts, sink);
            }
        }
        Node::Scalar(s) => {
            let value = s.as_str();
            let base = pos.span_start(s.span());
            // Multi-line scalars (scripts) hold assignments line by line.
            if value.contains('\n') {
                for line in value.lines() {
                    if let Some((n, v)) = line.trim().split_once('=') {
                        let n = n.trim().rsplit(' ').next().unwrap_or(n);
                        scalar_assignment(item, text, base, n, v.trim(), opts, sink);
                    }
                }
                return;
            }
            match key {
                Some(k) => scalar_assignment(item, text, base, k, value, opts, sink),
                None => {
                    if let Some((n, v)) = value.split_once('=') {
                        let n = n.trim().rsplit(' ').next().unwrap_or(n);
                        scalar_assignment(item, text, base, n, v.trim(), opts, sink);
                    }
                }
            }
        }
    }
}

/// `name` is assigned `val` somewhere at or after byte `from` of `text`:
/// report a UUID value under a credential name (or any Nexus token).
fn scalar_assignment(
    item: &Item,
    text: &str,
    from: usize,
    name: &str,
    val: &str,
    opts: &DetectOptions,
    sink: &mut Sink,
) {
    let val = val.trim_matches(['"', '\'']);
    // `${NPM_TOKEN:-<uuid>}` (compose, shell): the fallback is a literal.
    let val = shell_fallback(val).unwrap_or(val);
    let Some(caps) = uuid_re().captures(val) else {
        return;
    };
    let whole = caps.get(0).expect("group 0");
    if whole.start() != 0 {
        return;
    }
    let nexus = whole.as_str().starts_with("NpmToken.");
    if !(nexus || is_credential_name(name, &opts.extra_credential_names))
        || is_placeholder(&caps[1], &opts.extra_placeholders)
    {
        return;
    }
    let range = match text[from.min(text.len())..].find(whole.as_str()) {
        Some(i) => from + i..from + i + whole.len(),
        None => from..from + 1,
    };
    sink.hit(legacy_hit(item, range, whole.as_str(), name));
}

/// The fallback of `${NAME:-fallback}` (or `-`, `:=`, `=`), if `val` is one.
fn shell_fallback(val: &str) -> Option<&str> {
    let inner = val.strip_prefix("${")?.strip_suffix('}')?;
    let name_end = inner.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
    let rest = &inner[name_end..];
    [":-", ":=", "-", "="]
        .iter()
        .find_map(|op| rest.strip_prefix(op))
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
        assert!(is_credential_name(
            "REGISTRY_BEARER",
            &["registry_bearer".into()]
        ));
    }
}
