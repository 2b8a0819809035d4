//! Which registry a credential is bound to, and how to present it there.
//!
//! The binding comes from where the credential was found: the `//host/path/`
//! of an `.npmrc` key, the `npmRegistries` / `npmScopes` entry of a
//! `.yarnrc.yml`, the `bunfig.toml` registry, the host of a URL. An `npm_`
//! token found without one is bound to the public registry (the token
//! format is npm's own). Anything else is not sent anywhere.

use crate::finding::{Finding, Secret};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// npm's public registry.
pub const PUBLIC_REGISTRY: &str = "https://registry.npmjs.org/";

/// How the credential is presented in the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// `Authorization: Bearer <token>`.
    Bearer(Secret),
    /// `Authorization: Basic <base64 of user:password>`.
    Basic(Secret),
}

impl Credential {
    /// The header value. The only place the secret is put into a request.
    pub fn authorization(&self) -> String {
        match self {
            Credential::Bearer(s) => format!("Bearer {}", s.expose()),
            Credential::Basic(s) => format!("Basic {}", s.expose()),
        }
    }

    pub fn is_token(&self) -> bool {
        matches!(self, Credential::Bearer(_))
    }
}

/// A credential and the registry it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// Registry base URL, with a trailing `/` (`https://npm.example.com/api/npm/`).
    pub registry: String,
    /// `host[:port]`, lower case: the unit of the per-host concurrency limit.
    pub host: String,
    pub credential: Credential,
    /// The raw token (Bearer credentials only), to match it in the
    /// registry's token listing.
    pub token: Option<Secret>,
}

impl Binding {
    /// Two findings with the same key are one request.
    pub fn dedup_key(&self) -> String {
        let auth = crate::finding::hash_hex(&[self.credential.authorization().as_bytes()]);
        format!("{}\n{auth}", self.registry)
    }
}

