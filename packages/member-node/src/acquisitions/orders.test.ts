import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Database, tallyOf, toIso2709 } from "@lrs/shared";
import { memoryDatabase, shelfItem } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kohaMap } from "../catalog/holdings-map.js";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { importOrdersCsv, importOrdersMarc } from "./order-import.js";
import { AcquisitionsError, OrderBook } from "./orders.js";

let db: Database;
let catalog: MemberCatalog;
let book: OrderBook;

const ISBN = "9780262033848";

function record(id: string, isbn: string, title: string) {
  return {
    leader: "00000nam a2200000 a 4500",
    fields: [
      { tag: "001", value: id },
      { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: isbn }] },
      { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: title }] },
    ],
  };
}

beforeEach(() => {
  db = memoryDatabase(memberMigrations);
  catalog = new MemberCatalog(db, "m1");
  book = new OrderBook(db, catalog, () => new Date("2026-12-01T10:00:00Z"));
});
afterEach(() => db.close());

/** The change log's newest entry, as catalog sync would send it. */
function lastChange() {
  const head = catalog.headSeq();
  return catalog.changesAfter(head - 1n, 1)[0]!.change;
}

describe("OrderBook", () => {
  it("puts an order of a title the catalog has on that record, as an on-order holding sent upward", () => {
    catalog.upsert(record("r1", ISBN, "Introduction to algorithms"), [shelfItem("B1")]);
    const { order } = book.add({
      isbn: "0-262-03384-4",
      copies: 2,
      expectedDate: "2027-02-01",
      fund: "SCI",
      source: "cli",
    });
    expect(order).toMatchObject({
      isbn: ISBN,
      recordId: "r1",
      brief: false,
      state: "open",
      copies: 2,
      fund: "SCI",
    });
    const change = lastChange();
    expect(change.kind).toBe("upsert");
    if (change.kind !== "upsert") return;
    expect(change.recordId).toBe("r1");
    expect(change.holdings.map((h) => [h.barcode, h.status, h.copies, h.expectedDate])).toEqual([
      ["B1", "available", undefined, undefined],
      [`order:${order.id}`, "on_order", 2, "2027-02-01"],
    ]);
  });

  it("makes a brief record for a title the catalog lacks, and removes it when the order is cancelled", () => {
    const { order } = book.add({ title: "A title nobody has", author: "Doe, Jane", source: "cli" });
    expect(order.brief).toBe(true);
    const rec = catalog.get(order.recordId)!;
    expect(rec.title).toBe("A title nobody has");
    expect(rec.holdings[0]!.status).toBe("on_order");
    book.cancel(order.id);
    expect(catalog.get(order.recordId)).toBeUndefined();
    expect(lastChange().kind).toBe("delete");
    expect(book.get(order.id)!.state).toBe("cancelled");
    expect(() => book.cancel(order.id)).toThrow(/already cancelled/);
  });

  it("turns an order into copies when it is received", () => {
    const { order } = book.add({ isbn: ISBN, copies: 2, source: "cli" });
    book.receive(order.id, { barcodes: ["N1", "N2"], location: "stacks" });
    expect(catalog.get(order.recordId)!.holdings.map((h) => [h.barcode, h.status])).toEqual([
      ["N1", "available"],
      ["N2", "available"],
    ]);
    expect(book.list("open")).toEqual([]);
  });

  it("keeps the orders and retention commitments of a record through a re-import of it", () => {
    catalog.upsert(record("r1", ISBN, "Introduction to algorithms"), [shelfItem("B1")]);
    const { order } = book.add({ isbn: ISBN, source: "cli" });
    catalog.setHoldings("r1", [{ ...shelfItem("B1"), retainedUntil: 2035 }], { exact: true });
    catalog.setHoldings("r1", [{ ...catalog.get("r1")!.holdings[0]! }, orderLike(order.id)], { exact: true });
    const before = catalog.headSeq();
    const again = catalog.upsert(record("r1", ISBN, "Introduction to algorithms"), [shelfItem("B1")]);
    expect(again.outcome).toBe("unchanged");
    expect(catalog.headSeq()).toBe(before);
    expect(catalog.get("r1")!.holdings.map((h) => [h.barcode, h.retainedUntil ?? null])).toEqual([
      ["B1", 2035],
      [`order:${order.id}`, null],
    ]);
  });

  it("names the bad field of an order", () => {
    expect(() => book.add({ isbn: "123", source: "cli" })).toThrow(AcquisitionsError);
    expect(() => book.add({ isbn: "123", source: "cli" })).toThrow(/^isbn: "123" is not a valid ISBN/);
    expect(() => book.add({ source: "cli" })).toThrow(/needs an ISBN, an ISSN or a title/);
    expect(() => book.add({ title: "x", copies: 0, source: "cli" })).toThrow(/^copies:/);
    expect(() => book.add({ title: "x", expectedDate: "2027-02-30", source: "cli" })).toThrow(
      /^expected_date:/,
    );
  });
});

