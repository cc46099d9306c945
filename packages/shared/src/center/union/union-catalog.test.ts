import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { beforeEach, describe, expect, it } from "vitest";
import type { HoldingData, RecordChange } from "../../catalog-sync/change-feed.js";
import { Database } from "../../db.js";
import { controlValue, getDataFields, subfieldValues } from "../../marc/fields.js";
import { parseIso2709, toIso2709 } from "../../marc/iso2709.js";
import { parseMarcXml } from "../../marc/marcxml.js";
import type { MarcRecord } from "../../marc/record.js";
import { toFtsQuery } from "../../match/cjk.js";
import { normalizeIsbn } from "../../match/identifiers.js";
import { recordCompleteness } from "../../match/keys.js";
import { sharedMigrations } from "../../migrations.js";
import type { CatalogSink } from "../catalog-sync/receiver.js";
import { type ClusterInput, clusterRecords, type SplitSide } from "./clustering.js";
import { describeRecord } from "./describe.js";
import { InvalidSplitError, ResyncStateError, UnknownClusterError } from "./errors.js";
import { unionCatalogMigrations } from "./migrations.js";
import { UnionCatalog } from "./union-catalog.js";

const ROOT = new URL("../../../../../", import.meta.url);

function load(path: string): MarcRecord[] {
  const bytes = readFileSync(new URL(path, ROOT));
  const results = path.endsWith(".xml") ? parseMarcXml(bytes.toString("utf8")) : [...parseIso2709(bytes)];
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.record;
  });
}

const uva = load("data/marc/solrmarc-uva/uva_001_2000.mrc");
const traject = load("data/marc/traject/test_data.utf8.mrc");
const nlm = load("data/marc/lc-marc2bibframe2/nlm.xml");
const folio100 = load("data/marc/folio-mod-data-import/100.mrc");
// One of UChicago's six is over ISO 2709's 99,999 bytes: a member cannot send it, so neither do we.
const uchicago = load("data/marc/folio-mod-data-import/UChicago_SampleBibs-distinct.xml").filter((r) => {
  try {
    return toIso2709(r).length > 0;
  } catch {
    return false;
  }
});

const idOf = (r: MarcRecord) => controlValue(r, "001")!.trim();
const item = (barcode: string, location = "stacks", callNumber = "QA76 .X1"): HoldingData => ({
  barcode,
  callNumber,
  location,
  status: "available",
  loanRule: "standard",
});

let clock = Date.parse("2026-01-01T00:00:00Z");
const now = () => {
  clock += 1000;
  return new Date(clock);
};

function upsert(
  institutionId: string,
  record: MarcRecord,
  holdings: HoldingData[] = [item(`${institutionId}-${idOf(record)}`)],
  recordId = idOf(record),
): Extract<RecordChange, { kind: "upsert" }> {
  return {
    kind: "upsert",
    institutionId,
    recordId,
    marc: toIso2709(record),
    holdings,
    changedAt: new Date(clock),
  };
}
const del = (institutionId: string, recordId: string): RecordChange => ({
  kind: "delete",
  institutionId,
  recordId,
  changedAt: new Date(clock),
});

function open(nodeId = "north-center") {
  const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
  return { db, cat: new UnionCatalog(db, { nodeId, now }) };
}

