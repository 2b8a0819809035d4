//! `docker-npm-token-build-arg` in workflows: an npm credential passed to
//! `docker build --build-arg` or `docker/build-push-action`'s
//! `build-args`. Build arguments are recorded in the image history; build
//! secrets (`--secret`, `secrets:`) are not.

use super::{Ctx, key};
use crate::detect::envassign::is_credential_name;
use crate::detect::{Hit, Sink};

pub const RULE: &str = "docker-npm-token-build-arg";

pub fn check(cx: &Ctx, sink: &mut Sink) {
    let extra = &cx.opts.extra_credential_names;
    for job in &cx.wf.jobs {
        for step in &job.steps {
            if step.action().as_deref() == Some("docker/build-push-action")
                && let Some(args) = step.with_value("build-args")
            {
                for line in args.value.lines() {
                    let name = line.split('=').next().unwrap_or("").trim();
                    if is_credential_name(name, extra) {
                        let r = &args.range;
                        let at = cx.text[r.start..]
                            .find(line.trim())
                            .filter(|i| *i < 4096)
                            .map(|i| r.start + i..r.start + i + name.len())
                            .unwrap_or(r.clone());
                        sink.hit(
                            Hit::new(
                                RULE,
                                at,
                                format!(
                                    "npm credential {name} passed as a Docker build argument in step {} of job {}; it is recorded in the image history",
                                    step.label, job.id
                                ),
                            )
                            .with_key(key(job, Some(step), &format!("build-arg={name}"))),
                        );
                    }
                }
            }
            for c in step.commands() {
                if !matches!(c.name.as_str(), "docker" | "podman" | "buildah") {
                    continue;
                }
                let mut words = c.args.iter().peekable();
                while let Some(w) = words.next() {
                    let arg = if w.value == "--build-arg" {
                        words.next()
                    } else if w.value.starts_with("--build-arg=") {
                        Some(w)
                    } else {
                        None
                    };
                    let Some(a) = arg else {
                        continue;
                    };
                    let v = a.value.trim_start_matches("--build-arg=");
                    let name = v.split('=').next().unwrap_or("");
                    if is_credential_name(name, extra) {
                        sink.hit(
                            Hit::new(
                                RULE,
                                step.file_range(a.range.clone()),
                                format!(
                                    "npm credential {name} passed with `--build-arg` in step {} of job {}; it is recorded in the image history",
                                    step.label, job.id
                                ),
                            )
                            .with_key(key(job, Some(step), &format!("build-arg={name}"))),
                        );
                    }
                }
            }
        }
    }
}
