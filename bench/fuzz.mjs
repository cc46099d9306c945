#!/usr/bin/env node
// Fuzzes every parser (packages/dev-env/src/fuzz-targets.ts) with many inputs and reports, per
// target, inputs tried, time and findings (each shrunk to a small input, with its seed).
// Usage: node bench/fuzz.mjs [--runs N] [--target NAME] [--seed S] [--json]
// Needs `npx tsc -b`. Keep what it finds in test/fuzz/regressions.json once fixed.
import { parseArgs } from "node:util";
import { checkOne, fuzzTargets } from "@lrs/dev-env/fuzz";
import fc from "fast-check";

const { values } = parseArgs({
  options: {
    runs: { type: "string", default: "20000" },
    target: { type: "string" },
    seed: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", default: false },
  },
});
if (values.help) {
  process.stdout.write("node bench/fuzz.mjs [--runs N] [--target NAME] [--seed S] [--json]\n");
  process.exit(0);
}
const runs = Number(values.runs);
const seed = values.seed === undefined ? Date.now() ^ (Math.random() * 2 ** 31) : Number(values.seed);
const rows = [];
for (const target of await fuzzTargets()) {
  if (values.target && target.name !== values.target) continue;
  const started = performance.now();
  let tried = 0;
  const found = [];
  const result = await fc.check(
    fc.asyncProperty(target.input, async (input) => {
      tried++;
      const problem = await checkOne(target, input);
      if (problem) throw new Error(problem);
    }),
    { numRuns: target.name === "certificate request" ? Math.ceil(runs / 20) : runs, seed },
  );
  if (result.failed) {
    const ex = result.counterexample?.[0];
    const shown =
      ex instanceof Uint8Array ? `base64:${Buffer.from(ex).toString("base64")}` : JSON.stringify(ex);
    found.push({
      problem: result.errorInstance?.message ?? String(result.error),
      input: shown?.slice(0, 2000),
    });
  }
  const seconds = (performance.now() - started) / 1000;
  rows.push({
    target: target.name,
    tried,
    seconds: Number(seconds.toFixed(1)),
    perSecond: Math.round(tried / seconds),
    findings: found,
  });
  if (!values.json)
    process.stdout.write(
      `${target.name.padEnd(20)} ${String(tried).padStart(8)} inputs ${seconds.toFixed(1).padStart(7)} s  ${found.length ? `FOUND: ${found[0].problem}\n    input ${found[0].input.slice(0, 300)}` : "no findings"}\n`,
    );
}
if (values.json) process.stdout.write(`${JSON.stringify({ seed, runs, rows }, null, 2)}\n`);
else process.stdout.write(`seed ${seed} (replay with --seed ${seed})\n`);
process.exit(rows.some((r) => r.findings.length) ? 1 : 0);
