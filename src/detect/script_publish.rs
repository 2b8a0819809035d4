//! `script-npm-token-publish`: a repository script that publishes to the
//! public npm registry with a long-lived token from the environment — a
//! shell script (`scripts/release.sh`, an extensionless script with a shell
//! shebang) or `package.json` `scripts` (`"release": "… $NPM_TOKEN … &&
//! npm publish"`). Whoever runs it (a CI system npmsweep does not analyse
//! yet, a release machine) depends on a token that bypasses 2FA, and those
//! lose direct publishing from about January 2027 (`rules/npm-policy.toml`).
//! Staging (`npm stage publish`) keeps working and is reported at a lower
//! severity. Every such publish is also a publish path for the readiness
//! summary (`ci: "script"`).
//!
//! What counts as "with a token": the script (for `package.json`, any of its
//! scripts) expands an npm credential variable (`NPM_TOKEN`,
//! `NODE_AUTH_TOKEN`, … not one named read-only) — to write an `.npmrc`, to
//! set `NODE_AUTH_TOKEN`, or to check that it is set. A publish with no
//! credential in sight is left alone: its caller decides how it
//! authenticates.

use super::envassign::is_credential_name;
use super::workflow::shell::{self, Command};
use super::workflow::{is_public_registry, publish_command, read_only_name};
use super::{DetectOptions, FileKind, Hit, Item, Sink};
use crate::finding::Severity;
use crate::readiness::{Auth, Site};
use crate::rules::Policy;
use std::ops::Range;

pub const RULE: &str = "script-npm-token-publish";

/// Shell scripts by name; extensionless files reach here only when their
/// shebang names a shell (see `scan::detect_unfiltered`). Makefiles, CI
/// YAML and Jenkinsfiles are other languages.
fn is_shell_script(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path).to_ascii_lowercase();
    if FileKind::of(path) != FileKind::Script {
        return true;
    }
    [".sh", ".bash", ".zsh", ".ksh"]
        .iter()
        .any(|e| name.ends_with(e))
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    // Most package.json files (think node_modules) and scripts never
    // publish: a memchr-speed check keeps them from the JSON and shell parsers.
    if memchr::memmem::find(item.bytes, b"publish").is_none() {
        return;
    }
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        return;
    };
    let name = item.path.rsplit('/').next().unwrap_or(item.path);
    if name == "package.json" {
        package_json(item.path, text, opts, sink);
    } else if name != "pnpm-workspace.yaml" && is_shell_script(item.path) {
        let script = shell::parse(text);
        let token = credential_var(&script.commands, opts);
        for c in &script.commands {
            publish(item.path, "shell script", "-", c, 0, token.as_deref(), sink);
        }
    }
}

/// `package.json` `scripts`: each value is a shell command line.
fn package_json(path: &str, text: &str, opts: &DetectOptions, sink: &mut Sink) {
    let Ok(doc) = serde_json::from_str::<serde_json::Value>(text) else {
        return; // the JSON is reported by the detectors that parse it
    };
    let Some(scripts) = doc.get("scripts").and_then(|s| s.as_object()) else {
        return;
    };
    // `publishConfig.registry` elsewhere: npm's policy is the public registry's.
    if let Some(r) = doc
        .pointer("/publishConfig/registry")
        .and_then(|r| r.as_str())
        && !is_public_registry(r)
    {
        return;
    }
    let parsed: Vec<(&str, &str, shell::Script)> = scripts
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| (k.as_str(), v, shell::parse(v))))
        .collect();
    let all: Vec<Command> = parsed
        .iter()
        .flat_map(|(_, _, s)| s.commands.iter().cloned())
        .collect();
    let Some(token) = credential_var(&all, opts) else {
        return;
    };
    let scripts_at = text.find("\"scripts\"").unwrap_or(0);
    for (key, value, script) in &parsed {
        // The value's place in the file: the JSON-encoded string after its key.
        let encoded = serde_json::to_string(value).unwrap_or_default();
        let key_at = text[scripts_at..]
            .find(&format!("\"{key}\""))
            .map_or(scripts_at, |i| scripts_at + i);
        let Some(at) = text[key_at..].find(&encoded).map(|i| key_at + i + 1) else {
            continue;
        };
        for c in &script.commands {
            // Offsets inside the value are exact only without JSON escapes.
            let offset = if encoded.len() == value.len() + 2 {
                at
            } else {
                at.saturating_sub(c.range.start)
            };
            publish(
                path,
                "package.json scripts",
                key,
                c,
                offset,
                Some(&token),
                sink,
            );
        }
    }
}

/// The first npm credential variable the commands expand (`$NPM_TOKEN`),
/// not one whose name says it only reads.
fn credential_var(commands: &[Command], opts: &DetectOptions) -> Option<String> {
    commands
        .iter()
        .flat_map(|c| c.words().chain(c.assigns.iter().map(|a| &a.value)))
        .flat_map(|w| w.vars.iter().chain(&w.sub_vars))
        .map(|v| v.name.as_str())
        .chain(
            commands
                .iter()
                .flat_map(|c| c.assigns.iter().map(|a| a.name.as_str())),
        )
        .find(|n| is_credential_name(n, &opts.extra_credential_names) && !read_only_name(n))
        .map(|n| format!("${n}"))
}

