/**
 * Resumption tokens that need no state at the provider and stay valid while the catalog changes.
 * A list is the entries between two positions in the order of changes, fixed when the harvest
 * starts (`after < seq <= upto`); a token carries where the next page starts. An entry that changes
 * during the harvest moves past `upto`: it is neither repeated nor lost — the harvester's next
 * incremental harvest (from this one's responseDate) has it. VuFind and Koha keep tokens in a table
 * that has to be pruned; a position needs none.
 */
import { OaiError } from "./request.js";

export interface OaiListState {
  metadataPrefix: string;
  set?: string;
  /** The next page starts after this position. */
  after: number;
  /** The list ends at this position. */
  upto: number;
  /** Entries already sent (OAI-PMH's cursor). */
  cursor: number;
  completeListSize: number;
  /** When the token stops being accepted (ms since the epoch). */
  expires: number;
}

interface Wire {
  v: 1;
  m: string;
  s?: string;
  a: number;
  u: number;
  c: number;
  n: number;
  e: number;
}

export function encodeToken(s: OaiListState): string {
  const w: Wire = {
    v: 1,
    m: s.metadataPrefix,
    ...(s.set !== undefined ? { s: s.set } : {}),
    a: s.after,
    u: s.upto,
    c: s.cursor,
    n: s.completeListSize,
    e: s.expires,
  };
  return Buffer.from(JSON.stringify(w), "utf8").toString("base64url");
}

const isCount = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/** @throws OaiError badResumptionToken for a token this provider did not make, or one that expired. */
export function decodeToken(token: string, now: number): OaiListState {
  let w: Partial<Wire>;
  try {
    if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new Error("not base64url");
    w = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as Partial<Wire>;
  } catch {
    throw new OaiError("badResumptionToken", "the resumptionToken is not one this repository issued");
  }
  if (
    w === null ||
    typeof w !== "object" ||
    w.v !== 1 ||
    typeof w.m !== "string" ||
    (w.s !== undefined && typeof w.s !== "string") ||
    ![w.a, w.u, w.c, w.n, w.e].every(isCount)
  ) {
    throw new OaiError("badResumptionToken", "the resumptionToken is not one this repository issued");
  }
  if (w.e! < now) {
    throw new OaiError(
      "badResumptionToken",
      `the resumptionToken expired at ${new Date(w.e!).toISOString()}; start the list again`,
    );
  }
  return {
    metadataPrefix: w.m,
    ...(w.s !== undefined ? { set: w.s } : {}),
    after: w.a!,
    upto: w.u!,
    cursor: w.c!,
    completeListSize: w.n!,
    expires: w.e!,
  };
}
