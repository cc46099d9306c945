/**
 * `@lrs/shared/center`: the code only regional and national centers run — the union catalog,
 * the catalog sync receiver and CatalogService, union search with its fan-out and availability,
 * SRU, the ILL relay and broker, the article-copy relay and the wiring of a union center.
 * Member nodes never import this entry point (`scripts/check-boundaries.mjs`, run by `npm test`).
 */
export * from "./catalog-cli.js";
export * from "./catalog-sync/receiver.js";
export * from "./delivery/relay-service.js";
export * from "./ill-broker/index.js";
export * from "./iso18626-gateway/index.js";
export * from "./oai/http.js";
export * from "./oai/provider.js";
export { OaiError, type OaiErrorCode, oaiDatestamp, parseOaiDate, parseOaiRequest } from "./oai/request.js";
export { decodeToken as decodeOaiToken, encodeToken as encodeOaiToken } from "./oai/token.js";
export * from "./oai/union-repository.js";
export * from "./peers.js";
export * from "./report-cli.js";
export * from "./search/index.js";
export * from "./sru/index.js";
export * from "./union/catalog-service.js";
export * from "./union/describe-pool.js";
export * from "./union/errors.js";
export * from "./union/migrations.js";
export * from "./union/oai-log.js";
export * from "./union/reindex.js";
export * from "./union/union-catalog.js";
export * from "./union-center.js";
export * from "./visit/visit-service.js";
