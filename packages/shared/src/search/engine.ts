/**
 * The search engine of one node: a CQL query over the node's own catalog — a union catalog
 * (regional or national center; hits are clusters) or a member's local catalog (hits are records) —
 * ranked, faceted and paged. The same compiled query (compile.ts) runs on both, since both search
 * indexes have the same columns built by the same rules (catalog-index/).
 *
 * This file knows no catalog's tables: each catalog's {@link CatalogDialect} — the member's next to
 * the member catalog's tables (member-node store/catalog-search.ts), the union catalog's next to
 * the union catalog (center/search/union-engine.ts) — says how its tables answer a plan, score and
 * show a hit, and count facets. Here: the plan as SQL, the ranking, paging and the connection.
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
 * The total counts clusters (records at a member), computed with the page in one statement (the
 * matches, `m`, counted once); when no sortBy is asked and the page is among the first
 * {@link MAX_SEARCH_LIMIT} hits, only the matches that can reach it are scored (see
 * `topCandidates`); facets, when asked, count over the whole result in one more statement. The
 * holdings and publishers of a page's hits are read in one statement each, never per hit.
 */
import type { Statement } from "better-sqlite3";
import { formatAndLanguage } from "../catalog-index/kind.js";
import type { Database, Sqlite } from "../db.js";
import { andPlan, type CompiledQuery, compileQuery, type SearchFilter, type SearchPlan } from "./compile.js";
import { decodeCursor, encodeCursor, MAX_SEARCH_OFFSET, queryHash } from "./cursor.js";
import type { EngineHit, EngineHolding, EngineResult } from "./engine-types.js";
import { titleMatches, vernacularTitleOf } from "./record-info.js";

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

// ---------------------------------------------------------------- searching

/** A space-separated list column as an array. */
export function list(s: string): string[] {
  return s === "" ? [] : s.split(" ");
}

export function distinct(values: readonly string[]): string[] {
  return [...new Set(values.filter((v) => v !== ""))];
}

export function memoize(fn: (id: string) => string | undefined): (id: string) => string | undefined {
  const cache = new Map<string, string | undefined>();
  return (id) => {
    if (!cache.has(id)) cache.set(id, fn(id));
    return cache.get(id);
  };
}

/** What a catalog's page query returns for each hit (besides its own columns). */
export interface PageRow {
  hid: number;
  /** title, author, year: what sortBy orders by. */
  title: string;
  author: string;
  year: string;
  /** Space-separated ISBN-13s and ISSNs the hit shows. */
  isbns: string;
  issns: string;
  score: number;
  total: number;
}

/** Facets of a result: region, institution, year, language, format. */
export type Facets = NonNullable<EngineResult["facets"]>;

/** What the page query of a catalog is built from. */
export interface PageQuery {
  compiled: CompiledQuery;
  p: Params;
  /** `:pN` of this year, for the recency boost. */
  thisYear: string;
}

/** How a catalog scores hits: CTEs it needs once, and the scored hits of a set of matches. */
export interface Scoring {
  /** CTEs after the match `m` (each beginning with ", "), or "". */
  ctes: string;
  /**
   * A SELECT of each hit of `source` (a CTE of `hid`, `rel` like `m`) with `hid`, `title`,
   * `author`, `year` (what sortBy orders by), `score` (see {@link scoreSql}) and the catalog's own
   * columns of {@link PageRow}. `few`: `source` holds a few candidates, not every match, so a
   * check per hit costs less than a pass over the index that narrows it first.
   */
  select(source: string, few: boolean): string;
}

/** How one catalog's tables answer a search (see the head of this file). */
export interface CatalogDialect<Row extends PageRow> {
  /** Which catalog a cursor belongs to: a cursor of another kind is refused. */
  kind: string;
  match: MatchDialect;
  /** How hits are scored (see {@link Scoring}). */
  scored(q: PageQuery): Scoring;
  /**
   * SQL of the most holdings any hit of the catalog has (a scalar subquery): with it the
   * engine bounds the boosts and scores only the hits that can reach the page.
   */
  maxHoldingsSql: string;
  /** The hits of a page, from its rows, reading what they show in one statement each. */
  hits(db: Sqlite, rows: readonly Row[]): EngineHit[];
  /** Facets over the whole result. */
  facets(db: Sqlite, compiled: CompiledQuery, limit: number, total: number): Facets;
}

/**
 * Searches one catalog through its dialect: the page of hits (by score, or sortBy), the total, the
 * cursor of the next page and, when asked, the facets.
 *
 * @throws {CqlParseError} for a query that cannot be parsed, is not supported or has a term that
 *   cannot be searched; {@link SearchCursorError} for a cursor of another query; RangeError for a
 *   limit out of range.
 */
