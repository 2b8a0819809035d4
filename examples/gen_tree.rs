//! Generates the benchmark tree used by `benches/worktree.sh`, and checks
//! npmsweep's JSON report against what was planted.
//!
//! ```text
//! cargo run --release --example gen_tree -- generate DIR MANIFEST [--seed N] [--bytes N] [--files N] [--git]
//! cargo run --release --example gen_tree -- verify MANIFEST REPORT.json FILES
//! cargo run --release --example gen_tree -- read DIR THREADS
//! ```
//!
//! `generate` writes, deterministically from the seed, a monorepo-shaped tree
//! of realistic text (TypeScript/JavaScript sources, package.json files,
//! Markdown, YAML, lockfiles full of registry URLs, minified bundles with
//! very long lines, `node_modules`-like directories, a few binary assets,
//! `.npmrc`/`.env` files using environment references) with token-shaped
//! decoys sprinkled through it (checksum-invalid `npm_` strings,
//! `process.env.npm_*` names, identifiers containing `npm_`, random UUIDs)
//! and a handful of checksum-valid tokens made at run time with
//! [`npmsweep::token::fake_token`]. Nothing token-like is ever committed.
//! The manifest lists every planted token as `path<TAB>line`.
//!
//! With `--git`, `.gitignore` also ignores `build-cache/` and one planted
//! token sits in `build-cache/tracked.js`, which the caller must commit with
//! `git add -f`: npmsweep must still find it (committed is committed).
//!
//! `verify` checks that the report's findings are exactly the planted
//! tokens (rule `npm-token`, same path and line) and that npmsweep scanned
//! `FILES` files (the number the floor measurement read).
//!
//! `read` is the tightest floor: it reads every file under DIR once on
//! THREADS threads with a reused buffer and does nothing with the bytes.

#[allow(dead_code)]
#[path = "../benches/support/corpus.rs"]
mod corpus;

use corpus::{Gen, Kind, PKGS, Rng, WORDS};
use npmsweep::token::fake_token;
use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

// ---------------------------------------------------------------- layout

struct Spec {
    path: String,
    kind: Kind,
    size: usize,
    /// Fixed files (configs) have their exact content here.
    fixed: Option<String>,
}

struct Plant {
    path: String,
    line: usize,
}

