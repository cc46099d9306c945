#!/usr/bin/env node
// Writes the authorization matrix (every RPC × every kind of caller, from each node's policy)
// into DESIGN.md between its markers. `--check` fails instead when DESIGN.md is stale.
// Needs the packages built (`tsc -b`): it runs the compiled policies and decision.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dist = (pkg, file) => join(root, "packages", pkg, "dist", file);
const shared = await import(dist("shared", "index.js"));
const { memberPolicy } = await import(dist("member-node", "policy.js"));
const { regionalPolicy } = await import(dist("regional-center", "policy.js"));
const { nationalPolicy } = await import(dist("national-center", "policy.js"));

const rows = [
  ...shared.authzMatrix("member", memberPolicy),
  ...shared.authzMatrix("regional", regionalPolicy),
  ...shared.authzMatrix("national", nationalPolicy),
];
const table = shared.matrixMarkdown(rows);
const path = join(root, "DESIGN.md");
const doc = readFileSync(path, "utf8");
const current = shared.matrixSection(doc);
if (current === undefined) {
  process.stderr.write(`DESIGN.md has no authorization table markers (${shared.MATRIX_BEGIN})\n`);
  process.exit(1);
}
if (process.argv.includes("--check")) {
  if (current !== table) {
    process.stderr.write("DESIGN.md's authorization table is stale: run `npm run gen:authz` and commit\n");
    process.exit(1);
  }
  process.stdout.write(`authorization table in DESIGN.md matches the policies (${rows.length} RPC rows)\n`);
} else {
  const a = doc.indexOf(shared.MATRIX_BEGIN) + shared.MATRIX_BEGIN.length;
  const b = doc.indexOf(shared.MATRIX_END);
  writeFileSync(path, `${doc.slice(0, a)}\n${table}\n${doc.slice(b)}`);
  process.stdout.write(`wrote the authorization table to DESIGN.md (${rows.length} RPC rows)\n`);
}
