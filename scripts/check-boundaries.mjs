#!/usr/bin/env node
// Who may import what (DESIGN.md, "Layout"): member-node never reaches center code, and the part of
// @lrs/shared every tier runs never reaches packages/shared/src/center. Run by `npm test`.
// Usage: node scripts/check-boundaries.mjs [--root DIR] [--json]
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(
    "usage: check-boundaries [--root DIR] [--json]\nFails (exit 1) when member code imports center code, or production code the test scaffolding.",
  );
  process.exit(0);
}
const rootArg = args.indexOf("--root");
const root =
  rootArg >= 0 ? resolve(args[rootArg + 1]) : resolve(dirname(fileURLToPath(import.meta.url)), "..");

const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g;

function* sources(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (e.name === "node_modules" || e.name === "dist" || e.name === "gen") continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (/\.(ts|tsx|mts|js|mjs)$/.test(e.name)) yield p;
  }
}

const center = join(root, "packages", "shared", "src", "center");
const testing = join(root, "packages", "shared", "src", "testing");
/** Test files and test helpers: the only code that may import the testing entry point. */
const isTestCode = (file) =>
  /\.test\.tsx?$/.test(file) || file.startsWith(testing + sep) || file.includes(`${sep}test${sep}`);
const rules = [
  {
    // A member node runs none of the centers' code.
    dir: join(root, "packages", "member-node"),
    refuse: (spec, file) =>
      spec === "@lrs/shared/center" ||
      spec.startsWith("@lrs/shared/center/") ||
      spec.startsWith("@lrs/regional-center") ||
      spec.startsWith("@lrs/national-center") ||
      (spec.startsWith(".") && resolve(dirname(file), spec).startsWith(center + sep)),
    why: "member-node imports center code",
  },
  {
    // What every tier runs stays below the center entry point.
    dir: join(root, "packages", "shared", "src"),
    skip: (file) => file.startsWith(center + sep),
    refuse: (spec, file) => spec.startsWith(".") && resolve(dirname(file), spec).startsWith(center + sep),
    why: "code every tier runs imports packages/shared/src/center",
  },
  {
    // Test scaffolding (standard directory, in-memory database…) never reaches a running node.
    dir: join(root, "packages"),
    skip: isTestCode,
    refuse: (spec, file) =>
      spec === "@lrs/shared/testing" ||
      spec.startsWith("@lrs/shared/testing/") ||
      (spec.startsWith(".") && resolve(dirname(file), spec).startsWith(testing + sep)),
    why: "production code imports the test scaffolding (@lrs/shared/testing)",
  },
];

const violations = [];
for (const rule of rules) {
  for (const file of sources(rule.dir)) {
    if (rule.skip?.(file)) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(SPECIFIER)) {
      const spec = m[1];
      if (rule.refuse(spec, file)) {
        const line = text.slice(0, m.index).split("\n").length;
        violations.push({ file: relative(root, file), line, import: spec, rule: rule.why });
      }
    }
  }
}

if (args.includes("--json")) console.log(JSON.stringify({ violations }, null, 2));
else if (violations.length === 0)
  console.log(
    "boundaries: member code does not reach center code; production code does not reach the test scaffolding",
  );
else for (const v of violations) console.error(`${v.file}:${v.line}: ${v.rule}: "${v.import}"`);
process.exit(violations.length === 0 ? 0 : 1);
