/**
 * The contract between a catalog that changes (a member's local catalog, a
 * regional union catalog) and the sync worker that pushes its changes to the
 * tier above. The change log is the transactional outbox of catalog sync:
 * every upsert or delete appends to it in the same transaction.
 */

/** An item (copy) a library holds of a record. */
export interface HoldingData {
  barcode: string;
  callNumber: string;
  location: string;
  status: string;
  loanRule: string;
  /**
   * When the copy is due back, as an ISO calendar date ("2026-12-14", the library's own day):
   * absent when it is not on loan or the library does not say. Always a valid date
   * ({@link isIsoDate}) once stored.
   */
  dueDate?: string;
  /**
   * With status {@link ON_ORDER}: copies ordered (acquisitions). The entry is an order, not a copy
   * on the shelf: it is never counted among a library's copies nor lent. Absent means one.
   */
  copies?: number;
  /** With status {@link ON_ORDER}: when the order is expected (YYYY-MM-DD); absent when unknown. */
  expectedDate?: string;
  /**
   * A shared retention commitment: the library keeps this copy for the region through the end of
   * this year (MARC 583 "committed to retain"). Absent when there is none.
   */
  retainedUntil?: number;
}

/** The status of a holding that is an acquisitions order rather than a copy. */
export const ON_ORDER = "on_order";

/** Whether the holding is an order (copies expected), not a copy on the shelf. */
export function isOnOrder(h: HoldingData): boolean {
  return h.status === ON_ORDER;
}

/** Copies the holding stands for on order: 0 for a real copy. */
export function copiesOnOrder(h: HoldingData): number {
  return isOnOrder(h) ? Math.max(1, h.copies ?? 1) : 0;
}

/** Whether the holding carries a retention commitment still in force in `year`. */
export function retainedIn(h: HoldingData, year: number): boolean {
  return !isOnOrder(h) && (h.retainedUntil ?? 0) >= year;
}

/**
 * The acquisitions fields of a holding (copies and expected date of an order, a retention
 * commitment), each only when set: one rule for what the catalogs store, digest and send, so that
 * holdings without them keep the digests they had before these fields existed.
 */
export function acquisitionFields(
  h: HoldingData,
): Pick<HoldingData, "copies" | "expectedDate" | "retainedUntil"> {
  const onOrder = isOnOrder(h);
  return {
    ...(onOrder && h.copies !== undefined && h.copies > 1 ? { copies: Math.floor(h.copies) } : {}),
    ...(onOrder && h.expectedDate && isIsoDate(h.expectedDate) ? { expectedDate: h.expectedDate } : {}),
    ...(!onOrder && h.retainedUntil !== undefined && h.retainedUntil > 0
      ? { retainedUntil: Math.floor(h.retainedUntil) }
      : {}),
  };
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Whether `s` is a real calendar day written YYYY-MM-DD, year 0001 to 9999 ("2026-02-30" is not). */
export function isIsoDate(s: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return day <= (month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1]!);
}

/** The state of one record as it is to be sent: MARC as ISO 2709 (UTF-8), with holdings. */
export type RecordChange =
  | {
      kind: "upsert";
      institutionId: string;
      recordId: string;
      marc: Uint8Array;
      holdings: HoldingData[];
      changedAt: Date;
    }
  | { kind: "delete"; institutionId: string; recordId: string; changedAt: Date };

/** A change log entry: its position and the record's state to send for it. */
export interface FeedEntry {
  seq: bigint;
  change: RecordChange;
}

export interface ChangeFeed {
  /** The newest position in the log (0 when empty). */
  headSeq(): bigint;
  /**
   * Entries after `seq`, oldest first, at most `limit`. The log records which
   * record changed; the entry carries the record's state *now* (an upsert that
   * was later deleted is sent as a delete), which is what makes applying a
   * later entry twice, or an earlier one after it, harmless.
   */
  changesAfter(seq: bigint, limit: number): FeedEntry[];
  /** When the oldest entry after `seq` was logged (undefined: none), for the sync lag in seconds. */
  loggedAfter(seq: bigint): Date | undefined;
  /**
   * Every current record, for a full resync, and the log position the snapshot
   * stands for (the head when it was taken). The sync worker consumes
   * `records` lazily, a batch at a time, across network round trips — so
   * implement it with keyset pagination (one `.all()` per page ordered by the
   * record key), never with an open better-sqlite3 cursor, which would keep
   * the connection busy. Changes made while it runs are in the log after
   * `seq` and are sent afterwards, so a page may see newer state: harmless.
   */
  snapshot(): { seq: bigint; records: Iterable<Extract<RecordChange, { kind: "upsert" }>> };
}
