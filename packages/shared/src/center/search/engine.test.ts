import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { MemberCatalog, type MemberSearchOptions, memberMigrations, searchMember } from "@lrs/member-node";
// The member's search runs in @lrs/member-node, built against @lrs/shared's compiled code: its
// errors are that copy's classes.
import {
  CqlParseError as MemberCqlParseError,
  Database as MemberDatabase,
  SearchCursorError as MemberSearchCursorError,
} from "@lrs/shared";
import BetterSqlite3 from "better-sqlite3";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { INDEX_COLUMNS } from "../../catalog-index/columns.js";
import { formatAndLanguage } from "../../catalog-index/kind.js";
import type { HoldingData } from "../../catalog-sync/change-feed.js";
import { CqlDiagnostic, CqlParseError } from "../../cql/errors.js";
import { parseCql } from "../../cql/parser.js";
import { Database } from "../../db.js";
import { controlValue } from "../../marc/fields.js";
import { toIso2709 } from "../../marc/iso2709.js";
import { readMarcFile } from "../../marc/read-marc-file.js";
import type { MarcRecord } from "../../marc/record.js";
import { sharedMigrations } from "../../migrations.js";
import { compileQuery, type SearchPlan } from "../../search/compile.js";
import { SearchCursorError } from "../../search/cursor.js";
import type { SearchOptions } from "../../search/engine.js";
import type { EngineHit, EngineResult } from "../../search/engine-types.js";
import { type PooledSearch, pooledSearch } from "../../search/pooled.js";
import { describeRecord } from "../union/describe.js";
import { unionCatalogMigrations } from "../union/migrations.js";
import { UnionCatalog } from "../union/union-catalog.js";
import { searchUnion } from "./union-engine.js";
import type { UnionSearchTask } from "./union-worker.js";

const DATA = fileURLToPath(new URL("../../../../../data/marc/", import.meta.url));

/** Four libraries in two regions take the sample records in turn; lib-e is in no known region. */
const INSTITUTIONS = ["lib-a", "lib-b", "lib-c", "lib-d"] as const;
const REGIONS: Readonly<Record<string, string>> = {
  "lib-a": "north",
  "lib-b": "north",
  "lib-c": "south",
  "lib-d": "south",
};
const regionOf = (id: string) => REGIONS[id];
/** "History of life" (001 4348261): held by every library, with these many items, for the holdings order. */
const SHARED_BOOK = "4348261";
const SHARED_ITEMS: Readonly<Record<string, number>> = {
  "lib-a": 1,
  "lib-b": 3,
  "lib-c": 2,
  "lib-d": 5,
  "lib-e": 1,
};

function marcFiles(dir: string): string[] {
  const out: string[] = [];
  for (const f of readdirSync(dir).sort()) {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) out.push(...marcFiles(p));
    else if (/\.(mrc|xml)$/.test(f)) out.push(p);
  }
  return out;
}

function items(prefix: string, n: number): HoldingData[] {
  return Array.from({ length: n }, (_, i) => ({
    barcode: `${prefix}-${i}`,
    callNumber: `QA${i + 1}`,
    location: i % 2 === 0 ? "stacks" : "reference",
    status: "available",
    loanRule: "standard",
  }));
}

let union: UnionCatalog;
let unionDb: Database;
let memberDb: MemberDatabase;
let member: MemberCatalog;
const samples: MarcRecord[] = [];
/** Where each sample record went in the union catalog (its first placement), by 001. */
const placed = new Map<string, { institutionId: string; recordId: string }>();

const U = (q: string, o: Partial<SearchOptions> = {}): EngineResult =>
  searchUnion({ db: unionDb, nodeId: "north" }, q, { limit: 20, regionOf, onBehalfOf: "lib-a", ...o });
const M = (q: string, o: Partial<MemberSearchOptions> = {}): EngineResult =>
  searchMember({ db: memberDb.sqlite, institutionId: "lib-a" }, q, { limit: 20, regionOf, ...o });

