/**
 * The companion items file of `lrs-member import --items FILE.csv`: one item per row, header
 * `record_id,barcode,call_number,location,status,loan_rule,due_date` (columns in any order;
 * record_id and barcode required, others optional, unknown columns ignored). `due_date` is when an
 * item on loan is due back, YYYY-MM-DD; a row with a due date and no status is on loan. RFC 4180
 * quoting: fields may be quoted, with `""` for a quote and line breaks inside quotes. UTF-8, with
 * or without a BOM.
 */
import { createReadStream } from "node:fs";
import { StringDecoder } from "node:string_decoder";
import { type HoldingData, isIsoDate } from "@lrs/shared";

/** Longest row accepted, in characters: a longer one is refused and reading goes on after it. */
export const MAX_CSV_ROW = 8192;

export const CSV_COLUMNS = [
  "record_id",
  "barcode",
  "call_number",
  "location",
  "status",
  "loan_rule",
  "due_date",
] as const;

/** A row that could not be used. */
export interface CsvRejection {
  /** 1-based line where the row starts. */
  line: number;
  reason: string;
}

export interface ItemsCsv {
  /** Items per record id, in file order. */
  byRecord: Map<string, HoldingData[]>;
  /** The line of each record id's first row. */
  lines: Map<string, number>;
  /** Rows read (not counting the header). */
  rows: number;
  rejected: CsvRejection[];
}

/** The file is not an items CSV at all (no header with record_id and barcode). */
export class ItemsCsvError extends Error {
  override readonly name = "ItemsCsvError";
}

/** A row of raw fields with the line it starts on, or an oversized row. */
export type CsvRow = { line: number; fields: string[] } | { line: number; oversized: true };

/** Splits CSV text into rows, enforcing {@link MAX_CSV_ROW} without holding more than one row. */
export async function* csvRows(
  source: AsyncIterable<Buffer | string>,
  maxRow: number,
): AsyncGenerator<CsvRow> {
  const decoder = new StringDecoder("utf8");
  let fields: string[] = [];
  let field = "";
  let quoted = false;
  let afterQuote = false;
  let size = 0;
  let line = 1;
  let rowLine = 1;
  let skipping = false;
  let first = true;
  const endRow = (): CsvRow => {
    fields.push(field);
    const row = { line: rowLine, fields };
    fields = [];
    field = "";
    size = 0;
    afterQuote = false;
    return row;
  };
  // A quote that ends a chunk inside a quoted field may be the first of a `""` pair: it waits for
  // the next chunk.
  let carry = "";
  const consume = function* (chunk: string, final: boolean): Generator<CsvRow> {
    const text = carry + chunk;
    carry = "";
    for (let i = 0; i < text.length; i++) {
      const c = text[i]!;
      if (skipping) {
        // An oversized row: everything up to the next line break belongs to it.
        if (c === "\n") {
          skipping = false;
          line++;
          rowLine = line;
        }
        continue;
      }
      if (++size > maxRow) {
        skipping = true;
        yield { line: rowLine, oversized: true };
        fields = [];
        field = "";
        size = 0;
        quoted = false;
        afterQuote = false;
        if (c === "\n") {
          skipping = false;
          line++;
          rowLine = line;
        }
        continue;
      }
      if (quoted) {
        if (c === '"') {
          if (i + 1 === text.length && !final) {
            carry = '"';
            size--;
            return;
          }
          if (text[i + 1] === '"') {
            field += '"';
            i++;
            size++;
          } else {
            quoted = false;
            afterQuote = true;
          }
        } else {
          if (c === "\n") line++;
          field += c;
        }
        continue;
      }
      if (c === ",") {
        fields.push(field);
        field = "";
        afterQuote = false;
      } else if (c === "\n") {
        if (field.endsWith("\r") && !afterQuote) field = field.slice(0, -1);
        line++;
        yield endRow();
        rowLine = line;
      } else if (c === "\r" && afterQuote) {
        // CR of a CRLF after a closing quote
      } else if (c === '"' && field === "" && !afterQuote) {
        quoted = true;
      } else {
        field += c;
      }
    }
  };
  for await (const chunk of source) {
    let text = typeof chunk === "string" ? chunk : decoder.write(chunk);
    if (first && text.length > 0) {
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
      first = false;
    }
    yield* consume(text, false);
  }
  yield* consume(decoder.end(), true);
  if (!skipping && (field !== "" || fields.length > 0)) yield endRow();
}

/**
 * Reads an items CSV. Bad rows are collected with their line and reason; the rest are kept.
 *
 * @throws ItemsCsvError when the header lacks record_id or barcode.
 * @throws the file system's error when the file cannot be opened.
 */
export async function readItemsCsv(
  source: string | AsyncIterable<Buffer | string>,
  maxRow = MAX_CSV_ROW,
): Promise<ItemsCsv> {
  const input = typeof source === "string" ? createReadStream(source) : source;
  const byRecord = new Map<string, HoldingData[]>();
  const lines = new Map<string, number>();
  const rejected: CsvRejection[] = [];
  let columns: Map<string, number> | undefined;
  let rows = 0;
  for await (const row of csvRows(input, maxRow)) {
    if ("oversized" in row) {
      if (!columns) throw new ItemsCsvError(`the header line is longer than ${maxRow} characters`);
      rows++;
      rejected.push({ line: row.line, reason: `row is longer than ${maxRow} characters; refused` });
      continue;
    }
    if (row.fields.length === 1 && row.fields[0]!.trim() === "") continue;
    if (!columns) {
      columns = new Map(row.fields.map((name, i) => [name.trim().toLowerCase(), i]));
      const missing = ["record_id", "barcode"].filter((c) => !columns!.has(c));
      if (missing.length > 0) {
        throw new ItemsCsvError(
          `the header has no ${missing.join(" and ")} column (expected ${CSV_COLUMNS.join(",")})`,
        );
      }
      continue;
    }
    rows++;
    const get = (name: string) => {
      const i = columns!.get(name);
      return i === undefined ? "" : (row.fields[i] ?? "").trim();
    };
    const recordId = get("record_id");
    const barcode = get("barcode");
    if (recordId === "" || barcode === "") {
      rejected.push({ line: row.line, reason: `row has no ${recordId === "" ? "record_id" : "barcode"}` });
      continue;
    }
    const dueDate = get("due_date");
    if (dueDate !== "" && !isIsoDate(dueDate)) {
      rejected.push({
        line: row.line,
        reason: `due_date ${JSON.stringify(dueDate.slice(0, 40))} is not a date (expected YYYY-MM-DD)`,
      });
      continue;
    }
    let list = byRecord.get(recordId);
    if (!list) {
      list = [];
      byRecord.set(recordId, list);
      lines.set(recordId, row.line);
    }
    list.push({
      barcode,
      callNumber: get("call_number"),
      location: get("location"),
      status: get("status") || (dueDate ? "on_loan" : "available"),
      loanRule: get("loan_rule") || "standard",
      ...(dueDate ? { dueDate } : {}),
    });
  }
  if (!columns) throw new ItemsCsvError("the file is empty (expected a header line)");
  return { byRecord, lines, rows, rejected };
}
