//! What kind of credential a literal value looks like.
//!
//! A value assigned to an npm credential name (`NPM_TOKEN`, `NODE_AUTH_TOKEN`,
//! `npm_config__authToken`, …) is reported when it has the shape of a
//! credential. Since npm revoked its classic tokens, most long-lived values
//! found there are private-registry tokens (GitHub Packages, GitLab,
//! Artifactory, Nexus, Verdaccio, CodeArtifact, Azure Artifacts), so the
//! shape is named in the finding (`details.shape`) and sets its severity and
//! confidence. A value with no credential shape (a word, a path, a URL, an
//! identifier) is not a finding.
//!
//! Shapes are tried from the most specific (a documented prefix and length)
//! to the least (a high-entropy literal, see [`is_high_entropy`]).

use crate::finding::{Confidence, Severity};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `npm_` + 36 base62 with a valid checksum.
    NpmToken,
    /// A bare UUID: pre-2021 npm tokens; Nexus, Verdaccio and Artifactory
    /// still issue UUID-shaped tokens.
    Uuid,
    /// Sonatype Nexus `NpmToken.<uuid>`.
    NexusNpmToken,
    /// `ghp_`, `gho_`, `ghs_`, `ghu_`, `ghr_` + 36 base62.
    GithubToken,
    /// `github_pat_` + 82 characters (fine-grained personal access token).
    GithubFineGrainedPat,
    /// `glpat-` personal, project or group access token.
    GitlabPat,
    /// `gldt-` deploy token.
    GitlabDeployToken,
    /// `glcbt-` CI/CD job token.
    GitlabJobToken,
    /// `header.payload.signature` JSON Web Token (Verdaccio, many registries).
    Jwt,
    /// JFrog Artifactory API key (`AKCp` + base62).
    ArtifactoryApiKey,
    /// JFrog Artifactory reference token (`cmVmd` + base62: base64 of `ref…`).
    ArtifactoryReferenceToken,
    /// AWS CodeArtifact authorization token (base64url of `{"ver":1,"isu":…`).
    CodeArtifactToken,
    /// Azure DevOps personal access token: 52 base32 characters, or the
    /// 84-character format with `AZDO` at offset 76.
    AzureDevopsPat,
    /// Any other literal that passes the entropy test.
    HighEntropy,
}

impl Shape {
    /// The name reported in `details.shape`.
    pub fn name(self) -> &'static str {
        match self {
            Shape::NpmToken => "npm-token",
            Shape::Uuid => "uuid",
            Shape::NexusNpmToken => "nexus-npm-token",
            Shape::GithubToken => "github-token",
            Shape::GithubFineGrainedPat => "github-fine-grained-pat",
            Shape::GitlabPat => "gitlab-pat",
            Shape::GitlabDeployToken => "gitlab-deploy-token",
            Shape::GitlabJobToken => "gitlab-ci-job-token",
            Shape::Jwt => "jwt",
            Shape::ArtifactoryApiKey => "artifactory-api-key",
            Shape::ArtifactoryReferenceToken => "artifactory-reference-token",
            Shape::CodeArtifactToken => "aws-codeartifact-token",
            Shape::AzureDevopsPat => "azure-devops-pat",
            Shape::HighEntropy => "high-entropy",
        }
    }

    /// What the value is, for messages.
    pub fn describe(self) -> &'static str {
        match self {
            Shape::NpmToken => "npm access token",
            Shape::Uuid => "legacy (UUID) npm or private-registry token",
            Shape::NexusNpmToken => "Nexus npm token",
            Shape::GithubToken => "GitHub token",
            Shape::GithubFineGrainedPat => "GitHub fine-grained personal access token",
            Shape::GitlabPat => "GitLab access token",
            Shape::GitlabDeployToken => "GitLab deploy token",
            Shape::GitlabJobToken => "GitLab CI/CD job token",
            Shape::Jwt => "JSON Web Token",
            Shape::ArtifactoryApiKey => "Artifactory API key",
            Shape::ArtifactoryReferenceToken => "Artifactory reference token",
            Shape::CodeArtifactToken => "AWS CodeArtifact token",
            Shape::AzureDevopsPat => "Azure DevOps personal access token",
            Shape::HighEntropy => "high-entropy literal",
        }
    }

    /// A documented format is a credential whatever the name; an entropy
    /// test is a guess.
    pub fn confidence(self) -> Confidence {
        match self {
            Shape::HighEntropy => Confidence::Low,
            Shape::Uuid | Shape::AzureDevopsPat => Confidence::Medium,
            _ => Confidence::High,
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Shape::HighEntropy => Severity::Medium,
            // Short-lived by design (a job token lives as long as its job).
            Shape::GitlabJobToken => Severity::Medium,
            _ => Severity::High,
        }
    }
}

