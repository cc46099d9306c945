/**
 * The layout's boundary (DESIGN.md, "Layout"): scripts/check-boundaries.mjs passes on this tree and
 * fails, naming file, line and import, on a tree where member code reaches center code or
 * production code reaches the test scaffolding (@lrs/shared/testing).
 */
import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../", import.meta.url));
const SCRIPT = join(ROOT, "scripts/check-boundaries.mjs");
const temp = mkdtempSync(join(tmpdir(), "lrs-boundaries-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(temp, "t-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

async function check(root: string): Promise<{ code: number; violations: Array<Record<string, unknown>> }> {
  try {
    const { stdout } = await run(process.execPath, [SCRIPT, "--root", root, "--json"]);
    return { code: 0, ...JSON.parse(stdout) };
  } catch (err) {
    const e = err as { code: number; stdout: string };
    return { code: e.code, ...JSON.parse(e.stdout) };
  }
}

describe("check-boundaries", () => {
  it("passes on the repository", async () => {
    expect(await check(ROOT)).toEqual({ code: 0, violations: [] });
  });

  it("refuses member code importing the center entry point or a center file", async () => {
    const root = tree({
      "packages/member-node/src/a.ts":
        'import { x } from "@lrs/shared";\nimport { UnionCatalog } from "@lrs/shared/center";\n',
      "packages/member-node/src/b.ts":
        'export { y } from "../../shared/src/center/union/union-catalog.js";\n',
      "packages/shared/src/center/ok.ts": 'import { z } from "../marc/index.js";\n',
    });
    const r = await check(root);
    expect(r.code).toBe(1);
    expect(r.violations).toEqual([
      expect.objectContaining({
        file: "packages/member-node/src/a.ts",
        line: 2,
        import: "@lrs/shared/center",
      }),
      expect.objectContaining({ file: "packages/member-node/src/b.ts", line: 1 }),
    ]);
  });

  it("refuses shared code every tier runs importing packages/shared/src/center", async () => {
    const root = tree({
      "packages/shared/src/node/base.ts":
        'import { syncPositions } from "../center/catalog-sync/receiver.js";\n',
    });
    const r = await check(root);
    expect(r.code).toBe(1);
    expect(r.violations).toEqual([
      expect.objectContaining({
        file: "packages/shared/src/node/base.ts",
        line: 1,
        rule: expect.stringContaining("every tier"),
      }),
    ]);
  });

  it("refuses production code importing the test scaffolding; tests may", async () => {
    const root = tree({
      "packages/member-node/src/ill/engine.ts": 'import { memoryDatabase } from "@lrs/shared/testing";\n',
      "packages/shared/src/node/base.ts": '\nimport { fixedDirectory } from "../testing/index.js";\n',
      "packages/member-node/src/ill/engine.test.ts":
        'import { memoryDatabase } from "@lrs/shared/testing";\n',
      "packages/shared/src/testing/index.ts": 'import { Database } from "../db.js";\n',
    });
    const r = await check(root);
    expect(r.code).toBe(1);
    expect(r.violations).toEqual([
      expect.objectContaining({
        file: "packages/member-node/src/ill/engine.ts",
        line: 1,
        import: "@lrs/shared/testing",
        rule: expect.stringContaining("test scaffolding"),
      }),
      expect.objectContaining({ file: "packages/shared/src/node/base.ts", line: 2 }),
    ]);
  });
});
