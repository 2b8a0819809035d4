//! Which repository a report is about: its remote URL (credentials
//! stripped), default branch and HEAD commit, so that reports from many
//! repositories can be merged (`npmsweep merge`).

use crate::history::object_format::ObjectFormat;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A report's repository (JSON `repository`).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RepositoryInfo {
    /// The `origin` remote's URL without user name or password; absent when
    /// there is no `origin`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// The path it was read from, as given (names the repository when there
    /// is no `origin`).
    pub path: String,
    /// `origin`'s default branch (`refs/remotes/origin/HEAD`), else the
    /// branch HEAD names (a mirror's default branch).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub default_branch: Option<String>,
    /// The commit HEAD resolves to; absent in an empty repository.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub head: Option<String>,
    /// `sha256` for a repository in git's SHA-256 object format (its ids,
    /// here and in findings, have 64 hex digits); absent for SHA-1, so
    /// reports of SHA-1 repositories are unchanged.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub object_format: Option<String>,
}

impl RepositoryInfo {
    /// Facts about the repository at or above `path`; `None` when `path`
    /// is not in a git repository.
    pub fn discover(path: &Path) -> Option<RepositoryInfo> {
        let repo = git2::Repository::discover(path).ok()?;
        Some(Self::of(&repo, path))
    }

    pub fn of(repo: &git2::Repository, path: &Path) -> RepositoryInfo {
        let url = repo
            .find_remote("origin")
            .ok()
            .and_then(|r| r.url().ok().map(strip_credentials));
        let origin_head = repo
            .find_reference("refs/remotes/origin/HEAD")
            .ok()
            .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
            .and_then(|t| t.strip_prefix("refs/remotes/origin/").map(str::to_string));
        let head_branch = repo
            .find_reference("HEAD")
            .ok()
            .and_then(|r| r.symbolic_target().ok().flatten().map(str::to_string))
            .and_then(|t| t.strip_prefix("refs/heads/").map(str::to_string));
        let head = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .map(|c| c.id().to_string());
        RepositoryInfo {
            url,
            path: crate::redact::redact_url_passwords(&path.to_string_lossy()).into_owned(),
            default_branch: origin_head.or(head_branch),
            head,
            object_format: match ObjectFormat::of(repo) {
                ObjectFormat::Sha1 => None,
                other => Some(other.name().to_string()),
            },
        }
    }

    /// The name that identifies the repository across reports: its URL,
    /// else its path.
    pub fn name(&self) -> &str {
        self.url.as_deref().unwrap_or(&self.path)
    }
}

/// Is `path` the top level of a working tree (or a bare repository)? A scan
/// of a subdirectory is not a scan of the repository.
pub fn is_top_level(path: &Path) -> bool {
    let Ok(repo) = git2::Repository::discover(path) else {
        return false;
    };
    let top = repo.workdir().unwrap_or(repo.path());
    match (std::fs::canonicalize(top), std::fs::canonicalize(path)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// `https://user:token@host/org/x.git` → `https://host/org/x.git`: who
/// cloned a repository is not part of its name, and a token must never reach
/// a report. (`git@host:org/x` is scp syntax with no secret and stays.)
/// Whatever else looks like a credential is redacted by the project's URL
/// redaction.
pub fn strip_credentials(url: &str) -> String {
    let stripped = match url.find("://") {
        Some(at) => {
            let (head, tail) = url.split_at(at + 3);
            let authority_end = tail.find(['/', '?', '#']).unwrap_or(tail.len());
            match tail[..authority_end].rfind('@') {
                Some(userinfo_end) => format!("{head}{}", &tail[userinfo_end + 1..]),
                None => url.to_string(),
            }
        }
        None => url.to_string(),
    };
    crate::redact::scrub(&stripped).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_stripped_from_urls() {
        assert_eq!(
            strip_credentials("https://x-access-token:abc123@github.com/o/r.git"),
            "https://github.com/o/r.git"
        );
        assert_eq!(
            strip_credentials("https://github.com/o/r@v1"),
            "https://github.com/o/r@v1"
        );
        assert_eq!(
            strip_credentials("git@github.com:o/r.git"),
            "git@github.com:o/r.git"
        );
        assert_eq!(strip_credentials("/srv/git/r.git"), "/srv/git/r.git");
    }
}