fn all(s: &str, f: impl Fn(u8) -> bool) -> bool {
    s.bytes().all(f)
}

fn base62(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

fn base64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// The shape of a literal value (already unquoted and trimmed), or `None`
/// when it does not look like a credential.
pub fn shape_of(v: &str) -> Option<Shape> {
    if v.len() < 16 || v.len() > 4096 || v.contains(char::is_whitespace) {
        return None;
    }
    // npm checks its tokens' CRC-32: a checksum-invalid `npm_` string is
    // test data (reported only with --include-invalid-tokens, by the token
    // matcher), whatever name it is assigned to.
    if v.starts_with("npm_") {
        return crate::token::is_valid_npm_token(v.as_bytes()).then_some(Shape::NpmToken);
    }
    if is_uuid(v) {
        return Some(Shape::Uuid);
    }
    if let Some(rest) = v.strip_prefix("NpmToken.") {
        return is_uuid(rest).then_some(Shape::NexusNpmToken);
    }
    for p in ["ghp_", "gho_", "ghs_", "ghu_", "ghr_"] {
        if let Some(rest) = v.strip_prefix(p) {
            return (rest.len() == 36 && all(rest, base62)).then_some(Shape::GithubToken);
        }
    }
    if let Some(rest) = v.strip_prefix("github_pat_") {
        return (rest.len() >= 70 && all(rest, |b| base62(b) || b == b'_'))
            .then_some(Shape::GithubFineGrainedPat);
    }
    for (p, shape) in [
        ("glpat-", Shape::GitlabPat),
        ("gldt-", Shape::GitlabDeployToken),
        ("glcbt-", Shape::GitlabJobToken),
    ] {
        if let Some(rest) = v.strip_prefix(p) {
            return (rest.len() >= 20 && all(rest, |b| base64url(b) || b == b'.')).then_some(shape);
        }
    }
    if v.starts_with("eyJ2ZXIiOjEsImlzdSI6") && all(v, |b| base64url(b) || b == b'.') {
        return Some(Shape::CodeArtifactToken);
    }
    if is_jwt(v) {
        return Some(Shape::Jwt);
    }
    if v.starts_with("AKCp") && v.len() >= 64 && all(v, base62) {
        return Some(Shape::ArtifactoryApiKey);
    }
    if v.starts_with("cmVmd") && v.len() >= 56 && all(v, |b| base62(b) || b == b'=') {
        return Some(Shape::ArtifactoryReferenceToken);
    }
    if (v.len() == 52 && all(v, |b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b)))
        || (v.len() == 84 && all(v, base62) && &v[76..80] == "AZDO")
    {
        // 52 lowercase base32 characters are also what a random lowercase
        // word would never be: still require a digit.
        if v.bytes().any(|b| b.is_ascii_digit()) {
            return Some(Shape::AzureDevopsPat);
        }
    }
    is_high_entropy(v).then_some(Shape::HighEntropy)
}

