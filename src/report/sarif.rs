//! `--format sarif`: one SARIF 2.1.0 log that GitHub code scanning accepts.
//!
//! The log is assembled from `serde-sarif`'s typed builders, so the shape is
//! checked by the compiler rather than by eye. GitHub rejects uploads over its
//! documented limits, so this module also decides what to leave out when a
//! sweep finds too much, and says so in a tool notification.
//!
//! Nothing secret goes in: messages and details are scrubbed of the raw
//! value, previews are redacted, and fingerprints are hashes.

use super::ReportOptions;
use crate::finding::{Finding, Origin, Severity, Span};
use crate::rules::{Registry, Rule};
use crate::scan::Report;
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};
use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, Notification,
    PhysicalLocation, PropertyBag, Region, ReportingConfiguration, ReportingDescriptor,
    Result as SarifResult, ResultLevel, Run, RunAutomationDetails, Sarif, Suppression, Tool,
    ToolComponent,
};
use std::cmp::Reverse;
use std::collections::{BTreeMap, HashMap};
use std::io::{self, Write};

/// The `$schema` GitHub and the SARIF validators expect for 2.1.0.
pub const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// GitHub rejects a run with more results than this.
pub const MAX_RESULTS: usize = 25_000;

/// Budget for the results' compact JSON. GitHub's limit is 10 MB *gzipped*;
/// SARIF results are repetitive text that gzip shrinks far more than 4:1,
/// so keeping the uncompressed results under 40 MiB keeps the upload under
/// the limit with margin (the test suite checks the ratio with `gzip`).
pub const MAX_RESULTS_BYTES: usize = 40 * 1024 * 1024;

/// GitHub shows 10 tags per rule (and rejects more than 20).
const MAX_TAGS: usize = 10;
/// GitHub's limit for `reportingDescriptor.name`.
const MAX_RULE_NAME_CHARS: usize = 255;
/// GitHub's limit for short and full descriptions.
const MAX_DESCRIPTION_CHARS: usize = 1024;
/// Warnings beyond this many are summarised in one notification, so a tree
/// of unreadable files cannot blow up the log.
const MAX_NOTIFICATIONS: usize = 1_000;

/// The uri base every result location is relative to.
const SRCROOT: &str = "%SRCROOT%";

/// Bytes that may not appear raw in a URI path segment (RFC 3986), plus `:`
/// (a colon in a relative path's first segment would read as a scheme).
/// Everything outside ASCII is always encoded.
const PATH_SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'[')
    .add(b'\\')
    .add(b']')
    .add(b'^')
    .add(b'`')
    .add(b'{')
    .add(b'|')
    .add(b'}')
    .add(b':');

pub fn write(report: &Report, opts: &ReportOptions, out: &mut dyn Write) -> io::Result<()> {
    let (log, capped) = assemble(report, opts.sarif_category.as_deref());
    // The notification inside the log is easy to miss in CI; say it where
    // the other warnings go too.
    if let Some(message) = capped.filter(|_| !opts.quiet) {
        eprintln!("npmsweep: warning: {message}");
    }
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// Build the whole log: one run, every rule, the findings that fit.
pub fn build(report: &Report, category: Option<&str>) -> Sarif {
    assemble(report, category).0
}

/// The log, and the message saying what was left out when a GitHub limit
/// forced a cap.
fn assemble(report: &Report, category: Option<&str>) -> (Sarif, Option<String>) {
    let registry = Registry::global();
    let rules: Vec<&Rule> = registry.all().collect();
    let rule_index: HashMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.id.as_str(), i))
        .collect();

    let selection = select_results(
        &report.findings,
        &rule_index,
        MAX_RESULTS,
        MAX_RESULTS_BYTES,
    );
    let capped = (selection.dropped() > 0).then(|| dropped_message(report, &selection));
    let notifications = notifications(report, capped.as_deref());

    let driver = ToolComponent::builder()
        .name("npmsweep")
        .semantic_version(env!("CARGO_PKG_VERSION"))
        .information_uri(env!("CARGO_PKG_REPOSITORY"))
        .rules(rules.iter().map(|r| rule_descriptor(r)).collect::<Vec<_>>())
        .build();

    let invocation = Invocation::builder()
        // A scan that read nothing did not succeed, whatever it found.
        .execution_successful(report.stats.items > 0 || report.stats.skipped == 0)
        .tool_execution_notifications(notifications)
        .build();

    let mut base_ids = BTreeMap::new();
    base_ids.insert(
        SRCROOT.to_string(),
        ArtifactLocation::builder()
            .description(Message::from(
                "The directory npmsweep scanned; run it from the repository root so result paths are repository-relative.",
            ))
            .build(),
    );

    let mut run_properties = BTreeMap::new();
    run_properties.insert("command".to_string(), json!(command_name(report)));
    run_properties.insert("items_scanned".to_string(), json!(report.stats.items));
    run_properties.insert("bytes_scanned".to_string(), json!(report.stats.bytes));
    run_properties.insert("skipped".to_string(), json!(report.stats.skipped));
    run_properties.insert("findings".to_string(), json!(report.findings.len()));
    run_properties.insert("results_dropped".to_string(), json!(selection.dropped()));
    run_properties.insert("publish_readiness".to_string(), report.readiness.to_json());

    let run = Run::builder()
        .tool(Tool::from(driver))
        .automation_details(
            RunAutomationDetails::builder()
                .id(automation_id(category, command_name(report)))
                .build(),
        )
        .original_uri_base_ids(base_ids)
        .column_kind(json!("unicodeCodePoints"))
        .invocations(vec![invocation])
        .results(selection.results)
        .properties(
            PropertyBag::builder()
                .additional_properties(run_properties)
                .build(),
        )
        .build();

    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    (log, capped)
}

