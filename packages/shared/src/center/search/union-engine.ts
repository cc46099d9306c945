/**
 * The union catalog's dialect of the search engine (search/engine.ts): hits are clusters (id
 * "<nodeId>:c<n>") of `union_clusters`, matched through the records of `union_records` and their
 * index `union_fts`, shown with the preferred record's description and every holding institution,
 * nearest to the asking institution first.
 */
import type { HoldingData } from "../../catalog-sync/change-feed.js";
import { emptyTally, type HoldingTally, tallyHolding } from "../../catalog-sync/holding-summary.js";
import type { Database, Sqlite } from "../../db.js";
import type { CompiledQuery, SearchFilter } from "../../search/compile.js";
import {
  all,
  byProximity,
  type CatalogDialect,
  type Facets,
  list,
  type MatchDialect,
  matchCtes,
  memoize,
  type PageRow,
  Params,
  proximityOf,
  run,
  type SearchOptions,
  scoreSql,
  searchCatalog,
  top,
  withRegions,
  yearFacet,
  yearSql,
} from "../../search/engine.js";
import type { EngineHit, EngineHolding, EngineResult } from "../../search/engine-types.js";
import { publisherOfBlob } from "../../search/record-info.js";

/** A union catalog to search: its database and the node id its cluster ids carry ("<nodeId>:c<n>"). */
export interface UnionSearchSource {
  db: Database | Sqlite;
  nodeId: string;
}

interface UnionRow extends PageRow {
  title_vernacular: string;
  language: string;
  format: string;
  preferred_rid: number;
}

/**
 * `union_records` as `r` read through its narrow (rid, cluster_id) index: finding the cluster of
 * each match then reads a few index pages instead of each match's wide row (MARC and holdings).
 */
const RECORD_CLUSTER = "union_records r INDEXED BY union_records_rid_cluster";

const PUBLISHER_SQL = "SELECT rid, marc FROM union_records WHERE rid IN (SELECT value FROM json_each(?))";
const UNION_HOLDINGS_SQL = `SELECT cluster_id, institution_id, holdings FROM union_records
  WHERE cluster_id IN (SELECT value FROM json_each(?)) ORDER BY cluster_id, institution_id, record_id`;

/**
 * Searches a union catalog: hits are clusters, with the preferred record's description and every
 * holding institution, nearest to `onBehalfOf` first.
 *
 * @throws as search/engine.ts searchCatalog.
 */
export function searchUnion(source: UnionSearchSource, query: string, opts: SearchOptions): EngineResult {
  return searchCatalog(source.db, unionDialect(source.nodeId, opts), query, opts);
}

