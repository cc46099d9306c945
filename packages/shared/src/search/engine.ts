/**
 * The search engine of one node: a CQL query over the node's own catalog — a union catalog
 * (regional or national center; hits are clusters) or a member's local catalog (hits are records) —
 * ranked, faceted and paged. The same compiled query (compile.ts) runs on both, since both search
 * indexes have the same columns built by the same rules.
 *
 * ## Ranking
 *
 * A hit's score (higher is better) is
 *
 *     score = (1 + relevance) × (1 + 1.0·exact + 0.15·ln(1 + holdings) + 0.1·recency)
 *
 * - relevance: −bm25 of the FTS5 match with column weights title 8, author 4, subject 3, isbn 2,
 *   issn 2, publisher 1.5, year 1, any 1 (FTS5's bm25 is negative, lower is better; a cluster takes
 *   its best record's). 0 for a hit found only by filters (`dc.date < 1900`), so the boosts order
 *   those. When the query has no single text part every hit must match (a filter in an OR), the
 *   relevance is that of the OR of the query's text parts.
 * - exact: 1 when a title/anywhere term of the query (not under NOT), normalised, equals the hit's
 *   title or title proper, normalised (also the title in its original script), else 0. Only hits
 *   whose title contains the phrase are checked, through the index.
 * - holdings: holding institutions of a cluster; items of a member's record.
 * - recency: (year − 1900) / (this year − 1900), clamped to 0…1; 0 when the year is unknown.
 *
 * Multiplying keeps the boosts proportionate whatever the scale of bm25 for a query: an exact title
 * doubles the score, a book held by 100 libraries instead of one gains about 60%, a new book about
 * 10% over one from 1900. `sortBy dc.title | dc.creator | dc.date` (ascending unless
 * `/descending`; unknown values last) orders first, the score breaks ties, then the id.
 *
 * ## Paging and totals
 *
 * Pages are cut by offset from the ranked result; the cursor is base64url JSON of the offset and a
 * hash of the compiled query, and a cursor of another query is refused ({@link SearchCursorError}).
 * The total counts clusters (records at a member), computed with the page in one statement (a
 * window count); facets, when asked, count over the whole result in one more statement. The
 * holdings and publishers of a page's hits are read in one statement each, never per hit.
 */
import type { Statement } from "better-sqlite3";
import type { HoldingData } from "../catalog-sync/change-feed.js";
import type { Database, Sqlite } from "../db.js";
import { andPlan, type CompiledQuery, compileQuery, type SearchFilter, type SearchPlan } from "./compile.js";
import { decodeCursor, encodeCursor, MAX_SEARCH_OFFSET, queryHash } from "./cursor.js";
import type { EngineHit, EngineHolding, EngineResult } from "./engine-types.js";
import { formatAndLanguage, publisherOfBlob, titleMatches, vernacularTitleOf } from "./record-info.js";

/** The ranking's constants (see the head of this file). */
export const RANKING = {
  /** bm25 weights of the index columns: title, author, subject, isbn, issn, publisher, year, any. */
  columnWeights: [8, 4, 3, 2, 2, 1.5, 1, 1],
  exactTitle: 1,
  holdings: 0.15,
  recency: 0.1,
  /** The year recency counts from. */
  recencyFrom: 1900,
} as const;

/** Most hits a page may have. */
export const MAX_SEARCH_LIMIT = 1000;
/** Values per facet unless asked otherwise. */
export const DEFAULT_FACET_LIMIT = 10;

/** A union catalog to search: its database and the node id its cluster ids carry ("<nodeId>:c<n>"). */
export interface UnionSearchSource {
  db: Database | Sqlite;
  nodeId: string;
}

/** A member's catalog to search: its database and the member's institution id. */
export interface MemberSearchSource {
  db: Database | Sqlite;
  institutionId: string;
}

