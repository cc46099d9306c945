import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Domain errors by class name → wire code, in one place. Their messages are
 * written for the caller; any other error becomes Internal, and its cause
 * goes to the log, never over the wire.
 */
const CODES: Record<string, Code> = {
  EnrollmentError: Code.PermissionDenied,
  TokenFormatError: Code.InvalidArgument,
  CsrError: Code.InvalidArgument,
  DirectoryError: Code.FailedPrecondition,
  ValidationError: Code.InvalidArgument,
  NotFoundError: Code.NotFound,
  UnknownClusterError: Code.NotFound,
  InvalidSplitError: Code.InvalidArgument,
  ResyncStateError: Code.FailedPrecondition,
  SearchCursorError: Code.InvalidArgument,
  CqlParseError: Code.InvalidArgument,
  // ILL relays (ill/envelope.ts, ill-net/errors.ts)
  EnvelopeError: Code.InvalidArgument,
  IllForbiddenError: Code.PermissionDenied,
  IllRouteError: Code.FailedPrecondition,
  // A member's ILL requests (member-node ill/errors.ts)
  IllInputError: Code.InvalidArgument,
  IllNotFoundError: Code.NotFound,
  IllStateError: Code.FailedPrecondition,
  // Document delivery (copy/errors.ts)
  CopyRejectedError: Code.InvalidArgument,
  CopyCorruptError: Code.DataLoss,
  CopyUnavailableError: Code.FailedPrecondition,
  // Amounts and currencies (fees/money.ts)
  MoneyError: Code.InvalidArgument,
  // The ledger (fees/postings.ts; national-center ledger/errors.ts)
  LedgerInputError: Code.InvalidArgument,
  LedgerConflictError: Code.AlreadyExists,
  LedgerForbiddenError: Code.PermissionDenied,
  LedgerStateError: Code.FailedPrecondition,
  LedgerIntegrityError: Code.DataLoss,
  // Reciprocal borrowing (visit/credential.ts; member-node visit/errors.ts)
  CredentialError: Code.InvalidArgument,
  VisitForbiddenError: Code.PermissionDenied,
  VisitInputError: Code.InvalidArgument,
  VisitNotFoundError: Code.NotFound,
  VisitRefusedError: Code.FailedPrecondition,
};

/** A caller's input is wrong; the message names what. */
export class ValidationError extends Error {
  override readonly name = "ValidationError";
}

export class NotFoundError extends Error {
  override readonly name = "NotFoundError";
}

export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof Error) {
    const code = CODES[err.name];
    if (code !== undefined) return new ConnectError(err.message, code);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/** The most characters of an error message sent to a caller (it travels in an HTTP/2 header). */
export const MAX_ERROR_MESSAGE = 1024;

/**
 * The error as it may go over the wire: its message cut to MAX_ERROR_MESSAGE characters, so
 * input a handler quoted back ("institution id "…" is not valid") cannot grow the response
 * header past what HTTP/2 allows. Every call's error passes here (rpc/server.ts).
 */
export function boundedError(err: unknown): ConnectError {
  const ce = toConnectError(err);
  if (ce.rawMessage.length <= MAX_ERROR_MESSAGE) return ce;
  const cutAt = MAX_ERROR_MESSAGE - 40;
  return new ConnectError(
    `${ce.rawMessage.slice(0, cutAt)}… (${ce.rawMessage.length - cutAt} more characters cut)`,
    ce.code,
    ce.metadata,
    undefined,
    ce.cause,
  );
}

/** Wraps a handler so that domain errors reach the caller with their proper code. */
export function mapErrors<A extends unknown[], R>(fn: (...a: A) => Promise<R> | R): (...a: A) => Promise<R> {
  return async (...a: A): Promise<R> => {
    try {
      return await fn(...a);
    } catch (err) {
      throw toConnectError(err);
    }
  };
}
