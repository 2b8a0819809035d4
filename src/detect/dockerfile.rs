//! Dockerfiles: npm credentials baked into images.
//!
//! - `docker-npm-token-build-arg`: `ARG`/`ENV` named like an npm credential.
//!   Build-argument values are recorded in the image history and `ENV`
//!   values in its configuration, whether or not a default is written here
//!   (a literal default is additionally reported by the token matchers).
//! - `docker-npmrc-in-layer`: a `RUN` that writes a token into `.npmrc`
//!   (and does not delete it in the same `RUN`), or `COPY`/`ADD` of an
//!   `.npmrc`: the file stays in a layer of the image.
//!
//! `RUN --mount=type=secret,…` is the fix: the secret is mounted for one
//! instruction and never written to a layer.

use super::envassign::is_credential_name;
use super::workflow::shell::{self, Stdout, normalize_path};
use super::{DetectOptions, Hit, Item, Sink};
use std::ops::Range;

pub const RULE_BUILD_ARG: &str = "docker-npm-token-build-arg";
pub const RULE_NPMRC_LAYER: &str = "docker-npmrc-in-layer";

/// One instruction: keyword, and its arguments as a slice of the file
/// (line continuations kept: they are valid shell too).
pub struct Instruction {
    /// Upper-cased (`RUN`).
    pub keyword: String,
    /// From just after the keyword to the end of its last line (newline
    /// included).
    pub args: Range<usize>,
    /// 0 before the first `FROM`, then 1, 2, … per stage.
    pub stage: usize,
    /// `FROM … AS name`, else the stage's number: part of finding keys, so
    /// the same `ARG` in two stages are two findings.
    pub stage_name: String,
}

/// Split a Dockerfile into instructions, following `\` continuations and
/// `<<EOF` heredocs. Also the model `npmsweep fix` edits.
pub fn instructions(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut stage = 0;
    let mut stage_name = String::from("0");
    let lines: Vec<(usize, &str)> = {
        let mut v = Vec::new();
        let mut off = 0;
        for l in text.split_inclusive('\n') {
            v.push((off, l));
            off += l.len();
        }
        v
    };
    let mut i = 0;
    while i < lines.len() {
        let (start, line) = lines[i];
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            i += 1;
            continue;
        }
        let kw_start = start + (line.len() - trimmed.len());
        let kw_len = trimmed
            .find(|c: char| c.is_whitespace())
            .unwrap_or(trimmed.len());
        let keyword = trimmed[..kw_len].to_ascii_uppercase();
        let args_start = kw_start + kw_len;
        let mut end = start + line.len();
        let mut heredoc: Option<String> = heredoc_delimiter(&text[args_start..end]);
        // Continuations.
        while text[..end].trim_end_matches(['\n', '\r']).ends_with('\\') && i + 1 < lines.len() {
            i += 1;
            end = lines[i].0 + lines[i].1.len();
            if heredoc.is_none() {
                heredoc = heredoc_delimiter(lines[i].1);
            }
        }
        if let Some(delim) = heredoc {
            while i + 1 < lines.len() {
                i += 1;
                end = lines[i].0 + lines[i].1.len();
                if lines[i].1.trim() == delim {
                    break;
                }
            }
        }
        if keyword == "FROM" {
            stage += 1;
            let words: Vec<&str> = text[args_start..end].split_whitespace().collect();
            stage_name = match words.iter().position(|w| w.eq_ignore_ascii_case("as")) {
                Some(i) if i + 1 < words.len() => words[i + 1].to_string(),
                _ => stage.to_string(),
            };
        }
        out.push(Instruction {
            keyword,
            args: args_start..end,
            stage,
            stage_name: stage_name.clone(),
        });
        i += 1;
    }
    out
}