export interface SearchOptions {
  /** Hits per page, 0 to {@link MAX_SEARCH_LIMIT}; 0 asks for the total (and facets) only. */
  limit: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
  /** Count facets (region, institution, year, language, format) over the whole result. */
  facets?: boolean;
  /** Values per facet (default {@link DEFAULT_FACET_LIMIT}), the most frequent first. */
  facetLimit?: number;
  /** The institution that asks: its holdings come first, then those of its region. */
  onBehalfOf?: string;
  /** The region of an institution (from the directory); undefined when unknown. */
  regionOf: (institutionId: string) => string | undefined;
  /** The asking institution's region (default: `regionOf(onBehalfOf)`). */
  ownRegion?: string;
  /** Clock for the recency boost (tests). */
  now?: () => Date;
}

/** {@link SearchOptions} for a member catalog: the member asks for itself unless told otherwise. */
export type MemberSearchOptions = Omit<SearchOptions, "regionOf"> & {
  regionOf?: (institutionId: string) => string | undefined;
};

/**
 * Searches a union catalog: hits are clusters (id "<nodeId>:c<n>"), with the preferred record's
 * description and every holding institution, nearest to `onBehalfOf` first.
 *
 * @throws {CqlParseError} for a query that cannot be parsed, is not supported or has a term that
 *   cannot be searched; {@link SearchCursorError} for a cursor of another query; RangeError for a
 *   limit out of range.
 */
export function searchUnion(source: UnionSearchSource, query: string, opts: SearchOptions): EngineResult {
  const compiled = compileQuery(query);
  const db = sqliteOf(source.db);
  ensureFunctions(db);
  const hash = queryHash("union", compiled.canonical);
  const { limit, offset } = pageOf(opts, hash);
  const thisYear = (opts.now?.() ?? new Date()).getUTCFullYear();
  const dialect = unionDialect(source.nodeId);

  const p = new Params();
  const ctes = matchCtes(compiled, dialect, p);
  let exact = "0";
  let exactCte = "";
  if (compiled.exactTitleMatch !== undefined) {
    exactCte = `, e AS MATERIALIZED (SELECT DISTINCT r.cluster_id AS hid FROM union_fts
        CROSS JOIN union_records r ON r.rid = union_fts.rowid WHERE union_fts MATCH ${p.bind(compiled.exactTitleMatch)})`;
    exact = `(CASE WHEN m.hid IN (SELECT hid FROM e)
        THEN lrs_search_title_is(c.title, c.title_vernacular, ${p.bind(JSON.stringify(compiled.exactTitles))}, 0)
        ELSE 0 END)`;
  }
  const score = scoreSql("m.rel", exact, "c.institution_count", "c.year", p.bind(thisYear));
  const sql = `WITH ${ctes}${exactCte},
    s AS (SELECT c.id AS hid, c.title, c.title_vernacular, c.author, c.year, c.language, c.format, c.isbns, c.issns,
            c.preferred_rid, ${score} AS score
          FROM m CROSS JOIN union_clusters c ON c.id = m.hid)
    SELECT s.*, COUNT(*) OVER () AS total FROM s
    ORDER BY ${orderBy(compiled)} LIMIT ${p.bind(limit)} OFFSET ${p.bind(offset)}`;
  const rows = limit === 0 ? [] : (run(db, sql, p) as UnionRow[]);
  // No row: nothing matched, or the page lies past the end (or none was asked for) and only a count tells.
  const total = rows[0]?.total ?? (offset === 0 && limit > 0 ? 0 : countMatches(db, compiled, dialect));

  const regionOf = memoize(opts.regionOf);
  const onBehalfOf = opts.onBehalfOf;
  const ownRegion = opts.ownRegion ?? (onBehalfOf === undefined ? undefined : regionOf(onBehalfOf));
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
  const hits: EngineHit[] = rows.map((r) => ({
    id: `${source.nodeId}:c${r.hid}`,
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
  }));
  const result: EngineResult = { total, hits };
  const next = offset + hits.length;
  if (hits.length > 0 && next < total && next <= MAX_SEARCH_OFFSET)
    result.nextCursor = encodeCursor(next, hash);
  if (opts.facets) {
    result.facets = unionFacets(db, compiled, dialect, opts.facetLimit ?? DEFAULT_FACET_LIMIT, (inst) =>
      regionOf(inst),
    );
  }
  return result;
}

