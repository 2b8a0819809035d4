#!/usr/bin/env bash
# Tests the npm distribution end to end without a registry: lays out the
# launcher and this platform's package around a locally built binary
# (npm/build-packages.sh), `npm pack`s both, installs the tarballs offline
# into a temporary project, then runs `npx npmsweep --version` and a scan.
# Skipped, visibly, without node and npm.
#
#   scripts/test-npm-package.sh [BINARY]    (default: target/release/npmsweep)
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "test-npm-package: SKIPPED: npm/node not found" >&2
  exit 0
fi
binary="$(cd "$(dirname "${1:-target/release/npmsweep}")" && pwd)/$(basename "${1:-target/release/npmsweep}")"
[ -x "$binary" ] || { echo "test-npm-package: $binary: no such binary (build it first)" >&2; exit 2; }
platform="$(node -p 'process.platform + "-" + process.arch')"
version="$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
npm/build-packages.sh "$version" "$work/packages" "$platform=$binary" >/dev/null
mkdir -p "$work/tarballs"
for dir in "$work/packages"/*; do
  (cd "$dir" && npm pack --silent --pack-destination "$work/tarballs" >/dev/null)
done

# No install-time code, in any package.
for tarball in "$work/tarballs"/*.tgz; do
  manifest="$(tar -xzOf "$tarball" package/package.json)"
  if node -e '
    const s = JSON.parse(process.argv[1]).scripts || {};
    process.exit(["preinstall", "install", "postinstall", "prepare"].some((k) => k in s) ? 1 : 0);
  ' "$manifest"; then :; else
    echo "test-npm-package: $(basename "$tarball") has an install script" >&2
    exit 1
  fi
done

project="$work/project"
mkdir -p "$project"
cd "$project"
npm init -y >/dev/null
# --offline: nothing may come from a registry; the other platforms' optional
# packages are skipped, as npm skips them on a machine they do not fit.
npm install --offline --no-audit --no-fund --loglevel=error "$work/tarballs"/*.tgz >/dev/null

expected="$("$binary" --version)"
got="$(npx --offline --no-install npmsweep --version)"
[ "$got" = "$expected" ] || { echo "test-npm-package: npx npmsweep --version printed '$got', expected '$expected'" >&2; exit 1; }
echo "test-npm-package: npx npmsweep --version: $got"

# A scan through the launcher: findings exit 1 with the rule named, a clean
# tree exits 0, and arguments and exit codes pass through unchanged.
mkdir -p scanned
uuid="$(node -p 'require("node:crypto").randomUUID()')"
printf '//registry.npmjs.org/:_authToken=%s\n' "$uuid" >scanned/.npmrc
status=0
report="$(npx --offline --no-install npmsweep scan scanned --format json)" || status=$?
[ "$status" = 1 ] || { echo "test-npm-package: scan exited $status, expected 1" >&2; exit 1; }
node -e '
  const r = JSON.parse(process.argv[1]);
  if (r.findings.length !== 1 || r.findings[0].rule_id !== "npmrc-literal-auth-token") process.exit(1);
' "$report" || { echo "test-npm-package: unexpected report: $report" >&2; exit 1; }
case "$report" in *"$uuid"*) echo "test-npm-package: the secret reached the report" >&2; exit 1 ;; esac
# The reference is the right pattern: a clean tree (an empty one would exit 2,
# nothing scanned).
printf '//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n' >scanned/.npmrc
npx --offline --no-install npmsweep scan scanned --quiet
status=0
npx --offline --no-install npmsweep scan --no-such-flag >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || { echo "test-npm-package: a bad flag exited $status, expected 2" >&2; exit 1; }
echo "test-npm-package: OK ($platform package from $binary)"
