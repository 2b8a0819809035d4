//! Detectors: pure functions from an [`Item`] (a path and its bytes) to
//! [`Hit`]s. They never read files, print, or know whether they run on a
//! working tree or on history. The path decides which detectors apply
//! ([`FileKind`]); the token matcher applies to every item.
//!
//! [`detect`] turns hits into [`Finding`]s with one general mechanism: byte
//! ranges become line/column spans, secrets become redacted previews and
//! fingerprints, and rule metadata comes from the registry.

pub mod assignment;
pub mod bunfig;
pub mod ci_pipeline;
pub mod circleci;
pub mod dockerfile;
pub mod envassign;
pub mod gitlab;
pub mod isolate;
pub mod kind;
pub mod lines;
pub mod npmrc;
pub mod path_token;
pub mod script_publish;
pub mod shape;
pub mod token;
pub mod tree;
pub mod urlcreds;
pub mod values;
pub mod workflow;
pub mod yaml;
pub mod yarnrc;

pub use kind::{DirContext, FileKind};

use crate::finding::{Confidence, Finding, InputText, Origin, Secret, Severity, fingerprint};
use crate::rules::Registry;
use lines::LineIndex;
use std::collections::BTreeMap;
use std::ops::Range;

/// One unit of content to scan.
pub struct Item<'a> {
    /// Path relative to the scan root (or repository root), forward slashes.
    pub path: &'a str,
    pub bytes: &'a [u8],
    pub origin: Origin,
    /// The tree the item belongs to, when the source has one: detectors
    /// may read sibling files through it (a workflow's `package.json`).
    pub tree: Option<tree::TreeView<'a>>,
}

impl Item<'_> {
    /// The item's path relative to its tree's root: what decides its kind
    /// (a workflow is a workflow only directly under the root).
    pub fn tree_path(&self) -> &str {
        self.tree.map_or(self.path, |t| t.path)
    }
}

/// Settings that change what detectors report.
#[derive(Clone, Debug, Default)]
pub struct DetectOptions {
    /// Report checksum-invalid `npm_` strings at low confidence.
    pub include_invalid_tokens: bool,
    /// Extra environment-variable names that hold npm credentials; an
    /// entry `!NAME` says `NAME` never does (it wins over the built-in rules).
    pub extra_credential_names: Vec<String>,
    /// Extra values that are placeholders, not credentials.
    pub extra_placeholders: Vec<String>,
    /// How many layers (embedded document, decoded value, archive member)
    /// deep the item is: 0 for a file; see [`crate::layer::MAX_DEPTH`].
    pub layer_depth: usize,
}

/// Something a detector found, before it becomes a [`Finding`].
#[derive(Debug)]
pub struct Hit {
    pub rule_id: &'static str,
    /// Byte range in the item that the finding points at.
    pub range: Range<usize>,
    /// The credential, when the finding is about one.
    pub secret: Option<Secret>,
    /// Identity for the fingerprint when there is no secret (for example a
    /// job and step name); ignored when `secret` is set.
    pub key: Option<String>,
    /// What was found, without the secret.
    pub message: String,
    pub details: BTreeMap<String, String>,
    /// Overrides the rule's severity for this hit (a workflow rule whose
    /// risk depends on context, e.g. a PR-head checkout).
    pub severity: Option<Severity>,
    /// Overrides the rule's confidence (a credential's shape: a documented
    /// token format is surer than an entropy guess).
    pub confidence: Option<Confidence>,
}

impl Hit {
    pub fn new(rule_id: &'static str, range: Range<usize>, message: impl Into<String>) -> Hit {
        Hit {
            rule_id,
            range,
            secret: None,
            key: None,
            message: message.into(),
            details: BTreeMap::new(),
            severity: None,
            confidence: None,
        }
    }

