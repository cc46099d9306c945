import { createHash } from "node:crypto";
import {
  acquisitionFields,
  type ChangeFeed,
  type Database,
  displayFields,
  type FeedEntry,
  type HoldingData,
  type IndexColumn,
  indexDocument,
  isIsoDate,
  issnToken,
  MAX_RECORD_BYTES,
  type MarcRecord,
  normalizeIsbn,
  normalizeIssn,
  type RecordChange,
  readMarcBlobResult,
  toFtsQuery,
  toMarcBlob,
} from "@lrs/shared";
import { CatalogRecordError, recordIdOf } from "../catalog/fields.js";

/** Longest barcode accepted. */
export const MAX_BARCODE_LENGTH = 64;
/** Longest call number, location, status or loan rule accepted. */
export const MAX_ITEM_FIELD_LENGTH = 500;

/** What {@link MemberCatalog.upsert} did. */
export type UpsertOutcome = "added" | "updated" | "unchanged";

export interface UpsertResult {
  recordId: string;
  outcome: UpsertOutcome;
  /** Items stored with the record. */
  items: number;
  /** Items that were not stored (no barcode, a barcode repeated within the record), with why. */
  skippedItems: string[];
  /** Records that lost an item to this one (its barcode moved here); each got a change entry too. */
  movedFrom: string[];
}

/** A record as the catalog holds it. */
export interface CatalogRecord {
  recordId: string;
  /** ISO 2709, UTF-8. */
  marc: Uint8Array;
  record: MarcRecord;
  holdings: HoldingData[];
  title: string;
  author: string;
  year: string;
  isbns: string[];
  issns: string[];
  digest: string;
  createdAt: Date;
  updatedAt: Date;
}

/** One hit of {@link MemberCatalog.searchLocal}. */
export interface LocalHit {
  recordId: string;
  title: string;
  author: string;
  year: string;
  /** FTS5 bm25 rank: lower is better. */
  rank: number;
}

export interface MemberCatalogOptions {
  /** Clock for change timestamps (tests). */
  now?: () => Date;
}

interface RecordRow {
  id: number;
  record_id: string;
  marc: Buffer;
  digest: string;
  title: string;
  author: string;
  pub_year: string;
  isbns: string;
  issns: string;
  created_at: string;
  updated_at: string;
}

interface FeedRow {
  seq: number;
  record_id: string;
  op: "upsert" | "delete";
  changed_at: string;
  marc: Buffer | null;
  updated_at: string | null;
  items: string | null;
  deleted_at: string | null;
}

/** Records read per query while a snapshot is iterated. */
const SNAPSHOT_PAGE = 500;

/** Items of a record as one JSON value, in their order, so that one query returns record and items. */
const ITEMS_JSON = `(SELECT json_group_array(json_array(barcode, call_number, location, status, loan_rule, due_date,
    copies, expected_date, retained_until))
  FROM (SELECT * FROM catalog_items i WHERE i.record_id = r.record_id ORDER BY position))`;

function itemsFromJson(json: string | null): HoldingData[] {
  if (!json) return [];
  return (JSON.parse(json) as Array<Array<string | number | null>>).map(
    ([barcode, callNumber, location, status, loanRule, dueDate, copies, expectedDate, retainedUntil]) => {
      const h: HoldingData = {
        barcode: String(barcode ?? ""),
        callNumber: String(callNumber ?? ""),
        location: String(location ?? ""),
        status: String(status ?? ""),
        loanRule: String(loanRule ?? ""),
        ...(dueDate ? { dueDate: String(dueDate) } : {}),
        ...(copies ? { copies: Number(copies) } : {}),
        ...(expectedDate ? { expectedDate: String(expectedDate) } : {}),
        ...(retainedUntil ? { retainedUntil: Number(retainedUntil) } : {}),
      };
      return h;
    },
  );
}

/**
 * The digest an identical re-import is recognised by: the stored MARC and the items, in order.
 * Timestamps are not part of it, so importing the same file twice writes nothing. A due date is
 * part of an item's entry only when there is one: items without one digest as they did before
 * due dates were kept, so upgrading does not make every record look changed.
 */