/** Clusters as sets of "institution/record", for comparing clusterings. */
function partition(db: Database): string[][] {
  const rows = db.sqlite
    .prepare("SELECT cluster_id, institution_id || '/' || record_id AS ref FROM union_records ORDER BY ref")
    .all() as Array<{ cluster_id: number; ref: string }>;
  const by = new Map<number, string[]>();
  for (const r of rows) by.set(r.cluster_id, [...(by.get(r.cluster_id) ?? []), r.ref]);
  return [...by.values()].sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** Every record is in exactly one cluster, every cluster exists, holds records and shows the right count; every record is indexed. */
function checkInvariants(db: Database): void {
  const orphans = db.sqlite
    .prepare(
      "SELECT COUNT(*) AS n FROM union_records r LEFT JOIN union_clusters c ON c.id = r.cluster_id WHERE c.id IS NULL",
    )
    .get() as { n: number };
  expect(orphans.n).toBe(0);
  const wrong = db.sqlite
    .prepare(
      `SELECT COUNT(*) AS n FROM union_clusters c
       WHERE c.record_count <> (SELECT COUNT(*) FROM union_records r WHERE r.cluster_id = c.id)
          OR (SELECT cluster_id FROM union_records WHERE rid = c.preferred_rid) IS NOT c.id`,
    )
    .get() as { n: number };
  expect(wrong.n).toBe(0);
  const fts = db.sqlite.prepare("SELECT COUNT(*) AS n FROM union_fts").get() as { n: number };
  const records = db.sqlite.prepare("SELECT COUNT(*) AS n FROM union_records").get() as { n: number };
  expect(fts.n).toBe(records.n);
  // Every cluster shows what a full refresh would give it (#refreshCluster "all"), however it was
  // placed: its preferred record (first in preference order), that record's summary, its counts
  // and identifiers, and its current OAI-PMH holders.
  const identifiers = (kind: string) =>
    `(SELECT COALESCE(group_concat(substr(key, 6), ' '), '') FROM (SELECT DISTINCT k.key FROM union_records x
       JOIN union_record_keys k ON k.rid = x.rid WHERE x.cluster_id = c.id AND k.strong = 1 AND k.key LIKE '${kind}:%'
       ORDER BY k.key))`;
  const clusters = db.sqlite
    .prepare(
      `SELECT c.id, c.preferred_rid, c.institution_count, c.isbns, c.issns, c.title, c.title_vernacular, c.author,
         c.year, c.language, c.format, p.summary,
         (SELECT rid FROM union_records WHERE cluster_id = c.id
          ORDER BY completeness DESC, received_at, institution_id, record_id LIMIT 1) AS first_rid,
         (SELECT COUNT(DISTINCT institution_id) FROM union_records WHERE cluster_id = c.id) AS institutions,
         ${identifiers("isbn")} AS isbn_keys, ${identifiers("issn")} AS issn_keys,
         (SELECT group_concat(institution_id) FROM (SELECT DISTINCT institution_id FROM union_records
          WHERE cluster_id = c.id ORDER BY 1)) AS holding,
         (SELECT group_concat(institution_id) FROM (SELECT institution_id FROM union_oai_holders
          WHERE cluster_id = c.id AND current = 1 ORDER BY 1)) AS oai_holders
       FROM union_clusters c JOIN union_records p ON p.rid = c.preferred_rid`,
    )
    .all() as Array<Record<string, string | number>>;
  for (const c of clusters) {
    const summary = JSON.parse(c.summary as string) as Record<string, string>;
    expect({
      preferred: c.preferred_rid,
      institutions: c.institution_count,
      isbns: c.isbns,
      issns: c.issns,
      oai: c.oai_holders,
      shown: [c.title, c.title_vernacular, c.author, c.year, c.language, c.format],
    }).toEqual({
      preferred: c.first_rid,
      institutions: c.institutions,
      isbns: c.isbn_keys,
      issns: c.issn_keys,
      oai: c.holding,
      shown: [
        summary.title,
        summary.titleVernacular,
        summary.author,
        summary.year,
        summary.language,
        summary.format,
      ],
    });
  }
}

describe("UnionCatalog", () => {
  let db: Database;
  let cat: UnionCatalog;
  beforeEach(() => {
    ({ db, cat } = open());
  });

  it("is what the sync receiver needs", () => {
    const sink: CatalogSink = cat;
    expect(sink).toBe(cat);
  });

  describe("clusters that must form", () => {
    it("M3: one cluster for the same OCLC number, LCCN and ISBN from two libraries; the fuller record preferred", () => {
      // UVA u678 and u679: two records of "Self-organizing methods in modeling" (oclc 10710641).
      const [a, b] = [uva[660]!, uva[661]!];
      const fuller = recordCompleteness(a) > recordCompleteness(b) ? a : b;
      const thinner = fuller === a ? b : a;
      // The thinner record arrives first, so "oldest wins" cannot explain the choice.
      cat.apply("south-member", upsert("south-lib", thinner, [item("S1", "main"), item("S2", "annex")]));
      cat.apply("north-member", upsert("north-lib", fuller, [item("N1", "science")]));
      const id = cat.clusterOf("north-lib", idOf(fuller))!;
      expect(cat.clusterOf("south-lib", idOf(thinner))).toBe(id);
      const c = cat.getCluster(id)!;
      expect(c.id).toMatch(/^north-center:c\d+$/);
      expect(c.preferred.institutionId).toBe("north-lib");
      expect(c.preferred.recordId).toBe(idOf(fuller));
      expect(c.records.map((r) => `${r.institutionId}/${r.recordId}`).sort()).toEqual(
        [`north-lib/${idOf(fuller)}`, `south-lib/${idOf(thinner)}`].sort(),
      );
      expect(c.holdings.map((h) => [h.institutionId, h.holdings.map((x) => x.barcode)])).toEqual([
        ["north-lib", ["N1"]],
        ["south-lib", ["S1", "S2"]],
      ]);
      expect(c.summary.title).toBe("Self-organizing methods in modeling : GMDH-type algorithms");
      expect(c.summary.isbns).toEqual(["9780824771614"]);
      expect(c.summary.institutionCount).toBe(2);
      expect(c.summary.format).toBe("book");
      expect(cat.stats()).toMatchObject({ records: 2, clusters: 1, merges: 0 });
      checkInvariants(db);
    });

    it("M4: one cluster for two records sharing only an LCCN", () => {
      // "The courtship of Miles Standish" (1859), LCCN 22015173, twice at UVA.
      cat.apply("m1", upsert("lib-a", uva[1659]!));
      cat.apply("m2", upsert("lib-b", uva[1660]!));
      expect(cat.stats().clusters).toBe(1);
    });

    it("M5: one cluster by the fuzzy key where the LCCNs differ (LC's prepublication record and its replacement)", () => {
      // DLC-R 00314247 (encoding level 5) and UIU/DLC 2008543486, whose 010 $z cancels 2000314247.
      const [pre, full] = [traject[3]!, traject[28]!];
      cat.apply("m1", upsert("lib-a", pre));
      cat.apply("m2", upsert("lib-b", full));
      const c = cat.getCluster(cat.clusterOf("lib-a", idOf(pre))!)!;
      expect(c.records).toHaveLength(2);
      expect(c.preferred.recordId).toBe(idOf(full));
      expect(c.summary.titleVernacular).toContain("火山灰地");
    });

    it("merges two clusters when a record bridges them, keeping the older id", () => {
      // Two editions of "Abrégé de cytologie" (Masson 1975 and 1977), then a record that lists
      // both ISBNs, as records do when a publisher reuses a number.
      const [ed1, ed2] = [nlm[1]!, nlm[2]!];
      cat.apply("m1", upsert("lib-a", ed1));
      cat.apply("m2", upsert("lib-b", ed2));
      const first = cat.clusterOf("lib-a", idOf(ed1))!;
      const second = cat.clusterOf("lib-b", idOf(ed2))!;
      expect(first).not.toBe(second);
      const bridge = structuredClone(ed2);
      bridge.fields.splice(
        bridge.fields.findIndex((f) => f.tag === "020"),
        0,
        {
          tag: "020",
          ind1: " ",
          ind2: " ",
          subfields: [{ code: "a", value: subfieldValues(ed1, "020", "a")[0]! }],
        },
      );
      cat.apply("m3", upsert("lib-c", bridge, [], "bridge-1"));
      expect(cat.clusterOf("lib-a", idOf(ed1))).toBe(first);
      expect(cat.clusterOf("lib-b", idOf(ed2))).toBe(first);
      expect(cat.clusterOf("lib-c", "bridge-1")).toBe(first);
      const merged = cat.getCluster(second)!;
      expect(merged.id).toBe(first);
      expect(merged.aliases).toEqual([second]);
      expect(cat.stats()).toMatchObject({ clusters: 1, merges: 1 });

      // Without the bridge the editions fall apart again; the survivor keeps its id.
      cat.apply("m3", del("lib-c", "bridge-1"));
      expect(cat.stats().clusters).toBe(2);
      expect(cat.clusterOf("lib-a", idOf(ed1))).toBe(first);
      expect(cat.clusterOf("lib-b", idOf(ed2))).not.toBe(first);
      checkInvariants(db);
    });
  });

  describe("the sample records (data/marc/OVERLAPS.md)", () => {
    const FILES = [
      "solrmarc-uva/uva_001_2000.mrc",
      "traject/test_data.utf8.mrc",
      "folio-mod-data-import/CornellFOLIOExemplars.mrc",
      "folio-mod-data-import/100.mrc",
      "folio-mod-data-import/UChicago_SampleBibs-distinct.xml",
      "lc-marc2bibframe2/loc_general.xml",
      "lc-marc2bibframe2/nlm.xml",
      "lc-marc2bibframe2/princeton.xml",
    ];

    it("merges exactly M1–M5 when every record arrives from the library that catalogued it", () => {
      let applied = 0;
      for (const file of FILES) {
        load(`data/marc/${file}`).forEach((r, i) => {
          let marc: Buffer;
          try {
            marc = toIso2709(r);
          } catch {
            return; // over ISO 2709's size limit: no member can send it
          }
          // The cataloging agency (040 $a) stands for the institution, as in OVERLAPS.md.
          const institution = subfieldValues(r, "040", "a")[0] ?? "unknown";
          cat.apply(`member-${institution}`, {
            kind: "upsert",
            institutionId: institution,
            recordId: `${file}#${i}`,
            marc,
            holdings: [],
            changedAt: new Date(),
          });
          applied++;
        });
      }
      expect(applied).toBeGreaterThan(2400);
      const merged = partition(db)
        .filter((c) => c.length > 1)
        .map((c) => c.map((ref) => ref.slice(ref.indexOf("/") + 1)).sort());
      expect(merged.sort()).toEqual(
        [
          ["solrmarc-uva/uva_001_2000.mrc#114", "solrmarc-uva/uva_001_2000.mrc#115"],
          ["solrmarc-uva/uva_001_2000.mrc#185", "solrmarc-uva/uva_001_2000.mrc#186"],
          ["solrmarc-uva/uva_001_2000.mrc#660", "solrmarc-uva/uva_001_2000.mrc#661"],
          ["solrmarc-uva/uva_001_2000.mrc#1659", "solrmarc-uva/uva_001_2000.mrc#1660"],
          ["traject/test_data.utf8.mrc#28", "traject/test_data.utf8.mrc#3"],
        ].sort(),
      );
      expect(cat.stats()).toMatchObject({ records: applied, clusters: applied - 5 });
      checkInvariants(db);
    });
  });

  describe("clusters that must not form", () => {
    it("N3, N4, N6: keeps editions apart", () => {
      // Pretest "Anatomy, histology & cell biology" 2nd, 3rd, 4th editions (own ISBNs and LCCNs);
      // "Bau und Funktion tierischer Zellen" 1961 and 3rd ed. 1965 (no identifiers at all).
      const editions = [nlm[34]!, nlm[35]!, nlm[36]!, nlm[86]!, nlm[87]!, nlm[1]!, nlm[2]!];
      editions.forEach((r, i) => {
        cat.apply(`m${i}`, upsert(`lib-${i}`, r));
      });
      expect(cat.stats().clusters).toBe(editions.length);
    });

    it("keeps two printings of one speech apart", () => {
      // "Modern democracy, the ally of slavery" (1856): Buell & Blanchard and Greely & McElrath.
      cat.apply("m1", upsert("lib-a", uva[1336]!));
      cat.apply("m2", upsert("lib-b", uva[1339]!));
      expect(cat.stats().clusters).toBe(2);
    });

    it("N12, N13: keeps one library's records apart when only their descriptions match", () => {
      // ProQuest Serial Set 4348311 and 4348312 differ only in 246 "v. 1" / "v. 2"; UVA's two
      // records of the 1815 "Acts and resolutions" only in the copy description.
      cat.apply("m1", upsert("lib-a", folio100[87]!));
      cat.apply("m1", upsert("lib-a", folio100[88]!));
      cat.apply("m2", upsert("lib-b", uva[1297]!));
      cat.apply("m2", upsert("lib-b", uva[1304]!));
      expect(cat.stats().clusters).toBe(4);
      // From two libraries the same descriptions are one book.
      cat.apply("m3", upsert("lib-c", uva[1304]!, [], "copy"));
      expect(cat.stats().clusters).toBe(4);
      expect(cat.getCluster(cat.clusterOf("lib-c", "copy")!)!.records).toHaveLength(2);
    });
  });

  describe("change log", () => {
    it("logs upserts and deletes, sends current state, and skips what did not change", () => {
      const r = uva[0]!;
      cat.apply("m1", upsert("lib-a", r));
      expect(cat.headSeq()).toBe(1n);
      // The same record again is a no-op: nothing logged.
      cat.apply("m1", upsert("lib-a", r));
      expect(cat.headSeq()).toBe(1n);
      // New holdings are a change.
      cat.apply("m1", upsert("lib-a", r, [item("X1"), item("X2")]));
      expect(cat.headSeq()).toBe(2n);
      const [entry] = cat.changesAfter(0n, 10);
      // One live entry per record: the older one was replaced.
      expect(entry!.seq).toBe(2n);
      expect(entry!.change.kind).toBe("upsert");
      expect(entry!.change.kind === "upsert" && entry!.change.holdings.map((h) => h.barcode)).toEqual([
        "X1",
        "X2",
      ]);

      const id = cat.clusterOf("lib-a", idOf(r))!;
      cat.apply("m1", del("lib-a", idOf(r)));
      expect(cat.headSeq()).toBe(3n);
      expect(cat.changesAfter(2n, 10)).toEqual([
        {
          seq: 3n,
          change: { kind: "delete", institutionId: "lib-a", recordId: idOf(r), changedAt: expect.any(Date) },
        },
      ]);
      // An entry from before the delete, read now, is the tombstone too.
      expect(cat.changesAfter(0n, 10).map((e) => e.change.kind)).toEqual(["delete"]);
      expect(cat.getCluster(id)).toBeUndefined();
      // Deleting what is not there logs nothing.
      cat.apply("m1", del("lib-a", idOf(r)));
      expect(cat.headSeq()).toBe(3n);
      checkInvariants(db);
    });

    it("keeps due dates: getCluster returns them, and a changed due date alone is an update", () => {
      const r = uva[0]!;
      const out = (dueDate: string): HoldingData => ({ ...item("D1"), status: "on_loan", dueDate });
      cat.apply("m1", upsert("lib-a", r, [out("2026-12-14"), item("D2")]));
      const id = cat.clusterOf("lib-a", idOf(r))!;
      expect(cat.getCluster(id)!.holdings).toEqual([
        { institutionId: "lib-a", recordIds: [idOf(r)], holdings: [out("2026-12-14"), item("D2")] },
      ]);
      // Holdings without a due date are stored as before: no key.
      expect("dueDate" in cat.getCluster(id)!.holdings[0]!.holdings[1]!).toBe(false);
      cat.apply("m1", upsert("lib-a", r, [out("2026-12-14"), item("D2")]));
      expect(cat.headSeq()).toBe(1n);
      cat.apply("m1", upsert("lib-a", r, [out("2027-01-04"), item("D2")]));
      expect(cat.headSeq()).toBe(2n);
      expect(cat.getCluster(id)!.holdings[0]!.holdings[0]!.dueDate).toBe("2027-01-04");
      // And it is sent on to the tier above.
      const [entry] = cat.changesAfter(0n, 10);
      expect(entry!.change.kind === "upsert" && entry!.change.holdings[0]!.dueDate).toBe("2027-01-04");
      const national = open("national").cat;
      national.apply("north-center", entry!.change);
      const n = national.getCluster(national.clusterOf("lib-a", idOf(r))!)!;
      expect(n.holdings[0]!.holdings.map((h) => h.dueDate)).toEqual(["2027-01-04", undefined]);
    });

    it("recomputes the preferred record when it is deleted, and removes an emptied cluster", () => {
      const [a, b] = [uva[660]!, uva[661]!];
      cat.apply("m1", upsert("lib-a", a));
      cat.apply("m2", upsert("lib-b", b));
      const id = cat.clusterOf("lib-a", idOf(a))!;
      const before = cat.getCluster(id)!.preferred;
      cat.apply(before.institutionId === "lib-a" ? "m1" : "m2", del(before.institutionId, before.recordId));
      const after = cat.getCluster(id)!;
      expect(after.records).toHaveLength(1);
      expect(after.preferred.recordId).not.toBe(before.recordId);
      expect(after.holdings.map((h) => h.institutionId)).toEqual([after.preferred.institutionId]);
      cat.apply("mx", del(after.preferred.institutionId, after.preferred.recordId));
      expect(cat.getCluster(id)).toBeUndefined();
      expect(cat.stats()).toMatchObject({ records: 0, clusters: 0 });
      checkInvariants(db);
    });

    it("keeps the records of an unreadable blob, unmatched", () => {
      const junk = new TextEncoder().encode("00026nam a2200025 a 4500xx");
      cat.apply("m1", {
        kind: "upsert",
        institutionId: "lib-a",
        recordId: "j1",
        marc: junk,
        holdings: [],
        changedAt: new Date(),
      });
      expect(cat.stats()).toMatchObject({ records: 1, clusters: 1, unreadable: 1 });
      expect(cat.changesAfter(0n, 10)).toHaveLength(1);
    });
  });

  describe("resync", () => {
    it("deletes what the source did not send again, and only that source's records", () => {
      const mine = uva.slice(0, 5);
      for (const r of mine) cat.apply("m1", upsert("lib-a", r));
      cat.apply("m2", upsert("lib-b", uva[10]!));
      const head = cat.headSeq();
      cat.beginResync("m1", 7n);
      // Three of five sent again, one of them changed.
      cat.apply("m1", upsert("lib-a", mine[0]!));
      cat.apply("m1", upsert("lib-a", mine[1]!));
      cat.apply("m1", upsert("lib-a", mine[2]!, [item("NEW")]));
      expect(cat.endResync("m1", 7n)).toBe(2);
      expect(cat.stats().records).toBe(4);
      expect(cat.clusterOf("lib-a", idOf(mine[3]!))).toBeUndefined();
      expect(cat.clusterOf("lib-b", idOf(uva[10]!))).toBeDefined();
      const logged = cat.changesAfter(head, 10).map((e) => `${e.change.kind}:${e.change.recordId}`);
      expect(logged).toEqual([
        `upsert:${idOf(mine[2]!)}`,
        `delete:${idOf(mine[3]!)}`,
        `delete:${idOf(mine[4]!)}`,
      ]);
      // Ending the same epoch again (a retried END) changes nothing; an unknown one is refused.
      expect(cat.endResync("m1", 7n)).toBe(0);
      expect(() => cat.endResync("m1", 8n)).toThrow(ResyncStateError);
      checkInvariants(db);
    });
  });

  describe("operator split", () => {
    it("moves records to a new cluster and remembers not to merge them again", () => {
      const [a, b] = [uva[660]!, uva[661]!];
      cat.apply("m1", upsert("lib-a", a));
      cat.apply("m2", upsert("lib-b", b));
      const id = cat.clusterOf("lib-a", idOf(a))!;
      const newId = cat.split(id, [{ institutionId: "lib-b", recordId: idOf(b) }], "different bindings");
      expect(newId).not.toBe(id);
      expect(cat.clusterOf("lib-a", idOf(a))).toBe(id);
      expect(cat.clusterOf("lib-b", idOf(b))).toBe(newId);
      expect(cat.listSplits()).toEqual([
        {
          id: 1,
          createdAt: expect.any(Date),
          fromCluster: id,
          newCluster: newId,
          reason: "different bindings",
          records: [{ institutionId: "lib-b", recordId: idOf(b) }],
          rest: [{ institutionId: "lib-a", recordId: idOf(a) }],
        },
      ]);

      // Sent again, changed, deleted and re-added: still apart.
      cat.apply("m2", upsert("lib-b", b, [item("again")]));
      cat.apply("m2", del("lib-b", idOf(b)));
      cat.apply("m2", upsert("lib-b", b));
      expect(cat.clusterOf("lib-b", idOf(b))).not.toBe(cat.clusterOf("lib-a", idOf(a)));
      // A third library's copy joins one side, not both.
      cat.apply("m3", upsert("lib-c", a));
      expect(cat.stats().clusters).toBe(2);
      expect(cat.stats().merges).toBe(0);

      expect(cat.removeSplit(1)).toBe(true);
      expect(cat.stats().clusters).toBe(1);
      checkInvariants(db);
    });

    it("refuses splits that make no sense", () => {
      cat.apply("m1", upsert("lib-a", uva[660]!));
      cat.apply("m2", upsert("lib-b", uva[661]!));
      const id = cat.clusterOf("lib-a", idOf(uva[660]!))!;
      expect(() => cat.split(id, [])).toThrow(InvalidSplitError);
      expect(() => cat.split(id, [{ institutionId: "lib-z", recordId: "1" }])).toThrow(InvalidSplitError);
      expect(() =>
        cat.split(id, [
          { institutionId: "lib-a", recordId: idOf(uva[660]!) },
          { institutionId: "lib-b", recordId: idOf(uva[661]!) },
        ]),
      ).toThrow(InvalidSplitError);
      expect(() => cat.split("north-center:c999", [])).toThrow(UnknownClusterError);
    });
  });

  describe("reading", () => {
    it("finds clusters by title, ISBN in either form, and CJK words of two characters", () => {
      for (const r of traject) cat.apply("m1", upsert("lib-a", r));
      for (const r of uchicago) cat.apply("m2", upsert("lib-b", r));
      const search = (q: string) => cat.searchClusters(q, 10).map((h) => h.summary.title);

      expect(search(`title : (${toFtsQuery("Kazanbaichi")})`)[0]).toMatch(/Kubo Sakae/);
      // "火山灰地" (volcanic ash land) is one run without spaces: its bigram "灰地" is a word of it.
      expect(search(`title : (${toFtsQuery("灰地")})`)[0]).toMatch(/Kubo Sakae/);
      const isbn10 = "4588460056";
      expect(search(`isbn : ${normalizeIsbn(isbn10)}`)[0]).toMatch(/Kubo Sakae/);
      // UChicago's Chinese, Japanese and Korean titles, by words of their vernacular 880s only.
      const vernacular = (q: string) =>
        cat.searchClusters(`title : (${toFtsQuery(q)})`, 10).map((h) => h.summary.titleVernacular);
      expect(vernacular("戏曲")).toEqual(["傅惜华藏古典戏曲曲谱身段谱丛刊"]);
      expect(vernacular("移住")[0]).toMatch(/^110年のアルバム/);
      expect(vernacular("노동 조합")).toEqual(["노동 조합 의 사회적 위상 과 미래 역할"]);
      expect(cat.searchClusters(toFtsQuery("zzzzqqq")!, 10)).toEqual([]);
    });

    it("counts downloads per institution, also through a merged cluster's old id", () => {
      const [ed1, ed2] = [nlm[1]!, nlm[2]!];
      cat.apply("m1", upsert("lib-a", ed1));
      cat.apply("m2", upsert("lib-b", ed2));
      const second = cat.clusterOf("lib-b", idOf(ed2))!;
      const got = cat.recordDownload(second, "lib-x");
      expect(got.recordId).toBe(idOf(ed2));
      expect(got.marc).toEqual(new Uint8Array(toIso2709(ed2)));
      const bridge = structuredClone(ed2);
      bridge.fields.push({
        tag: "020",
        ind1: " ",
        ind2: " ",
        subfields: [{ code: "a", value: subfieldValues(ed1, "020", "a")[0]! }],
      });
      cat.apply("m3", upsert("lib-c", bridge, [], "bridge"));
      const after = cat.recordDownload(second, "lib-x");
      expect(after.clusterId).not.toBe(second);
      cat.recordDownload(after.clusterId, "lib-y");
      expect(cat.getCluster(after.clusterId)!.downloads).toBe(3);
      expect(cat.downloadCounts()).toEqual([
        { institutionId: "lib-x", downloads: 2 },
        { institutionId: "lib-y", downloads: 1 },
      ]);
      expect(() => cat.recordDownload("north-center:c9999", "lib-x")).toThrow(UnknownClusterError);
      expect(() => cat.recordDownload("south-center:c1", "lib-x")).toThrow(UnknownClusterError);
    });

    it("exports well-formed MARCXML: one record per cluster, one 852 per holding institution", () => {
      const [a, b] = [uva[660]!, uva[661]!];
      cat.apply(
        "m1",
        upsert("lib-a", a, [item("A1", "main", "QA402 .F3"), item("A2", "annex", "QA402 .F3")]),
      );
      cat.apply("m2", upsert("lib-b", b, [item("B1", "science", "QA402 .F3 1984")]));
      cat.apply("m2", upsert("lib-b", traject[3]!, []));
      const chunks: string[] = [];
      expect(cat.exportMarcXml((c) => chunks.push(c))).toEqual({ records: 2, skipped: 0 });
      const parsed = parseMarcXml(chunks.join(""));
      expect(parsed.every((r) => r.ok)).toBe(true);
      const records = parsed.map((r) => (r.ok ? r.record : undefined)!);
      expect(records).toHaveLength(2);
      const merged = records.find((r) =>
        subfieldValues(r, "035", "a").includes(`(LRS)${cat.clusterOf("lib-a", idOf(a))}`),
      )!;
      const f852 = getDataFields(merged, "852").map((f) =>
        f.subfields.map((s) => `$${s.code}${s.value}`).join(""),
      );
      expect(f852).toEqual(["$alib-a$bmain$bannex$hQA402 .F3$t2", "$alib-b$bscience$hQA402 .F3 1984$pB1"]);
      // The contributing library's own item fields (UVA's 999) are not passed on as union holdings.
      expect(getDataFields(merged, "999")).toEqual([]);
      const single = records.find((r) => r !== merged)!;
      expect(getDataFields(single, "852").map((f) => f.subfields)).toEqual([[{ code: "a", value: "lib-b" }]]);
    });

    it("exports a page of clusters at a time: the same document, each cluster once while the catalog changes", () => {
      for (const r of uva.slice(0, 7)) cat.apply("m1", upsert("lib-a", r));
      const whole: string[] = [];
      expect(cat.exportMarcXml((c) => whole.push(c))).toEqual({ records: 7, skipped: 0 });
      const pieces = [...cat.exportMarcXmlPages(2)];
      expect(pieces).toHaveLength(1 + 4 + 1); // head, 4 pages of up to 2 clusters, end
      expect(pieces.join("")).toBe(whole.join(""));

      // Between pages: a cluster already written is deleted, a later one changes, a new one comes.
      const pages = cat.exportMarcXmlPages(2);
      const read = [pages.next().value, pages.next().value] as string[];
      cat.apply("m1", del("lib-a", idOf(uva[0]!)));
      cat.apply("m1", upsert("lib-a", uva[6]!, [item("NEW1", "annex")]));
      cat.apply("m1", upsert("lib-a", uva[7]!));
      for (let next = pages.next(); !next.done; next = pages.next()) read.push(next.value);
      const records = parseMarcXml(read.join("")).map((r) => (r.ok ? r.record : undefined)!);
      const ids = records.map((r) => subfieldValues(r, "035", "a").find((v) => v.startsWith("(LRS)")));
      expect(new Set(ids).size).toBe(ids.length);
      expect(ids).toHaveLength(8); // the 7 as they stood, the deleted one already written, plus the new one
      const changed = records.find((r) => controlValue(r, "001") === idOf(uva[6]!))!;
      const located = getDataFields(changed, "852")[0]!.subfields.filter((x) => x.code === "b");
      expect(located.map((x) => x.value)).toEqual(["annex"]);
    });
  });

  describe("ChangeFeed", () => {
    it("snapshots every record and reads it while the catalog is being written", () => {
      for (const r of uva.slice(0, 1200)) cat.apply("m1", upsert("lib-a", r));
      const snap = cat.snapshot();
      expect(snap.seq).toBe(cat.headSeq());
      let n = 0;
      for (const rec of snap.records) {
        // Writing between pages must work: nothing holds the connection.
        if (n === 600) cat.apply("m2", upsert("lib-b", uva[1500]!));
        expect(rec.kind).toBe("upsert");
        n++;
      }
      expect(n).toBe(1201);
    });

    it("forwards a regional catalog to the national one, institution by institution", () => {
      const [a, b] = [uva[660]!, uva[661]!];
      cat.apply("member-a", upsert("lib-a", a));
      cat.apply("member-b", upsert("lib-b", b));
      cat.apply("member-b", upsert("lib-b", uva[5]!));
      cat.apply("member-b", del("lib-b", idOf(uva[5]!)));
      const national = open("national").cat;
      const entries = cat.changesAfter(0n, 100);
      for (const e of entries) national.apply("north-center", e.change);
      const id = national.clusterOf("lib-a", idOf(a))!;
      expect(id).toMatch(/^national:c/);
      const c = national.getCluster(id)!;
      expect(c.holdings.map((h) => h.institutionId)).toEqual(["lib-a", "lib-b"]);
      expect(c.records.every((r) => r.source === "north-center")).toBe(true);
      expect(national.stats().records).toBe(2);
      // Replaying the regional log is harmless.
      const head = national.headSeq();
      for (const e of entries) national.apply("north-center", e.change);
      expect(national.headSeq()).toBe(head);
    });
  });

  describe("migrations", () => {
    it("moves a catalog written with version 20's schema to version 21's", () => {
      const dir = mkdtempSync(join(tmpdir(), "lrs-union-"));
      try {
        const path = join(dir, "db.sqlite");
        const v20 = unionCatalogMigrations.filter((m) => m.version === 20);
        const old = Database.open(path, [...sharedMigrations, ...v20]);
        // What version 20's code wrote: a search document per cluster, summary and search text per record.
        const r = uva[660]!;
        const marc = toIso2709(r);
        const d = describeRecord(marc);
        old.sqlite.exec(
          `INSERT INTO union_clusters VALUES (7, 't', 't', 1, 1, 1, '', '', '', '', '', '', '', '')`,
        );
        old.sqlite
          .prepare(
            `INSERT INTO union_records VALUES (1, 'lib-a', ?, 'm1', 7, ?, '[]', 'x', 't', 't', 't', NULL, ?, 1, ?)`,
          )
          .run(idOf(r), marc, d.completeness, JSON.stringify({ summary: d.summary, search: d.search }));
        for (const k of d.strong) old.sqlite.prepare("INSERT INTO union_record_keys VALUES (?, 1, 1)").run(k);
        old.sqlite.prepare("INSERT INTO union_fts (rowid, title) VALUES (7, ?)").run(d.search.title);
        old.close();

        const db = Database.open(path, [...sharedMigrations, ...unionCatalogMigrations]);
        const cat = new UnionCatalog(db, { nodeId: "north-center", now });
        expect(cat.searchClusters(`title : ${toFtsQuery("GMDH")}`, 5).map((h) => h.id)).toEqual([
          "north-center:c7",
        ]);
        cat.apply("m2", upsert("lib-b", uva[661]!));
        expect(cat.clusterOf("lib-b", idOf(uva[661]!))).toBe("north-center:c7");
        expect(cat.getCluster("north-center:c7")!.summary.title).toMatch(/^Self-organizing methods/);
        checkInvariants(db);
        db.close();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  });

  describe("invariants", () => {
    // A pool with every kind of relation: shared identifiers, a fuzzy-only pair, editions, a bridge.
    const bridge = structuredClone(nlm[2]!);
    bridge.fields.push({
      tag: "020",
      ind1: " ",
      ind2: " ",
      subfields: [{ code: "a", value: subfieldValues(nlm[1]!, "020", "a")[0]! }],
    });
    const pool: MarcRecord[] = [
      uva[660]!,
      uva[661]!,
      traject[3]!,
      traject[28]!,
      nlm[1]!,
      nlm[2]!,
      bridge,
      nlm[86]!,
      nlm[87]!,
      uva[1659]!,
    ];
    // A record id may be given different content over time, so that records change their keys.
    const op = fc.record({
      kind: fc.constantFrom("upsert", "upsert", "upsert", "delete", "split", "unsplit"),
      slot: fc.integer({ min: 0, max: 5 }),
      content: fc.integer({ min: 0, max: pool.length - 1 }),
      institution: fc.constantFrom("lib-a", "lib-b", "lib-c"),
      barcode: fc.constantFrom("1", "2"),
    });

    /** The clusters the rules give for the records and splits held now (clustering.ts, from scratch). */
    function expected(db: Database): string[][] {
      const keys = db.sqlite
        .prepare(
          `SELECT r.institution_id AS inst, r.institution_id || '/' || r.record_id AS ref, k.key, k.strong
           FROM union_records r LEFT JOIN union_record_keys k ON k.rid = r.rid`,
        )
        .all() as Array<{ inst: string; ref: string; key: string | null; strong: number | null }>;
      const inputs = new Map<string, ClusterInput>();
      for (const k of keys) {
        const input = inputs.get(k.ref) ?? { ref: k.ref, institution: k.inst, strong: [], fuzzy: undefined };
        if (k.key !== null && k.strong === 1) (input.strong as string[]).push(k.key);
        else if (k.key !== null) input.fuzzy = k.key;
        inputs.set(k.ref, input);
      }
      const sides = new Map<string, SplitSide[]>();
      const rows = db.sqlite
        .prepare("SELECT split_id, institution_id || '/' || record_id AS ref, side FROM union_split_members")
        .all() as Array<{ split_id: number; ref: string; side: 0 | 1 }>;
      for (const r of rows)
        sides.set(r.ref, [...(sides.get(r.ref) ?? []), { splitId: r.split_id, side: r.side }]);
      return clusterRecords([...inputs.values()], sides).map((g) => g.refs);
    }

    it("holds exactly the clusters the rules give, after any sequence of changes and splits", () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 30 }), (ops) => {
          const { db, cat } = open();
          for (const o of ops) {
            const recordId = `r${o.slot}`;
            if (o.kind === "upsert") {
              cat.apply("m", upsert(o.institution, pool[o.content]!, [item(o.barcode)], recordId));
            } else if (o.kind === "delete") {
              cat.apply("m", del(o.institution, recordId));
            } else if (o.kind === "split") {
              const id = cat.clusterOf(o.institution, recordId);
              const c = id === undefined ? undefined : cat.getCluster(id);
              if (c && c.records.length > 1) cat.split(c.id, [{ institutionId: o.institution, recordId }]);
            } else {
              const first = cat.listSplits()[0];
              if (first) cat.removeSplit(first.id);
            }
            checkInvariants(db);
            expect(partition(db)).toEqual(expected(db));
          }
          // Re-applying the final state is a no-op.
          const before = partition(db);
          const head = cat.headSeq();
          const state = [...cat.snapshot().records];
          for (const s of state) cat.apply("m", s);
          expect(cat.headSeq()).toBe(head);
          expect(partition(db)).toEqual(before);
          // Without splits, the same records applied to an empty catalog, in another order, give the same clusters.
          if (cat.listSplits().length === 0) {
            const fresh = open();
            for (const s of [...state].reverse()) fresh.cat.apply("m", s);
            expect(partition(fresh.db)).toEqual(before);
          }
        }),
        { numRuns: 100 },
      );
    });

    it("gives the same catalog for changes applied in batches (some described beforehand) as one by one", () => {
      /** Everything the catalog holds; the change log by its order (a record changed twice in a batch takes one number). */
      const content = (db: Database) =>
        [
          "SELECT * FROM union_clusters ORDER BY id",
          "SELECT rid, institution_id, record_id, cluster_id, digest, received_at, updated_at, summary FROM union_records ORDER BY rid",
          "SELECT * FROM union_record_keys ORDER BY key, rid",
          "SELECT institution_id, record_id, changed_at FROM union_changes ORDER BY seq",
          "SELECT * FROM union_oai ORDER BY cluster_id",
          "SELECT * FROM union_oai_holders ORDER BY 1, 2",
          "SELECT * FROM union_cluster_aliases ORDER BY alias",
          "SELECT * FROM union_merges ORDER BY id",
          "SELECT rowid, * FROM union_fts ORDER BY rowid",
        ].map((sql) => db.sqlite.prepare(sql).all());
      const opened = () => {
        let t = Date.parse("2026-01-01T00:00:00Z");
        const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
        return {
          db,
          cat: new UnionCatalog(db, {
            nodeId: "north-center",
            now: () => {
              t += 1000;
              return new Date(t);
            },
          }),
        };
      };
      const change = fc.record({
        kind: fc.constantFrom("upsert", "upsert", "upsert", "delete"),
        slot: fc.integer({ min: 0, max: 5 }),
        content: fc.integer({ min: 0, max: pool.length - 1 }),
        institution: fc.constantFrom("lib-a", "lib-b"),
        batchEnds: fc.boolean(),
        described: fc.boolean(),
      });
      fc.assert(
        fc.property(fc.array(change, { maxLength: 25 }), (ops) => {
          const changes = ops.map((o) =>
            o.kind === "upsert"
              ? upsert(o.institution, pool[o.content]!, [item("1")], `r${o.slot}`)
              : del(o.institution, `r${o.slot}`),
          );
          const one = opened();
          for (const c of changes) one.cat.apply("m", c);
          const batched = opened();
          let batch: RecordChange[] = [];
          const described = new Map<Uint8Array, ReturnType<typeof describeRecord>>();
          ops.forEach((o, i) => {
            const c = changes[i]!;
            batch.push(c);
            if (c.kind === "upsert" && o.described) described.set(c.marc, describeRecord(c.marc));
            if (o.batchEnds || i === ops.length - 1) {
              batched.db.transaction(() => batched.cat.applyBatch("m", batch, described));
              batch = [];
            }
          });
          expect(content(batched.db)).toEqual(content(one.db));
          checkInvariants(batched.db);
        }),
        { numRuns: 40 },
      );
    });
  });
});
