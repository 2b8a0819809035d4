//! Credentials embedded in registry URLs: `https://user:secret@host/…` in
//! lockfiles (`resolved`, `tarball`), `.npmrc` `registry=`, Yarn and Bun
//! config and `package.json`.

use super::values::{ValueClass, classify};
use super::{DetectOptions, Hit, Item, Sink};
use memchr::memmem;

pub const RULE: &str = "registry-url-credentials";

/// Bytes that end the authority part of a URL.
fn ends_authority(b: u8) -> bool {
    matches!(
        b,
        b'/' | b'?' | b'#' | b'"' | b'\'' | b'`' | b',' | b';' | b'<' | b'>' | b'(' | b')'
    ) || b.is_ascii_whitespace()
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let bytes = item.bytes;
    let in_lockfile = super::FileKind::of(item.path) == super::FileKind::Lockfile;
    for sep in memmem::find_iter(bytes, b"://") {
        // Scheme: letters, digits, `+`, `-`, `.` before `://`.
        let mut s = sep;
        while s > 0 && (bytes[s - 1].is_ascii_alphanumeric() || b"+-.".contains(&bytes[s - 1])) {
            s -= 1;
        }
        let scheme = String::from_utf8_lossy(&bytes[s..sep]).to_ascii_lowercase();
        if !(scheme.ends_with("http") || scheme.ends_with("https")) {
            continue;
        }
        let auth_start = sep + 3;
        let mut end = auth_start;
        while end < bytes.len() && !ends_authority(bytes[end]) {
            end += 1;
        }
        let authority = &bytes[auth_start..end];
        let Some(at) = memchr::memrchr(b'@', authority) else {
            continue;
        };
        let userinfo = &authority[..at];
        let Ok(userinfo) = std::str::from_utf8(userinfo) else {
            continue;
        };
        let host = String::from_utf8_lossy(&authority[at + 1..]).into_owned();
        if host.is_empty() || userinfo.is_empty() {
            continue;
        }
        let (user, secret, secret_start) = match userinfo.split_once(':') {
            Some((u, p)) => (u, p, auth_start + u.len() + 1),
            // A bare token as the user part (`https://<token>@host`).
            None => ("", userinfo, auth_start),
        };
        let secret = percent_decode(secret);
        if secret.is_empty() || secret == "x-oauth-basic" {
            // `https://<token>:x-oauth-basic@github.com`: the user is the token.
            if user.len() >= 20 {
                report(
                    sink,
                    item,
                    auth_start..auth_start + user.len(),
                    user,
                    "",
                    &host,
                );
            }
            continue;
        }
        if userinfo.split_once(':').is_none() && secret.len() < 20 {
            // `https://git@host` style: a user name, not a credential.
            continue;
        }
        match classify(&secret, &opts.extra_placeholders) {
            ValueClass::Literal | ValueClass::LiteralDefault(_) => {}
            // Lockfiles hold URLs as the package manager resolved them: a `$`
            // there is part of the password (`pa$$w0rd`, `%24ecret`), not a
            // `$NAME` reference; only an unexpanded `${NAME}` is not a secret.
            ValueClass::EnvReference if in_lockfile && !secret.contains("${") => {}
            _ => continue,
        }
        let raw_len = userinfo.len() - (secret_start - auth_start);
        report(
            sink,
            item,
            secret_start..secret_start + raw_len,
            &secret,
            user,
            &host,
        );
    }
}

fn report(
    sink: &mut Sink,
    item: &Item,
    range: std::ops::Range<usize>,
    secret: &str,
    user: &str,
    host: &str,
) {
    let mut hit = Hit::new(
        RULE,
        range,
        format!(
            "credentials embedded in a URL for host {host} in {}",
            item.path
        ),
    )
    .with_secret(secret)
    .with_detail("host", host);
    if !user.is_empty() {
        hit = hit.with_detail("username", user);
    }
    sink.hit(hit);
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets(path: &str, text: &str) -> Vec<String> {
        let mut sink = Sink::default();
        let item = Item {
            path,
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        detect(&item, &DetectOptions::default(), &mut sink);
        sink.hits
            .iter()
            .map(|h| text[h.range.clone()].to_string())
            .collect()
    }

    #[test]
    fn a_dollar_in_a_lockfile_password_is_literal() {
        let lock = "{\"resolved\": \"https://bob:pa$$w0rd@npm.example.com/a.tgz\",\n \"b\": \"https://bob:%24ecret%40pass@npm.example.com/b.tgz\",\n \"c\": \"https://bob:${NPM_PASS}@npm.example.com/c.tgz\"}\n";
        assert_eq!(
            secrets("package-lock.json", lock),
            vec!["pa$$w0rd", "%24ecret%40pass"]
        );
        // In .npmrc a `$NAME` password stays a reference, as before.
        assert!(
            secrets(
                ".npmrc",
                "registry=https://bob:$NPM_PASS@npm.example.com/\n"
            )
            .is_empty()
        );
    }
}
