//! The finding model: what every detector produces and every reporter consumes.
//!
//! A finding never holds a printable secret: the raw value lives in [`Secret`],
//! which has no `Display` and a `Debug` that redacts, so printing one by
//! accident is a type error rather than a code-review catch.

pub use crate::redact::InputText;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

/// How bad a finding is. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s.to_ascii_lowercase().as_str() {
            "low" => Some(Severity::Low),
            "medium" => Some(Severity::Medium),
            "high" => Some(Severity::High),
            "critical" => Some(Severity::Critical),
            _ => None,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `pad` honours width and alignment, so `{:<9}` lines up columns.
        f.pad(self.as_str())
    }
}

/// What makes the exit code 1 (`--fail-on`): a finding at or above a
/// severity, or (after `--verify`) only a credential the registry accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOn {
    Severity(Severity),
    Live,
}

impl FailOn {
    pub fn parse(s: &str) -> Option<FailOn> {
        if s.eq_ignore_ascii_case("live") {
            return Some(FailOn::Live);
        }
        Severity::parse(s).map(FailOn::Severity)
    }

    /// Does this (unsuppressed) finding fail the gate?
    pub fn fails(self, f: &Finding) -> bool {
        match self {
            FailOn::Severity(s) => f.severity >= s,
            FailOn::Live => f
                .verification
                .as_ref()
                .is_some_and(|v| v.status == crate::verify::Status::Live),
        }
    }
}

/// How sure the detector is that the finding is real.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// A credential value. Deliberately has no `Display`, and `Debug` redacts.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The raw value. Call sites are few and reviewed: `--show-secrets`,
    /// the purge-plan file and hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// A short, stable identifier of the value: the first 16 hex digits of
    /// its SHA-256. Safe to print and to store in baselines.
    pub fn id(&self) -> String {
        hash_hex(&[self.0.as_bytes()])[..16].to_string()
    }

    /// The redacted form shown by default.
    pub fn preview(&self) -> String {
        redact(&self.0)
    }

    /// Could the value be found by guessing, given a hash of it? A password
    /// (`_password`, the `user:password` inside `_auth`, a short literal)
    /// can: an unsalted or public-salt hash of a 6-character password falls
    /// to brute force in about a minute. A random token (`npm_…`, a UUID, a
    /// JWT, a long high-entropy string) cannot. No hash of a guessable value
    /// is ever printed or stored: its findings are identified by where they
    /// are, not by the value (see `detect::finish`), and it has no public
    /// `secret_id`.
    pub fn is_guessable(&self) -> bool {
        use base64::Engine;
        let v = &self.0;
        let random_looking = v.chars().count() >= 20
            && crate::redact::credential_like(v).is_some_and(|r| r == (0..v.len()));
        // Base64 of printable text is an encoding of a password, not a token.
        let encodes_text = base64::engine::general_purpose::STANDARD
            .decode(v)
            .is_ok_and(|d| !d.is_empty() && d.iter().all(|b| (0x20..0x7f).contains(b)));
        !random_looking || encodes_text
    }

    /// The id printed as `secret_id`: [`Secret::id`] for values that cannot
    /// be guessed, `None` for those that can (see [`Secret::is_guessable`]).
    pub fn public_id(&self) -> Option<String> {
        (!self.is_guessable()).then(|| self.id())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", redact(&self.0))
    }
}

/// Redact a secret to "a short prefix + the last 4 characters at most".
///
/// Known prefixes (`npm_`, `ghp_`, `NpmToken.`, `eyJ`) are kept as they say
/// what kind of value it is; otherwise at most 2 characters are shown. Short
/// values (under 12 characters) show `****`, not even their length.
pub fn redact(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    let n = chars.len();
    if n < 12 {
        // Not even the length of a short secret is shown.
        return "****".to_string();
    }
    let known = [
        "npm_",
        "ghp_",
        "gho_",
        "ghs_",
        "ghu_",
        "github_pat_",
        "NpmToken.",
        "eyJ",
    ];
    let mut prefix_len = known
        .iter()
        .find(|p| value.starts_with(*p))
        .map(|p| p.chars().count())
        .unwrap_or(0);
    // Keep two characters of the random part at most, and never reveal more
    // than a third of the value in total.
    prefix_len = (prefix_len + 2).min(n / 3);
    let suffix_len = 4.min(n / 4);
    let prefix: String = chars[..prefix_len].iter().collect();
    let suffix: String = chars[n - suffix_len..].iter().collect();
    format!("{prefix}…{suffix}")
}

/// SHA-256 over length-prefixed parts, hex encoded. Length prefixes keep
/// `("ab","c")` and `("a","bc")` apart.
pub fn hash_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p);
    }
    let digest = h.finalize();
    let mut s = String::with_capacity(64);
    for b in digest.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// 1-based line and column span. Columns count Unicode code points (SARIF's
/// `unicodeCodePoints` column kind); `end_column` is exclusive, as in SARIF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Span {
    pub start_line: usize,
    pub start_column: usize,
    pub end_line: usize,
    pub end_column: usize,
}

/// Where the scanned bytes came from.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    /// A file in a working tree.
    Worktree,
    /// A file staged in the git index.
    Index,
    /// Standard input (`scan -`).
    Stdin,
    /// A blob in git history.
    Blob { blob_id: String },
}

