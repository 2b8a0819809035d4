//! Micro-benchmarks of the token matcher and of `detect_item` (divan).
//!
//! ```text
//! cargo bench --bench matcher
//! ```
//!
//! Throughput of the `npm_` token matcher over about 4 MB of realistic
//! source text (`benches/support/corpus.rs`): text with no `npm_` at all,
//! text with the usual decoys (`process.env.npm_*`, checksum-invalid
//! tokens, `npm_` inside identifiers), and the same with a checksum-valid
//! token every 64 KiB; next to the floor for the prefilter, a `memchr`
//! search for the literal. Then `detect_item` (every detector that applies,
//! findings built) on a typical `package-lock.json` (about 1 MB of registry
//! URLs), a TypeScript source file and a minified bundle. Valid tokens are
//! made at run time with `fake_token`; none is committed.

#[allow(dead_code)]
#[path = "support/corpus.rs"]
mod corpus;

use corpus::{Gen, Kind, Rng};
use divan::counter::BytesCount;
use divan::{Bencher, black_box};
use npmsweep::detect::{DetectOptions, Item, Sink, token};
use npmsweep::finding::Origin;
use npmsweep::scan::detect_item;
use npmsweep::token::fake_token;
use std::sync::OnceLock;

fn main() {
    divan::main();
}

const SIZE: usize = 4 << 20;

fn corpus_gen(seed: u64) -> Gen {
    Gen {
        rng: Rng(seed),
        invalid_seed: seed * 1000,
    }
}

/// About 4 MB of mixed sources, docs and config (with decoys).
fn mixed() -> &'static [u8] {
    static BUF: OnceLock<Vec<u8>> = OnceLock::new();
    BUF.get_or_init(|| {
        let mut g = corpus_gen(1);
        let kinds = [
            Kind::Ts,
            Kind::Js,
            Kind::Markdown,
            Kind::Yaml,
            Kind::Json,
            Kind::MinJs,
        ];
        let mut out = Vec::with_capacity(SIZE + (64 << 10));
        let mut i = 0;
        while out.len() < SIZE {
            out.extend(g.content(kinds[i % kinds.len()], 16 << 10));
            i += 1;
        }
        out
    })
}

/// The same text with every `npm_` turned into `npx_`: nothing for the
/// prefilter to stop at.
fn clean() -> &'static [u8] {
    static BUF: OnceLock<Vec<u8>> = OnceLock::new();
    BUF.get_or_init(|| {
        let mut v = mixed().to_vec();
        for i in memchr::memmem::find_iter(mixed(), b"npm_") {
            v[i + 2] = b'x';
        }
        v
    })
}

/// The mixed text with a checksum-valid token every 64 KiB.
fn with_hits() -> &'static [u8] {
    static BUF: OnceLock<Vec<u8>> = OnceLock::new();
    BUF.get_or_init(|| {
        let mut v = mixed().to_vec();
        let mut seed = 0;
        let mut at = 32 << 10;
        while at + 64 < v.len() {
            seed += 1;
            let line = format!("\ntoken = \"{}\"\n", fake_token("npm_", seed));
            v[at..at + line.len()].copy_from_slice(line.as_bytes());
            at += 64 << 10;
        }
        // The benchmark is only meaningful if every planted token is found
        // and no decoy is.
        let mut sink = Sink::default();
        let it = Item {
            path: "src/x.ts",
            bytes: &v,
            origin: Origin::Worktree,
            tree: None,
        };
        token::detect(&it, &DetectOptions::default(), &mut sink);
        assert_eq!(sink.hits.len() as u64, seed, "planted tokens found");
        v
    })
}

fn item(path: &'static str, bytes: &'static [u8]) -> Item<'static> {
    Item {
        path,
        bytes,
        origin: Origin::Worktree,
        tree: None,
    }
}

fn run_token(bencher: Bencher, bytes: &'static [u8]) {
    let opts = DetectOptions::default();
    bencher.counter(BytesCount::new(bytes.len())).bench(|| {
        let mut sink = Sink::default();
        token::detect(&item("src/x.ts", black_box(bytes)), &opts, &mut sink);
        sink.hits.len()
    });
}

/// Floor for the prefilter: find every `npm_` with memchr's memmem.
#[divan::bench]
fn memmem_floor(bencher: Bencher) {
    let bytes = mixed();
    bencher
        .counter(BytesCount::new(bytes.len()))
        .bench(|| memchr::memmem::find_iter(black_box(bytes), b"npm_").count());
}

#[divan::bench]
fn token_matcher_clean(bencher: Bencher) {
    run_token(bencher, clean());
}

#[divan::bench]
fn token_matcher_decoys(bencher: Bencher) {
    run_token(bencher, mixed());
}

#[divan::bench]
fn token_matcher_hits_every_64k(bencher: Bencher) {
    run_token(bencher, with_hits());
}

fn run_detect_item(bencher: Bencher, path: &'static str, bytes: &'static [u8]) {
    let opts = DetectOptions::default();
    bencher.counter(BytesCount::new(bytes.len())).bench(|| {
        detect_item(&item(path, black_box(bytes)), &opts)
            .findings
            .len()
    });
}

fn generated(kind: Kind, size: usize, seed: u64) -> &'static [u8] {
    let mut g = corpus_gen(seed);
    Vec::leak(g.content(kind, size))
}

#[divan::bench]
fn detect_item_package_lock_1mb(bencher: Bencher) {
    static BUF: OnceLock<&'static [u8]> = OnceLock::new();
    let bytes = *BUF.get_or_init(|| generated(Kind::PackageLock, 1 << 20, 2));
    run_detect_item(bencher, "package-lock.json", bytes);
}

#[divan::bench]
fn detect_item_typescript_32k(bencher: Bencher) {
    static BUF: OnceLock<&'static [u8]> = OnceLock::new();
    let bytes = *BUF.get_or_init(|| generated(Kind::Ts, 32 << 10, 3));
    run_detect_item(bencher, "src/commands/publish.ts", bytes);
}

#[divan::bench]
fn detect_item_minified_1mb(bencher: Bencher) {
    static BUF: OnceLock<&'static [u8]> = OnceLock::new();
    let bytes = *BUF.get_or_init(|| generated(Kind::MinJs, 1 << 20, 4));
    run_detect_item(bencher, "dist/bundle.min.js", bytes);
}
