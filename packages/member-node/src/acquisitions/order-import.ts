/**
 * Orders from files: a CSV of orders, or MARC order records as vendors and ILSs send them (the
 * bibliographic description with the order data embedded in a 980 field, as vendors' "embedded
 * order data" records do). A bad row or record is reported with its line or record number and the
 * field that was wrong; the others are placed. An order carrying a vendor reference already placed
 * is not placed twice, so importing a file again is harmless.
 *
 * CSV: header `isbn,issn,title,author,copies,expected_date,fund,vendor_ref` (any order; at least
 * one of isbn, issn, title per row; unknown columns ignored), RFC 4180 quoting, UTF-8.
 *
 * MARC (ISO 2709 or MARCXML, plain or gzipped): ISBN from 020 $a, ISSN from 022 $a, author from
 * 100/110/111 $a, title from 245 $a $b; order data from 980: $q copies (quantity), $d expected
 * date (YYYY-MM-DD or YYYYMMDD), $f fund code, $o the vendor's order number.
 */
import { createReadStream } from "node:fs";
import { isControlField, type MarcRecord, readMarc } from "@lrs/shared";
import { csvRows, MAX_CSV_ROW } from "../catalog/items-csv.js";
import { AcquisitionsError, type OrderBook, type OrderInput } from "./orders.js";

/** A row or record that was not placed. */
export interface OrderRejection {
  /** CSV: the line the row starts on; MARC: the record's number in the file (1-based). */
  line?: number;
  record?: number;
  /** The field that was wrong ("copies", "980 $q", …), when one was. */
  field: string;
  reason: string;
}

export interface OrderImportSummary {
  /** Rows or records read. */
  read: number;
  placed: string[];
  /** Orders already placed with the same vendor reference. */
  duplicates: string[];
  rejected: OrderRejection[];
}

export const ORDER_CSV_COLUMNS = [
  "isbn",
  "issn",
  "title",
  "author",
  "copies",
  "expected_date",
  "fund",
  "vendor_ref",
] as const;

/** The file is not an orders CSV at all. */
export class OrderFileError extends Error {
  override readonly name = "OrderFileError";
}

function place(
  book: OrderBook,
  input: OrderInput,
  summary: OrderImportSummary,
  at: Omit<OrderRejection, "field" | "reason">,
  fieldName: (f: string) => string,
): void {
  try {
    const { order, duplicate } = book.add(input);
    (duplicate ? summary.duplicates : summary.placed).push(order.id);
  } catch (err) {
    if (!(err instanceof AcquisitionsError)) throw err;
    summary.rejected.push({ ...at, field: fieldName(err.field), reason: err.message });
  }
}

/** A whole number from a file field, or NaN (which the order check names). */
function count(s: string): number | undefined {
  if (s === "") return undefined;
  return /^\d+$/.test(s) ? Number(s) : Number.NaN;
}

/** Places the orders of a CSV file or stream. @throws OrderFileError when the header is unusable. */
export async function importOrdersCsv(
  book: OrderBook,
  source: string | AsyncIterable<Buffer | string>,
  sourceName = "csv",
): Promise<OrderImportSummary> {
  const input = typeof source === "string" ? createReadStream(source) : source;
  const summary: OrderImportSummary = { read: 0, placed: [], duplicates: [], rejected: [] };
  let columns: Map<string, number> | undefined;
  for await (const row of csvRows(input, MAX_CSV_ROW)) {
    if ("oversized" in row) {
      if (!columns) throw new OrderFileError(`the header line is longer than ${MAX_CSV_ROW} characters`);
      summary.read++;
      summary.rejected.push({
        line: row.line,
        field: "",
        reason: `row is longer than ${MAX_CSV_ROW} characters; refused`,
      });
      continue;
    }
    if (row.fields.length === 1 && row.fields[0]!.trim() === "") continue;
    if (!columns) {
      columns = new Map(row.fields.map((name, i) => [name.trim().toLowerCase(), i]));
      if (!["isbn", "issn", "title"].some((c) => columns!.has(c)))
        throw new OrderFileError(
          `the header has no isbn, issn or title column (expected ${ORDER_CSV_COLUMNS.join(",")})`,
        );
      continue;
    }
    summary.read++;
    const get = (name: string) => {
      const i = columns!.get(name);
      return i === undefined ? "" : (row.fields[i] ?? "").trim();
    };
    const copies = count(get("copies"));
    place(
      book,
      {
        isbn: get("isbn"),
        issn: get("issn"),
        title: get("title"),
        author: get("author"),
        ...(copies !== undefined ? { copies } : {}),
        expectedDate: get("expected_date"),
        fund: get("fund"),
        vendorRef: get("vendor_ref"),
        source: sourceName,
      },
      summary,
      { line: row.line },
      (f) => f,
    );
  }
  if (!columns) throw new OrderFileError("the file is empty (expected a header line)");
  return summary;
}

function subfield(rec: MarcRecord, tags: readonly string[], code: string): string {
  for (const f of rec.fields) {
    if (!tags.includes(f.tag) || isControlField(f)) continue;
    const sf = f.subfields.find((s) => s.code === code && s.value.trim() !== "");
    if (sf) return sf.value.trim();
  }
  return "";
}

/** The title of 245 $a $b without ISBD's closing punctuation. */
function titleOf(rec: MarcRecord): string {
  const a = subfield(rec, ["245"], "a");
  const b = subfield(rec, ["245"], "b");
  return [a, b]
    .filter((s) => s !== "")
    .join(" ")
    .replace(/\s*[/:;,.]\s*$/, "");
}

/** Which MARC field an order check's field came from. */
const MARC_FIELD: Record<string, string> = {
  isbn: "020 $a",
  issn: "022 $a",
  title: "245 $a",
  author: "100 $a",
  copies: "980 $q",
  expected_date: "980 $d",
  fund: "980 $f",
  vendor_ref: "980 $o",
};

/** The order a MARC order record describes. */
export function orderOfMarc(rec: MarcRecord, sourceName = "marc"): OrderInput {
  const rawDate = subfield(rec, ["980"], "d");
  const compact = /^(\d{4})(\d{2})(\d{2})$/.exec(rawDate);
  const copies = count(subfield(rec, ["980"], "q"));
  return {
    isbn: subfield(rec, ["020"], "a").split(/\s/)[0] ?? "",
    issn: subfield(rec, ["022"], "a"),
    title: titleOf(rec),
    author: subfield(rec, ["100", "110", "111"], "a").replace(/[,.]$/, ""),
    ...(copies !== undefined ? { copies } : {}),
    expectedDate: compact ? `${compact[1]}-${compact[2]}-${compact[3]}` : rawDate,
    fund: subfield(rec, ["980"], "f"),
    vendorRef: subfield(rec, ["980"], "o"),
    source: sourceName,
  };
}

/** Places the orders of a file of MARC order records. */
export async function importOrdersMarc(book: OrderBook, path: string): Promise<OrderImportSummary> {
  const summary: OrderImportSummary = { read: 0, placed: [], duplicates: [], rejected: [] };
  for await (const res of readMarc(createReadStream(path) as AsyncIterable<Buffer>)) {
    summary.read++;
    const record = res.index;
    if (!res.ok) {
      summary.rejected.push({ record, field: res.error.field ?? "", reason: res.error.reason });
      continue;
    }
    place(book, orderOfMarc(res.record), summary, { record }, (f) => MARC_FIELD[f] ?? f);
  }
  return summary;
}