fn heredoc_delimiter(s: &str) -> Option<String> {
    let at = s.find("<<")?;
    let rest = s[at + 2..].trim_start_matches('-');
    let word: String = rest
        .trim_start_matches(['"', '\''])
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

pub fn detect(item: &Item, opts: &DetectOptions, sink: &mut Sink) {
    let Ok(text) = std::str::from_utf8(item.bytes) else {
        sink.warn(item.path, "not valid UTF-8; Dockerfile not analysed");
        return;
    };
    let all = instructions(text);
    let last_stage = all.iter().map(|i| i.stage).max().unwrap_or(0);
    let first = sink.hits.len();
    for ins in &all {
        match ins.keyword.as_str() {
            "ARG" | "ENV" => arg_env(text, ins, opts, sink),
            "RUN" => run(item.path, text, ins, opts, sink),
            "COPY" | "ADD" => copy(text, ins, last_stage, sink),
            _ => {}
        }
    }
    super::workflow::dedupe_keys(sink, first);
}

fn arg_env(text: &str, ins: &Instruction, opts: &DetectOptions, sink: &mut Sink) {
    let args = &text[ins.args.clone()];
    // Names are the words before `=`; the legacy `ENV NAME value` form has
    // one name, the first word.
    let mut names: Vec<(usize, &str, &str)> = Vec::new();
    let mut off = 0;
    let words: Vec<(usize, &str)> = args
        .split_inclusive(char::is_whitespace)
        .filter_map(|w| {
            let start = off;
            off += w.len();
            let t = w.trim();
            (!t.is_empty() && t != "\\").then_some((start, t))
        })
        .collect();
    if ins.keyword == "ENV" && words.first().is_some_and(|(_, w)| !w.contains('=')) {
        if let Some((s, w)) = words.first() {
            let value = words.get(1).map(|(_, v)| *v).unwrap_or("");
            names.push((*s, w, value));
        }
    } else {
        for (s, w) in &words {
            let (n, v) = w.split_once('=').unwrap_or((w, ""));
            if !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                names.push((*s, n, v));
            }
        }
    }
    for (s, name, value) in names {
        if !is_credential_name(name, &opts.extra_credential_names) {
            continue;
        }
        let value = value.trim_matches(['"', '\'']);
        if ins.keyword == "ENV" && value.is_empty() {
            continue;
        }
        let start = ins.args.start + s;
        let what = if ins.keyword == "ARG" {
            "build argument: its value is recorded in the image history"
        } else {
            "ENV: its value is stored in the image configuration and every container's environment"
        };
        sink.hit(
            Hit::new(
                RULE_BUILD_ARG,
                start..start + name.len(),
                format!("npm credential {name} passed as a Docker {what}"),
            )
            .with_key(format!(
                "stage={}/{}={name}",
                ins.stage_name,
                ins.keyword.to_ascii_lowercase()
            ))
            .with_detail("variable", name),
        );
    }
}

/// Split `RUN` flags (`--mount=…`, `--network=…`) from the command.
pub fn run_body(text: &str, args: Range<usize>) -> (Vec<String>, Range<usize>) {
    let mut flags = Vec::new();
    let mut at = args.start;
    loop {
        let rest = &text[at..args.end];
        let trimmed = rest.trim_start_matches([' ', '\t', '\\', '\n', '\r']);
        at += rest.len() - trimmed.len();
        if !trimmed.starts_with("--") {
            break;
        }
        let len = trimmed.find(char::is_whitespace).unwrap_or(trimmed.len());
        flags.push(trimmed[..len].to_string());
        at += len;
    }
    (flags, at..args.end)
}

fn is_npm_file(p: &str) -> bool {
    let name = p.rsplit('/').next().unwrap_or(p);
    matches!(name, ".npmrc" | "npmrc" | ".yarnrc.yml" | ".yarnrc")
}

