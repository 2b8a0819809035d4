//! Bad input never panics: every rule example, truncated at every byte and
//! with bytes flipped, is run through the detectors under every kind of
//! path. A deterministic generator keeps the run reproducible.

use npmsweep::detect::{DetectOptions, Item};
use npmsweep::finding::Origin;
use npmsweep::rules::{Registry, expand_templates};
use npmsweep::scan::detect_item;

const PATHS: &[&str] = &[
    ".npmrc",
    ".yarnrc.yml",
    ".yarnrc",
    "bunfig.toml",
    "package-lock.json",
    "package.json",
    ".github/workflows/ci.yml",
    "action.yml",
    "Dockerfile",
    "docker-compose.yml",
    ".env",
    "build.sh",
    ".gitlab-ci.yml",
    "notes.txt",
];

fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for rule in Registry::global().all() {
        for ex in rule.examples.iter().chain(&rule.negative_examples) {
            out.push(expand_templates(&ex.content).into_bytes());
        }
    }
    out
}

fn run_everywhere(bytes: &[u8], opts: &DetectOptions) {
    for path in PATHS {
        let item = Item {
            path,
            bytes,
            origin: Origin::Worktree,
            tree: None,
        };
        let detected = detect_item(&item, opts);
        // Panics are caught and turned into this warning: a fuzz failure.
        for w in &detected.warnings {
            assert!(!w.contains("internal error"), "{path}: {w}");
        }
        for f in &detected.findings {
            assert!(f.span.start_line >= 1 && f.span.start_column >= 1, "{path}");
            assert!(
                (f.span.end_line, f.span.end_column) > (f.span.start_line, f.span.start_column),
                "{path}: empty span {:?}",
                f.span
            );
        }
    }
}

#[test]
fn truncations_never_panic() {
    let opts = DetectOptions {
        include_invalid_tokens: true,
        ..DetectOptions::default()
    };
    for doc in corpus() {
        // Every prefix cut at a char boundary or not: invalid UTF-8 included.
        let step = (doc.len() / 40).max(1);
        for cut in (0..=doc.len()).step_by(step) {
            run_everywhere(&doc[..cut], &opts);
        }
    }
}

