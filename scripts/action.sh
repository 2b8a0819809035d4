#!/usr/bin/env bash
# The GitHub Action's logic (action.yml calls it; tests/action.rs runs it in
# a simulated Actions environment). Three steps:
#
#   action.sh install   put npmsweep on PATH: the release binary for this
#                       runner, verified against the release's SHA256SUMS,
#                       or a build from the action's own source when the
#                       release has no binary for it (never when a checksum
#                       does not match: that fails)
#   action.sh run       run scan or history with the inputs, write the SARIF
#                       and JSON reports, the step outputs and the job summary
#   action.sh finish    exit with npmsweep's status (after the SARIF upload)
#
# Inputs arrive as environment variables (never pasted into the script):
# NPMSWEEP_VERSION, NPMSWEEP_COMMAND, NPMSWEEP_PATHS, NPMSWEEP_ARGS,
# NPMSWEEP_FAIL_ON, NPMSWEEP_FORMAT, NPMSWEEP_SARIF_CATEGORY, NPMSWEEP_EXIT_CODE.
# NPMSWEEP_RELEASE_URL overrides where releases are downloaded from (tests
# use a file:// directory).
set -euo pipefail

die() {
  echo "::error title=npmsweep action::$*" >&2
  exit 2
}

# The release target triple for this runner.
target_triple() {
  local os="${RUNNER_OS:-}" arch="${RUNNER_ARCH:-}"
  case "$os/$arch" in
    Linux/X64) echo x86_64-unknown-linux-musl ;;
    Linux/ARM64) echo aarch64-unknown-linux-musl ;;
    macOS/ARM64) echo aarch64-apple-darwin ;;
    macOS/X64) echo x86_64-apple-darwin ;;
    Windows/X64) echo x86_64-pc-windows-msvc ;;
    *) echo "" ;;
  esac
}

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

build_from_source() {
  local root="$1"
  local source="${GITHUB_ACTION_PATH:-$(cd "$(dirname "$0")/.." && pwd)}"
  echo "npmsweep: building from the action's source ($source) with cargo" >&2
  command -v cargo >/dev/null 2>&1 || die "no release binary for this runner and no cargo to build one"
  cargo install --locked --quiet --path "$source" --root "$root" >&2
}

install() {
  local version="${NPMSWEEP_VERSION:?}"
  version="${version#v}"
  local root="${RUNNER_TEMP:?}/npmsweep-$version"
  local bin="$root/bin"
  mkdir -p "$bin"
  if [ "$version" = "source" ]; then
    build_from_source "$root"
  else
    local triple
    triple="$(target_triple)"
    local base="${NPMSWEEP_RELEASE_URL:-https://github.com/npmsweep/npmsweep/releases/download}/v$version"
    local archive="npmsweep-$version-$triple.tar.gz"
    local work="$root/download"
    mkdir -p "$work"
    if [ -n "$triple" ] &&
       curl --proto '=https,file' --fail --silent --show-error --location --retry 3 \
         --output "$work/SHA256SUMS" "$base/SHA256SUMS" &&
       curl --proto '=https,file' --fail --silent --show-error --location --retry 3 \
         --output "$work/$archive" "$base/$archive"; then
      local expected actual
      expected="$(awk -v f="$archive" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")"
      [ -n "$expected" ] || die "SHA256SUMS of v$version does not list $archive"
      actual="$(sha256_of "$work/$archive")"
      [ "$expected" = "$actual" ] ||
        die "checksum mismatch for $archive: expected $expected, got $actual (not installed)"
      tar -xzf "$work/$archive" -C "$bin"
      echo "npmsweep: installed $archive (sha256 $actual)" >&2
    else
      echo "npmsweep: no release binary v$version for ${RUNNER_OS:-?}/${RUNNER_ARCH:-?}" >&2
      build_from_source "$root"
    fi
  fi
  echo "$bin" >>"${GITHUB_PATH:?}"
  PATH="$bin:$PATH" npmsweep --version >&2 || die "the installed npmsweep does not run"
}

