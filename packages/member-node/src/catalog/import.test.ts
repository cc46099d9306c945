import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import {
  type Database,
  type MarcRecord,
  parseIso2709,
  readMarcFile,
  toIso2709,
  toMarcXml,
} from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { recordIdOf } from "./fields.js";
import { evergreenMap, kohaMap, marc852Map, resolveHoldingsMap } from "./holdings-map.js";
import {
  EXIT_FAILED,
  EXIT_OK,
  EXIT_REJECTIONS,
  exitCodeOf,
  type ImportOptions,
  importMarcFiles,
} from "./import.js";

const ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const FIXTURES = join(ROOT, "packages/shared/src/marc/fixtures");
const DATA = join(ROOT, "data/marc");
const UVA6 = join(FIXTURES, "uva-marc8.mrc");
/** Two records; the first (00314247) has leader/05 "d": importing it deletes. */
const CJK2 = join(FIXTURES, "traject-cjk-880.mrc");
const LC2 = join(FIXTURES, "lc-loc-general.xml");
const UCHICAGO1 = join(FIXTURES, "uchicago-cjk.xml");

let dir: string;
let db: Database;
let catalog: MemberCatalog;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-import-"));
  db = memoryDatabase(memberMigrations);
  catalog = new MemberCatalog(db, "test-member");
});

afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

async function records(path: string): Promise<MarcRecord[]> {
  const out: MarcRecord[] = [];
  for await (const r of readMarcFile(path)) if (r.ok) out.push(r.record);
  return out;
}

function writeMrc(name: string, recs: MarcRecord[]): string {
  const path = join(dir, name);
  writeFileSync(path, Buffer.concat(recs.map((r) => toIso2709(r))));
  return path;
}

function field(tag: string, subfields: Array<[string, string]>, ind = "  ") {
  return {
    tag,
    ind1: ind[0]!,
    ind2: ind[1]!,
    subfields: subfields.map(([code, value]) => ({ code, value })),
  };
}

function withFields(rec: MarcRecord, ...fields: ReturnType<typeof field>[]): MarcRecord {
  return { ...rec, fields: [...rec.fields, ...fields] };
}

const run = (paths: string[], opts: ImportOptions = {}) => importMarcFiles(catalog, paths, opts);