#[test]
fn byte_flips_never_panic() {
    let opts = DetectOptions::default();
    let mut state: u64 = 0x5eed;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let nasty = [
        b'\0', b'\n', b'\r', b'"', b'\'', b'{', b'}', b'[', b']', b':', b'=', b'#', b';', b'\\',
        b'$', b'@', 0xff, 0xc3, 0xe2, b'\t', b'&', b'*', b'!', b'|', b'-',
    ];
    for doc in corpus() {
        if doc.is_empty() {
            continue;
        }
        // NPMSWEEP_FUZZ_ROUNDS raises the count for a longer local run.
        let rounds: usize = std::env::var("NPMSWEEP_FUZZ_ROUNDS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(12);
        for _ in 0..rounds {
            let mut m = doc.clone();
            for _ in 0..3 {
                let at = (next() as usize) % m.len();
                m[at] = nasty[(next() as usize) % nasty.len()];
            }
            run_everywhere(&m, &opts);
        }
    }
}

#[test]
fn pathological_inputs_never_panic() {
    let opts = DetectOptions::default();
    let deep_yaml = format!("{}x: 1\n", "- ".repeat(2000));
    let deep_flow = format!("a: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    let long_line = format!("_authToken={}\n", "a".repeat(1 << 20));
    let many_urls = "https://a:b@h/ ".repeat(20_000);
    // "Billion laughs": each alias doubles the previous one ten times over.
    let mut laughs = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for (prev, next) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        let refs = vec![format!("*{prev}"); 9].join(",");
        laughs.push_str(&format!("{next}: &{next} [{refs}]\n"));
    }
    let deep_toml = format!(
        "[install]\ntoken = {}1{}\n",
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let deep_inline_toml = format!(
        "[install]\nregistry = {}{}\n",
        "{a=".repeat(3000),
        "}".repeat(3000)
    );
    let deep_shell = format!(
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: echo {}x{}\n",
        "$(".repeat(3000),
        ")".repeat(3000)
    );
    let cases: Vec<Vec<u8>> = vec![
        Vec::new(),
        vec![0; 10_000],
        vec![0xff; 10_000],
        deep_yaml.into_bytes(),
        deep_flow.into_bytes(),
        long_line.into_bytes(),
        many_urls.into_bytes(),
        deep_toml.into_bytes(),
        deep_inline_toml.into_bytes(),
        deep_shell.into_bytes(),
        laughs.into_bytes(),
        b"npm_".repeat(10_000),
        b"\xef\xbb\xbf//registry.npmjs.org/:_authToken=abc\r\n".to_vec(),
        b"on: push\njobs: 5\n".to_vec(),
        // Used to panic: a byte slice inside `Ã©` (issue 11, item 1).
        "on: push\njobs:\n  a:\n    runs-on: x\n    steps:\n      - run: npx \u{e9}toile@1\n"
            .as_bytes()
            .to_vec(),
        b"jobs:\n  a:\n    steps: {run: 3}\n".to_vec(),
    ];
    for (i, c) in cases.into_iter().enumerate() {
        eprintln!("pathological case {i}");
        run_everywhere(&c, &opts);
    }
}

// ---------------------------------------------------------------------------
// Fuzzing on the stable toolchain: a small seeded generator (no proptest or
// cargo-fuzz: runs everywhere `cargo test` runs, a failing case is replayed
// from its printed seed, and no dependency is added). Inputs are built from
// every rule example and from the hostile shapes of issue 11; each is run
// through the real detectors under ordinary and odd paths (no panic, time
// bounded per byte), and a tree of them through the binary in every format
// (valid JSON and SARIF, no planted secret in any output).
//
// Budget: NPMSWEEP_FUZZ_SECONDS (default: a fixed small count, about two
// seconds), NPMSWEEP_FUZZ_SEED (default fixed). `scripts/fuzz.sh DURATION`
// runs a long campaign with fresh seeds.

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fuzz_seed() -> u64 {
    std::env::var("NPMSWEEP_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x00C0_FFEE)
}

fn fuzz_budget() -> Option<std::time::Duration> {
    std::env::var("NPMSWEEP_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map(std::time::Duration::from_secs)
}

/// Paths that exercise every detector, plus odd ones.
const FUZZ_PATHS: &[&str] = &[
    ".npmrc",
    "sub/dir/.npmrc",
    ".yarnrc.yml",
    ".yarnrc",
    "bunfig.toml",
    "package.json",
    "package-lock.json",
    ".github/workflows/release.yml",
    "action.yml",
    "Dockerfile",
    "compose.yaml",
    ".env.production",
    "scripts/publish.sh",
    ".gitlab-ci.yml",
    "notes.txt",
    "d\u{e9}j\u{e0} vu/\u{1F600}.npmrc",
    "a\\xFF.txt",
    " leading space/.env",
    "very/deep/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/.github/workflows/x.yml",
];

/// One generated input: bytes and the path it is scanned under.
fn generate(rng: &mut Rng, corpus: &[Vec<u8>], planted: &str) -> (Vec<u8>, &'static str) {
    let pick = |rng: &mut Rng| corpus[rng.below(corpus.len())].clone();
    let mut doc = pick(rng);
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        match rng.below(9) {
            // Truncation anywhere, char boundary or not.
            0 => {
                let cut = rng.below(doc.len() + 1);
                doc.truncate(cut);
            }
            // Byte flips to syntax characters and invalid UTF-8.
            1 => {
                const NASTY: &[u8] = b"\0\n\r\"'{}[]:=#;\\$@\t&*!|-`<>%\xff\xc3\xe2\x80";
                for _ in 0..1 + rng.below(4) {
                    if !doc.is_empty() {
                        let at = rng.below(doc.len());
                        doc[at] = NASTY[rng.below(NASTY.len())];
                    }
                }
            }
            // Splicing: the head of one document, the tail of another.
            2 => {
                let other = pick(rng);
                let a = rng.below(doc.len() + 1);
                let b = rng.below(other.len() + 1);
                doc.truncate(a);
                doc.extend_from_slice(&other[b..]);
            }
            // Deep nesting of the syntaxes the parsers recurse on.
            3 => {
                let (open, close): (&str, &str) = match rng.below(5) {
                    0 => ("[", "]"),
                    1 => ("{a: ", "}"),
                    2 => ("$(", ")"),
                    3 => ("- ", ""),
                    _ => ("if true; then ", "fi; "),
                };
                let n = 1 + rng.below(3000);
                let mut nested = open.repeat(n).into_bytes();
                nested.extend_from_slice(&doc);
                nested.extend_from_slice(close.repeat(n).as_bytes());
                doc = nested;
            }
            // Huge repetition of a line of the document.
            4 => {
                let lines: Vec<&[u8]> = doc.split(|&b| b == b'\n').collect();
                let line = lines[rng.below(lines.len())].to_vec();
                let times = 1 + rng.below(4000);
                for _ in 0..times {
                    doc.extend_from_slice(&line);
                    doc.push(b'\n');
                }
            }
            // UTF-16 with a byte-order mark, as PowerShell writes it.
            5 => {
                let text = String::from_utf8_lossy(&doc).into_owned();
                let mut out = vec![0xFF, 0xFE];
                for u in text.encode_utf16() {
                    out.extend_from_slice(&u.to_le_bytes());
                }
                doc = out;
            }
            // Multi-byte characters at every kind of position.
            6 => {
                let at = rng.below(doc.len() + 1);
                let s = ["\u{e9}", "\u{1F600}", "\u{200B}", "\u{FEFF}", "\r\n"][rng.below(5)];
                doc.splice(at..at, s.bytes());
            }
            // CRLF line ends throughout.
            7 => {
                let mut out = Vec::with_capacity(doc.len() * 2);
                for &b in &doc {
                    if b == b'\n' {
                        out.push(b'\r');
                    }
                    out.push(b);
                }
                doc = out;
            }
            // Nothing: the document as is.
            _ => {}
        }
    }
    // Plant a secret somewhere, often right after an assignment.
    let at = rng.below(doc.len() + 1);
    let plant = match rng.below(3) {
        0 => format!("\nNPM_TOKEN={planted}\n"),
        1 => format!("//registry.npmjs.org/:_authToken={planted}\n"),
        _ => planted.to_string(),
    };
    doc.splice(at..at, plant.bytes());
    (doc, FUZZ_PATHS[rng.below(FUZZ_PATHS.len())])
}

/// Detection time allowed for an input: generous (debug builds, a loaded
/// 2-core CI machine), but linear in its size: a quadratic path on a 100 KB
/// input blows through it.
fn time_bound(len: usize) -> std::time::Duration {
    std::time::Duration::from_millis(2_000) + std::time::Duration::from_micros(40 * len as u64)
}

#[test]
fn fuzz_detectors_in_process() {
    let seed = fuzz_seed();
    let budget = fuzz_budget();
    let corpus = corpus();
    let opts = DetectOptions {
        include_invalid_tokens: true,
        ..DetectOptions::default()
    };
    let start = std::time::Instant::now();
    let mut rng = Rng(seed | 1);
    let mut cases = 0u64;
    loop {
        match budget {
            Some(b) if start.elapsed() >= b => break,
            None if cases >= 60 => break,
            _ => {}
        }
        let planted = npmsweep::token::fake_token("npm_", 1_000 + cases);
        let (doc, path) = generate(&mut rng, &corpus, &planted);
        let item = Item {
            path,
            bytes: &doc,
            origin: Origin::Worktree,
            tree: None,
        };
        let t = std::time::Instant::now();
        let detected = detect_item(&item, &opts);
        let took = t.elapsed();
        let case = format!("seed {seed}, case {cases}, {path}, {} bytes", doc.len());
        assert!(took <= time_bound(doc.len()), "{case}: took {took:?}");
        for w in &detected.warnings {
            assert!(!w.contains("internal error"), "{case}: {w}");
            assert!(!w.contains(&planted), "{case}: secret in a warning");
        }
        for f in &detected.findings {
            assert!(f.span.start_line >= 1 && f.span.start_column >= 1, "{case}");
            assert!(
                !f.message.contains(&planted),
                "{case}: secret in a message of {}: {}",
                f.rule_id,
                f.message.replace(&planted, "<PLANTED>")
            );
        }
        cases += 1;
    }
    eprintln!("fuzz_detectors_in_process: {cases} cases, seed {seed}");
}

#[test]
fn fuzz_binary_outputs_are_valid_and_never_leak() {
    let seed = fuzz_seed() ^ 0x5151;
    let corpus = corpus();
    let mut rng = Rng(seed | 1);
    let dir = tempfile::tempdir().unwrap();
    let mut planted = Vec::new();
    let files: u64 = std::env::var("NPMSWEEP_FUZZ_FILES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(24);
    for i in 0..files {
        let secret = npmsweep::token::fake_token("npm_", 50_000 + seed % 1000 + i);
        let (doc, path) = generate(&mut rng, &corpus, &secret);
        // Each case in its own directory: the same path may come twice.
        let file = dir.path().join(format!("case{i}")).join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &doc).unwrap();
        planted.push(secret);
    }
    // Every credential the rule examples hold, too.
    let examples = expand_templates(
        "{{npm_token}} {{npm_token_2}} {{ghp_token}} {{uuid}} {{password}} {{b64_auth}}",
    );
    planted.extend(examples.split(' ').map(str::to_string));
    for format in ["json", "sarif", "human", "github"] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_npmsweep"))
            .args(["scan", ".", "--no-config", "--format", format])
            .current_dir(dir.path())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let case = format!("seed {seed}, --format {format}");
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "{case}: exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("internal error"), "{case}: {stderr}");
        for s in &planted {
            assert!(
                !stdout.contains(s.as_str()),
                "{case}: a secret in the report"
            );
            assert!(
                !stderr.contains(s.as_str()),
                "{case}: a secret in a warning"
            );
        }
        if matches!(format, "json" | "sarif") {
            let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
                .unwrap_or_else(|e| panic!("{case}: invalid JSON: {e}"));
            if format == "sarif" {
                assert_eq!(doc["version"], "2.1.0", "{case}");
                assert!(doc["runs"][0]["results"].is_array(), "{case}");
            } else {
                assert!(doc["findings"].is_array(), "{case}");
            }
        }
    }
}