fn publish(
    path: &str,
    job: &str,
    step: &str,
    c: &Command,
    offset: usize,
    token: Option<&str>,
    sink: &mut Sink,
) {
    let Some((_, what)) = publish_command(c) else {
        return;
    };
    let args: Vec<&str> = c.argv().collect();
    // A one-time password means the token does not bypass 2FA: npm's
    // deadline is about tokens that do.
    if args.contains(&"--dry-run")
        || args
            .iter()
            .any(|a| *a == "--otp" || a.starts_with("--otp="))
    {
        return;
    }
    let registry = args.iter().enumerate().find_map(|(i, a)| {
        if *a == "--registry" {
            args.get(i + 1).copied()
        } else {
            a.strip_prefix("--registry=")
        }
    });
    if registry.is_some_and(|r| !is_public_registry(r)) {
        return;
    }
    // `npm publish --//registry.npmjs.org/:_authToken=…` carries its own.
    let inline = args
        .iter()
        .any(|a| a.starts_with("--//") && a.contains(":_authToken="));
    let Some(token) = (if inline {
        Some("a token on the command line")
    } else {
        token
    }) else {
        return;
    };
    let range: Range<usize> = offset + c.range.start..offset + c.range.end;
    let staged = what.ends_with("stage publish");
    let end = Policy::global().value("bypass_2fa_publish_end");
    let place = if step == "-" {
        path.to_string()
    } else {
        format!("script `{step}` of {path}")
    };
    let hit = if staged {
        Hit::new(
            RULE,
            range.clone(),
            format!(
                "`{what}` in {place} stages with a long-lived token ({token}): it keeps working after {end}, when tokens that bypass 2FA lose direct publishing, but the token is still a long-lived credential; stage from CI with trusted publishing (OIDC) instead"
            ),
        )
        .with_severity(Severity::Medium)
        .with_detail("readiness", "token-staged")
    } else {
        Hit::new(
            RULE,
            range.clone(),
            format!(
                "`{what}` in {place} publishes with a long-lived token ({token}); npm tokens that bypass 2FA lose direct publishing from {end}, so this publish stops working then: publish from CI with trusted publishing (OIDC), or stage with `npm stage publish` for a maintainer to approve with 2FA"
            ),
        )
        .with_detail("readiness", "will-break")
    };
    sink.hit(
        hit.with_key(format!("script={step}/publish={what}"))
            .with_detail("credential", token),
    );
    sink.publish_site(Site {
        ci: "script",
        range,
        job: job.to_string(),
        step: step.to_string(),
        command: what,
        auth: Auth::Token,
        credential: Some(token.to_string()),
        staged,
        npmjs: true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Origin;

    fn run(path: &str, text: &str) -> Sink {
        let mut sink = Sink::default();
        let item = Item {
            path,
            bytes: text.as_bytes(),
            origin: Origin::Worktree,
            tree: None,
        };
        detect(&item, &DetectOptions::default(), &mut sink);
        sink
    }

    #[test]
    fn shell_script_with_token() {
        let text = "#!/bin/sh\necho \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\nnpm publish --access public\n";
        let s = run("scripts/release.sh", text);
        assert_eq!(s.hits.len(), 1);
        assert_eq!(
            &text[s.hits[0].range.clone()],
            "npm publish --access public"
        );
        assert_eq!(s.publish_sites.len(), 1);
        assert!(!s.publish_sites[0].staged);
    }

    #[test]
    fn heredoc_npmrc_and_one_time_passwords() {
        let heredoc = "#!/bin/bash\ncat > .npmrc <<-EOF\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nEOF\nnpm publish\n";
        assert_eq!(run("ci/publish.sh", heredoc).hits.len(), 1);
        let otp = "#!/bin/bash\necho \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc\nnpm publish --otp=$(oathtool -b --totp \"$NPM_OTP_SECRET\")\n";
        assert!(run("ci/publish.sh", otp).hits.is_empty());
    }

    #[test]
    fn package_json_points_at_the_command() {
        let text = r#"{
  "name": "x",
  "scripts": {
    "build": "tsc",
    "release": "NODE_AUTH_TOKEN=$NPM_TOKEN npm stage publish"
  }
}"#;
        let s = run("package.json", text);
        assert_eq!(s.hits.len(), 1, "{:?}", s.hits);
        assert_eq!(
            &text[s.hits[0].range.clone()],
            "NODE_AUTH_TOKEN=$NPM_TOKEN npm stage publish"
        );
        assert_eq!(s.hits[0].severity, Some(Severity::Medium));
        assert!(s.publish_sites[0].staged);
    }

    #[test]
    fn silent_without_a_token_or_off_the_public_registry() {
        for (path, text) in [
            ("package.json", r#"{"scripts": {"release": "npm publish"}}"#),
            (
                "package.json",
                r#"{"scripts": {"release": "npm publish"}, "x": "$NPM_TOKEN"}"#,
            ),
            (
                "package.json",
                r#"{"publishConfig": {"registry": "https://npm.pkg.github.com"}, "scripts": {"release": "NODE_AUTH_TOKEN=$GH_NPM_TOKEN npm publish"}}"#,
            ),
            (
                "release.sh",
                "NPM_TOKEN=$NPM_READ_TOKEN npm ci\nnpm publish --dry-run\n",
            ),
            (
                "release.sh",
                "export NODE_AUTH_TOKEN=$NPM_TOKEN\nnpm publish --registry https://npm.pkg.github.com\n",
            ),
            (
                "Makefile",
                "release:\n\tNODE_AUTH_TOKEN=$(NPM_TOKEN) npm publish\n",
            ),
        ] {
            let s = run(path, text);
            assert!(s.hits.is_empty(), "{path}: {text}: {:?}", s.hits);
        }
    }
}
