//! `--purge-plan FILE`: a `git filter-repo --replace-text` expressions file
//! for the secrets a sweep found, and the commands that use it.
//!
//! The expressions file necessarily holds the secrets in full, so it is
//! created readable by its owner only. `--replace-text` has no comment
//! syntax (every non-empty line is an expression), so the instructions go to
//! a companion file next to it rather than into it.

use crate::finding::{Finding, Secret};
use crate::outfile::{self, Access, shell_quote, url_without_credentials};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What each secret is replaced with. It reads as a placeholder to npm
/// users and to npmsweep itself, so a purged `.npmrc` is not a new finding.
pub const REPLACEMENT: &str = "REDACTED-BY-NPMSWEEP";

/// The files written, for the messages printed afterwards.
#[derive(Debug)]
pub struct Written {
    pub expressions: PathBuf,
    pub instructions: PathBuf,
    pub secrets: usize,
}

/// Distinct secrets of the findings, ordered by their stable id.
pub fn secrets(findings: &[Finding]) -> Vec<&Secret> {
    let mut by_id: BTreeMap<String, &Secret> = BTreeMap::new();
    for f in findings.iter().filter(|f| f.suppressed.is_none()) {
        if let Some(s) = &f.secret {
            by_id.entry(s.id()).or_insert(s);
        }
    }
    by_id.into_values().collect()
}

/// One expression per secret, for every secret whatever its bytes.
///
/// git filter-repo reads the file line by line, strips trailing `\r`/`\n`,
/// and splits each line at its *last* `==>` (the replacement never holds
/// one, so a secret containing `==>` still parses). A secret that holds a
/// line break cannot be written literally: it becomes a `regex:` whose
/// every byte other than a letter or digit is an `\xNN` escape, so it is
/// matched exactly and the expression holds neither a line break nor `==>`.
pub fn expressions(secrets: &[&Secret]) -> String {
    let mut out = String::new();
    for s in secrets {
        let value = s.expose();
        if value.is_empty() {
            continue;
        }
        out.push_str(&expression(value));
        out.push_str("==>");
        out.push_str(REPLACEMENT);
        out.push('\n');
    }
    out
}

/// The match half of one `--replace-text` line for `value`.
fn expression(value: &str) -> String {
    if !value.contains(['\n', '\r']) {
        return format!("literal:{value}");
    }
    let mut regex = String::from("regex:");
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() {
            regex.push(b as char);
        } else {
            regex.push_str(&format!("\\x{b:02x}"));
        }
    }
    regex
}