/** Every hit of a query, page by page. */
function everything(search: (q: string, o: Partial<SearchOptions>) => EngineResult, q: string): EngineHit[] {
  const hits: EngineHit[] = [];
  let cursor: string | undefined;
  do {
    const r = search(q, { limit: 1000, ...(cursor ? { cursor } : {}) });
    hits.push(...r.hits);
    cursor = r.nextCursor;
  } while (cursor);
  return hits;
}
const isParseError = (e: unknown) => e instanceof CqlParseError || e instanceof MemberCqlParseError;
const ids = (hits: readonly EngineHit[]) => new Set(hits.map((h) => h.id));
const unionIds = (q: string) => ids(everything(U, q));
const memberIds = (q: string) => ids(everything(M, q));
const clusterOf = (id001: string) => {
  const p = placed.get(id001)!;
  return union.clusterOf(p.institutionId, p.recordId)!;
};

beforeAll(async () => {
  for (const file of marcFiles(DATA)) {
    for await (const r of readMarcFile(file)) {
      if (!r.ok) continue;
      try {
        toIso2709(r.record);
      } catch {
        continue; // over ISO 2709's 99,999 bytes: no catalog can hold it
      }
      samples.push(r.record);
    }
  }
  unionDb = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
  union = new UnionCatalog(unionDb, { nodeId: "north", now: () => new Date("2026-01-01T00:00:00Z") });
  const seen = new Set<string>();
  unionDb.transaction(() => {
    samples.forEach((record, k) => {
      const id001 = controlValue(record, "001")?.trim() || `s${k}`;
      const recordId = seen.has(id001) ? `${id001}.${k}` : id001;
      seen.add(id001);
      const marc = toIso2709(record);
      const put = (institutionId: string, rid: string, holdings: HoldingData[]) =>
        union.apply(institutionId, {
          kind: "upsert",
          institutionId,
          recordId: rid,
          marc,
          holdings,
          changedAt: new Date("2026-01-01T00:00:00Z"),
        });
      if (id001 === SHARED_BOOK) {
        for (const [inst, n] of Object.entries(SHARED_ITEMS)) put(inst, recordId, items(`${inst}-${k}`, n));
        placed.set(id001, { institutionId: "lib-a", recordId });
        return;
      }
      const inst = INSTITUTIONS[k % INSTITUTIONS.length]!;
      put(inst, recordId, items(`${inst}-${k}`, 1 + (k % 3)));
      if (!placed.has(id001)) placed.set(id001, { institutionId: inst, recordId });
      // Every seventh book is held by a second library (another record of the same book).
      if (k % 7 === 0)
        put(INSTITUTIONS[(k + 2) % INSTITUTIONS.length]!, `${recordId}-copy`, items(`x-${k}`, 1));
    });
  });
  memberDb = MemberDatabase.open(":memory:", [...sharedMigrations, ...memberMigrations]);
  member = new MemberCatalog(memberDb, "lib-a");
  member.writeBatch(
    samples.map((record, k) => ({ record, k })),
    ({ record, k }) => member.upsert(record, items(`m${k}`, 1 + (k % 3))),
  );
}, 240_000);

describe("the sample catalogs", () => {
  it("hold the sample records", () => {
    expect(samples.length).toBeGreaterThan(2400);
    expect(union.stats().records).toBeGreaterThan(samples.length);
    expect(member.count()).toBeGreaterThan(2400);
  });
});

