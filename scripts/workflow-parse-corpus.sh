#!/usr/bin/env bash
# Does npmsweep's YAML parser accept the workflows real projects run?
#
#   scripts/workflow-parse-corpus.sh MIRROR_DIR [NPMSWEEP]
#
# MIRROR_DIR holds bare git repositories (`owner+name/repo`, as the `fetch`
# tool lays them out, or any `*.git`/bare directory below it). Every distinct
# blob ever stored at `.github/workflows/*.yml|yaml` (root only, the files
# GitHub runs) in each repository's full history is extracted to a scratch
# directory and scanned with `npmsweep scan --format json`; a file the parser
# rejects shows up as a "workflow not analysed" warning.
#
# Branches hold broken workflows too (GitHub answers them with "Invalid
# workflow file" and runs nothing), so each rejected file is checked with an
# independent parser, PyYAML (libyaml): a file it rejects as well is counted
# as "invalid" — GitHub would not run it either —, one it accepts is an
# npmsweep bug ("bug"). Prints one line per repository (label, HEAD commit,
# blobs, rejected, bug) and each rejected blob (repository, blob id, reason,
# verdict), then the totals. Nothing is written outside a temporary
# directory. Exit status: 0 when no bug remains, 1 otherwise.
set -euo pipefail

mirrors=${1:?usage: $0 MIRROR_DIR [NPMSWEEP]}
bin=${2:-$(dirname "$0")/../target/release/npmsweep}
[ -x "$bin" ] || bin=$(dirname "$0")/../target/debug/npmsweep
command -v jq >/dev/null || { echo "jq is required" >&2; exit 2; }
python3 -c 'import yaml' 2>/dev/null || { echo "python3 with PyYAML is required" >&2; exit 2; }

# Exit 0 when PyYAML loads the file as one mapping (a workflow GitHub could run).
reference_accepts() {
  python3 - "$1" <<'PY'
import sys, yaml
try:
    docs = list(yaml.load_all(open(sys.argv[1], encoding="utf-8"), Loader=yaml.BaseLoader))
except Exception:
    sys.exit(1)
sys.exit(0 if docs and isinstance(docs[0], dict) else 1)
PY
}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

total=0 rejected=0 bugs=0
printf '%-40s %-12s %6s %8s %4s\n' repository head blobs rejected bug
for gitdir in $(find "$mirrors" -mindepth 1 -maxdepth 3 -type f -name HEAD -printf '%h\n' | sort); do
  git --git-dir="$gitdir" rev-parse --verify -q HEAD >/dev/null || continue
  label=${gitdir#"$mirrors"/}; label=${label%/repo}; label=${label/+//}
  head=$(git --git-dir="$gitdir" rev-parse --short=12 HEAD)
  dest="$work/$(echo "$label" | tr / +)/.github/workflows"
  mkdir -p "$dest"
  # Every blob stored at a root `.github/workflows/*.yml|yaml` in the history.
  git --git-dir="$gitdir" rev-list --all --objects --missing=allow-any 2>/dev/null |
    awk '$2 ~ /^\.github\/workflows\/[^\/]+\.ya?ml$/ { print $1 }' |
    sort -u |
    git --git-dir="$gitdir" cat-file --batch 2>/dev/null |
    python3 -c '
import sys, os
dest, src = sys.argv[1], sys.stdin.buffer
while True:
    header = src.readline()
    if not header:
        break
    parts = header.split()
    if len(parts) < 3:  # "<id> missing": a snapshot may lack a few objects
        continue
    size = int(parts[2])
    data = src.read(size)
    src.read(1)
    if parts[1] == b"blob":
        with open(os.path.join(dest, parts[0].decode() + ".yml"), "wb") as f:
            f.write(data)
' "$dest"
  n=$(find "$dest" -name '*.yml' | wc -l)
  json=$("$bin" scan --no-config --format json "$(dirname "$(dirname "$dest")")" 2>/dev/null || true)
  bad=$(jq -r '.warnings[]? | select(test("workflow not analysed"))' <<<"$json" | sort -u)
  r=0 b=0
  while IFS= read -r w; do
    [ -n "$w" ] || continue
    file=${w%%: *}
    blob=$(basename "$file" .yml)
    if reference_accepts "$(dirname "$(dirname "$dest")")/$file"; then
      verdict=bug; b=$((b + 1))
    else
      verdict=invalid
    fi
    r=$((r + 1))
    echo "  $label $blob $verdict: ${w#*: }" >>"$work/rejected.txt"
  done <<<"$bad"
  printf '%-40s %-12s %6d %8d %4d\n' "$label" "$head" "$n" "$r" "$b"
  total=$((total + n)); rejected=$((rejected + r)); bugs=$((bugs + b))
done
[ -f "$work/rejected.txt" ] && { echo; echo "rejected:"; cat "$work/rejected.txt"; }
echo
echo "total: $total workflow blobs, $rejected rejected ($bugs accepted by PyYAML: npmsweep bugs)"
[ "$bugs" -eq 0 ]
