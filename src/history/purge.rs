//! `--purge-plan FILE`: a `git filter-repo --replace-text` expressions file
//! for the secrets a sweep found, and the commands that use it.
//!
//! The expressions file necessarily holds the secrets in full, so it is
//! created readable by its owner only. `--replace-text` has no comment
//! syntax (every non-empty line is an expression), so the instructions go to
//! a companion file next to it rather than into it.

use crate::finding::{Finding, Secret};
use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
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

/// One expression per secret: `literal:` so no secret is read as a regex
/// or glob, and an explicit replacement.
pub fn expressions(secrets: &[&Secret]) -> String {
    let mut out = String::new();
    for s in secrets {
        // filter-repo splits at the last `==>` and reads line by line: a
        // secret containing either could not be expressed literally.
        let value = s.expose();
        if value.contains("==>") || value.contains(['\n', '\r']) {
            continue;
        }
        out.push_str("literal:");
        out.push_str(value);
        out.push_str("==>");
        out.push_str(REPLACEMENT);
        out.push('\n');
    }
    out
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
    let file = absolute(expressions_file);
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
        format!("   git clone --mirror {source} purge.git"),
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
    write_private(path, body.as_bytes())
        .map_err(|e| format!("cannot write purge plan {}: {e}", path.display()))?;
    let instructions_path = companion(path);
    let text = instructions(path, source, from_remote, secrets.len());
    std::fs::write(&instructions_path, text)
        .map_err(|e| format!("cannot write {}: {e}", instructions_path.display()))?;
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

/// Create or truncate `path` readable by its owner only. `mode` applies only
/// when the file is created, so an existing file is tightened before the
/// secrets are written into it.
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    file.write_all(bytes)?;
    file.sync_all()
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

    #[test]
    fn one_literal_expression_per_secret() {
        let a = Secret::new(crate::token::fake_token("npm_", 1));
        let b = Secret::new("dangerous==>value");
        let text = expressions(&[&a, &b]);
        assert_eq!(text, format!("literal:{}==>{REPLACEMENT}\n", a.expose()));
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
