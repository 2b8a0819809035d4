//! Without `--verify`: what is known without asking. npm revoked every
//! classic token on the date in `rules/npm-policy.toml`
//! (`classic_tokens_revoked`), so a legacy UUID token bound to the public
//! registry cannot be live any more: its finding says so and drops to low
//! severity. Private-registry findings keep theirs (their tokens were never
//! npm's to revoke).

use crate::finding::{Finding, Severity};
use crate::rules::Policy;

/// The severity of a public-registry legacy token that npm has revoked.
pub const REVOKED_SEVERITY: Severity = Severity::Low;

fn is_uuid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 5
        && parts
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(p, n)| p.len() == n && p.chars().all(|c| c.is_ascii_hexdigit()))
}

/// Is this finding a legacy (classic, UUID) token bound to
/// registry.npmjs.org (`//registry.npmjs.org/:_authToken=<uuid>`, a Yarn or
/// Bun entry for it)? A UUID at a variable name such as `NPM_TOKEN` is not:
/// nothing says which registry it is for, and private registries (Nexus)
/// issue UUID tokens that npm never revoked.
pub fn is_revoked_public_token(f: &Finding) -> bool {
    let Some(secret) = &f.secret else {
        return false;
    };
    if !is_uuid(secret.expose().trim()) {
        return false;
    }
    // The same binding `--verify` uses.
    matches!(
        super::binding::bind(f, super::PUBLIC_REGISTRY),
        Some(Ok(b)) if b.host == "registry.npmjs.org"
    )
}

/// Mark public-registry legacy tokens as revoked by npm and lower their
/// severity. Run only without `--verify` (with it, the registry answers).
pub fn mark_revoked_public_tokens(findings: &mut [Finding]) {
    let date = Policy::global().value("classic_tokens_revoked");
    for f in findings.iter_mut().filter(|f| is_revoked_public_token(f)) {
        f.severity = f.severity.min(REVOKED_SEVERITY);
        f.details.insert(
            "liveness".into(),
            format!("revoked: npm revoked every classic token on {date}").into(),
        );
        f.message = format!(
            "{}; a legacy token for registry.npmjs.org cannot be live: npm revoked every classic token on {date} (still remove it; --verify asks the registry)",
            f.message
        )
        .into();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_shape() {
        assert!(is_uuid("0b6a2c4e-1111-4222-8333-abcdefabcdef"));
        // npmsweep:ignore test fixture: a made-up value, not a credential
        assert!(!is_uuid("NpmToken.0b6a2c4e-1111-4222-8333-abcdefabcdef"));
        assert!(!is_uuid("0b6a2c4e11114222833abcdefabcdef"));
    }
}
