/**
 * ISO 2709 (MARC 21 "binary") reading and writing.
 *
 * Our own directory walk rather than a package: marcjs reads ~28k records/s and cannot decode
 * MARC-8; @natlibfi/marc-record-serializers turns chunks into strings before it reads the
 * directory, so its byte offsets break on UTF-8, and it stops at the first malformed record. A
 * plain walk of the leader and directory over a Buffer reads >100k records/s (BENCHMARKS.md),
 * decodes MARC-8 (./marc8.ts) and steps over a bad record.
 */
import { isUtf8 } from "node:buffer";
import { decodeMarc8 } from "./marc8.js";
import {
  type Iso2709Result,
  MarcParseError,
  type MarcSourceEncoding,
  type MarcWarning,
  NO_WARNINGS,
} from "./read-result.js";
import type { DataField, MarcField, MarcRecord, Subfield } from "./record.js";
import { isControlField } from "./record.js";

const RECORD_TERMINATOR = 0x1d;
const FIELD_TERMINATOR = 0x1e;
const SUBFIELD_DELIMITER = 0x1f;
const LEADER_LENGTH = 24;
const ENTRY_LENGTH = 12;
const MAX_WARNINGS = 20;
/** The largest record ISO 2709 can describe (five-digit length). */
export const MAX_RECORD_LENGTH = 99_999;

/** Options of {@link parseIso2709} and {@link readIso2709}. */
export interface Iso2709Options {
  /**
   * How to decode text: `"auto"` (default) follows leader/09 (`a` = UTF-8, blank = MARC-8);
   * the others override it, for files whose leaders lie.
   */
  encoding?: "auto" | MarcSourceEncoding;
  /** Number of records before `input` (to continue numbering across slices of one file). Default 0. */
  startIndex?: number;
  /** File offset of `input[0]` (to report offsets in the whole file). Default 0. */
  startOffset?: number;
}

/**
 * Reads every record in `input`, in order. Each record yields either `{ ok: true, record }` or
 * `{ ok: false, error }`: a malformed record (bad length, bad directory, a field running past the
 * end, a missing terminator) is reported with its number, byte offset and field, and reading
 * resumes at the next record terminator (0x1D), or where the next whole record starts when the bad
 * one lost its terminator, so one bad record costs nothing else. Whitespace, NUL and ^Z between
 * records are skipped. Text is decoded per leader/09 (`a` UTF-8, blank MARC-8) to NFC; invalid
 * UTF-8 and unknown MARC-8 become U+FFFD and a warning on the record, which is still read.
 */
export function* parseIso2709(
  input: Uint8Array,
  opts: Iso2709Options = {},
): Generator<Iso2709Result, void, undefined> {
  const buf = asBuffer(input);
  const reader = new RecordReader(opts.encoding ?? "auto");
  let index = opts.startIndex ?? 0;
  const base = opts.startOffset ?? 0;
  let pos = 0;
  while (pos < buf.length) {
    pos = skipFiller(buf, pos);
    if (pos >= buf.length) break;
    const term = buf.indexOf(RECORD_TERMINATOR, pos);
    if (term < 0) {
      index++;
      yield failure(
        index,
        base + pos,
        buf.subarray(pos),
        "no record terminator (0x1D) before the end of the data",
      );
      return;
    }
    const end = term + 1;
    if (digits(buf, pos, 5) !== end - pos) {
      // A record cut short, or missing its terminator, runs into the next one. When a whole record
      // ends at this terminator, the damage stops where that record starts.
      const next = findRecordStart(buf, pos + 1, end);
      if (next > 0) {
        index++;
        yield reader.read(buf, pos, next, index, base + pos);
        pos = next;
      }
    }
    index++;
    yield reader.read(buf, pos, end, index, base + pos);
    pos = end;
  }
}

/**
 * Streaming variant of {@link parseIso2709}: reads records from a stream of chunks (e.g. a file
 * stream) holding at most one partial record in memory besides the current chunk.
 */
