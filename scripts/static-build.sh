#!/usr/bin/env bash
# Builds a statically linked Linux npmsweep with the toolchain at hand and
# proves it: the release workflow builds the musl targets, whose standard
# library is not installed here, so this uses the GNU target with
# `-C target-feature=+crt-static` (glibc linked in statically), then checks
# with `file` and `ldd` that nothing is loaded at run time, and runs it.
# Prints the binary's path on standard output.
set -euo pipefail
cd "$(dirname "$0")/.."
target=x86_64-unknown-linux-gnu
if [ "$(uname -s)-$(uname -m)" != Linux-x86_64 ]; then
  echo "static-build: SKIPPED: needs Linux on x86_64 (this is $(uname -s)-$(uname -m))" >&2
  exit 0
fi
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --locked --target "$target" >&2
bin="target/$target/release/npmsweep"
kind="$(file -b "$bin")"
echo "static-build: file: $kind" >&2
case "$kind" in
  *"statically linked"* | *"static-pie linked"*) ;;
  *) echo "static-build: $bin is not statically linked" >&2; exit 1 ;;
esac
if linked="$(ldd "$bin" 2>&1)"; then
  case "$linked" in
    *"statically linked"*) ;;
    *) echo "static-build: ldd lists shared libraries: $linked" >&2; exit 1 ;;
  esac
fi
echo "static-build: ldd: ${linked:-not a dynamic executable}" >&2
"$bin" --version >&2
echo "$bin"