    pub fn with_confidence(mut self, confidence: Confidence) -> Hit {
        self.confidence = Some(confidence);
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Hit {
        self.severity = Some(severity);
        self
    }

    pub fn with_secret(mut self, secret: impl Into<String>) -> Hit {
        self.secret = Some(Secret::new(secret));
        self
    }

    pub fn with_key(mut self, key: impl Into<String>) -> Hit {
        self.key = Some(key.into());
        self
    }

    pub fn with_detail(mut self, name: &str, value: impl Into<String>) -> Hit {
        self.details.insert(name.to_string(), value.into());
        self
    }
}

/// A detector: which files it wants, and the function that looks at them.
pub struct Detector {
    pub name: &'static str,
    pub applies: fn(FileKind) -> bool,
    pub run: fn(&Item, &DetectOptions, &mut Sink),
}

/// Where detectors put what they find, and what they could not parse.
#[derive(Debug, Default)]
pub struct Sink {
    pub hits: Vec<Hit>,
    /// Problems with the content (malformed YAML, invalid UTF-8 in a config
    /// file…), each a complete sentence naming the position. Never fatal.
    pub warnings: Vec<String>,
    /// Publishes the detectors understood, for the readiness summary.
    pub publish_sites: Vec<crate::readiness::Site>,
    /// Hits of each rule past [`SINK_LIMIT`], counted and not kept: memory
    /// per item stays bounded whatever the detectors find.
    pub dropped: BTreeMap<&'static str, usize>,
    kept: BTreeMap<&'static str, usize>,
    /// Complete findings of other paths found inside this item (archive
    /// members: `archive.tgz!package/.npmrc`).
    pub findings: Vec<Finding>,
}

/// Hits kept per rule by one sink: more than are ever listed
/// ([`MAX_FINDINGS_PER_RULE`]), so that de-duplication has room to work.
const SINK_LIMIT: usize = 4 * MAX_FINDINGS_PER_RULE;

impl Sink {
    pub fn hit(&mut self, hit: Hit) {
        let kept = self.kept.entry(hit.rule_id).or_default();
        if *kept >= SINK_LIMIT {
            *self.dropped.entry(hit.rule_id).or_default() += 1;
            return;
        }
        *kept += 1;
        self.hits.push(hit);
    }

    pub fn warn(&mut self, path: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{path}: {message}"));
    }