/// Is `host` (`name`, `name:port`, `[v6]:port`) a loopback address?
pub fn is_loopback(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        host.rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(host, |(name, _)| name)
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Turn a registry as written (`//host/path/`, `https://host/path`) into a
/// base URL and its host; refuse plain HTTP to anything but loopback.
pub fn normalize_registry(raw: &str) -> Result<(String, String), String> {
    let raw = raw.trim();
    let (scheme, rest) = if let Some(rest) = raw.strip_prefix("//") {
        (None, rest)
    } else if let Some((scheme, rest)) = raw.split_once("://") {
        (Some(scheme.to_ascii_lowercase()), rest)
    } else {
        return Err(format!("registry {raw:?} is not a URL: not sent"));
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let valid_host = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._:[]".contains(c));
    let valid_path = path
        .chars()
        .all(|c| c.is_ascii_graphic() && !"?#\\\"<>`{}|^".contains(c));
    if !valid_host || !valid_path {
        return Err(format!("registry {raw:?} is not a valid URL: not sent"));
    }
    let host = host.to_ascii_lowercase();
    let loopback = is_loopback(&host);
    let scheme = match scheme.as_deref() {
        // A scope key carries no scheme: local registries (Verdaccio on
        // 127.0.0.1:4873) speak plain HTTP, everything else HTTPS.
        None if loopback => "http",
        None | Some("https") => "https",
        Some("http") if loopback => "http",
        Some("http") => {
            return Err(format!(
                "bound to the plain-HTTP registry http://{host}{path}: not sent (HTTPS only, except to loopback addresses)"
            ));
        }
        Some(other) => {
            return Err(format!(
                "registry scheme {other:?} is not HTTP(S): not sent"
            ));
        }
    };
    let mut url = format!("{scheme}://{host}{path}");
    if !url.ends_with('/') {
        url.push('/');
    }
    Ok((url, host))
}

/// The name of the configuration key that held the credential:
/// `//host/:_authToken` → `_authToken`, `npmScopes.x.npmAuthToken` →
/// `npmAuthToken`, `install.registry.token` → `token`.
fn key_name(key: &str) -> &str {
    let after_colon = key.rsplit(':').next().unwrap_or(key);
    after_colon.rsplit('.').next().unwrap_or(after_colon)
}

/// The binding of a finding's secret: `None` when the finding has no
/// secret, `Err(reason)` when it has one that is not sent anywhere.
pub fn bind(f: &Finding, public_registry: &str) -> Option<Result<Binding, String>> {
    let secret = f.secret.as_ref()?;
    Some(bind_secret(f, secret, public_registry))
}

fn bind_secret(f: &Finding, secret: &Secret, public_registry: &str) -> Result<Binding, String> {
    let is_npm_token = f.rule_id == crate::detect::token::RULE_VALID;
    // The facts as written; the printed details are redacted copies.
    let fact = |k: &str| {
        f.binding
            .get(k)
            .map(String::as_str)
            .or_else(|| f.details.get(k).map(|v| v.as_str()))
    };
    // A scoped key (`//host/path/:_authToken` in a classic `.yarnrc` or an
    // `npm_config_//host/:_authToken` variable) names its registry too.
    let scoped_key = fact("key").and_then(|k| crate::detect::npmrc::split_scoped_key(k).0);
    let registry = match (fact("registry"), scoped_key, fact("host")) {
        (Some(r), _, _) => r.to_string(),
        (None, Some(scope), _) => scope.to_string(),
        (None, None, Some(host)) if f.rule_id == crate::detect::urlcreds::RULE => {
            format!("//{host}/")
        }
        _ if is_npm_token => public_registry.to_string(),
        _ => {
            return Err(
                "not bound to a registry (no registry in its configuration): not sent".to_string(),
            );
        }
    };
    let (registry, host) = normalize_registry(&registry)?;
    let value = secret.expose().trim();
    let user = fact("username");
    let basic = |user: &str, password: &str| {
        Credential::Basic(Secret::new(STANDARD.encode(format!("{user}:{password}"))))
    };
    let name = fact("key").map_or("", key_name);
    let credential = if is_npm_token {
        Credential::Bearer(Secret::new(value))
    } else {
        match name {
            "_auth" => Credential::Basic(Secret::new(value)),
            "npmAuthIdent" if value.contains(':') => {
                Credential::Basic(Secret::new(STANDARD.encode(value)))
            }
            "npmAuthIdent" => Credential::Basic(Secret::new(value)),
            // npm stores `_password` base64-encoded.
            "_password" => {
                let user = user.ok_or("a _password without a username: not sent")?;
                let decoded = STANDARD
                    .decode(value)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or("a _password that is not base64: not sent")?;
                basic(user, &decoded)
            }
            "password" => {
                let user = user.ok_or("a password without a username: not sent")?;
                basic(user, value)
            }
            _ if f.rule_id == crate::detect::urlcreds::RULE => match user {
                Some(user) => basic(user, value),
                None => Credential::Bearer(Secret::new(value)),
            },
            _ => Credential::Bearer(Secret::new(value)),
        }
    };
    let token = match &credential {
        Credential::Bearer(s) => Some(s.clone()),
        Credential::Basic(_) => None,
    };
    Ok(Binding {
        registry,
        host,
        credential,
        token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in [
            "127.0.0.1",
            "127.0.0.1:4873",
            "127.9.8.7",
            "localhost:80",
            "[::1]:4873",
            "LOCALHOST",
        ] {
            assert!(is_loopback(h), "{h}");
        }
        for h in [
            "128.0.0.1",
            "localhost.evil.com",
            "10.0.0.1:80",
            "[::2]:1",
            "example.com",
        ] {
            assert!(!is_loopback(h), "{h}");
        }
    }

    #[test]
    fn registries_normalize_and_plain_http_only_to_loopback() {
        assert_eq!(
            normalize_registry("//npm.example.com/api/npm/").unwrap(),
            (
                "https://npm.example.com/api/npm/".into(),
                "npm.example.com".into()
            )
        );
        assert_eq!(
            normalize_registry("//127.0.0.1:4873/").unwrap().0,
            "http://127.0.0.1:4873/"
        );
        assert_eq!(
            normalize_registry("https://R.example.com").unwrap(),
            ("https://r.example.com/".into(), "r.example.com".into())
        );
        assert!(
            normalize_registry("http://npm.example.com/")
                .unwrap_err()
                .contains("not sent")
        );
        assert_eq!(
            normalize_registry("http://localhost:4873/x").unwrap().0,
            "http://localhost:4873/x/"
        );
        assert!(normalize_registry("ftp://x/").is_err());
        assert!(normalize_registry("//user@evil.example/").is_err());
        assert!(normalize_registry("npm.example.com").is_err());
    }

    /// The binding of every secret finding in `text` scanned as `path`:
    /// (rule, registry, "Bearer"/"Basic") or the reason it is not sent.
    fn bindings(path: &str, text: &str) -> Vec<Result<(String, String, &'static str), String>> {
        let item = crate::detect::Item {
            path,
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        let d = crate::scan::detect_item(&item, &crate::detect::DetectOptions::default());
        d.findings
            .iter()
            .filter_map(|f| bind(f, PUBLIC_REGISTRY))
            .map(|b| {
                b.map(|b| {
                    let scheme = match b.credential {
                        Credential::Bearer(_) => "Bearer",
                        Credential::Basic(_) => "Basic",
                    };
                    (b.registry, b.host, scheme)
                })
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The printed `registry` detail is redacted (a feed id shaped like a
    /// UUID reads as a credential); the binding uses the URL as written.
    #[test]
    fn a_registry_with_a_uuid_in_its_path_is_bound_as_written() {
        let npm = crate::token::fake_token("npm_", 8);
        let feed = crate::rules::synthetic_uuid(8);
        let text =
            format!("//pkgs.example.com/org/{feed}/_packaging/npm/registry/:_authToken={npm}\n");
        let registry = format!("https://pkgs.example.com/org/{feed}/_packaging/npm/registry/");
        assert_eq!(
            bindings(".npmrc", &text),
            [Ok((registry, "pkgs.example.com".to_string(), "Bearer"))]
        );
    }

    #[test]
    fn every_config_format_binds_its_credentials_to_its_registry() {
        let npm = crate::token::fake_token("npm_", 7);
        let uuid = crate::rules::synthetic_uuid(7);
        let ok = |r: &str, h: &str, s: &'static str| Ok((r.to_string(), h.to_string(), s));
        assert_eq!(
            bindings(
                ".npmrc",
                &format!(
                    "//npm.example.com/api/:_authToken={uuid}\n//r.example/:_authToken={npm}\n"
                )
            ),
            [
                ok("https://npm.example.com/api/", "npm.example.com", "Bearer"),
                ok("https://r.example/", "r.example", "Bearer")
            ]
        );
        // _auth is already base64 user:password; _password needs its username.
        assert_eq!(
            bindings(
                ".npmrc",
                &format!(
                    "//n.example/:_auth={}\n//m.example/:username=bob\n//m.example/:_password={}\n",
                    STANDARD.encode("user:hunter2hunter2"),
                    STANDARD.encode("hunter2hunter2")
                )
            ),
            [
                ok("https://m.example/", "m.example", "Basic"),
                ok("https://n.example/", "n.example", "Basic")
            ]
        );
        assert_eq!(
            bindings(
                ".yarnrc.yml",
                &format!(
                    "npmScopes:\n  acme:\n    npmRegistryServer: \"https://y.example/npm\"\n    npmAuthToken: {uuid}\nnpmRegistries:\n  //z.example:8443/:\n    npmAuthIdent: \"bob:hunter2hunter2\"\n"
                )
            ),
            [
                ok("https://y.example/npm/", "y.example", "Bearer"),
                ok("https://z.example:8443/", "z.example:8443", "Basic")
            ]
        );
        assert_eq!(
            bindings(
                "bunfig.toml",
                &format!(
                    "[install.scopes]\nacme = {{ token = \"{uuid}\", url = \"https://b.example/\" }}\n"
                )
            ),
            [ok("https://b.example/", "b.example", "Bearer")]
        );
        assert_eq!(
            bindings(
                ".yarnrc",
                &format!("\"//c.example/npm/:_authToken\" \"{uuid}\"\n")
            ),
            [ok("https://c.example/npm/", "c.example", "Bearer")]
        );
        // A token inside a URL belongs to that URL's host, not to npmjs.
        assert_eq!(
            bindings(
                "package.json",
                &format!(
                    "{{\"publishConfig\": {{\"registry\": \"https://ci:{npm}@u.example/\"}}}}\n"
                )
            ),
            [ok("https://u.example/", "u.example", "Bearer")]
        );
        // An npm_ token anywhere else: the public registry; a bare UUID: nowhere.
        assert_eq!(
            bindings(".env", &format!("TOKEN={npm}\n")),
            [ok(PUBLIC_REGISTRY, "registry.npmjs.org", "Bearer")]
        );
        let unbound = bindings(".env", &format!("NPM_TOKEN={uuid}\n"));
        assert!(
            matches!(unbound.as_slice(), [Err(r)] if r.contains("not bound")),
            "{unbound:?}"
        );
    }

    #[test]
    fn key_names() {
        assert_eq!(key_name("//r.example/:_authToken"), "_authToken");
        assert_eq!(key_name("npmScopes.acme.npmAuthToken"), "npmAuthToken");
        assert_eq!(key_name("install.registry.token"), "token");
        assert_eq!(key_name("_auth"), "_auth");
    }
}
