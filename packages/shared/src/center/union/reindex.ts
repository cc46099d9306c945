/**
 * Rebuilding a union catalog's search index (`union_fts`) and the summaries of its records and
 * clusters by the current rules (catalog-index/), driven by catalog-index/rebuild.ts on start and
 * by `lrs-regional|national reindex`. Match keys are left alone: clustering does not change.
 */
import type { Statement } from "better-sqlite3";
import { INDEX_COLUMNS } from "../../catalog-index/columns.js";
import type { IndexRebuildTarget } from "../../catalog-index/rebuild.js";
import type { Database } from "../../db.js";
import { describeRecord } from "./describe.js";

const CLUSTER_BATCH = 5000;

/** How a union catalog rebuilds its index rows and summaries. */
export function unionIndexRebuild(db: Database): IndexRebuildTarget {
  const sqlite = db.sqlite;
  let q:
    | {
        page: Statement;
        setSummary: Statement;
        deleteFts: Statement;
        insertFts: Statement;
        clusters: Statement;
      }
    | undefined;
  const statements = () => {
    q ??= {
      page: sqlite.prepare("SELECT rid, marc FROM union_records WHERE rid > ? ORDER BY rid LIMIT ?"),
      setSummary: sqlite.prepare("UPDATE union_records SET summary = ? WHERE rid = ?"),
      deleteFts: sqlite.prepare("DELETE FROM union_fts WHERE rowid = ?"),
      insertFts: sqlite.prepare(
        `INSERT INTO union_fts (rowid, ${INDEX_COLUMNS.join(", ")}) VALUES (?, ${INDEX_COLUMNS.map(() => "?").join(", ")})`,
      ),
      // A cluster shows its preferred record's summary (union-catalog.ts #refreshCluster).
      clusters: sqlite.prepare(
        `UPDATE union_clusters SET title = json_extract(r.summary, '$.title'),
           title_vernacular = json_extract(r.summary, '$.titleVernacular'),
           author = json_extract(r.summary, '$.author'), year = json_extract(r.summary, '$.year'),
           language = json_extract(r.summary, '$.language'), format = json_extract(r.summary, '$.format')
         FROM union_records r
         WHERE r.rid = union_clusters.preferred_rid AND union_clusters.id > ? AND union_clusters.id <= ?`,
      ),
    };
    return q;
  };
  return {
    what: "union catalog",
    count: () => (sqlite.prepare("SELECT COUNT(*) AS n FROM union_records").get() as { n: number }).n,
    batch(after, limit) {
      const s = statements();
      const rows = s.page.all(after, limit) as Array<{ rid: number; marc: Buffer }>;
      if (rows.length === 0) return undefined;
      for (const r of rows) {
        const d = describeRecord(r.marc);
        s.setSummary.run(JSON.stringify(d.summary), r.rid);
        s.deleteFts.run(r.rid);
        s.insertFts.run(r.rid, ...INDEX_COLUMNS.map((c) => d.search[c]));
      }
      return { last: rows.at(-1)!.rid, done: rows.length };
    },
    finish(step) {
      const s = statements();
      const max = (
        sqlite.prepare("SELECT COALESCE(MAX(id), 0) AS n FROM union_clusters").get() as { n: number }
      ).n;
      let from = 0;
      step(() => {
        s.clusters.run(from, from + CLUSTER_BATCH);
        from += CLUSTER_BATCH;
        return from < max;
      });
    },
  };
}
