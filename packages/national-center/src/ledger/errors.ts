// The ledger's domain errors; shared/src/rpc/errors.ts maps them to wire codes by name.

/** A posting or a request is malformed; the message names the posting and the field (InvalidArgument). */
export class LedgerInputError extends Error {
  override readonly name = "LedgerInputError";
}

/** An entry id is taken by a posting with other content, or a posting is reversed twice (AlreadyExists). */
export class LedgerConflictError extends Error {
  override readonly name = "LedgerConflictError";
}

/** The caller may not post or read for that institution (PermissionDenied). */
export class LedgerForbiddenError extends Error {
  override readonly name = "LedgerForbiddenError";
}

/** The period cannot be settled now (FailedPrecondition). */
export class LedgerStateError extends Error {
  override readonly name = "LedgerStateError";
}

/** The stored ledger contradicts itself: unbalanced lines, a stored settlement whose digest differs (DataLoss). */
export class LedgerIntegrityError extends Error {
  override readonly name = "LedgerIntegrityError";
}