/**
 * Searches a member's local catalog: hits are records (id "<institutionId>/<recordId>", as the
 * wire's LOCAL hits), each with the member's own holding (its items) when it has items.
 * `onBehalfOf` defaults to the member itself.
 *
 * @throws as {@link searchUnion}.
 */
export function searchMember(
  source: MemberSearchSource,
  query: string,
  opts: MemberSearchOptions,
): EngineResult {
  const compiled = compileQuery(query);
  const db = sqliteOf(source.db);
  ensureFunctions(db);
  const hash = queryHash("member", compiled.canonical);
  const { limit, offset } = pageOf(opts, hash);
  const thisYear = (opts.now?.() ?? new Date()).getUTCFullYear();
  const dialect = memberDialect(source.institutionId);

  const p = new Params();
  const ctes = matchCtes(compiled, dialect, p);
  let exact = "0";
  let exactCte = "";
  if (compiled.exactTitleMatch !== undefined) {
    exactCte = `, e AS MATERIALIZED (SELECT rowid AS hid FROM catalog_fts WHERE catalog_fts MATCH ${p.bind(compiled.exactTitleMatch)})`;
    exact = `(CASE WHEN m.hid IN (SELECT hid FROM e)
        THEN lrs_search_title_is_marc(d.title, d.marc, ${p.bind(JSON.stringify(compiled.exactTitles))}, 0)
        ELSE 0 END)`;
  }
  const score = scoreSql("s0.rel", "s0.exact", "s0.items", "s0.year", p.bind(thisYear));
  const sql = `WITH ${ctes}${exactCte},
    s0 AS MATERIALIZED (SELECT d.id AS hid, d.record_id, d.title, d.author, d.pub_year AS year, d.isbns, d.issns,
            m.rel, ${exact} AS exact,
            (SELECT COUNT(*) FROM catalog_items i WHERE i.record_id = d.record_id) AS items
          FROM m CROSS JOIN catalog_records d ON d.id = m.hid),
    s AS (SELECT s0.*, ${score} AS score FROM s0)
    SELECT s.*, COUNT(*) OVER () AS total FROM s
    ORDER BY ${orderBy(compiled)} LIMIT ${p.bind(limit)} OFFSET ${p.bind(offset)}`;
  const rows = limit === 0 ? [] : (run(db, sql, p) as MemberRow[]);
  // No row: nothing matched, or the page lies past the end (or none was asked for) and only a count tells.
  const total = rows[0]?.total ?? (offset === 0 && limit > 0 ? 0 : countMatches(db, compiled, dialect));

  const inst = source.institutionId;
  const regionOf = memoize(opts.regionOf ?? (() => undefined));
  const onBehalfOf = opts.onBehalfOf ?? inst;
  const ownRegion = opts.ownRegion ?? regionOf(onBehalfOf);
  const region = regionOf(inst) ?? (onBehalfOf === inst ? (ownRegion ?? "") : "");
  const marcs = new Map<number, Buffer>();
  for (const r of all(db, MEMBER_MARC_SQL, JSON.stringify(rows.map((x) => x.hid))) as Array<{
    id: number;
    marc: Buffer;
  }>) {
    marcs.set(r.id, r.marc);
  }
  const items = new Map<string, Array<{ call_number: string; location: string }>>();
  for (const r of all(db, MEMBER_ITEMS_SQL, JSON.stringify(rows.map((x) => x.record_id))) as Array<{
    record_id: string;
    call_number: string;
    location: string;
  }>) {
    const list = items.get(r.record_id) ?? [];
    list.push(r);
    items.set(r.record_id, list);
  }
  const hits: EngineHit[] = rows.map((r) => {
    const marc = marcs.get(r.hid);
    const kind = marc ? formatAndLanguage(marc) : { format: "", language: "" };
    const own = items.get(r.record_id) ?? [];
    const holdings: EngineHolding[] =
      own.length === 0
        ? []
        : [
            {
              institutionId: inst,
              region,
              proximity: proximityOf(inst, region, onBehalfOf, ownRegion),
              items: own.length,
              locations: distinct(own.map((x) => x.location)),
              callNumber: own.find((x) => x.call_number !== "")?.call_number ?? "",
            },
          ];
    return {
      id: `${inst}/${r.record_id}`,
      title: r.title,
      author: r.author,
      year: r.year,
      publisher: marc ? publisherOfBlob(marc) : "",
      language: kind.language,
      format: kind.format,
      isbns: list(r.isbns),
      issns: list(r.issns),
      score: r.score,
      holdings,
    };
  });
  const result: EngineResult = { total, hits };
  const next = offset + hits.length;
  if (hits.length > 0 && next < total && next <= MAX_SEARCH_OFFSET)
    result.nextCursor = encodeCursor(next, hash);
  if (opts.facets) {
    result.facets = memberFacets(
      db,
      compiled,
      dialect,
      opts.facetLimit ?? DEFAULT_FACET_LIMIT,
      inst,
      region,
      total,
    );
  }
  return result;
}