fn command_name(report: &Report) -> &str {
    if report.command.is_empty() {
        "scan"
    } else {
        &report.command
    }
}

/// `runAutomationDetails.id`: GitHub reads the text up to the last `/` as
/// the category, so a category always ends with one. Separate categories let
/// a tree upload and a history upload coexist without overwriting each other.
pub fn automation_id(category: Option<&str>, command: &str) -> String {
    match category.map(str::trim).filter(|c| !c.is_empty()) {
        Some(c) if c.ends_with('/') => c.to_string(),
        Some(c) => format!("{c}/"),
        None => format!("npmsweep/{command}/"),
    }
}

// ---------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------

/// A minimal trusted-publishing workflow, appended to the help of rules whose
/// remediation does not already show one: the fix for most leaked publish
/// tokens is not to have one.
const TRUSTED_PUBLISHING_MARKDOWN: &str = r#"## Publish from CI without a token

npm's trusted publishing (OIDC) lets a GitHub Actions job publish with a
short-lived credential minted for that run, so there is no long-lived token
to leak. Link the package to the repository and workflow file on npmjs.com
(package *Settings → Trusted publishing*), then publish from that workflow:

```yaml
name: Publish
on:
  release:
    types: [published]
permissions:
  contents: read
jobs:
  publish:
    runs-on: ubuntu-latest        # GitHub-hosted; self-hosted runners are not supported
    permissions:
      contents: read
      id-token: write             # lets npm exchange the job's OIDC token
    steps:
      - uses: {{policy.checkout_action}}
        with:
          persist-credentials: false
      - uses: {{policy.setup_node_action}}
        with:
          node-version: 24
          registry-url: https://registry.npmjs.org
      # The OIDC exchange needs npm {{policy.npm_oidc_version}} or newer; staying on npm 11 avoids
      # npm 12's new install defaults until you choose them.
      - run: npm install -g npm@^{{policy.npm_stage_version}}
      # npm 12 runs dependency install scripts only when package.json allows them.
      - run: npm ci
      - run: npm publish          # no NODE_AUTH_TOKEN: npm uses OIDC, provenance is automatic
```

Then revoke the old publish token ({{policy.revoke_npm_token}}) and delete the
`NPM_TOKEN` secret. To have a maintainer approve each release with 2FA, run
`npm stage publish` instead of `npm publish` (npm {{policy.npm_stage_version}} or newer)."#;

/// Every rule's descriptor as JSON, in registry order (a result's
/// `ruleIndex` is its rule's position): for SARIF written elsewhere
/// (`npmsweep merge --sarif-dir`).
pub fn rule_descriptors_json() -> Vec<Value> {
    Registry::global()
        .all()
        .map(|r| serde_json::to_value(rule_descriptor(r)).expect("a descriptor serialises"))
        .collect()
}

