// The ledger's domain errors; shared/src/rpc/errors.ts maps them to wire codes by name.

// Malformed input, a conflicting entry and a caller posting for others are refused the same way at
// every hop that takes postings; those classes live with the postings' checks in @lrs/shared.
export { LedgerConflictError, LedgerForbiddenError, LedgerInputError } from "@lrs/shared";

/** The period cannot be settled now (FailedPrecondition). */
export class LedgerStateError extends Error {
  override readonly name = "LedgerStateError";
}

/** The stored ledger contradicts itself: unbalanced lines, a stored settlement whose digest differs (DataLoss). */
export class LedgerIntegrityError extends Error {
  override readonly name = "LedgerIntegrityError";
}