export async function* readIso2709(
  stream: AsyncIterable<Uint8Array>,
  opts: Omit<Iso2709Options, "startIndex" | "startOffset"> = {},
): AsyncGenerator<Iso2709Result, void, undefined> {
  let carry = Buffer.alloc(0);
  let carryOffset = 0;
  let index = 0;
  // After a run of bytes with no terminator in sight has been reported, the bytes up to the next
  // terminator belong to that bad record and are dropped.
  let skipping = false;
  const parse = function* (bytes: Buffer): Generator<Iso2709Result, void, undefined> {
    for (const result of parseIso2709(bytes, { ...opts, startIndex: index, startOffset: carryOffset })) {
      index = result.index;
      yield result;
    }
    carryOffset += bytes.length;
  };
  for await (const chunk of stream) {
    let buf = asBuffer(chunk);
    if (skipping) {
      const term = buf.indexOf(RECORD_TERMINATOR);
      if (term < 0) {
        carryOffset += buf.length;
        continue;
      }
      skipping = false;
      carryOffset += term + 1;
      buf = buf.subarray(term + 1);
    }
    if (carry.length > 0) {
      // Only the record that straddles the chunk boundary is copied; the rest is read in place.
      const term = buf.indexOf(RECORD_TERMINATOR);
      if (term < 0) {
        buf = Buffer.concat([carry, buf]);
      } else {
        yield* parse(Buffer.concat([carry, buf.subarray(0, term + 1)]));
        buf = buf.subarray(term + 1);
      }
      carry = Buffer.alloc(0);
    }
    const last = buf.lastIndexOf(RECORD_TERMINATOR);
    if (last >= 0) {
      yield* parse(buf.subarray(0, last + 1));
      buf = buf.subarray(last + 1);
    }
    if (buf.length > MAX_RECORD_LENGTH && skipFiller(buf, 0) < buf.length) {
      index++;
      const at = skipFiller(buf, 0);
      yield failure(
        index,
        carryOffset + at,
        buf.subarray(at, at + 1024),
        `no record terminator (0x1D) within ${MAX_RECORD_LENGTH} bytes`,
      );
      skipping = true;
      carryOffset += buf.length;
      buf = Buffer.alloc(0);
    }
    // Copied so that a producer that reuses its chunk buffers cannot change the partial record.
    carry = Buffer.from(buf);
  }
  if (carry.length > 0 && !skipping) yield* parse(carry);
}

/**
 * The first position in `[from, end)` where a record starts whose leader length ends it exactly at
 * `end` and whose base address points at a field terminator; -1 if there is none.
 */
