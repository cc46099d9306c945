/**
 * MARC-8 → Unicode.
 *
 * MARC-8 is the ISO 2022-style character encoding of MARC 21 records whose leader/09 is blank: a
 * G0 set (bytes 0x21–0x7E, Basic Latin by default) and a G1 set (bytes 0xA1–0xFE, ANSEL by default),
 * switched by escape sequences, with the East Asian Character Code (EACC) as a three-byte set.
 * No npm package decodes it, so the tables come from the Library of Congress (see
 * data/marc8/SOURCES.md) through scripts/gen-marc8.mjs.
 */
import { EACC_FINAL, EACC_ROWS, EACC_SIZE, MARC8_C1, MARC8_SETS } from "./marc8-tables.js";

/** A byte sequence the decoder could not map; it became U+FFFD in the output. */
export interface Marc8Issue {
  /** Index, in the input given to the decoder, of the first byte at fault. */
  offset: number;
  /** The bytes at fault in hex, e.g. `"1B 28 5A"`. */
  bytes: string;
  reason: string;
}

/** Receives the problems found while decoding; decoding never throws. */
export type Marc8IssueHandler = (issue: Marc8Issue) => void;

const REPLACEMENT = 0xfffd;
/** Marks a position the LC tables leave unassigned. 0 marks a position that decodes to nothing. */
const UNASSIGNED = -1;

interface GraphicSet {
  name: string;
  final: number;
  multibyte: boolean;
  /** Code point per 7-bit position, for single-byte sets. */
  codes: Int32Array;
  /** 1 where the position is a combining mark. */
  combining: Uint8Array;
}

function buildSingleByteSets(): Map<number, GraphicSet> {
  const sets = new Map<number, GraphicSet>();
  for (const table of MARC8_SETS) {
    const codes = new Int32Array(128).fill(UNASSIGNED);
    const combining = new Uint8Array(128);
    const chars = Array.from(table.pairs);
    for (let i = 0; i + 1 < chars.length; i += 2) {
      codes[chars[i]!.charCodeAt(0)] = chars[i + 1]!.codePointAt(0)!;
    }
    for (const ch of table.combining) combining[ch.charCodeAt(0)] = 1;
    const final = table.final.charCodeAt(0);
    sets.set(final, { name: table.name, final, multibyte: false, codes, combining });
  }
  return sets;
}

const SINGLE_BYTE_SETS = buildSingleByteSets();
const BASIC_LATIN = SINGLE_BYTE_SETS.get(0x42)!;
const ANSEL = SINGLE_BYTE_SETS.get(0x45)!;
const EACC: GraphicSet = {
  name: "EACC",
  final: EACC_FINAL.charCodeAt(0),
  multibyte: true,
  codes: new Int32Array(0),
  combining: new Uint8Array(0),
};

const C1 = (() => {
  const codes = new Int32Array(32).fill(UNASSIGNED);
  const chars = Array.from(MARC8_C1);
  for (let i = 0; i + 1 < chars.length; i += 2)
    codes[chars[i]!.charCodeAt(0)] = chars[i + 1]!.codePointAt(0)!;
  return codes;
})();

let eaccMap: Map<number, number> | undefined;

/**
 * The EACC table (16k entries) is built on first use: most MARC files never need it and parsing it
 * costs a few milliseconds at start-up.
 */
function eacc(): Map<number, number> {
  if (eaccMap) return eaccMap;
  const map = new Map<number, number>();
  for (const row of EACC_ROWS) {
    const chars = Array.from(row);
    const prefix = (chars[0]!.charCodeAt(0) << 16) | (chars[1]!.charCodeAt(0) << 8);
    for (let i = 2; i + 1 < chars.length; i += 2) {
      map.set(prefix | chars[i]!.charCodeAt(0), chars[i + 1]!.codePointAt(0)!);
    }
  }
  eaccMap = map;
  return map;
}

