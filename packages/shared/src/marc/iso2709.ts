/**
 * ISO 2709 (MARC 21 "binary") reading and writing.
 *
 * Why not a package: marcjs reads ~28k records/s and cannot decode MARC-8; @natlibfi/marc-record-serializers
 * turns chunks into strings before it reads the directory, so its byte offsets break on UTF-8, and it
 * gives up on the first malformed record. A plain walk of the leader and directory over a Buffer does
 * ~120k records/s, decodes MARC-8 (./marc8.ts) and can step over a bad record, so that is what this is.
 */
import { isUtf8 } from "node:buffer";
import { Marc8Decoder } from "./marc8.js";
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
/** The largest record ISO 2709 can describe (five-digit length). */
export const MAX_RECORD_LENGTH = 99_999;

/** Options of {@link parseIso2709} and {@link readIso2709}. */
export interface Iso2709Options {
  /**
   * How to decode text: `"auto"` (default) follows leader/09 (`a` = UTF-8, blank = MARC-8);
   * the others override it, for files whose leaders lie.
   */
  encoding?: "auto" | MarcSourceEncoding;
  /** Number of records before `buf` (to continue numbering across slices of one file). Default 0. */
  startIndex?: number;
  /** File offset of `buf[0]` (to report offsets in the whole file). Default 0. */
  startOffset?: number;
}

/**
 * Reads every record in `buf`, in order. Each record yields either `{ ok: true, record }` or
 * `{ ok: false, error }`; a malformed record is reported and reading resumes after its record
 * terminator (0x1D), so one bad record costs nothing else. Whitespace, NUL and ^Z between records
 * are skipped.
 */
export function* parseIso2709(buf: Uint8Array, opts: Iso2709Options = {}): Generator<Iso2709Result> {
  const reader = new RecordReader(opts.encoding ?? "auto");
  let index = opts.startIndex ?? 0;
  const base = opts.startOffset ?? 0;
  let pos = 0;
  while (pos < buf.length) {
    pos = skipFiller(buf, pos);
    if (pos >= buf.length) break;
    const term = buf.indexOf(RECORD_TERMINATOR, pos);
    index++;
    if (term < 0) {
      yield failure(index, base + pos, buf.subarray(pos), "no record terminator (0x1D) before the end of the data");
      return;
    }
    yield reader.read(buf, pos, term + 1, index, base + pos);
    pos = term + 1;
  }
}

/**
 * Streaming variant of {@link parseIso2709}: reads records from a stream of chunks (e.g. a file
 * stream) holding at most one partial record in memory besides the current chunk.
 */
