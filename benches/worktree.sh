#!/usr/bin/env bash
# End-to-end benchmark of `npmsweep scan` against the physical floor.
#
#   benches/worktree.sh [BASE_DIR]          (default BASE_DIR: /tmp/npmsweep-bench)
#
# Environment: RUNS (timed runs per command, default 7), SEED (default 42),
# BYTES (tree size, default 200000000), FILES (default 7000),
# MODES ("plain git" by default: the tree as a plain directory, and the same
# tree committed to a git repository so that the tracked-file pass runs),
# KEEP=1 to keep the generated trees afterwards.
#
# For each mode it generates the tree deterministically from SEED with
# `examples/gen_tree.rs` (checksum-valid tokens are made at run time, never
# committed), warms the page cache, checks that npmsweep reports exactly the
# planted tokens and scans exactly the files the floor reads, then times,
# interleaved, RUNS times each:
#   floor        find … -print0 | xargs -0 cat > /dev/null   (one reader)
#   floor -P2    the same with one cat per core               (all cores)
#   read floor   gen_tree read: every file read once into a reused buffer,
#                on 1 thread and on one thread per core (no process
#                start-up, no writes: the tightest floor)
#   npmsweep     npmsweep scan DIR --format json > /dev/null  (default threads)
#   npmsweep -j1 the same on one thread
# and prints best and median wall times, the ratio to the floors, MB/s and
# peak RSS (GNU time's maximum resident set size).
#
# Exit status: 0 targets met, 1 wrong findings (or a setup problem),
# 3 a target missed (npmsweep best > 3x the `cat` floor best, the issue's
# definition of the floor, or peak RSS >= 200 MB).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
base=${1:-/tmp/npmsweep-bench}
runs=${RUNS:-7}
seed=${SEED:-42}
bytes=${BYTES:-200000000}
nfiles=${FILES:-7000}
modes=${MODES:-plain git}

if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
    echo "benches/worktree.sh needs GNU time at /usr/bin/time for peak RSS (Debian/Ubuntu: apt-get install -y time)" >&2
    exit 1
fi
for tool in git find xargs cat sort awk; do
    command -v "$tool" >/dev/null || { echo "benches/worktree.sh needs $tool" >&2; exit 1; }
done

echo "== building (release)" >&2
(cd "$repo" && cargo build --release --quiet --bin npmsweep --example gen_tree)
bin=$repo/target/release/npmsweep
gen=$repo/target/release/examples/gen_tree
mkdir -p "$base"
ncpu=$(nproc)

