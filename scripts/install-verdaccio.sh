#!/usr/bin/env bash
# Installs Verdaccio 6.8.0 (a real npm registry) into target/verdaccio/ for
# the --verify tests (tests/verify.rs), which start it on a loopback port.
# 6.8.0 runs on Node 20 when node-fetch is pinned to 2.7.0 (the override).
# Without npm this prints why and exits 0: the tests then skip visibly.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v npm >/dev/null 2>&1; then
  echo "npm not found: the Verdaccio tests in tests/verify.rs will be skipped" >&2
  exit 0
fi
dir=target/verdaccio
if [ -x "$dir/node_modules/.bin/verdaccio" ]; then
  exit 0
fi
mkdir -p "$dir"
cat > "$dir/package.json" <<'JSON'
{"name":"npmsweep-verdaccio","private":true,"dependencies":{"verdaccio":"6.8.0"},"overrides":{"node-fetch":"2.7.0"}}
JSON
(cd "$dir" && npm install --no-audit --no-fund --loglevel=error)