fn line_of(bytes: &[u8], offset: usize) -> usize {
    bytes[..offset].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Insert `text` (a full line, `\n`-terminated) at a line boundary near
/// `frac` of the way through `bytes`. Returns the 1-based line.
fn insert_line(bytes: &mut Vec<u8>, frac: f64, text: &str) -> usize {
    let target = ((bytes.len() as f64) * frac) as usize;
    let at = match memchr_from(bytes, target) {
        Some(nl) => nl + 1,
        None => bytes.len(),
    };
    if at > 0 && bytes[at - 1] != b'\n' {
        bytes.insert(at, b'\n');
        bytes.splice(at + 1..at + 1, text.bytes());
        return line_of(bytes, at + 1);
    }
    bytes.splice(at..at, text.bytes());
    line_of(bytes, at)
}

fn memchr_from(bytes: &[u8], from: usize) -> Option<usize> {
    bytes
        .get(from..)?
        .iter()
        .position(|&b| b == b'\n')
        .map(|i| i + from)
}

/// Insert `text` in the middle of a (long) line, after a `;` near `frac`.
fn insert_inline(bytes: &mut Vec<u8>, frac: f64, text: &str) -> usize {
    let target = ((bytes.len() as f64) * frac) as usize;
    let at = bytes[target..]
        .iter()
        .position(|&b| b == b';')
        .map(|i| target + i + 1)
        .unwrap_or(bytes.len());
    bytes.splice(at..at, text.bytes());
    line_of(bytes, at)
}

struct Args {
    seed: u64,
    bytes: usize,
    files: usize,
    git: bool,
}

fn layout(rng: &mut Rng, args: &Args) -> Vec<Spec> {
    let scale = args.bytes as f64 / 200e6;
    let sz = |n: f64| (n * scale).max(64.0) as usize;
    let mut specs = Vec::new();
    let mut fixed = |path: &str, content: String| {
        specs.push(Spec {
            path: path.into(),
            kind: Kind::Yaml,
            size: content.len(),
            fixed: Some(content),
        });
    };
    fixed(
        ".gitignore",
        if args.git {
            "*.log\ncoverage/\n.cache/\nbuild-cache/\n".into()
        } else {
            "*.log\ncoverage/\n.cache/\n".into()
        },
    );
    fixed(".npmrc", "registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken=${NPM_TOKEN}\nsave-exact=true\n".into());
    fixed(".env.example", "# Copy to .env and fill in\nNODE_ENV=development\nPORT=3000\nNPM_TOKEN=YOUR_TOKEN_HERE\nNODE_AUTH_TOKEN=${NPM_TOKEN}\n".into());
    fixed(
        ".env",
        "NODE_ENV=development\nPORT=3000\nLOG_LEVEL=debug\n".into(),
    );
    fixed(
        ".yarnrc.yml",
        "nodeLinker: node-modules\nnpmAuthToken: \"${NPM_TOKEN}\"\n".into(),
    );
    fixed(
        ".github/workflows/ci.yml",
        "name: CI\non: [push, pull_request]\npermissions:\n  contents: read\njobs:\n  test:\n    runs-on: ubuntu-latest\n    steps:\n      - uses: actions/checkout@v4\n      - uses: actions/setup-node@v4\n        with:\n          node-version: 24\n      - run: npm ci\n      - run: npm test\n".into(),
    );
    fixed("package.json", "{\n  \"name\": \"monorepo\",\n  \"private\": true,\n  \"workspaces\": [\"packages/*\"]\n}\n".into());

    let push = |specs: &mut Vec<Spec>, path: String, kind: Kind, size: usize| {
        specs.push(Spec {
            path,
            kind,
            size,
            fixed: None,
        });
    };
    // Lockfiles: a large root lockfile and a few per-package ones.
    push(
        &mut specs,
        "package-lock.json".into(),
        Kind::PackageLock,
        sz(8e6),
    );
    push(&mut specs, "yarn.lock".into(), Kind::YarnLock, sz(3e6));
    push(&mut specs, "pnpm-lock.yaml".into(), Kind::PnpmLock, sz(3e6));
    // Binary assets.
    for i in 0..12 {
        push(
            &mut specs,
            format!("assets/img/figure-{i:02}.png"),
            Kind::Binary,
            sz(50e3 + rng.below(300_000) as f64),
        );
    }
    let fixed_count = specs.len();
    let fixed_bytes: usize = specs.iter().map(|s| s.size).sum();

    // Everything else: files whose sizes are drawn from a log-normal
    // distribution (a few big bundles, many small sources), then scaled so
    // the tree totals about `args.bytes`.
    let mut bulk: Vec<(String, Kind, f64)> = Vec::new();
    let n_bulk = args.files.saturating_sub(fixed_count);
    let n_pkgs = 40;
    let n_modules = 80;
    for p in 0..n_pkgs {
        bulk.push((format!("packages/pkg-{p:02}/package.json"), Kind::Json, 0.1));
        bulk.push((
            format!("packages/pkg-{p:02}/README.md"),
            Kind::Markdown,
            1.0,
        ));
    }
    let mut i = 0;
    let mut taken: BTreeSet<String> = bulk.iter().map(|b| b.0.clone()).collect();
    while bulk.len() < n_bulk {
        if let Some(last) = bulk.last()
            && !taken.insert(last.0.clone())
        {
            bulk.pop();
        }
        i += 1;
        let r = rng.below(100);
        if r < 30 {
            // node_modules packages: sources, docs, a minified bundle.
            let k = rng.below(n_modules);
            let m = PKGS[k % PKGS.len()];
            let m = if k < PKGS.len() {
                m.to_string()
            } else {
                format!("{m}-v{k}")
            };
            let base = format!("node_modules/{m}");
            match rng.below(10) {
                0 => bulk.push((format!("{base}/package.json"), Kind::Json, 0.3)),
                1 => bulk.push((format!("{base}/README.md"), Kind::Markdown, 1.0)),
                2 => bulk.push((format!("{base}/CHANGELOG.md"), Kind::Markdown, 1.5)),
                3 => bulk.push((
                    format!("{base}/dist/{}.min.js", m.replace('/', "-")),
                    Kind::MinJs,
                    12.0,
                )),
                _ => bulk.push((
                    format!("{base}/lib/{}-{i}.js", rng.pick(WORDS)),
                    Kind::Js,
                    1.0,
                )),
            }
        } else if r < 92 {
            let p = format!("packages/pkg-{:02}", i % n_pkgs);
            let dir = *rng.pick(&[
                "src",
                "src/lib",
                "src/utils",
                "src/commands",
                "test",
                "src/internal",
            ]);
            match rng.below(20) {
                0..=10 => bulk.push((
                    format!("{p}/{dir}/{}-{i}.ts", rng.pick(WORDS)),
                    Kind::Ts,
                    1.0,
                )),
                11..=13 => bulk.push((
                    format!("{p}/{dir}/{}-{i}.js", rng.pick(WORDS)),
                    Kind::Js,
                    1.0,
                )),
                14 => bulk.push((
                    format!("{p}/{dir}/{}-{i}.test.ts", rng.pick(WORDS)),
                    Kind::Ts,
                    1.2,
                )),
                15 => bulk.push((
                    format!("{p}/fixtures/{}-{i}.json", rng.pick(WORDS)),
                    Kind::Json,
                    1.0,
                )),
                16 => bulk.push((
                    format!("{p}/config/{}-{i}.yaml", rng.pick(WORDS)),
                    Kind::Yaml,
                    0.5,
                )),
                _ => bulk.push((
                    format!("{p}/docs/{}-{i}.md", rng.pick(WORDS)),
                    Kind::Markdown,
                    0.8,
                )),
            }
        } else {
            bulk.push((
                format!("docs/{}/{}-{i}.md", rng.pick(WORDS), rng.pick(WORDS)),
                Kind::Markdown,
                1.0,
            ));
        }
    }
    // (`package.json` files are written whole, about 600 bytes.)
    let weights: Vec<f64> = bulk
        .iter()
        .map(|(p, _, w)| {
            if p.ends_with("package.json") {
                0.0
            } else {
                w * rng.lognormal(1.0)
            }
        })
        .collect();
    let small = bulk
        .iter()
        .filter(|(p, _, _)| p.ends_with("package.json"))
        .count()
        * 600;
    let remaining = args.bytes.saturating_sub(fixed_bytes + small) as f64;
    let total_w: f64 = weights.iter().sum();
    let sizes_for = |k: f64| -> Vec<usize> {
        weights
            .iter()
            .map(|w| ((w / total_w * k * remaining) as usize).clamp(120, 6_000_000))
            .collect()
    };
    // Clamping shrinks the total: raise the scale until it is back.
    let mut k = 1.0;
    for _ in 0..20 {
        let sum: usize = sizes_for(k).iter().sum();
        k *= remaining / sum as f64;
    }
    for ((path, kind, _), size) in bulk.into_iter().zip(sizes_for(k)) {
        specs.push(Spec {
            path,
            kind,
            size,
            fixed: None,
        });
    }
    specs
}

fn generate(dir: &Path, manifest: &Path, args: &Args) -> std::io::Result<()> {
    if dir.exists() {
        std::fs::remove_dir_all(dir)?;
    }
    std::fs::create_dir_all(dir)?;
    let mut rng = Rng(args.seed);
    let mut specs = layout(&mut rng, args);
    // Same path drawn twice: keep the first.
    let mut seen = BTreeSet::new();
    specs.retain(|s| seen.insert(s.path.clone()));

    let mut g = Gen {
        rng: Rng(args.seed ^ 0xA5A5_5A5A),
        invalid_seed: args.seed * 1000,
    };
    let mut plants = Vec::new();
    let mut token_seed = args.seed * 7919;
    let mut next_token = || {
        token_seed += 1;
        fake_token("npm_", token_seed)
    };

    // Which bulk files get a planted token: a few of each kind.
    let mut plant_at: Vec<usize> = Vec::new();
    for want in [
        Kind::Ts,
        Kind::Ts,
        Kind::Js,
        Kind::Markdown,
        Kind::Yaml,
        Kind::Json,
        Kind::MinJs,
        Kind::Binary,
    ] {
        let candidates: Vec<usize> = specs
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                s.kind == want
                    && s.fixed.is_none()
                    && !s.path.ends_with("package.json")
                    && !plant_at.contains(i)
            })
            .map(|(i, _)| i)
            .collect();
        if !candidates.is_empty() {
            plant_at.push(candidates[g.rng.below(candidates.len())]);
        }
    }

    let mut total = 0usize;
    let mut files = 0usize;
    let mut write = |rel: &str, bytes: &[u8]| -> std::io::Result<()> {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&p, bytes)?;
        total += bytes.len();
        files += 1;
        Ok(())
    };

    for (i, spec) in specs.iter().enumerate() {
        let mut bytes = match &spec.fixed {
            Some(c) => c.clone().into_bytes(),
            None if spec.path.ends_with("/package.json") => {
                let name = spec.path.rsplit('/').nth(1).unwrap_or("pkg").to_string();
                g.package_json(&name).into_bytes()
            }
            None => g.content(spec.kind, spec.size),
        };
        if plant_at.contains(&i) {
            let t = next_token();
            let frac = g.rng.unit() * 0.9;
            let line = match spec.kind {
                Kind::MinJs => insert_inline(&mut bytes, frac, &format!("e.publishToken=\"{t}\";")),
                Kind::Binary => {
                    let at = ((bytes.len() as f64) * frac) as usize;
                    bytes.splice(at..at, format!("\0{t}\0").into_bytes());
                    line_of(&bytes, at + 1)
                }
                Kind::Markdown => insert_line(
                    &mut bytes,
                    frac,
                    &format!("    npm config set //registry.npmjs.org/:_authToken {t}\n"),
                ),
                Kind::Yaml => insert_line(&mut bytes, frac, &format!("publishToken: \"{t}\"\n")),
                Kind::Json => insert_line(
                    &mut bytes,
                    frac,
                    &format!("    {{ \"id\": \"ci\", \"token\": \"{t}\" }},\n"),
                ),
                _ => insert_line(
                    &mut bytes,
                    frac,
                    &format!("const NPM_PUBLISH_TOKEN = '{t}';\n"),
                ),
            };
            plants.push(Plant {
                path: spec.path.clone(),
                line,
            });
        }
        write(&spec.path, &bytes)?;
    }

    // Config files with literal tokens: the classic leaks.
    let t = next_token();
    write("packages/pkg-03/.npmrc", format!("@example:registry=https://registry.npmjs.org/\n; left over from a local publish\n//registry.npmjs.org/:_authToken={t}\n").as_bytes())?;
    plants.push(Plant {
        path: "packages/pkg-03/.npmrc".into(),
        line: 3,
    });
    write("packages/pkg-07/.npmrc", b"@example:registry=https://npm.pkg.github.com\n//npm.pkg.github.com/:_authToken=${GITHUB_TOKEN}\n")?;
    let t = next_token();
    write(
        "packages/pkg-11/.env.local",
        format!("NODE_ENV=production\nNPM_TOKEN={t}\nPORT=8080\n").as_bytes(),
    )?;
    plants.push(Plant {
        path: "packages/pkg-11/.env.local".into(),
        line: 2,
    });
    if args.git {
        let t = next_token();
        let body =
            format!("// generated, but committed anyway\nmodule.exports = {{ token: '{t}' }};\n");
        write("build-cache/tracked.js", body.as_bytes())?;
        plants.push(Plant {
            path: "build-cache/tracked.js".into(),
            line: 2,
        });
    }

    let mut m = String::new();
    for p in &plants {
        let _ = writeln!(m, "{}\t{}", p.path, p.line);
    }
    std::fs::write(manifest, m)?;
    println!("files={files} bytes={total} planted={}", plants.len());
    Ok(())
}