describe("import", () => {
  it("reads ISO 2709 in MARC-8 and UTF-8 and MARCXML, plain or gzipped", async () => {
    const gz = join(dir, "uchicago.xml.gz");
    writeFileSync(gz, gzipSync(readFileSync(UCHICAGO1)));
    const mrcGz = join(dir, "cjk.mrc.gz");
    writeFileSync(mrcGz, gzipSync(readFileSync(CJK2)));
    const s = await run([UVA6, LC2, gz, mrcGz]);
    // The deletion record of the CJK file finds nothing to delete: unchanged.
    expect(s).toMatchObject({
      added: 10,
      updated: 0,
      unchanged: 1,
      deleted: 0,
      rejected: 0,
      unreadableFiles: 0,
    });
    expect(s.files.map((f) => f.records)).toEqual([6, 2, 1, 2]);
    expect(catalog.count()).toBe(10);
    expect(catalog.headSeq()).toBe(10n);
    expect(catalog.get("92117465")!.title).toBe("Pukhan pŏmnyŏngjip");
    expect(exitCodeOf(s)).toBe(EXIT_OK);
    // MARC-8 became UTF-8: "Soljénitsyne" in u9.
    expect(catalog.get("u9")!.title).toContain("Soljénitsyne");
  });

  it("imports real sets: the UVA MARC-8 export and LC's MARCXML", async () => {
    const s = await run([
      join(DATA, "solrmarc-uva/uva_001_2000.mrc"),
      join(DATA, "lc-marc2bibframe2/loc_general.xml"),
    ]);
    expect(s).toMatchObject({ added: 2099, rejected: 0 });
    expect(catalog.count()).toBe(2099);
  });

  it("a second import of the same files changes nothing and logs nothing", async () => {
    await run([UVA6, CJK2, LC2]);
    const head = catalog.headSeq();
    const s = await run([UVA6, CJK2, LC2]);
    expect(s).toMatchObject({ added: 0, updated: 0, unchanged: 10, deleted: 0, rejected: 0 });
    expect(catalog.count()).toBe(9);
    expect(catalog.headSeq()).toBe(head);
  });

  it("an edited record is one update and one change entry", async () => {
    await run([UVA6]);
    const head = catalog.headSeq();
    const recs = await records(UVA6);
    recs[2] = withFields(recs[2]!, field("500", [["a", "Local note."]]));
    const s = await run([writeMrc("edited.mrc", recs)]);
    expect(s).toMatchObject({ added: 0, updated: 1, unchanged: 5 });
    const entries = catalog.changesAfter(head, 10);
    expect(entries.map((e) => e.change.recordId)).toEqual(["u151"]);
  });

  it("a record with leader/05 'd' deletes, and leaves a tombstone to send", async () => {
    await run([UVA6]);
    const head = catalog.headSeq();
    const [first] = await records(UVA6);
    const gone = { ...first!, leader: `${first!.leader.slice(0, 5)}d${first!.leader.slice(6)}` };
    const s = await run([writeMrc("deletes.mrc", [gone])]);
    expect(s).toMatchObject({ deleted: 1, added: 0 });
    expect(catalog.get("u1")).toBeUndefined();
    expect(catalog.changesAfter(head, 10).map((e) => [e.change.kind, e.change.recordId])).toEqual([
      ["delete", "u1"],
    ]);
    // Deleting what is not there is not a change.
    const again = await run([writeMrc("deletes.mrc", [gone])]);
    expect(again).toMatchObject({ deleted: 0, unchanged: 1 });
    expect(catalog.headSeq()).toBe(head + 1n);
  });

  it("rejects a corrupt record in the middle with its number and byte offset, and imports its neighbours", async () => {
    const bytes = Buffer.from(readFileSync(UVA6));
    const offsets = [...parseIso2709(bytes)].map((r) => r.offset);
    const third = offsets[2]!;
    // Damage the third record's first directory entry: a field length that is not a number.
    bytes.write("00X1", third + 24 + 3, "latin1");
    const path = join(dir, "corrupt.mrc");
    writeFileSync(path, bytes);
    const seen: number[] = [];
    const s = await run([path], { onRejection: (r) => seen.push(r.recordIndex!) });
    expect(s).toMatchObject({ added: 5, rejected: 1 });
    expect(seen).toEqual([3]);
    expect(s.rejections[0]).toMatchObject({ file: "corrupt.mrc", recordIndex: 3, offset: third });
    expect(s.rejections[0]!.reason).toMatch(/non-numeric length/);
    expect(catalog.get("u151")).toBeUndefined();
    expect(catalog.get("u399")).toBeDefined();
    expect(catalog.headSeq()).toBe(5n);
    expect(exitCodeOf(s)).toBe(EXIT_REJECTIONS);
  });

  it("a record whose write fails is rejected alone, with nothing of it left behind", async () => {
    db.sqlite.exec(`CREATE TRIGGER boom BEFORE INSERT ON catalog_items WHEN NEW.barcode = 'BOOM'
      BEGIN SELECT RAISE(ABORT, 'no such shelf'); END`);
    const csv = join(dir, "items.csv");
    writeFileSync(csv, "record_id,barcode\nu1,OK1\nu9,BOOM\nu151,OK2\n");
    const s = await run([UVA6], { itemsFile: csv });
    expect(s).toMatchObject({ added: 5, rejected: 1, items: 2 });
    expect(s.rejections[0]).toMatchObject({
      file: "uva-marc8.mrc",
      recordIndex: 2,
      recordId: "u9",
      reason: "no such shelf",
    });
    expect(catalog.get("u9")).toBeUndefined();
    expect(catalog.headSeq()).toBe(5n);
  });

  it("rejects a MARCXML record with its line", async () => {
    const [a, b, c] = await records(UVA6);
    const bad = toMarcXml(b!).replace("Du bon usage", "Du bon &nosuch; usage");
    const xml = `<collection xmlns="http://www.loc.gov/MARC21/slim">\n${toMarcXml(a!)}\n${bad}\n${toMarcXml(c!)}\n</collection>\n`;
    const path = join(dir, "bad.xml");
    writeFileSync(path, xml);
    const s = await run([path]);
    expect(s).toMatchObject({ added: 2, rejected: 1 });
    // The line where the record starts: after the <collection> line and the first record.
    const line = 2 + toMarcXml(a!).split("\n").length;
    expect(s.rejections[0]).toMatchObject({ file: "bad.xml", recordIndex: 2, line });
    expect(s.rejections[0]!.offset).toBeUndefined();
    expect(s.rejections[0]!.reason).toMatch(/undefined entity/);
  });

  it("refuses a record over ISO 2709's 99,999 bytes, with the limit in the message", async () => {
    const [a, b] = await records(UVA6);
    const runaway = Buffer.alloc(120_000, 0x41);
    const path = join(dir, "runaway.mrc");
    writeFileSync(path, Buffer.concat([toIso2709(a!), runaway, Buffer.from([0x1d]), toIso2709(b!)]));
    const s = await run([path]);
    expect(s).toMatchObject({ added: 2, rejected: 1 });
    expect(s.rejections[0]!.reason).toMatch(/at 120001 bytes it is over ISO 2709's limit of 99999 bytes/);
    // Without a terminator the reader gives up on it at the limit and goes on after it.
    const endless = join(dir, "endless.mrc");
    writeFileSync(
      endless,
      Buffer.concat([toIso2709(a!), Buffer.alloc(2_500_000, 0x41), Buffer.from([0x1d]), toIso2709(b!)]),
    );
    const e = await run([endless]);
    expect(e).toMatchObject({ unchanged: 2, rejected: 1 });
    expect(e.rejections[0]!.reason).toMatch(/within 99999 bytes/);
  });

  it("accepts a MARCXML record of any size: a serial with 3,000 item fields (over 99,999 bytes) is stored whole, with its items", async () => {
    const [a] = await records(UVA6);
    const items = Array.from({ length: 3000 }, (_, i) =>
      field("952", [
        ["a", "MAIN"],
        ["o", `QH1 .S35 v.${i + 1}`],
        ["p", `39000${String(i).padStart(6, "0")}`],
        ["y", "SER"],
      ]),
    );
    const big = withFields(a!, field("505", [["a", "y".repeat(12_000)]]), ...items);
    const xml = `<collection xmlns="http://www.loc.gov/MARC21/slim">${toMarcXml(big)}</collection>`;
    expect(Buffer.byteLength(xml)).toBeGreaterThan(99_999);
    const path = join(dir, "science.xml");
    writeFileSync(path, xml);
    const s = await run([path], { holdingsMap: kohaMap });
    expect(s).toMatchObject({ added: 1, rejected: 0, items: 3000 });
    const stored = catalog.get(recordIdOf(big))!;
    expect(stored.holdings).toHaveLength(3000);
    // The 505 over ISO 2709's 9999 bytes a field is kept whole.
    expect(stored.record.fields.find((f) => f.tag === "505")).toMatchObject({
      subfields: [{ code: "a", value: "y".repeat(12_000) }],
    });
  });

  it("names the actual problem when no record of a file can be imported", async () => {
    const [a] = await records(UVA6);
    const noId = { ...a!, fields: a!.fields.filter((f) => f.tag !== "001" && f.tag !== "035") };
    const path = join(dir, "noid.xml");
    writeFileSync(path, `<collection xmlns="http://www.loc.gov/MARC21/slim">${toMarcXml(noId)}</collection>`);
    const s = await run([path]);
    expect(s.rejected).toBe(1);
    expect(s.files[0]!.error).toMatch(/first problem: /);
    expect(s.files[0]!.error).not.toMatch(/unknown/);
    expect(s.files[0]!.error).toContain(s.rejections[0]!.reason);
  });

  it("reports a file that cannot be read at all, and imports the others", async () => {
    const text = join(dir, "notes.txt");
    writeFileSync(text, "This is not MARC.\n");
    const s = await run([join(dir, "missing.mrc"), text, UVA6]);
    expect(s.unreadableFiles).toBe(2);
    expect(s.files[0]!.error).toMatch(/cannot read .*missing\.mrc/);
    expect(s.files[1]!.error).toMatch(/no record .* could be read/);
    expect(s.added).toBe(6);
    expect(exitCodeOf(s)).toBe(EXIT_FAILED);
  });

  it("commits in batches, each record on its own: batch size does not change the outcome", async () => {
    const s = await run([UVA6, LC2], { batchSize: 4 });
    expect(s.added).toBe(8);
    const progress: number[] = [];
    await run([UVA6], { batchSize: 2, onProgress: (p) => progress.push(p.records) });
    expect(progress.slice(0, 3)).toEqual([2, 4, 6]);
  });
});

describe("items from holdings fields", () => {
  it("949 as exported by Evergreen (SirsiDynix layout), from the real UVA set", async () => {
    const s = await run([join(DATA, "solrmarc-uva/uva_001_2000.mrc")]);
    expect(s.items).toBe(4);
    const u200 = catalog.get("u200")!;
    expect(u200.holdings).toEqual([
      {
        barcode: "X000904373",
        callNumber: "HQ18.E8 M67 1985",
        location: "",
        status: "available",
        loanRule: "standard",
      },
      {
        barcode: "X000955097",
        callNumber: "HQ18.E8 M67 1985",
        location: "",
        status: "available",
        loanRule: "standard",
      },
    ]);
    // The fields the items came from are not part of the stored record.
    expect(u200.record.fields.some((f) => f.tag === "949")).toBe(false);
  });

  it("949 subfields: library / location, current location as status, item type as loan rule", () => {
    const rec: MarcRecord = {
      leader: "00000nam a2200000 a 4500",
      fields: [
        { tag: "001", value: "eg1" },
        field("949", [
          ["a", "ML 410 .B4"],
          ["w", "LC"],
          ["i", "30007007467409"],
          ["r", "Y"],
          ["t", "SOUND"],
          ["l", "HUNT-AUDIO"],
          ["m", "HUNTINGTON"],
        ]),
        field("949", [
          ["a", "REF 1"],
          ["i", "30007007467410"],
          ["k", "CHECKEDOUT"],
          ["t", "REFERENCE"],
          ["m", "DESMARAIS"],
        ]),
        field("949", [
          ["a", "X"],
          ["i", "30007007467411"],
          ["r", "N"],
          ["k", "BINDERY"],
        ]),
      ],
    };
    const { items, record } = evergreenMap.extract(rec);
    expect(items).toEqual([
      {
        barcode: "30007007467409",
        callNumber: "ML 410 .B4",
        location: "HUNTINGTON / HUNT-AUDIO",
        status: "available",
        loanRule: "SOUND",
      },
      {
        barcode: "30007007467410",
        callNumber: "REF 1",
        location: "DESMARAIS",
        status: "on_loan",
        loanRule: "reference",
      },
      {
        barcode: "30007007467411",
        callNumber: "X",
        location: "",
        status: "bindery",
        loanRule: "non_circulating",
      },
    ]);
    expect(record.fields.map((f) => f.tag)).toEqual(["001"]);
  });

  it("952 as exported by Koha, through auto and koha", async () => {
    const [, rec] = await records(CJK2);
    const koha = withFields(
      rec!,
      field("952", [
        ["0", "0"],
        ["1", "0"],
        ["7", "0"],
        ["a", "CPL"],
        ["b", "FFL"],
        ["c", "STACKS"],
        ["o", "PL 887 .K8 Y6 1997"],
        ["p", "39999000001"],
        ["y", "BK"],
      ]),
      field("952", [
        ["a", "CPL"],
        ["p", "39999000002"],
        ["7", "1"],
        ["y", "BK"],
      ]),
      field("952", [
        ["a", "CPL"],
        ["p", "39999000003"],
        ["1", "4"],
      ]),
      field("952", [
        ["a", "CPL"],
        ["p", "39999000004"],
        ["q", "2025-02-01"],
      ]),
      field("952", [
        ["a", "CPL"],
        ["p", "39999000005"],
        ["0", "1"],
      ]),
      field("952", [
        ["a", "CPL"],
        ["p", "39999000006"],
        ["7", "-1"],
      ]),
      // $q with a time after the date, and $q that is not a date: on loan either way.
      field("952", [
        ["a", "CPL"],
        ["p", "39999000007"],
        ["q", "2025-03-15 23:59:00"],
      ]),
      field("952", [
        ["a", "CPL"],
        ["p", "39999000008"],
        ["q", "1"],
      ]),
      // A note without a barcode is not an item and stays in the record.
      field("952", [["a", "Library has 2 copies."]]),
    );
    const { items, record } = kohaMap.extract(koha);
    expect(items.map((i) => [i.barcode, i.status, i.loanRule, i.location])).toEqual([
      ["39999000001", "available", "BK", "FFL / STACKS"],
      ["39999000002", "available", "non_circulating", "CPL"],
      ["39999000003", "missing", "standard", "CPL"],
      ["39999000004", "on_loan", "standard", "CPL"],
      ["39999000005", "withdrawn", "standard", "CPL"],
      ["39999000006", "on_order", "standard", "CPL"],
      ["39999000007", "on_loan", "standard", "CPL"],
      ["39999000008", "on_loan", "standard", "CPL"],
    ]);
    // $q is items.onloan, the due date of the current checkout.
    expect(items.map((i) => i.dueDate)).toEqual([
      undefined,
      undefined,
      undefined,
      "2025-02-01",
      undefined,
      undefined,
      "2025-03-15",
      undefined,
    ]);
    expect(items[0]!.callNumber).toBe("PL 887 .K8 Y6 1997");
    expect(record.fields.filter((f) => f.tag === "952")).toHaveLength(1);

    const s = await run([writeMrc("koha.mrc", [koha])]);
    expect(s.items).toBe(8);
    expect(catalog.get("92117465")!.holdings.map((h) => h.barcode)).toEqual(items.map((i) => i.barcode));
    expect(catalog.get("92117465")!.holdings.map((h) => h.dueDate)).toEqual(items.map((i) => i.dueDate));
  });

  it("852 with a piece designation ($p)", async () => {
    const [rec] = await records(UCHICAGO1);
    // The real 852 ($a ICU-FE $b CJK $t c. 1) has no barcode: no item.
    expect(marc852Map.extract(rec!).items).toEqual([]);
    const withBarcode = withFields(
      rec!,
      field(
        "852",
        [
          ["a", "ICU"],
          ["b", "CJK"],
          ["c", "STACKS"],
          ["h", "HD6870"],
          ["i", ".N63 2017"],
          ["p", "A1234"],
        ],
        "0 ",
      ),
    );
    const s = await run([writeMrc("852.mrc", [withBarcode])], { holdingsMap: marc852Map });
    expect(s.items).toBe(1);
    expect(catalog.get("11562367")!.holdings).toEqual([
      {
        barcode: "A1234",
        callNumber: "HD6870 .N63 2017",
        location: "CJK / STACKS",
        status: "available",
        loanRule: "standard",
      },
    ]);
    // The 852 without a barcode stays in the record; the one that became an item does not.
    expect(catalog.get("11562367")!.record.fields.filter((f) => f.tag === "852")).toHaveLength(1);
  });

  it("a JSON mapping for another layout", async () => {
    const mapPath = join(dir, "map.json");
    writeFileSync(
      mapPath,
      JSON.stringify({
        tag: "945",
        barcode: "b",
        callNumber: "c",
        location: "l",
        status: "s",
        dueDate: "d",
        statusValues: { "-": "available", m: "missing" },
      }),
    );
    const [, rec] = await records(CJK2);
    const local = withFields(
      rec!,
      field("945", [
        ["b", "31234"],
        ["c", "PL 1"],
        ["l", "main"],
        ["s", "m"],
      ]),
      field("945", [
        ["b", "31235"],
        ["c", "PL 1"],
        ["s", "-"],
      ]),
      // A due date and no status: on loan.
      field("945", [
        ["b", "31236"],
        ["d", "2026-12-14"],
      ]),
    );
    const s = await run([writeMrc("local.mrc", [local])], { holdingsMap: resolveHoldingsMap(mapPath) });
    expect(s.items).toBe(3);
    expect(
      catalog.get("92117465")!.holdings.map((h) => [h.barcode, h.status, h.loanRule, h.dueDate]),
    ).toEqual([
      ["31234", "missing", "standard", undefined],
      ["31235", "available", "standard", undefined],
      ["31236", "on_loan", "standard", "2026-12-14"],
    ]);
    writeFileSync(mapPath, JSON.stringify({ tag: "945" }));
    expect(() => resolveHoldingsMap(mapPath)).toThrow(/"barcode" must be one subfield code/);
    writeFileSync(mapPath, JSON.stringify({ tag: "945", barcode: "b", dueDate: "dd" }));
    expect(() => resolveHoldingsMap(mapPath)).toThrow(/"dueDate" must be one subfield code/);
    expect(() => resolveHoldingsMap(join(dir, "nope.json"))).toThrow(
      /neither auto, koha, evergreen, 852, none nor a readable JSON file/,
    );
  });
});

describe("items from a CSV file", () => {
  it("sets the items of the records it lists; rows for other catalog records update them", async () => {
    await run([CJK2]);
    const csv = join(dir, "items.csv");
    const long = "x".repeat(9000);
    writeFileSync(
      csv,
      [
        "\uFEFFrecord_id,barcode,call_number,location,status,loan_rule",
        'u1,B001,"GV 1580 .R6, copy 1",MAIN,,',
        'u1,B002,"GV 1580 .R6 ""oversize""",FOLIO,on_loan,reference',
        `u9,B003,${long},MAIN,,`,
        "u9,,PQ 1,MAIN,,",
        "92117465,B004,KPC 1,EAST ASIA,available,standard",
        "nosuch,B005,X,MAIN,,",
        "",
      ].join("\r\n"),
    );
    const s = await run([UVA6], { itemsFile: csv });
    expect(catalog.get("u1")!.holdings).toEqual([
      {
        barcode: "B001",
        callNumber: "GV 1580 .R6, copy 1",
        location: "MAIN",
        status: "available",
        loanRule: "standard",
      },
      {
        barcode: "B002",
        callNumber: 'GV 1580 .R6 "oversize"',
        location: "FOLIO",
        status: "on_loan",
        loanRule: "reference",
      },
    ]);
    expect(catalog.get("92117465")!.holdings.map((h) => h.barcode)).toEqual(["B004"]);
    expect(s.itemsFile).toMatchObject({ rows: 6, records: 2, rejected: 3 });
    expect(s.added).toBe(6);
    expect(s.updated).toBe(1);
    const why = s.rejections.map((r) => [r.line, r.reason]);
    expect(why).toEqual([
      [4, "row is longer than 8192 characters; refused"],
      [5, "row has no barcode"],
      [7, "record nosuch is neither in the files imported nor in the catalog"],
    ]);
    expect(exitCodeOf(s)).toBe(EXIT_REJECTIONS);
  });

  it("keeps due dates; a row whose due_date is not a date is rejected with its line", async () => {
    await run([UVA6]);
    const csv = join(dir, "due.csv");
    writeFileSync(
      csv,
      [
        "record_id,barcode,status,due_date",
        "u1,C001,on_loan,2026-12-14",
        "u1,C002,available,",
        "u9,C003,on_loan,next week",
        "",
      ].join("\n"),
    );
    const s = await run([], { itemsFile: csv });
    expect(catalog.get("u1")!.holdings.map((h) => [h.barcode, h.status, h.dueDate])).toEqual([
      ["C001", "on_loan", "2026-12-14"],
      ["C002", "available", undefined],
    ]);
    expect(s.rejections.map((r) => [r.line, r.reason])).toEqual([
      [4, 'due_date "next week" is not a date (expected YYYY-MM-DD)'],
    ]);
    // The same file again changes nothing; a new due date is an update.
    expect((await run([], { itemsFile: csv })).updated).toBe(0);
    writeFileSync(csv, "record_id,barcode,status,due_date\nu1,C001,on_loan,2027-01-04\nu1,C002,available,\n");
    expect((await run([], { itemsFile: csv })).updated).toBe(1);
    expect(catalog.get("u1")!.holdings[0]!.dueDate).toBe("2027-01-04");
  });
});
