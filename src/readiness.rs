//! Publish readiness: every path by which a repository publishes to npm,
//! how it authenticates, and what npm's policy does to it (2FA-bypass tokens
//! lose direct publishing from about January 2027; see
//! `rules/npm-policy.toml`).
//!
//! Detectors describe each publish they understand as a [`Site`] (a byte
//! range and the facts, whatever the CI system); [`crate::detect::detect`]
//! places it as a [`PublishPath`] (path and line); [`Readiness`] collects,
//! sorts and counts them for every report format. Nothing here knows about
//! a particular CI system: a GitLab or CircleCI analyser adds `Site`s with
//! its own `ci` name.

use crate::redact::InputText;
use serde::Serialize;
use std::ops::Range;

/// How a publish authenticates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Auth {
    /// Trusted publishing (OIDC): a short-lived credential per run.
    TrustedPublishing,
    /// A long-lived token (a CI secret, an `.npmrc` written with one).
    Token,
    /// Set up for trusted publishing, but a token is also in reach: npm
    /// falls back to it when the OIDC exchange fails.
    TrustedPublishingWithToken,
    /// No credential visible where the publish runs.
    Unknown,
}

/// What npm's policy means for a publish path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Trusted publishing (staged or not): unaffected.
    TrustedPublishing,
    /// Stages with a long-lived token: keeps working (staging needs no
    /// 2FA), but the token remains a long-lived credential.
    TokenStaged,
    /// Publishes directly with a long-lived token: stops working.
    WillBreak,
    /// Trusted publishing with a token fallback: works while OIDC works;
    /// the fallback stops working.
    TokenFallback,
    /// Publishes to another registry (GitHub Packages, a private one): npm's
    /// policy does not apply.
    OtherRegistry,
    /// No credential seen: cannot tell.
    Unknown,
}

impl Status {
    /// Every status, in the order a maintainer acts on them: what breaks
    /// first. Reports list them in this order.
    pub const ALL: [Status; 6] = [
        Status::WillBreak,
        Status::TokenFallback,
        Status::TokenStaged,
        Status::Unknown,
        Status::TrustedPublishing,
        Status::OtherRegistry,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::TrustedPublishing => "trusted-publishing",
            Status::TokenStaged => "token-staged",
            Status::WillBreak => "will-break",
            Status::TokenFallback => "token-fallback",
            Status::OtherRegistry => "other-registry",
            Status::Unknown => "unknown",
        }
    }

    /// A short phrase for the human and Markdown reports.
    pub fn label(self) -> &'static str {
        match self {
            Status::TrustedPublishing => "trusted publishing",
            Status::TokenStaged => "stages with a long-lived token",
            Status::WillBreak => "long-lived token: will break",
            Status::TokenFallback => "trusted publishing with a token fallback",
            Status::OtherRegistry => "another registry (not affected)",
            Status::Unknown => "no credential seen",
        }
    }
}

/// A publish as a detector sees it: where, how, with what.
#[derive(Clone, Debug)]
pub struct Site {
    /// The CI system or script kind: `github-actions`.
    pub ci: &'static str,
    /// Bytes of the publish command (or action) in the item.
    pub range: Range<usize>,
    /// Job id (or script name) and step label.
    pub job: String,
    pub step: String,
    /// `npm publish`, `npm stage publish`, `changesets/action`…
    pub command: String,
    pub auth: Auth,
    /// Where the token comes from (`secrets.NPM_TOKEN`): a name, never a value.
    pub credential: Option<String>,
    pub staged: bool,
    /// Publishes to the public npm registry (where the policy applies).
    pub npmjs: bool,
}

impl Site {
    pub fn status(&self) -> Status {
        if !self.npmjs {
            return Status::OtherRegistry;
        }
        match (self.auth, self.staged) {
            (Auth::TrustedPublishing, _) => Status::TrustedPublishing,
            (Auth::Token | Auth::TrustedPublishingWithToken, true) => Status::TokenStaged,
            (Auth::Token, false) => Status::WillBreak,
            (Auth::TrustedPublishingWithToken, false) => Status::TokenFallback,
            (Auth::Unknown, _) => Status::Unknown,
        }
    }
}

/// What reports may say about a credential's source: a name
/// (`secrets.NPM_TOKEN`, `$NPM_TOKEN`) or a fixed phrase, never an
/// expression from the file, which could hold a literal value.
pub fn credential_label(source: &str) -> String {
    let name_ok = |n: &str| {
        !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    let is_name = match source.split_once('.') {
        Some((ctx, name)) => matches!(ctx, "secrets" | "vars" | "env" | "inputs") && name_ok(name),
        None => source.strip_prefix('$').is_some_and(name_ok),
    };
    if is_name || matches!(source, "a literal value" | "a token on the command line") {
        source.to_string()
    } else {
        "an expression".to_string()
    }
}

/// A placed publish path, as reports show it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct PublishPath {
    pub path: String,
    pub line: usize,
    pub ci: &'static str,
    pub job: InputText,
    pub step: InputText,
    pub command: InputText,
    pub status: Status,
    pub auth: Auth,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<InputText>,
    pub staged: bool,
    pub registry: &'static str,
}

impl PublishPath {
    pub fn new(path: &str, line: usize, site: Site) -> PublishPath {
        PublishPath {
            path: path.to_string(),
            line,
            ci: site.ci,
            status: site.status(),
            // Input-derived text: redacted like every message (a job name or
            // a secret's name can hold a pasted token).
            job: InputText::new(&site.job),
            step: InputText::new(&site.step),
            command: InputText::new(&site.command),
            auth: site.auth,
            credential: site
                .credential
                .as_deref()
                .map(|c| InputText::new(&credential_label(c))),
            staged: site.staged,
            registry: if site.npmjs { "npmjs" } else { "other" },
        }
    }
}

