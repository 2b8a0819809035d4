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