fn run(path: &str, text: &str, ins: &Instruction, opts: &DetectOptions, sink: &mut Sink) {
    let (flags, body_range) = run_body(text, ins.args.clone());
    let mut body = &text[body_range.clone()];
    let mut base = body_range.start;
    if body.trim_start().starts_with('[') {
        return; // exec form: no shell to write files with
    }
    // `RUN <<EOF` heredoc: the script is the heredoc's lines.
    if body.trim_start().starts_with("<<")
        && let Some(nl) = body.find('\n')
    {
        base += nl + 1;
        body = &body[nl + 1..];
        if let Some(last) = body.trim_end().rfind('\n') {
            body = &body[..last + 1];
        }
    }
    // Files mounted for this instruction only are not in the layer.
    let mounted: Vec<String> = flags
        .iter()
        .filter(|f| f.starts_with("--mount="))
        .filter_map(|f| {
            f.split(',')
                .find_map(|kv| {
                    kv.strip_prefix("target=")
                        .or_else(|| kv.strip_prefix("dst="))
                        .or_else(|| kv.strip_prefix("destination="))
                })
                .map(normalize_path)
        })
        .collect();
    let script = shell::parse(body);
    if let Some(why) = &script.not_analysed {
        let line = text[..ins.args.start].matches('\n').count() + 1;
        sink.warn(
            path,
            format!("line {line}: RUN body not analysed as shell ({why}); checked for literal credentials only"),
        );
    }
    let extra = &opts.extra_credential_names;
    let carries_token = |w: &shell::Word| {
        w.vars.iter().any(|v| is_credential_name(&v.name, extra))
            || w.value.contains("_authToken")
            || w.value.contains("npmAuthToken")
            || (w.substitution && w.value.contains("/run/secrets/"))
    };
    let mut writes: Vec<(String, Range<usize>)> = Vec::new();
    for (ci, c) in script.commands.iter().enumerate() {
        let args: Vec<&str> = c.argv().collect();
        let config_set = matches!(c.name.as_str(), "npm" | "pnpm" | "pn" | "yarn")
            && (args.starts_with(&["config", "set"]) || args.first() == Some(&"set"))
            && args.iter().any(|a| {
                a.contains("_authToken") || a.contains("_auth") || a.contains("npmAuthToken")
            });
        if config_set {
            let path = if c.name == "yarn" {
                ".yarnrc.yml"
            } else {
                "~/.npmrc"
            };
            writes.push((path.to_string(), c.range.clone()));
            continue;
        }
        if !c.words().any(carries_token) {
            continue;
        }
        // Follow the pipeline to the file the content lands in.
        let mut idx = ci;
        for _ in 0..16 {
            let cur = &script.commands[idx];
            if cur.name == "tee" {
                for w in cur.args.iter().filter(|w| !w.value.starts_with('-')) {
                    writes.push((normalize_path(&w.value), w.range.clone()));
                }
            }
            match &cur.stdout {
                Stdout::File(p, r) => {
                    writes.push((normalize_path(p), r.clone()));
                    break;
                }
                Stdout::Pipe(n) if *n > idx => idx = *n,
                _ => break,
            }
        }
    }
    for (path, r) in writes {
        if !is_npm_file(&path) || mounted.contains(&path) {
            continue;
        }
        let removed = script.commands.iter().any(|c| {
            c.name == "rm"
                && c.range.start > r.start
                && c.args.iter().any(|w| {
                    let p = normalize_path(&w.value);
                    p == path || (path.starts_with("~/") && p.ends_with(&path[1..]))
                })
        });
        if removed {
            continue;
        }
        let range = base + r.start..base + r.end;
        sink.hit(
            Hit::new(
                RULE_NPMRC_LAYER,
                range,
                format!(
                    "RUN writes an npm token into {path} and leaves it in the image layer{}",
                    if ins.stage > 0 {
                        format!(" (stage {})", ins.stage)
                    } else {
                        String::new()
                    }
                ),
            )
            .with_key(format!("stage={}/run-writes={path}", ins.stage_name))
            .with_detail("file", path.clone()),
        );
    }
}

