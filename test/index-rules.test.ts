/**
 * One set of index rules: every sample record, imported at a member and applied at a union catalog
 * through the change feed (as catalog sync carries it), gets the same index document (the terms of
 * each FTS5 column at each position, read from both indexes with fts5vocab) and the same title,
 * author, year and identifiers at both.
 *
 * The samples are data/marc (the permissively licensed copies kept in the repository); set
 * LRS_MARC_SAMPLES to another folder (e.g. /work/shared/data/marc, the full collection) to run the
 * same check over it.
 */
import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { REPO_ROOT } from "@lrs/dev-env";
import { importMarcFiles, MemberCatalog, memberMigrations } from "@lrs/member-node";
import { Database, type FeedEntry, INDEX_COLUMNS, sharedMigrations } from "@lrs/shared";
import { UnionCatalog, unionCatalogMigrations } from "@lrs/shared/center";
import { describe, expect, it } from "vitest";

const SAMPLES = process.env.LRS_MARC_SAMPLES ?? join(REPO_ROOT, "data/marc");
const MARC_FILE = /\.(mrc|marc|xml)$/i;

function marcFiles(dir: string): string[] {
  return readdirSync(dir)
    .flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? marcFiles(path) : MARC_FILE.test(name) ? [path] : [];
    })
    .sort();
}

/**
 * Every (column, position, term) of each row of an FTS5 index, by rowid, in a stable order. Read
 * in one pass: fts5vocab cannot look up one document.
 */
function indexTerms(db: Database, fts: string): Map<number, string[]> {
  db.sqlite.exec(`CREATE VIRTUAL TABLE ${fts}_terms USING fts5vocab(${fts}, instance)`);
  const out = new Map<number, string[]>();
  for (const r of db.sqlite.prepare(`SELECT doc, term, col, offset FROM ${fts}_terms`).iterate() as Iterable<{
    doc: number;
    term: string;
    col: string;
    offset: number;
  }>) {
    const list = out.get(r.doc) ?? [];
    out.set(r.doc, list);
    list.push(`${r.col}@${String(r.offset).padStart(6, "0")}:${r.term}`);
  }
  for (const list of out.values()) list.sort();
  return out;
}

const FILES = marcFiles(SAMPLES);
const columnsSeen = new Set<string>();

describe(`member and union index every record of ${relative(REPO_ROOT, SAMPLES) || SAMPLES} alike`, () => {
  it("has sample files", () => {
    expect(FILES.length).toBeGreaterThan(0);
  });

  it.each(FILES.map((f) => [relative(SAMPLES, f), f]))("%s", async (_name, file) => {
    const memberDb = Database.open(":memory:", [...sharedMigrations, ...memberMigrations]);
    const unionDb = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
    try {
      const catalog = new MemberCatalog(memberDb, "lib");
      const summary = await importMarcFiles(catalog, [file]);
      const union = new UnionCatalog(unionDb, { nodeId: "center" });
      let seq = 0n;
      for (;;) {
        const entries: FeedEntry[] = catalog.changesAfter(seq, 500);
        if (entries.length === 0) break;
        for (const e of entries) union.apply("lib-node", e.change);
        seq = entries.at(-1)!.seq;
      }
      const memberIndex = indexTerms(memberDb, "catalog_fts");
      const unionIndex = indexTerms(unionDb, "union_fts");
      const members = memberDb.sqlite
        .prepare(
          "SELECT id, record_id, title, author, pub_year, isbns, issns FROM catalog_records ORDER BY id",
        )
        .all() as Array<{
        id: number;
        record_id: string;
        title: string;
        author: string;
        pub_year: string;
        isbns: string;
        issns: string;
      }>;
      expect(members.length).toBe(summary.added);
      const unionRow = unionDb.sqlite.prepare(
        `SELECT rid, json_extract(summary, '$.title') AS title, json_extract(summary, '$.author') AS author,
           json_extract(summary, '$.year') AS year FROM union_records WHERE institution_id = 'lib' AND record_id = ?`,
      );
      const unionKeys = unionDb.sqlite.prepare(
        "SELECT key FROM union_record_keys WHERE rid = ? AND strong = 1 AND (key LIKE 'isbn:%' OR key LIKE 'issn:%') ORDER BY key",
      );
      let terms = 0;
      for (const m of members) {
        const u = unionRow.get(m.record_id) as { rid: number; title: string; author: string; year: string };
        expect(u, `record ${m.record_id} reached the union catalog`).toBeDefined();
        const at = `record ${m.record_id} of ${file}`;
        expect({ title: u.title, author: u.author, year: u.year }, at).toEqual({
          title: m.title,
          author: m.author,
          year: m.pub_year,
        });
        const keys = (unionKeys.all(u.rid) as Array<{ key: string }>).map((k) => k.key);
        const shown = [
          ...(m.isbns === "" ? [] : m.isbns.split(" ").map((i) => `isbn:${i}`)),
          ...(m.issns === "" ? [] : m.issns.split(" ").map((i) => `issn:${i}`)),
        ].sort();
        expect(keys, `${at}: identifiers`).toEqual(shown);
        const memberTerms = memberIndex.get(m.id) ?? [];
        expect(unionIndex.get(u.rid) ?? [], `${at}: index document`).toEqual(memberTerms);
        terms += memberTerms.length;
        for (const t of memberTerms) columnsSeen.add(t.slice(0, t.indexOf("@")));
      }
      // Every column is in use across a file of real records, and the documents are not empty.
      if (members.length > 0) expect(terms).toBeGreaterThan(members.length);
    } finally {
      memberDb.close();
      unionDb.close();
    }
  });

  it("compared every index column: some record of the samples has words in each", () => {
    expect([...columnsSeen].sort()).toEqual([...INDEX_COLUMNS].sort());
  });
});