export function searchCatalog<Row extends PageRow>(
  db: Database | Sqlite,
  dialect: CatalogDialect<Row>,
  query: string,
  opts: Pick<SearchOptions, "limit" | "cursor" | "facets" | "facetLimit" | "now">,
): EngineResult {
  const compiled = compileQuery(query);
  const sqlite = sqliteOf(db);
  ensureFunctions(sqlite);
  const hash = queryHash(dialect.kind, compiled.canonical);
  const { limit, offset } = pageOf(opts, hash);
  const p = new Params();
  const thisYear = p.bind((opts.now?.() ?? new Date()).getUTCFullYear());
  const scoring = dialect.scored({ compiled, p, thisYear });
  const n = offset + limit;
  const candidates =
    relevanceOnly(compiled) && compiled.exactTitleMatch === undefined && limit > 0 && n <= MAX_SEARCH_LIMIT
      ? topCandidates(sqlite, dialect, scoring, p, n)
      : "m";
  const sql = `WITH ${matchCtes(compiled, dialect.match, p)}${scoring.ctes}${candidates === "m" ? "" : candidates},
    s AS (${candidates === "m" ? scoring.select("m", false) : scoring.select("cand", true)})
    SELECT s.*, (SELECT COUNT(*) FROM m) AS total FROM s
    ORDER BY ${orderBy(compiled)} LIMIT ${p.bind(limit)} OFFSET ${p.bind(offset)}`;
  const rows = limit === 0 ? [] : (run(sqlite, sql, p) as Row[]);
  // No row: nothing matched, or the page lies past the end (or none was asked for) and only a count tells.
  const total =
    rows[0]?.total ?? (offset === 0 && limit > 0 ? 0 : countMatches(sqlite, compiled, dialect.match));
  const hits = dialect.hits(sqlite, rows);
  const result: EngineResult = { total, hits };
  const next = offset + hits.length;
  if (hits.length > 0 && next < total && next <= MAX_SEARCH_OFFSET)
    result.nextCursor = encodeCursor(next, hash);
  if (opts.facets) {
    result.facets = dialect.facets(sqlite, compiled, opts.facetLimit ?? DEFAULT_FACET_LIMIT, total);
  }
  return result;
}

/** The page asked for; throws RangeError for a limit out of range, SearchCursorError for a cursor of another query. */
export function pageOf(
  opts: { limit: number; cursor?: string },
  hash: string,
): { limit: number; offset: number } {
  if (!Number.isInteger(opts.limit) || opts.limit < 0 || opts.limit > MAX_SEARCH_LIMIT) {
    throw new RangeError(`limit must be a whole number from 0 to ${MAX_SEARCH_LIMIT}, not ${opts.limit}`);
  }
  return { limit: opts.limit, offset: opts.cursor ? decodeCursor(opts.cursor, hash) : 0 };
}

/** Ordered by score alone (no sortBy): only the hits that can reach the page need scoring. */
function relevanceOnly(compiled: CompiledQuery): boolean {
  return compiled.sort.every((k) => k.key === "relevance");
}

/**
 * The CTEs `k`, `t` and `cand` that narrow the matches `m` to the candidates for the first `n` hits
 * by score, so that only those are scored and sorted (a hit's score needs its cluster's or
 * record's row, the exact-title check and the holdings; the relevance comes with the match):
 *
 * - `k`: the `n` matches of highest relevance, scored: the `n`-th best of their scores, `t`, is a
 *   score the page's last hit reaches at least;
 * - the boosts multiply `1 + relevance` by at most `B` = 1 + holdings of the most held hit +
 *   recency (see {@link RANKING}), so a match with `(1 + relevance) × B < t` cannot reach the
 *   page; `cand` keeps the others (ties included: the hid breaks them).
 *
 * Only for queries without a title to be exact about (`dc.title=…`, words anywhere): with the
 * exact-title boost the bound doubles, few matches fall below it, and the extra passes made title
 * queries slower (measured, BENCHMARKS.md). The page is the same as scoring every match; how much is saved depends on how much the
 * relevance of the matches differs. `B` is read once per change of the database (cached).
 */
function topCandidates<Row extends PageRow>(
  db: Sqlite,
  dialect: CatalogDialect<Row>,
  scoring: Scoring,
  p: Params,
  n: number,
): string {
  const most = Math.max(0, maxHoldings(db, dialect.maxHoldingsSql));
  const bound = 1 + RANKING.holdings * Math.log(1 + most) + RANKING.recency;
  const b = p.bind(bound);
  return `,
    k AS MATERIALIZED (SELECT hid, rel FROM m ORDER BY rel DESC, hid LIMIT ${p.bind(n)}),
    t AS MATERIALIZED (SELECT score FROM (${scoring.select("k", true)}) ORDER BY score DESC LIMIT 1 OFFSET ${p.bind(n - 1)}),
    cand AS MATERIALIZED (SELECT hid, rel FROM m
      WHERE NOT EXISTS (SELECT 1 FROM t) OR (1.0 + rel) * (CASE WHEN rel >= -1.0 THEN ${b} ELSE 1.0 END)
        >= (SELECT score - abs(score) * 1e-9 - 1e-9 FROM t))`;
}

