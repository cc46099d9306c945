import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { INDEX_RULES_VERSION, indexRulesOf, rebuildSearchIndex } from "../../catalog-index/rebuild.js";
import { Database } from "../../db.js";
import { toIso2709 } from "../../marc/iso2709.js";
import { readMarcFile } from "../../marc/read-marc-file.js";
import { sharedMigrations } from "../../migrations.js";
import { unionCatalogMigrations } from "./migrations.js";
import { unionIndexRebuild } from "./reindex.js";
import { UnionCatalog } from "./union-catalog.js";

const TRAJECT = fileURLToPath(
  new URL("../../../../../data/marc/traject/test_data.utf8.mrc", import.meta.url),
);

/** Everything search and result lists read of a union catalog. */
function snapshot(db: Database) {
  return {
    clusters: db.sqlite
      .prepare(
        "SELECT id, title, title_vernacular, author, year, language, format FROM union_clusters ORDER BY id",
      )
      .all(),
    summaries: db.sqlite.prepare("SELECT rid, summary FROM union_records ORDER BY rid").all(),
    index: db.sqlite.prepare("SELECT rowid, * FROM union_fts ORDER BY rowid").all(),
  };
}

describe("rebuilding a union catalog's search index", () => {
  it("restores index, record summaries and cluster summaries by the current rules, in batches, once", async () => {
    const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
    const union = new UnionCatalog(db, { nodeId: "center" });
    let n = 0;
    for await (const r of readMarcFile(TRAJECT)) {
      if (!r.ok) continue;
      union.apply("lib-node", {
        kind: "upsert",
        institutionId: "lib",
        recordId: `r${n++}`,
        marc: toIso2709(r.record),
        holdings: [],
        changedAt: new Date("2026-01-01T00:00:00Z"),
      });
    }
    const fresh = snapshot(db);
    expect(fresh.index.length).toBe(n);
    // A catalog written by older rules: other summaries, an index of other words.
    db.sqlite.exec(`UPDATE union_clusters SET title = 'old', author = 'old';
      UPDATE union_records SET summary = json_set(summary, '$.title', 'old');
      UPDATE union_fts SET title = 'old', any = 'old';`);
    const lines: Array<{ msg: string }> = [];
    const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
    const r = rebuildSearchIndex(db, unionIndexRebuild(db), log, { batchSize: 7 });
    expect(r).toMatchObject({ rebuilt: true, records: n, from: 1 });
    expect(snapshot(db)).toEqual(fresh);
    expect(indexRulesOf(db)).toBe(INDEX_RULES_VERSION);
    expect(lines.map((l) => l.msg)).toEqual(["rebuilding the search index", "search index rebuilt"]);
    // The next start finds the index current and does nothing.
    expect(rebuildSearchIndex(db, unionIndexRebuild(db), log).rebuilt).toBe(false);
    db.close();
  });
});