/// Every publish path of a scan, sorted, with counts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Readiness {
    pub paths: Vec<PublishPath>,
}

impl Readiness {
    /// Sorted and deduplicated (overlapping scan roots see a file twice).
    pub fn new(mut paths: Vec<PublishPath>) -> Readiness {
        paths.sort();
        paths.dedup();
        Readiness { paths }
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn count(&self, status: Status) -> usize {
        self.paths.iter().filter(|p| p.status == status).count()
    }

    /// Paths that stage (with trusted publishing or a token).
    pub fn staged(&self) -> usize {
        self.paths.iter().filter(|p| p.staged).count()
    }

    /// The paths with a status, in report order.
    pub fn with_status(&self, status: Status) -> impl Iterator<Item = &PublishPath> {
        self.paths.iter().filter(move |p| p.status == status)
    }

    /// One sentence: "3 publish path(s): 1 trusted publishing, …".
    pub fn headline(&self) -> String {
        let parts: Vec<String> = Status::ALL
            .iter()
            .filter_map(|s| {
                let n = self.count(*s);
                (n > 0).then(|| format!("{n} {}", s.label()))
            })
            .collect();
        let mut text = format!("{} publish path(s)", self.paths.len());
        if !parts.is_empty() {
            text.push_str(&format!(": {}", parts.join(", ")));
        }
        let staged = self.staged();
        if staged > 0 {
            text.push_str(&format!("; {staged} staged for approval"));
        }
        text
    }

    /// The policy sentence every format prints with the summary.
    pub fn deadline_sentence() -> String {
        let p = crate::rules::Policy::global();
        format!(
            "npm tokens that bypass 2FA lose direct publishing from {} and can then only stage a publish (`npm stage publish`, npm >= {}) for a maintainer to approve with 2FA; trusted publishing is unaffected.",
            p.value("bypass_2fa_publish_end"),
            p.value("npm_stage_version")
        )
    }

    /// Where a publish path is: "path:line job J, step S: `command`", or
    /// for repository scripts "path:line script S: `command`".
    pub fn describe(p: &PublishPath) -> String {
        let place = match (p.ci, p.step.as_str()) {
            ("script", "-") => String::new(),
            ("script", step) => format!(" script {step}"),
            _ => format!(" job {}, step {}", p.job, p.step),
        };
        let mut text = format!("{}:{}{place}: `{}`", p.path, p.line, p.command);
        if let Some(c) = &p.credential {
            text.push_str(&format!(" with {c}"));
        }
        text
    }

    /// The JSON object (also SARIF run properties `publish_readiness`).
    pub fn to_json(&self) -> serde_json::Value {
        let mut counts = serde_json::Map::new();
        for s in Status::ALL {
            counts.insert(s.as_str().to_string(), self.count(s).into());
        }
        let p = crate::rules::Policy::global();
        serde_json::json!({
            "total": self.paths.len(),
            "counts": counts,
            "staged": self.staged(),
            "direct_publish_with_token_ends": p.value("bypass_2fa_publish_end"),
            "source": p.facts["bypass_2fa_publish_end"].source,
            "paths": self.paths,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(auth: Auth, staged: bool, npmjs: bool) -> Site {
        Site {
            ci: "github-actions",
            range: 0..1,
            job: "publish".into(),
            step: "run".into(),
            command: "npm publish".into(),
            auth,
            credential: None,
            staged,
            npmjs,
        }
    }

    #[test]
    fn status_follows_auth_staging_and_registry() {
        use Auth::*;
        assert_eq!(site(Token, false, true).status(), Status::WillBreak);
        assert_eq!(site(Token, true, true).status(), Status::TokenStaged);
        assert_eq!(
            site(TrustedPublishing, false, true).status(),
            Status::TrustedPublishing
        );
        assert_eq!(
            site(TrustedPublishing, true, true).status(),
            Status::TrustedPublishing
        );
        assert_eq!(
            site(TrustedPublishingWithToken, false, true).status(),
            Status::TokenFallback
        );
        assert_eq!(
            site(TrustedPublishingWithToken, true, true).status(),
            Status::TokenStaged
        );
        assert_eq!(site(Token, false, false).status(), Status::OtherRegistry);
        assert_eq!(site(Unknown, false, true).status(), Status::Unknown);
    }

    #[test]
    fn credentials_are_named_never_quoted() {
        assert_eq!(credential_label("secrets.NPM_TOKEN"), "secrets.NPM_TOKEN");
        assert_eq!(credential_label("$NODE_AUTH_TOKEN"), "$NODE_AUTH_TOKEN");
        assert_eq!(credential_label("a literal value"), "a literal value");
        assert_eq!(
            credential_label("${{ github.ref == 'x' && 'npm_abc' || '' }}"),
            "an expression"
        );
        assert_eq!(credential_label("secrets.A B"), "an expression");
    }

    #[test]
    fn counts_and_dedup() {
        let a = PublishPath::new("a.yml", 3, site(Auth::Token, false, true));
        let b = PublishPath::new("b.yml", 9, site(Auth::TrustedPublishing, true, true));
        let r = Readiness::new(vec![b.clone(), a.clone(), a.clone()]);
        assert_eq!(r.paths, vec![a, b]);
        assert_eq!(r.count(Status::WillBreak), 1);
        assert_eq!(r.staged(), 1);
        assert_eq!(
            r.headline(),
            "2 publish path(s): 1 long-lived token: will break, 1 trusted publishing; 1 staged for approval"
        );
    }
}
