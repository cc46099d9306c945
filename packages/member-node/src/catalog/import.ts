/**
 * `lrs-member import`: MARC 21 (ISO 2709, UTF-8 or MARC-8) and MARCXML files, gzipped or not, into
 * the local catalog, with items from the records' holdings fields or a companion CSV file.
 *
 * Records are written in batches of {@link DEFAULT_BATCH} per transaction (a few tens of
 * milliseconds), so that the node's server, which reads and writes the same database from another
 * process, never waits long for the write lock. A record is checked (id, size) before anything of
 * it is written; a record whose write still fails is rolled back alone with its items and change
 * entry (see MemberCatalog.writeBatch), and its neighbours are written.
 */
import { createReadStream, statSync } from "node:fs";
import { basename } from "node:path";
import {
  type HoldingData,
  MAX_RECORD_LENGTH,
  type MarcRecord,
  type MarcWarning,
  readMarc,
} from "@lrs/shared";
import type { MemberCatalog } from "../store/catalog.js";
import { CatalogRecordError, isDeletedRecord, recordIdOf } from "./fields.js";
import { autoMap, type HoldingsMap } from "./holdings-map.js";
import { type ItemsCsv, readItemsCsv } from "./items-csv.js";

/** Records per write transaction. */
export const DEFAULT_BATCH = 500;
/** Rejections kept in the summary (all of them are counted and reported as they happen). */
export const MAX_KEPT_REJECTIONS = 1000;

/** A record, or a row of the items file, that was not imported. */
export interface Rejection {
  file: string;
  /** 1-based number of the record in the file (MARC), counting rejected records too. */
  recordIndex?: number;
  /** Byte offset of the record (ISO 2709; in the decompressed data when the file is gzipped). */
  offset?: number;
  /** Line of the record (MARCXML) or of the row (items CSV). */
  line?: number;
  recordId?: string;
  reason: string;
}

/** How one input file went. */
export interface FileResult {
  path: string;
  bytes: number;
  /** Records found in the file (imported or rejected). */
  records: number;
  rejected: number;
  /** Why the file could not be read (at all, or from some point on). */
  error?: string;
}

export interface ImportSummary {
  files: FileResult[];
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  /** Items stored with the records imported or updated (not those of unchanged records). */
  items: number;
  /** Items left out: no barcode, or a barcode repeated within one record. */
  itemsSkipped: number;
  /** Records read with warnings (e.g. a MARC-8 character that has no Unicode mapping), imported. */
  recordsWithWarnings: number;
  /** Items file: rows read and records whose items it set. */
  itemsFile?: { path: string; rows: number; records: number; rejected: number };
  /** The first {@link MAX_KEPT_REJECTIONS} rejections. */
  rejections: Rejection[];
  /** Files that could not be read at all. */
  unreadableFiles: number;
  interrupted: boolean;
  elapsedMs: number;
  /** Records (of all outcomes) per second of wall time. */
  recordsPerSecond: number;
}

/** Where the import is, for a progress display. */
export interface ImportProgress {
  file: string;
  fileNumber: number;
  files: number;
  /** Bytes read from disk so far, all files (compressed bytes for gzipped files). */
  bytesDone: number;
  bytesTotal: number;
  /** Records processed so far, all files. */
  records: number;
  elapsedMs: number;
}

export interface ImportOptions {
  /** How to read items from holdings fields; default {@link autoMap}. */
  holdingsMap?: HoldingsMap;
  /** Companion items CSV: its items replace those of the holdings fields for the records it lists. */
  itemsFile?: string;
  batchSize?: number;
  onProgress?: (p: ImportProgress) => void;
  /** Called for every rejection as it happens. */
  onRejection?: (r: Rejection) => void;
  /** Abort to stop after the batch being written; the summary says `interrupted`. */
  signal?: AbortSignal;
}

/** The counts of records written, all zero, for a summary about to start. */
export function noneWritten(): Pick<
  ImportSummary,
  "added" | "updated" | "unchanged" | "deleted" | "rejected" | "items"
> {
  return { added: 0, updated: 0, unchanged: 0, deleted: 0, rejected: 0, items: 0 };
}

/** What the CLI exits with. */
export const EXIT_OK = 0;
/** A file could not be read at all, or the import failed. */
export const EXIT_FAILED = 1;
/** Everything was read, but some records (or item rows) were rejected. */
export const EXIT_REJECTIONS = 2;

export function exitCodeOf(s: ImportSummary): number {
  if (s.unreadableFiles > 0 || s.interrupted) return EXIT_FAILED;
  return s.rejected > 0 ? EXIT_REJECTIONS : EXIT_OK;
}

