// Ledger postings on their way up: the borrowing member writes a charge (and, on a cancellation,
// its reversal) in the transaction of the transition that causes it; its own outbox queue
// carries it to the regional center, which checks it, stores it and forwards it to the national
// center the same way. Entry ids are stable, so every hop applies a posting once however often
// it arrives.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type LedgerPosting,
  LedgerPostingSchema,
  LedgerService,
  type PostEntriesRequest,
  PostEntriesRequestSchema,
} from "../gen/lrs/v1/ledger_pb.js";
import { periodOf } from "../ledger/period.js";
import type { Logger } from "../log.js";
import { type Outbox, runOutboxWorker } from "../outbox.js";
import { clientFor, type NodeTransport } from "../rpc/client.js";
import { ID_PATTERN } from "../tls/pki.js";
import { isCurrency, MAX_AMOUNT_MINOR } from "./money.js";

/** The outbox kind of a PostEntriesRequest (one posting) for the tier above. */
export const LEDGER_POST_KIND = "ledger.post";

/**
 * The outbox queue of postings for the tier above. Not the parent queue of ILL messages: the
 * outbox keeps order per destination, and a posting the next hop cannot take yet (a national
 * center that is being upgraded, a refusal retried a dozen times before it is set aside) must
 * never hold up the requests and answers behind it.
 */
export const LEDGER_DESTINATION = "parent:ledger";

/** Posting kinds (LedgerPosting.kind); "reversal" undoes an earlier posting (a cancellation). */
export const POSTING_KINDS = ["loan", "copy", "copyright", "reversal"] as const;
export type PostingKind = (typeof POSTING_KINDS)[number];

/** Most postings one PostEntries takes (the outbox sends one a call). */
export const MAX_POSTINGS_PER_CALL = 1000;
/** Longest entry id, transaction id and note taken. */
export const MAX_ENTRY_ID_LENGTH = 200;
export const MAX_NOTE_LENGTH = 500;

/** An id as entries and transactions carry them: printable ASCII without spaces. */
const ENTRY_ID = /^[\x21-\x7e]+$/;

/** A posting or a PostEntries call is malformed; the message names the posting and the field (InvalidArgument). */
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

/**
 * A posting as a member and the national ledger keep it: every field checked, the time as ISO
 * text (UTC, ms).
 */
export interface ValidPosting {
  entryId: string;
  transactionId: string;
  kind: PostingKind;
  payerId: string;
  payeeId: string;
  currency: string;
  amountMinor: bigint;
  postedAt: string;
  period: string;
  /** "" unless kind is "reversal". */
  reversesEntryId: string;
  note: string;
}

/** A posting as the ledger_postings tables of a member and the national center store it. */
export interface PostingRow {
  entry_id: string;
  transaction_id: string;
  kind: string;
  payer_id: string;
  payee_id: string;
  currency: string;
  /** A number unless the statement reads safe integers. */
  amount_minor: bigint | number;
  posted_at: string;
  period: string;
  reverses_entry_id: string | null;
  note: string;
}

/** A stored posting (it was checked before it was stored). */
export function postingOfRow(r: PostingRow): ValidPosting {
  return {
    entryId: r.entry_id,
    transactionId: r.transaction_id,
    kind: r.kind as PostingKind,
    payerId: r.payer_id,
    payeeId: r.payee_id,
    currency: r.currency,
    amountMinor: BigInt(r.amount_minor),
    postedAt: r.posted_at,
    period: r.period,
    reversesEntryId: r.reverses_entry_id ?? "",
    note: r.note,
  };
}

/** The posting on the wire. */
export function postingMessage(p: ValidPosting): LedgerPosting {
  return create(LedgerPostingSchema, {
    entryId: p.entryId,
    transactionId: p.transactionId,
    kind: p.kind,
    payerId: p.payerId,
    payeeId: p.payeeId,
    currency: p.currency,
    amountMinor: p.amountMinor,
    postedAt: timestampFromDate(new Date(p.postedAt)),
    period: p.period,
    reversesEntryId: p.reversesEntryId,
    note: p.note,
  });
}