fn copy(text: &str, ins: &Instruction, last_stage: usize, sink: &mut Sink) {
    let args = &text[ins.args.clone()];
    let mut off = 0;
    let words: Vec<(usize, &str)> = args
        .split_inclusive(char::is_whitespace)
        .filter_map(|w| {
            let s = off;
            off += w.len();
            let t = w.trim();
            (!t.is_empty() && t != "\\").then_some((s, t))
        })
        .collect();
    if words.iter().any(|(_, w)| w.starts_with("--from")) {
        return; // from another stage: judged where it was written
    }
    let sources: Vec<&(usize, &str)> = words.iter().filter(|(_, w)| !w.starts_with("--")).collect();
    // The last word is the destination.
    let Some((_, srcs)) = sources.split_last() else {
        return;
    };
    for (s, w) in srcs {
        let p = w.trim_matches(['"', '\'', '[', ']', ',']);
        if !is_npm_file(p) {
            continue;
        }
        let start = ins.args.start + s;
        let stage = if ins.stage == last_stage {
            "the final image"
        } else {
            "a build-stage layer (and the build cache)"
        };
        sink.hit(
            Hit::new(
                RULE_NPMRC_LAYER,
                start..start + w.len(),
                format!("{} copies {p} into {stage}; if it holds a token (or one is appended later), the token ships in the layer", ins.keyword),
            )
            .with_key(format!("stage={}/copy={p}", ins.stage_name))
            .with_detail("file", p.to_string()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(text: &str) -> Vec<(&'static str, String)> {
        let item = Item {
            path: "Dockerfile",
            bytes: text.as_bytes(),
            origin: crate::finding::Origin::Worktree,
            tree: None,
        };
        let mut sink = Sink::default();
        detect(&item, &DetectOptions::default(), &mut sink);
        sink.hits
            .into_iter()
            .map(|h| (h.rule_id, text[h.range].to_string()))
            .collect()
    }

    #[test]
    fn classic_pattern_fires() {
        let r = rules(
            "FROM node:24\nARG NPM_TOKEN\nRUN echo \"//registry.npmjs.org/:_authToken=${NPM_TOKEN}\" > .npmrc && \\\n    npm ci\n",
        );
        assert_eq!(
            r,
            vec![
                (RULE_BUILD_ARG, "NPM_TOKEN".to_string()),
                (RULE_NPMRC_LAYER, ".npmrc".to_string())
            ]
        );
    }

    #[test]
    fn secret_mounts_and_same_layer_removal_do_not() {
        assert!(
            rules("FROM node:24\nRUN --mount=type=secret,id=npmrc,target=/root/.npmrc npm ci\n")
                .is_empty()
        );
        assert_eq!(
            rules("FROM node:24\nARG NPM_TOKEN\nRUN echo \"//r/:_authToken=$NPM_TOKEN\" > .npmrc && npm ci && rm -f .npmrc\n").len(),
            1
        );
        assert!(
            rules("FROM node:24\nARG NODE_VERSION=24\nENV NPM_CONFIG_LOGLEVEL=warn\n").is_empty()
        );
    }

    #[test]
    fn env_and_copy() {
        let r =
            rules("FROM node:24\nENV NODE_AUTH_TOKEN=$NPM_TOKEN\nCOPY package.json .npmrc ./\n");
        assert_eq!(r[0], (RULE_BUILD_ARG, "NODE_AUTH_TOKEN".to_string()));
        assert_eq!(r[1], (RULE_NPMRC_LAYER, ".npmrc".to_string()));
    }

    #[test]
    fn heredoc_run() {
        let r = rules(
            "FROM node:24\nRUN <<EOF\nnpm config set //registry.npmjs.org/:_authToken \"$NPM_TOKEN\"\nnpm ci\nEOF\nRUN echo done\n",
        );
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].0, RULE_NPMRC_LAYER);
        assert!(r[0].1.starts_with("npm config set"));
    }
}
