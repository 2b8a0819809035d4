//! Realistic source text for the benchmarks, shared by
//! `examples/gen_tree.rs` (the end-to-end tree) and `benches/matcher.rs`
//! (micro-benchmarks): TypeScript/JavaScript, minified bundles, Markdown,
//! YAML, JSON, lockfiles and binary assets, with token-shaped decoys
//! (checksum-invalid `npm_` strings, `process.env.npm_*` names, `npm_` inside
//! identifiers, random UUIDs). Deterministic from a seed; valid tokens are
//! made at run time by the callers, never written here.

use npmsweep::token::fake_invalid_token;
use std::fmt::Write as _;

// ---------------------------------------------------------------- randomness

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.below(xs.len())]
    }
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    pub fn unit(&mut self) -> f64 {
        ((self.next() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    /// Log-normal draw with median 1.
    pub fn lognormal(&mut self, sigma: f64) -> f64 {
        let (u1, u2) = (self.unit(), self.unit());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        (sigma * z).exp()
    }
    pub fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| b"0123456789abcdef"[self.below(16)] as char)
            .collect()
    }
    pub fn b64(&mut self, n: usize) -> String {
        const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        (0..n).map(|_| A[self.below(64)] as char).collect()
    }
    pub fn uuid(&mut self) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(4),
            self.hex(4),
            self.hex(12)
        )
    }
}

// ---------------------------------------------------------------- vocabulary

pub const WORDS: &[&str] = &[
    "request",
    "response",
    "handler",
    "config",
    "options",
    "value",
    "result",
    "error",
    "cache",
    "client",
    "server",
    "module",
    "package",
    "registry",
    "version",
    "stream",
    "buffer",
    "token",
    "session",
    "context",
    "payload",
    "header",
    "schema",
    "params",
    "query",
    "router",
    "store",
    "state",
    "action",
    "event",
    "listener",
    "worker",
    "queue",
    "task",
    "job",
    "node",
    "tree",
    "path",
    "file",
    "entry",
    "index",
    "item",
    "list",
    "map",
    "set",
    "key",
    "data",
    "user",
    "account",
    "project",
    "build",
    "bundle",
    "plugin",
    "loader",
    "resolver",
    "manifest",
    "lock",
    "dependency",
    "scope",
    "release",
    "publish",
    "install",
    "script",
    "command",
    "argument",
    "timeout",
    "retry",
    "limit",
    "offset",
    "count",
    "total",
    "format",
    "parse",
    "render",
    "update",
    "create",
    "delete",
    "fetch",
    "load",
    "save",
    "read",
    "write",
    "open",
    "close",
];

pub const PROSE: &[&str] = &[
    "the",
    "a",
    "this",
    "that",
    "when",
    "if",
    "we",
    "you",
    "it",
    "is",
    "are",
    "be",
    "can",
    "should",
    "must",
    "will",
    "not",
    "with",
    "without",
    "for",
    "from",
    "into",
    "of",
    "on",
    "in",
    "and",
    "or",
    "but",
    "because",
    "so",
    "then",
    "each",
    "every",
    "all",
    "some",
    "only",
    "returns",
    "called",
    "used",
    "passed",
    "configured",
    "resolved",
    "installed",
    "published",
    "cached",
    "ignored",
    "expected",
    "default",
    "optional",
    "required",
    "deprecated",
    "new",
    "old",
    "first",
    "last",
    "next",
    "previous",
    "same",
    "different",
    "package",
    "registry",
    "version",
    "workspace",
    "dependency",
    "option",
    "value",
    "file",
    "directory",
    "build",
    "test",
    "release",
    "change",
    "fix",
    "feature",
    "bug",
    "issue",
    "support",
    "behaviour",
];

pub const PKGS: &[&str] = &[
    "react",
    "react-dom",
    "lodash",
    "express",
    "chalk",
    "commander",
    "debug",
    "semver",
    "yargs",
    "typescript",
    "eslint",
    "prettier",
    "jest",
    "vitest",
    "webpack",
    "rollup",
    "esbuild",
    "vite",
    "axios",
    "node-fetch",
    "uuid",
    "minimist",
    "glob",
    "rimraf",
    "mkdirp",
    "fs-extra",
    "dotenv",
    "zod",
    "ajv",
    "rxjs",
    "tslib",
    "core-js",
    "regenerator-runtime",
    "@babel/core",
    "@babel/parser",
    "@babel/traverse",
    "@types/node",
    "@types/react",
    "postcss",
    "autoprefixer",
    "tailwindcss",
    "picomatch",
    "micromatch",
    "braces",
    "fill-range",
    "is-number",
    "ms",
    "supports-color",
    "has-flag",
    "ansi-styles",
    "color-convert",
    "color-name",
    "escape-string-regexp",
    "js-tokens",
    "loose-envify",
    "object-assign",
    "scheduler",
    "prop-types",
    "react-is",
    "@vitejs/plugin-react",
    "source-map",
    "source-map-js",
    "nanoid",
    "picocolors",
    "magic-string",
];

