#!/usr/bin/env bash
# Benchmark of an organisation sweep: one process against the same
# repositories split into shards, run one after another and at once.
#
#   benches/org.sh [REPOS] [SHARDS]
#
# REPOS (default 16) bare repositories are generated (deterministic: same
# REPOS, SCALE and SEED, same commits) by benches/support/gen_org.py through
# git fast-import into ${BENCH_DIR:-/tmp/npmsweep-org-bench}/org-REPOS-SCALE-SEED
# and kept there for the next run (remove the directory when done). They
# differ in size (factor 1-4) and share secrets: four tokens spread over the
# organisation, some in history only, plus one token of each repository's own.
# `repos.txt` lists them with their `du -sk` sizes, so `plan` balances shards
# by size. SHARDS (default 2: the machine's cores on the reference machine).
#
# Environment: SCALE (default 4) and SEED (default 7) of the generated
# repositories; RUNS (default 3; best and median are printed); NPMSWEEP (the
# binary; default: `cargo build --release` and target/release/npmsweep).
#
# Times, RUNS times each, interleaved so machine load hits all alike, every
# process with -j1 (one reader thread, so N processes use N cores):
#   one-j1     history --repos repos.txt -j1          (all, one core)
#   one-jN     history --repos repos.txt -j0          (all, every core)
#   shard I/N  history --repos repos.txt --shard I/N -j1, alone, one after another
#   parallel   the N shards started at once (wall time until the last ends)
#   merge      merge --plan plan.json of the N shard reports (--format json)
# and prints wall time (best, median), CPU time (user + system, best), the
# 1-minute load average before each timed run (the machine is shared: a high
# load inflates wall times), and checks that the merged answer of the shards
# equals the single process's (the same findings, locations and
# per-repository totals). Exit 0 on success, 1 on a setup problem or a
# mismatch.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
repos=${1:-16}
shards=${2:-2}
scale=${SCALE:-4}
seed=${SEED:-7}
runs=${RUNS:-3}

if ! /usr/bin/time -f %e true 2>/dev/null; then
    echo "benches/org.sh needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install -y time)" >&2
    exit 1
fi
for tool in jq git python3; do
    command -v "$tool" >/dev/null || { echo "benches/org.sh needs $tool" >&2; exit 1; }
done

if [ -z "${NPMSWEEP:-}" ]; then
    echo "== cargo build --release" >&2
    (cd "$root" && cargo build --release --quiet --bin npmsweep)
    NPMSWEEP=$root/target/release/npmsweep
fi

dir=${BENCH_DIR:-/tmp/npmsweep-org-bench}/org-$repos-$scale-$seed
if [ ! -f "$dir/.generated" ]; then
    echo "== generating $repos repositories (SCALE=$scale SEED=$seed) in $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    for i in $(seq 0 $((repos - 1))); do
        repo=$dir/repo-$(printf %02d "$i").git
        git init -q --bare "$repo"
        git -C "$repo" symbolic-ref HEAD refs/heads/main
        python3 "$root/benches/support/gen_org.py" "$i" "$scale" "$seed" | git -C "$repo" fast-import --quiet
        git -C "$repo" gc -q --aggressive --prune=now
    done
    touch "$dir/.generated"
fi
cd "$dir"
: > repos.txt
for repo in repo-*.git; do
    echo "$dir/$repo $(du -sk "$repo" | cut -f1)" >> repos.txt
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$NPMSWEEP" plan --shards "$shards" repos.txt -o "$out/plan.json"

load() { cut -d' ' -f1 /proc/loadavg; }
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }

# time_one NAME CMD...: one timed run, appended to $out/NAME.times as
# "wall cpu load".
time_one() {
    local name=$1
    shift
    local before
    before=$(load)
    local status=0
    /usr/bin/time -f "%e %U %S" -o "$out/t" "$@" >/dev/null 2>"$out/err" || status=$?
    if [ "$status" -gt 1 ]; then
        echo "$name failed ($status):" >&2
        cat "$out/err" >&2
        exit 1
    fi
    # GNU time puts "Command exited with non-zero status 1" first then.
    tail -1 "$out/t" | awk -v l="$before" '{ printf "%s %.2f %s\n", $1, $2 + $3, l }' >> "$out/$name.times"
}

sweep=("$NPMSWEEP" history --repos repos.txt --format json -q)

