/**
 * Collection reports over a union catalog (`lrs-regional report …`, `lrs-national report …`):
 *
 * - unique: titles held by one library only — the last copies to keep;
 * - shared: titles held by at least N libraries — candidates for shared retention (one library
 *   keeps a copy for all) or for withdrawal by the others;
 * - overlap: titles two libraries both hold, and each one's own;
 * - demand: ILL requests for titles nobody in the catalog held when they were asked for.
 *
 * Every report streams: the records are read in cluster order through one SQLite cursor and a
 * cluster's holdings are folded as they pass, so memory stays that of one cluster (and of the
 * summary counters) however large the catalog. Holdings count as the union catalog keeps them:
 * orders are not copies (holding-summary.ts), a library with only an order does not hold the title.
 */
import type { HoldingData } from "../../catalog-sync/change-feed.js";
import { emptyTally, type HoldingTally, tallyHolding, tallyOf } from "../../catalog-sync/holding-summary.js";
import type { Database } from "../../db.js";

/** One cluster as the reports see it: its description and its holders (libraries with copies). */
export interface ReportCluster {
  id: number;
  title: string;
  author: string;
  year: string;
  isbns: string;
  /** Libraries holding copies, and what each holds. */
  holders: Map<string, HoldingTally>;
  /** Libraries with the title on order only. */
  ordering: string[];
}

interface Row {
  cluster_id: number;
  institution_id: string;
  holdings: string;
  title: string;
  author: string;
  year: string;
  isbns: string;
}

/**
 * Every cluster with its holdings, in cluster order, one at a time. `institutions` limits the
 * records read to those of some libraries (overlap reads two).
 */
export function* streamClusters(db: Database, institutions?: readonly string[]): Generator<ReportCluster> {
  const filter = institutions ? "WHERE r.institution_id IN (SELECT value FROM json_each(?))" : "";
  const stmt = db.sqlite.prepare(
    `SELECT r.cluster_id, r.institution_id, r.holdings, c.title, c.author, c.year, c.isbns
     FROM union_records r JOIN union_clusters c ON c.id = r.cluster_id ${filter}
     ORDER BY r.cluster_id`,
  );
  const rows = (
    institutions ? stmt.iterate(JSON.stringify(institutions)) : stmt.iterate()
  ) as IterableIterator<Row>;
  let current: ReportCluster | undefined;
  const tallies = new Map<string, HoldingTally>();
  const finish = (c: ReportCluster): ReportCluster => {
    for (const [inst, t] of tallies) {
      if (t.items > 0) c.holders.set(inst, t);
      else if (t.onOrder > 0) c.ordering.push(inst);
    }
    tallies.clear();
    return c;
  };
  for (const r of rows) {
    if (current && current.id !== r.cluster_id) yield finish(current);
    if (!current || current.id !== r.cluster_id)
      current = {
        id: r.cluster_id,
        title: r.title,
        author: r.author,
        year: r.year,
        isbns: r.isbns,
        holders: new Map(),
        ordering: [],
      };
    let t = tallies.get(r.institution_id);
    if (!t) {
      t = emptyTally();
      tallies.set(r.institution_id, t);
    }
    for (const h of JSON.parse(r.holdings) as HoldingData[]) tallyHolding(t, h);
  }
  if (current) yield finish(current);
}

export const UNIQUE_COLUMNS = [
  "cluster_id",
  "title",
  "author",
  "year",
  "isbns",
  "institution",
  "copies",
  "retained_until",
];

/** Titles held by exactly one library (of `institution` only, when given). */
export function* uniqueHoldings(
  db: Database,
  externalId: (n: number) => string,
  institution?: string,
): Generator<Array<string | number>> {
  for (const c of streamClusters(db)) {
    if (c.holders.size !== 1) continue;
    const [inst, t] = [...c.holders][0]!;
    if (institution && inst !== institution) continue;
    yield [externalId(c.id), c.title, c.author, c.year, c.isbns, inst, t.items, t.retainedUntil || ""];
  }
}