function unionDialect(nodeId: string, opts: SearchOptions): CatalogDialect<UnionRow> {
  const regionOf = memoize(opts.regionOf);
  const onBehalfOf = opts.onBehalfOf;
  const ownRegion = opts.ownRegion ?? (onBehalfOf === undefined ? undefined : regionOf(onBehalfOf));
  return {
    kind: "union",
    match: unionMatch(nodeId),
    scored({ compiled, p, thisYear }) {
      let exact = (_few: boolean) => "0";
      let ctes = "";
      if (compiled.exactTitleMatch !== undefined) {
        ctes = `, e AS MATERIALIZED (SELECT DISTINCT r.cluster_id AS hid FROM union_fts
            CROSS JOIN ${RECORD_CLUSTER} ON r.rid = union_fts.rowid WHERE union_fts MATCH ${p.bind(compiled.exactTitleMatch)})`;
        const check = `lrs_search_title_is(c.title, c.title_vernacular, ${p.bind(JSON.stringify(compiled.exactTitles))}, 0)`;
        // Over every match, the index first narrows the titles to check to those with the phrase.
        exact = (few) => (few ? check : `(CASE WHEN m.hid IN (SELECT hid FROM e) THEN ${check} ELSE 0 END)`);
      }
      return {
        ctes,
        select: (
          source,
          few,
        ) => `SELECT c.id AS hid, c.title, c.title_vernacular, c.author, c.year, c.language, c.format,
                c.isbns, c.issns, c.preferred_rid,
                ${scoreSql("m.rel", exact(few), "c.institution_count", "c.year", thisYear)} AS score
              FROM ${source} AS m CROSS JOIN union_clusters c ON c.id = m.hid`,
      };
    },
    maxHoldingsSql: "(SELECT MAX(institution_count) FROM union_clusters)",
    hits(db, rows) {
      const holdings = unionHoldings(
        db,
        rows.map((r) => r.hid),
        (inst) => regionOf(inst) ?? "",
        onBehalfOf,
        ownRegion,
      );
      const publishers = new Map<number, string>();
      for (const r of all(db, PUBLISHER_SQL, JSON.stringify(rows.map((x) => x.preferred_rid))) as Array<{
        rid: number;
        marc: Buffer;
      }>) {
        publishers.set(r.rid, publisherOfBlob(r.marc));
      }
      return rows.map(
        (r): EngineHit => ({
          id: `${nodeId}:c${r.hid}`,
          title: r.title || r.title_vernacular,
          author: r.author,
          year: r.year,
          publisher: publishers.get(r.preferred_rid) ?? "",
          language: r.language,
          format: r.format,
          isbns: list(r.isbns),
          issns: list(r.issns),
          score: r.score,
          holdings: holdings.get(r.hid) ?? [],
        }),
      );
    },
    facets(db, compiled, limit) {
      return unionFacets(db, compiled, unionMatch(nodeId), limit, regionOf);
    },
  };
}

/** Holdings by institution of the given clusters, in one statement. */
function unionHoldings(
  db: Sqlite,
  clusters: readonly number[],
  regionOf: (institutionId: string) => string,
  onBehalfOf: string | undefined,
  ownRegion: string | undefined,
): Map<number, EngineHolding[]> {
  const out = new Map<number, EngineHolding[]>();
  if (clusters.length === 0) return out;
  const acc = new Map<number, Map<string, HoldingTally>>();
  for (const r of all(db, UNION_HOLDINGS_SQL, JSON.stringify(clusters)) as Array<{
    cluster_id: number;
    institution_id: string;
    holdings: string;
  }>) {
    let byInst = acc.get(r.cluster_id);
    if (!byInst) {
      byInst = new Map();
      acc.set(r.cluster_id, byInst);
    }
    let h = byInst.get(r.institution_id);
    if (!h) {
      h = emptyTally();
      byInst.set(r.institution_id, h);
    }
    for (const item of JSON.parse(r.holdings) as HoldingData[]) tallyHolding(h, item);
  }
  for (const [cluster, byInst] of acc) {
    const holdings = [...byInst].map(([institutionId, h]) => {
      const region = regionOf(institutionId);
      return {
        institutionId,
        region,
        proximity: proximityOf(institutionId, region, onBehalfOf, ownRegion),
        ...h,
      };
    });
    out.set(cluster, holdings.sort(byProximity));
  }
  return out;
}

function unionMatch(nodeId: string): MatchDialect {
  return {
    fts: "union_fts",
    rowid: "r.rid",
    hit: "r.cluster_id",
    grouped: true,
    from(text, needsCluster) {
      const cluster = needsCluster ? " JOIN union_clusters c ON c.id = r.cluster_id" : "";
      if (text === "driver") return `f CROSS JOIN ${RECORD_CLUSTER} ON r.rid = f.fid${cluster}`;
      return `union_records r${cluster}${text === "rank" ? " LEFT JOIN f ON f.fid = r.rid" : ""}`;
    },
    filter(f, p, use) {
      switch (f.kind) {
        case "year":
          use.cluster = true;
          return yearSql("c.year", f.ranges, p);
        case "exactTitle":
          return `lrs_search_title_is(json_extract(r.summary, '$.title'), json_extract(r.summary, '$.titleVernacular'),
            ${p.bind(JSON.stringify(f.titles))}, ${f.prefix ? 1 : 0})`;
        case "identifier":
          return unionIdentifierSql(nodeId, f, p);
        default: {
          const _never: never = f;
          return _never;
        }
      }
    },
  };
}

