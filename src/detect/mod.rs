//! Detectors: pure functions from an [`Item`] (a path and its bytes) to
//! [`Hit`]s. They never read files, print, or know whether they run on a
//! working tree or on history. The path decides which detectors apply
//! ([`FileKind`]); the token matcher applies to every item.
//!
//! [`detect`] turns hits into [`Finding`]s with one general mechanism: byte
//! ranges become line/column spans, secrets become redacted previews and
//! fingerprints, and rule metadata comes from the registry.

pub mod bunfig;
pub mod dockerfile;
pub mod envassign;
pub mod kind;
pub mod lines;
pub mod npmrc;
pub mod token;
pub mod urlcreds;
pub mod values;
pub mod workflow;
pub mod yaml;
pub mod yarnrc;

pub use kind::FileKind;

use crate::finding::{Finding, Origin, Secret, Severity, fingerprint};
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
}

/// Settings that change what detectors report.
#[derive(Clone, Debug, Default)]
pub struct DetectOptions {
    /// Report checksum-invalid `npm_` strings at low confidence.
    pub include_invalid_tokens: bool,
    /// Extra environment-variable names that hold npm credentials.
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
        }
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
    /// Complete findings of other paths found inside this item (archive
    /// members: `archive.tgz!package/.npmrc`).
    pub findings: Vec<Finding>,
}

impl Sink {
    pub fn hit(&mut self, hit: Hit) {
        self.hits.push(hit);
    }

    pub fn warn(&mut self, path: &str, message: impl std::fmt::Display) {
        self.warnings.push(format!("{path}: {message}"));
    }
}

/// The result of running detectors on one item.
#[derive(Debug, Default)]
pub struct Detected {
    pub findings: Vec<Finding>,
    pub warnings: Vec<String>,
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
    let Sink {
        mut hits,
        warnings,
        findings: mut inner,
    } = collect(item, kinds, opts);
    if hits.is_empty() {
        return Detected {
            findings: inner,
            warnings,
        };
    }
    dedupe_overlapping(&mut hits);
    let lines = LineIndex::new(item.bytes);
    let mut findings: Vec<Finding> = hits.into_iter().map(|h| finish(item, &lines, h)).collect();
    findings.append(&mut inner);
    Detected { findings, warnings }
}

/// The hits of every applicable detector on `item`, then of every layer
/// inside it ([`crate::layer`]), at positions in `item`.
pub fn collect(item: &Item, kinds: &[FileKind], opts: &DetectOptions) -> Sink {
    let mut sink = Sink::default();
    for d in DETECTORS {
        let wanted = if d.name == "token" {
            true
        } else {
            kinds.iter().any(|k| (d.applies)(*k))
        };
        if wanted {
            (d.run)(item, opts, &mut sink);
        }
    }
    crate::layer::expand(item, kinds, opts, &mut sink);
    sink
}

/// A checksum-valid token reported by the token matcher is the most precise
/// finding for those bytes; a config rule pointing at the same value would
/// only repeat it.
///
/// And one rule reporting the same secret at the same bytes twice (a YAML
/// alias repeats its anchor's value, which lives at the anchor) is one
/// finding: both would share a fingerprint.
fn dedupe_overlapping(hits: &mut Vec<Hit>) {
    let mut seen = std::collections::HashSet::new();
    hits.retain(|h| {
        let identity = h.secret.as_ref().map(|s| s.id()).or_else(|| h.key.clone());
        seen.insert((h.rule_id, h.range.start, h.range.end, identity))
    });
    let token_ranges: Vec<Range<usize>> = hits
        .iter()
        .filter(|h| h.rule_id == token::RULE_VALID)
        .map(|h| h.range.clone())
        .collect();
    if token_ranges.is_empty() {
        return;
    }
    hits.retain(|h| {
        h.rule_id == token::RULE_VALID
            || h.secret.is_none()
            || !token_ranges
                .iter()
                .any(|t| t.start < h.range.end && h.range.start < t.end)
    });
}

fn finish(item: &Item, lines: &LineIndex, hit: Hit) -> Finding {
    let registry = Registry::global();
    let rule = registry
        .get(hit.rule_id)
        .unwrap_or_else(|| panic!("detector used unknown rule id {}", hit.rule_id));
    let span = lines.span(hit.range.clone());
    let identity = match (&hit.secret, &hit.key) {
        (Some(s), _) => s.id(),
        (None, Some(k)) => k.clone(),
        (None, None) => format!("{}:{}", span.start_line, span.start_column),
    };
    Finding {
        rule_id: rule.id.clone(),
        severity: hit.severity.unwrap_or(rule.severity),
        confidence: rule.confidence,
        path: item.path.to_string(),
        span,
        message: hit.message,
        preview: hit.secret.as_ref().map(Secret::preview),
        fingerprint: fingerprint(&rule.id, item.path, &identity),
        secret: hit.secret,
        origin: item.origin.clone(),
        details: hit.details,
        suppressed: None,
        provenance: None,
    }
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