// ---------------------------------------------------------------- verify

fn verify(manifest: &Path, report: &Path, files: u64) -> Result<String, String> {
    let m =
        std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let want: BTreeSet<(String, u64)> = m
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(p, l)| (p.to_string(), l.parse().unwrap_or(0)))
        .collect();
    let r = std::fs::read_to_string(report).map_err(|e| format!("{}: {e}", report.display()))?;
    let doc: serde_json::Value =
        serde_json::from_str(&r).map_err(|e| format!("report is not JSON: {e}"))?;
    let findings = doc["findings"]
        .as_array()
        .ok_or("report has no findings array")?;
    let mut got = BTreeSet::new();
    let mut problems = Vec::new();
    for f in findings {
        let rule = f["rule_id"].as_str().unwrap_or("?");
        let path = f["path"].as_str().unwrap_or("?").to_string();
        let line = f["start_line"].as_u64().unwrap_or(0);
        if rule != "npm-token" {
            problems.push(format!("unexpected finding {rule} at {path}:{line}"));
        }
        got.insert((path, line));
    }
    for (p, l) in want.difference(&got) {
        problems.push(format!("planted token not found: {p}:{l}"));
    }
    for (p, l) in got.difference(&want) {
        problems.push(format!("finding not planted: {p}:{l}"));
    }
    if findings.len() != want.len() {
        problems.push(format!(
            "{} findings for {} planted tokens",
            findings.len(),
            want.len()
        ));
    }
    let scanned = doc["summary"]["items_scanned"].as_u64().unwrap_or(0);
    if scanned != files {
        problems.push(format!(
            "npmsweep scanned {scanned} files, the floor read {files}"
        ));
    }
    if problems.is_empty() {
        Ok(format!(
            "{} findings = {} planted tokens; {scanned} files scanned",
            findings.len(),
            want.len()
        ))
    } else {
        Err(problems.join("\n"))
    }
}

