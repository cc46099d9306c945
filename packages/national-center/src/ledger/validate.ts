// What the national center takes into its ledger. A batch of postings is checked whole before any
// of it is stored, so that a refused batch changes nothing and its error names the posting and the
// field that were wrong.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ID_PATTERN, isCurrency, type ledgerPb, periodOf } from "@lrs/shared";
import { LedgerInputError } from "./errors.js";

/** What a posting is for; "reversal" undoes an earlier posting (a cancellation). */
export const POSTING_KINDS = ["loan", "copy", "copyright", "reversal"] as const;
export type PostingKind = (typeof POSTING_KINDS)[number];

/** Most postings taken in one PostEntries call (the forwarding outbox sends far fewer). */
export const MAX_POSTINGS_PER_CALL = 1000;

/**
 * The largest amount of one posting: ten thousand million in major units, far above any fee, and
 * low enough that sums over millions of postings stay exact in SQLite's 64-bit integers.
 */
export const MAX_POSTING_MINOR = 10n ** 12n;

/** Longest entry or transaction id, and longest note. */
export const MAX_ID_LENGTH = 200;
export const MAX_NOTE_LENGTH = 2000;

/** An id as entries and transactions carry them: printable ASCII without spaces. */
const ENTRY_ID = /^[\x21-\x7e]+$/;

/** A posting as the ledger keeps it: every field checked, the timestamp as ISO text (UTC, ms). */
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

function isKind(k: string): k is PostingKind {
  return (POSTING_KINDS as readonly string[]).includes(k);
}

/** "posting 3 (entry "e-17")": how errors name a posting of a batch (1-based). */
export function postingLabel(index: number, entryId: string): string {
  return `posting ${index + 1}${entryId ? ` (entry ${JSON.stringify(entryId.slice(0, MAX_ID_LENGTH))})` : ""}`;
}

function checkId(value: string, field: string, label: string): void {
  if (!value) throw new LedgerInputError(`${label}: ${field} is required`);
  if (value.length > MAX_ID_LENGTH)
    throw new LedgerInputError(
      `${label}: ${field} is ${value.length} characters long; the limit is ${MAX_ID_LENGTH}`,
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

/** Checks one posting and returns it in the ledger's shape; throws LedgerInputError naming what is wrong. */
export function validatePosting(p: ledgerPb.LedgerPosting, index: number): ValidPosting {
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
  if (p.amountMinor > MAX_POSTING_MINOR)
    throw new LedgerInputError(
      `${label}: amount_minor ${p.amountMinor} is over the largest amount taken (${MAX_POSTING_MINOR})`,
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

/** Checks a whole PostEntries batch (size first). */
export function validateBatch(postings: readonly ledgerPb.LedgerPosting[]): ValidPosting[] {
  if (postings.length > MAX_POSTINGS_PER_CALL)
    throw new LedgerInputError(
      `${postings.length} postings in one call; the limit is ${MAX_POSTINGS_PER_CALL} (send them in smaller batches)`,
    );
  return postings.map((p, i) => validatePosting(p, i));
}

/**
 * The fields in which two postings under one entry id differ ([] when they are the same posting
 * sent again).
 */
export function differingFields(a: ValidPosting, b: ValidPosting): Array<keyof ValidPosting> {
  const fields: Array<keyof ValidPosting> = [
    "transactionId",
    "kind",
    "payerId",
    "payeeId",
    "currency",
    "amountMinor",
    "postedAt",
    "period",
    "reversesEntryId",
    "note",
  ];
  return fields.filter((f) => a[f] !== b[f]);
}