describe("searchUnion and searchMember: the queries of issue 4", () => {
  it("title words: every word in the title, the same hits as the catalogs' own FTS primitives", () => {
    const q = 'dc.title all "united states"';
    const fts = '(title : ("united" AND "states"))';
    expect(unionIds(q)).toEqual(new Set(union.searchClusters(fts, 10_000).map((h) => h.id)));
    expect(memberIds(q)).toEqual(new Set(member.searchLocal(fts, 10_000).map((h) => `lib-a/${h.recordId}`)));
    expect(U(q).total).toBeGreaterThan(20);
  });

  it("bare words: all of them, in any field, ranked; quoted, a phrase", () => {
    for (const search of [unionIds, memberIds]) {
      const bare = search("history music");
      expect(bare.size).toBeGreaterThan(0);
      expect(bare).toEqual(search("history and music"));
      expect(search('"history music"').size).toBeLessThan(bare.size);
    }
    const ranked = everything(U, "history music").map((h) => h.score);
    expect(ranked).toEqual([...ranked].sort((a, b) => b - a));
  });

  it("a phrase: the words together and in order", () => {
    for (const search of [U, M]) {
      const r = search('dc.title="oral history"');
      expect(r.total).toBe(2);
      expect(r.hits[0]!.title).toMatch(/^The HistoryMakers video oral history with Ray Chew/);
      expect(search('dc.title="history oral"').total).toBe(0);
    }
  });

  it("author and subject", () => {
    for (const search of [U, M]) {
      const twain = search("author=twain");
      expect(twain.hits.map((h) => h.title)).toEqual(["The science fiction of Mark Twain"]);
      const china = search("dc.subject=china");
      expect(china.total).toBeGreaterThan(10);
    }
    expect(memberIds("dc.subject=china")).toEqual(
      new Set(member.searchLocal('subject : ("china")', 10_000).map((h) => `lib-a/${h.recordId}`)),
    );
  });

  it("an ISBN-10, with hyphens or spaces, finds the record that has the ISBN-13", () => {
    for (const q of ["bath.isbn=0-8247-7161-3", 'isbn="0 8247 7161 3"', "isbn=9780824771614", "0824771613"]) {
      const u = U(q);
      expect(u.total).toBe(1);
      expect(u.hits[0]!.isbns).toContain("9780824771614");
      expect(u.hits[0]!.id).toBe(clusterOf("u678"));
      expect(
        M(q)
          .hits.map((h) => h.id)
          .sort(),
      ).toEqual(["lib-a/u678", "lib-a/u679"]);
    }
  });

  it("an ISSN finds its serial and not the other section of the journal", () => {
    for (const search of [U, M]) {
      const b = search("bath.issn=0174-1578");
      const a = search("issn=03407594");
      expect(b.hits.map((h) => h.issns)).toEqual([["0174-1578"]]);
      expect(a.hits.map((h) => h.issns)).toEqual([["0340-7594"]]);
      expect(b.hits[0]!.title).toMatch(/Journal of comparative physiology\. B/);
    }
  });

  it('dc.date within "1990 2000": every hit of those years, counted on the year columns', () => {
    const q = 'dc.date within "1990 2000"';
    const u = everything(U, q);
    const m = everything(M, q);
    for (const h of [...u, ...m]) expect(Number(h.year)).toBeGreaterThanOrEqual(1990);
    for (const h of [...u, ...m]) expect(Number(h.year)).toBeLessThanOrEqual(2000);
    const count = (db: BetterSqlite3.Database, sql: string) => (db.prepare(sql).get() as { n: number }).n;
    expect(u.length).toBe(
      count(unionDb.sqlite, "SELECT COUNT(*) AS n FROM union_clusters WHERE year BETWEEN '1990' AND '2000'"),
    );
    expect(m.length).toBe(
      count(
        memberDb.sqlite,
        "SELECT COUNT(*) AS n FROM catalog_records WHERE pub_year BETWEEN '1990' AND '2000'",
      ),
    );
    expect(U('dc.title=history and dc.date within "1900 2000"').total).toBeLessThan(
      U("dc.title=history").total,
    );
  });

  it("booleans with parentheses are the set operations they say", () => {
    for (const get of [unionIds, memberIds]) {
      const history = get("title=history");
      const china = get("title=china");
      const recent = get("dc.date>=1980");
      const both = get("(title=history or title=china) and dc.date>=1980");
      expect(both).toEqual(new Set([...history, ...china].filter((id) => recent.has(id))));
      expect(both.size).toBeGreaterThan(10);
      const old = get("dc.date<1800");
      // A side that is a filter makes it an SQL union, not an FTS5 OR.
      expect(get("title=history or dc.date<1800")).toEqual(new Set([...history, ...old]));
    }
  });

  it("NOT takes away what its right side finds, text or filter", () => {
    for (const get of [unionIds, memberIds]) {
      const subject = get("subject=china");
      const title = get("title=china");
      const notTitle = get("subject=china not title=china");
      expect(notTitle).toEqual(new Set([...subject].filter((id) => !title.has(id))));
      expect(notTitle.size).toBeGreaterThan(0);
      const old = get("dc.date<1900");
      const history = get("title=history");
      expect(get("dc.date<1900 not title=history")).toEqual(
        new Set([...old].filter((id) => !history.has(id))),
      );
      expect(get("title=history not dc.date<1900")).toEqual(
        new Set([...history].filter((id) => !old.has(id))),
      );
    }
  });

  it("right truncation finds every word that begins so", () => {
    for (const get of [unionIds, memberIds]) {
      const hist = get("title=hist*");
      for (const id of [...get("title=history"), ...get("title=historical")]) expect(hist.has(id)).toBe(true);
      expect(hist.size).toBeGreaterThan(get("title=history").size);
    }
  });

  it("CJK: a two-character word, a phrase, a whole title in its original script", () => {
    expect(
      M("title=中国")
        .hits.map((h) => h.id)
        .sort(),
    ).toEqual(["lib-a/7196443", "lib-a/u1809"]);
    expect(
      U("title=中国")
        .hits.map((h) => h.id)
        .sort(),
    ).toEqual([clusterOf("7196443"), clusterOf("u1809")].sort());
    // Two libraries catalogued Kubo Sakae "Kazanbaichi" o yomu: one cluster, two records at a member.
    for (const q of ['title="火山灰地"', "title=火山", "久保栄"]) {
      const u = U(q);
      expect(u.hits.map((h) => h.id)).toEqual([clusterOf("00314247")]);
      const cluster = union.getCluster(u.hits[0]!.id)!;
      expect(cluster.records.map((r) => r.recordId)).toEqual(
        expect.arrayContaining(["00314247", "2008543486"]),
      );
      expect(u.hits[0]!.holdings.map((h) => h.institutionId).sort()).toEqual(
        cluster.holdings.map((h) => h.institutionId).sort(),
      );
      expect(M(q).total).toBe(2);
    }
    for (const search of [U, M]) {
      expect(search('title="東海道五十三次"').total).toBe(2);
      const exact = search('title=="東海道五十三次"');
      expect(exact.hits.map((h) => h.title)).toEqual([expect.stringMatching(/^Tōkaidō gojus̄an-tsugi/)]);
      expect(search('title="海道東"').total).toBe(0);
    }
    expect(U('title=="history of li*"').hits.map((h) => h.title)).toEqual(["History of life"]);
    expect(M('title=="history of li*"').hits.map((h) => h.title)).toEqual(["History of life"]);
  });

  it("sortBy dc.date, ascending and descending, unknown years last", () => {
    for (const search of [U, M]) {
      const years = (q: string) => everything(search, q).map((h) => h.year);
      const up = years("title=history sortBy dc.date");
      const down = years("title=history sortBy dc.date/sort.descending");
      const known = (ys: string[]) => ys.filter((y) => y !== "").map(Number);
      expect(known(up)).toEqual([...known(up)].sort((a, b) => a - b));
      expect(known(down)).toEqual([...known(down)].sort((a, b) => b - a));
      for (const ys of [up, down]) {
        const unknown = ys.indexOf("");
        if (unknown >= 0) expect(ys.slice(unknown).every((y) => y === "")).toBe(true);
      }
    }
  });

  it("sortBy dc.title and dc.creator", () => {
    for (const search of [U, M]) {
      const titles = everything(search, "title=history sortBy dc.title").map((h) => h.title.toLowerCase());
      expect(titles).toEqual([...titles].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
      const authors = everything(search, "title=history sortBy dc.creator/sort.descending")
        .map((h) => h.author.toLowerCase())
        .filter((a) => a !== "");
      expect(authors).toEqual([...authors].sort((a, b) => (a < b ? 1 : a > b ? -1 : 0)));
    }
  });

  it("rec.identifier: a cluster id, a record as institution/record, a record id", () => {
    const cluster = clusterOf("u121");
    expect(U(`rec.identifier="${cluster}"`).hits.map((h) => h.id)).toEqual([cluster]);
    const p = placed.get("u121")!;
    expect(U(`rec.identifier="${p.institutionId}/${p.recordId}"`).hits.map((h) => h.id)).toEqual([cluster]);
    expect(U("rec.identifier=u121").hits.map((h) => h.id)).toEqual([cluster]);
    expect(M("rec.identifier=u121").hits.map((h) => h.id)).toEqual(["lib-a/u121"]);
    expect(M('id="lib-a/u121"').hits.map((h) => h.id)).toEqual(["lib-a/u121"]);
    expect(M('rec.identifier any "u121 u122"').total).toBe(2);
    const prefixed = everything(M, "rec.identifier=u12*");
    expect(prefixed.length).toBeGreaterThan(10);
    for (const h of prefixed) expect(h.id).toMatch(/^lib-a\/u12/);
    expect(everything(U, "rec.identifier=u12*").length).toBeGreaterThanOrEqual(prefixed.length - 2);
    expect(U(`rec.identifier="${cluster.slice(0, -1)}*"`).total).toBeGreaterThan(0);
  });
});

describe("ranking", () => {
  it("puts the exact title first and orders by score", () => {
    for (const search of [U, M]) {
      const r = search('"self-organizing methods in modeling"');
      expect(r.hits[0]!.title).toMatch(/^Self-organizing methods in modeling/);
      const history = search("title=history");
      const scores = history.hits.map((h) => h.score);
      expect(scores).toEqual([...scores].sort((a, b) => b - a));
      // "History of life" is exactly the title asked for: it beats titles that merely contain the words.
      expect(search('dc.title all "history of life"').hits[0]!.title).toBe("History of life");
    }
  });

  it("counts holding libraries: of two equal matches, the more widely held ranks higher", () => {
    // Every library holds "History of life"; the other titles with "life" are held by one or two.
    const r = U("title=life");
    const shared = r.hits.find((h) => h.id === clusterOf(SHARED_BOOK))!;
    expect(shared.holdings).toHaveLength(5);
    expect(r.hits.indexOf(shared)).toBeLessThan(3);
  });
});

describe("holdings", () => {
  it("come nearest first: own institution, own region, other regions by items", () => {
    const hit = U('title=="history of life"', { onBehalfOf: "lib-b" }).hits[0]!;
    expect(hit.holdings.map((h) => [h.institutionId, h.region, h.proximity, h.items])).toEqual([
      ["lib-b", "north", "own", 3],
      ["lib-a", "north", "region", 1],
      ["lib-d", "south", "other", 5],
      ["lib-c", "south", "other", 2],
      ["lib-e", "", "other", 1],
    ]);
    expect(hit.holdings[0]!.locations).toEqual(["stacks", "reference"]);
    expect(hit.holdings[0]!.callNumber).toBe("QA1");
    // Without anyone asking, nobody is own or in the region.
    const anonymous = U('title=="history of life"', { onBehalfOf: undefined }).hits[0]!;
    expect(anonymous.holdings.map((h) => h.proximity)).toEqual(["other", "other", "other", "other", "other"]);
    expect(anonymous.holdings[0]!.institutionId).toBe("lib-d");
  });

  it("of a member's record are its own items", () => {
    const hit = M("rec.identifier=u121").hits[0]!;
    expect(hit.holdings).toHaveLength(1);
    expect(hit.holdings[0]).toMatchObject({ institutionId: "lib-a", region: "north", proximity: "own" });
    expect(hit.holdings[0]!.items).toBeGreaterThan(0);
  });

  it("summarise the hit: publisher, language, format", () => {
    for (const search of [U, M]) {
      const hit = search("author=twain").hits[0]!;
      expect(hit).toMatchObject({ publisher: "Archon Books", language: "eng", format: "book", year: "1984" });
    }
  });
});

describe("facets", () => {
  function brute(hits: readonly EngineHit[]) {
    const count = (values: string[]) => {
      const m = new Map<string, number>();
      for (const v of values) if (v !== "") m.set(v, (m.get(v) ?? 0) + 1);
      return m;
    };
    return {
      year: count(hits.map((h) => h.year)),
      language: count(hits.map((h) => h.language)),
      format: count(hits.map((h) => h.format)),
      institution: count(hits.flatMap((h) => [...new Set(h.holdings.map((x) => x.institutionId))])),
      region: count(hits.flatMap((h) => [...new Set(h.holdings.map((x) => x.region))])),
    };
  }
  const asMap = (r: EngineResult, name: string) =>
    new Map(r.facets!.find((f) => f.name === name)!.values.map((v) => [v.value, v.count]));

  it("count over the whole result, not the page", () => {
    for (const [search, q] of [
      [U, "title=history"],
      [M, "title=history"],
      [U, 'dc.title any "history china" or dc.date<1800'],
      [M, "subject=china not title=china"],
    ] as const) {
      const all = everything(search, q);
      const r = search(q, { limit: 5, facets: true, facetLimit: 1000 });
      expect(r.hits).toHaveLength(5);
      const b = brute(all);
      for (const name of ["year", "language", "format", "institution", "region"] as const) {
        expect(asMap(r, name), `${q}: ${name}`).toEqual(b[name]);
      }
    }
  });

  it("show the most frequent values first, up to the limit, and decades when there are many years", () => {
    const r = U("title=history", { facets: true, facetLimit: 3 });
    for (const f of r.facets!) {
      expect(f.values.length).toBeLessThanOrEqual(3);
      const counts = f.values.map((v) => v.count);
      expect(counts).toEqual([...counts].sort((a, b) => b - a));
    }
    const years = r.facets!.find((f) => f.name === "year")!.values;
    for (const v of years) expect(v.value).toMatch(/^\d{3}0-\d{3}9$/);
    const all = everything(U, "title=history");
    for (const v of years) {
      const [from, to] = v.value.split("-").map(Number) as [number, number];
      expect(v.count).toBe(all.filter((h) => Number(h.year) >= from && Number(h.year) <= to).length);
    }
  });

  it("at a member: the member itself and its region hold every hit", () => {
    const r = M("title=history", { facets: true });
    expect(asMap(r, "institution")).toEqual(new Map([["lib-a", r.total]]));
    expect(asMap(r, "region")).toEqual(new Map([["north", r.total]]));
  });
});

describe("paging", () => {
  it("returns each hit once across pages, in the order of one big page", () => {
    for (const [search, q] of [
      [U, "title=history"],
      [M, "title=history"],
      [U, "title=history sortBy dc.date"],
      [M, 'dc.date within "1990 2000"'],
    ] as const) {
      const one = { hits: everything(search, q), total: search(q).total };
      expect(one.hits).toHaveLength(one.total);
      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const r = search(q, { limit: 7, ...(cursor ? { cursor } : {}) });
        expect(r.total).toBe(one.total);
        seen.push(...r.hits.map((h) => h.id));
        cursor = r.nextCursor;
        pages++;
      } while (cursor);
      expect(seen).toEqual(one.hits.map((h) => h.id));
      expect(new Set(seen).size).toBe(one.total);
      expect(pages).toBe(Math.ceil(one.total / 7));
    }
  });

  it("refuses a cursor of another query, of the other catalog, or made up", () => {
    const first = U("title=history", { limit: 5 });
    expect(first.nextCursor).toBeDefined();
    // The same query written another way keeps its cursor.
    expect(U("dc.title = history", { limit: 5, cursor: first.nextCursor! }).hits).toHaveLength(5);
    expect(() => U("title=china", { cursor: first.nextCursor! })).toThrow(SearchCursorError);
    expect(() => U("title=china", { cursor: first.nextCursor! })).toThrow(/another query/);
    expect(() => M("title=history", { cursor: first.nextCursor! })).toThrow(MemberSearchCursorError);
    expect(() => U("title=history", { cursor: "bm90IGEgY3Vyc29y" })).toThrow(SearchCursorError);
    expect(() => U("title=history", { cursor: "!!" })).toThrow(SearchCursorError);
  });

  it("answers a page past the end with no hits and the total", () => {
    const r = U("author=twain", { limit: 1 });
    expect(r.nextCursor).toBeUndefined();
    expect(r.total).toBe(1);
    const h = U("title=history", { limit: 40 });
    const last = U("title=history", { limit: 40, cursor: h.nextCursor! });
    expect(last.hits.length).toBe(h.total - 40);
    expect(last.nextCursor).toBeUndefined();
  });

  it("counts without hits for a limit of 0, and refuses a limit out of range", () => {
    for (const search of [U, M]) {
      const r = search("title=history", { limit: 0, facets: true });
      expect(r.hits).toEqual([]);
      expect(r.total).toBe(search("title=history").total);
      expect(r.nextCursor).toBeUndefined();
      expect(r.facets).toHaveLength(5);
    }
    expect(() => U("title=history", { limit: -1 })).toThrow(RangeError);
    expect(() => U("title=history", { limit: 1001 })).toThrow(RangeError);
    expect(() => M("title=history", { limit: 1.5 })).toThrow(RangeError);
  });
});