/**
 * The entry id of a member's posting: `<payer>:<transaction>/<what>`. The payer's id in front
 * keeps ids of different members apart (request ids are only unique at one member), and lets a
 * regional center refuse a member that names another's entry.
 */
export function entryIdOf(payer: string, transactionId: string, what: string): string {
  return `${payer}:${transactionId}/${what}`;
}

/** The id of the reversal of an entry. */
export function reversalIdOf(entryId: string): string {
  return `${entryId}/reversal`;
}

function isKind(k: string): k is PostingKind {
  return (POSTING_KINDS as readonly string[]).includes(k);
}

/** "posting 3 (entry "e-17")": how errors name a posting of a call (1-based). */
export function postingLabel(index: number, entryId: string): string {
  return `posting ${index + 1}${entryId ? ` (entry ${JSON.stringify(entryId.slice(0, MAX_ENTRY_ID_LENGTH))})` : ""}`;
}

function checkId(value: string, field: string, label: string): void {
  if (!value) throw new LedgerInputError(`${label}: ${field} is required`);
  if (value.length > MAX_ENTRY_ID_LENGTH)
    throw new LedgerInputError(
      `${label}: ${field} is ${value.length} characters long; the limit is ${MAX_ENTRY_ID_LENGTH}`,
    );
  if (!ENTRY_ID.test(value))
    throw new LedgerInputError(`${label}: ${field} may hold printable ASCII characters only, without spaces`);
}

function checkInstitution(value: string, field: string, label: string): void {
  if (!value) throw new LedgerInputError(`${label}: ${field} is required`);
  if (!ID_PATTERN.test(value))
    throw new LedgerInputError(
      `${label}: ${field} ${JSON.stringify(value.slice(0, 80))} is not an institution id (a-z, 0-9 and dashes)`,
    );
}

/**
 * Checks one posting as it arrives at a hop — every field a ledger needs, in range, consistent
 * (period from posted_at, a reversal names what it reverses and nothing else does) — and returns
 * it in the ledger's shape. Every hop checks with this, so that what a regional center takes, the
 * national center takes too. Throws LedgerInputError naming the posting and the field.
 */
export function validatePosting(p: LedgerPosting, index: number): ValidPosting {
  const label = postingLabel(index, p.entryId);
  checkId(p.entryId, "entry_id", label);
  checkId(p.transactionId, "transaction_id", label);
  if (!isKind(p.kind))
    throw new LedgerInputError(
      `${label}: kind ${JSON.stringify(p.kind.slice(0, 40))} is not one of ${POSTING_KINDS.join(", ")}`,
    );
  checkInstitution(p.payerId, "payer_id", label);
  checkInstitution(p.payeeId, "payee_id", label);
  if (p.payerId === p.payeeId)
    throw new LedgerInputError(
      `${label}: payer and payee are both ${p.payerId}; an institution does not pay itself`,
    );
  if (!isCurrency(p.currency))
    throw new LedgerInputError(
      `${label}: currency ${JSON.stringify(p.currency.slice(0, 20))} is not an ISO 4217 code (three capital letters, e.g. "EUR")`,
    );
  if (p.amountMinor <= 0n)
    throw new LedgerInputError(`${label}: amount_minor must be positive, not ${p.amountMinor}`);
  if (p.amountMinor > MAX_AMOUNT_MINOR)
    throw new LedgerInputError(
      `${label}: amount_minor ${p.amountMinor} is over the largest amount taken (${MAX_AMOUNT_MINOR})`,
    );
  if (!p.postedAt) throw new LedgerInputError(`${label}: posted_at is required`);
  const at = timestampDate(p.postedAt);
  if (Number.isNaN(at.getTime()) || at.getUTCFullYear() < 1970 || at.getUTCFullYear() > 9999)
    throw new LedgerInputError(`${label}: posted_at is not a usable time`);
  const period = periodOf(at);
  if (p.period !== period)
    throw new LedgerInputError(
      `${label}: period ${JSON.stringify(p.period.slice(0, 20))} is not the month of posted_at ${at.toISOString()} (UTC): expected "${period}"`,
    );
  if (p.kind === "reversal") {
    checkId(p.reversesEntryId, "reverses_entry_id", label);
    if (p.reversesEntryId === p.entryId)
      throw new LedgerInputError(`${label}: a posting cannot reverse itself`);
  } else if (p.reversesEntryId) {
    throw new LedgerInputError(`${label}: reverses_entry_id is set, but kind is "${p.kind}", not "reversal"`);
  }
  if (p.note.length > MAX_NOTE_LENGTH)
    throw new LedgerInputError(
      `${label}: note is ${p.note.length} characters long; the limit is ${MAX_NOTE_LENGTH}`,
    );
  return {
    entryId: p.entryId,
    transactionId: p.transactionId,
    kind: p.kind,
    payerId: p.payerId,
    payeeId: p.payeeId,
    currency: p.currency,
    amountMinor: p.amountMinor,
    postedAt: at.toISOString(),
    period,
    reversesEntryId: p.reversesEntryId,
    note: p.note,
  };
}