export const SHARED_COLUMNS = [
  "cluster_id",
  "title",
  "author",
  "year",
  "isbns",
  "holders",
  "copies",
  "retained_by",
  "institutions",
];

/** Titles held by at least `min` libraries: shared retention or withdrawal candidates. */
export function* sharedHoldings(
  db: Database,
  externalId: (n: number) => string,
  min: number,
): Generator<Array<string | number>> {
  for (const c of streamClusters(db)) {
    if (c.holders.size < min) continue;
    const holders = [...c.holders].sort(([a], [b]) => (a < b ? -1 : 1));
    const copies = holders.reduce((n, [, t]) => n + t.items, 0);
    const retained = holders
      .filter(([, t]) => t.retainedUntil > 0)
      .map(([i, t]) => `${i}:${t.retainedUntil}`);
    yield [
      externalId(c.id),
      c.title,
      c.author,
      c.year,
      c.isbns,
      holders.length,
      copies,
      retained.join(" "),
      holders.map(([i]) => i).join(" "),
    ];
  }
}

export const OVERLAP_COLUMNS = ["cluster_id", "title", "author", "year", "isbns", "held_by"];

export interface OverlapSummary {
  both: number;
  onlyA: number;
  onlyB: number;
}

/**
 * Titles two libraries hold: every title of either, with who holds it ("both", or the one
 * library), through `emit`; the counts at the end.
 */
export function overlap(
  db: Database,
  externalId: (n: number) => string,
  a: string,
  b: string,
  emit: (row: Array<string | number>) => void,
): OverlapSummary {
  const s: OverlapSummary = { both: 0, onlyA: 0, onlyB: 0 };
  for (const c of streamClusters(db, [a, b])) {
    const hasA = c.holders.has(a);
    const hasB = c.holders.has(b);
    if (!hasA && !hasB) continue;
    const who = hasA && hasB ? "both" : hasA ? a : b;
    if (hasA && hasB) s.both++;
    else if (hasA) s.onlyA++;
    else s.onlyB++;
    emit([externalId(c.id), c.title, c.author, c.year, c.isbns, who]);
  }
  return s;
}

export const DEMAND_COLUMNS = ["title", "keys", "requests", "requesters", "last_requested"];

/**
 * ILL demand for titles nobody held: requests since `since` that the broker could place with no
 * holder, grouped by request (one line per title asked for), most requested first. Titles a
 * library has since come to hold (a copy, not only an order, on a record with one of the
 * request's ISBNs/ISSNs in the union catalog) are left out.
 */
export function* unheldDemand(db: Database, since: Date): Generator<Array<string | number>> {
  const rows = db.sqlite
    .prepare(
      `WITH r AS (
         SELECT requester, request_id, MIN(title) AS title, group_concat(key, ' ') AS keys,
                MAX(requested_at) AS at
         FROM union_demand WHERE held = 0 AND requested_at >= ?
         GROUP BY requester, request_id)
       SELECT title, keys, COUNT(*) AS requests, COUNT(DISTINCT requester) AS requesters, MAX(at) AS last
       FROM r GROUP BY keys ORDER BY requests DESC, title`,
    )
    .iterate(since.toISOString()) as IterableIterator<{
    title: string;
    keys: string;
    requests: number;
    requesters: number;
    last: string;
  }>;
  const holdingsOf = db.sqlite.prepare(
    `SELECT r.holdings FROM union_record_keys k JOIN union_records r ON r.rid = k.rid
     WHERE k.key IN (SELECT value FROM json_each(?))`,
  );
  const heldNow = (keys: string): boolean => {
    const ids = keys.split(" ").filter((k) => !k.startsWith("title:"));
    if (ids.length === 0) return false;
    for (const { holdings } of holdingsOf.iterate(JSON.stringify(ids)) as IterableIterator<{
      holdings: string;
    }>)
      if (tallyOf(JSON.parse(holdings) as HoldingData[]).items > 0) return true;
    return false;
  };
  for (const r of rows) if (!heldNow(r.keys)) yield [r.title, r.keys, r.requests, r.requesters, r.last];
}
