//! `npmsweep revoke`: for each credential `--verify` found live, the exact
//! step that revokes it at the registry it belongs to; with `--yes`, run it
//! and ask the registry again.
//!
//! npm-compatible registries (npmjs.com, Verdaccio, other npm token APIs)
//! revoke with `npm token revoke <id|token> --registry <url>`, run as the
//! token's owner (npm authenticates with your own login for that registry,
//! not with the leaked token). The id is the token's `key` when the
//! registry's token listing showed it: Verdaccio masks tokens in its
//! listing, so `npm token revoke <full token>` fails there, while the key
//! works. Registries whose tokens are not managed through the npm token API
//! (GitHub Packages, GitLab, Artifactory, Nexus) and passwords get a
//! sentence saying where to do it.

use super::binding::{self, Binding, Credential};
use super::{Status, Verification};
use crate::finding::{Finding, Secret, redact};
use crate::report::terminal::escape;
use crate::rules::Policy;
use std::collections::BTreeMap;
use std::io::{self, Write};

/// One thing to revoke: a live credential, wherever it occurs.
#[derive(Debug)]
pub struct Revocation {
    /// `path:line` of every occurrence, sorted.
    pub locations: Vec<String>,
    pub binding: Binding,
    pub verification: Verification,
    pub action: Action,
}

#[derive(Debug)]
pub enum Action {
    /// `npm token revoke <id> --registry <url>`; `id` is the key or the token.
    NpmTokenRevoke { id: RevokeId, public: bool },
    /// Cannot be done from the command line: where to do it.
    Manual(String),
}

#[derive(Debug)]
pub enum RevokeId {
    /// The registry's key for the token (not secret).
    Key(String),
    /// The token itself (secret: redacted unless shown on purpose).
    Token(Secret),
}

/// Where to revoke a credential that the npm token API does not manage.
fn manual_place(b: &Binding) -> Option<String> {
    let host = b.host.as_str();
    let path = b.registry.split_once(host).map_or("", |(_, p)| p);
    if host == "npm.pkg.github.com" {
        Some("GitHub Packages: delete the token at https://github.com/settings/tokens (or the organisation's fine-grained tokens); a GITHUB_TOKEN expires with its job".into())
    } else if host.contains("gitlab") || path.starts_with("/api/v4/") {
        Some(format!(
            "GitLab: revoke it under User settings → Access tokens, or the project's or group's Settings → Access tokens, on https://{host}/"
        ))
    } else if host.ends_with("jfrog.io") || path.contains("/artifactory/") {
        Some(format!(
            "Artifactory: revoke it under Administration → User Management → Access Tokens (or the owner's Edit Profile → identity tokens) on https://{host}/"
        ))
    } else if path.starts_with("/repository/") || host.contains("nexus") {
        Some(format!(
            "Nexus: reset the owner's user token (User → User Token → Reset) or change the user's password on https://{host}/"
        ))
    } else {
        None
    }
}

/// The revocations for every live credential in `findings`, one per
/// distinct (registry, credential), in report order.
pub fn plan(findings: &[Finding], public_registry: &str) -> Vec<Revocation> {
    let mut by_key: BTreeMap<String, usize> = BTreeMap::new();
    let mut out: Vec<Revocation> = Vec::new();
    for f in findings {
        let Some(v) = f.verification.as_ref().filter(|v| v.status == Status::Live) else {
            continue;
        };
        let Some(Ok(b)) = binding::bind(f, public_registry) else {
            continue;
        };
        // The path is the scanned repository's: redacted and escaped like
        // every report's (a file named after a token, or with ESC in it).
        let path = crate::redact::path(&f.path);
        let location = format!("{}:{}", escape(&path), f.span.start_line);
        let key = b.dedup_key();
        if let Some(&i) = by_key.get(&key) {
            out[i].locations.push(location);
            continue;
        }
        let action = match (&b.credential, manual_place(&b)) {
            (_, Some(place)) => Action::Manual(place),
            (Credential::Basic(_), None) => Action::Manual(format!(
                "a user name and password: change the password of {} at {}",
                v.user.as_deref().unwrap_or("the user"),
                b.registry
            )),
            (Credential::Bearer(token), None) => Action::NpmTokenRevoke {
                id: match v.token.get("key") {
                    Some(k) => RevokeId::Key(k.clone()),
                    None => RevokeId::Token(token.clone()),
                },
                public: b.host == "registry.npmjs.org",
            },
        };
        by_key.insert(key, out.len());
        out.push(Revocation {
            locations: vec![location],
            binding: b,
            verification: v.clone(),
            action,
        });
    }
    for r in &mut out {
        r.locations.sort();
        r.locations.dedup();
    }
    out
}

impl Revocation {
    /// The `npm` arguments, with the token in full only if `reveal`.
    pub fn npm_args(&self, reveal: bool) -> Option<Vec<String>> {
        let Action::NpmTokenRevoke { id, public } = &self.action else {
            return None;
        };
        let id = match id {
            RevokeId::Key(k) => k.clone(),
            RevokeId::Token(t) if reveal => t.expose().to_string(),
            RevokeId::Token(t) => redact(t.expose()),
        };
        let mut args = vec![
            "token".to_string(),
            "revoke".to_string(),
            id,
            "--registry".to_string(),
            if reveal {
                self.binding.registry.clone()
            } else {
                crate::redact::scrub(&self.binding.registry).into_owned()
            },
        ];
        if *public {
            // npm asks for the one-time password itself when it is at a terminal.
            args.push("--otp=<one-time password>".to_string());
        }
        Some(args)
    }
}

