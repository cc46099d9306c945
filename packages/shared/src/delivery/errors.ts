// Refusals of document delivery; rpc/errors.ts maps them to wire codes by name.

/** The copy is not acceptable as sent: too large, not a PDF or image, a stream out of order. */
export class CopyRejectedError extends Error {
  override readonly name = "CopyRejectedError";
}

/**
 * The bytes that arrived are not the file announced: fewer than its size, or another SHA-256.
 * Nothing was kept; the sender sends it again.
 */
export class CopyCorruptError extends Error {
  override readonly name = "CopyCorruptError";
  constructor(
    message: string,
    readonly expected: string,
    readonly got: string,
  ) {
    super(message);
  }
}

/** The copy cannot be had here (any more): deleted after its retention period, or not arrived. */
export class CopyUnavailableError extends Error {
  override readonly name = "CopyUnavailableError";
}
