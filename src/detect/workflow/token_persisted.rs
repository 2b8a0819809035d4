//! `gha-npm-token-persisted`: a token written into a workspace file
//! (`.npmrc`, `.yarnrc.yml`) that a later step ships off the runner — an
//! artifact, a cache, a Docker build context, a commit.

use super::shell::{in_workspace, normalize_path};
use super::{Ctx, Job, Step, TokenWrite, job_token_note, key, removed_between, token_writes};
use crate::detect::{Hit, Sink};
use globset::GlobBuilder;

pub const RULE: &str = "gha-npm-token-persisted";

/// Does a list of paths (one per line, `!` excludes) include `file`?
fn covers(paths: &str, file: &str) -> bool {
    let mut hit = false;
    for p in paths.lines().map(str::trim).filter(|p| !p.is_empty()) {
        let (neg, p) = match p.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, p),
        };
        let p = normalize_path(p);
        let p = p.trim_end_matches('/');
        let m = matches!(p, "" | "." | "*" | "**" | "**/*")
            || p == file
            || file.starts_with(&format!("{p}/"))
            || GlobBuilder::new(p)
                .literal_separator(false)
                .build()
                .is_ok_and(|g| g.compile_matcher().is_match(file));
        if m {
            hit = !neg;
        }
    }
    hit
}

fn hidden(file: &str) -> bool {
    file.split('/')
        .any(|c| c.starts_with('.') && c != "." && c != "..")
}

/// `actions/upload-artifact` from v4.4.0 leaves out dot-files unless
/// `include-hidden-files: true`.
fn artifact_includes_hidden(step: &Step) -> bool {
    if step
        .with_value("include-hidden-files")
        .is_some_and(|v| v.value.trim() == "true")
    {
        return true;
    }
    let r = step.action_ref().unwrap_or("").trim_start_matches('v');
    let mut parts = r.split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(major), _) if major < 4 => true,
        (Some(4), Some(minor)) => minor < 4,
        _ => false,
    }
}

/// How step `s` takes `file` off the runner, if it does.
fn exit_of(s: &Step, file: &str) -> Option<String> {
    if let Some(action) = s.action() {
        let path = |k: &str, default: &str| {
            s.with_value(k)
                .map(|v| v.value.clone())
                .unwrap_or_else(|| default.to_string())
        };
        return match action.as_str() {
            "actions/upload-artifact" => (covers(&path("path", ""), file)
                && (!hidden(file) || artifact_includes_hidden(s)))
            .then(|| "uploads it as an artifact (actions/upload-artifact)".into()),
            "actions/upload-pages-artifact" => covers(&path("path", "_site/"), file)
                .then(|| "publishes it to GitHub Pages (actions/upload-pages-artifact)".into()),
            "actions/cache" | "actions/cache/save" => {
                covers(&path("path", ""), file).then(|| format!("saves it in a cache ({action})"))
            }
            "docker/build-push-action" => s
                .with_value("context")
                .is_some_and(|v| covers(&v.value, file))
                .then(|| "sends it in a Docker build context (docker/build-push-action)".into()),
            _ => None,
        };
    }
    for c in s.commands() {
        let args: Vec<&str> = c.argv().collect();
        match c.name.as_str() {
            "git" if args.first() == Some(&"add") => {
                let paths: Vec<&str> = args[1..]
                    .iter()
                    .copied()
                    .filter(|a| !a.starts_with('-'))
                    .collect();
                if args.iter().any(|a| *a == "-A" || *a == "--all")
                    || paths.iter().any(|p| covers(p, file))
                {
                    return Some("commits it (`git add`)".into());
                }
            }
            "git"
                if args.first() == Some(&"commit")
                    && args.iter().any(|a| {
                        *a == "-a"
                            || *a == "--all"
                            || (a.starts_with('-') && !a.starts_with("--") && a.contains('a'))
                    }) =>
            {
                return Some("commits it (`git commit -a`)".into());
            }
            "docker" | "podman" | "buildah"
                if args.iter().any(|a| matches!(*a, "build" | "bud")) =>
            {
                // The build context is the last positional argument.
                let ctx = args
                    .iter()
                    .rev()
                    .find(|a| !a.starts_with('-'))
                    .copied()
                    .unwrap_or("");
                if ctx != "build" && ctx != "bud" && covers(ctx, file) {
                    return Some(format!("sends it in a build context (`{} build`)", c.name));
                }
            }
            _ => {}
        }
    }
    None
}

fn check_write(job: &Job, w: &TokenWrite, sink: &mut Sink) {
    if !in_workspace(&w.path) {
        return;
    }
    for s in &job.steps[w.step..] {
        // A write and an exit in one step: only count exits after the write.
        if s.index == w.step
            && !s
                .commands()
                .iter()
                .any(|c| s.file_range(c.range.clone()).start > w.range.start)
        {
            continue;
        }
        let Some(how) = exit_of(s, &w.path) else {
            continue;
        };
        if removed_between(job, &w.path, w.step, s.index) {
            return;
        }
        let writer = &job.steps[w.step];
        sink.hit(
            Hit::new(
                RULE,
                w.range.clone(),
                format!(
                    "step {} of job {} writes the npm credential from {} into {}, and step {} {how}{}",
                    writer.label,
                    job.id,
                    w.source,
                    w.path,
                    s.label,
                    job_token_note(&w.source)
                ),
            )
            .with_key(key(job, Some(writer), &format!("file={}/exit={}", w.path, s.label)))
            .with_detail("file", w.path.clone()),
        );
        return;
    }
}

pub fn check(cx: &Ctx, sink: &mut Sink) {
    for job in &cx.wf.jobs {
        for w in token_writes(cx, job) {
            check_write(job, &w, sink);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn path_lists() {
        assert!(covers(".", ".npmrc"));
        assert!(covers("./", ".npmrc"));
        assert!(covers("${{ github.workspace }}", ".npmrc"));
        assert!(!covers("dist/", ".npmrc"));
        assert!(covers("dist/\n.npmrc", ".npmrc"));
        assert!(!covers(".\n!.npmrc", ".npmrc"));
        assert!(covers("**", "pkg/.npmrc"));
    }
}