// ---------------------------------------------------------------- rows

interface UnionRow {
  hid: number;
  title: string;
  title_vernacular: string;
  author: string;
  year: string;
  language: string;
  format: string;
  isbns: string;
  issns: string;
  preferred_rid: number;
  score: number;
  total: number;
}

interface MemberRow {
  hid: number;
  record_id: string;
  title: string;
  author: string;
  year: string;
  isbns: string;
  issns: string;
  score: number;
  total: number;
}

const PUBLISHER_SQL = "SELECT rid, marc FROM union_records WHERE rid IN (SELECT value FROM json_each(?))";
const UNION_HOLDINGS_SQL = `SELECT cluster_id, institution_id, holdings FROM union_records
  WHERE cluster_id IN (SELECT value FROM json_each(?)) ORDER BY cluster_id, institution_id, record_id`;
const MEMBER_MARC_SQL = "SELECT id, marc FROM catalog_records WHERE id IN (SELECT value FROM json_each(?))";
const MEMBER_ITEMS_SQL = `SELECT record_id, call_number, location FROM catalog_items
  WHERE record_id IN (SELECT value FROM json_each(?)) ORDER BY record_id, position`;

function list(s: string): string[] {
  return s === "" ? [] : s.split(" ");
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ""))];
}

function memoize(fn: (id: string) => string | undefined): (id: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (id) => {
    if (!cache.has(id)) cache.set(id, fn(id));
    return cache.get(id);
  };
}

function pageOf(opts: { limit: number; cursor?: string }, hash: string): { limit: number; offset: number } {
  if (!Number.isInteger(opts.limit) || opts.limit < 0 || opts.limit > MAX_SEARCH_LIMIT) {
    throw new RangeError(`limit must be a whole number from 0 to ${MAX_SEARCH_LIMIT}, not ${opts.limit}`);
  }
  return { limit: opts.limit, offset: opts.cursor ? decodeCursor(opts.cursor, hash) : 0 };
}

const PROXIMITY_ORDER = { own: 0, region: 1, other: 2 } as const;

function proximityOf(
  institutionId: string,
  region: string,
  onBehalfOf: string | undefined,
  ownRegion: string | undefined,
): EngineHolding["proximity"] {
  if (onBehalfOf !== undefined && institutionId === onBehalfOf) return "own";
  if (ownRegion !== undefined && ownRegion !== "" && region === ownRegion) return "region";
  return "other";
}

