//! The requests: `GET <registry>/-/whoami` and, for a live token,
//! `GET <registry>/-/npm/v1/tokens`, both to the credential's own host.
//!
//! `ureq` (blocking, rustls, no async runtime): a verification run is a
//! handful of requests, threads suffice. Redirects are not followed (the
//! credential must not travel to another host), no proxy is used, answers
//! are read up to 64 KiB, and nothing here logs or formats the secret: error
//! texts come from the transport and hold the URL, never the headers.

use super::binding::{Binding, Credential};
use super::{Status, Verification};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

const MAX_BODY: u64 = 64 * 1024;

pub struct Client {
    agent: ureq::Agent,
    timeout: Duration,
}

/// An answer that arrived: status code and (bounded) body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Client {
    pub fn new(timeout: Duration) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .proxy(None)
            .user_agent(concat!(
                "npmsweep/",
                env!("CARGO_PKG_VERSION"),
                " (--verify)"
            ))
            .timeout_global(Some(timeout))
            .build()
            .new_agent();
        Client { agent, timeout }
    }

    fn get(&self, url: &str, credential: &Credential, budget: Duration) -> Result<Answer, String> {
        let limit = budget.min(self.timeout);
        let mut response = self
            .agent
            .get(url)
            .header("Authorization", credential.authorization())
            .header("Accept", "application/json")
            .config()
            .timeout_global(Some(limit))
            .build()
            .call()
            .map_err(|e| transport_error(&e, limit))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| transport_error(&e, limit))?;
        Ok(Answer { status, body })
    }

    /// Ask the registry about one credential, within `budget`.
    pub fn verify(&self, b: &Binding, budget: Duration) -> Verification {
        let url = format!("{}-/whoami", b.registry);
        // Reported, so redacted like the finding's `registry` detail (the
        // request itself goes to the registry as written).
        let registry = Some(crate::redact::scrub(&b.registry).into_owned());
        let answer = match self.get(&url, &b.credential, budget) {
            Ok(a) => a,
            Err(reason) => return Verification::unknown(registry, reason),
        };
        let mut v = classify_whoami(answer.status, &answer.body);
        v.registry = registry;
        if v.status == Status::Live
            && let Some(token) = &b.token
        {
            let url = format!("{}-/npm/v1/tokens", b.registry);
            // Best effort: a token that may not list tokens (read-only,
            // granular) is still live; its restrictions stay unknown.
            if let Ok(a) = self.get(&url, &b.credential, budget)
                && a.status == 200
                && let Some(entry) = find_token(&a.body, token.expose())
            {
                (v.token, v.over_privileged) = token_facts(&entry);
            }
        }
        v
    }
}

fn transport_error(e: &ureq::Error, limit: Duration) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("timeout after {}s", limit.as_secs_f64()),
        ureq::Error::HostNotFound => "network error: host not found".to_string(),
        ureq::Error::ConnectionFailed => "network error: connection failed".to_string(),
        ureq::Error::BodyExceedsLimit(_) => {
            format!("unexpected answer: longer than {} KiB", MAX_BODY / 1024)
        }
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
            format!("timeout after {}s", limit.as_secs_f64())
        }
        // rustls reports a peer that does not speak TLS as invalid data.
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => match io.get_ref() {
            Some(inner) => format!("TLS error: {inner}"),
            None => "TLS error: invalid data".to_string(),
        },
        ureq::Error::Io(io) => format!("network error: {}", io.kind()),
        ureq::Error::Tls(_) | ureq::Error::Rustls(_) => format!("TLS error: {e}"),
        ureq::Error::Protocol(_) => format!("unexpected answer: not valid HTTP ({e})"),
        other => format!("network error: {other}"),
    }
}