/// Options of the `revoke` command.
#[derive(Clone, Debug)]
pub struct RevokeOptions {
    /// Run the commands (otherwise print them).
    pub yes: bool,
    /// Print tokens in full in the printed commands.
    pub show_secrets: bool,
    /// The npm program to run.
    pub npm: String,
    pub verify: super::VerifyOptions,
}

/// Print the plan, and with `--yes` carry it out and verify again. Returns
/// whether every live credential is now known dead (`true` with nothing to do).
pub fn run(plan: &[Revocation], opts: &RevokeOptions, out: &mut dyn Write) -> io::Result<bool> {
    if plan.is_empty() {
        writeln!(out, "No live credential found: nothing to revoke.")?;
        return Ok(true);
    }
    if plan
        .iter()
        .any(|r| matches!(r.action, Action::NpmTokenRevoke { public: true, .. }))
    {
        writeln!(
            out,
            "npmjs.com: revoke {}\n",
            Policy::global().value("revoke_npm_token")
        )?;
    }
    let client = super::http::Client::new(opts.verify.timeout);
    let mut all_dead = true;
    for r in plan {
        let who = r.verification.user.as_deref().unwrap_or("?");
        writeln!(
            out,
            "# live as {} at {}: {}",
            escape(who),
            escape(&crate::redact::scrub(&r.binding.registry)),
            r.locations.join(", ")
        )?;
        let Some(args) = r.npm_args(opts.show_secrets) else {
            if let Action::Manual(place) = &r.action {
                writeln!(out, "#   not revocable from the command line; {place}")?;
            }
            all_dead = false;
            continue;
        };
        writeln!(out, "npm {}", args.join(" "))?;
        if let Action::NpmTokenRevoke {
            id: RevokeId::Token(_),
            public: false,
        } = r.action
        {
            writeln!(
                out,
                "#   the registry's token listing did not show this token: if npm cannot find it, it is a login session token (Verdaccio's cannot be revoked): change {who}'s password"
            )?;
        }
        if !opts.yes {
            all_dead = false;
            continue;
        }
        let mut real = r.npm_args(true).expect("an npm action");
        // npm prompts for the one-time password at a terminal.
        real.retain(|a| !a.starts_with("--otp="));
        let status = std::process::Command::new(&opts.npm).args(&real).status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => writeln!(out, "#   npm failed ({s}); the token may still be live")?,
            Err(e) => writeln!(out, "#   cannot run {}: {e}", opts.npm)?,
        }
        let again = client.verify(&r.binding, opts.verify.timeout);
        writeln!(out, "#   verified again: {}", again.summary())?;
        if again.status != Status::Dead {
            all_dead = false;
            if matches!(r.action, Action::NpmTokenRevoke { public: true, .. }) {
                writeln!(
                    out,
                    "#   npm says revocation can take up to an hour to take effect"
                )?;
            }
        }
    }
    Ok(all_dead)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binding(registry: &str) -> Binding {
        let (registry, host) = binding::normalize_registry(registry).unwrap();
        Binding {
            registry,
            host,
            credential: Credential::Bearer(Secret::new("t")),
            token: None,
        }
    }

    #[test]
    fn a_hostile_path_is_redacted_and_escaped_in_the_plan() {
        let name = crate::token::fake_token("npm_", 31);
        let secret = crate::token::fake_token("npm_", 32);
        let path = format!("d{name}\u{1b}[2J/.npmrc");
        let content = format!("//registry.npmjs.org/:_authToken={secret}\n");
        let item = crate::detect::Item {
            path: &path,
            bytes: content.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        let mut findings = crate::scan::detect_item(&item, &Default::default()).findings;
        assert!(!findings.is_empty());
        for f in &mut findings {
            let mut v = Verification::unknown(Some("https://registry.npmjs.org/".into()), "");
            v.status = Status::Live;
            v.user = Some("alice".into());
            f.verification = Some(v);
        }
        let plan = plan(&findings, binding::PUBLIC_REGISTRY);
        assert_eq!(plan.len(), 1);
        let opts = RevokeOptions {
            yes: false,
            show_secrets: false,
            npm: "npm".into(),
            verify: Default::default(),
        };
        let mut out = Vec::new();
        run(&plan, &opts, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains(".npmrc:1"), "{text}");
        assert!(!text.contains('\u{1b}'), "{text}");
        assert!(!text.contains(&name) && !text.contains(&secret), "{text}");
    }

    #[test]
    fn registries_without_an_npm_token_api_get_a_place_not_a_command() {
        let place = |r: &str| manual_place(&binding(r)).unwrap_or_default();
        assert!(place("//npm.pkg.github.com/").contains("github.com/settings/tokens"));
        assert!(place("//gitlab.example.com/api/v4/projects/1/packages/npm/").contains("GitLab"));
        assert!(place("//code.example.com/api/v4/packages/npm/").contains("GitLab"));
        assert!(place("//acme.jfrog.io/artifactory/api/npm/npm/").contains("Artifactory"));
        assert!(place("//repo.example.com/artifactory/api/npm/npm/").contains("Artifactory"));
        assert!(place("//nexus.example.com/repository/npm-private/").contains("Nexus"));
        assert!(manual_place(&binding("//registry.npmjs.org/")).is_none());
        assert!(manual_place(&binding("//127.0.0.1:4873/")).is_none());
    }
}