function orderLike(id: string) {
  return { barcode: `order:${id}`, callNumber: "", location: "on order", status: "on_order", loanRule: "" };
}

describe("order files", () => {
  it("places the good rows of a CSV, names the bad ones by line and field, and does not place a vendor order twice", async () => {
    const csv = [
      "isbn,title,copies,expected_date,fund,vendor_ref",
      `${ISBN},Introduction to algorithms,2,2027-01-15,SCI,PO-1`,
      "12345,Bad isbn,1,,,PO-2",
      ",No isbn but a title,x,,,PO-3",
      ",Another title,1,2027-13-01,,PO-4",
      `${ISBN},Introduction to algorithms,2,2027-01-15,SCI,PO-1`,
    ].join("\n");
    const s = await importOrdersCsv(
      book,
      (async function* () {
        yield csv;
      })(),
    );
    expect(s.read).toBe(5);
    expect(s.placed).toHaveLength(1);
    expect(s.duplicates).toEqual(s.placed);
    expect(s.rejected.map((r) => [r.line, r.field])).toEqual([
      [3, "isbn"],
      [4, "copies"],
      [5, "expected_date"],
    ]);
  });

  it("reads MARC order records with the order data in 980, naming the record and field of a bad one", async () => {
    const good = record("v1", ISBN, "Introduction to algorithms /");
    good.fields.push({
      tag: "980",
      ind1: " ",
      ind2: " ",
      subfields: [
        { code: "q", value: "3" },
        { code: "d", value: "20270115" },
        { code: "f", value: "SCI" },
        { code: "o", value: "PO-9" },
      ],
    });
    const bad = record("v2", "9780000000000", "Bad");
    const path = join(tmpdir(), `orders-${process.pid}.mrc`);
    writeFileSync(path, Buffer.concat([toIso2709(good), toIso2709(bad)]));
    const s = await importOrdersMarc(book, path);
    expect(s.placed).toHaveLength(1);
    expect(book.get(s.placed[0]!)).toMatchObject({
      copies: 3,
      expectedDate: "2027-01-15",
      fund: "SCI",
      vendorRef: "PO-9",
      title: "Introduction to algorithms",
      source: "marc",
    });
    expect(s.rejected).toEqual([
      { record: 2, field: "020 $a", reason: expect.stringMatching(/not a valid ISBN/) },
    ]);
  });
});

describe("orders harvested from the ILS", () => {
  it("publishes a Koha item ordered (952 $7 -1) as one copy on order, not a copy", async () => {
    const rec = record("k1", ISBN, "Introduction to algorithms");
    rec.fields.push({
      tag: "952",
      ind1: " ",
      ind2: " ",
      subfields: [
        { code: "p", value: "K-ORDERED-1" },
        { code: "7", value: "-1" },
      ],
    });
    const { items, record: bib } = kohaMap.extract(rec);
    catalog.upsert(bib, items);
    const change = lastChange();
    if (change.kind !== "upsert") throw new Error("expected an upsert");
    expect(tallyOf(change.holdings)).toMatchObject({ items: 0, onOrder: 1 });
  });
});

describe("orders in the member's own search (LOCAL scope)", () => {
  it("shows an order as copies on order, not as items", async () => {
    const { searchMember } = await import("../store/catalog-search.js");
    catalog.upsert(record("r1", ISBN, "Introduction to algorithms"), [shelfItem("B1")]);
    book.add({ isbn: ISBN, copies: 3, expectedDate: "2027-05-01", source: "cli" });
    const hit = searchMember({ db, institutionId: "m1" }, `bath.isbn=${ISBN}`, { limit: 5 }).hits[0]!;
    expect(hit.holdings[0]).toMatchObject({
      institutionId: "m1",
      items: 1,
      onOrder: 3,
      expectedDate: "2027-05-01",
    });
  });
});