# Wall time of a command in seconds (bash's EPOCHREALTIME: microseconds).
timeit() {
    local t0 t1
    t0=$EPOCHREALTIME
    "$@"
    t1=$EPOCHREALTIME
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f\n", b - a }'
}
floor_serial() { find "$1" -name .git -prune -o -type f -print0 | xargs -0 cat > /dev/null; }
floor_parallel() { find "$1" -name .git -prune -o -type f -print0 | xargs -0 -P "$ncpu" -n 256 cat > /dev/null; }
floor_read() { "$gen" read "$1" "$2" > /dev/null; }
scan() {
    # Exit status 1 means "findings": expected here.
    local rc=0
    "$bin" scan "$1" --format json "${@:2}" > /dev/null || rc=$?
    [ "$rc" -le 1 ] || { echo "npmsweep failed with status $rc" >&2; exit 1; }
}
scan_rss() {
    # Peak RSS (KB) of one scan, measured by GNU time.
    local out=$base/rss.txt
    /usr/bin/time -f %M -o "$out" "$bin" scan "$1" --format json "${@:2}" > /dev/null || true
    tail -n 1 "$out"
}
best() { sort -g | head -n 1; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

status=0
table=$base/table.md
{
    echo "| tree | command | best s | median s | x cat floor | x read floor ($ncpu threads) | MB/s (best) | peak RSS MB |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
} > "$table"

for mode in $modes; do
    dir=$base/tree-$mode
    manifest=$base/tree-$mode.manifest
    gitflag=()
    [ "$mode" = git ] && gitflag=(--git)
    echo "== generating $dir (seed $seed, $mode)" >&2
    "$gen" generate "$dir" "$manifest" --seed "$seed" --bytes "$bytes" --files "$nfiles" "${gitflag[@]}" >&2
    if [ "$mode" = git ]; then
        (
            cd "$dir"
            git init -q
            # No automatic gc: 7,000 loose objects would start a background
            # `git gc` that competes with the timings (and with rm -rf).
            git config gc.auto 0
            git config maintenance.auto false
            git add -A
            git add -f build-cache  # ignored by .gitignore, but committed
            git -c user.name=bench -c user.email=bench@example.invalid commit -q -m "benchmark tree"
        )
    fi
    files=$(find "$dir" -name .git -prune -o -type f -print | wc -l)
    total=$(find "$dir" -name .git -prune -o -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
    mb=$(awk -v b="$total" 'BEGIN { printf "%.1f", b / 1e6 }')

    echo "== warming the cache, checking correctness" >&2
    floor_serial "$dir"
    rc=0
    "$bin" scan "$dir" --format json > "$base/report-$mode.json" || rc=$?
    if [ "$rc" -ne 1 ] || ! "$gen" verify "$manifest" "$base/report-$mode.json" "$files" >&2; then
        echo "INCORRECT: npmsweep (status $rc) did not report exactly the planted tokens in $dir" >&2
        exit 1
    fi
    planted=$(wc -l < "$manifest")

    echo "== timing ($runs runs each, interleaved)" >&2
    : > "$base/t-floor1" ; : > "$base/t-floorP" ; : > "$base/t-scan" ; : > "$base/t-scan1"
    : > "$base/t-read1" ; : > "$base/t-readP"
    : > "$base/rss-scan" ; : > "$base/rss-scan1"
    for _ in $(seq "$runs"); do
        timeit floor_serial "$dir" >> "$base/t-floor1"
        timeit floor_parallel "$dir" >> "$base/t-floorP"
        timeit floor_read "$dir" 1 >> "$base/t-read1"
        timeit floor_read "$dir" "$ncpu" >> "$base/t-readP"
        timeit scan "$dir" >> "$base/t-scan"
        timeit scan "$dir" -j 1 >> "$base/t-scan1"
    done
    for _ in 1 2 3; do
        scan_rss "$dir" >> "$base/rss-scan"
        scan_rss "$dir" -j 1 >> "$base/rss-scan1"
    done

    f1=$(best < "$base/t-floor1")
    fp=$(best < "$base/t-readP")
    row() { # name times-file rss-file
        local b m rss
        b=$(best < "$2")
        m=$(median < "$2")
        rss=${3:+$(sort -n "$3" | tail -n 1)}
        awk -v t="$mode ($files files, $mb MB)" -v n="$1" -v b="$b" -v m="$m" -v f1="$f1" -v fp="$fp" \
            -v tot="$total" -v rss="$rss" 'BEGIN {
                printf "| %s | %s | %.3f | %.3f | %.2f | %.2f | %.0f | %s |\n",
                    t, n, b, m, b / f1, b / fp, tot / 1e6 / b, (rss == "" ? "-" : sprintf("%.1f", rss / 1024))
            }' >> "$table"
    }
    row "floor: find + xargs cat" "$base/t-floor1" ""
    row "floor: find + xargs -P$ncpu cat" "$base/t-floorP" ""
    row "floor: read every file, 1 thread" "$base/t-read1" ""
    row "floor: read every file, $ncpu threads" "$base/t-readP" ""
    row "npmsweep scan --format json" "$base/t-scan" "$base/rss-scan"
    row "npmsweep scan --format json -j1" "$base/t-scan1" "$base/rss-scan1"

    sb=$(best < "$base/t-scan")
    rss=$(sort -n "$base/rss-scan" | tail -n 1)
    verdict=$(awk -v s="$sb" -v f="$f1" -v r="$rss" 'BEGIN {
        ok = (s <= 3 * f) && (r < 200 * 1024)
        printf "%s: npmsweep %.2fx the cat floor (target <= 3x), peak RSS %.1f MB (target < 200 MB): %s",
            "'"$mode"'", s / f, r / 1024, ok ? "targets met" : "TARGET MISSED"
    }')
    echo "$verdict" >> "$base/verdicts"
    echo "   $planted planted tokens, $planted findings (asserted)" >> "$base/verdicts"
    case $verdict in *MISSED*) status=3 ;; esac
    [ -n "${KEEP:-}" ] || rm -rf "$dir"
done

echo
echo "machine: $ncpu cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo)"
echo "runs: $runs per command (interleaved), warm page cache, seed $seed"
echo
cat "$table"
echo
cat "$base/verdicts"
rm -f "$base/verdicts"
exit "$status"
