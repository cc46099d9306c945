// Reciprocal borrowing's domain errors, mapped to wire codes in shared rpc/errors.ts.

/** Staff input that cannot be right (names the field). */
export class VisitInputError extends Error {
  override readonly name = "VisitInputError";
}

export class VisitNotFoundError extends Error {
  override readonly name = "VisitNotFoundError";
}

/** A loan the desk may not make or a return it may not take (why, in words for staff). */
export class VisitRefusedError extends Error {
  override readonly name = "VisitRefusedError";
}