/// Turn a `whoami` answer into a status. A live answer must name a user:
/// some registries (Verdaccio) answer `200 {}` to a token they never
/// issued, which authenticates no one, so it is dead.
pub fn classify_whoami(status: u16, body: &[u8]) -> Verification {
    let json: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        json.as_ref()
            .and_then(|j| j.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let error = field("error").map(|e| e.to_ascii_lowercase());
    let mut v = Verification::unknown(None, String::new());
    match status {
        200 => match (field("username"), &error) {
            (Some(user), None) if !user.trim().is_empty() => {
                v.status = Status::Live;
                v.reason = "HTTP 200 naming the user".into();
                // The registry's text: bounded, no control characters.
                // A registry that echoes the credential as the user name
                // must not make the report print it: redacted like input.
                let user: String = user.chars().filter(|c| !c.is_control()).take(128).collect();
                v.user = Some(crate::redact::scrub(&user).into_owned());
            }
            (_, Some(e)) if e.contains("unauthori") || e.contains("forbidden") => {
                v.status = Status::Dead;
                v.reason = "HTTP 200 with an \"unauthorized\" error".into();
            }
            _ if json.as_ref().is_some_and(Value::is_object) => {
                v.status = Status::Dead;
                v.reason = "HTTP 200 naming no user: the registry does not recognise it".into();
            }
            _ => v.reason = "unexpected answer: HTTP 200 without a JSON object".into(),
        },
        401 | 403 => {
            v.status = Status::Dead;
            v.reason = format!("HTTP {status}");
        }
        300..=399 => {
            v.reason = format!(
                "unexpected answer: HTTP {status} redirect, not followed (the credential goes to its own host only)"
            )
        }
        404 => {
            v.reason = "unexpected answer: HTTP 404, no whoami endpoint at this registry URL".into()
        }
        _ => v.reason = format!("unexpected answer: HTTP {status}"),
    }
    v
}

/// The entry of a token listing (`{"objects": [...]}`) that is this token:
/// its `key` is the token's SHA-512 (npm), or its masked form (`abcde...vwxyz`,
/// `npm_ab…wxyz`) matches the token's start and end (Verdaccio).
pub fn find_token(body: &[u8], token: &str) -> Option<serde_json::Map<String, Value>> {
    let json: Value = serde_json::from_slice(body).ok()?;
    let objects = json.get("objects")?.as_array()?;
    let key = {
        use sha2::{Digest, Sha512};
        let digest = Sha512::digest(token.as_bytes());
        digest
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let matching: Vec<&serde_json::Map<String, Value>> = objects
        .iter()
        .filter_map(Value::as_object)
        .filter(|o| {
            o.get("key").and_then(Value::as_str) == Some(key.as_str())
                || o.get("token")
                    .and_then(Value::as_str)
                    .is_some_and(|masked| masked_matches(masked, token))
        })
        .collect();
    match matching.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

/// Does a masked listing entry (`abcde...vwxyz`, `abcde…vwxyz`) stand for `token`?
pub fn masked_matches(masked: &str, token: &str) -> bool {
    let Some((start, end)) = masked.split_once("...").or_else(|| masked.split_once('…')) else {
        return masked == token;
    };
    !start.is_empty()
        && !end.is_empty()
        && token.len() > start.len() + end.len()
        && token.starts_with(start)
        && token.ends_with(end)
}

/// Facts from a token listing entry, and what they say about privilege.
fn token_facts(entry: &serde_json::Map<String, Value>) -> (BTreeMap<String, String>, Vec<String>) {
    let mut facts = BTreeMap::new();
    let mut over = Vec::new();
    if let Some(readonly) = entry.get("readonly").and_then(Value::as_bool) {
        facts.insert("readonly".into(), readonly.to_string());
        if !readonly {
            over.push("read-write (can publish)".to_string());
        }
    }
    let cidr = entry.get("cidr_whitelist").or_else(|| entry.get("cidr"));
    if let Some(cidr) = cidr {
        let ranges: Vec<&str> = cidr
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        facts.insert("cidr".into(), ranges.join(","));
        if ranges.is_empty() {
            over.push("no CIDR restriction".to_string());
        }
    }
    for name in ["created", "expires", "key"] {
        if let Some(value) = entry.get(name) {
            match value {
                Value::String(s) => {
                    facts.insert(name.into(), s.clone());
                }
                Value::Null if name == "expires" => over.push("no expiry".to_string()),
                _ => {}
            }
        }
    }
    (facts, over)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whoami_answers() {
        let live = classify_whoami(200, br#"{"username":"alice"}"#);
        assert_eq!(
            (live.status, live.user.as_deref()),
            (Status::Live, Some("alice"))
        );
        assert_eq!(classify_whoami(200, b"{}").status, Status::Dead);
        // A registry echoing the token as the user name: redacted.
        let token = crate::token::fake_token("npm_", 77);
        let echo = format!(r#"{{"username":"{token}"}}"#);
        let live = classify_whoami(200, echo.as_bytes());
        assert_eq!(live.status, Status::Live);
        assert!(!live.user.unwrap().contains(&token[4..]));
        assert_eq!(
            classify_whoami(200, br#"{"error":"unauthorized access"}"#).status,
            Status::Dead
        );
        assert_eq!(classify_whoami(401, b"").status, Status::Dead);
        assert_eq!(classify_whoami(403, b"{}").status, Status::Dead);
        let odd = classify_whoami(200, b"<html>");
        assert_eq!(odd.status, Status::Unknown);
        assert!(odd.reason.contains("JSON"), "{}", odd.reason);
        assert_eq!(
            classify_whoami(200, br#"{"username":""}"#).status,
            Status::Dead
        );
        assert_eq!(
            classify_whoami(500, b"").reason,
            "unexpected answer: HTTP 500"
        );
        assert!(classify_whoami(302, b"").reason.contains("not followed"));
        assert!(classify_whoami(404, b"").reason.contains("404"));
    }

    #[test]
    fn masked_listing_entries_match_their_token_only() {
        let token = "abcdefghijklmnopqrstuvwxyz";
        assert!(masked_matches("abcde...vwxyz", token));
        assert!(masked_matches("abcde…vwxyz", token));
        assert!(!masked_matches("abcdf...vwxyz", token));
        assert!(!masked_matches("...", token));
        let body = br#"{"objects":[{"token":"abcde...vwxyz","key":"k1","readonly":false,"cidr":[],"created":"2026-11-30"},{"token":"zzzzz...zzzzz","key":"k2"}]}"#;
        let entry = find_token(body, token).unwrap();
        let (facts, over) = token_facts(&entry);
        assert_eq!(facts["key"], "k1");
        assert_eq!(facts["readonly"], "false");
        assert_eq!(over, ["read-write (can publish)", "no CIDR restriction"]);
        assert!(find_token(body, "nothing-like-it-at-all").is_none());
    }
}
