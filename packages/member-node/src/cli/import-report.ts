/** How `lrs-member import` shows its progress (stderr) and its summary (stdout). */
import cliProgress from "cli-progress";
import type { ImportProgress, ImportSummary, Rejection } from "../catalog/import.js";

/** Rejections printed one by one; after that they are only counted (and kept in --json output). */
export const MAX_PRINTED_REJECTIONS = 100;
/** Seconds between progress lines when stderr is not a terminal. */
export const PLAIN_PROGRESS_INTERVAL_MS = 5000;

export function describeRejection(r: Rejection): string {
  let where = r.file;
  if (r.recordIndex !== undefined) where += ` record ${r.recordIndex}`;
  if (r.offset !== undefined) where += ` at byte ${r.offset}`;
  if (r.line !== undefined) where += ` at line ${r.line}`;
  if (r.recordId !== undefined) where += ` (id ${r.recordId})`;
  return `${where}: ${r.reason}`;
}

function rate(records: number, ms: number): number {
  return ms > 0 ? Math.round((records * 1000) / ms) : 0;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export interface ProgressReporter {
  onProgress(p: ImportProgress): void;
  onRejection(r: Rejection): void;
  /** Removes the bar; call before printing the summary. */
  stop(): void;
}

/**
 * A bar with records/s on a terminal; on anything else (a log file, CI) a plain line every
 * {@link PLAIN_PROGRESS_INTERVAL_MS}. Rejections are printed as they happen, above the bar.
 */
export function createProgressReporter(stream: NodeJS.WriteStream = process.stderr): ProgressReporter {
  let printed = 0;
  let suppressed = false;
  const rejectionLine = (r: Rejection): string | undefined => {
    if (printed < MAX_PRINTED_REJECTIONS) {
      printed++;
      return `rejected: ${describeRejection(r)}\n`;
    }
    if (suppressed) return undefined;
    suppressed = true;
    return `rejected: … further rejections are counted but not listed here\n`;
  };

  if (stream.isTTY) {
    const multi = new cliProgress.MultiBar(
      {
        stream,
        format: " {file} [{bar}] {percentage}% | {records} records | {rate} records/s | ETA {eta_formatted}",
        hideCursor: true,
        clearOnComplete: true,
        etaBuffer: 50,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
    let bar: cliProgress.SingleBar | undefined;
    let stopped = false;
    return {
      onProgress(p) {
        const payload = { file: p.file, records: p.records, rate: rate(p.records, p.elapsedMs) };
        const total = Math.max(1, p.bytesTotal);
        if (!bar) bar = multi.create(total, p.bytesDone, payload);
        else {
          bar.setTotal(total);
          bar.update(Math.min(p.bytesDone, total), payload);
        }
      },
      onRejection(r) {
        const line = rejectionLine(r);
        if (!line) return;
        // Above the bar while it is shown; the bar only prints what it logged when it redraws.
        if (bar && !stopped) multi.log(line);
        else stream.write(line);
      },
      stop() {
        if (stopped) return;
        stopped = true;
        if (bar) multi.update();
        multi.stop();
      },
    };
  }

  let last = 0;
  let latest: ImportProgress | undefined;
  let stopped = false;
  const line = (p: ImportProgress) => {
    const pct =
      p.bytesTotal > 0
        ? ` (${Math.min(100, Math.round((p.bytesDone * 100) / p.bytesTotal))}% of ${mb(p.bytesTotal)})`
        : "";
    stream.write(
      `import: ${p.records} records${pct}, ${rate(p.records, p.elapsedMs)} records/s, file ${p.fileNumber}/${p.files} ${p.file}\n`,
    );
  };
  return {
    onProgress(p) {
      latest = p;
      if (p.elapsedMs - last >= PLAIN_PROGRESS_INTERVAL_MS) {
        last = p.elapsedMs;
        line(p);
      }
    },
    onRejection(r) {
      const text = rejectionLine(r);
      if (text) stream.write(text);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      if (latest && latest.elapsedMs - last >= 1000) line(latest);
    },
  };
}

/** The summary as text, one fact per line. */
export function formatSummary(s: ImportSummary): string {
  const out: string[] = [];
  const secs = (s.elapsedMs / 1000).toFixed(1);
  out.push(
    `${s.interrupted ? "import interrupted" : "import finished"} after ${secs} s, ${Math.round(s.recordsPerSecond)} records/s`,
  );
  const row = (k: string, v: number, note = "") =>
    out.push(`  ${k.padEnd(10)} ${String(v).padStart(8)}${note}`);
  row("added", s.added);
  row("updated", s.updated);
  row("unchanged", s.unchanged);
  row("deleted", s.deleted);
  row("rejected", s.rejected, s.rejected > 0 ? "  (listed on stderr as they were found)" : "");
  row(
    "items",
    s.items,
    s.itemsSkipped > 0 ? `  (${s.itemsSkipped} skipped: no barcode, or a barcode repeated in a record)` : "",
  );
  if (s.recordsWithWarnings > 0) {
    out.push(
      `  ${s.recordsWithWarnings} records were imported with warnings (e.g. characters that could not be decoded)`,
    );
  }
  if (s.itemsFile) {
    out.push(
      `  items file ${s.itemsFile.path}: ${s.itemsFile.rows} rows, items set for ${s.itemsFile.records} records, ${s.itemsFile.rejected} rows rejected`,
    );
  }
  if (s.files.length > 0) {
    out.push("files:");
    for (const f of s.files) {
      out.push(`  ${f.path}: ${f.error ?? `${f.records} records, ${f.rejected} rejected`}`);
    }
  }
  if (s.unreadableFiles > 0) out.push(`${s.unreadableFiles} file(s) could not be read`);
  else if (s.rejected > 0) out.push(`completed with ${s.rejected} rejected`);
  return `${out.join("\n")}\n`;
}
