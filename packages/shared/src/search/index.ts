export {
  andPlan,
  type CompiledQuery,
  compileCql,
  compileQuery,
  notPlan,
  orPlan,
  type SearchFilter,
  type SearchPlan,
  type SearchSortKey,
} from "./compile.js";
export * from "./convert.js";
export { MAX_SEARCH_OFFSET, SearchCursorError } from "./cursor.js";
export * from "./deadline.js";
/** What a catalog's dialect builds its SQL with (see engine.ts): `engineSql.matchCtes`, `engineSql.Params`… */
export * as engineSql from "./engine.js";
export {
  type CatalogDialect,
  DEFAULT_FACET_LIMIT,
  MAX_SEARCH_LIMIT,
  RANKING,
  type SearchOptions,
  searchCatalog,
} from "./engine.js";
export * from "./engine-types.js";
export { SearchAbortedError } from "./pool.js";
export { type PooledSearch, type PooledSearchOptions, pooledSearch } from "./pooled.js";
export * from "./query-error.js";
export { publisherOfBlob } from "./record-info.js";
export { readOnlyDb } from "./worker-db.js";