fn rule_descriptor(rule: &Rule) -> ReportingDescriptor {
    let description = rule.description.trim();
    let remediation = rule.remediation.trim();
    let docs = rule.docs_url();
    let mut help = format!("{description}\n\n## Remediation\n\n{remediation}\n");
    // A remediation that already shows an OIDC job does not need ours too.
    if !remediation.contains("id-token: write") {
        help.push('\n');
        help.push_str(
            &crate::rules::Policy::global()
                .interpolate(TRUSTED_PUBLISHING_MARKDOWN)
                .unwrap_or_else(|e| panic!("trusted-publishing help: {e}")),
        );
        help.push('\n');
    }
    let help_markdown = format!("{help}\n[Rule documentation]({docs})\n");
    let help_text = format!("{help}\nRule documentation: {docs}\n");

    let mut properties = BTreeMap::new();
    properties.insert("precision".to_string(), json!(rule.precision));
    // A string, as GitHub expects; one decimal is what its docs show.
    properties.insert(
        "security-severity".to_string(),
        json!(format!("{:.1}", rule.security_severity)),
    );

    ReportingDescriptor::builder()
        .id(rule.id.as_str())
        .name(truncate_clean(&pascal_case(&rule.id), MAX_RULE_NAME_CHARS))
        .short_description(plain(truncate_clean(
            rule.title.trim(),
            MAX_DESCRIPTION_CHARS,
        )))
        .full_description(plain(truncate_clean(description, MAX_DESCRIPTION_CHARS)))
        .help(
            MultiformatMessageString::builder()
                .text(help_text)
                .markdown(help_markdown)
                .build(),
        )
        .help_uri(docs)
        .default_configuration(
            ReportingConfiguration::builder()
                .level(json!(level_name(level(rule.severity))))
                .build(),
        )
        .properties(
            PropertyBag::builder()
                .tags(rule_tags(rule))
                .additional_properties(properties)
                .build(),
        )
        .build()
}

fn plain(text: String) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(text).build()
}

/// Rule tags, deduplicated, `security` first (every npmsweep rule is a
/// security rule), at most the number GitHub displays.
fn rule_tags(rule: &Rule) -> Vec<String> {
    let mut tags = vec!["security".to_string()];
    for t in &rule.tags {
        let t = t.trim();
        if !t.is_empty() && !tags.iter().any(|have| have == t) {
            tags.push(t.to_string());
        }
    }
    tags.truncate(MAX_TAGS);
    tags
}

/// `npm-token` → `NpmToken`: SARIF wants a name distinct from the id.
fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_uppercase().collect::<String>());
            first.unwrap_or_default() + chars.as_str()
        })
        .collect()
}

/// Cut `text` to at most `max` characters at a word boundary, ending with
/// an ellipsis, so a truncated description still reads as prose.
pub fn truncate_clean(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let cut: String = text.chars().take(max.saturating_sub(1)).collect();
    let at_word = match cut.rfind(char::is_whitespace) {
        // Only back off to a word boundary when it is reasonably close.
        Some(i) if cut[i..].chars().count() < 40 => &cut[..i],
        _ => cut.as_str(),
    };
    format!("{}…", at_word.trim_end())
}

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

