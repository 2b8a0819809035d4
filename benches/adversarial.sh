#!/usr/bin/env bash
# Cost per byte of hostile input shapes next to ordinary input (issue 11):
# the time and peak memory per MB of each shape must stay flat as the size
# grows, i.e. cost is linear in the input.
#
#   benches/adversarial.sh            # sizes 1 2 4 MB
#   SIZES="1 2 4 8" benches/adversarial.sh
#   SHAPES="tokens-one-line shell-ifs" benches/adversarial.sh
#   UNIT=KB SIZES="32 64 128 256" SHAPES="shell-pipes shell-ifs" benches/adversarial.sh
#                                     # shell bodies near the 64 KiB parse limit
#
# Each shape is one file written by `examples/gen_adversarial.rs` (run
# `cargo run --release --example gen_adversarial -- list` for the list) and
# scanned with `npmsweep scan DIR --format json`; wall time is the best of
# RUNS (default 3), peak RSS is GNU time's maximum resident set size.
# Printed per shape and size: seconds, s/MB, peak RSS MB, and the growth of
# s/MB from the smallest size (flat ~1.0x is linear; quadratic doubles with
# every doubling of size). Exit status 3 when a shape's s/MB at the largest
# size is over GROWTH_LIMIT (default 2.5) times its s/MB at the smallest
# (noise on a loaded machine is well under that; quadratic at x8 is 8x).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
sizes=${SIZES:-"1 2 4"}
runs=${RUNS:-3}
limit=${GROWTH_LIMIT:-2.5}
unit=${UNIT:-MB}
case $unit in
    MB) unit_bytes=1048576 ;;
    KB) unit_bytes=1024 ;;
    *) echo "UNIT is MB or KB" >&2; exit 1 ;;
esac

if ! /usr/bin/time --version 2>&1 | grep -q GNU; then
    echo "benches/adversarial.sh needs GNU time at /usr/bin/time (apt-get install -y time)" >&2
    exit 1
fi
echo "== building (release)" >&2
(cd "$root" && cargo build --release --quiet --bin npmsweep --example gen_adversarial)
bin=$root/target/release/npmsweep
gen=$root/target/release/examples/gen_adversarial
shapes=${SHAPES:-$("$gen" list | cut -f1)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-16s %5s %9s %9s %9s %8s\n' shape "$unit" seconds "s/$unit" RSS_MB growth
status=0
for shape in $shapes; do
    first=""
    last=""
    for mb in $sizes; do
        dir=$work/$shape-$mb
        mkdir -p "$dir"
        "$gen" "$shape" $((mb * unit_bytes)) "$dir" > /dev/null
        best=""
        rss=0
        for _ in $(seq "$runs"); do
            /usr/bin/time -f '%e %M' -o "$work/time" "$bin" scan "$dir" --format json --no-config \
                > "$work/out.json" 2> "$work/err" || [ $? -eq 1 ]
            read -r s kb < <(tail -n1 "$work/time")
            best=$(awk -v a="$s" -v b="${best:-$s}" 'BEGIN { print (a < b ? a : b) }')
            rss=$((kb > rss ? kb : rss))
        done
        per=$(awk -v s="$best" -v m="$mb" 'BEGIN { printf "%.4f", s / m }')
        first=${first:-$per}
        last=$per
        growth=$(awk -v a="$per" -v b="$first" 'BEGIN { printf "%.2fx", (b > 0.001 ? a / b : 1) }')
        printf '%-16s %5s %9s %9s %9.1f %8s\n' "$shape" "$mb" "$best" "$per" "$(echo "$rss / 1024" | bc -l)" "$growth"
        rm -rf "$dir"
    done
    # Below 10 ms per unit the figures are start-up noise: never a failure.
    if awk -v a="$last" -v b="$first" -v l="$limit" 'BEGIN { exit !(a > 0.01 && a > b * l) }'; then
        echo "  ^ $shape: cost per $unit grew more than ${limit}x: not linear" >&2
        status=3
    fi
done
exit $status
