import { beforeAll, describe, expect, it } from "vitest";
import type { HoldingData } from "../../catalog-sync/change-feed.js";
import { Database } from "../../db.js";
import { toIso2709 } from "../../marc/iso2709.js";
import type { MarcRecord } from "../../marc/record.js";
import { sharedMigrations } from "../../migrations.js";
import { overlap, sharedHoldings, unheldDemand, uniqueHoldings } from "./collection-report.js";
import { DemandLog } from "./demand.js";
import { unionCatalogMigrations } from "./migrations.js";
import { UnionCatalog } from "./union-catalog.js";

const book = (id: string, isbn: string, title: string): MarcRecord => ({
  leader: "00000nam a2200000 a 4500",
  fields: [
    { tag: "001", value: id },
    { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: isbn }] },
    { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: title }] },
  ],
});
const copy = (barcode: string, retainedUntil?: number): HoldingData => ({
  barcode,
  callNumber: "",
  location: "stacks",
  status: "available",
  loanRule: "standard",
  ...(retainedUntil ? { retainedUntil } : {}),
});
const order: HoldingData = {
  barcode: "order:o1",
  callNumber: "",
  location: "",
  status: "on_order",
  loanRule: "",
};

const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
const union = new UnionCatalog(db, { nodeId: "north" });
const id = (n: number) => `north:c${n}`;
const put = (inst: string, rec: MarcRecord, holdings: HoldingData[]) =>
  union.apply(inst, {
    kind: "upsert",
    institutionId: inst,
    recordId: (rec.fields[0] as { value: string }).value,
    marc: toIso2709(rec),
    holdings,
    changedAt: new Date(),
  });

beforeAll(() => {
  // A: held by a only (b has it on order); B: a and b; C: a, b and c (c retains it); D: c only.
  put("a", book("A", "9780262033848", "Only at a"), [copy("a1")]);
  put("b", book("A", "9780262033848", "Only at a"), [order]);
  for (const inst of ["a", "b"]) put(inst, book("B", "9780131103627", "At a and b"), [copy(`${inst}2`)]);
  for (const inst of ["a", "b", "c"])
    put(inst, book("C", "9780201633610", "At three"), [copy(`${inst}3`, inst === "c" ? 2035 : undefined)]);
  put("c", book("D", "9780596007126", "Only at c"), [copy("c4"), copy("c5")]);
});

const title = (rows: Array<Array<string | number>>) => rows.map((r) => r[1]);

describe("collection reports", () => {
  it("lists last copies: titles with one holding library (an order is not a holding)", () => {
    const rows = [...uniqueHoldings(db, id)];
    expect(title(rows).sort()).toEqual(["Only at a", "Only at c"]);
    expect(rows.find((r) => r[1] === "Only at c")!.slice(5)).toEqual(["c", 2, ""]);
    expect(title([...uniqueHoldings(db, id, "c")])).toEqual(["Only at c"]);
  });

  it("lists titles held by many, with who retains them", () => {
    const rows = [...sharedHoldings(db, id, 3)];
    expect(rows).toHaveLength(1);
    expect(rows[0]!.slice(1, 2)).toEqual(["At three"]);
    expect(rows[0]!.slice(5)).toEqual([3, 3, "c:2035", "a b c"]);
  });

  it("tells the overlap of two libraries", () => {
    const rows: Array<Array<string | number>> = [];
    const s = overlap(db, id, "a", "c", (r) => rows.push(r));
    expect(s).toEqual({ both: 1, onlyA: 2, onlyB: 1 });
    expect(rows.map((r) => [r[1], r[5]]).sort()).toEqual([
      ["At a and b", "a"],
      ["At three", "both"],
      ["Only at a", "a"],
      ["Only at c", "c"],
    ]);
  });

  it("reports demand for titles nobody holds, not for those since held", () => {
    const demand = new DemandLog(db);
    const at = new Date();
    const ask = (requester: string, requestId: string, isbns: string[], t: string, held = false) =>
      demand.record({ requester, requestId, title: { isbns, issns: [], title: t }, held, at });
    ask("a", "r1", ["9781234567897"], "Wanted book");
    ask("b", "r2", ["9781234567897"], "Wanted book");
    ask("b", "r2", ["9781234567897"], "Wanted book"); // the same request again: counted once
    ask("a", "r3", [], "A pamphlet nobody has");
    ask("a", "r4", ["9780262033848"], "Only at a"); // asked when nobody had it; a holds it now
    const rows = [...unheldDemand(db, new Date(at.getTime() - 1000))];
    expect(rows.map((r) => [r[0], r[2], r[3]])).toEqual([
      ["Wanted book", 2, 2],
      ["A pamphlet nobody has", 1, 1],
    ]);
    expect(demand.count({ isbns: ["978-1-234-56789-7"], issns: [], title: "" }, new Date(0), "a")).toEqual({
      requests: 2,
      own: 1,
    });
  });
});