/** Nearest first: own institution, own region, the rest; within each, most items first. */
function byProximity(a: EngineHolding, b: EngineHolding): number {
  return (
    PROXIMITY_ORDER[a.proximity] - PROXIMITY_ORDER[b.proximity] ||
    b.items - a.items ||
    (a.institutionId < b.institutionId ? -1 : a.institutionId > b.institutionId ? 1 : 0)
  );
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
  const acc = new Map<number, Map<string, { items: number; locations: Set<string>; callNumber: string }>>();
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
      h = { items: 0, locations: new Set(), callNumber: "" };
      byInst.set(r.institution_id, h);
    }
    for (const item of JSON.parse(r.holdings) as HoldingData[]) {
      h.items++;
      if (item.location) h.locations.add(item.location);
      if (!h.callNumber && item.callNumber) h.callNumber = item.callNumber;
    }
  }
  for (const [cluster, byInst] of acc) {
    const holdings = [...byInst].map(([institutionId, h]) => {
      const region = regionOf(institutionId);
      return {
        institutionId,
        region,
        proximity: proximityOf(institutionId, region, onBehalfOf, ownRegion),
        items: h.items,
        locations: [...h.locations],
        callNumber: h.callNumber,
      };
    });
    out.set(cluster, holdings.sort(byProximity));
  }
  return out;
}

// ---------------------------------------------------------------- SQL

/** Named parameters of one statement, `:p0`, `:p1`… in the order they are written. */
class Params {
  readonly values: Record<string, unknown> = {};
  #n = 0;

  bind(value: unknown): string {
    const name = `p${this.#n++}`;
    this.values[name] = value;
    return `:${name}`;
  }
}

/** How one catalog's tables answer the parts of a plan. */
interface Dialect {
  /** The FTS5 table. */
  fts: string;
  /** The index rowid of a matching row (a record). */
  rowid: string;
  /** The hit a matching row belongs to (a cluster, or the record itself). */
  hit: string;
  /** Several rows make one hit: the match groups by {@link hit}. */
  grouped: boolean;
  /**
   * FROM of the match: driven by the text part `f` ("driver"), or over every row with `f` joined
   * for the relevance ("rank") or without it ("none").
   */
  from(text: "driver" | "rank" | "none", needsCluster: boolean): string;
  /** SQL of a filter on a matching row; sets `use.cluster` when it needs the cluster row `c`. */
  filter(f: SearchFilter, p: Params, use: { cluster: boolean }): string;
}