/**
 * Checks the postings of a PostEntries call whole (size first, then each posting, and that no
 * entry id comes twice), before any of it is stored: a refused call changes nothing.
 */
export function validatePostings(postings: readonly LedgerPosting[]): ValidPosting[] {
  if (postings.length === 0) throw new LedgerInputError("postings: at least one posting is required");
  if (postings.length > MAX_POSTINGS_PER_CALL)
    throw new LedgerInputError(
      `${postings.length} postings in one call; the limit is ${MAX_POSTINGS_PER_CALL} (send them in smaller batches)`,
    );
  const seen = new Set<string>();
  return postings.map((p, i) => {
    const valid = validatePosting(p, i);
    if (seen.has(valid.entryId))
      throw new LedgerInputError(`${postingLabel(i, valid.entryId)}: entry_id appears twice in the call`);
    seen.add(valid.entryId);
    return valid;
  });
}

/** One posting as an outbox payload. */
export function postingPayload(p: LedgerPosting): Uint8Array {
  return toBinary(PostEntriesRequestSchema, create(PostEntriesRequestSchema, { postings: [p] }));
}

export function postingsOfPayload(payload: Uint8Array): PostEntriesRequest {
  return fromBinary(PostEntriesRequestSchema, payload);
}

/** How long one PostEntries to the tier above may take before the outbox retries it. */
export const POST_TIMEOUT_MS = 10_000;

export interface LedgerUpstreamOptions {
  outbox: Outbox;
  /** The parent node (a member's regional center, a regional center's national center). */
  transport: NodeTransport;
  log: Logger;
}

/**
 * Delivers the ledger queue (LEDGER_DESTINATION) to the parent's LedgerService.PostEntries until
 * the signal aborts: in order, retried with the outbox's stored backoff, a posting refused as
 * wrong a dozen times set aside (it stays in the outbox with its error for an operator).
 */
export function runLedgerUpstream(o: LedgerUpstreamOptions, signal: AbortSignal): Promise<void> {
  const client = clientFor(LedgerService, o.transport);
  return runOutboxWorker({
    outbox: o.outbox,
    destination: LEDGER_DESTINATION,
    log: o.log,
    signal,
    send: async (msg) => {
      if (msg.kind !== LEDGER_POST_KIND) throw new Error(`no sender for ledger outbox kind "${msg.kind}"`);
      const res = await client.postEntries(postingsOfPayload(msg.payload), {
        timeoutMs: POST_TIMEOUT_MS,
        signal,
      });
      o.log.debug(
        { messageId: msg.messageId, accepted: res.accepted, duplicates: res.duplicates },
        "postings delivered upward",
      );
    },
  });
}
