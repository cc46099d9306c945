export {
  DC_ELEMENTS,
  DC_NAMESPACE,
  type DcElement,
  type DcStatement,
  marcToDublinCore,
  SRW_DC_NAMESPACE,
  toSrwDcXml,
} from "./dc.js";
export { type SruDiagnostic, SruDiagnosticCode, sruDiagnostic, sruDiagnosticUri } from "./diagnostics.js";
export { type ExplainInfo, zeerexRecord } from "./explain.js";
export {
  findRecordSchema,
  HIGHEST_VERSION,
  interpretRequest,
  negotiateVersion,
  RECORD_SCHEMAS,
  type RecordPacking,
  type RecordSchemaSpec,
  rawFromForm,
  rawFromSoap,
  type SearchSpec,
  SOAP_11_ENVELOPE,
  SOAP_12_ENVELOPE,
  SoapRequestError,
  SRU_NS,
  type SruBinding,
  type SruOperation,
  type SruPageLimits,
  type SruRawRequest,
  type SruVersion,
  withSortKeys,
} from "./request.js";
export { ZEEREX_SCHEMA } from "./response.js";
export {
  createSruServer,
  DEFAULT_SRU_LIMITS,
  type SruBackend,
  type SruDatabaseInfo,
  type SruLimits,
  type SruRecord,
  type SruSearchResult,
  type SruServer,
  type SruServerOptions,
} from "./server.js";
export * from "./union-backend.js";
