#!/usr/bin/env bash
# Benchmark of `npmsweep history` against the floor of reading every object
# of the repository once.
#
#   benches/history.sh REPO [RANGE_COMMITS]
#
# REPO is a local clone (bare or not) of a real repository; the README's
# figures use npm's CLI repository (github.com/npm/cli, all refs including
# pull-request refs: `git clone --mirror https://github.com/npm/cli`).
# RANGE_COMMITS (default 20) sizes the pull-request-style `--range` scan.
# Environment: RUNS (timed runs of each command, interleaved; default 5).
#
# Times, RUNS times each and interleaved so machine load hits all alike:
#   floor     git cat-file --batch-all-objects --batch --buffer > /dev/null
#             (every object decompressed once, one thread)
#   sweep     npmsweep history REPO --format json   (every blob of every ref)
#   range     npmsweep history REPO --range HEAD~N..HEAD --format json
# and prints best and median wall times, the sweep/floor ratio and peak RSS
# (GNU time's maximum resident set size).
#
# Exit status: 0 targets met (sweep best <= 1.5x floor best, sweep peak RSS
# < 500 MB, range best < 1 s), 3 a target missed, 1 a setup problem.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
target=${1:?usage: benches/history.sh REPO [RANGE_COMMITS]}
range_commits=${2:-20}
runs=${RUNS:-5}

if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
    echo "benches/history.sh needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install -y time)" >&2
    exit 1
fi
git -C "$target" rev-parse --git-dir >/dev/null || { echo "$target is not a git repository" >&2; exit 1; }

echo "== building (release)" >&2
(cd "$root" && cargo build --release --quiet --bin npmsweep)
bin=$root/target/release/npmsweep
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# What the repository is.
git_dir=$(cd "$target" && cd "$(git rev-parse --git-dir)" && pwd)
pack_mb=$(du -sm "$git_dir/objects" | cut -f1)
commits=$(git -C "$target" rev-list --all --count)
refs=$(git -C "$target" for-each-ref | wc -l)
read -r blobs blob_bytes < <(git -C "$target" cat-file --batch-all-objects --batch-check='%(objecttype) %(objectsize)' |
    awk '$1 == "blob" { n++; s += $2 } END { printf "%.0f %.0f\n", n, s }')
range="HEAD~$range_commits..HEAD"
range_count=$(git -C "$target" rev-list --count "$range")
echo "repository: $target"
echo "  objects: ${pack_mb} MB on disk, $blobs blobs ($((blob_bytes / 1048576)) MiB of content), $commits commits, $refs refs"
echo "  range $range: $range_count commits"
echo "  machine: $(nproc) cores, $(uname -sr)"

# Warm the page cache so the first timed command is not the one paying for disk.
git -C "$target" cat-file --batch-all-objects --batch --buffer > /dev/null

# Run a command under GNU time; append "seconds kilobytes" to $1.
measure() {
    local log=$1
    shift
    local status=0
    /usr/bin/time -f '%e %M' -o "$out/time" "$@" > /dev/null 2> "$out/stderr" || status=$?
    # npmsweep exits 1 when it finds something: that is a result, not a failure.
    if [ "$status" -gt 1 ]; then
        echo "command failed ($status): $*" >&2
        cat "$out/stderr" >&2
        exit 1
    fi
    tail -n 1 "$out/time" >> "$log"
}

for i in $(seq "$runs"); do
    echo "== run $i/$runs" >&2
    measure "$out/floor" git -C "$target" cat-file --batch-all-objects --batch --buffer
    measure "$out/sweep" "$bin" history "$target" --format json
    measure "$out/range" "$bin" history "$target" --range "$range" --format json
done

# One more sweep, to say what was found and skipped (the summary line).
summary=$("$bin" history "$target" --color never 2> /dev/null | grep -E 'finding\(s\)|^note:' || true)

stats() { # file -> "best median max_rss_mb"
    sort -n "$1" | awk '{ t[NR] = $1; if ($2 > m) m = $2 }
        END { printf "%.2f %.2f %.0f\n", t[1], t[int((NR + 1) / 2)], m / 1024 }'
}
read -r floor_best floor_median floor_rss < <(stats "$out/floor")
read -r sweep_best sweep_median sweep_rss < <(stats "$out/sweep")
read -r range_best range_median range_rss < <(stats "$out/range")
ratio=$(awk -v a="$sweep_best" -v b="$floor_best" 'BEGIN { printf "%.2f", a / b }')

echo
printf '%-44s %8s %8s %9s\n' "command ($runs runs, interleaved)" "best s" "median s" "peak RSS"
printf '%-44s %8s %8s %6s MB\n' "floor: git cat-file --batch-all-objects" "$floor_best" "$floor_median" "$floor_rss"
printf '%-44s %8s %8s %6s MB\n' "npmsweep history (all refs)" "$sweep_best" "$sweep_median" "$sweep_rss"
printf '%-44s %8s %8s %6s MB\n' "npmsweep history --range $range" "$range_best" "$range_median" "$range_rss"
echo "sweep / floor (best): ${ratio}x"
echo "sweep summary: $summary"

missed=0
awk -v r="$ratio" 'BEGIN { exit !(r > 1.5) }' && { echo "target missed: sweep is over 1.5x the floor" >&2; missed=1; }
[ "$sweep_rss" -ge 500 ] && { echo "target missed: sweep peak RSS is 500 MB or more" >&2; missed=1; }
awk -v t="$range_best" 'BEGIN { exit !(t >= 1) }' && { echo "target missed: range scan takes 1 s or more" >&2; missed=1; }
[ "$missed" -eq 0 ] && echo "all targets met"
exit $((missed * 3))