/** Number of EACC entries the decoder knows (for tests: it must equal the LC table's count). */
export function eaccTableSize(): { loaded: number; expected: number } {
  return { loaded: eacc().size, expected: EACC_SIZE };
}

function hex(bytes: Uint8Array, start: number, end: number): string {
  const parts: string[] = [];
  for (let i = start; i < end; i++) parts.push(bytes[i]!.toString(16).toUpperCase().padStart(2, "0"));
  return parts.join(" ");
}

/**
 * Decoding state of one string. Each string (a subfield, a control field) starts from the MARC 21
 * defaults: ISO 2022 would let a designation run on across a subfield delimiter, but yaz, marc4j and
 * MARC::Charset all decode subfield by subfield, so records are written (and checked) that way, and a
 * writer that forgot to switch back to ASCII before a delimiter does not garble the next subfield.
 */
class Marc8Run {
  private g0: GraphicSet = BASIC_LATIN;
  private g1: GraphicSet = ANSEL;

  decode(bytes: Uint8Array, start: number, end: number, onIssue: Marc8IssueHandler | undefined): string {
    let out = "";
    // MARC-8 writes combining marks before their base character, Unicode after it: marks wait here
    // until the base arrives.
    let pending = "";
    let pendingAt = start;
    let ascii = true;
    let i = start;
    const report = (offset: number, length: number, reason: string): void => {
      onIssue?.({ offset, bytes: hex(bytes, offset, Math.min(offset + length, end)), reason });
    };
    const emit = (cp: number, isCombining: boolean): void => {
      if (cp > 0x7f) ascii = false;
      if (isCombining) {
        if (pending === "") pendingAt = i;
        if (cp !== 0) pending += String.fromCodePoint(cp);
      } else {
        out += (cp > 0xffff ? String.fromCodePoint(cp) : String.fromCharCode(cp)) + pending;
        pending = "";
      }
    };

    while (i < end) {
      const b = bytes[i]!;
      if (b > 0x20 && b < 0x7f && this.g0 === BASIC_LATIN && pending === "") {
        // Runs of ASCII between the diacritics are copied in one piece.
        let j = i + 1;
        while (j < end && bytes[j]! >= 0x20 && bytes[j]! < 0x7f) j++;
        out += latin1(bytes, i, j);
        i = j;
        continue;
      }
      if (b === 0x1b) {
        const next = this.escape(bytes, i, end);
        if (next < 0) {
          report(i, 1, "unknown escape sequence");
          emit(REPLACEMENT, false);
          i++;
        } else {
          i = next;
        }
        continue;
      }
      if (b < 0x20) {
        // MARC-8 gives ESC and the record structure's separators a meaning, no other C0 control.
        report(i, 1, "control character not allowed in MARC-8 data");
        emit(REPLACEMENT, false);
        i++;
        continue;
      }
      if (b === 0x20) {
        // Space is 0x20 whatever G0 holds, including EACC.
        emit(0x20, false);
        i++;
        continue;
      }
      if (b >= 0x80 && b < 0xa0) {
        const cp = C1[b - 0x80]!;
        if (cp === UNASSIGNED) {
          report(i, 1, "C1 control with no MARC-8 meaning");
          emit(REPLACEMENT, false);
        } else {
          emit(cp, false);
        }
        i++;
        continue;
      }
      const set = b < 0x80 ? this.g0 : this.g1;
      if (set.multibyte) {
        const key = tripleKey(bytes, i, end, b & 0x80);
        const cp = key < 0 ? undefined : eacc().get(key);
        if (cp === undefined) {
          report(i, 3, key < 0 ? `incomplete ${set.name} character` : `unmapped ${set.name} character`);
          emit(REPLACEMENT, false);
        } else {
          emit(cp, false);
        }
        i += key < 0 ? 1 : 3;
        continue;
      }
      const pos = b & 0x7f;
      const cp = set.codes[pos]!;
      if (cp === UNASSIGNED) {
        report(i, 1, `byte not assigned in ${set.name} (${b < 0x80 ? "G0" : "G1"})`);
        emit(REPLACEMENT, false);
      } else {
        emit(cp, set.combining[pos] === 1);
      }
      i++;
    }
    if (pending !== "") {
      // A mark with no base letter after it would, once composed, land on the letter before it;
      // standing on a space it stays visible and attached to nothing.
      report(pendingAt, 1, "combining mark with no base character after it");
      out += ` ${pending}`;
    }
    return ascii ? out : out.normalize("NFC");
  }