describe("bad queries", () => {
  it("give CqlParseError with the position and SRU diagnostic", () => {
    const cases: Array<[string, number, number]> = [
      ["title=history and bath.isbn=12345", CqlDiagnostic.InvalidTermFormat, 28],
      ['title=history or title="--"', CqlDiagnostic.EmptyTermUnsupported, 23],
      ["title=history and foo=bar", CqlDiagnostic.UnsupportedIndex, 18],
      ["title any/fuzzy history", CqlDiagnostic.UnsupportedRelationModifier, 9],
      ["title=history prox title=china", CqlDiagnostic.ProximityNotSupported, 14],
    ];
    for (const [q, diagnostic, position] of cases) {
      for (const search of [U, M]) {
        let err: unknown;
        try {
          search(q);
        } catch (e) {
          err = e;
        }
        expect(isParseError(err), q).toBe(true);
        expect((err as CqlParseError).diagnostic, q).toBe(diagnostic);
        expect((err as CqlParseError).position, q).toBe(position);
      }
    }
    const unbalanced = "title=history and (author=twain";
    let parseError: CqlParseError | undefined;
    try {
      parseCql(unbalanced);
    } catch (e) {
      parseError = e as CqlParseError;
    }
    expect(() => U(unbalanced)).toThrow(parseError!.message);
  });
});

