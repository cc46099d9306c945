import { join } from "node:path";
import { REPO_ROOT } from "@lrs/dev-env";
import { checkOne, type FuzzTarget, fuzzTargets, regressionInputs } from "@lrs/dev-env/fuzz";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";

/**
 * Property-based fuzzing of every parser a stranger's input reaches (packages/dev-env/src/
 * fuzz-targets.ts): random inputs and real files with bytes changed, cut or repeated. Each
 * input ends in a result or one of the parser's documented errors with a message, within the
 * time limit. bench/fuzz.mjs runs many more; what it finds is kept in fuzz/regressions.json.
 * LRS_FUZZ_RUNS sets inputs per parser (default 300).
 */

const RUNS = Number(process.env.LRS_FUZZ_RUNS ?? 300);
const REGRESSIONS = regressionInputs(join(REPO_ROOT, "test/fuzz/regressions.json"));
let targets: FuzzTarget[];

beforeAll(async () => {
  targets = await fuzzTargets();
});

const NAMES = [
  "ISO 2709",
  "MARC-8",
  "MARCXML",
  "CQL",
  "SRU parameters",
  "SRU SOAP body",
  "TOML config",
  "items CSV",
  "holdings map",
  "enrollment token",
  "ISO 18626 XML",
  "OAI-PMH request",
  "OAI-PMH response",
  "certificate request",
];

describe("parsers under random and damaged input", () => {
  it("covers every target", () => {
    expect(targets.map((t) => t.name)).toEqual(NAMES);
  });

  for (const name of NAMES) {
    it(`${name}: a result or a documented error with a message, in time`, async () => {
      const target = targets.find((t) => t.name === name)!;
      for (const r of REGRESSIONS[name] ?? []) {
        const input = r.encoding === "base64" ? new Uint8Array(Buffer.from(r.input, "base64")) : r.input;
        expect(await checkOne(target, input), `regression input ${r.input.slice(0, 80)}`).toBeUndefined();
      }
      await fc.assert(
        fc.asyncProperty(target.input, async (input) => {
          const problem = await checkOne(target, input);
          if (problem) throw new Error(problem);
        }),
        { numRuns: name === "certificate request" ? Math.ceil(RUNS / 5) : RUNS },
      );
    }, 300_000);
  }
});
