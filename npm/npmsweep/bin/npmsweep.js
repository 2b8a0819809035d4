#!/usr/bin/env node
// Runs the npmsweep binary from the platform package npm installed next to
// this one (an optional dependency chosen by its `os` and `cpu` fields, as
// esbuild and Biome do). No install script: nothing runs at install time.
"use strict";

const { spawnSync } = require("node:child_process");
const path = require("node:path");

const platformPackage = `@npmsweep/${process.platform}-${process.arch}`;
const executable = process.platform === "win32" ? "npmsweep.exe" : "npmsweep";

function binaryPath() {
  if (process.env.NPMSWEEP_BINARY) {
    return process.env.NPMSWEEP_BINARY;
  }
  try {
    const manifest = require.resolve(`${platformPackage}/package.json`);
    return path.join(path.dirname(manifest), "bin", executable);
  } catch {
    process.stderr.write(
      `npmsweep: the package ${platformPackage} is not installed, so there is no npmsweep binary for ` +
        `${process.platform}-${process.arch}.\n` +
        "  If you installed with --omit=optional or --no-optional, install again without it.\n" +
        "  Otherwise this platform has no prebuilt binary: install from source with\n" +
        "  `cargo install --locked --git https://github.com/npmsweep/npmsweep npmsweep`.\n"
    );
    process.exit(2);
  }
}

const result = spawnSync(binaryPath(), process.argv.slice(2), { stdio: "inherit" });
if (result.error) {
  process.stderr.write(`npmsweep: cannot run ${binaryPath()}: ${result.error.message}\n`);
  process.exit(2);
}
if (result.signal) {
  process.kill(process.pid, result.signal);
}
process.exit(result.status ?? 2);
