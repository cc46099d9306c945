import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  Database,
  type MarcRecord,
  parseIso2709,
  readMarcFile,
  sharedMigrations,
  toIso2709,
} from "@lrs/shared";
import { memoryDatabase, shelfItem } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CatalogRecordError, recordIdOf } from "../catalog/fields.js";
import { catalogDigest, ftsIndexQuery, MemberCatalog } from "./catalog.js";
import { memberMigrations } from "./migrations.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const FIXTURES = `${ROOT}packages/shared/src/marc/fixtures/`;
const DATA = `${ROOT}data/marc/`;

async function records(path: string): Promise<MarcRecord[]> {
  const out: MarcRecord[] = [];
  for await (const r of readMarcFile(path)) if (r.ok) out.push(r.record);
  return out;
}

const item = shelfItem;

/** The record with one more data field. */
function withField(rec: MarcRecord, tag: string, subfields: Array<[string, string]>): MarcRecord {
  return {
    ...rec,
    fields: [
      ...rec.fields,
      { tag, ind1: " ", ind2: " ", subfields: subfields.map(([code, value]) => ({ code, value })) },
    ],
  };
}

let db: Database;
let catalog: MemberCatalog;
let clock: number;

beforeEach(() => {
  db = memoryDatabase(memberMigrations);
  clock = Date.UTC(2025, 0, 1);
  catalog = new MemberCatalog(db, "test-member", {
    now: () => {
      clock += 1000;
      return new Date(clock);
    },
  });
});

afterEach(() => db.close());

describe("record ids", () => {
  it("are the 001, trimmed, else the first 035 $a, else refused", async () => {
    const [cjk] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    expect(recordIdOf(cjk!)).toBe("00314247");
    const no001 = { ...cjk!, fields: cjk!.fields.filter((f) => f.tag !== "001") };
    expect(recordIdOf(no001)).toBe("(CStRLIN)DCLP00-B1931");
    const bare = { ...no001, fields: no001.fields.filter((f) => f.tag !== "035") };
    expect(() => recordIdOf(bare)).toThrow(CatalogRecordError);
    expect(() => catalog.upsert(bare, [])).toThrow(/no 001 control number and no 035/);
  });
});