function findRecordStart(buf: Buffer, from: number, end: number): number {
  for (let q = from; q <= end - (LEADER_LENGTH + 2); q++) {
    if (digits(buf, q, 5) !== end - q) continue;
    const baseAddress = digits(buf, q + 12, 5);
    if (
      baseAddress > LEADER_LENGTH &&
      baseAddress < end - q &&
      buf[q + baseAddress - 1] === FIELD_TERMINATOR
    ) {
      return q;
    }
  }
  return -1;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function skipFiller(buf: Uint8Array, pos: number): number {
  while (pos < buf.length) {
    const b = buf[pos]!;
    if (b !== 0x0a && b !== 0x0d && b !== 0x20 && b !== 0x00 && b !== 0x1a && b !== 0x09) break;
    pos++;
  }
  return pos;
}

function failure(
  index: number,
  offset: number,
  raw: Uint8Array,
  reason: string,
  field?: string,
): Iso2709Result & { ok: false } {
  return {
    ok: false,
    index,
    offset,
    error: new MarcParseError({ recordIndex: index, offset, field, reason }),
    // A copy: the caller may keep it while the reader moves on to buffers the producer reuses.
    raw: Buffer.from(raw),
  };
}

/** Reads decimal digits; -1 when any byte is not a digit. */
function digits(buf: Uint8Array, start: number, length: number): number {
  let n = 0;
  for (let i = start; i < start + length; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

function ascii(buf: Uint8Array, start: number, end: number): string {
  let s = "";
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}

function printable(s: string): string {
  return JSON.stringify(s);
}

/** Thrown inside {@link RecordReader.read} and turned into a failure result; never escapes. */
class Malformed extends Error {
  constructor(
    readonly reason: string,
    readonly field?: string,
  ) {
    super(reason);
  }
}

class RecordReader {
  private buf: Buffer = Buffer.alloc(0);
  private recordOffset = 0;
  private recordStart = 0;
  private warnings: MarcWarning[] | undefined;
  private unlisted = 0;
  private tag = "";
  /** The record's data as a string when it is plain ASCII, and where it starts in `buf`. */
  private recordText: string | undefined;
  private recordTextStart = 0;
  /** The same for the current field (or the whole record's data, when that is plain ASCII). */
  private fieldText: string | undefined;
  private fieldStart = 0;

  constructor(private readonly encoding: "auto" | MarcSourceEncoding) {}

  /** Reads the record in `buf[start, end)`, which should end with its record terminator. */
  read(buf: Buffer, start: number, end: number, index: number, offset: number): Iso2709Result {
    this.buf = buf;
    this.recordStart = start;
    this.recordOffset = offset;
    this.warnings = undefined;
    this.unlisted = 0;
    this.tag = "";
    try {
      const { record, encoding } = this.parse(start, end);
      if (this.unlisted > 0) {
        this.warnings!.push({ offset, reason: `${this.unlisted} more problems in this record not listed` });
      }
      return { ok: true, index, offset, record, encoding, warnings: this.warnings ?? NO_WARNINGS };
    } catch (err) {
      if (!(err instanceof Malformed)) throw err;
      return failure(index, offset, buf.subarray(start, end), err.reason, err.field);
    }
  }

  private parse(start: number, end: number): { record: MarcRecord; encoding: MarcSourceEncoding } {
    const buf = this.buf;
    const length = end - start;
    if (length < LEADER_LENGTH + 2) {
      throw new Malformed(`record is ${length} bytes long, shorter than a leader and a directory`);
    }
    const declared = digits(buf, start, 5);
    if (declared < 0) {
      throw new Malformed(
        `record length ${printable(ascii(buf, start, start + 5))} in the leader is not a number`,
      );
    }
    if (buf[end - 1] !== RECORD_TERMINATOR) {
      throw new Malformed(
        `record does not end with a record terminator (0x1D); the next record starts after ${length} bytes`,
      );
    }
    if (declared !== length) {
      throw new Malformed(
        `record is ${length} bytes long (up to its terminator) but its leader says ${declared}`,
      );
    }
    const baseAddress = digits(buf, start + 12, 5);
    if (baseAddress < 0) {
      throw new Malformed(
        `base address of data ${printable(ascii(buf, start + 12, start + 17))} in the leader is not a number`,
      );
    }
    if (baseAddress < LEADER_LENGTH + 1 || baseAddress > length - 1) {
      throw new Malformed(`base address of data ${baseAddress} is outside the record (${length} bytes)`);
    }
    if (buf[start + baseAddress - 1] !== FIELD_TERMINATOR) {
      throw new Malformed(
        `directory does not end with a field terminator at the base address ${baseAddress}`,
      );
    }
    const directoryLength = baseAddress - 1 - LEADER_LENGTH;
    if (directoryLength % ENTRY_LENGTH !== 0) {
      throw new Malformed(`directory is ${directoryLength} bytes long, not a multiple of ${ENTRY_LENGTH}`);
    }

    let leader = buf.toString("latin1", start, start + LEADER_LENGTH);
    const coding = leader[9];
    let encoding: MarcSourceEncoding;
    if (this.encoding !== "auto") encoding = this.encoding;
    else if (coding === "a") encoding = "utf-8";
    else {
      encoding = "marc-8";
      if (coding !== " ") {
        this.warn(
          `leader/09 is ${printable(coding ?? "")}, neither blank (MARC-8) nor "a" (UTF-8); read as MARC-8`,
        );
      }
    }
    // The record now holds Unicode, whatever it was read from.
    if (coding !== "a") leader = `${leader.slice(0, 9)}a${leader.slice(10)}`;

    const dataStart = start + baseAddress;
    const dataEnd = end - 1;
    // Most records are plain ASCII in either encoding: then one string for all the data, sliced,
    // costs far less than a Buffer#toString call per subfield.
    this.recordText = isPlainAscii(buf, dataStart, dataEnd)
      ? buf.toString("latin1", dataStart, dataEnd)
      : undefined;
    this.recordTextStart = dataStart;
    const fields: MarcField[] = [];
    for (let entry = start + LEADER_LENGTH; entry < start + baseAddress - 1; entry += ENTRY_LENGTH) {
      const tag = String.fromCharCode(buf[entry]!, buf[entry + 1]!, buf[entry + 2]!);
      this.tag = tag;
      const fieldLength = digits(buf, entry + 3, 4);
      const fieldStart = digits(buf, entry + 7, 5);
      if (fieldLength < 0 || fieldStart < 0) {
        throw new Malformed(
          `directory entry ${printable(ascii(buf, entry, entry + ENTRY_LENGTH))} has a non-numeric length or start`,
          tag,
        );
      }
      const from = dataStart + fieldStart;
      const to = from + fieldLength;
      if (fieldLength === 0) throw new Malformed("field has length 0 in the directory", tag);
      if (to > dataEnd) {
        throw new Malformed(
          `field (start ${fieldStart}, length ${fieldLength}) runs past the end of the record data (${dataEnd - dataStart} bytes)`,
          tag,
        );
      }
      if (buf[to - 1] !== FIELD_TERMINATOR) {
        throw new Malformed(
          `field (start ${fieldStart}, length ${fieldLength}) does not end with a field terminator`,
          tag,
        );
      }
      fields.push(this.field(tag, from, to - 1, encoding));
    }
    this.tag = "";
    return { record: { leader, fields }, encoding };
  }

  private field(tag: string, from: number, to: number, encoding: MarcSourceEncoding): MarcField {
    const buf = this.buf;
    if (this.recordText !== undefined) {
      this.fieldText = this.recordText;
      this.fieldStart = this.recordTextStart;
    } else {
      // In a record with some non-ASCII text, most fields still have none.
      this.fieldText = isPlainAscii(buf, from, to) ? buf.toString("latin1", from, to) : undefined;
      this.fieldStart = from;
    }
    // Alphanumeric local tags (Aleph's FMT, LDR…) carry no indicators when they hold no subfields.
    const control = tag.startsWith("00") || (!isNumericTag(tag) && nextDelimiter(buf, from, to) === to);
    if (control) {
      return { tag, value: this.text(from, to, encoding) };
    }
    // MARC 21 has two indicators; a field that starts with its first delimiter lost them.
    let pos = from;
    let ind1 = " ";
    let ind2 = " ";
    if (pos < to && buf[pos] !== SUBFIELD_DELIMITER) ind1 = String.fromCharCode(buf[pos++]!);
    if (pos < to && buf[pos] !== SUBFIELD_DELIMITER) ind2 = String.fromCharCode(buf[pos++]!);
    if (pos - from < 2) this.warn("field has fewer than two indicators; missing ones read as blank", from);
    const subfields: Subfield[] = [];
    if (pos < to && buf[pos] !== SUBFIELD_DELIMITER) {
      const stop = nextDelimiter(buf, pos, to);
      const text = this.text(pos, stop, encoding);
      if (text.trim() === "") {
        this.warn("blanks between the indicators and the first subfield delimiter, dropped", pos);
      } else {
        this.warn("data before the first subfield delimiter, kept as a subfield with an empty code", pos);
        subfields.push({ code: "", value: text });
      }
      pos = stop;
    }
    while (pos < to) {
      // pos is at a delimiter here.
      const next = nextDelimiter(buf, pos + 1, to);
      // A delimiter with nothing after it (often just before the field terminator) is noise.
      if (next > pos + 1) {
        const code = buf[pos + 1]!;
        if (code <= 0x20 || code >= 0x7f) {
          this.warn(`subfield code byte 0x${code.toString(16)} is not a printable character`, pos + 1);
        }
        subfields.push({ code: String.fromCharCode(code), value: this.text(pos + 2, next, encoding) });
      }
      pos = next;
    }
    const field: DataField = { tag, ind1, ind2, subfields };
    return field;
  }

  private text(from: number, to: number, encoding: MarcSourceEncoding): string {
    if (this.fieldText !== undefined)
      return this.fieldText.slice(from - this.fieldStart, to - this.fieldStart);
    const buf = this.buf;
    if (encoding === "marc-8") {
      return decodeMarc8(
        buf,
        (issue) =>
          this.warn(`MARC-8: ${issue.reason} (bytes ${issue.bytes}), replaced by U+FFFD`, issue.offset),
        from,
        to,
      );
    }
    const s = buf.toString("utf8", from, to);
    const replaced = s.includes("\uFFFD");
    // As many UTF-16 units as bytes, none of them a replacement: all ASCII, nothing to compose.
    if (s.length === to - from && !replaced) return s;
    if (replaced && !isUtf8(buf.subarray(from, to))) {
      this.warn("invalid UTF-8, replaced by U+FFFD", firstInvalidUtf8(buf, from, to));
    }
    return s.normalize("NFC");
  }

  private warn(reason: string, at?: number): void {
    // A record in the wrong encoding can have a problem at every byte; the first few say enough.
    if (this.warnings && this.warnings.length >= MAX_WARNINGS) {
      this.unlisted++;
      return;
    }
    const warning: MarcWarning = {
      field: this.tag || undefined,
      offset: this.recordOffset + (at === undefined ? 0 : at - this.recordStart),
      reason,
    };
    if (!this.warnings) this.warnings = [];
    this.warnings.push(warning);
  }
}

/** Where the first malformed UTF-8 sequence of `buf[from, to)` starts. */
function firstInvalidUtf8(buf: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to) {
    const b = buf[i]!;
    const n =
      b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3 : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
    if (n === 0 || i + n > to || !isUtf8(buf.subarray(i, i + n))) return i;
    i += n;
  }
  return from;
}

function isNumericTag(tag: string): boolean {
  for (let i = 0; i < tag.length; i++) {
    const c = tag.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** Position of the next subfield delimiter in `[from, to)`, or `to`. A loop: fields are short, and
 * Buffer#indexOf costs more to call than to run here. */
function nextDelimiter(buf: Buffer, from: number, to: number): number {
  for (let i = from; i < to; i++) if (buf[i] === SUBFIELD_DELIMITER) return i;
  return to;
}

/**
 * True when every byte is printable ASCII or a separator (field terminator, subfield delimiter):
 * text that reads the same in UTF-8 and MARC-8.
 */
function isPlainAscii(buf: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const b = buf[i]!;
    if ((b < 0x20 && b !== SUBFIELD_DELIMITER && b !== FIELD_TERMINATOR) || b > 0x7e) return false;
  }
  return true;
}

/** Record, field and subfield separators inside text would break the structure: they are dropped. */
function clean(s: string): string {
  if (!s.includes("\x1d") && !s.includes("\x1e") && !s.includes("\x1f")) return s;
  return s.replaceAll("\x1d", "").replaceAll("\x1e", "").replaceAll("\x1f", "");
}

const TAG = /^[\x21-\x7e]{3}$/;

/** A record, or one of its fields, longer than ISO 2709's five- and four-digit lengths can say. */
export class Iso2709LimitError extends RangeError {
  override readonly name = "Iso2709LimitError";
}

/** The largest field ISO 2709 can describe (four-digit length in the directory). */
export const MAX_FIELD_LENGTH = 9999;

/** One field as ISO 2709 text (indicators, subfields, field terminator); checks tag and codes. */
export function iso2709FieldText(field: MarcField): string {
  if (!TAG.test(field.tag)) {
    throw new RangeError(`tag ${JSON.stringify(field.tag)} is not three printable ASCII characters`);
  }
  if (isControlField(field)) return `${clean(field.value)}\x1e`;
  let text = indicator(field.ind1) + indicator(field.ind2);
  for (let i = 0; i < field.subfields.length; i++) text += subfieldText(field.tag, field.subfields[i]!, i);
  return `${text}\x1e`;
}

/**
 * Writes one record as ISO 2709, always UTF-8: leader/09 is set to `a`, and the record length,
 * base address and directory are computed in bytes (leader/10–11 and 20–23 are set to MARC 21's
 * `22` and `4500`). Separator characters inside text are dropped.
 *
 * @throws RangeError when a tag is not three characters or a subfield code not one;
 *   Iso2709LimitError (once every field has been checked) when a field exceeds 9999 bytes or the
 *   record 99999 bytes, which ISO 2709 cannot describe (see fitIso2709 and toMarcBlob).
 */
export function toIso2709(record: MarcRecord): Buffer {
  let directory = "";
  let data = "";
  let dataLength = 0;
  let tooLong: string | undefined;
  for (const field of record.fields) {
    const text = iso2709FieldText(field);
    // Lengths and offsets count bytes, not UTF-16 units.
    const length = Buffer.byteLength(text, "utf8");
    if (length > MAX_FIELD_LENGTH) {
      tooLong ??= `field ${field.tag} is ${length} bytes, over ISO 2709's ${MAX_FIELD_LENGTH}`;
      continue;
    }
    directory += field.tag + pad(length, 4) + pad(dataLength, 5);
    dataLength += length;
    data += text;
  }
  if (tooLong) throw new Iso2709LimitError(tooLong);
  const baseAddress = LEADER_LENGTH + directory.length + 1;
  const total = baseAddress + dataLength + 1;
  if (total > MAX_RECORD_LENGTH) {
    throw new Iso2709LimitError(`record is ${total} bytes, over ISO 2709's ${MAX_RECORD_LENGTH}`);
  }
  const src = `${record.leader.replace(/[^\x20-\x7e]/g, " ")}${" ".repeat(LEADER_LENGTH)}`;
  const leader = `${pad(total, 5)}${src.slice(5, 9)}a22${pad(baseAddress, 5)}${src.slice(17, 20)}4500`;
  // One string, one encoding pass, one allocation: the record is small and the leader and
  // directory are ASCII, so their bytes are their characters.
  return Buffer.from(`${leader}${directory}\x1e${data}\x1d`, "utf8");
}

/**
 * A subfield code is one byte in ISO 2709. The one exception is what the reader keeps of text found
 * before a field's first delimiter: an empty code in first place, written back without a delimiter.
 */
function subfieldText(tag: string, sf: Subfield, i: number): string {
  if (sf.code === "" && i === 0) return clean(sf.value);
  if (sf.code.length !== 1 || sf.code < " " || sf.code > "~") {
    throw new RangeError(
      `field ${tag}: subfield code ${JSON.stringify(sf.code)} is not one printable ASCII character`,
    );
  }
  return `\x1f${sf.code}${clean(sf.value)}`;
}

function indicator(ind: string): string {
  const c = ind.charAt(0);
  return c === "" || c < " " || c > "~" ? " " : c;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
