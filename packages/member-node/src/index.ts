export { CatalogRecordError, recordIdOf } from "./catalog/fields.js";
export { type HarvestSummary, harvestCatalog } from "./catalog/harvest.js";
export {
  BUILTIN_MAPS,
  type HoldingsMap,
  HoldingsMapError,
  parseHoldingsMapSpec,
  resolveHoldingsMap,
  specMap,
} from "./catalog/holdings-map.js";
export { type ImportOptions, type ImportSummary, importMarcFiles, type Rejection } from "./catalog/import.js";
export { ItemsCsvError, readItemsCsv } from "./catalog/items-csv.js";
export {
  type AutoRespondMode,
  type BorrowInput,
  IllEngine,
  type IllEngineOptions,
  type MessageLogEntry,
  type TimerInfo,
} from "./ill/engine.js";
export { type IllRequest, IllStore, type RotaEntry } from "./ill/store.js";
export { memberPolicy } from "./policy.js";
export { MemberNode } from "./server.js";
export {
  type CatalogRecord,
  ftsIndexQuery,
  type LocalHit,
  MemberCatalog,
  type UpsertResult,
} from "./store/catalog.js";
export {
  type MemberSearchOptions,
  type MemberSearchSource,
  searchMember,
} from "./store/catalog-search.js";
export { memberMigrations } from "./store/migrations.js";