export function catalogDigest(marc: Uint8Array, holdings: readonly HoldingData[]): string {
  const h = createHash("sha256");
  h.update(marc);
  h.update("\0");
  h.update(
    JSON.stringify(
      holdings.map((x) => {
        const entry: Array<string | number> = [x.barcode, x.callNumber, x.location, x.status, x.loanRule];
        if (x.dueDate) entry.push(x.dueDate);
        const acq = acquisitionFields(x);
        // Only when set, so that items without them keep their digest.
        if (Object.keys(acq).length > 0) entry.push(JSON.stringify(acq));
        return entry;
      }),
    ),
  );
  return h.digest("hex");
}

function clip(s: string | undefined): string {
  const v = (s ?? "").replace(/\s+/g, " ").trim();
  return v.length > MAX_ITEM_FIELD_LENGTH ? v.slice(0, MAX_ITEM_FIELD_LENGTH) : v;
}

/**
 * Trims the items, drops those without a usable barcode or with one already seen, and says why. A
 * due date that is not a calendar date (YYYY-MM-DD) is dropped, and the item kept without it.
 */
export function cleanHoldings(holdings: readonly HoldingData[]): { items: HoldingData[]; skipped: string[] } {
  const items: HoldingData[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  for (const h of holdings) {
    const barcode = (h.barcode ?? "").trim();
    if (barcode === "") {
      skipped.push("item without a barcode");
      continue;
    }
    if (barcode.length > MAX_BARCODE_LENGTH) {
      skipped.push(
        `barcode ${JSON.stringify(barcode.slice(0, 20))}… is over ${MAX_BARCODE_LENGTH} characters`,
      );
      continue;
    }
    if (seen.has(barcode)) {
      skipped.push(`barcode ${barcode} appears twice in the record; the first is kept`);
      continue;
    }
    seen.add(barcode);
    const dueDate = (h.dueDate ?? "").trim();
    items.push({
      barcode,
      callNumber: clip(h.callNumber),
      location: clip(h.location),
      status: clip(h.status),
      loanRule: clip(h.loanRule),
      ...(isIsoDate(dueDate) ? { dueDate } : {}),
      ...acquisitionFields(h),
    });
  }
  return { items, skipped };
}

/** The barcode prefix of an order's holding ("order:<order id>"). */
export const ORDER_BARCODE_PREFIX = "order:";

/**
 * The items an import brings, with what acquisitions added before kept: the orders (an import
 * never carries them) and the retention commitments of copies whose barcodes are still there.
 * Returns `incoming` itself when nothing is to be kept.
 */
export function keepAcquisitionData(before: readonly HoldingData[], incoming: HoldingData[]): HoldingData[] {
  const retained = new Map<string, number>();
  const orders: HoldingData[] = [];
  const barcodes = new Set(incoming.map((h) => h.barcode));
  for (const h of before) {
    if (h.barcode.startsWith(ORDER_BARCODE_PREFIX)) {
      if (!barcodes.has(h.barcode)) orders.push(h);
    } else if (h.retainedUntil) retained.set(h.barcode, h.retainedUntil);
  }
  if (orders.length === 0 && ![...retained.keys()].some((b) => barcodes.has(b))) return incoming;
  return [
    ...incoming.map((h) => {
      const year = retained.get(h.barcode);
      return year !== undefined && h.retainedUntil === undefined ? { ...h, retainedUntil: year } : h;
    }),
    ...orders,
  ];
}

/** What upsert needs, computed before the transaction (and the write lock) starts. */
interface PreparedUpsert {
  recordId: string;
  record: MarcRecord;
  marc: Buffer;
  items: HoldingData[];
  skipped: string[];
  digest: string;
}

function prepareUpsert(record: MarcRecord, holdings: readonly HoldingData[]): PreparedUpsert {
  const recordId = recordIdOf(record);
  let marc: Buffer;
  try {
    marc = toMarcBlob(record);
  } catch (err) {
    throw new CatalogRecordError(err instanceof Error ? err.message : String(err));
  }
  if (marc.length > MAX_RECORD_BYTES) {
    throw new CatalogRecordError(
      `record is ${marc.length} bytes as MARCXML, over the limit of ${MAX_RECORD_BYTES} bytes per record that catalog sync carries`,
    );
  }
  const { items, skipped } = cleanHoldings(holdings);
  return { recordId, record, marc, items, skipped, digest: catalogDigest(marc, items) };
}

/** A write failed inside the fast pass of writeBatch: the batch is run again, record by record. */
class BatchWriteError extends Error {
  override readonly name = "BatchWriteError";
  constructor(override readonly cause: unknown) {
    super(cause instanceof Error ? cause.message : String(cause));
  }
}

/**
 * A member library's own catalog: bibliographic records (MARC 21, stored as toMarcBlob writes it: ISO 2709 UTF-8, or MARCXML when too long for ISO 2709), their
 * items, a full-text index and the ordered change log that catalog sync pushes upward.
 *
 * Every change appends to the change log in the same transaction as the change itself, and a
 * change that alters nothing (same MARC, same items) appends nothing. Each write method is one
 * IMMEDIATE transaction; {@link MemberCatalog.writeBatch} runs many in one transaction.
 */
export class MemberCatalog implements ChangeFeed {
  readonly #db: Database;
  readonly #now: () => Date;
  readonly institutionId: string;
  readonly #s: ReturnType<typeof prepare>;
  /** Inside the first pass of writeBatch: writes join the batch's transaction without a savepoint. */
  #batching = false;
  /** A write of that pass failed: the pass is worthless, whatever the caller did with the error. */
  #batchFailed = false;

  constructor(db: Database, institutionId: string, opts: MemberCatalogOptions = {}) {
    this.#db = db;
    this.institutionId = institutionId;
    this.#now = opts.now ?? (() => new Date());
    this.#s = prepare(db);
  }

  /**
   * Adds or replaces a record and its items (the record id comes from the record, see
   * `recordIdOf`). An item whose barcode belongs to another record moves here; that record gets a
   * change entry of its own.
   *
   * @throws CatalogRecordError when the record has no id or cannot be written as ISO 2709; it is
   *   thrown before anything is written.
   */
  upsert(record: MarcRecord, holdings: readonly HoldingData[]): UpsertResult {
    const p = prepareUpsert(record, holdings);
    return this.#write(() => this.#writeUpsert(p));
  }

  #writeUpsert(p0: PreparedUpsert, keepAcquisitions = true): UpsertResult {
    const existing = this.#s.digestById.get(p0.recordId) as { id: number; digest: string } | undefined;
    const p = existing && keepAcquisitions ? this.#keepAcquisitions(p0) : p0;
    const { recordId, items } = p;
    const base = { recordId, items: items.length, skippedItems: p.skipped };
    if (existing && existing.digest === p.digest) return { ...base, outcome: "unchanged", movedFrom: [] };
    const now = this.#now().toISOString();
    const shown = displayFields(p.record);
    const row = {
      record_id: recordId,
      marc: p.marc,
      digest: p.digest,
      title: shown.title,
      author: shown.author,
      pub_year: shown.year,
      isbns: shown.isbns.join(" "),
      issns: shown.issns.join(" "),
      now,
    };
    let id: number;
    if (existing) {
      id = existing.id;
      this.#s.updateRecord.run(row);
      this.#s.deleteFts.run(id);
      this.#s.deleteItems.run(recordId);
    } else {
      id = Number(this.#s.insertRecord.run(row).lastInsertRowid);
    }
    this.#s.insertFts.run({ id, ...indexDocument(p.record) });
    const movedFrom = new Set<string>();
    for (const item of items) {
      const owner = this.#s.itemOwner.get(item.barcode) as { record_id: string } | undefined;
      if (owner) {
        this.#s.deleteItem.run(item.barcode);
        movedFrom.add(owner.record_id);
      }
    }
    items.forEach((item, position) => {
      this.#s.insertItem.run({
        barcode: item.barcode,
        record_id: recordId,
        position,
        call_number: item.callNumber,
        location: item.location,
        status: item.status,
        loan_rule: item.loanRule,
        due_date: item.dueDate ?? null,
        copies: item.copies ?? null,
        expected_date: item.expectedDate ?? null,
        retained_until: item.retainedUntil ?? null,
      });
    });
    for (const other of movedFrom) this.#refreshDigest(other, now);
    this.#s.appendChange.run(recordId, "upsert", now);
    return { ...base, outcome: existing ? "updated" : "added", movedFrom: [...movedFrom] };
  }

  /**
   * What acquisitions put on a record survives an import of it: its orders (items "order:…",
   * which the ILS's export does not carry) and the retention commitments of copies still there.
   */
  #keepAcquisitions(p: PreparedUpsert): PreparedUpsert {
    const before = itemsFromJson((this.#s.itemsJson.get(p.recordId) as { items: string | null }).items);
    const kept = keepAcquisitionData(before, p.items);
    if (kept === p.items) return p;
    return { ...p, items: kept, digest: catalogDigest(p.marc, kept) };
  }

  /**
   * Replaces the items of a record already in the catalog, keeping its MARC.
   * Undefined when there is no such record. With `exact` (acquisitions), orders and retention
   * commitments are taken as given rather than kept from before.
   */
  setHoldings(
    recordId: string,
    holdings: readonly HoldingData[],
    opts: { exact?: boolean } = {},
  ): UpsertResult | undefined {
    return this.#write(() => {
      const rec = this.get(recordId);
      if (!rec) return undefined;
      return this.#writeUpsert(prepareUpsert(rec.record, holdings), !opts.exact);
    });
  }

  /** A record that lost items to another: its digest changes, and the change is logged. */
  #refreshDigest(recordId: string, now: string): void {
    const row = this.#s.recordById.get(recordId) as RecordRow | undefined;
    if (!row) return;
    const holdings = itemsFromJson((this.#s.itemsJson.get(recordId) as { items: string | null }).items);
    this.#s.setDigest.run(catalogDigest(row.marc, holdings), now, recordId);
    this.#s.appendChange.run(recordId, "upsert", now);
  }

  /** Deletes a record and its items, leaving a tombstone in the change log. False when it was not there. */
  delete(recordId: string): boolean {
    return this.#write(() => {
      const row = this.#s.digestById.get(recordId) as { id: number } | undefined;
      if (!row) return false;
      this.#s.deleteFts.run(row.id);
      this.#s.deleteItems.run(recordId);
      this.#s.deleteRecord.run(row.id);
      this.#s.appendChange.run(recordId, "delete", this.#now().toISOString());
      return true;
    });
  }

  #write<T>(fn: () => T): T {
    if (!this.#batching) return this.#db.transaction(fn);
    if (this.#batchFailed) throw new BatchWriteError(new Error("an earlier write of this batch failed"));
    try {
      return fn();
    } catch (err) {
      this.#batchFailed = true;
      throw new BatchWriteError(err);
    }
  }

  /**
   * Calls `fn` for each item in one write transaction and returns what it returned: a batch of
   * changes (upsert, delete, setHoldings called by `fn`) committed together, so that an import
   * takes the write lock once per batch rather than once per record.
   *
   * The writes do not get a savepoint each — FTS5 flushes its pending index data at every
   * savepoint, which made a batch about 2.5 times slower. Instead, when a write fails part-way,
   * the whole batch is rolled back and run again with a savepoint per write, so that the failing
   * write rolls back alone and its error reaches `fn`, which may catch it and go on. Validation
   * errors (CatalogRecordError) are thrown before a write starts and need neither. `fn` may
   * therefore run twice for an item: it must not have effects outside the catalog other than its
   * return value.
   */
  writeBatch<T, R>(items: readonly T[], fn: (item: T) => R): R[] {
    try {
      return this.#db.transaction(() => {
        this.#batching = true;
        this.#batchFailed = false;
        try {
          const results = items.map(fn);
          // Even if fn caught the error, what the failed write left half done must not be committed.
          if (this.#batchFailed) throw new BatchWriteError(new Error("a write of this batch failed"));
          return results;
        } finally {
          this.#batching = false;
        }
      });
    } catch (err) {
      if (!(err instanceof BatchWriteError)) throw err;
    }
    return this.#db.transaction(() => items.map(fn));
  }

  /** The record with its items, or undefined. */
  get(recordId: string): CatalogRecord | undefined {
    const row = this.#s.recordById.get(recordId) as RecordRow | undefined;
    if (!row) return undefined;
    const holdings = itemsFromJson((this.#s.itemsJson.get(recordId) as { items: string | null }).items);
    const read = readMarcBlobResult(row.marc);
    if (!read.ok) throw new Error(`stored record ${recordId} cannot be read back: ${read.error.message}`);
    return {
      recordId,
      marc: row.marc,
      record: read.record,
      holdings,
      title: row.title,
      author: row.author,
      year: row.pub_year,
      isbns: row.isbns ? row.isbns.split(" ") : [],
      issns: row.issns ? row.issns.split(" ") : [],
      digest: row.digest,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }

  /** Number of records. */
  count(): number {
    return (this.#s.count.get() as { n: number }).n;
  }

  /** Number of items. */
  itemCount(): number {
    return (this.#s.countItems.get() as { n: number }).n;
  }

  /**
   * Runs an FTS5 MATCH expression over the catalog's indexes (columns title, author, subject, isbn,
   * issn, publisher, year, any), best first. Build expressions with {@link ftsIndexQuery}; this is
   * the primitive the CQL layer compiles to.
   */
  searchLocal(ftsQuery: string, limit = 20): LocalHit[] {
    const rows = this.#s.search.all(ftsQuery, limit) as Array<{
      record_id: string;
      title: string;
      author: string;
      pub_year: string;
      rank: number;
    }>;
    return rows.map((r) => ({
      recordId: r.record_id,
      title: r.title,
      author: r.author,
      year: r.pub_year,
      rank: r.rank,
    }));
  }

  // ChangeFeed

  headSeq(): bigint {
    const row = this.#s.headSeq.get() as { seq: number } | undefined;
    return BigInt(row?.seq ?? 0);
  }

  loggedAfter(seq: bigint): Date | undefined {
    const row = this.#s.loggedAfter.get(seq) as { changed_at: string } | undefined;
    return row ? new Date(row.changed_at) : undefined;
  }

  changesAfter(seq: bigint, limit: number): FeedEntry[] {
    // One statement, so entries and the states they carry come from one read of the database.
    const rows = this.#s.changesAfter.all(seq, limit) as FeedRow[];
    return rows.map((r) => ({ seq: BigInt(r.seq), change: this.#change(r) }));
  }

  #change(r: FeedRow): RecordChange {
    if (r.marc === null) {
      // Gone now, whatever the entry said then: sent as the tombstone of its latest delete.
      return {
        kind: "delete",
        institutionId: this.institutionId,
        recordId: r.record_id,
        changedAt: new Date(r.deleted_at ?? r.changed_at),
      };
    }
    return {
      kind: "upsert",
      institutionId: this.institutionId,
      recordId: r.record_id,
      marc: r.marc,
      holdings: itemsFromJson(r.items),
      changedAt: new Date(r.updated_at ?? r.changed_at),
    };
  }

  /**
   * Every record, and the change-log position read before the first of them.
   *
   * The records are read in pages of {@link SNAPSHOT_PAGE}, each one query, rather than through one
   * long read: the sync worker awaits the network between batches, and an open better-sqlite3
   * iterator (or transaction) would make every other use of the connection in this process fail or
   * join it meanwhile. Each record is read at its state at or after `seq`, never before; since
   * change entries carry the record's current state, replaying the entries after `seq` on top of
   * the snapshot gives exactly the catalog, which is what a resync needs.
   */
  snapshot(): { seq: bigint; records: Iterable<Extract<RecordChange, { kind: "upsert" }>> } {
    const seq = this.headSeq();
    const page = this.#s.snapshotPage;
    const institutionId = this.institutionId;
    function* records(): Generator<Extract<RecordChange, { kind: "upsert" }>> {
      let after = 0;
      while (true) {
        const rows = page.all(after, SNAPSHOT_PAGE) as Array<{
          id: number;
          record_id: string;
          marc: Buffer;
          updated_at: string;
          items: string | null;
        }>;
        for (const r of rows) {
          yield {
            kind: "upsert",
            institutionId,
            recordId: r.record_id,
            marc: r.marc,
            holdings: itemsFromJson(r.items),
            changedAt: new Date(r.updated_at),
          };
        }
        if (rows.length < SNAPSHOT_PAGE) return;
        after = rows[rows.length - 1]!.id;
      }
    }
    return { seq, records: { [Symbol.iterator]: records } };
  }
}

/**
 * An FTS5 expression that searches one index for a term: ISBNs (10 or 13 digits, hyphens or not)
 * and ISSNs are normalised as they were when indexed; other text is tokenised like the index
 * (CJK as bigrams). With `phrase` the words must stand together in order. Undefined when nothing
 * searchable is left.
 */
export function ftsIndexQuery(
  index: IndexColumn,
  term: string,
  opts: { phrase?: boolean } = {},
): string | undefined {
  if (index === "isbn") {
    const isbn = normalizeIsbn(term);
    const token = isbn ?? term.replace(/[\s-]/g, "");
    return token ? `isbn : "${token.replaceAll('"', '""')}"` : undefined;
  }
  if (index === "issn") {
    const issn = normalizeIssn(term);
    const token = issn ? issnToken(issn) : term.replace(/[\s-]/g, "");
    return token ? `issn : "${token.replaceAll('"', '""')}"` : undefined;
  }
  const q = toFtsQuery(term, opts);
  return q === undefined ? undefined : `${index} : (${q})`;
}

function prepare(db: Database) {
  const s = db.sqlite;
  return {
    recordById: s.prepare("SELECT * FROM catalog_records WHERE record_id = ?"),
    digestById: s.prepare("SELECT id, digest FROM catalog_records WHERE record_id = ?"),
    insertRecord: s.prepare(
      `INSERT INTO catalog_records (record_id, marc, digest, title, author, pub_year, isbns, issns, created_at, updated_at)
       VALUES (@record_id, @marc, @digest, @title, @author, @pub_year, @isbns, @issns, @now, @now)`,
    ),
    updateRecord: s.prepare(
      `UPDATE catalog_records SET marc = @marc, digest = @digest, title = @title, author = @author,
         pub_year = @pub_year, isbns = @isbns, issns = @issns, updated_at = @now
       WHERE record_id = @record_id`,
    ),
    setDigest: s.prepare("UPDATE catalog_records SET digest = ?, updated_at = ? WHERE record_id = ?"),
    deleteRecord: s.prepare("DELETE FROM catalog_records WHERE id = ?"),
    insertFts: s.prepare(
      `INSERT INTO catalog_fts (rowid, title, author, subject, isbn, issn, publisher, year, any)
       VALUES (@id, @title, @author, @subject, @isbn, @issn, @publisher, @year, @any)`,
    ),
    deleteFts: s.prepare("DELETE FROM catalog_fts WHERE rowid = ?"),
    itemOwner: s.prepare("SELECT record_id FROM catalog_items WHERE barcode = ?"),
    insertItem: s.prepare(
      `INSERT INTO catalog_items (barcode, record_id, position, call_number, location, status, loan_rule, due_date,
         copies, expected_date, retained_until)
       VALUES (@barcode, @record_id, @position, @call_number, @location, @status, @loan_rule, @due_date,
         @copies, @expected_date, @retained_until)`,
    ),
    deleteItem: s.prepare("DELETE FROM catalog_items WHERE barcode = ?"),
    deleteItems: s.prepare("DELETE FROM catalog_items WHERE record_id = ?"),
    itemsJson: s.prepare(`SELECT ${ITEMS_JSON} AS items FROM (SELECT ? AS record_id) r`),
    appendChange: s.prepare("INSERT INTO catalog_changes (record_id, op, changed_at) VALUES (?, ?, ?)"),
    count: s.prepare("SELECT COUNT(*) AS n FROM catalog_records"),
    countItems: s.prepare("SELECT COUNT(*) AS n FROM catalog_items"),
    headSeq: s.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'catalog_changes'"),
    loggedAfter: s.prepare("SELECT changed_at FROM catalog_changes WHERE seq > ? ORDER BY seq LIMIT 1"),
    changesAfter: s.prepare(
      `SELECT c.seq, c.record_id, c.op, c.changed_at, r.marc, r.updated_at,
         CASE WHEN r.record_id IS NULL THEN NULL ELSE ${ITEMS_JSON} END AS items,
         CASE WHEN r.record_id IS NULL THEN
           (SELECT MAX(d.changed_at) FROM catalog_changes d WHERE d.record_id = c.record_id AND d.op = 'delete')
         END AS deleted_at
       FROM catalog_changes c LEFT JOIN catalog_records r ON r.record_id = c.record_id
       WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
    ),
    snapshotPage: s.prepare(
      `SELECT r.id, r.record_id, r.marc, r.updated_at, ${ITEMS_JSON} AS items
       FROM catalog_records r WHERE r.id > ? ORDER BY r.id LIMIT ?`,
    ),
    search: s.prepare(
      `SELECT r.record_id, r.title, r.author, r.pub_year, f.rank
       FROM catalog_fts f JOIN catalog_records r ON r.id = f.rowid
       WHERE catalog_fts MATCH ? ORDER BY f.rank LIMIT ?`,
    ),
  };
}
