import { memoryDatabase } from "@lrs/shared/testing";
import { describe, expect, it } from "vitest";
import { CatalogLoads, failedLoad, KEPT_REJECTIONS } from "./catalog-loads.js";
import { memberMigrations } from "./migrations.js";

const AT = new Date("2026-12-01T08:00:00Z");

const load = (n: number, rejections: string[] = []) => ({
  kind: "import" as const,
  source: `file-${n}.mrc`,
  startedAt: AT,
  finishedAt: new Date(AT.getTime() + n * 1000),
  added: n,
  updated: 1,
  unchanged: 2,
  deleted: 0,
  rejected: rejections.length,
  outcome: "ok",
  rejections,
});

describe("the catalog's loads", () => {
  it("keeps each import and harvest, newest first, with its first rejections", () => {
    const loads = new CatalogLoads(memoryDatabase(memberMigrations));
    const many = Array.from({ length: 30 }, (_, i) => `file-1.mrc record ${i + 1}: no 245`);
    loads.record(load(1, many));
    loads.record(failedLoad("harvest", "http://ils.example/oai|marc21|", AT, new Error("unreachable")));
    const [harvest, imported] = loads.recent();
    expect(harvest).toMatchObject({
      kind: "harvest",
      outcome: "failed: unreachable",
      added: 0,
      rejections: [],
    });
    expect(imported).toMatchObject({ kind: "import", source: "file-1.mrc", added: 1, rejected: 30 });
    expect(imported!.rejections).toEqual(many.slice(0, KEPT_REJECTIONS));
    expect(imported!.finishedAt).toEqual(new Date(AT.getTime() + 1000));
  });

  it("keeps the latest 200 only", () => {
    const loads = new CatalogLoads(memoryDatabase(memberMigrations));
    for (let n = 1; n <= 205; n++) loads.record(load(n));
    const all = loads.recent(1000);
    expect(all).toHaveLength(200);
    expect(all[0]!.added).toBe(205);
    expect(all.at(-1)!.added).toBe(6);
  });
});
