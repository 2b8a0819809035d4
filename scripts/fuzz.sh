#!/usr/bin/env bash
# A longer fuzzing campaign than the few seconds `cargo test` spends
# (tests/robustness.rs, stable toolchain, no extra tools):
#
#   scripts/fuzz.sh DURATION_SECONDS [SEED]
#
# Repeats, with a fresh seed each round (SEED, SEED+1, …) until DURATION has passed:
#   - the in-process fuzzer (rule examples mutated: truncation, byte flips,
#     splicing, deep nesting, huge repetition, UTF-16, multi-byte characters,
#     CRLF; odd paths; a planted token) for up to 60 s per round: no panic,
#     detection time linear in the input, no secret in a message or warning;
#   - the binary on a tree of FILES (default 200) such inputs in every
#     format: exit 0 or 1, valid JSON and SARIF, no planted secret anywhere.
# A failure prints the seed; replay it with the same seed and at least the same
# budget: NPMSWEEP_FUZZ_SEED=S NPMSWEEP_FUZZ_SECONDS=60 cargo test --release --test robustness fuzz
set -euo pipefail

duration=${1:?usage: scripts/fuzz.sh DURATION_SECONDS [SEED]}
seed=${2:-$(date +%s)}  # SEED: the first round's seed
files=${FILES:-200}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo test --release --test robustness --no-run --quiet
end=$(( $(date +%s) + duration ))
round=0
while :; do
    left=$(( end - $(date +%s) ))
    slice=$(( left < 60 ? (left > 1 ? left : 1) : 60 ))
    echo "== round $round, seed $seed, ${slice}s in process, $files files through the binary"
    log=$(mktemp)
    if ! NPMSWEEP_FUZZ_SEED=$seed NPMSWEEP_FUZZ_SECONDS=$slice NPMSWEEP_FUZZ_FILES=$files \
        cargo test --release --quiet --test robustness fuzz -- --nocapture > "$log" 2>&1; then
        grep -E 'panicked|seed [0-9]' -A3 "$log" >&2 || cat "$log" >&2
        echo "FAILED with seed $seed (replay: NPMSWEEP_FUZZ_SEED=$seed NPMSWEEP_FUZZ_SECONDS=$slice NPMSWEEP_FUZZ_FILES=$files cargo test --release --test robustness fuzz)" >&2
        exit 1
    fi
    grep -E 'cases' "$log" || true
    rm -f "$log"
    round=$((round + 1))
    seed=$((seed + 1))
    [ "$(date +%s)" -lt "$end" ] || break
done
echo "campaign over: $round rounds, no failure"