/** What became of one record. */
type Outcome =
  | {
      kind: "added" | "updated" | "unchanged" | "deleted";
      recordId: string;
      items: number;
      skipped: number;
      warnings?: boolean;
    }
  | { kind: "rejected"; rejection: Rejection };

interface Pending {
  index: number;
  offset: number | undefined;
  line: number | undefined;
  record: MarcRecord;
  warnings: readonly MarcWarning[];
}

/** Counts the bytes that pass, for progress by file position. */
async function* counted(source: AsyncIterable<Buffer>, onBytes: (n: number) => void): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    onBytes(chunk.length);
    yield chunk;
  }
}

function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Errors that belong to one record; anything else (disk full, database locked) ends the import. */
function isRecordError(err: unknown): boolean {
  if (err instanceof CatalogRecordError) return true;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && code.startsWith("SQLITE_CONSTRAINT");
}

/**
 * Imports MARC files into `catalog`, in order, then applies the rows of the items file that name
 * records not in those files but already in the catalog.
 *
 * @throws only when the import cannot go on (the database fails, the items file cannot be read);
 *   unreadable MARC files and bad records are reported in the summary.
 */
export async function importMarcFiles(
  catalog: MemberCatalog,
  paths: readonly string[],
  opts: ImportOptions = {},
): Promise<ImportSummary> {
  const started = performance.now();
  const map = opts.holdingsMap ?? autoMap;
  const batchSize = Math.max(1, opts.batchSize ?? DEFAULT_BATCH);
  const summary: ImportSummary = {
    files: [],
    ...noneWritten(),
    itemsSkipped: 0,
    recordsWithWarnings: 0,
    rejections: [],
    unreadableFiles: 0,
    interrupted: false,
    elapsedMs: 0,
    recordsPerSecond: 0,
  };
  // The first rejection in the file being read, for the message when none of its records could be read.
  let firstProblem: string | undefined;
  const reject = (r: Rejection) => {
    firstProblem ??= r.reason;
    summary.rejected++;
    if (summary.rejections.length < MAX_KEPT_REJECTIONS) summary.rejections.push(r);
    opts.onRejection?.(r);
  };

  let csv: (ItemsCsv & { path: string }) | undefined;
  const csvUsed = new Set<string>();
  if (opts.itemsFile) {
    csv = { ...(await readItemsCsv(opts.itemsFile)), path: opts.itemsFile };
    for (const r of csv.rejected) reject({ file: basename(opts.itemsFile), line: r.line, reason: r.reason });
  }

  const sizes = paths.map((p) => {
    try {
      return statSync(p).size;
    } catch {
      return 0;
    }
  });
  const bytesTotal = sizes.reduce((a, b) => a + b, 0);
  let bytesBefore = 0;
  let records = 0;
  const progress = (file: string, fileNumber: number, bytesInFile: number) =>
    opts.onProgress?.({
      file,
      fileNumber,
      files: paths.length,
      bytesDone: bytesBefore + bytesInFile,
      bytesTotal,
      records,
      elapsedMs: performance.now() - started,
    });

  // Runs inside a batch and may run twice for a record (see MemberCatalog.writeBatch): it only
  // returns what happened, and the summary is counted once the batch is committed.
  const apply = (file: string, p: Pending): Outcome => {
    let recordId: string | undefined;
    try {
      if (isDeletedRecord(p.record)) {
        recordId = recordIdOf(p.record);
        return { kind: catalog.delete(recordId) ? "deleted" : "unchanged", recordId, items: 0, skipped: 0 };
      }
      const { items, record } = map.extract(p.record);
      recordId = recordIdOf(record);
      const holdings: HoldingData[] = csv?.byRecord.get(recordId) ?? items;
      const r = catalog.upsert(record, holdings);
      return {
        kind: r.outcome,
        recordId,
        items: r.outcome === "unchanged" ? 0 : r.items,
        skipped: r.skippedItems.length,
        warnings: p.warnings.length > 0,
      };
    } catch (err) {
      if (!isRecordError(err)) throw err;
      return {
        kind: "rejected",
        rejection: {
          file,
          recordIndex: p.index,
          offset: p.offset,
          line: p.line,
          ...(recordId ? { recordId } : {}),
          reason: describeError(err),
        },
      };
    }
  };
  const tally = (o: Outcome) => {
    if (o.kind === "rejected") {
      reject(o.rejection);
      // Its CSV rows went down with it; they are not to be tried on the catalog's copy.
      if (csv && o.rejection.recordId !== undefined) csvUsed.add(o.rejection.recordId);
      return;
    }
    summary[o.kind]++;
    summary.items += o.items;
    summary.itemsSkipped += o.skipped;
    if (o.warnings) summary.recordsWithWarnings++;
    // A record in the files takes its CSV rows, whatever became of it. (Only kept with an items
    // file: a million ids would otherwise be held for nothing.)
    if (csv) csvUsed.add(o.recordId);
  };

  for (let i = 0; i < paths.length && !summary.interrupted; i++) {
    const path = paths[i]!;
    const name = basename(path);
    const result: FileResult = { path, bytes: sizes[i]!, records: 0, rejected: 0 };
    summary.files.push(result);
    let bytesInFile = 0;
    try {
      const st = statSync(path);
      if (st.isDirectory()) throw new Error("is a directory");
    } catch (err) {
      result.error = `cannot read ${path}: ${describeError(err)}`;
      summary.unreadableFiles++;
      continue;
    }
    let batch: Pending[] = [];
    firstProblem = undefined;
    // A failure to write is not a failure to read the file: it ends the import.
    let writeError: unknown;
    const flush = () => {
      if (batch.length === 0) return;
      const todo = batch;
      batch = [];
      try {
        for (const o of catalog.writeBatch(todo, (p) => apply(name, p))) tally(o);
      } catch (err) {
        writeError = err;
        throw err;
      }
      records += todo.length;
      progress(name, i + 1, bytesInFile);
      if (opts.signal?.aborted) summary.interrupted = true;
    };
    const rejectedBefore = summary.rejected;
    try {
      const stream = createReadStream(path, { highWaterMark: 1 << 20 });
      const source = counted(stream as AsyncIterable<Buffer>, (n) => {
        bytesInFile += n;
      });
      for await (const res of readMarc(source)) {
        result.records++;
        if (!res.ok) {
          records++;
          let reason = res.error.reason + (res.error.field ? ` (field ${res.error.field})` : "");
          // Whatever else is wrong with it, a record this long cannot be ISO 2709 at all.
          if (res.raw && res.raw.length > MAX_RECORD_LENGTH) {
            reason += `; at ${res.raw.length} bytes it is over ISO 2709's limit of ${MAX_RECORD_LENGTH} bytes per record`;
          }
          reject({ file: name, recordIndex: res.index, offset: res.offset, line: res.line, reason });
          continue;
        }
        batch.push({
          index: res.index,
          offset: res.offset,
          line: res.line,
          record: res.record,
          warnings: res.warnings,
        });
        if (batch.length >= batchSize) flush();
        if (summary.interrupted) break;
      }
      flush();
    } catch (err) {
      if (writeError !== undefined && err === writeError) throw err;
      result.error = `reading ${path} failed after ${result.records} records: ${describeError(err)}`;
      summary.unreadableFiles++;
    }
    result.rejected = summary.rejected - rejectedBefore;
    if (!result.error && result.records > 0 && result.records === result.rejected) {
      result.error = `no record in ${path} could be read (first problem: ${firstProblem})`;
      summary.unreadableFiles++;
    }
    bytesBefore += sizes[i]!;
    progress(name, i + 1, 0);
  }

  if (csv && !summary.interrupted) {
    const csvName = basename(csv.path);
    const rest = [...csv.byRecord].filter(([id]) => !csvUsed.has(id));
    let applied = [...csv.byRecord.keys()].filter((id) => csvUsed.has(id)).length;
    let csvRejected = csv.rejected.length;
    for (let start = 0; start < rest.length; start += batchSize) {
      const results = catalog.writeBatch(rest.slice(start, start + batchSize), ([recordId, holdings]) => ({
        recordId,
        r: catalog.setHoldings(recordId, holdings),
      }));
      for (const { recordId, r } of results) {
        if (!r) {
          csvRejected++;
          reject({
            file: csvName,
            line: csv.lines.get(recordId),
            recordId,
            reason: `record ${recordId} is neither in the files imported nor in the catalog`,
          });
          continue;
        }
        applied++;
        if (r.outcome === "unchanged") summary.unchanged++;
        else {
          summary.updated++;
          summary.items += r.items;
        }
        summary.itemsSkipped += r.skippedItems.length;
      }
    }
    summary.itemsFile = {
      path: csv.path,
      rows: csv.rows,
      records: applied,
      rejected: csvRejected,
    };
  }

  summary.elapsedMs = performance.now() - started;
  const processed = summary.added + summary.updated + summary.unchanged + summary.deleted + summary.rejected;
  summary.recordsPerSecond = summary.elapsedMs > 0 ? (processed * 1000) / summary.elapsedMs : 0;
  return summary;
}
