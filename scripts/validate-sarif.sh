#!/usr/bin/env bash
# Validate every SARIF log that tests/sarif.rs and tests/org.rs produce with Microsoft's SARIF
# Multitool: the SARIF 2.1.0 spec rules and GitHub's ingestion rules
# (`--rule-kind 'Gh;Sarif'`, e.g. GH1001 locations, GH2012 rule help).
# `cargo test` already checks the schema and GitHub's limits without network
# access; this is the extra, official gate for CI machines that have npm.
#
# Usage: scripts/validate-sarif.sh        (exit 0: no error or warning)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/npmsweep-sarif.XXXXXX")
trap 'rm -rf "$work"' EXIT
multitool_version=5.7.0

if ! command -v npm >/dev/null 2>&1; then
    echo "validate-sarif: npm is not installed; skipping the SARIF Multitool check" >&2
    exit 0
fi

# The Linux build is a self-contained binary (no .NET needed). Call it
# directly: the npm wrapper re-splits arguments and breaks 'Gh;Sarif'.
npm install --prefix "$work/tool" --no-save --no-audit --no-fund --loglevel=error \
    "@microsoft/sarif-multitool-linux@$multitool_version" >&2
tool="$work/tool/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
chmod u+x "$tool"

# tests/org.rs adds the per-repository logs of `merge --format sarif`.
NPMSWEEP_SARIF_OUT="$work/logs" cargo test --quiet --manifest-path "$root/Cargo.toml" --test sarif --test org >&2

status=0
count=0
for log in "$work"/logs/*.sarif; do
    count=$((count + 1))
    out="$log.validation"
    "$tool" validate "$log" --output "$out" --log ForceOverwrite \
        --rule-kind 'Gh;Sarif' --level 'Error;Warning' \
        --max-file-size-in-kb 102400 >/dev/null
    # The validator exits 0 either way and reports its findings as SARIF;
    # any result at error or warning level is a failure. (The capped
    # 25,000-result log takes a couple of minutes.)
    problems=$(node -e '
        const run = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).runs[0];
        for (const r of run.results || []) {
            const args = (r.message.arguments || []).join(" | ");
            console.log(`${r.level || "warning"} ${r.ruleId}: ${args}`);
        }' "$out")
    if [ -n "$problems" ]; then
        echo "validate-sarif: $(basename "$log"):" >&2
        echo "$problems" >&2
        status=1
    fi
done

if [ "$count" -eq 0 ]; then
    echo "validate-sarif: the tests wrote no SARIF logs" >&2
    exit 1
fi
if [ "$status" -eq 0 ]; then
    echo "validate-sarif: $count SARIF logs pass the SARIF Multitool ($multitool_version) Gh;Sarif rules"
fi
exit "$status"
