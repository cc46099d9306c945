// Orders and retention commitments in the union catalog: what a search shows and what SRU/OAI export.
import { describe, expect, it } from "vitest";
import type { HoldingData } from "../../catalog-sync/change-feed.js";
import { Database } from "../../db.js";
import { readMarcBlob } from "../../marc/blob.js";
import { getDataFields } from "../../marc/fields.js";
import { toIso2709 } from "../../marc/iso2709.js";
import type { DataField, MarcRecord } from "../../marc/record.js";
import { sharedMigrations } from "../../migrations.js";
import { searchUnion } from "../search/union-engine.js";
import { exportRecord } from "./export-record.js";
import { unionCatalogMigrations } from "./migrations.js";
import { UnionCatalog } from "./union-catalog.js";

const ISBN = "9780262033848";
const book = (id: string): MarcRecord => ({
  leader: "00000nam a2200000 a 4500",
  fields: [
    { tag: "001", value: id },
    { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: ISBN }] },
    { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: "Introduction to algorithms" }] },
  ],
});
const copy = (barcode: string, extra: Partial<HoldingData> = {}): HoldingData => ({
  barcode,
  callNumber: "QA76",
  location: "stacks",
  status: "available",
  loanRule: "standard",
  ...extra,
});
const order = (id: string, copies: number, expectedDate: string): HoldingData => ({
  barcode: `order:${id}`,
  callNumber: "",
  location: "on order",
  status: "on_order",
  loanRule: "",
  copies,
  expectedDate,
});

const sub = (f: DataField, code: string) => f.subfields.filter((s) => s.code === code).map((s) => s.value);

describe("union catalog: orders and retention", () => {
  const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
  const union = new UnionCatalog(db, { nodeId: "north" });
  const put = (institutionId: string, holdings: HoldingData[]) =>
    union.apply(institutionId, {
      kind: "upsert",
      institutionId,
      recordId: "r1",
      marc: toIso2709(book("r1")),
      holdings,
      changedAt: new Date(),
    });
  put("lib-a", [copy("A1", { retainedUntil: 2035 })]);
  put("lib-b", [order("ord-1", 2, "2027-03-01")]);
  put("lib-c", [copy("C1"), order("ord-2", 1, "2027-01-10")]);

  it("shows orders as copies on order, never as items, and the retention year, in search results", () => {
    const hit = searchUnion({ db, nodeId: "north" }, `bath.isbn=${ISBN}`, {
      limit: 5,
      regionOf: () => "north",
    }).hits[0]!;
    const by = Object.fromEntries(hit.holdings.map((h) => [h.institutionId, h]));
    expect(by["lib-a"]).toMatchObject({ items: 1, onOrder: 0, retainedUntil: 2035 });
    expect(by["lib-b"]).toMatchObject({ items: 0, onOrder: 2, expectedDate: "2027-03-01", locations: [] });
    expect(by["lib-c"]).toMatchObject({ items: 1, onOrder: 1, expectedDate: "2027-01-10" });
  });

  it("exports orders as an 852 $z note and retention as a 583 committed-to-retain action", () => {
    const c = union.getCluster(union.clusterOf("lib-a", "r1")!)!;
    const rec = exportRecord(readMarcBlob(c.preferred.marc)!, c.id, c.holdings);
    const f852 = getDataFields(rec, "852");
    const b = f852.find((f) => sub(f, "a")[0] === "lib-b")!;
    expect(sub(b, "z")).toEqual(["On order: 2 copies, expected 2027-03-01"]);
    expect(sub(b, "t")).toEqual([]);
    const f583 = getDataFields(rec, "583");
    expect(f583).toHaveLength(1);
    expect(f583[0]!.ind1).toBe("1");
    expect(sub(f583[0]!, "a")).toEqual(["committed to retain"]);
    expect(sub(f583[0]!, "d")).toEqual(["20351231"]);
    expect(sub(f583[0]!, "5")).toEqual(["lib-a"]);
  });
});