echo "== $runs run(s) of each, interleaved; load averages: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
for run in $(seq 1 "$runs"); do
    time_one one-j1 "${sweep[@]}" -j1 -o "$out/one.json"
    time_one one-jN "${sweep[@]}" -j0 -o "$out/one-jN.json"
    for i in $(seq 0 $((shards - 1))); do
        time_one "shard-$i" "${sweep[@]}" -j1 --shard "$i/$shards" -o "$out/shard-$i.json"
    done
    before=$(load)
    start=$(date +%s.%N)
    pids=()
    for i in $(seq 0 $((shards - 1))); do
        /usr/bin/time -f "%e %U %S" -o "$out/ptime-$i" \
            "${sweep[@]}" -j1 --shard "$i/$shards" \
            -o "$out/parallel-$i.json" >/dev/null 2>&1 &
        pids+=($!)
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || [ $? -eq 1 ]
    done
    end=$(date +%s.%N)
    cpu=$(for f in "$out"/ptime-*; do tail -1 "$f"; done | awk '{ s += $2 + $3 } END { printf "%.2f", s }')
    echo "$(calc "$end - $start") $cpu $before" >> "$out/parallel.times"
    shard_files=()
    for i in $(seq 0 $((shards - 1))); do shard_files+=("$out/shard-$i.json"); done
    time_one merge "$NPMSWEEP" merge --plan "$out/plan.json" --format json -o "$out/merged.json" "${shard_files[@]}"
done

# The shards' merged answer must be the single process's.
"$NPMSWEEP" merge --format json -o "$out/merged-one.json" "$out/one.json" || [ $? -eq 1 ]
answer() { jq -S '{findings, repositories, summary}' "$1"; }
if ! diff <(answer "$out/merged-one.json") <(answer "$out/merged.json") >/dev/null; then
    echo "MISMATCH: the shards' merged answer differs from the single process's" >&2
    diff <(answer "$out/merged-one.json") <(answer "$out/merged.json") | head -20 >&2
    exit 1
fi
findings=$(jq '.summary.findings' "$out/merged.json")
locations=$(jq '.summary.locations' "$out/merged.json")
several=$(jq '.summary.secrets_in_several_repositories' "$out/merged.json")
objects=0
for repo in repo-*.git; do
    objects=$((objects + $(git -C "$repo" count-objects -v | awk '/^in-pack/ { print $2 }')))
done
size_kb=$(awk '{ s += $2 } END { print s }' repos.txt)

# stats FILE: best wall, median wall, best cpu, load range.
stats() {
    sort -n "$1" | awk '{ w[NR] = $1; c[NR] = $2; l[NR] = $3 }
        END {
            m = (NR % 2) ? w[(NR + 1) / 2] : (w[NR / 2] + w[NR / 2 + 1]) / 2
            bc = c[1]; lo = l[1]; hi = l[1]
            for (i = 1; i <= NR; i++) { if (c[i] < bc) bc = c[i]; if (l[i] < lo) lo = l[i]; if (l[i] > hi) hi = l[i] }
            printf "%.2f s | %.2f s | %.2f s | %s-%s", w[1], m, bc, lo, hi
        }'
}
best() { sort -n "$1" | head -1 | cut -d' ' -f1; }

echo
echo "$repos repositories ($size_kb KiB packed, $objects objects; SCALE=$scale SEED=$seed), $shards shards, $runs run(s), $(nproc) cores"
echo "merged: $findings findings at $locations locations, $several secret(s) in several repositories (equal to the single process's answer)"
echo
echo "| run | wall best | wall median | CPU best | load (1 min) |"
echo "|---|---:|---:|---:|---|"
echo "| one process, -j1 | $(stats "$out/one-j1.times") |"
echo "| one process, -j0 (every core) | $(stats "$out/one-jN.times") |"
sum=0
for i in $(seq 0 $((shards - 1))); do
    repos_in=$(jq ".shards[$i].repositories | length" "$out/plan.json")
    echo "| shard $i/$shards alone ($repos_in repositories), -j1 | $(stats "$out/shard-$i.times") |"
    sum=$(calc "$sum + $(best "$out/shard-$i.times")")
done
echo "| $shards shards at once, -j1 each | $(stats "$out/parallel.times") |"
echo "| merge of the $shards shard reports | $(stats "$out/merge.times") |"
echo
one=$(best "$out/one-j1.times")
par=$(best "$out/parallel.times")
printf 'shards one after another: %.2f s (%.2fx the single process); largest shard %.0f%% of it; %d at once: %.2f s (%.2fx)\n' \
    "$sum" "$(calc "$sum / $one")" \
    "$(for i in $(seq 0 $((shards - 1))); do best "$out/shard-$i.times"; done | sort -n | tail -1 | awk -v o="$one" '{ print 100 * $1 / o }')" \
    "$shards" "$par" "$(calc "$par / $one")"
echo "load averages at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
