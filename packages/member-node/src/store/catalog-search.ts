/**
 * The member catalog's dialect of the search engine (`@lrs/shared` search/engine.ts): hits are the
 * records of `catalog_records` (id "<institutionId>/<recordId>", as the wire's LOCAL hits), matched
 * through `catalog_fts`, each with the member's own holding (its `catalog_items`) when it has items.
 * It lives here, beside the migrations that create those tables.
 */
import {
  type CatalogDialect,
  type CompiledQuery,
  type Database,
  type EngineHit,
  type EngineHolding,
  type EngineResult,
  emptyTally,
  engineSql,
  formatAndLanguage,
  type HoldingTally,
  publisherOfBlob,
  type SearchOptions,
  type Sqlite,
  searchCatalog,
  tallyHolding,
} from "@lrs/shared";

const {
  all,
  KIND_SEPARATOR,
  list,
  matchCtes,
  memoize,
  Params,
  proximityOf,
  run,
  top,
  yearFacet,
  yearSql,
  scoreSql,
} = engineSql;
type Facets = engineSql.Facets;
type MatchDialect = engineSql.MatchDialect;
type PageRow = engineSql.PageRow;

/** A member's catalog to search: its database and the member's institution id. */
export interface MemberSearchSource {
  db: Database | Sqlite;
  institutionId: string;
}

/** Search options for a member catalog: the member asks for itself unless told otherwise. */
export type MemberSearchOptions = Omit<SearchOptions, "regionOf"> & {
  regionOf?: (institutionId: string) => string | undefined;
};

interface MemberRow extends PageRow {
  record_id: string;
}

const MEMBER_MARC_SQL = "SELECT id, marc FROM catalog_records WHERE id IN (SELECT value FROM json_each(?))";
const MEMBER_ITEMS_SQL = `SELECT record_id, call_number, location, status, copies, expected_date, retained_until FROM catalog_items
  WHERE record_id IN (SELECT value FROM json_each(?)) ORDER BY record_id, position`;

/**
 * Searches a member's local catalog. `onBehalfOf` defaults to the member itself.
 *
 * @throws as `searchCatalog` of `@lrs/shared`.
 */
export function searchMember(
  source: MemberSearchSource,
  query: string,
  opts: MemberSearchOptions,
): EngineResult {
  return searchCatalog(source.db, memberDialect(source.institutionId, opts), query, opts);
}

function memberDialect(inst: string, opts: MemberSearchOptions): CatalogDialect<MemberRow> {
  const regionOf = memoize(opts.regionOf ?? (() => undefined));
  const onBehalfOf = opts.onBehalfOf ?? inst;
  const ownRegion = opts.ownRegion ?? regionOf(onBehalfOf);
  const region = regionOf(inst) ?? (onBehalfOf === inst ? (ownRegion ?? "") : "");
  const match = memberMatch(inst);
  return {
    kind: "member",
    match,
    scored({ compiled, p, thisYear }) {
      let exact = (_few: boolean) => "0";
      let ctes = "";
      if (compiled.exactTitleMatch !== undefined) {
        ctes = `, e AS MATERIALIZED (SELECT rowid AS hid FROM catalog_fts WHERE catalog_fts MATCH ${p.bind(compiled.exactTitleMatch)})`;
        const check = `lrs_search_title_is_marc(d.title, d.marc, ${p.bind(JSON.stringify(compiled.exactTitles))}, 0)`;
        // Over every match, the index first narrows the titles to check to those with the phrase.
        exact = (few) => (few ? check : `(CASE WHEN m.hid IN (SELECT hid FROM e) THEN ${check} ELSE 0 END)`);
      }
      const score = scoreSql("s0.rel", "s0.exact", "s0.items", "s0.year", thisYear);
      return {
        ctes,
        select: (source, few) => `SELECT s0.*, ${score} AS score
          FROM (SELECT d.id AS hid, d.record_id, d.title, d.author, d.pub_year AS year, d.isbns, d.issns,
                  m.rel, ${exact(few)} AS exact,
                  (SELECT COUNT(*) FROM catalog_items i WHERE i.record_id = d.record_id) AS items
                FROM ${source} AS m CROSS JOIN catalog_records d ON d.id = m.hid) AS s0`,
      };
    },
    maxHoldingsSql: "(SELECT MAX(n) FROM (SELECT COUNT(*) AS n FROM catalog_items GROUP BY record_id))",
    hits(db, rows) {
      const marcs = new Map<number, Buffer>();
      for (const r of all(db, MEMBER_MARC_SQL, JSON.stringify(rows.map((x) => x.hid))) as Array<{
        id: number;
        marc: Buffer;
      }>) {
        marcs.set(r.id, r.marc);
      }
      const items = new Map<string, HoldingTally>();
      for (const r of all(db, MEMBER_ITEMS_SQL, JSON.stringify(rows.map((x) => x.record_id))) as Array<{
        record_id: string;
        call_number: string;
        location: string;
        status: string;
        copies: number | null;
        expected_date: string | null;
        retained_until: number | null;
      }>) {
        const own = items.get(r.record_id) ?? emptyTally();
        tallyHolding(own, {
          barcode: "",
          callNumber: r.call_number,
          location: r.location,
          status: r.status,
          loanRule: "",
          ...(r.copies ? { copies: r.copies } : {}),
          ...(r.expected_date ? { expectedDate: r.expected_date } : {}),
          ...(r.retained_until ? { retainedUntil: r.retained_until } : {}),
        });
        items.set(r.record_id, own);
      }
      return rows.map((r): EngineHit => {
        const marc = marcs.get(r.hid);
        const kind = marc ? formatAndLanguage(marc) : { format: "", language: "" };
        const own = items.get(r.record_id);
        const holdings: EngineHolding[] = own
          ? [
              {
                institutionId: inst,
                region,
                proximity: proximityOf(inst, region, onBehalfOf, ownRegion),
                ...own,
              },
            ]
          : [];
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
    },
    facets(db, compiled, limit, total) {
      return memberFacets(db, compiled, match, limit, inst, region, total);
    },
  };
}

function memberMatch(institutionId: string): MatchDialect {
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

function memberFacets(
  db: Sqlite,
  compiled: CompiledQuery,
  d: MatchDialect,
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