function unionIdentifierSql(
  nodeId: string,
  f: Extract<SearchFilter, { kind: "identifier" }>,
  p: Params,
): string {
  const clusterPrefix = `${nodeId}:c`;
  if (f.prefix) {
    const values = p.bind(JSON.stringify(f.values));
    const forms = [
      "r.record_id",
      "r.institution_id || '/' || r.record_id",
      `${p.bind(clusterPrefix)} || r.cluster_id`,
    ];
    return `EXISTS (SELECT 1 FROM json_each(${values}) j
      WHERE ${forms.map((x) => `substr(${x}, 1, length(j.value)) = j.value`).join(" OR ")})`;
  }
  const clusters: number[] = [];
  const refs: Array<[string, string]> = [];
  for (const v of f.values) {
    if (v.startsWith(clusterPrefix) && /^\d{1,15}$/.test(v.slice(clusterPrefix.length))) {
      clusters.push(Number(v.slice(clusterPrefix.length)));
    }
    const slash = v.indexOf("/");
    if (slash > 0) refs.push([v.slice(0, slash), v.slice(slash + 1)]);
  }
  const parts = [`r.record_id IN (SELECT value FROM json_each(${p.bind(JSON.stringify(f.values))}))`];
  if (clusters.length > 0) {
    const nums = p.bind(JSON.stringify(clusters));
    parts.push(
      `r.cluster_id IN (SELECT value FROM json_each(${nums})
        UNION SELECT cluster_id FROM union_cluster_aliases WHERE alias IN (SELECT value FROM json_each(${nums})))`,
    );
  }
  if (refs.length > 0) {
    parts.push(`(r.institution_id, r.record_id) IN
      (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(${p.bind(JSON.stringify(refs))}))`);
  }
  return `(${parts.join(" OR ")})`;
}

function unionFacets(
  db: Sqlite,
  compiled: CompiledQuery,
  d: MatchDialect,
  limit: number,
  regionOf: (institutionId: string) => string | undefined,
): Facets {
  const p = new Params();
  // h: each hit with each institution holding it, once; g: the region of each of those
  // institutions, one regionOf call per institution rather than per holding.
  const sql = `WITH ${matchCtes(compiled, d, p)},
    h AS MATERIALIZED (SELECT DISTINCT m.hid, r.institution_id AS inst
      FROM m CROSS JOIN union_records r ON r.cluster_id = m.hid),
    g AS MATERIALIZED (SELECT inst, lrs_search_region(inst) AS region FROM (SELECT DISTINCT inst FROM h))
    SELECT 'summary' AS facet, c.year AS a, c.language AS b, c.format AS x, COUNT(*) AS n
      FROM m CROSS JOIN union_clusters c ON c.id = m.hid GROUP BY c.year, c.language, c.format
    UNION ALL
    SELECT 'institution', inst, NULL, NULL, COUNT(*) FROM h GROUP BY inst
    UNION ALL
    SELECT 'region', g.region, NULL, NULL, COUNT(DISTINCT h.hid) FROM h JOIN g ON g.inst = h.inst GROUP BY g.region`;
  const rows = withRegions(regionOf, () => run(db, sql, p)) as Array<{
    facet: string;
    a: string;
    b: string | null;
    x: string | null;
    n: number;
  }>;
  const years = new Map<string, number>();
  const languages = new Map<string, number>();
  const formats = new Map<string, number>();
  const institutions = new Map<string, number>();
  const regions = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  for (const r of rows) {
    if (r.facet === "summary") {
      add(years, r.a, r.n);
      add(languages, r.b ?? "", r.n);
      add(formats, r.x ?? "", r.n);
    } else if (r.facet === "institution") {
      add(institutions, r.a, r.n);
    } else {
      add(regions, r.a, r.n);
    }
  }
  return [
    { name: "region", values: top(regions, limit) },
    { name: "institution", values: top(institutions, limit) },
    { name: "year", values: yearFacet(years, limit) },
    { name: "language", values: top(languages, limit) },
    { name: "format", values: top(formats, limit) },
  ];
}
