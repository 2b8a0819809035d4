#!/usr/bin/env bash
# Lays out the npm packages for one release: the launcher package `npmsweep`
# and one `@npmsweep/<os>-<cpu>` package per binary given, each with `os`
# and `cpu` fields so npm installs only the one that fits.
#
#   npm/build-packages.sh VERSION OUT_DIR PLATFORM=BINARY...
#   e.g. npm/build-packages.sh 0.1.0 dist/npm linux-x64=target/.../npmsweep
#
# PLATFORM is Node's `${process.platform}-${process.arch}`: linux-x64,
# linux-arm64, darwin-x64, darwin-arm64, win32-x64. Then `npm pack` or
# `npm publish` each directory under OUT_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
version="${1:?usage: build-packages.sh VERSION OUT_DIR PLATFORM=BINARY...}"
out="${2:?usage: build-packages.sh VERSION OUT_DIR PLATFORM=BINARY...}"
shift 2
[ "$#" -gt 0 ] || { echo "build-packages.sh: give at least one PLATFORM=BINARY" >&2; exit 2; }

mkdir -p "$out"
rm -rf "$out/npmsweep"
cp -R "$here/npmsweep" "$out/npmsweep"
cp "$here/../LICENSE-MIT" "$here/../LICENSE-APACHE" "$out/npmsweep/"
# One version everywhere: the launcher and the platform packages it names.
node -e '
  const fs = require("fs");
  const [file, version] = process.argv.slice(1);
  const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  pkg.version = version;
  for (const dep of Object.keys(pkg.optionalDependencies)) pkg.optionalDependencies[dep] = version;
  pkg.files.push("LICENSE-MIT", "LICENSE-APACHE");
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$out/npmsweep/package.json" "$version"

for spec in "$@"; do
  platform="${spec%%=*}"
  binary="${spec#*=}"
  os="${platform%%-*}"
  cpu="${platform#*-}"
  case "$platform" in
    linux-x64 | linux-arm64 | darwin-x64 | darwin-arm64 | win32-x64) ;;
    *) echo "build-packages.sh: unknown platform $platform" >&2; exit 2 ;;
  esac
  [ -f "$binary" ] || { echo "build-packages.sh: $binary: no such file" >&2; exit 2; }
  exe=npmsweep
  [ "$os" = win32 ] && exe=npmsweep.exe
  dir="$out/npmsweep-$platform"
  rm -rf "$dir"
  mkdir -p "$dir/bin"
  cp "$binary" "$dir/bin/$exe"
  chmod 0755 "$dir/bin/$exe"
  cp "$here/../LICENSE-MIT" "$here/../LICENSE-APACHE" "$dir/"
  node -e '
    const fs = require("fs");
    const [file, version, platform, os, cpu, exe] = process.argv.slice(1);
    const pkg = {
      name: `@npmsweep/${platform}`,
      version,
      description: `The npmsweep binary for ${os} ${cpu} (installed by the npmsweep package).`,
      license: "MIT OR Apache-2.0",
      repository: { type: "git", url: "git+https://github.com/npmsweep/npmsweep.git" },
      os: [os],
      cpu: [cpu],
      files: [`bin/${exe}`, "LICENSE-MIT", "LICENSE-APACHE"],
      preferUnplugged: true,
      publishConfig: { access: "public" },
    };
    fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
  ' "$dir/package.json" "$version" "$platform" "$os" "$cpu" "$exe"
  echo "$dir"
done
echo "$out/npmsweep"