fn level_name(level: ResultLevel) -> &'static str {
    match level {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

// ---------------------------------------------------------------------------
// Results and the limits
// ---------------------------------------------------------------------------

/// The results that fit in one run, and what was left out.
struct Selection {
    results: Vec<SarifResult>,
    /// Left out because the run would exceed [`MAX_RESULTS`].
    dropped_for_count: usize,
    /// Left out because the log would exceed [`MAX_RESULTS_BYTES`].
    dropped_for_size: usize,
    /// Severities of the findings left out, for the notification.
    dropped_by_severity: BTreeMap<Severity, usize>,
}

impl Selection {
    fn dropped(&self) -> usize {
        self.dropped_for_count + self.dropped_for_size
    }
}

/// Convert findings to results, keeping the most important ones when a limit
/// forces a choice: open before suppressed, then by severity and confidence,
/// then in report order. The kept results are written in report order, so
/// the output does not depend on which limit applied.
fn select_results(
    findings: &[Finding],
    rule_index: &HashMap<&str, usize>,
    max_results: usize,
    max_bytes: usize,
) -> Selection {
    // Report order, recomputed so a source that forgot to sort cannot make
    // the output non-deterministic.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by(|&a, &b| findings[a].sort_key().cmp(&findings[b].sort_key()));

    // The n-th result with the same fingerprint (one secret twice in a file)
    // gets its own line hash, as GitHub's own `:n` suffix does.
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut occurrence = vec![0usize; findings.len()];
    for &i in &order {
        let n = seen.entry(findings[i].fingerprint.as_str()).or_insert(0);
        *n += 1;
        occurrence[i] = *n;
    }

    let mut position = vec![0usize; findings.len()];
    for (pos, &i) in order.iter().enumerate() {
        position[i] = pos;
    }
    let mut ranked = order.clone();
    ranked.sort_by_key(|&i| {
        let f = &findings[i];
        (
            f.suppressed.is_some(),
            Reverse(f.severity),
            Reverse(f.confidence),
            position[i],
        )
    });

    let mut kept: Vec<(usize, SarifResult)> = Vec::new();
    let mut bytes = 0usize;
    let mut selection = Selection {
        results: Vec::new(),
        dropped_for_count: 0,
        dropped_for_size: 0,
        dropped_by_severity: BTreeMap::new(),
    };
    for (rank, &i) in ranked.iter().enumerate() {
        let f = &findings[i];
        if rank >= max_results {
            selection.dropped_for_count += 1;
            *selection.dropped_by_severity.entry(f.severity).or_default() += 1;
            continue;
        }
        if selection.dropped_for_size > 0 {
            // Once one result did not fit, lower-ranked ones are left out
            // too, so what is kept is always a prefix of the ranking.
            selection.dropped_for_size += 1;
            *selection.dropped_by_severity.entry(f.severity).or_default() += 1;
            continue;
        }
        let result = result(
            f,
            rule_index.get(f.rule_id.as_str()).copied(),
            occurrence[i],
        );
        let size = json_size(&result);
        if bytes + size > max_bytes {
            selection.dropped_for_size += 1;
            *selection.dropped_by_severity.entry(f.severity).or_default() += 1;
            continue;
        }
        bytes += size;
        kept.push((position[i], result));
    }
    kept.sort_by_key(|(pos, _)| *pos);
    selection.results = kept.into_iter().map(|(_, r)| r).collect();
    selection
}

/// Length of a value's compact JSON, counted without building the string.
fn json_size(value: &impl serde::Serialize) -> usize {
    struct Count(usize);
    impl Write for Count {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    // Serialising our own types to a sink that never fails cannot fail.
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}

fn result(f: &Finding, rule_index: Option<usize>, occurrence: usize) -> SarifResult {
    let mut fingerprints = BTreeMap::new();
    // The finding fingerprint is already a hash of rule, path and the
    // secret's hash, so the alert survives unrelated lines moving; the
    // `:n` suffix follows GitHub's own format. Never derived from the secret
    // itself.
    let stem = f.fingerprint.get(..16).unwrap_or(&f.fingerprint);
    fingerprints.insert(
        "primaryLocationLineHash".to_string(),
        format!("{stem}:{occurrence}"),
    );
    fingerprints.insert("npmsweep/v1".to_string(), f.fingerprint.clone());

    let builder = SarifResult::builder()
        .rule_id(f.rule_id.as_str())
        .level(level(f.severity))
        .message(Message::from(message_text(f).as_str()))
        .locations(vec![location(f)])
        .partial_fingerprints(fingerprints)
        .properties(
            PropertyBag::builder()
                .additional_properties(result_properties(f))
                .build(),
        );
    let suppressions = f.suppressed.as_ref().map(|reason| {
        vec![
            Suppression::builder()
                .kind(json!("inSource"))
                // GitHub closes the alert of a result with an accepted suppression.
                .status(json!("accepted"))
                .justification(scrub(f, reason))
                .build(),
        ]
    });
    let mut result = match (rule_index, suppressions) {
        (Some(idx), Some(s)) => builder.rule_index(idx as i64).suppressions(s).build(),
        (Some(idx), None) => builder.rule_index(idx as i64).build(),
        (None, Some(s)) => builder.suppressions(s).build(),
        (None, None) => builder.build(),
    };
    // `--verify`: SARIF's rank (0–100, higher first) puts live credentials on top.
    result.rank = f.verification.as_ref().map(|v| match v.status {
        crate::verify::Status::Live => 100.0,
        crate::verify::Status::Unknown => 50.0,
        crate::verify::Status::Dead => 10.0,
    });
    result
}

/// The alert title: the detector's message, then, for history findings,
/// where in history it is. The first sentence stands on its own because
/// GitHub shows only that when space is short.
fn message_text(f: &Finding) -> String {
    let mut text = scrub(f, f.message.trim());
    if text.is_empty() {
        text = format!("{} finding", f.rule_id);
    }
    if !text.ends_with(['.', '!', '?']) {
        text.push('.');
    }
    if let Some(member) = f.details.get("archive_member") {
        text.push_str(&format!(
            " In archive member {}, line {}, column {}.",
            scrub(f, member),
            f.span.start_line,
            f.span.start_column
        ));
    }
    // The location is the directory above a redacted name: say which file.
    let located = f
        .details
        .get("archive")
        .map_or(f.path.as_str(), |a| a.as_str());
    if crate::redact::unredacted_dir(located).is_some() {
        text.push_str(&format!(
            " In {} (path redacted: it names a credential), line {}.",
            scrub(f, &f.path),
            f.span.start_line
        ));
    }
    if let Some(p) = &f.provenance {
        let short = &p.commit[..p.commit.len().min(12)];
        let refs = if p.refs.is_empty() && p.pull_request_refs == 0 && p.bot_refs == 0 {
            "no branch or tag".to_string()
        } else {
            crate::history::refs::describe(&p.refs, p.more_refs, p.pull_request_refs, p.bot_refs, 3)
        };
        let head = if p.in_head {
            "still present in HEAD"
        } else {
            "no longer in HEAD, but still in history"
        };
        text.push_str(&format!(
            " Found in git history: introduced in commit {short} (authored {}), reachable from {refs}; {head}.",
            p.date
        ));
    }
    text
}

/// Machine-readable facts about the finding. Safe by construction: the
/// preview is redacted and the detector details are scrubbed.
fn result_properties(f: &Finding) -> BTreeMap<String, Value> {
    let mut props = BTreeMap::new();
    props.insert("severity".to_string(), json!(f.severity.as_str()));
    props.insert("confidence".to_string(), json!(f.confidence.as_str()));
    if let Some(preview) = &f.preview {
        props.insert("redacted_preview".to_string(), json!(scrub(f, preview)));
    }
    if !f.details.is_empty() {
        let details: BTreeMap<&str, String> = f
            .details
            .iter()
            .map(|(k, v)| (k.as_str(), scrub(f, v)))
            .collect();
        props.insert("details".to_string(), json!(details));
    }
    let origin = match &f.origin {
        Origin::Worktree => "worktree",
        Origin::Index => "index",
        Origin::Stdin => "stdin",
        Origin::Blob { blob_id } => {
            props.insert("blob_id".to_string(), json!(blob_id));
            "blob"
        }
    };
    props.insert("origin".to_string(), json!(origin));
    if let Some(v) = &f.verification {
        props.insert("verification".to_string(), json!(v));
    }
    if let Some(p) = &f.provenance {
        props.insert("commit".to_string(), json!(p.commit));
        props.insert("date".to_string(), json!(p.date));
        props.insert("refs".to_string(), json!(p.refs));
        if p.more_refs > 0 {
            props.insert("more_refs".to_string(), json!(p.more_refs));
        }
        props.insert("pull_request_refs".to_string(), json!(p.pull_request_refs));
        props.insert("bot_refs".to_string(), json!(p.bot_refs));
        props.insert(
            "introduced_only_in_pull_request".to_string(),
            json!(p.introduced_only_in_pull_request),
        );
        props.insert("in_head".to_string(), json!(p.in_head));
        props.insert("at_head".to_string(), json!(p.at_head));
        props.insert("commits".to_string(), json!(p.commits));
        props.insert("secret_commits".to_string(), json!(p.secret_commits));
    }
    props
}

/// Defence in depth: detectors never put the secret in text, but if one
/// ever did, the SARIF file still must not carry it.
fn scrub(f: &Finding, text: &str) -> String {
    match &f.secret {
        Some(s) if !s.expose().is_empty() && text.contains(s.expose()) => {
            text.replace(s.expose(), &s.preview())
        }
        _ => text.to_string(),
    }
}

/// The region of a location that is a whole file (or directory).
const FIRST_LINE: Span = Span {
    start_line: 1,
    start_column: 1,
    end_line: 1,
    end_column: 2,
};

fn location(f: &Finding) -> Location {
    // A finding inside an archive points at the archive file, at line 1:
    // `a.tgz!package/.npmrc` is no file GitHub knows, and a line of the
    // member is no line of the archive. The member and its line are in the
    // message and in the `archive_member` detail.
    let (path, span) = match f.details.get("archive") {
        Some(archive) => (archive.as_str(), FIRST_LINE),
        None => (f.path.as_str(), f.span),
    };
    // A path with a redacted name (a file named after a token) exists only
    // unredacted: point at the directory above that name, which exists and
    // names nothing secret; the message gives the redacted path.
    let (path, span) = match crate::redact::unredacted_dir(path) {
        Some(dir) => (dir, FIRST_LINE),
        None => (path, span),
    };
    let (uri, relative) = artifact_uri(path);
    let artifact = if relative {
        ArtifactLocation::builder()
            .uri(uri)
            .uri_base_id(SRCROOT)
            .build()
    } else {
        ArtifactLocation::builder().uri(uri).build()
    };
    Location::builder()
        .physical_location(
            PhysicalLocation::builder()
                .artifact_location(artifact)
                .region(region(span))
                .build(),
        )
        .build()
}

/// A finding path as a URI reference: relative paths stay relative (to
/// `%SRCROOT%`), absolute ones become `file://` URIs, which GitHub
/// relativises against the checkout. Returns the URI and whether it is
/// relative.
pub fn artifact_uri(path: &str) -> (String, bool) {
    let mut p = path.replace('\\', "/");
    while let Some(rest) = p.strip_prefix("./") {
        p = rest.to_string();
    }
    let encode = |s: &str| utf8_percent_encode(s, PATH_SEGMENT).to_string();
    let is_drive = p.len() >= 3
        && p.as_bytes()[0].is_ascii_alphabetic()
        && p.as_bytes()[1] == b':'
        && p.as_bytes()[2] == b'/';
    if is_drive {
        // Keep the drive colon: it is part of an absolute file URI's path.
        (format!("file:///{}:{}", &p[..1], encode(&p[2..])), false)
    } else if p.starts_with('/') {
        (format!("file://{}", encode(&p)), false)
    } else if p.is_empty() {
        (".".to_string(), true)
    } else {
        (encode(&p), true)
    }
}

/// SARIF regions are 1-based with an exclusive end column; GitHub rejects
/// zeros, so clamp rather than trust every detector.
fn region(span: Span) -> Region {
    let start_line = span.start_line.max(1);
    let start_column = span.start_column.max(1);
    let end_line = span.end_line.max(start_line);
    let mut end_column = span.end_column.max(1);
    if end_line == start_line && end_column < start_column {
        end_column = start_column;
    }
    Region::builder()
        .start_line(start_line as i64)
        .start_column(start_column as i64)
        .end_line(end_line as i64)
        .end_column(end_column as i64)
        .build()
}

// ---------------------------------------------------------------------------
// Notifications
// ---------------------------------------------------------------------------

fn notifications(report: &Report, capped: Option<&str>) -> Vec<Notification> {
    let mut list = Vec::new();
    if let Some(message) = capped {
        list.push(notification("warning", message));
    }
    let warnings = &report.stats.warnings;
    for w in warnings.iter().take(MAX_NOTIFICATIONS) {
        list.push(notification("warning", w));
    }
    if warnings.len() > MAX_NOTIFICATIONS {
        list.push(notification(
            "warning",
            &format!(
                "{} more warnings not listed here; run with --format json to see them all.",
                warnings.len() - MAX_NOTIFICATIONS
            ),
        ));
    }
    for n in report.stats.notes.iter().take(MAX_NOTIFICATIONS) {
        list.push(notification("note", n));
    }
    list
}

fn dropped_message(report: &Report, selection: &Selection) -> String {
    let kept = report.findings.len() - selection.dropped();
    let by_severity: Vec<String> = Severity::ALL
        .iter()
        .filter_map(|s| {
            selection
                .dropped_by_severity
                .get(s)
                .map(|n| format!("{n} {s}"))
        })
        .collect();
    let mut why = Vec::new();
    if selection.dropped_for_count > 0 {
        why.push(format!(
            "GitHub code scanning rejects a run with more than {MAX_RESULTS} results"
        ));
    }
    if selection.dropped_for_size > 0 {
        why.push("GitHub rejects SARIF uploads over 10 MB compressed".to_string());
    }
    format!(
        "This log holds {kept} of {} findings: {}, so the {} least severe were left out ({}). Run npmsweep with --format json for the complete list.",
        report.findings.len(),
        why.join(" and "),
        selection.dropped(),
        by_severity.join(", ")
    )
}

fn notification(level: &str, text: &str) -> Notification {
    Notification::builder()
        .level(json!(level))
        .message(Message::from(text))
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Confidence, Provenance, Secret, fingerprint};
    use crate::source::SourceStats;

    fn finding(path: &str, line: usize, severity: Severity, secret: &str) -> Finding {
        Finding {
            rule_id: "npm-token".into(),
            severity,
            confidence: Confidence::High,
            path: path.into(),
            span: Span {
                start_line: line,
                start_column: 3,
                end_line: line,
                end_column: 43,
            },
            message: "npm access token".into(),
            preview: Some(crate::finding::redact(secret)),
            secret: Some(Secret::new(secret)),
            fingerprint: fingerprint("npm-token", path, &Secret::new(secret).id()),
            origin: Origin::Worktree,
            details: BTreeMap::new(),
            binding: BTreeMap::new(),
            legacy_fingerprint: None,
            suppressed: None,
            provenance: None,
            verification: None,
        }
    }

    fn report(findings: Vec<Finding>) -> Report {
        Report {
            command: "scan".into(),
            findings,
            readiness: Default::default(),
            stats: SourceStats::default(),
            repository: None,
            elapsed: Default::default(),
        }
    }

    fn rule_indexes() -> HashMap<&'static str, usize> {
        Registry::global()
            .all()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect()
    }

    fn to_json(log: &Sarif) -> Value {
        serde_json::to_value(log).expect("serialisable")
    }

    #[test]
    fn uris_are_relative_encoded_and_forward_slashed() {
        assert_eq!(artifact_uri("a/b/.npmrc"), ("a/b/.npmrc".into(), true));
        assert_eq!(
            artifact_uri("./dir with space/#x.env"),
            ("dir%20with%20space/%23x.env".into(), true)
        );
        assert_eq!(
            artifact_uri("docs\\ünï.md"),
            ("docs/%C3%BCn%C3%AF.md".into(), true)
        );
        assert_eq!(
            artifact_uri("c:weird/100%"),
            ("c%3Aweird/100%25".into(), true)
        );
        assert_eq!(
            artifact_uri("/abs/p q"),
            ("file:///abs/p%20q".into(), false)
        );
        assert_eq!(artifact_uri("C:\\x\\y"), ("file:///C:/x/y".into(), false));
    }

    #[test]
    fn category_always_ends_with_a_slash() {
        assert_eq!(automation_id(None, "scan"), "npmsweep/scan/");
        assert_eq!(automation_id(None, "history"), "npmsweep/history/");
        assert_eq!(automation_id(Some("tree"), "scan"), "tree/");
        assert_eq!(automation_id(Some("a/b/"), "scan"), "a/b/");
        assert_eq!(automation_id(Some("  "), "scan"), "npmsweep/scan/");
    }

    #[test]
    fn truncation_is_clean_and_bounded() {
        let long = "word ".repeat(400);
        let t = truncate_clean(&long, 1024);
        assert!(t.chars().count() <= 1024);
        assert!(t.ends_with("word…"), "{t}");
        assert_eq!(truncate_clean("short", 1024), "short");
        let unbroken = "x".repeat(2000);
        assert_eq!(truncate_clean(&unbroken, 10).chars().count(), 10);
    }

    #[test]
    fn pascal_case_names() {
        assert_eq!(pascal_case("npm-token"), "NpmToken");
        assert_eq!(pascal_case("gha-npm_long-lived"), "GhaNpmLongLived");
    }

    #[test]
    fn regions_are_never_zero() {
        let r = serde_json::to_value(region(Span {
            start_line: 0,
            start_column: 0,
            end_line: 0,
            end_column: 0,
        }))
        .unwrap();
        assert_eq!(
            r,
            json!({"startLine": 1, "startColumn": 1, "endLine": 1, "endColumn": 1})
        );
    }

    #[test]
    fn cap_keeps_the_most_severe_in_report_order_and_says_so() {
        // Over the limit with a mix of severities; the critical ones sit at
        // the end of the report order and must all survive the cap.
        let total = MAX_RESULTS + 1_500;
        let template = finding("p.env", 1, Severity::Low, "value-abcdefgh");
        let mut findings = Vec::with_capacity(total);
        for i in 0..total {
            let severity = if i >= total - 1_000 {
                Severity::Critical
            } else if i % 2 == 0 {
                Severity::Low
            } else {
                Severity::Medium
            };
            findings.push(Finding {
                path: format!("p/{i:06}.env"),
                // A distinct stand-in: hashing 26,500 secrets in a debug
                // build would dominate the test's run time.
                fingerprint: format!("{i:032x}"),
                severity,
                ..template.clone()
            });
        }
        // The selection itself, not the whole log: serialising 25,000
        // results to a JSON tree would only slow the test down.
        let selection = select_results(&findings, &rule_indexes(), MAX_RESULTS, MAX_RESULTS_BYTES);
        let results = &selection.results;
        assert_eq!(results.len(), MAX_RESULTS);
        let levels = |l: ResultLevel| results.iter().filter(|r| r.level == Some(l)).count();
        assert_eq!(
            levels(ResultLevel::Error),
            1_000,
            "every critical finding is kept"
        );
        assert_eq!(
            levels(ResultLevel::Warning),
            (total - 1_000) / 2,
            "every medium finding is kept"
        );
        assert_eq!(
            levels(ResultLevel::Note),
            MAX_RESULTS - 1_000 - (total - 1_000) / 2
        );
        let uris: Vec<&str> = results
            .iter()
            .map(|r| {
                let location = &r.locations.as_ref().unwrap()[0];
                let physical = location.physical_location.as_ref().unwrap();
                physical
                    .artifact_location
                    .as_ref()
                    .unwrap()
                    .uri
                    .as_deref()
                    .unwrap()
            })
            .collect();
        assert!(
            uris.windows(2).all(|w| w[0] < w[1]),
            "kept results stay in report order"
        );
        assert_eq!(selection.dropped_for_count, 1_500);
        assert_eq!(selection.dropped_for_size, 0);
        let text = dropped_message(&report(findings), &selection);
        assert!(
            text.starts_with("This log holds 25000 of 26500 findings"),
            "{text}"
        );
        assert!(
            text.contains("1500 least severe were left out (1500 low)"),
            "{text}"
        );
    }

    #[test]
    fn size_budget_drops_lowest_ranked_first() {
        let findings: Vec<Finding> = (0..10)
            .map(|i| {
                let sev = if i == 9 {
                    Severity::Critical
                } else {
                    Severity::Low
                };
                finding(
                    &format!("f{i}.env"),
                    1,
                    sev,
                    &format!("value-{i:08}-abcdefgh"),
                )
            })
            .collect();
        let index = rule_indexes();
        let one = serde_json::to_vec(&result(&findings[0], Some(0), 1))
            .unwrap()
            .len();
        let s = select_results(&findings, &index, MAX_RESULTS, one * 3 + one / 2);
        assert_eq!(s.results.len(), 3);
        assert_eq!(s.dropped_for_size, 7);
        assert_eq!(
            s.results
                .iter()
                .filter(|r| r.level == Some(ResultLevel::Error))
                .count(),
            1
        );
    }

    #[test]
    fn repeated_fingerprints_get_distinct_line_hashes() {
        let a = finding("x.env", 1, Severity::Critical, "same-secret-value-123");
        let b = finding("x.env", 9, Severity::Critical, "same-secret-value-123");
        let log = to_json(&build(&report(vec![b, a]), None));
        let results = log["runs"][0]["results"].as_array().unwrap();
        let h0 = results[0]["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .unwrap();
        let h1 = results[1]["partialFingerprints"]["primaryLocationLineHash"]
            .as_str()
            .unwrap();
        assert!(h0.ends_with(":1") && h1.ends_with(":2"), "{h0} {h1}");
        assert_eq!(h0.split(':').next(), h1.split(':').next());
        assert_eq!(
            results[0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            1
        );
    }

    #[test]
    fn suppression_and_history_are_mapped() {
        let mut f = finding(".npmrc", 2, Severity::Critical, "npm_notreal_abcdefghijk");
        f.suppressed = Some("test fixture".into());
        f.origin = Origin::Blob {
            blob_id: "b".repeat(40),
        };
        f.provenance = Some(Provenance {
            commit: "c".repeat(40),
            author: "A. Developer".into(),
            date: "2024-03-01T10:00:00Z".into(),
            summary: "add config".into(),
            commits: 2,
            refs: vec!["refs/heads/main".into()],
            in_head: false,
            ..Default::default()
        });
        let log = to_json(&build(&report(vec![f]), Some("npmsweep/history")));
        let run = &log["runs"][0];
        assert_eq!(run["automationDetails"]["id"], "npmsweep/history/");
        let r = &run["results"][0];
        assert_eq!(
            r["suppressions"],
            json!([{"kind": "inSource", "status": "accepted", "justification": "test fixture"}])
        );
        let text = r["message"]["text"].as_str().unwrap();
        assert!(text.starts_with("npm access token. Found in git history: introduced in commit cccccccccccc (authored 2024-03-01T10:00:00Z), reachable from refs/heads/main;"), "{text}");
        assert_eq!(r["properties"]["commit"], "c".repeat(40));
        assert_eq!(r["properties"]["blob_id"], "b".repeat(40));
        assert_eq!(r["properties"]["in_head"], false);
        assert_eq!(r["properties"]["refs"], json!(["refs/heads/main"]));
        assert!(
            !log.to_string().contains("A. Developer"),
            "author names stay out of alerts"
        );
    }

    #[test]
    fn a_secret_leaking_into_a_message_is_scrubbed() {
        let secret = "npm_leakedvalue_abcdefghijklmnop";
        let mut f = finding(".env", 1, Severity::High, secret);
        f.message = format!("token {secret} in file").into();
        f.details.insert("value".into(), secret.into());
        let text = serde_json::to_string(&build(&report(vec![f]), None)).unwrap();
        assert!(!text.contains(secret));
    }

    #[test]
    fn every_rule_is_described_with_remediation() {
        let log = to_json(&build(&report(vec![]), None));
        let rules = log["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .unwrap();
        assert_eq!(rules.len(), Registry::global().len());
        for r in rules {
            let md = r["help"]["markdown"].as_str().unwrap();
            assert!(md.contains("id-token: write"), "{}", r["id"]);
            let sev: f32 = r["properties"]["security-severity"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((0.1..=10.0).contains(&sev));
            assert!(r["properties"]["tags"].as_array().unwrap().len() <= MAX_TAGS);
        }
        assert_eq!(log["runs"][0]["results"], json!([]));
    }
}