export async function* readIso2709(
  stream: AsyncIterable<Uint8Array>,
  opts: Omit<Iso2709Options, "startIndex" | "startOffset"> = {},
): AsyncGenerator<Iso2709Result> {
  let carry: Uint8Array = new Uint8Array(0);
  let carryOffset = 0;
  let index = 0;
  // After a run of bytes with no terminator in sight has been reported, the bytes up to the next
  // terminator belong to that bad record and are dropped.
  let skipping = false;
  for await (const chunk of stream) {
    let buf: Uint8Array = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    if (skipping) {
      const term = buf.indexOf(RECORD_TERMINATOR);
      if (term < 0) {
        carryOffset += buf.length;
        carry = new Uint8Array(0);
        continue;
      }
      skipping = false;
      carryOffset += term + 1;
      buf = buf.subarray(term + 1);
    }
    const last = buf.lastIndexOf(RECORD_TERMINATOR);
    if (last >= 0) {
      const complete = buf.subarray(0, last + 1);
      for (const result of parseIso2709(complete, { ...opts, startIndex: index, startOffset: carryOffset })) {
        index = result.index;
        yield result;
      }
      carryOffset += last + 1;
      buf = buf.subarray(last + 1);
    }
    if (buf.length > MAX_RECORD_LENGTH && skipFiller(buf, 0) < buf.length) {
      index++;
      yield failure(
        index,
        carryOffset + skipFiller(buf, 0),
        buf.subarray(0, 1024),
        `no record terminator (0x1D) within ${MAX_RECORD_LENGTH} bytes`,
      );
      skipping = true;
      carryOffset += buf.length;
      buf = new Uint8Array(0);
    }
    // Copied so that the caller's chunk buffers (often pooled) are not kept alive or reused under us.
    carry = buf.length === 0 ? new Uint8Array(0) : Uint8Array.prototype.slice.call(buf);
  }
  if (carry.length > 0 && !skipping) {
    for (const result of parseIso2709(carry, { ...opts, startIndex: index, startOffset: carryOffset })) {
      yield result;
    }
  }
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
    raw,
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
  private readonly marc8 = new Marc8Decoder();
  private buf: Uint8Array = new Uint8Array(0);
  private recordOffset = 0;
  private recordStart = 0;
  private warnings: MarcWarning[] | undefined;
  private tag = "";

  constructor(private readonly encoding: "auto" | MarcSourceEncoding) {}

  /** Reads the record in `buf[start, end)`, `end - 1` being its record terminator. */
  read(buf: Uint8Array, start: number, end: number, index: number, offset: number): Iso2709Result {
    this.buf = buf;
    this.recordStart = start;
    this.recordOffset = offset;
    this.warnings = undefined;
    this.tag = "";
    try {
      const { record, encoding } = this.parse(start, end);
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
      throw new Malformed(`record length ${printable(ascii(buf, start, start + 5))} in the leader is not a number`);
    }
    if (declared !== length) {
      throw new Malformed(
        `leader gives a record length of ${declared} bytes but the record terminator is at byte ${length}`,
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
      throw new Malformed(`directory does not end with a field terminator at the base address ${baseAddress}`);
    }
    const directoryLength = baseAddress - 1 - LEADER_LENGTH;
    if (directoryLength % ENTRY_LENGTH !== 0) {
      throw new Malformed(`directory is ${directoryLength} bytes long, not a multiple of ${ENTRY_LENGTH}`);
    }

    let leader = ascii(buf, start, start + LEADER_LENGTH);
    const coding = leader[9];
    let encoding: MarcSourceEncoding;
    if (this.encoding !== "auto") encoding = this.encoding;
    else if (coding === "a") encoding = "utf-8";
    else {
      encoding = "marc-8";
      if (coding !== " ") {
        this.warn(`leader/09 is ${printable(coding ?? "")}, neither blank (MARC-8) nor "a" (UTF-8); read as MARC-8`);
      }
    }
    // The record now holds Unicode, whatever it was read from.
    if (coding !== "a") leader = `${leader.slice(0, 9)}a${leader.slice(10)}`;

    const dataStart = start + baseAddress;
    const dataEnd = end - 1;
    const fields: MarcField[] = [];
    for (let entry = start + LEADER_LENGTH; entry < start + baseAddress - 1; entry += ENTRY_LENGTH) {
      const tag = ascii(buf, entry, entry + 3);
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
    if (encoding === "marc-8") this.marc8.reset();
    const control = tag.startsWith("00") || (!/^\d{3}$/.test(tag) && buf.indexOf(SUBFIELD_DELIMITER, from) >= to);
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
      const next = buf.indexOf(SUBFIELD_DELIMITER, pos);
      const stop = next < 0 || next > to ? to : next;
      this.warn(`data before the first subfield delimiter, kept as a subfield with an empty code`, pos);
      subfields.push({ code: "", value: this.text(pos, stop, encoding) });
      pos = stop;
    }
    while (pos < to) {
      // pos is at a delimiter here.
      let next = buf.indexOf(SUBFIELD_DELIMITER, pos + 1);
      if (next < 0 || next > to) next = to;
      // A delimiter with nothing after it (often just before the field terminator) is noise.
      if (next > pos + 1) {
        subfields.push({ code: String.fromCharCode(buf[pos + 1]!), value: this.text(pos + 2, next, encoding) });
      }
      pos = next;
    }
    const field: DataField = { tag, ind1, ind2, subfields };
    return field;
  }

  private text(from: number, to: number, encoding: MarcSourceEncoding): string {
    const buf = this.buf;
    if (encoding === "marc-8") {
      return this.marc8.decode(buf, from, to, (issue) =>
        this.warn(`MARC-8: ${issue.reason} (bytes ${issue.bytes}), replaced by U+FFFD`, issue.offset),
      );
    }
    const s = Buffer.isBuffer(buf)
      ? buf.toString("utf8", from, to)
      : Buffer.from(buf.buffer, buf.byteOffset + from, to - from).toString("utf8");
    // Same length in UTF-16 units as in bytes means every byte was ASCII: nothing to check or compose.
    if (s.length === to - from) return s;
    if (s.includes("\uFFFD") && !isUtf8(buf.subarray(from, to))) {
      this.warn("invalid UTF-8, replaced by U+FFFD", from);
    }
    return s.normalize("NFC");
  }

  private warn(reason: string, at?: number): void {
    const warning: MarcWarning = {
      field: this.tag || undefined,
      offset: this.recordOffset + (at === undefined ? 0 : at - this.recordStart),
      reason,
    };
    (this.warnings ??= []).push(warning);
  }
}

const STRUCTURE_CHARS = /[\x1d\x1e\x1f]/g;

/** Record, field and subfield separators inside text would break the structure: they are dropped. */
function clean(s: string): string {
  return STRUCTURE_CHARS.test(s) ? s.replace(STRUCTURE_CHARS, "") : s;
}

/**
 * Writes one record as ISO 2709, always UTF-8: leader/09 is set to `a`, and the record length,
 * base address and directory are computed in bytes (leader/10–11 and 20–23 are set to MARC 21's
 * `22` and `4500`). Separator characters inside text are dropped.
 *
 * @throws RangeError when a tag is not three characters, a field exceeds 9999 bytes or the record
 *   99999 bytes, which ISO 2709 cannot describe.
 */
export function toIso2709(record: MarcRecord): Buffer {
  const bodies: Buffer[] = [];
  let directory = "";
  let dataLength = 0;
  for (const field of record.fields) {
    if (field.tag.length !== 3) throw new RangeError(`tag ${JSON.stringify(field.tag)} is not three characters`);
    let text: string;
    if (isControlField(field)) {
      text = `${clean(field.value)}\x1e`;
    } else {
      text = indicator(field.ind1) + indicator(field.ind2);
      for (const sf of field.subfields) text += `\x1f${clean(sf.code)}${clean(sf.value)}`;
      text += "\x1e";
    }
    const body = Buffer.from(text, "utf8");
    if (body.length > 9999) throw new RangeError(`field ${field.tag} is ${body.length} bytes, over ISO 2709's 9999`);
    directory += field.tag + pad(body.length, 4) + pad(dataLength, 5);
    dataLength += body.length;
    bodies.push(body);
  }
  const baseAddress = LEADER_LENGTH + Buffer.byteLength(directory, "latin1") + 1;
  const total = baseAddress + dataLength + 1;
  if (total > MAX_RECORD_LENGTH) throw new RangeError(`record is ${total} bytes, over ISO 2709's ${MAX_RECORD_LENGTH}`);
  const src = `${record.leader.replace(/[^\x20-\x7e]/g, " ")}${" ".repeat(LEADER_LENGTH)}`;
  const leader = `${pad(total, 5)}${src.slice(5, 9)}a22${pad(baseAddress, 5)}${src.slice(17, 20)}4500`;
  const out = Buffer.allocUnsafe(total);
  let pos = out.write(leader, 0, "latin1");
  pos += out.write(directory, pos, "latin1");
  out[pos++] = FIELD_TERMINATOR;
  for (const body of bodies) pos += body.copy(out, pos);
  out[pos] = RECORD_TERMINATOR;
  return out;
}

function indicator(ind: string): string {
  const c = ind.charAt(0);
  return c === "" || c < " " || c > "~" ? " " : c;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}