/// One thing npmsweep reports.
#[derive(Clone, Debug)]
pub struct Finding {
    pub rule_id: String,
    pub severity: Severity,
    pub confidence: Confidence,
    /// Path relative to the scan root, with forward slashes.
    pub path: String,
    pub span: Span,
    /// What was found and where, never containing the secret (input-derived
    /// text in it is redacted by construction: see [`InputText`]).
    pub message: InputText,
    /// Redacted preview of the credential, if the finding is about one.
    pub preview: Option<String>,
    pub secret: Option<Secret>,
    /// Stable identity: rule, path and the secret's hash (or, for findings
    /// without a secret, a detector-chosen key). Survives line moves.
    pub fingerprint: String,
    pub origin: Origin,
    /// Extra facts safe to print (user name of an `_auth`, env var name…).
    pub details: BTreeMap<String, InputText>,
    /// Where the credential is bound, as written (`registry`, `key`, `host`,
    /// `username` details before redaction): `--verify` must ask the
    /// registry the configuration names, not its redacted copy (a feed id
    /// shaped like a UUID). Never printed.
    pub binding: BTreeMap<String, String>,
    /// For a guessable secret, the fingerprint older versions computed from
    /// its hash: only to match entries of format-1 baselines. Never printed.
    pub legacy_fingerprint: Option<String>,
    /// Set by the suppression filter; kept so reports can show it.
    pub suppressed: Option<InputText>,
    /// Where in git history the finding comes from (history sweeps only).
    pub provenance: Option<Provenance>,
    /// What the credential's registry said (`--verify` only).
    pub verification: Option<crate::verify::Verification>,
}

/// Git provenance of a finding found in history.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    /// The commit that introduced the blob at this path (earliest by date).
    pub commit: String,
    pub author: InputText,
    /// Author date, RFC 3339 in UTC.
    pub date: String,
    pub summary: InputText,
    /// Number of commits in which the blob sits at this path.
    pub commits: usize,
    /// Branches and tags from which a commit holding it is reachable (so
    /// every ref whose history carries the secret at this path), sorted, at
    /// most 20: pull-request and bot refs are only counted.
    pub refs: Vec<String>,
    /// Branches and tags reaching it beyond those listed in `refs`.
    #[serde(skip_serializing_if = "is_zero")]
    pub more_refs: usize,
    /// Pull- and merge-request refs (`refs/pull/*`, `refs/merge-requests/*`)
    /// reaching it.
    pub pull_request_refs: usize,
    /// Bot branches (Dependabot, Renovate, …) reaching it.
    pub bot_refs: usize,
    /// The introducing commit is reachable only from pull-request refs: no
    /// branch or tag has it.
    pub introduced_only_in_pull_request: bool,
    /// Whether the secret is still present in HEAD (any path).
    pub in_head: bool,
    /// This finding's location (path, line, column, blob) is HEAD's file:
    /// fix it there. False: the location is in an older version of the file.
    pub at_head: bool,
    /// Other versions of the file that held the secret at this path (most
    /// recent first, at most 10), when they put it elsewhere than the
    /// location reported.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub earlier_locations: Vec<BlobLocation>,
    /// Distinct commits holding this finding's secret in any file (the
    /// leak report's "across N commits"); `commits` when there is no secret.
    pub secret_commits: usize,
}

/// Where a secret sat in one version of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct BlobLocation {
    pub blob_id: String,
    pub start_line: usize,
    pub start_column: usize,
    /// The commit that introduced this version.
    pub commit: String,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl Finding {
    /// The identity used to group one secret across files and commits
    /// (internal: never printed for a guessable secret).
    pub fn secret_id(&self) -> Option<String> {
        self.secret.as_ref().map(Secret::id)
    }

    /// The `secret_id` reports print: see [`Secret::public_id`].
    pub fn public_secret_id(&self) -> Option<String> {
        self.secret.as_ref().and_then(Secret::public_id)
    }

    /// Total order used by every report: live credentials first (after
    /// `--verify`), then path, position, rule.
    pub fn sort_key(&self) -> (u8, &str, usize, usize, &str, &str) {
        (
            crate::verify::rank(self),
            &self.path,
            self.span.start_line,
            self.span.start_column,
            &self.rule_id,
            &self.fingerprint,
        )
    }
}

/// Compute a fingerprint from rule, path and an identity (the secret's hash
/// or a detector key).
pub fn fingerprint(rule_id: &str, path: &str, identity: &str) -> String {
    hash_hex(&[rule_id.as_bytes(), path.as_bytes(), identity.as_bytes()])[..32].to_string()
}

pub fn sort_findings(findings: &mut [Finding]) {
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_keeps_prefix_and_four_char_suffix_at_most() {
        let t = "npm_abcdefghijklmnopqrstuvwxyz0123456789";
        let r = redact(t);
        assert_eq!(r, "npm_ab…6789");
        assert!(!r.contains("cdefgh"));
        let u = "0b6a2c4e-1111-4222-8333-abcdefabcdef";
        assert_eq!(redact(u), "0b…cdef");
        assert_eq!(redact("hunter2"), "****");
        assert_eq!(redact("ab"), "****");
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("npm_abcdefghijklmnopqrstuvwxyz0123456789");
        let d = format!("{s:?}");
        assert!(!d.contains("klmnop"), "{d}");
    }

    #[test]
    fn fingerprint_depends_on_every_part() {
        let a = fingerprint("r", "p", "x");
        assert_ne!(a, fingerprint("r2", "p", "x"));
        assert_ne!(a, fingerprint("r", "p2", "x"));
        assert_ne!(a, fingerprint("r", "p", "x2"));
        assert_eq!(a, fingerprint("r", "p", "x"));
    }
}