/// The step-by-step text: revoke first, rewrite a mirror, push, then what
/// a rewrite cannot reach. `source` is what to clone: the `origin` remote's
/// URL when there is one (`from_remote`), else the local repository.
pub fn instructions(
    expressions_file: &Path,
    source: &str,
    from_remote: bool,
    secrets: usize,
) -> String {
    let file = shell_quote(&absolute(expressions_file));
    // A remote URL with a token in it (`https://x:TOKEN@host/…`) is copied
    // without its credentials: git asks the credential helper instead.
    let (source, had_credentials) = url_without_credentials(source);
    let source = shell_quote(&source);
    let push = if from_remote {
        "   git push --force --mirror origin".to_string()
    } else {
        "   git push --force --mirror <URL of every remote that has the history>".to_string()
    };
    let lines = [
        format!("npmsweep purge plan: {secrets} secret(s) in {file}"),
        String::new(),
        "That file contains the secrets themselves: keep it private (mode 0600), never commit it,".into(),
        "and delete it when you are done.".into(),
        String::new(),
        "0. Revoke every secret first. Rewriting history does not make a pushed secret safe again:".into(),
        "   it has been in every clone, fork and CI cache since it was pushed. For npm tokens use the".into(),
        "   Access Tokens page on npmjs.com or `npm token revoke <id|token> --otp <code>` as yourself".into(),
        "   (revoking needs interactive 2FA: a token that bypasses 2FA cannot revoke tokens; it can take".into(),
        "   up to an hour to take effect), then use trusted publishing (OIDC) or ${NPM_TOKEN} from CI".into(),
        "   secrets.".into(),
        String::new(),
        "1. Rewrite a fresh mirror clone (git filter-repo refuses to rewrite a clone that is not fresh):".into(),
        String::new(),
        format!(
            "   git clone --mirror {source} purge.git{}",
            if had_credentials {
                "\n   (the origin URL held credentials: they are left out here, git asks for them)"
            } else {
                ""
            }
        ),
        "   cd purge.git".into(),
        format!("   git filter-repo --sensitive-data-removal --replace-text {file}"),
        String::new(),
        "   (--sensitive-data-removal needs git filter-repo 2.47 or newer; leave it out on older ones.)".into(),
        String::new(),
        "2. Check the result (`npmsweep history .` inside purge.git), then replace the published history:".into(),
        String::new(),
        push,
        String::new(),
        "3. Everyone with a clone must re-clone (or their next push brings the secret back).".into(),
        String::new(),
        "What purging cannot undo:".into(),
        "- forks, and every existing clone and CI cache of the repository;".into(),
        "- pull-request refs, cached views and search indexes on the hosting service (on GitHub,".into(),
        "  ask GitHub Support to remove them);".into(),
        "- packages already published to the npm registry with the secret inside them".into(),
        "  (publish a fixed version and deprecate or unpublish the old one);".into(),
        "- anyone who has already copied the secret: only revoking it protects you.".into(),
    ];
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

/// Write the expressions file (mode 0600) and the instructions next to it.
pub fn write(
    path: &Path,
    source: &str,
    from_remote: bool,
    findings: &[Finding],
) -> Result<Written, String> {
    let secrets = secrets(findings);
    let body = expressions(&secrets);
    outfile::write(path, body.as_bytes(), Access::OwnerOnly)
        .map_err(|e| format!("purge plan: {e}"))?;
    let instructions_path = companion(path);
    let text = instructions(path, source, from_remote, secrets.len());
    outfile::write(&instructions_path, text.as_bytes(), Access::Default)?;
    Ok(Written {
        expressions: path.to_path_buf(),
        instructions: instructions_path,
        secrets: secrets.len(),
    })
}

/// `plan.txt` → `plan.txt.README`.
pub fn companion(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_os_string();
    name.push(".README");
    PathBuf::from(name)
}

fn absolute(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// git filter-repo's `get_replace_text` (2.47), line for line: what it
    /// makes of our file.
    fn parse_like_filter_repo(file: &str) -> Vec<(regex::bytes::Regex, String)> {
        let mut rules = Vec::new();
        for line in file.split_inclusive('\n') {
            let mut line = line.trim_end_matches(['\r', '\n']).to_string();
            let mut replacement = "***REMOVED***".to_string();
            if let Some(at) = line.rfind("==>") {
                replacement = line[at + 3..].to_string();
                line.truncate(at);
            }
            // Python's bytes patterns: `\xNN` is a byte.
            let pattern = if let Some(r) = line.strip_prefix("regex:") {
                format!("(?-u){r}")
            } else {
                let lit = line.strip_prefix("literal:").unwrap_or(&line);
                if lit.is_empty() {
                    continue;
                }
                regex::escape(lit)
            };
            rules.push((regex::bytes::Regex::new(&pattern).unwrap(), replacement));
        }
        rules
    }

    #[test]
    fn every_secret_gets_an_expression_filter_repo_reads_back_exactly() {
        let tricky = [
            crate::token::fake_token("npm_", 1),
            "dangerous==>value".to_string(),
            "ends-with==".to_string(),
            "==>".to_string(),
            "two\nlines==>x".to_string(),
            "cr\r".to_string(),
            "ü\n€".to_string(),
            "regex:.*".to_string(),
            "glob:*".to_string(),
            "üñî(.*)[x]{2}\\".to_string(),
        ];
        let secrets: Vec<Secret> = tricky.iter().map(Secret::new).collect();
        let refs: Vec<&Secret> = secrets.iter().collect();
        let file = expressions(&refs);
        let rules = parse_like_filter_repo(&file);
        assert_eq!(rules.len(), tricky.len(), "{file}");
        for (secret, (re, replacement)) in tricky.iter().zip(&rules) {
            assert_eq!(replacement, REPLACEMENT);
            let text = format!("before {secret} after");
            let out = re.replace_all(text.as_bytes(), REPLACEMENT.as_bytes());
            assert_eq!(
                String::from_utf8_lossy(&out),
                format!("before {REPLACEMENT} after"),
                "{secret:?} as {re}"
            );
        }
    }

    #[test]
    fn replacement_reads_as_a_placeholder() {
        assert!(crate::detect::values::is_placeholder(REPLACEMENT, &[]));
    }

    #[test]
    fn companion_sits_next_to_the_plan() {
        assert_eq!(
            companion(Path::new("/tmp/x.txt")),
            PathBuf::from("/tmp/x.txt.README")
        );
    }
}
