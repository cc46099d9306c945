export {
  andPlan,
  type CompiledQuery,
  compileCql,
  compileQuery,
  FTS_COLUMNS,
  type FtsColumn,
  notPlan,
  orPlan,
  type SearchFilter,
  type SearchPlan,
  type SearchSortKey,
} from "./compile.js";
export * from "./convert.js";
export { MAX_SEARCH_OFFSET, SearchCursorError } from "./cursor.js";
export * from "./deadline.js";
export {
  DEFAULT_FACET_LIMIT,
  MAX_SEARCH_LIMIT,
  type MemberSearchOptions,
  type MemberSearchSource,
  RANKING,
  type SearchOptions,
  searchMember,
  searchUnion,
  type UnionSearchSource,
} from "./engine.js";
export * from "./engine-types.js";
export * from "./query-error.js";
export { formatAndLanguage } from "./record-info.js";