function unionDialect(nodeId: string): Dialect {
  return {
    fts: "union_fts",
    rowid: "r.rid",
    hit: "r.cluster_id",
    grouped: true,
    from(text, needsCluster) {
      const cluster = needsCluster ? " JOIN union_clusters c ON c.id = r.cluster_id" : "";
      if (text === "driver") return `f CROSS JOIN union_records r ON r.rid = f.fid${cluster}`;
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

function memberDialect(institutionId: string): Dialect {
  return {
    fts: "catalog_fts",
    rowid: "d.id",
    hit: "d.id",
    grouped: false,
    from(text) {
      if (text === "driver") return "f CROSS JOIN catalog_records d ON d.id = f.fid";
      return `catalog_records d${text === "rank" ? " LEFT JOIN f ON f.fid = d.id" : ""}`;
    },
    filter(f, p) {
      switch (f.kind) {
        case "year":
          return yearSql("d.pub_year", f.ranges, p);
        case "exactTitle":
          return `lrs_search_title_is_marc(d.title, d.marc, ${p.bind(JSON.stringify(f.titles))}, ${f.prefix ? 1 : 0})`;
        case "identifier": {
          // "member/record" is how LOCAL hits name a record; the record id alone works too.
          const own = `${institutionId}/`;
          const values = [
            ...new Set(f.values.flatMap((v) => (v.startsWith(own) ? [v, v.slice(own.length)] : [v]))),
          ];
          const bound = p.bind(JSON.stringify(values));
          return f.prefix
            ? `EXISTS (SELECT 1 FROM json_each(${bound}) j WHERE substr(d.record_id, 1, length(j.value)) = j.value)`
            : `d.record_id IN (SELECT value FROM json_each(${bound}))`;
        }
        default: {
          const _never: never = f;
          return _never;
        }
      }
    },
  };
}

function yearSql(column: string, ranges: ReadonlyArray<readonly [number, number]>, p: Params): string {
  if (ranges.length === 0) return "0";
  const within = ranges.map(
    ([lo, hi]) => `CAST(${column} AS INTEGER) BETWEEN ${p.bind(lo)} AND ${p.bind(hi)}`,
  );
  return `(${column} <> '' AND (${within.join(" OR ")}))`;
}

/** The plan as an SQL condition on one matching row (text parts through the FTS index). */
function planSql(plan: SearchPlan, d: Dialect, p: Params, use: { cluster: boolean }): string {
  switch (plan.kind) {
    case "fts":
      return `${d.rowid} IN (SELECT rowid FROM ${d.fts} WHERE ${d.fts} MATCH ${p.bind(plan.match)})`;
    case "filter":
      return d.filter(plan.filter, p, use);
    case "and":
      return `(${plan.items.map((it) => planSql(it, d, p, use)).join(" AND ")})`;
    case "or":
      return `(${plan.items.map((it) => planSql(it, d, p, use)).join(" OR ")})`;
    case "not":
      return `(NOT ${planSql(plan.item, d, p, use)})`;
    default: {
      const _never: never = plan;
      return _never;
    }
  }
}

/** The FTS5 expressions of a plan that a match may be ranked by: its text parts not under NOT. */
function rankingMatches(plan: SearchPlan): string[] {
  switch (plan.kind) {
    case "fts":
      return [plan.match];
    case "filter":
    case "not":
      return [];
    case "and":
    case "or":
      return plan.items.flatMap(rankingMatches);
    default: {
      const _never: never = plan;
      return _never;
    }
  }
}

/**
 * `f` (text matches with bm25) and `m` (hid, rel): every hit of the query once, with its relevance.
 * When the plan is a text part AND other conditions, the text part drives (only its rows are
 * looked at); otherwise every row of the catalog is tested.
 */
function matchCtes(compiled: CompiledQuery, d: Dialect, p: Params): string {
  const plan = compiled.plan;
  let driver: string | undefined;
  let rest: SearchPlan | undefined;
  if (plan.kind === "fts") {
    driver = plan.match;
  } else if (plan.kind === "and" && plan.items[0]?.kind === "fts") {
    driver = plan.items[0].match;
    rest = andPlan(plan.items.slice(1));
  } else {
    rest = plan;
  }
  const ranking =
    driver ??
    rankingMatches(plan)
      .map((m) => `(${m})`)
      .join(" OR ");
  const use = { cluster: false };
  const where = rest === undefined ? "" : ` WHERE ${planSql(rest, d, p, use)}`;
  const text = driver !== undefined ? "driver" : ranking !== "" ? "rank" : "none";
  const weights = RANKING.columnWeights.join(", ");
  const f =
    text === "none"
      ? ""
      : `f AS MATERIALIZED (SELECT rowid AS fid, bm25(${d.fts}, ${weights}) AS bm FROM ${d.fts}
          WHERE ${d.fts} MATCH ${p.bind(ranking)}), `;
  const bm = d.grouped ? "MIN(f.bm)" : "f.bm";
  const rel = text === "driver" ? `-${bm}` : text === "rank" ? `COALESCE(-${bm}, 0.0)` : "0.0";
  const group = d.grouped ? ` GROUP BY ${d.hit}` : "";
  return `${f}m AS MATERIALIZED (SELECT ${d.hit} AS hid, ${rel} AS rel FROM ${d.from(text, use.cluster)}${where}${group})`;
}

function scoreSql(rel: string, exact: string, holdings: string, year: string, thisYear: string): string {
  const from = RANKING.recencyFrom;
  const recency = `(CASE WHEN ${year} GLOB '[0-9][0-9][0-9][0-9]'
      THEN max(0.0, min(1.0, (CAST(${year} AS REAL) - ${from}) / max(1.0, ${thisYear} - ${from}))) ELSE 0.0 END)`;
  return `((1.0 + ${rel}) * (1.0 + ${RANKING.exactTitle} * ${exact} + ${RANKING.holdings} * ln(1.0 + ${holdings})
      + ${RANKING.recency} * ${recency}))`;
}

/** ORDER BY of the page query over `s` (title, author, year, score, hid). */
function orderBy(compiled: CompiledQuery): string {
  const parts: string[] = [];
  for (const k of compiled.sort) {
    const dir = k.descending ? "DESC" : "ASC";
    switch (k.key) {
      case "relevance":
        // Best first whatever the modifier says: the other order is of no use.
        parts.push("s.score DESC");
        break;
      case "title":
        parts.push(`(s.title = '') ASC, s.title COLLATE NOCASE ${dir}`);
        break;
      case "creator":
        parts.push(`(s.author = '') ASC, s.author COLLATE NOCASE ${dir}`);
        break;
      case "date":
        parts.push(`(s.year = '') ASC, CAST(s.year AS INTEGER) ${dir}`);
        break;
      default: {
        const _never: never = k.key;
        return _never;
      }
    }
  }
  parts.push("s.score DESC", "s.hid ASC");
  return parts.join(", ");
}

function countMatches(db: Sqlite, compiled: CompiledQuery, d: Dialect): number {
  const p = new Params();
  const sql = `WITH ${matchCtes(compiled, d, p)} SELECT COUNT(*) AS n FROM m`;
  return (run(db, sql, p)[0] as { n: number }).n;
}

// ---------------------------------------------------------------- facets

type Facets = NonNullable<EngineResult["facets"]>;

function unionFacets(
  db: Sqlite,
  compiled: CompiledQuery,
  d: Dialect,
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

function memberFacets(
  db: Sqlite,
  compiled: CompiledQuery,
  d: Dialect,
  limit: number,
  institutionId: string,
  region: string,
  total: number,
): Facets {
  const p = new Params();
  const sql = `WITH ${matchCtes(compiled, d, p)}
    SELECT d.pub_year AS year, lrs_search_marc_kind(d.marc) AS kind, COUNT(*) AS n
    FROM m CROSS JOIN catalog_records d ON d.id = m.hid GROUP BY 1, 2`;
  const years = new Map<string, number>();
  const languages = new Map<string, number>();
  const formats = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, n: number) => m.set(k, (m.get(k) ?? 0) + n);
  for (const r of run(db, sql, p) as Array<{ year: string; kind: string; n: number }>) {
    const [format = "", language = ""] = r.kind.split(KIND_SEPARATOR);
    add(years, r.year, r.n);
    add(formats, format, r.n);
    add(languages, language, r.n);
  }
  const own = (value: string) => (value === "" || total === 0 ? [] : [{ value, count: total }]);
  return [
    { name: "region", values: own(region) },
    { name: "institution", values: own(institutionId) },
    { name: "year", values: yearFacet(years, limit) },
    { name: "language", values: top(languages, limit) },
    { name: "format", values: top(formats, limit) },
  ];
}

/** The `limit` most frequent values, known ones only; ties in value order. */
function top(counts: ReadonlyMap<string, number>, limit: number): Array<{ value: string; count: number }> {
  return [...counts]
    .filter(([value, count]) => value !== "" && count > 0)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, limit)
    .map(([value, count]) => ({ value, count }));
}

/**
 * Years, or decades ("1990-1999", which `dc.date within "1990 1999"` selects) when the result
 * spans more years than the facet shows.
 */
function yearFacet(
  counts: ReadonlyMap<string, number>,
  limit: number,
): Array<{ value: string; count: number }> {
  const known = [...counts].filter(([y]) => /^\d{4}$/.test(y));
  if (known.length <= limit) return top(new Map(known), limit);
  const decades = new Map<string, number>();
  for (const [y, n] of known) {
    const from = Math.floor(Number(y) / 10) * 10;
    const key = `${from}-${from + 9}`;
    decades.set(key, (decades.get(key) ?? 0) + n);
  }
  return top(decades, limit);
}

// ---------------------------------------------------------------- the connection

const KIND_SEPARATOR = "\u001f";
const statements = new WeakMap<Sqlite, Map<string, Statement>>();
const STATEMENT_CACHE = 256;
const withFunctions = new WeakSet<Sqlite>();
let regionLookup: ((institutionId: string) => string | undefined) | undefined;

function sqliteOf(db: Database | Sqlite): Sqlite {
  return "sqlite" in db ? db.sqlite : db;
}

/** A prepared statement, kept per connection (query shapes repeat; their values are bound). */
function prepare(db: Sqlite, sql: string): Statement {
  let cache = statements.get(db);
  if (!cache) {
    cache = new Map();
    statements.set(db, cache);
  }
  let stmt = cache.get(sql);
  if (stmt) {
    cache.delete(sql);
  } else {
    stmt = db.prepare(sql);
    if (cache.size >= STATEMENT_CACHE) cache.delete(cache.keys().next().value!);
  }
  cache.set(sql, stmt);
  return stmt;
}

function run(db: Sqlite, sql: string, p: Params): unknown[] {
  const stmt = prepare(db, sql);
  return Object.keys(p.values).length === 0 ? stmt.all() : stmt.all(p.values);
}

function all(db: Sqlite, sql: string, ...args: unknown[]): unknown[] {
  return prepare(db, sql).all(...args);
}

/** Runs `fn` with `lrs_search_region()` answering from `regionOf` (statements run synchronously). */
function withRegions<T>(regionOf: (institutionId: string) => string | undefined, fn: () => T): T {
  const outer = regionLookup;
  regionLookup = regionOf;
  try {
    return fn();
  } finally {
    regionLookup = outer;
  }
}

interface WantedTitles {
  json: string;
  titles: string[];
  /** Some title has letters of a script other than Latin: a title in the original script (880) may match. */
  vernacular: boolean;
}
let lastTitles: WantedTitles = { json: "[]", titles: [], vernacular: false };

function titlesOf(json: unknown): WantedTitles {
  if (typeof json !== "string") return { json: "", titles: [], vernacular: false };
  if (json !== lastTitles.json) {
    const titles = JSON.parse(json) as string[];
    lastTitles = { json, titles, vernacular: titles.some((t) => NON_LATIN.test(t)) };
  }
  return lastTitles;
}
const NON_LATIN = /[^\p{Script=Latin}\p{N}\s]/u;

/** The SQL functions the engine's statements call, registered once per connection. */
function ensureFunctions(db: Sqlite): void {
  if (withFunctions.has(db)) return;
  const text = (v: unknown) => (typeof v === "string" ? v : "");
  const bytes = (v: unknown) => (v instanceof Uint8Array ? v : undefined);
  db.function("lrs_search_title_is", { deterministic: true }, (title, vernacular, titles, prefix) => {
    const { titles: wanted } = titlesOf(titles);
    const p = prefix === 1;
    return titleMatches(text(title), wanted, p) || titleMatches(text(vernacular), wanted, p) ? 1 : 0;
  });
  // The member catalog keeps no vernacular title column: it is read from the record, only when the
  // romanised title does not match and the title asked for is (partly) in another script — 880
  // fields hold non-Latin scripts, and parsing every candidate record would cost more than the search.
  db.function("lrs_search_title_is_marc", { deterministic: true }, (title, marc, titles, prefix) => {
    const wanted = titlesOf(titles);
    const p = prefix === 1;
    if (titleMatches(text(title), wanted.titles, p)) return 1;
    const m = wanted.vernacular ? bytes(marc) : undefined;
    return m && titleMatches(vernacularTitleOf(m), wanted.titles, p) ? 1 : 0;
  });
  db.function("lrs_search_marc_kind", { deterministic: true }, (marc) => {
    const m = bytes(marc);
    if (!m) return KIND_SEPARATOR;
    const k = formatAndLanguage(m);
    return `${k.format}${KIND_SEPARATOR}${k.language}`;
  });
  db.function("lrs_search_region", (institutionId) => regionLookup?.(text(institutionId)) ?? "");
  withFunctions.add(db);
}
