import { createHash } from "node:crypto";

/** A paging cursor that this engine did not issue, or issued for another query. */
export class SearchCursorError extends Error {
  override readonly name = "SearchCursorError";
  constructor(readonly reason: string) {
    super(`invalid cursor: ${reason}`);
  }
}

/** Deepest offset a cursor may carry: past it, narrow the query instead. */
export const MAX_SEARCH_OFFSET = 100_000;

interface CursorBody {
  v: 1;
  /** Offset of the next page in the ranked result. */
  o: number;
  /** Which query (and catalog kind) the cursor belongs to. */
  q: string;
}

/** What a cursor is bound to: the catalog kind and the query as compiled (positions aside). */
export function queryHash(kind: string, canonicalQuery: string): string {
  return createHash("sha256")
    .update(kind)
    .update("\0")
    .update(canonicalQuery)
    .digest("base64url")
    .slice(0, 16);
}

/** The cursor of the page that starts at `offset`: base64url of a small JSON object. */
export function encodeCursor(offset: number, hash: string): string {
  const body: CursorBody = { v: 1, o: offset, q: hash };
  return Buffer.from(JSON.stringify(body)).toString("base64url");
}

/**
 * The offset a cursor stands for.
 *
 * @throws {SearchCursorError} when the cursor cannot be read or belongs to another query.
 */
export function decodeCursor(cursor: string, hash: string): number {
  let body: unknown;
  try {
    if (!/^[A-Za-z0-9_-]{1,200}$/.test(cursor)) throw new Error("not base64url");
    body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw new SearchCursorError("it is not a cursor this server issued");
  }
  const b = body as Partial<CursorBody> | null;
  if (
    typeof b !== "object" ||
    b === null ||
    b.v !== 1 ||
    typeof b.q !== "string" ||
    typeof b.o !== "number" ||
    !Number.isSafeInteger(b.o) ||
    b.o < 0 ||
    b.o > MAX_SEARCH_OFFSET
  ) {
    throw new SearchCursorError("it is not a cursor this server issued");
  }
  if (b.q !== hash) {
    throw new SearchCursorError("it belongs to another query; search again without a cursor");
  }
  return b.o;
}