const holdingsCache = new WeakMap<Sqlite, Map<string, { at: string; most: number }>>();

/**
 * `sql` (the most holdings of a hit) as of the database now: read again only when the database
 * changed since (another connection's commit: `data_version`; this one's: `total_changes()`).
 */
function maxHoldings(db: Sqlite, sql: string): number {
  let cache = holdingsCache.get(db);
  if (!cache) {
    cache = new Map();
    holdingsCache.set(db, cache);
  }
  const at = `${db.pragma("data_version", { simple: true })}:${(prepare(db, "SELECT total_changes() AS n").get() as { n: number }).n}`;
  const hit = cache.get(sql);
  if (hit?.at === at) return hit.most;
  const most = Number((prepare(db, `SELECT ${sql} AS n`).get() as { n: number | null }).n ?? 0);
  cache.set(sql, { at, most });
  return most;
}

const PROXIMITY_ORDER = { own: 0, region: 1, other: 2 } as const;

export function proximityOf(
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
export function byProximity(a: EngineHolding, b: EngineHolding): number {
  return (
    PROXIMITY_ORDER[a.proximity] - PROXIMITY_ORDER[b.proximity] ||
    b.items - a.items ||
    (a.institutionId < b.institutionId ? -1 : a.institutionId > b.institutionId ? 1 : 0)
  );
}

// ---------------------------------------------------------------- SQL

/** Named parameters of one statement, `:p0`, `:p1`… in the order they are written. */
export class Params {
  readonly values: Record<string, unknown> = {};
  #n = 0;

  bind(value: unknown): string {
    const name = `p${this.#n++}`;
    this.values[name] = value;
    return `:${name}`;
  }
}

/** How one catalog's tables answer the parts of a plan: what a match (`m`: hid, rel) is made of. */
export interface MatchDialect {
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

export function yearSql(column: string, ranges: ReadonlyArray<readonly [number, number]>, p: Params): string {
  if (ranges.length === 0) return "0";
  const within = ranges.map(
    ([lo, hi]) => `CAST(${column} AS INTEGER) BETWEEN ${p.bind(lo)} AND ${p.bind(hi)}`,
  );
  return `(${column} <> '' AND (${within.join(" OR ")}))`;
}

/** The plan as an SQL condition on one matching row (text parts through the FTS index). */
function planSql(plan: SearchPlan, d: MatchDialect, p: Params, use: { cluster: boolean }): string {
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
export function matchCtes(compiled: CompiledQuery, d: MatchDialect, p: Params): string {
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
  // One hit per index row and nothing else to test: the index alone answers (no catalog row read).
  if (text === "driver" && rest === undefined && !d.grouped)
    return `${f}m AS MATERIALIZED (SELECT fid AS hid, -bm AS rel FROM f)`;
  return `${f}m AS MATERIALIZED (SELECT ${d.hit} AS hid, ${rel} AS rel FROM ${d.from(text, use.cluster)}${where}${group})`;
}

export function scoreSql(
  rel: string,
  exact: string,
  holdings: string,
  year: string,
  thisYear: string,
): string {
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

function countMatches(db: Sqlite, compiled: CompiledQuery, d: MatchDialect): number {
  const p = new Params();
  const sql = `WITH ${matchCtes(compiled, d, p)} SELECT COUNT(*) AS n FROM m`;
  return (run(db, sql, p)[0] as { n: number }).n;
}

// ---------------------------------------------------------------- facets

/** The `limit` most frequent values, known ones only; ties in value order. */
export function top(
  counts: ReadonlyMap<string, number>,
  limit: number,
): Array<{ value: string; count: number }> {
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
export function yearFacet(
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

/** Separates format and language in what `lrs_search_marc_kind(marc)` returns. */
export const KIND_SEPARATOR = "\u001f";
const statements = new WeakMap<Sqlite, Map<string, Statement>>();
const STATEMENT_CACHE = 256;
const withFunctions = new WeakSet<Sqlite>();
let regionLookup: ((institutionId: string) => string | undefined) | undefined;

export function sqliteOf(db: Database | Sqlite): Sqlite {
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

export function run(db: Sqlite, sql: string, p: Params): unknown[] {
  const stmt = prepare(db, sql);
  return Object.keys(p.values).length === 0 ? stmt.all() : stmt.all(p.values);
}

export function all(db: Sqlite, sql: string, ...args: unknown[]): unknown[] {
  return prepare(db, sql).all(...args);
}

/** Runs `fn` with `lrs_search_region()` answering from `regionOf` (statements run synchronously). */
export function withRegions<T>(regionOf: (institutionId: string) => string | undefined, fn: () => T): T {
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