pub const HOSTS: &[&str] = &[
    "registry.npmjs.org",
    "api.github.com",
    "example.com",
    "docs.example.org",
    "cdn.jsdelivr.net",
    "unpkg.com",
    "localhost:3000",
    "npm.pkg.github.com",
];

// ---------------------------------------------------------------- content

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Ts,
    Js,
    MinJs,
    Json,
    Markdown,
    Yaml,
    PackageLock,
    YarnLock,
    PnpmLock,
    Binary,
}

pub struct Gen {
    pub rng: Rng,
    pub invalid_seed: u64,
}

impl Gen {
    pub fn word(&mut self) -> &'static str {
        WORDS[self.rng.below(WORDS.len())]
    }
    pub fn ident(&mut self) -> String {
        let a = self.word();
        let b = self.word();
        let mut s = String::from(a);
        let mut cs = b.chars();
        if let Some(c) = cs.next() {
            s.push(c.to_ascii_uppercase());
            s.push_str(cs.as_str());
        }
        s
    }
    fn type_name(&mut self) -> String {
        let i = self.ident();
        let mut cs = i.chars();
        let first = cs.next().unwrap().to_ascii_uppercase();
        format!("{first}{}", cs.as_str())
    }
    pub fn sentence(&mut self, lo: usize, hi: usize) -> String {
        let n = self.rng.range(lo, hi);
        let mut s = String::new();
        for i in 0..n {
            if i > 0 {
                s.push(' ');
            }
            s.push_str(PROSE[self.rng.below(PROSE.len())]);
        }
        s
    }
    fn version(&mut self) -> String {
        format!(
            "{}.{}.{}",
            self.rng.below(20),
            self.rng.below(30),
            self.rng.below(40)
        )
    }

    /// A line that looks like an npm token but is not one a scanner should
    /// report: the realistic noise the prefilter has to wade through.
    pub fn decoy_line(&mut self, indent: &str) -> String {
        match self.rng.below(7) {
            0 => format!(
                "{indent}const registry = process.env.npm_config_registry || 'https://registry.npmjs.org/';"
            ),
            1 => format!("{indent}const version = process.env.npm_package_version;"),
            2 => format!(
                "{indent}if (process.env.npm_lifecycle_event === 'prepublishOnly') {{ return; }}"
            ),
            3 => {
                self.invalid_seed += 1;
                let t = fake_invalid_token(self.invalid_seed);
                format!("{indent}const FIXTURE_TOKEN = '{t}'; // checksum deliberately wrong")
            }
            4 => format!("{indent}let my_npm_token_name = 'NPM_TOKEN';"),
            5 => format!("{indent}const requestId = '{}';", self.rng.uuid()),
            _ => {
                // Token-shaped but too long: not a token.
                self.invalid_seed += 1;
                let t = fake_invalid_token(self.invalid_seed);
                format!("{indent}// see npm_{}{}", &t[4..], self.rng.hex(3))
            }
        }
    }

    fn ts_line(&mut self, out: &mut String, depth: &mut usize) {
        let ind = "  ".repeat(*depth);
        let r = self.rng.below(100);
        if *depth == 0 {
            match r {
                0..=14 => {
                    let (a, b, p) = (self.ident(), self.type_name(), self.rng.pick(PKGS));
                    let _ = writeln!(out, "import {{ {a}, type {b} }} from '{p}';");
                }
                15..=29 => {
                    let (t, a, b, c) = (self.type_name(), self.ident(), self.ident(), self.ident());
                    let _ = writeln!(
                        out,
                        "export interface {t} {{\n  {a}: string;\n  {b}?: number;\n  {c}: readonly string[];\n}}\n"
                    );
                }
                30..=39 => {
                    let s = self.sentence(6, 16);
                    let _ = writeln!(
                        out,
                        "/**\n * {s}.\n * @param options - {}\n */",
                        self.sentence(3, 8)
                    );
                }
                40..=42 => out.push_str(&(self.decoy_line("") + "\n")),
                _ => {
                    let (f, a, t) = (self.ident(), self.ident(), self.type_name());
                    let _ = writeln!(
                        out,
                        "export async function {f}({a}: {t}, options: Partial<{t}> = {{}}): Promise<{t} | undefined> {{"
                    );
                    *depth = 1;
                }
            }
            return;
        }
        match r {
            0..=14 => {
                let (v, o, m, a) = (self.ident(), self.ident(), self.ident(), self.ident());
                let w = self.word();
                let _ = writeln!(
                    out,
                    "{ind}const {v} = await {o}.{m}({a}, '{w}-{}');",
                    self.word()
                );
            }
            15..=24 => {
                let (a, b) = (self.ident(), self.ident());
                let _ = writeln!(
                    out,
                    "{ind}if ({a} === undefined || {a} === null) {{\n{ind}  return {b};\n{ind}}}"
                );
            }
            25..=32 => {
                let s = self.sentence(4, 14);
                let _ = writeln!(out, "{ind}// {s}");
            }
            33..=38 => {
                let (s, a) = (self.sentence(3, 8), self.ident());
                let _ = writeln!(out, "{ind}throw new Error(`{s}: ${{{a}}}`);");
            }
            39..=46 => {
                let (s, k, a) = (self.sentence(2, 6), self.ident(), self.ident());
                let _ = writeln!(
                    out,
                    "{ind}logger.debug('{s}', {{ {k}: {a}, elapsed: Date.now() - started }});"
                );
            }
            47..=52 => {
                let (h, w1, w2) = (*self.rng.pick(HOSTS), self.word(), self.word());
                let _ = writeln!(
                    out,
                    "{ind}const url = new URL('/{w1}/{w2}', 'https://{h}');"
                );
            }
            53..=60 => {
                let (r, l, a, f) = (self.ident(), self.ident(), self.ident(), self.ident());
                let _ = writeln!(
                    out,
                    "{ind}const {r} = {l}.map(({a}) => {a}.{f}).filter(Boolean);"
                );
            }
            61..=66 if *depth < 4 => {
                let (a, l) = (self.ident(), self.ident());
                let _ = writeln!(out, "{ind}for (const {a} of {l}) {{");
                *depth += 1;
            }
            67..=69 => out.push_str(&(self.decoy_line(&ind) + "\n")),
            70..=84 if *depth > 1 => {
                *depth -= 1;
                let _ = writeln!(out, "{}}}", "  ".repeat(*depth));
            }
            85..=92 if *depth == 1 => {
                let r = self.ident();
                let _ = writeln!(out, "  return {r};\n}}\n");
                *depth = 0;
            }
            _ => {
                let (a, b, c) = (self.ident(), self.ident(), self.rng.below(10_000));
                let _ = writeln!(out, "{ind}{a}.{b} = Math.min({a}.{b} ?? 0, {c});");
            }
        }
    }

    fn js_line(&mut self, out: &mut String, depth: &mut usize) {
        let mut s = String::new();
        self.ts_line(&mut s, depth);
        // Strip the type annotations the TypeScript generator adds.
        let s = s
            .replace(": Promise<", " /* Promise<")
            .replace(" | undefined> {", " | undefined> */ {")
            .replace("import {", "const {")
            .replace("} from '", "} = require('");
        let s = s.replace("';\n", "');\n");
        out.push_str(&s);
    }

    fn minjs_chunk(&mut self, out: &mut String) {
        // Minified: short names, no newlines for tens of kilobytes.
        let names = [
            "e", "t", "n", "r", "o", "i", "a", "u", "s", "c", "l", "f", "d", "p",
        ];
        for _ in 0..self.rng.range(40, 120) {
            let (a, b, c) = (
                *self.rng.pick(&names),
                *self.rng.pick(&names),
                *self.rng.pick(&names),
            );
            match self.rng.below(8) {
                0 => {
                    let _ = write!(
                        out,
                        "function {a}({b},{c}){{return {b}&&{b}.__esModule?{b}:{{default:{b}}}}}"
                    );
                }
                1 => {
                    let _ = write!(
                        out,
                        "var {a}={b}(\"{}\"),{c}={a}.{};",
                        self.rng.pick(PKGS),
                        self.word()
                    );
                }
                2 => {
                    let _ = write!(
                        out,
                        "{a}.exports={{{}:{b},{}:{c}}};",
                        self.word(),
                        self.word()
                    );
                }
                3 => {
                    let _ = write!(
                        out,
                        "if(!{a})throw new TypeError(\"{}\");",
                        self.sentence(3, 7)
                    );
                }
                4 => {
                    let _ = write!(out, "{a}[{b}]={c}.call(this,{b},{});", self.rng.below(1000));
                }
                5 => {
                    let _ = write!(
                        out,
                        "{a}=\"https://{}/{}\";",
                        self.rng.pick(HOSTS),
                        self.word()
                    );
                }
                6 if self.rng.chance(0.02) => {
                    let _ = write!(out, "{a}=process.env.npm_config_user_agent;");
                }
                _ => {
                    let _ = write!(
                        out,
                        "for(var {a}=0;{a}<{b}.length;{a}++){c}.push({b}[{a}]);"
                    );
                }
            }
        }
        if self.rng.chance(0.05) {
            out.push('\n');
        }
    }

    fn markdown_line(&mut self, out: &mut String) {
        match self.rng.below(40) {
            0..=2 => {
                let _ = writeln!(out, "\n## {}\n", self.sentence(2, 5));
            }
            3..=5 => {
                let _ = writeln!(out, "- {} (`{}`)", self.sentence(4, 12), self.ident());
            }
            6 => {
                let (p, v) = (*self.rng.pick(PKGS), self.version());
                let _ = writeln!(out, "\n```sh\nnpm install {p}@{v}\nnpx {p} --help\n```\n");
            }
            7 => {
                let (s, h, w) = (self.sentence(2, 4), *self.rng.pick(HOSTS), self.word());
                let _ = writeln!(out, "See [{s}](https://{h}/{w}).");
            }
            8 if self.rng.chance(0.3) => out.push_str(&(self.decoy_line("    ") + "\n")),
            _ => {
                let _ = writeln!(out, "{}.", self.sentence(8, 24));
            }
        }
    }

    fn yaml_line(&mut self, out: &mut String, depth: &mut usize) {
        let ind = "  ".repeat(*depth);
        match self.rng.below(10) {
            0 | 1 if *depth < 4 => {
                let _ = writeln!(out, "{ind}{}:", self.ident());
                *depth += 1;
            }
            2 | 3 if *depth > 0 => *depth -= 1,
            4 => {
                let _ = writeln!(out, "{ind}# {}", self.sentence(3, 10));
            }
            5 => {
                let _ = writeln!(out, "{ind}{}: \"{}\"", self.ident(), self.sentence(1, 4));
            }
            _ => {
                let _ = writeln!(out, "{ind}{}: {}", self.ident(), self.rng.below(5000));
            }
        }
    }

    pub fn package_json(&mut self, name: &str) -> String {
        let mut s = format!(
            "{{\n  \"name\": \"{name}\",\n  \"version\": \"{}\",\n  \"description\": \"{}\",\n  \"main\": \"dist/index.js\",\n  \"types\": \"dist/index.d.ts\",\n  \"license\": \"MIT\",\n  \"repository\": {{ \"type\": \"git\", \"url\": \"git+https://github.com/example/{name}.git\" }},\n  \"scripts\": {{\n    \"build\": \"tsc -p .\",\n    \"test\": \"vitest run\",\n    \"prepublishOnly\": \"npm run build\"\n  }},\n  \"dependencies\": {{\n",
            self.version(),
            self.sentence(4, 10)
        );
        let n = self.rng.range(2, 12);
        for i in 0..n {
            let sep = if i + 1 == n { "" } else { "," };
            let _ = writeln!(
                s,
                "    \"{}\": \"^{}\"{sep}",
                self.rng.pick(PKGS),
                self.version()
            );
        }
        s.push_str("  }\n}\n");
        s
    }

    fn lock_entry(&mut self, kind: Kind, out: &mut String) {
        let name = *self.rng.pick(PKGS);
        let v = self.version();
        let base = name.rsplit('/').next().unwrap_or(name);
        let integrity = format!("sha512-{}==", self.rng.b64(86));
        match kind {
            Kind::PackageLock => {
                let _ = write!(
                    out,
                    ",\n    \"node_modules/{name}\": {{\n      \"version\": \"{v}\",\n      \"resolved\": \"https://registry.npmjs.org/{name}/-/{base}-{v}.tgz\",\n      \"integrity\": \"{integrity}\",\n      \"dev\": true,\n      \"dependencies\": {{\n        \"{}\": \"^{}\"\n      }}\n    }}",
                    self.rng.pick(PKGS),
                    self.version()
                );
            }
            Kind::YarnLock => {
                let _ = write!(
                    out,
                    "\n\"{name}@^{v}\":\n  version \"{v}\"\n  resolved \"https://registry.yarnpkg.com/{name}/-/{base}-{v}.tgz#{}\"\n  integrity {integrity}\n  dependencies:\n    {} \"^{}\"\n",
                    self.rng.hex(40),
                    self.rng.pick(PKGS),
                    self.version()
                );
            }
            _ => {
                let _ = write!(
                    out,
                    "\n  /{name}@{v}:\n    resolution: {{integrity: {integrity}}}\n    engines: {{node: '>=14'}}\n    dependencies:\n      {}: {}\n    dev: false\n",
                    self.rng.pick(PKGS),
                    self.version()
                );
            }
        }
    }

    /// Content of `kind`, about `size` bytes.
    pub fn content(&mut self, kind: Kind, size: usize) -> Vec<u8> {
        let mut out = String::with_capacity(size + 4096);
        let mut depth = 0;
        match kind {
            Kind::Ts | Kind::Js => {
                let _ = writeln!(
                    out,
                    "// Copyright (c) Example Corp. Licensed under the MIT license.\n'use strict';\n"
                );
                while out.len() < size {
                    if kind == Kind::Ts {
                        self.ts_line(&mut out, &mut depth);
                    } else {
                        self.js_line(&mut out, &mut depth);
                    }
                }
                while depth > 0 {
                    depth -= 1;
                    let _ = writeln!(out, "{}}}", "  ".repeat(depth));
                }
            }
            Kind::MinJs => {
                out.push_str("/*! bundle | MIT */\n!function(e,t){\"use strict\";");
                while out.len() < size {
                    self.minjs_chunk(&mut out);
                }
                out.push_str("}(this);\n");
            }
            Kind::Markdown => {
                let _ = writeln!(out, "# {}\n", self.sentence(2, 5));
                while out.len() < size {
                    self.markdown_line(&mut out);
                }
            }
            Kind::Yaml => {
                let _ = writeln!(out, "# {}\nversion: 2", self.sentence(3, 8));
                while out.len() < size {
                    self.yaml_line(&mut out, &mut depth);
                }
            }
            Kind::Json => {
                let _ = write!(
                    out,
                    "{{\n  \"$schema\": \"https://json.schemastore.org/tsconfig\",\n  \"entries\": ["
                );
                let mut first = true;
                while out.len() < size {
                    let sep = if first { "" } else { "," };
                    first = false;
                    let (a, b, c) = (self.ident(), self.sentence(2, 6), self.rng.below(100_000));
                    let _ = write!(
                        out,
                        "{sep}\n    {{ \"id\": \"{a}\", \"label\": \"{b}\", \"weight\": {c}, \"enabled\": true }}"
                    );
                }
                out.push_str("\n  ]\n}\n");
            }
            Kind::PackageLock => {
                let _ = write!(
                    out,
                    "{{\n  \"name\": \"monorepo\",\n  \"version\": \"1.0.0\",\n  \"lockfileVersion\": 3,\n  \"requires\": true,\n  \"packages\": {{\n    \"\": {{\n      \"name\": \"monorepo\",\n      \"version\": \"1.0.0\"\n    }}"
                );
                while out.len() < size {
                    self.lock_entry(kind, &mut out);
                }
                out.push_str("\n  }\n}\n");
            }
            Kind::YarnLock => {
                out.push_str("# THIS IS AN AUTOGENERATED FILE. DO NOT EDIT THIS FILE DIRECTLY.\n# yarn lockfile v1\n");
                while out.len() < size {
                    self.lock_entry(kind, &mut out);
                }
            }
            Kind::PnpmLock => {
                out.push_str("lockfileVersion: '6.0'\n\npackages:\n");
                while out.len() < size {
                    self.lock_entry(kind, &mut out);
                }
            }
            Kind::Binary => {
                let mut v = Vec::with_capacity(size);
                v.extend_from_slice(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR");
                while v.len() < size {
                    let x = self.rng.next();
                    // Mostly zero-heavy, compressible-looking data with NULs.
                    v.extend_from_slice(&x.to_le_bytes()[..(x % 9) as usize]);
                    v.extend_from_slice(&[0, 0]);
                }
                return v;
            }
        }
        out.into_bytes()
    }
}