run() {
  local command="${NPMSWEEP_COMMAND:-scan}"
  case "$command" in scan | history) ;; *) die "command must be scan or history, not '$command'" ;; esac
  local format="${NPMSWEEP_FORMAT:-github}"
  case "$format" in github | human) ;; *) die "format must be github or human, not '$format'" ;; esac
  local out="${RUNNER_TEMP:?}/npmsweep-reports"
  mkdir -p "$out"
  local sarif="$out/npmsweep-$command.sarif" json="$out/npmsweep-$command.json"
  local -a argv=("$command")
  # Paths and extra flags: one per line or separated by spaces (no shell
  # evaluation: a value cannot run commands).
  local -a words=()
  read -r -d '' -a words <<<"${NPMSWEEP_PATHS:-.}" || true
  if [ "$command" = history ] && [ "${#words[@]}" -gt 1 ]; then
    die "history sweeps one repository: give one path"
  fi
  argv+=("${words[@]}")
  words=()
  read -r -d '' -a words <<<"${NPMSWEEP_ARGS:-}" || true
  argv+=("${words[@]}")
  [ -n "${NPMSWEEP_FAIL_ON:-}" ] && argv+=(--fail-on "$NPMSWEEP_FAIL_ON")
  [ -n "${NPMSWEEP_SARIF_CATEGORY:-}" ] && argv+=(--sarif-category "$NPMSWEEP_SARIF_CATEGORY")
  argv+=(--format "$format" --sarif-output "$sarif" --json-output "$json")
  echo "npmsweep ${argv[*]}" >&2
  local status=0
  npmsweep "${argv[@]}" || status=$?
  {
    echo "exit-code=$status"
    if [ -f "$sarif" ]; then echo "sarif-file=$sarif"; fi
    if [ -f "$json" ]; then echo "json-file=$json"; fi
    if [ -f "$json" ] && command -v jq >/dev/null 2>&1; then
      echo "findings=$(jq '.summary.total' "$json")"
    fi
  } >>"${GITHUB_OUTPUT:?}"
  summary "$command" "$status" "$json" >>"${GITHUB_STEP_SUMMARY:?}"
}

# Markdown for the job summary: findings by severity, the rules that fired
# most, and what to do next. Only counts, rule ids and titles: never a
# secret or a preview of one.
summary() {
  local command="$1" status="$2" json="$3"
  echo "## npmsweep $command"
  echo
  if [ "$status" -ge 2 ] || [ ! -f "$json" ]; then
    echo "npmsweep could not complete (exit $status): see the step log for the error."
    return
  fi
  if ! command -v jq >/dev/null 2>&1; then
    echo "Exit $status ($([ "$status" = 0 ] && echo clean || echo findings)). Install \`jq\` on this runner for the breakdown."
    return
  fi
  local total
  total="$(jq '.summary.total' "$json")"
  if [ "$total" = 0 ]; then
    echo "No npm credentials found: $(jq -r '"\(.summary.items_scanned) \(if .command == "history" then "blobs" else "files" end) scanned"' "$json")."
  else
    echo "| severity | findings |"
    echo "|---|---:|"
    jq -r '.summary.findings as $f | ("critical", "high", "medium", "low")
           | select($f[.] > 0) | "| \(.) | \($f[.]) |"' "$json"
    echo
    echo "**Top rules**"
    echo
    jq -r '[.findings[] | select(.suppressed == null) | {rule_id, title}] | group_by(.rule_id)
           | map({rule_id: .[0].rule_id, title: .[0].title, n: length}) | sort_by(-.n, .rule_id) | .[:5][]
           | "- `\(.rule_id)` (\(.n)): \(.title)"' "$json"
    echo
    echo "**Next steps**"
    echo
    echo "1. Revoke every token found, first: once pushed, a secret stays in clones, forks and caches."
    echo "   npm tokens: npmjs.com → Access Tokens, or \`npm token revoke <id|token> --otp <code>\` as yourself (a token that bypasses 2FA cannot revoke)."
    echo "2. Replace literals with \`\${NPM_TOKEN}\` from CI secrets, or publish with OIDC trusted publishing and no token."
    echo "3. \`npmsweep explain RULE-ID\` prints each rule's remediation; accept known findings with \`npmsweep baseline\`."
    if [ "$command" = scan ]; then
      echo "4. A deleted token is still in history: run the action with \`command: history\`."
    fi
  fi
  local notes
  notes="$(jq -r '.notes[]' "$json")"
  if [ -n "$notes" ]; then
    echo
    echo "$notes" | sed 's/^/> /'
  fi
}

finish() {
  local status="${NPMSWEEP_EXIT_CODE:-}"
  case "$status" in
    0) exit 0 ;;
    1) echo "npmsweep: findings at or above the fail-on severity (see the annotations and the job summary)" >&2; exit 1 ;;
    *) echo "npmsweep: did not complete (exit ${status:-unknown})" >&2; exit 2 ;;
  esac
}

case "${1:-}" in
  install) install ;;
  run) run ;;
  finish) finish ;;
  *) echo "usage: action.sh install|run|finish" >&2; exit 2 ;;
esac
