export { CATALOG_INDEXES, type CatalogIndex, CatalogRecordError, recordIdOf } from "./catalog-fields.js";
export { BUILTIN_MAPS, type HoldingsMap, resolveHoldingsMap } from "./holdings-map.js";
export { type ImportOptions, type ImportSummary, importMarcFiles, type Rejection } from "./import.js";
export { memberPolicy } from "./policy.js";
export { MemberNode } from "./server.js";
export {
  type CatalogRecord,
  ftsIndexQuery,
  type LocalHit,
  MemberCatalog,
  type UpsertResult,
} from "./store/catalog.js";
export { memberMigrations } from "./store/migrations.js";
