// Ledger postings on their way up: the borrowing member writes a charge (and, on a cancellation,
// its reversal) in the transaction of the transition that causes it; its own outbox queue
// carries it to the regional center, which checks it, stores it and forwards it to the national
// center the same way. Entry ids are stable, so every hop applies a posting once however often
// it arrives.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type LedgerPosting,
  LedgerService,
  type PostEntriesRequest,
  PostEntriesRequestSchema,
} from "../gen/lrs/v1/ledger_pb.js";
import { periodOf } from "../ledger/period.js";
import type { Logger } from "../log.js";
import { type Outbox, runOutboxWorker } from "../outbox.js";
import { clientFor, type NodeTransport } from "../rpc/client.js";
import { ValidationError } from "../rpc/errors.js";
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

/** Posting kinds (LedgerPosting.kind). */
export const POSTING_KINDS = ["loan", "copy", "copyright", "reversal"] as const;
export type PostingKind = (typeof POSTING_KINDS)[number];

/** Most postings one PostEntries takes. */
export const MAX_POSTINGS_PER_CALL = 1000;
/** Longest entry id, transaction id and note taken. */
export const MAX_ENTRY_ID_LENGTH = 200;
export const MAX_NOTE_LENGTH = 500;

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

/**
 * Checks postings as they arrive at a hop: every field a ledger needs, in range, consistent
 * (period from posted_at, a reversal names what it reverses and nothing else does). Throws
 * ValidationError naming the entry and the field.
 */
export function checkPostings(postings: readonly LedgerPosting[]): void {
  if (postings.length === 0) throw new ValidationError("postings: at least one posting is required");
  if (postings.length > MAX_POSTINGS_PER_CALL)
    throw new ValidationError(
      `postings: ${postings.length} postings in one call, more than the limit of ${MAX_POSTINGS_PER_CALL}`,
    );
  const seen = new Set<string>();
  postings.forEach((p, i) => {
    const id = p.entryId;
    const bad = (field: string, why: string) =>
      new ValidationError(`postings[${i}] (entry ${id || "without id"}): ${field} ${why}`);
    if (id === "") throw bad("entry_id", "is required");
    if (id.length > MAX_ENTRY_ID_LENGTH)
      throw bad("entry_id", `is ${id.length} characters long, more than ${MAX_ENTRY_ID_LENGTH}`);
    if (seen.has(id)) throw bad("entry_id", "appears twice in the call");
    seen.add(id);
    if (p.transactionId === "") throw bad("transaction_id", "is required");
    if (p.transactionId.length > MAX_ENTRY_ID_LENGTH)
      throw bad("transaction_id", `is longer than ${MAX_ENTRY_ID_LENGTH} characters`);
    if (!(POSTING_KINDS as readonly string[]).includes(p.kind))
      throw bad("kind", `"${p.kind}" is not one of ${POSTING_KINDS.join(", ")}`);
    if (!ID_PATTERN.test(p.payerId)) throw bad("payer_id", `"${p.payerId}" is not an institution id`);
    if (!ID_PATTERN.test(p.payeeId)) throw bad("payee_id", `"${p.payeeId}" is not an institution id`);
    if (p.payerId === p.payeeId) throw bad("payee_id", "is the payer itself");
    if (!isCurrency(p.currency)) throw bad("currency", `"${p.currency}" is not an ISO 4217 code`);
    if (p.amountMinor <= 0n) throw bad("amount_minor", `must be positive, not ${p.amountMinor}`);
    if (p.amountMinor > MAX_AMOUNT_MINOR)
      throw bad(
        "amount_minor",
        `${p.amountMinor} is more than the largest amount taken (${MAX_AMOUNT_MINOR})`,
      );
    if (!p.postedAt) throw bad("posted_at", "is required");
    const at = timestampDate(p.postedAt);
    if (Number.isNaN(at.getTime())) throw bad("posted_at", "is not a valid time");
    if (p.period !== periodOf(at))
      throw bad("period", `"${p.period}" is not the month of posted_at (${periodOf(at)})`);
    if (p.kind === "reversal" && p.reversesEntryId === "")
      throw bad("reverses_entry_id", "is required for a reversal");
    if (p.kind !== "reversal" && p.reversesEntryId !== "")
      throw bad("reverses_entry_id", `only a reversal names one, not a ${p.kind}`);
    if (p.reversesEntryId === id) throw bad("reverses_entry_id", "names the reversal itself");
    if (p.note.length > MAX_NOTE_LENGTH) throw bad("note", `is longer than ${MAX_NOTE_LENGTH} characters`);
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
