//! Writes one adversarial input shape of about a given size, for
//! `benches/adversarial.sh` (issue 11: inputs whose cost used to grow faster
//! than their size).
//!
//! ```text
//! cargo run --release --example gen_adversarial -- SHAPE BYTES DIR
//! cargo run --release --example gen_adversarial -- list
//! ```
//!
//! Writes DIR/<file> (the name decides which detectors run) and prints the
//! file's path relative to DIR. Tokens are checksum-valid fakes made at run
//! time with [`npmsweep::token::fake_token`]; nothing real is committed.

use npmsweep::rules::synthetic_uuid;
use npmsweep::token::fake_token;
use std::fmt::Write as _;

/// `(name, file, what)`
const SHAPES: &[(&str, &str, &str)] = &[
    (
        "ordinary",
        "src/app.js",
        "ordinary JavaScript with a token every 64 KB",
    ),
    (
        "tokens-one-line",
        "bundle.min.js",
        "valid tokens separated by one space, all on one line",
    ),
    (
        "authtoken-lines",
        "scripts/publish.sh",
        "`echo //r/:_authToken=<uuid> >> ~/.npmrc` lines in a script",
    ),
    (
        "dockerfile-args",
        "Dockerfile",
        "`ARG NPM_TOKEN=<uuid>` lines",
    ),
    (
        "shell-pipes",
        ".github/workflows/ci.yml",
        "one `run:` of `a | ` repeated",
    ),
    (
        "shell-ifs",
        ".github/workflows/ci.yml",
        "one `run:` of `if true; then` repeated",
    ),
    ("npmrc-lines", ".npmrc", "`//host/:_authToken=<uuid>` lines"),
];

fn generate(shape: &str, size: usize) -> Option<String> {
    let mut out = String::with_capacity(size + 4096);
    let mut n: u64 = 0;
    match shape {
        "ordinary" => {
            while out.len() < size {
                n += 1;
                let _ = writeln!(
                    out,
                    "export function handler{n}(req, res) {{ const registry = process.env.npm_config_registry; return res.json({{ ok: true, id: {n} }}); }}"
                );
                if n.is_multiple_of(500) {
                    let _ = writeln!(out, "// npm token: {}", fake_token("npm_", n));
                }
            }
        }
        "tokens-one-line" => {
            while out.len() < size {
                n += 1;
                out.push_str(&fake_token("npm_", n));
                out.push(' ');
            }
            out.push('\n');
        }
        "authtoken-lines" => {
            out.push_str("#!/bin/sh\n");
            while out.len() < size {
                n += 1;
                let _ = writeln!(
                    out,
                    "echo \"//r{n}.example/:_authToken={}\" >> ~/.npmrc",
                    synthetic_uuid(n)
                );
            }
        }
        "dockerfile-args" => {
            out.push_str("FROM node:22\n");
            while out.len() < size {
                n += 1;
                let _ = writeln!(out, "ARG NPM_TOKEN={}", synthetic_uuid(n));
            }
        }
        "npmrc-lines" => {
            while out.len() < size {
                n += 1;
                let _ = writeln!(out, "//r{n}.example/:_authToken={}", synthetic_uuid(n));
            }
        }
        "shell-pipes" | "shell-ifs" => {
            let unit = if shape == "shell-pipes" {
                "a | "
            } else {
                "if true; then "
            };
            out.push_str("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: |\n          ");
            while out.len() < size {
                out.push_str(unit);
            }
            out.push_str("b\n");
        }
        _ => return None,
    }
    Some(out)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [list] if list == "list" => {
            for (name, _, what) in SHAPES {
                println!("{name}\t{what}");
            }
        }
        [shape, bytes, dir] => {
            let Some(&(_, file, _)) = SHAPES.iter().find(|s| s.0 == shape) else {
                eprintln!("unknown shape {shape}; `list` shows them");
                std::process::exit(1);
            };
            let size: usize = bytes.parse().expect("BYTES is a number");
            let text = generate(shape, size).expect("known shape");
            let path = std::path::Path::new(dir).join(file);
            std::fs::create_dir_all(path.parent().expect("file has a parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
            println!("{file}");
        }
        _ => {
            eprintln!("usage: gen_adversarial SHAPE BYTES DIR | gen_adversarial list");
            std::process::exit(1);
        }
    }
}