// ---------------------------------------------------------------- floor

/// The tightest floor: read every regular file under `dir` (not entering
/// `.git`) once, on `threads` threads, each with one reused buffer, and do
/// nothing with the bytes. Returns files and bytes read.
fn read_all(dir: &Path, threads: usize) -> std::io::Result<(u64, u64)> {
    use std::io::Read;
    use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)? {
            let e = e?;
            let t = e.file_type()?;
            if t.is_dir() && e.file_name() != ".git" {
                stack.push(e.path());
            } else if t.is_file() {
                files.push(e.path());
            }
        }
    }
    let next = AtomicUsize::new(0);
    let total = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut buf = Vec::with_capacity(1 << 20);
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(p) = files.get(i) else { break };
                    buf.clear();
                    if let Ok(mut f) = std::fs::File::open(p)
                        && f.read_to_end(&mut buf).is_ok()
                    {
                        total.fetch_add(buf.len() as u64, Ordering::Relaxed);
                    }
                }
            });
        }
    });
    Ok((files.len() as u64, total.into_inner()))
}

fn main() {
    let argv: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: gen_tree generate DIR MANIFEST [--seed N] [--bytes N] [--files N] [--git]\n       gen_tree verify MANIFEST REPORT.json FILES\n       gen_tree read DIR THREADS";
    match argv.first().map(String::as_str) {
        Some("generate") if argv.len() >= 3 => {
            let mut args = Args {
                seed: 42,
                bytes: 200_000_000,
                files: 7000,
                git: false,
            };
            let mut it = argv[3..].iter();
            while let Some(a) = it.next() {
                let mut num = || {
                    it.next()
                        .and_then(|v| v.parse::<u64>().ok())
                        .unwrap_or_else(|| {
                            eprintln!("{a} needs a number\n{usage}");
                            std::process::exit(2)
                        })
                };
                match a.as_str() {
                    "--seed" => args.seed = num(),
                    "--bytes" => args.bytes = num() as usize,
                    "--files" => args.files = num() as usize,
                    "--git" => args.git = true,
                    _ => {
                        eprintln!("unknown option {a}\n{usage}");
                        std::process::exit(2);
                    }
                }
            }
            if let Err(e) = generate(&PathBuf::from(&argv[1]), &PathBuf::from(&argv[2]), &args) {
                eprintln!("gen_tree: {e}");
                std::process::exit(1);
            }
        }
        Some("read") if argv.len() == 3 => {
            let threads = argv[2].parse().unwrap_or(1);
            match read_all(Path::new(&argv[1]), threads) {
                Ok((f, b)) => println!("read {f} files, {b} bytes"),
                Err(e) => {
                    eprintln!("gen_tree: {e}");
                    std::process::exit(1);
                }
            }
        }
        Some("verify") if argv.len() == 4 => {
            let files = argv[3].parse().unwrap_or(u64::MAX);
            match verify(Path::new(&argv[1]), Path::new(&argv[2]), files) {
                Ok(msg) => println!("correct: {msg}"),
                Err(msg) => {
                    eprintln!("INCORRECT:\n{msg}");
                    std::process::exit(1);
                }
            }
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
}