describe("record-info", () => {
  it("reads format and language from the leader and directory as describeRecord does", () => {
    let languages = 0;
    for (const record of samples) {
      const marc = toIso2709(record);
      const { summary } = describeRecord(marc);
      expect(formatAndLanguage(marc)).toEqual({ format: summary.format, language: summary.language });
      if (summary.language !== "") languages++;
    }
    expect(languages).toBeGreaterThan(2000);
    expect(formatAndLanguage(new Uint8Array(3))).toEqual({ format: "", language: "" });
  });
});

// ---------------------------------------------------------------- any query

const NASTY = [
  "AND",
  "or",
  "NOT",
  "NEAR",
  "NEAR(a b, 2)",
  '\\"',
  "'",
  ":",
  "title:",
  "\\^",
  "\\*",
  "\\\\",
  "-",
  "+",
  "(",
  ")",
  "{title}",
  "*",
  "中国",
  "東京大学",
  "学",
  "アルバム",
  "한국어",
  "0-8247-7161-3",
  "9780824771614",
  "0174-1578",
  "1990",
  "1990-05",
  "199*",
  "é",
  "ß",
  "\u0301",
  "ﬁ",
  "\u200b",
  "🦕",
  "history",
  "u121",
  "north:c1",
  "lib-a/u121",
];