  /**
   * Applies the escape sequence at `i`; returns the index after it, or -1 when it is not one MARC-8
   * defines (the caller then skips only the ESC byte, so the rest is still decoded).
   */
  private escape(bytes: Uint8Array, i: number, end: number): number {
    const b1 = i + 1 < end ? bytes[i + 1]! : -1;
    switch (b1) {
      case 0x67: // ESC g, ESC b, ESC p: Greek symbols, subscripts, superscripts into G0 (technique 1)
      case 0x62:
      case 0x70:
        this.g0 = SINGLE_BYTE_SETS.get(b1)!;
        return i + 2;
      case 0x73: // ESC s: back to Basic Latin
        this.g0 = BASIC_LATIN;
        return i + 2;
      case 0x28: // ESC ( F, ESC , F: G0
      case 0x2c:
      case 0x29: // ESC ) F, ESC - F: G1
      case 0x2d: {
        let f = i + 2;
        // ANSEL's registered final is "!E"; some writers drop the "!".
        if (f < end && bytes[f] === 0x21) f++;
        const set = f < end ? SINGLE_BYTE_SETS.get(bytes[f]!) : undefined;
        if (!set) return -1;
        if (b1 === 0x28 || b1 === 0x2c) this.g0 = set;
        else this.g1 = set;
        return f + 1;
      }
      case 0x24: {
        // ESC $ F and ESC $ , F designate G0; ESC $ ) F and ESC $ - F designate G1. "ESC $ ( F" is
        // not in the MARC 21 list but is what ISO 2022 writes for G0; accept it too.
        let f = i + 2;
        let g1 = false;
        const m = f < end ? bytes[f]! : -1;
        if (m === 0x28 || m === 0x2c) f++;
        else if (m === 0x29 || m === 0x2d) {
          g1 = true;
          f++;
        }
        if (f >= end || bytes[f] !== EACC.final) return -1;
        if (g1) this.g1 = EACC;
        else this.g0 = EACC;
        return f + 1;
      }
      default:
        return -1;
    }
  }
}

/** Key of the three-byte character at `i`, or -1 when fewer than three valid bytes are left. */
function tripleKey(bytes: Uint8Array, i: number, end: number, high: number): number {
  if (i + 2 >= end) return -1;
  let key = 0;
  for (let k = 0; k < 3; k++) {
    const b = bytes[i + k]!;
    if ((b & 0x80) !== high || (b & 0x7f) < 0x21 || (b & 0x7f) > 0x7e) return -1;
    key = (key << 8) | (b & 0x7f);
  }
  return key;
}

function isPlainAscii(bytes: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b < 0x20 || b > 0x7e) return false;
  }
  return true;
}

function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (Buffer.isBuffer(bytes)) return bytes.toString("latin1", start, end);
  return String.fromCharCode(...bytes.subarray(start, end));
}

/**
 * Decodes `bytes[start, end)`, one MARC-8 string (a subfield or a control field), to NFC Unicode,
 * starting from the MARC 21 default sets (G0 Basic Latin, G1 ANSEL). Problems are reported to
 * `onIssue` (offsets are indices into `bytes`), never thrown; each unknown byte or escape sequence
 * becomes U+FFFD.
 */
export function decodeMarc8(
  bytes: Uint8Array,
  onIssue?: Marc8IssueHandler,
  start = 0,
  end: number = bytes.length,
): string {
  if (isPlainAscii(bytes, start, end)) return latin1(bytes, start, end);
  return new Marc8Run().decode(bytes, start, end, onIssue);
}