    pub fn publish_site(&mut self, site: crate::readiness::Site) {
        self.publish_sites.push(site);
    }
}

/// The result of running detectors on one item.
#[derive(Debug, Default)]
pub struct Detected {
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
    /// Publish paths in the item (see [`crate::readiness`]).
    pub publish_paths: Vec<crate::readiness::PublishPath>,
}

/// Every detector, in the order they run. Adding a detector is adding a
/// line here and a module.
pub static DETECTORS: &[Detector] = &[
    Detector {
        name: "token",
        applies: |_| true,
        run: token::detect,
    },
    Detector {
        name: "npmrc",
        applies: |k| k == FileKind::Npmrc,
        run: npmrc::detect,
    },
    Detector {
        name: "yarnrc",
        applies: |k| matches!(k, FileKind::YarnrcYml | FileKind::YarnrcClassic),
        run: yarnrc::detect,
    },
    Detector {
        name: "bunfig",
        applies: |k| k == FileKind::Bunfig,
        run: bunfig::detect,
    },
    Detector {
        name: "url-credentials",
        applies: |k| k.may_hold_registry_urls(),
        run: urlcreds::detect,
    },
    Detector {
        name: "env-assignment",
        applies: |k| k.has_env_assignments(),
        run: envassign::detect,
    },
    Detector {
        name: "workflow",
        applies: |k| matches!(k, FileKind::Workflow | FileKind::Action),
        run: workflow::detect,
    },
    Detector {
        name: "gitlab-ci",
        applies: |k| k == FileKind::Script,
        run: gitlab::detect,
    },
    Detector {
        name: "circleci",
        applies: |k| k == FileKind::Script,
        run: circleci::detect,
    },
    Detector {
        name: "script-publish",
        applies: |k| matches!(k, FileKind::Script | FileKind::PackageConfig),
        run: script_publish::detect,
    },
    Detector {
        name: "dockerfile",
        applies: |k| k == FileKind::Dockerfile,
        run: dockerfile::detect,
    },
];

/// Run every applicable detector on `item` and build findings.
///
/// `kinds` lists the kinds of path the content was seen under (history may
/// see one blob under several); the token matcher runs once regardless.
pub fn detect(item: &Item, kinds: &[FileKind], opts: &DetectOptions) -> Detected {
    detect_with(DETECTORS, item, kinds, opts)
}

/// [`detect`] over a given list of detectors.
fn detect_with(
    detectors: &[Detector],
    item: &Item,
    kinds: &[FileKind],
    opts: &DetectOptions,
) -> Detected {
    let mut sink = run_detectors(detectors, item, kinds, opts);
    crate::layer::expand(item, kinds, opts, &mut sink);
    // The path once per item (not per layer: a layer has its item's path).
    path_token::detect(item, opts, &mut sink);
    finish_sink(item, sink)
}

/// The hits of every applicable detector on `item`, then of every layer
/// inside it ([`crate::layer`]), at positions in `item`.
pub fn collect(item: &Item, kinds: &[FileKind], opts: &DetectOptions) -> Sink {
    let mut sink = run_detectors(DETECTORS, item, kinds, opts);
    crate::layer::expand(item, kinds, opts, &mut sink);
    sink
}

/// Every applicable detector, each isolated: a panic in one becomes a
/// warning naming the item, and the others' findings stay.
fn run_detectors(
    detectors: &[Detector],
    item: &Item,
    kinds: &[FileKind],
    opts: &DetectOptions,
) -> Sink {
    let mut sink = Sink::default();
    for d in detectors {
        let wanted = if d.name == "token" {
            true
        } else {
            kinds.iter().any(|k| (d.applies)(*k))
        };
        if wanted {
            let mut own = Sink::default();
            let what = format!("the {} detector", d.name);
            match isolate::guard(item.path, &what, || (d.run)(item, opts, &mut own)) {
                Ok(()) => {
                    sink.hits.append(&mut own.hits);
                    sink.warnings.append(&mut own.warnings);
                    sink.publish_sites.append(&mut own.publish_sites);
                    for (rule, n) in own.dropped {
                        *sink.dropped.entry(rule).or_default() += n;
                    }
                }
                Err(warning) => sink.warnings.push(warning),
            }
        }
    }
    sink
}

/// Hits become findings: overlaps removed, each rule capped, positions
/// computed in one pass; findings of inner items (archive members) follow.
fn finish_sink(item: &Item, sink: Sink) -> Detected {
    let Sink {
        mut hits,
        mut warnings,
        publish_sites,
        dropped,
        findings: mut inner,
        ..
    } = sink;
    if hits.is_empty() && publish_sites.is_empty() {
        return Detected {
            findings: inner,
            warnings,
            ..Detected::default()
        };
    }
    dedupe_overlapping(&mut hits);
    cap_per_rule(item.path, &mut hits, &dropped, &mut warnings);
    let lines = LineIndex::new(item.bytes);
    let ranges: Vec<Range<usize>> = hits.iter().map(|h| h.range.clone()).collect();
    let spans = lines.spans(&ranges);
    let mut findings: Vec<Finding> = hits
        .into_iter()
        .zip(spans)
        .map(|(h, span)| finish(item, span, h))
        .collect();
    findings.append(&mut inner);
    let site_ranges: Vec<Range<usize>> = publish_sites.iter().map(|s| s.range.clone()).collect();
    let publish_paths = publish_sites
        .into_iter()
        .zip(lines.spans(&site_ranges))
        .map(|(s, span)| crate::readiness::PublishPath::new(item.path, span.start_line, s))
        .collect();
    Detected {
        findings,
        warnings,
        publish_paths,
    }
}

/// Findings listed per rule and item; the rest are counted in a warning.
/// One generated file with a million tokens must not cost gigabytes of
/// findings, and a thousand of one rule already say what to fix.
pub const MAX_FINDINGS_PER_RULE: usize = 1000;

/// Keep the first [`MAX_FINDINGS_PER_RULE`] hits of each rule (in file
/// order) and say how many more there were.
fn cap_per_rule(
    path: &str,
    hits: &mut Vec<Hit>,
    dropped: &BTreeMap<&'static str, usize>,
    warnings: &mut Vec<String>,
) {
    if hits.len() <= MAX_FINDINGS_PER_RULE && dropped.is_empty() {
        return;
    }
    hits.sort_by_key(|h| (h.range.start, h.range.end));
    let mut seen: BTreeMap<&'static str, usize> = BTreeMap::new();
    hits.retain(|h| {
        let n = seen.entry(h.rule_id).or_default();
        *n += 1;
        *n <= MAX_FINDINGS_PER_RULE
    });
    for (rule, n) in dropped {
        *seen.entry(rule).or_default() += n;
    }
    for (rule, n) in seen {
        if n > MAX_FINDINGS_PER_RULE {
            warnings.push(format!(
                "{path}: {} more findings of rule {rule} in this file not listed (the first {MAX_FINDINGS_PER_RULE} are)",
                n - MAX_FINDINGS_PER_RULE
            ));
        }
    }
}

/// A checksum-valid token reported by the token matcher is the most precise
/// finding for those bytes; a config rule pointing at the same value would
/// only repeat it.
///
/// And one rule reporting the same secret at the same bytes twice (a YAML
/// alias repeats its anchor's value, which lives at the anchor) is one
/// finding: both would share a fingerprint.
fn dedupe_overlapping(hits: &mut Vec<Hit>) {
    // The configuration line a token sits in says which registry it belongs
    // to (`--verify` asks that one); the token finding keeps that binding.
    let bindings: Vec<(Range<usize>, String)> = hits
        .iter()
        .filter(|h| h.rule_id != token::RULE_VALID)
        .filter_map(|h| {
            let registry = match (h.details.get("registry"), h.details.get("host")) {
                (Some(r), _) => r.clone(),
                (None, Some(host)) if h.rule_id == urlcreds::RULE => format!("//{host}/"),
                _ => return None,
            };
            Some((h.range.clone(), registry))
        })
        .collect();
    for h in hits.iter_mut().filter(|h| h.rule_id == token::RULE_VALID) {
        if let Some((_, registry)) = bindings
            .iter()
            .find(|(b, _)| b.start < h.range.end && h.range.start < b.end)
        {
            h.details
                .entry("registry".into())
                .or_insert_with(|| registry.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    hits.retain(|h| {
        let identity = h.secret.as_ref().map(|s| s.id()).or_else(|| h.key.clone());
        seen.insert((h.rule_id, h.range.start, h.range.end, identity))
    });
    let mut token_ranges: Vec<Range<usize>> = hits
        .iter()
        .filter(|h| h.rule_id == token::RULE_VALID)
        .map(|h| h.range.clone())
        .collect();
    if token_ranges.is_empty() {
        return;
    }
    // Tokens never overlap each other: sorted by start, their ends are
    // sorted too, so the one candidate is found by binary search (many
    // tokens and many config hits in one file stay n log n).
    token_ranges.sort_unstable_by_key(|r| r.start);
    let overlaps_token = |r: &Range<usize>| {
        let first_ending_after = token_ranges.partition_point(|t| t.end <= r.start);
        token_ranges
            .get(first_ending_after)
            .is_some_and(|t| t.start < r.end)
    };
    hits.retain(|h| {
        h.rule_id == token::RULE_VALID || h.secret.is_none() || !overlaps_token(&h.range)
    });
}

fn finish(item: &Item, span: crate::finding::Span, hit: Hit) -> Finding {
    let registry = Registry::global();
    let rule = registry
        .get(hit.rule_id)
        .unwrap_or_else(|| panic!("detector used unknown rule id {}", hit.rule_id));
    let identity = match (&hit.secret, &hit.key) {
        // A guessable value (a password) is identified by where it is: a
        // hash of it in a baseline or report could be brute-forced.
        (Some(s), _) if s.is_guessable() => guessable_identity(&hit),
        (Some(s), _) => s.id(),
        (None, Some(k)) => k.clone(),
        (None, None) => format!("{}:{}", span.start_line, span.start_column),
    };
    // Every input-derived string of a finding passes through `InputText`,
    // which redacts credential-shaped text and the hit's own secret.
    let message = InputText::with_secret(&hit.message, hit.secret.as_ref());
    let details = hit
        .details
        .iter()
        .map(|(k, v)| (k.clone(), InputText::with_secret(v, hit.secret.as_ref())))
        .collect();
    let binding = hit
        .details
        .iter()
        .filter(|(k, _)| matches!(k.as_str(), "registry" | "key" | "host" | "username"))
        .filter(|_| hit.secret.is_some())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Finding {
        rule_id: rule.id.clone(),
        severity: hit.severity.unwrap_or(rule.severity),
        confidence: hit.confidence.unwrap_or(rule.confidence),
        path: item.path.to_string(),
        span,
        message,
        preview: hit.secret.as_ref().map(Secret::preview),
        fingerprint: fingerprint(&rule.id, item.path, &identity),
        legacy_fingerprint: hit
            .secret
            .as_ref()
            .filter(|s| s.is_guessable())
            .map(|s| fingerprint(&rule.id, item.path, &s.id())),
        secret: hit.secret,
        origin: item.origin.clone(),
        details,
        binding,
        suppressed: None,
        provenance: None,
        verification: None,
    }
}

/// The fingerprint identity of a guessable secret: the detector's facts
/// about where it is (key, registry, variable, user name), never the value.
fn guessable_identity(hit: &Hit) -> String {
    let mut identity = String::from("guessable-value-at");
    for (name, value) in &hit.details {
        identity.push_str(&format!(";{name}={value}"));
    }
    if let Some(key) = &hit.key {
        identity.push_str(&format!(";key={key}"));
    }
    identity
}

/// Decode bytes as UTF-8 for the parsers that need text. Invalid UTF-8 in a
/// config file is reported by the caller; the token matcher works on bytes.
pub fn as_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok()
}

/// Text for the parsers of files that are not valid UTF-8 (a Latin-1 comment
/// in an `.npmrc` or `.env`): every invalid byte becomes one `?`, so byte
/// offsets in the text are offsets in the original bytes and spans stay
/// right. Borrowed when the bytes are valid UTF-8. The second value is the
/// offset of the first invalid byte, for the caller's warning.
pub fn text_keeping_offsets(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, Option<usize>) {
    match std::str::from_utf8(bytes) {
        Ok(text) => (std::borrow::Cow::Borrowed(text), None),
        Err(e) => {
            let mut out = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
                out.extend(std::iter::repeat_n('?', chunk.invalid().len()));
            }
            (std::borrow::Cow::Owned(out), Some(e.valid_up_to()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panics(_: &Item, _: &DetectOptions, sink: &mut Sink) {
        sink.hit(Hit::new(token::RULE_VALID, 0..1, "never kept"));
        panic!("detector bug");
    }

    #[test]
    fn a_panicking_detector_is_a_warning_and_the_others_still_report() {
        let token = crate::token::fake_token("npm_", 36);
        let text = format!("//registry.npmjs.org/:_authToken={token}\n");
        let item = Item {
            path: "sub/.npmrc",
            bytes: text.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        let mut detectors: Vec<Detector> = DETECTORS.iter().map(clone_detector).collect();
        detectors.insert(
            1,
            Detector {
                name: "broken",
                applies: |_| true,
                run: panics,
            },
        );
        let d = detect_with(
            &detectors,
            &item,
            &[FileKind::Npmrc],
            &DetectOptions::default(),
        );
        assert_eq!(d.findings.len(), 1, "{:?}", d.findings);
        assert_eq!(d.findings[0].rule_id, token::RULE_VALID);
        assert_eq!(d.findings[0].span.start_column, 34);
        assert_eq!(d.warnings.len(), 1, "{:?}", d.warnings);
        assert!(
            d.warnings[0].starts_with("sub/.npmrc: internal error in the broken detector"),
            "{}",
            d.warnings[0]
        );
        assert!(!d.warnings[0].contains("detector bug"));
    }

    #[test]
    fn findings_per_rule_are_capped_with_a_count() {
        let tokens: Vec<String> = (0..MAX_FINDINGS_PER_RULE as u64 + 5)
            .map(|i| crate::token::fake_token("npm_", i))
            .collect();
        let text = tokens.join(" ");
        let item = Item {
            path: "dump.txt",
            bytes: text.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        let d = detect(&item, &[FileKind::Other], &DetectOptions::default());
        assert_eq!(d.findings.len(), MAX_FINDINGS_PER_RULE);
        // Past the sink's limit hits are only counted: the count stays exact.
        let many: Vec<String> = (0..SINK_LIMIT as u64 + 7)
            .map(|i| crate::token::fake_token("npm_", i))
            .collect();
        let text2 = many.join("\n");
        let item2 = Item {
            path: "dump2.txt",
            bytes: text2.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        let d2 = detect(&item2, &[FileKind::Other], &DetectOptions::default());
        assert_eq!(d2.findings.len(), MAX_FINDINGS_PER_RULE);
        assert!(
            d2.warnings[0].starts_with(&format!(
                "dump2.txt: {} more findings of rule npm-token",
                SINK_LIMIT + 7 - MAX_FINDINGS_PER_RULE
            )),
            "{:?}",
            d2.warnings
        );
        // The first ones in the file are kept.
        assert_eq!(d.findings[0].span.start_column, 1);
        assert_eq!(
            d.warnings,
            [format!(
                "dump.txt: 5 more findings of rule npm-token in this file not listed (the first {MAX_FINDINGS_PER_RULE} are)"
            )]
        );
    }

    fn clone_detector(d: &Detector) -> Detector {
        Detector {
            name: d.name,
            applies: d.applies,
            run: d.run,
        }
    }
}