/** A search term: words from NASTY and arbitrary strings, maybe truncated, quoted for CQL. */
const term = fc
  .tuple(
    fc.array(
      fc.oneof(
        // Written as CQL already: escapes included.
        fc.constantFrom(...NASTY),
        fc.oneof(fc.string({ maxLength: 6 }), fc.string({ unit: "grapheme", maxLength: 4 })).map(escapeCql),
      ),
      { minLength: 1, maxLength: 4 },
    ),
    fc.boolean(),
  )
  .map(([words, truncate]) => `"${words.join(" ")}${truncate ? "*" : ""}"`);

function escapeCql(s: string): string {
  return s.replace(/[\\"]/g, (c) => `\\${c}`);
}
const INDEXES = [
  "dc.title",
  "title",
  "dc.creator",
  "dc.subject",
  "dc.publisher",
  "dc.date",
  "bath.isbn",
  "bath.issn",
  "rec.identifier",
  "cql.anywhere",
  "cql.serverChoice",
];
const RELATIONS = ["=", "==", "all", "any", "adj", "exact", "within", "<", ">", "<=", ">="];
const clause = fc.oneof(
  term,
  fc
    .tuple(fc.constantFrom(...INDEXES), fc.constantFrom(...RELATIONS), term)
    .map(([i, r, t]) => `${i} ${r} ${t}`),
);
const cqlQuery: fc.Arbitrary<string> = fc
  .tuple(
    fc.letrec<{ q: string }>((tie) => ({
      q: fc.oneof(
        { depthSize: "small", withCrossShrink: true },
        clause,
        fc
          .tuple(tie("q"), fc.constantFrom(" and ", " or ", " not "), tie("q"))
          .map(([l, op, r]) => `${l}${op}${r}`),
        tie("q").map((q) => `(${q})`),
      ),
    })).q,
    fc.constantFrom(
      "",
      " sortBy dc.title",
      " sortBy dc.date/sort.descending dc.creator",
      " sortBy relevance",
    ),
  )
  .map(([q, sort]) => q + sort);

/** Compiles `q`, or returns undefined for a CqlParseError; any other error fails the test. */
function compiles(q: string) {
  try {
    return compileQuery(q);
  } catch (err) {
    if (err instanceof CqlParseError) return undefined;
    throw err;
  }
}

function ftsOf(plan: SearchPlan): string[] {
  switch (plan.kind) {
    case "fts":
      return [plan.match];
    case "filter":
      return [];
    case "not":
      return ftsOf(plan.item);
    case "and":
    case "or":
      return plan.items.flatMap(ftsOf);
    default:
      return [];
  }
}

describe("any valid query", () => {
  it("compiles to FTS5 expressions that SQLite accepts, or to a CqlParseError", () => {
    const db = new BetterSqlite3(":memory:");
    db.exec(
      `CREATE VIRTUAL TABLE t USING fts5 (${INDEX_COLUMNS.join(", ")}, tokenize = 'unicode61 remove_diacritics 0')`,
    );
    db.prepare(`INSERT INTO t VALUES (${INDEX_COLUMNS.map(() => "?").join(", ")})`).run(
      "history of china 中国 国历 历史 史",
      "twain mark",
      "china",
      "9780824771614",
      "01741578",
      "wiley",
      "1990",
      "history of china twain mark",
    );
    const check = db.prepare("SELECT COUNT(*) AS n FROM t WHERE t MATCH ?");
    let compiled = 0;
    fc.assert(
      fc.property(cqlQuery, (q) => {
        const c = compiles(q);
        if (!c) return;
        compiled++;
        for (const m of [...ftsOf(c.plan), ...(c.exactTitleMatch ? [c.exactTitleMatch] : [])]) check.get(m);
      }),
      { numRuns: 3000 },
    );
    // The generator must reach the compiler, not only the parser's diagnostics.
    expect(compiled).toBeGreaterThan(1000);
    db.close();
  });

  it("runs on both catalogs, or fails with a CqlParseError", () => {
    fc.assert(
      fc.property(cqlQuery, fc.boolean(), (q, facets) => {
        for (const search of [U, M]) {
          try {
            const r = search(q, { limit: 3, facets });
            expect(r.hits.length).toBeLessThanOrEqual(Math.min(3, r.total));
          } catch (err) {
            if (!isParseError(err)) throw err;
          }
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe("on the worker pool (search/pooled.ts, the compiled union worker)", () => {
  let pooled: PooledSearch;
  let file: string;
  let fileDb: BetterSqlite3.Database;
  const worker = new URL("../../../dist/center/search/union-worker.js", import.meta.url);
  const regions: Record<string, string> = Object.fromEntries(
    Object.keys(REGIONS).flatMap((i) => (REGIONS[i] ? [[i, REGIONS[i]]] : [])),
  );

  beforeAll(() => {
    file = join(mkdtempSync(join(tmpdir(), "lrs-pool-")), "union.db");
    writeFileSync(file, unionDb.sqlite.serialize());
    fileDb = new BetterSqlite3(file);
    pooled = pooledSearch<UnionSearchTask>({
      db: fileDb,
      kind: "union",
      worker,
      threads: 2,
      task: (path, query, opts) => ({ path, nodeId: "north", query, opts, regions }),
      inThread: () => {
        throw new Error("the compiled worker is missing: run `npx tsc -b` first");
      },
    });
  });
  afterAll(async () => {
    await pooled.close();
    fileDb.close();
    rmSync(dirname(file), { recursive: true, force: true });
  });

  it("answers as the engine on the calling thread: same total, hits and holdings in the same order", async () => {
    for (const q of ["dc.title=history", "music or opera", 'dc.title="history of"', "dc.date<1900"]) {
      const opts = { limit: 10, facets: true, onBehalfOf: "lib-a" };
      const there = await pooled.search(q, opts);
      const here = U(q, opts);
      expect(there.total).toBe(here.total);
      expect(there.hits).toEqual(here.hits);
      expect(there.facets).toEqual(here.facets);
    }
  });

  it("refuses a bad query or cursor before sending it off, with the engine's own errors", async () => {
    await expect(
      Promise.resolve().then(() => pooled.search("dc.title=a*", { limit: 10, facets: false })),
    ).rejects.toBeInstanceOf(CqlParseError);
    await expect(
      Promise.resolve().then(() =>
        pooled.search("dc.title=history", { limit: 10, facets: false, cursor: "bm90IGEgY3Vyc29y" }),
      ),
    ).rejects.toBeInstanceOf(SearchCursorError);
  });

  it("stops a search whose deadline has passed, and keeps answering the next ones", async () => {
    await expect(
      pooled.search(
        "dc.title=history",
        { limit: 10, facets: true },
        AbortSignal.abort(new Error("deadline of 1 ms")),
      ),
    ).rejects.toThrow(/search stopped: deadline of 1 ms/);
    const after = await pooled.search("dc.title=history", { limit: 10, facets: false });
    expect(after.total).toBe(U("dc.title=history").total);
  });
});
