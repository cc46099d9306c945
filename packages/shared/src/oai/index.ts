export { MAX_OAI_REQUEST_BYTES, oaiHttpHandler } from "./http.js";
export {
  OAI_NAMESPACE,
  type OaiItem,
  OaiProvider,
  type OaiProviderOptions,
  type OaiRepository,
  type OaiResponse,
} from "./provider.js";
export {
  OaiError,
  type OaiErrorCode,
  type OaiRequest,
  oaiDatestamp,
  parseOaiDate,
  parseOaiRequest,
} from "./request.js";
export { type UnionOaiRepositoryOptions, unionOaiRepository } from "./union-repository.js";