describe("MemberCatalog", () => {
  it("stores a record as ISO 2709 UTF-8 with its items and reads it back", async () => {
    const [rec] = await records(`${FIXTURES}uva-marc8.mrc`);
    const r = catalog.upsert(rec!, [item("B1"), item("B2", { status: "on_loan" })]);
    expect(r).toMatchObject({ recordId: "u1", outcome: "added", items: 2 });
    const got = catalog.get("u1")!;
    expect(got.record.fields).toEqual(rec!.fields);
    expect(got.record.leader[9]).toBe("a");
    const reread = parseIso2709(got.marc).next().value!;
    expect(reread.ok && reread.encoding).toBe("utf-8");
    expect(got.holdings.map((h) => [h.barcode, h.status])).toEqual([
      ["B1", "available"],
      ["B2", "on_loan"],
    ]);
    expect(got.title).toMatch(/^The book of the dance in the 20th century/);
    expect(catalog.count()).toBe(1);
    expect(catalog.itemCount()).toBe(2);
  });

  it("appends one change per real change and none for an identical upsert", async () => {
    const [a, b] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    catalog.upsert(a!, [item("X1")]);
    catalog.upsert(b!, []);
    expect(catalog.headSeq()).toBe(2n);
    expect(catalog.upsert(a!, [item("X1")]).outcome).toBe("unchanged");
    expect(catalog.headSeq()).toBe(2n);
    // Only the items differ: still a change.
    expect(catalog.upsert(a!, [item("X1", { status: "missing" })]).outcome).toBe("updated");
    expect(catalog.headSeq()).toBe(3n);
    const changed = withField(a!, "500", [["a", "A note."]]);
    expect(catalog.upsert(changed, [item("X1", { status: "missing" })]).outcome).toBe("updated");
    expect(catalog.headSeq()).toBe(4n);
    expect(catalog.changesAfter(3n, 10).map((e) => [e.seq, e.change.recordId])).toEqual([[4n, "00314247"]]);
  });

  it("moves an item whose barcode another record had, and logs both records", async () => {
    const [a, b] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    catalog.upsert(a!, [item("SHARED"), item("A2")]);
    const r = catalog.upsert(b!, [item("SHARED")]);
    expect(r.movedFrom).toEqual(["00314247"]);
    expect(catalog.get("00314247")!.holdings.map((h) => h.barcode)).toEqual(["A2"]);
    expect(catalog.get("92117465")!.holdings.map((h) => h.barcode)).toEqual(["SHARED"]);
    const ids = catalog.changesAfter(1n, 10).map((e) => e.change.recordId);
    expect(ids).toEqual(["00314247", "92117465"]);
    // The loser's digest follows its new items: re-importing it as it now is changes nothing.
    expect(catalog.upsert(a!, [item("A2")]).outcome).toBe("unchanged");
  });

  it("drops items without a barcode and repeated barcodes, saying why", async () => {
    const [a] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    const r = catalog.upsert(a!, [item(" "), item("Z1"), item("Z1")]);
    expect(r.items).toBe(1);
    expect(r.skippedItems).toEqual([
      "item without a barcode",
      "barcode Z1 appears twice in the record; the first is kept",
    ]);
  });

  it("keeps an item's due date: stored, read back, in the change feed and the snapshot; a new due date is a change", async () => {
    const [a] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    const out = item("L1", { status: "on_loan", dueDate: "2026-12-14" });
    expect(catalog.upsert(a!, [out, item("L2")]).outcome).toBe("added");
    const got = catalog.get("00314247")!;
    expect(got.holdings).toEqual([out, item("L2")]);
    // No due date: no key at all (not an empty string, not null).
    expect("dueDate" in got.holdings[1]!).toBe(false);
    const [entry] = catalog.changesAfter(0n, 10);
    expect(entry!.change.kind === "upsert" && entry!.change.holdings[0]!.dueDate).toBe("2026-12-14");
    expect([...catalog.snapshot().records][0]!.holdings[0]!.dueDate).toBe("2026-12-14");

    expect(catalog.upsert(a!, [out, item("L2")]).outcome).toBe("unchanged");
    expect(catalog.upsert(a!, [{ ...out, dueDate: "2027-01-04" }, item("L2")]).outcome).toBe("updated");
    expect(catalog.get("00314247")!.holdings[0]!.dueDate).toBe("2027-01-04");
    expect(catalog.headSeq()).toBe(2n);
    // A due date that is not a date is dropped; the item stays.
    catalog.upsert(a!, [{ ...out, dueDate: "soon" }]);
    expect(catalog.get("00314247")!.holdings).toEqual([item("L1", { status: "on_loan" })]);
  });

  it("digests items without a due date as before due dates were kept (an upgrade changes no record)", async () => {
    const [a] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    const r = catalog.upsert(a!, [item("D1"), item("D2", { status: "on_loan" })]);
    const marc = catalog.get(r.recordId)!.marc;
    const before = createHash("sha256")
      .update(marc)
      .update("\0")
      .update(
        JSON.stringify([
          ["D1", "PL 1", "MAIN", "available", "standard"],
          ["D2", "PL 1", "MAIN", "on_loan", "standard"],
        ]),
      )
      .digest("hex");
    expect(catalog.get(r.recordId)!.digest).toBe(before);
    expect(
      catalogDigest(marc, [item("D1"), item("D2", { status: "on_loan", dueDate: "2026-12-14" })]),
    ).not.toBe(before);
  });

  it("an older catalog gains the due date column and keeps its items and digests", async () => {
    const [a] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    const dir = mkdtempSync(join(tmpdir(), "lrs-catalog-"));
    try {
      const path = join(dir, "member.db");
      const old = Database.open(path, [
        ...sharedMigrations,
        ...memberMigrations.filter((m) => m.version < 101),
      ]);
      // A record with one item, written as the catalog wrote it before migration 101.
      const marc = toIso2709(a!);
      const t = new Date(clock).toISOString();
      old.sqlite
        .prepare(
          `INSERT INTO catalog_records (record_id, marc, digest, created_at, updated_at) VALUES (?, ?, ?, ?, ?)`,
        )
        .run(recordIdOf(a!), marc, catalogDigest(marc, [item("O1", { status: "on_loan" })]), t, t);
      old.sqlite
        .prepare(
          `INSERT INTO catalog_items (barcode, record_id, position, call_number, location, status, loan_rule)
           VALUES ('O1', ?, 0, 'PL 1', 'MAIN', 'on_loan', 'standard')`,
        )
        .run(recordIdOf(a!));
      old.close();
      const r = { recordId: recordIdOf(a!) };
      const now = Database.open(path, [...sharedMigrations, ...memberMigrations]);
      try {
        const upgraded = new MemberCatalog(now, "test-member");
        expect(upgraded.get(r.recordId)!.holdings).toEqual([item("O1", { status: "on_loan" })]);
        expect(upgraded.upsert(a!, [item("O1", { status: "on_loan" })]).outcome).toBe("unchanged");
        expect(upgraded.upsert(a!, [item("O1", { status: "on_loan", dueDate: "2026-12-14" })]).outcome).toBe(
          "updated",
        );
      } finally {
        now.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps a record over ISO 2709's 99,999 bytes whole (stored as MARCXML) and sends it upward", async () => {
    const [a] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    let big = a!;
    for (let i = 0; i < 12; i++) big = withField(big, "505", [["a", "x".repeat(9000)]]);
    catalog.upsert(big, []);
    expect(catalog.count()).toBe(1);
    expect(catalog.headSeq()).toBe(1n);
    const back = catalog.get(recordIdOf(big))!;
    expect(back.marc.length).toBeGreaterThan(99_999);
    expect(back.record.fields.filter((f) => f.tag === "505")).toHaveLength(12);
  });
});

describe("writeBatch", () => {
  it("commits a batch together; a write that fails half-way rolls back alone and reaches the caller", async () => {
    const uva = (await records(`${FIXTURES}uva-marc8.mrc`)).slice(0, 3);
    // A failure after the record and its index rows are written, while its items are.
    db.sqlite.exec(`CREATE TRIGGER boom BEFORE INSERT ON catalog_items WHEN NEW.barcode = 'BOOM'
      BEGIN SELECT RAISE(ABORT, 'no such shelf'); END`);
    const calls: string[] = [];
    const results = catalog.writeBatch(uva, (rec) => {
      const id = recordIdOf(rec);
      calls.push(id);
      try {
        return catalog.upsert(rec, [item(id === "u9" ? "BOOM" : `I-${id}`)]).outcome;
      } catch (err) {
        return `failed: ${(err as Error).message}`;
      }
    });
    expect(results).toEqual(["added", "failed: no such shelf", "added"]);
    // The first pass, rolled back because a write failed (though fn caught the error), then the
    // batch again with a savepoint per record.
    expect(calls).toEqual(["u1", "u9", "u151", "u1", "u9", "u151"]);
    expect(catalog.get("u9")).toBeUndefined();
    expect(catalog.searchLocal(ftsIndexQuery("title", "Soljenitsyne")!)).toEqual([]);
    expect(catalog.count()).toBe(2);
    expect(catalog.changesAfter(0n, 10).map((e) => e.change.recordId)).toEqual(["u1", "u151"]);
  });
});

describe("ChangeFeed", () => {
  it("sends each entry with the record's current state; a deleted record as its tombstone", async () => {
    const [a, b] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    catalog.upsert(a!, [item("A1")]); // seq 1
    catalog.upsert(b!, [item("B1")]); // seq 2
    const changedA = withField(a!, "500", [["a", "Second state."]]);
    catalog.upsert(changedA, [item("A1"), item("A2")]); // seq 3
    expect(catalog.delete("92117465")).toBe(true); // seq 4
    expect(catalog.delete("92117465")).toBe(false);

    const entries = catalog.changesAfter(0n, 100);
    expect(entries.map((e) => [e.seq, e.change.kind, e.change.recordId])).toEqual([
      [1n, "upsert", "00314247"],
      [2n, "delete", "92117465"], // upserted then, deleted now
      [3n, "upsert", "00314247"],
      [4n, "delete", "92117465"],
    ]);
    const first = entries[0]!.change;
    if (first.kind !== "upsert") throw new Error("expected an upsert");
    expect(first.institutionId).toBe("test-member");
    // The state now, not the state at seq 1.
    expect(first.holdings.map((h) => h.barcode)).toEqual(["A1", "A2"]);
    const rec = parseIso2709(first.marc).next().value!;
    expect(rec.ok && rec.record.fields.some((f) => f.tag === "500")).toBe(true);
    // A tombstone carries the time of the delete.
    expect(entries[1]!.change.changedAt).toEqual(entries[3]!.change.changedAt);
    expect(entries[1]!.change.changedAt.getTime()).toBeGreaterThan(first.changedAt.getTime());

    expect(catalog.changesAfter(1n, 2).map((e) => e.seq)).toEqual([2n, 3n]);
    expect(catalog.changesAfter(4n, 10)).toEqual([]);
    expect(catalog.headSeq()).toBe(4n);
  });

  it("a record deleted and added again comes back as an upsert for every entry", async () => {
    const [a] = await records(`${FIXTURES}traject-cjk-880.mrc`);
    catalog.upsert(a!, []);
    catalog.delete("00314247");
    catalog.upsert(a!, []);
    expect(catalog.changesAfter(0n, 10).map((e) => e.change.kind)).toEqual(["upsert", "upsert", "upsert"]);
  });

  it("snapshot: every record with its items, and the position it stands for", async () => {
    const uva = await records(`${FIXTURES}uva-marc8.mrc`);
    for (const [i, rec] of uva.entries()) catalog.upsert(rec, [item(`U${i}`)]);
    catalog.delete("u9");
    const snap = catalog.snapshot();
    expect(snap.seq).toBe(catalog.headSeq());
    expect(snap.seq).toBe(BigInt(uva.length + 1));
    const got = [...snap.records];
    expect(got.map((r) => r.recordId)).toEqual(["u1", "u151", "u399", "u1194", "u1809"]);
    expect(got.every((r) => r.kind === "upsert" && r.institutionId === "test-member")).toBe(true);
    expect(got[0]!.holdings.map((h) => h.barcode)).toEqual(["U0"]);
  });

  it("snapshot iteration leaves the connection usable between records (the sync worker awaits the network)", async () => {
    const uva = await records(`${FIXTURES}uva-marc8.mrc`);
    for (const rec of uva) catalog.upsert(rec, []);
    const seen: string[] = [];
    for (const r of catalog.snapshot().records) {
      seen.push(r.recordId);
      // What other code in the process does meanwhile: reads and writes on the same connection.
      catalog.headSeq();
      db.sqlite.prepare("INSERT OR REPLACE INTO node_meta (key, value) VALUES ('x', ?)").run(r.recordId);
    }
    expect(seen).toHaveLength(uva.length);
  });
});

describe("searchLocal", () => {
  beforeEach(async () => {
    for (const file of ["traject-cjk-880.mrc", "uchicago-cjk.xml", "uva-marc8.mrc", "lc-loc-general.xml"]) {
      for (const rec of await records(`${FIXTURES}${file}`)) catalog.upsert(rec, []);
    }
    for (const file of [
      "traject/test_data.utf8.mrc",
      "lc-marc2bibframe2/loc_general.xml",
      "lc-marc2bibframe2/nlm.xml",
    ]) {
      for (const rec of await records(`${DATA}${file}`)) catalog.upsert(rec, []);
    }
  });

  const find = (index: Parameters<typeof ftsIndexQuery>[0], term: string, phrase = false) =>
    catalog.searchLocal(ftsIndexQuery(index, term, { phrase })!, 50).map((h) => h.recordId);

  it("finds a two-character CJK word inside a longer run, in the vernacular 880 fields", () => {
    // 880 $6 245-02: 久保栄 「火山灰地」 を読む
    expect(find("title", "火山")).toContain("00314247");
    expect(find("any", "火山")).toContain("00314247");
    // 880 $6 245-01: 北韓　法令集
    expect(find("title", "法令")).toEqual(["92117465"]);
    // Korean, 880 $6 245-01: 노동 조합 의 사회적 위상 …
    expect(find("title", "노동")).toEqual(["11562367"]);
    // Vernacular names count for the author index, vernacular publishers for the publisher index.
    // (2008543486 is another edition of the same book, from another library.)
    expect(find("author", "吉田").sort()).toEqual(["00314247", "2008543486"]);
    expect(find("publisher", "法政大学").sort()).toEqual(["00314247", "2008543486"]);
  });

  it("matches a CJK phrase only where its characters stand together", () => {
    expect(find("title", "火山灰地", true).sort()).toEqual(["00314247", "2008543486"]);
    expect(find("title", "灰地火山", true)).toEqual([]);
    expect(find("title", "사회적 위상", true)).toEqual(["11562367"]);
    expect(find("title", "위상 사회적", true)).toEqual([]);
  });

  it("finds Latin text without diacritics, by index", () => {
    expect(find("title", "Soljenitsyne")).toEqual(["u9"]);
    expect(find("author", "Yoshida Hajime").sort()).toEqual(["00314247", "2008543486"]);
    expect(find("subject", "Japanese drama")).toContain("00314247");
    expect(find("author", "Japanese drama")).toEqual([]);
    expect(find("year", "1997")).toContain("00314247");
  });

  it("finds an ISBN-13 record by its ISBN-10 and the reverse, hyphens or not", () => {
    // loc_general 16736259 has only 9781921667473; traject 00313831 only 9645625963.
    expect(find("isbn", "1921667478")).toEqual(["16736259"]);
    expect(find("isbn", "1-921667-47-8")).toEqual(["16736259"]);
    expect(find("isbn", "978-964-562-596-0")).toEqual(["00313831"]);
    expect(find("any", "9789645625960")).toEqual(["00313831"]);
    expect(find("isbn", "0126017204")).toEqual(["u1809"]);
  });

  it("finds a serial by any of its ISSNs, with or without the hyphen", () => {
    // NLM 117821: 022 $a 0001-5547 (print) and 022 $a 1938-2650 (electronic).
    expect(find("issn", "0001-5547")).toEqual(["117821"]);
    expect(find("issn", "19382650")).toEqual(["117821"]);
    expect(catalog.get("117821")!.issns).toEqual(["0001-5547", "1938-2650"]);
  });

  it("is empty for a query with nothing searchable", () => {
    expect(ftsIndexQuery("title", " / ")).toBeUndefined();
  });
});