fn is_jwt(v: &str) -> bool {
    let mut parts = v.split('.');
    let (Some(h), Some(p), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    h.starts_with("eyJ")
        && p.starts_with("eyJ")
        && h.len() >= 10
        && p.len() >= 10
        && all(h, base64url)
        && all(p, base64url)
        && all(s, base64url)
}

/// Shannon entropy of the value's characters, in bits per character.
pub fn entropy(v: &str) -> f64 {
    let mut counts = [0u32; 256];
    for b in v.bytes() {
        counts[b as usize] += 1;
    }
    let n = v.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Minimum length of a generic high-entropy credential.
pub const MIN_ENTROPY_LEN: usize = 20;
/// Minimum Shannon entropy, bits per character. A random base62 string of
/// 20 characters scores about 4.0, a random hex string of 32 about 3.7;
/// English-like identifiers (`my-npm-publish-token-2024`) stay under 3.5.
pub const MIN_ENTROPY_BITS: f64 = 3.5;

/// The generic test: at least [`MIN_ENTROPY_LEN`] characters, all from the
/// base64/base64url/hex alphabets (plus `.` and `~`), both letters and
/// digits, few separators (an identifier or a sentence has many), and at
/// least [`MIN_ENTROPY_BITS`] bits of Shannon entropy per character.
pub fn is_high_entropy(v: &str) -> bool {
    if v.len() < MIN_ENTROPY_LEN
        || !all(v, |b| {
            b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'=' | b'-' | b'_' | b'.' | b'~')
        })
        || !v.bytes().any(|b| b.is_ascii_digit())
        || !v.bytes().any(|b| b.is_ascii_alphabetic())
    {
        return false;
    }
    // A path (`./secrets/npm-token-2024`, `/run/secrets/x`) or a version
    // string is not a credential.
    if v.starts_with(['/', '.', '~']) {
        return false;
    }
    let separators = v
        .bytes()
        .filter(|b| matches!(b, b'-' | b'_' | b'.' | b'/'))
        .count();
    if separators * 8 > v.len() {
        return false;
    }
    entropy(v) >= MIN_ENTROPY_BITS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::expand_templates;

    #[test]
    fn specific_shapes() {
        for (template, want) in [
            ("{{npm_token}}", Shape::NpmToken),
            ("{{uuid}}", Shape::Uuid),
            ("NpmToken.{{uuid}}", Shape::NexusNpmToken),
            ("{{ghp_token}}", Shape::GithubToken),
            ("{{github_pat}}", Shape::GithubFineGrainedPat),
            ("{{glpat}}", Shape::GitlabPat),
            ("{{gldt}}", Shape::GitlabDeployToken),
            ("{{jwt}}", Shape::Jwt),
            ("{{artifactory_api_key}}", Shape::ArtifactoryApiKey),
            ("{{artifactory_ref}}", Shape::ArtifactoryReferenceToken),
            ("{{codeartifact_token}}", Shape::CodeArtifactToken),
            ("{{azure_pat}}", Shape::AzureDevopsPat),
            ("{{azure_pat_84}}", Shape::AzureDevopsPat),
            ("{{entropy_token}}", Shape::HighEntropy),
        ] {
            let v = expand_templates(template);
            assert_eq!(shape_of(&v), Some(want), "{template} -> {v}");
        }
    }

    #[test]
    fn not_credentials() {
        for v in [
            "true",
            "production",
            "NODE_AUTH_TOKEN",
            "https://registry.npmjs.org/",
            "/run/secrets/npm_token",
            "./config/npm-token-2024.txt",
            "my-npm-publish-token-2024",
            "secrets.NPM_TOKEN_FOR_PUBLISHING",
            "process.env.NPM_TOKEN",
            "1.2.3-beta.4+build.5",
            "abcdefghijklmnopqrstuvwxyz",
            "ghp_short",
        ] {
            assert_eq!(shape_of(v), None, "{v}");
        }
        let invalid = expand_templates("{{npm_token_invalid}}");
        assert_eq!(shape_of(&invalid), None, "{invalid}");
    }
}
