//! Helpers shared by the analysers of CI pipelines whose secrets live in
//! the CI system's settings rather than in the file (GitLab CI, CircleCI):
//! a job's scripts expand `$NPM_TOKEN` themselves, keep files after the job
//! (artifacts, caches, workspaces), run in a `node:<version>` image and ask
//! for an OIDC token with npm's audience. The GitHub Actions analysis
//! ([`crate::detect::workflow`]) provides the rest of the shape.

use super::envassign::is_credential_name;
use super::workflow::oidc_npm_too_old::node_version;
use super::workflow::shell::{Command, Stdout, normalize_path};
use super::workflow::{self, Ctx, Job, Publish, Step};
use std::ops::Range;

/// `npm:registry.npmjs.org`, the audience npm's trusted publishing expects
/// (npm asks for `npm:<registry host>`).
pub fn is_npm_audience(aud: &str) -> bool {
    let a = aud.trim();
    a == "npm:registry.npmjs.org" || a == "npm:registry.npmjs.com"
}

/// Every expansion of an npm credential in a job's scripts: `(step, file
/// range, source)`, in order.
pub fn script_token_uses(cx: &Ctx, job: &Job) -> Vec<(usize, Range<usize>, String)> {
    let mut out = Vec::new();
    for step in &job.steps {
        let Some(mut sh) = workflow::StepShell::new(cx, job, step) else {
            continue;
        };
        let cmds = sh.script.commands.clone();
        for c in &cmds {
            if let Some(cred) = c.words().find_map(|w| sh.word_cred(w)) {
                out.push((step.index, step.file_range(c.range.clone()), cred.source));
            } else if let Some(name) = npmrc_reference(c, &cx.opts.extra_credential_names) {
                out.push((
                    step.index,
                    step.file_range(c.range.clone()),
                    format!("${name}"),
                ));
            }
            sh.assign(c);
        }
    }
    out
}

/// The first credential expansion of the job's scripts before `publish`
/// (in an earlier step, or earlier in its own), as the publish's auth:
/// `export NODE_AUTH_TOKEN=$NPM_TOKEN`, an `.npmrc` line npm expands.
pub fn script_publish_token(
    cx: &Ctx,
    job: &Job,
    step: &Step,
    publish: &Publish,
) -> Option<workflow::PublishAuth> {
    script_token_uses(cx, job)
        .into_iter()
        .find(|(s, r, _)| *s < step.index || (*s == step.index && r.start < publish.range.start))
        .map(|(s, range, source)| workflow::PublishAuth {
            what: format!(
                "${} expanded in {}",
                source.trim_start_matches('$'),
                job.steps[s].label
            ),
            source,
            range,
        })
}

/// The credential variable an npm config line refers to without the shell
/// expanding it — `echo '//registry.npmjs.org/:_authToken=${NPM_TOKEN}' >
/// .npmrc` (single quotes, or `\${…}`): npm expands it when it reads the
/// file, so the job authenticates with that variable.
fn npmrc_reference(c: &Command, extra: &[String]) -> Option<String> {
    let to_config = match &c.stdout {
        Stdout::File(p, _) => workflow::is_npm_config_file(&normalize_path(p)),
        _ => false,
    } || (matches!(c.name.as_str(), "npm" | "pnpm" | "yarn")
        && c.has_arg("config"));
    if !to_config {
        return None;
    }
    c.words()
        .filter(|w| w.value.contains("_authToken") || w.value.contains("npmAuthToken"))
        .find_map(|w| {
            w.value.split("${").skip(1).find_map(|rest| {
                let name = rest.split('}').next()?;
                is_credential_name(name, extra).then(|| name.to_string())
            })
        })
}

/// Is `path` (normalised: relative to the project directory, or `~/…`)
/// inside a kept path (an artifact, cache or workspace path, normalised
/// the same way)? `(untracked files)` is every file of the project.
pub fn kept_by(path: &str, kept: &str) -> bool {
    let outside = |p: &str| p.starts_with('~') || p.starts_with('/') || p.starts_with('$');
    if kept == "(untracked files)" {
        return !outside(path);
    }
    let k = normalize_path(kept);
    let k = k.trim_end_matches('/');
    if outside(path) != outside(k) && !k.is_empty() {
        return false;
    }
    if k.is_empty() || k == "." || k == "*" || k == "**" || k == "**/*" {
        return !outside(path);
    }
    if k == "~" {
        return path.starts_with("~/");
    }
    path == k || path.starts_with(&format!("{k}/")) || (k.contains('*') && glob_match(k, path))
}

/// `dist/*`-style patterns: `*` within a path segment, `**` across them.
fn glob_match(pattern: &str, path: &str) -> bool {
    let Some((pre, post)) = pattern.split_once('*') else {
        return pattern == path;
    };
    let post = post.trim_start_matches('*');
    path.starts_with(pre) && path.len() >= pre.len() + post.len() && path.ends_with(post)
}

/// `(major, minor)` of the Node in a `node:<tag>` image (`node:22`,
/// `node:24.5-alpine`, `docker.io/library/node:20`, CircleCI's
/// `cimg/node:22.14`); `None` when unknown.
pub fn image_node(image: &str) -> Option<(u32, Option<u32>)> {
    let image = image.trim().split('@').next().unwrap_or("");
    let (name, tag) = image.rsplit_once(':')?;
    let last = name.rsplit('/').next().unwrap_or(name);
    if last != "node" {
        return None;
    }
    let tag = tag.split('-').next().unwrap_or(tag);
    node_version(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_paths() {
        assert!(kept_by(".npmrc", "."));
        assert!(kept_by(".npmrc", ".npmrc"));
        assert!(kept_by("pkg/.npmrc", "pkg/"));
        assert!(kept_by("pkg/.npmrc", "pkg/*"));
        assert!(kept_by(".npmrc", "(untracked files)"));
        assert!(!kept_by(".npmrc", "dist/"));
        assert!(!kept_by("~/.npmrc", "."));
        assert!(kept_by("~/.npmrc", "~"));
        assert!(kept_by("~/.npmrc", "~/.npmrc"));
        assert!(!kept_by(".npmrc", "~"));
    }

    #[test]
    fn node_images() {
        assert_eq!(image_node("node:22"), Some((22, None)));
        assert_eq!(image_node("node:24.5-alpine"), Some((24, Some(5))));
        assert_eq!(image_node("docker.io/library/node:20"), Some((20, None)));
        assert_eq!(image_node("cimg/node:22.14-browsers"), Some((22, Some(14))));
        assert_eq!(image_node("node:lts"), None);
        assert_eq!(image_node("python:3.12"), None);
    }
}
