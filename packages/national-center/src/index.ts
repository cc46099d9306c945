export { caPaths, initCa, loadCa } from "./ca.js";
export {
  LedgerConflictError,
  LedgerForbiddenError,
  LedgerInputError,
  LedgerIntegrityError,
  LedgerStateError,
} from "./ledger/errors.js";
export { type GenerateOptions, generatedInstitution, generatePostings } from "./ledger/generate.js";
export {
  buildStatements,
  canonicalSettlement,
  type LineSum,
  PAYEE,
  PAYER,
  settlementDigest,
} from "./ledger/settlement.js";
export { addLedgerCommands, settlementText } from "./ledger-cli.js";
export { nationalPolicy } from "./policy.js";
export { NationalNode, nationalNodeMigrations } from "./server.js";
export {
  type LedgerCheck,
  type LedgerPositions,
  LedgerStore,
  type PostResult,
  type SettleOutcome,
} from "./store/ledger-store.js";
export { nationalMigrations } from "./store/migrations.js";
