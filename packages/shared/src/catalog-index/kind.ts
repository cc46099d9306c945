/**
 * Kind of material and language of a stored ISO 2709 record (UTF-8, as every catalog keeps them),
 * read from the leader and directory without parsing the record: the facets of a whole result set
 * need them for every hit.
 */
import { formatOfLeader, languageOf } from "./formats.js";

const FIELD_TERMINATOR = 0x1e;
const SUBFIELD_DELIMITER = 0x1f;
const decoder = new TextDecoder();

function digitsAt(buf: Uint8Array, at: number, length: number): number {
  let n = 0;
  for (let i = at; i < at + length; i++) {
    const d = (buf[i] ?? 0) - 48;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** The first $a of a data field's bytes (indicators, then subfields). */
function firstA(field: Uint8Array): string | undefined {
  for (let i = 2; i + 1 < field.length; i++) {
    if (field[i] !== SUBFIELD_DELIMITER || field[i + 1] !== 0x61) continue;
    let end = i + 2;
    while (end < field.length && field[end] !== SUBFIELD_DELIMITER && field[end] !== FIELD_TERMINATOR) end++;
    return decoder.decode(field.subarray(i + 2, end));
  }
  return undefined;
}

/**
 * Kind of material (leader/06-07) and language (008/35-37, else the first 041 $a) of an ISO 2709
 * record, as {@link displayFields} gives them for the parsed record. Empty strings for what is
 * missing or unreadable.
 */
export function formatAndLanguage(marc: Uint8Array): { format: string; language: string } {
  if (marc.length < 24) return { format: "", language: "" };
  const format = formatOfLeader(String.fromCharCode(marc[6]!), String.fromCharCode(marc[7]!));
  const base = digitsAt(marc, 12, 5);
  let f008: Uint8Array | undefined;
  let f041: Uint8Array | undefined;
  if (base > 24 && base <= marc.length) {
    for (let p = 24; p + 12 <= base && marc[p] !== FIELD_TERMINATOR; p += 12) {
      const tag = String.fromCharCode(marc[p]!, marc[p + 1]!, marc[p + 2]!);
      if (tag !== "008" && tag !== "041") continue;
      const length = digitsAt(marc, p + 3, 4);
      const start = digitsAt(marc, p + 7, 5);
      if (length < 0 || start < 0 || base + start + length > marc.length) continue;
      const data = marc.subarray(base + start, base + start + length);
      if (tag === "008") f008 ??= data;
      else f041 ??= data;
    }
  }
  const language = languageOf(f008 && decoder.decode(f008), f041 && firstA(f041));
  return { format, language };
}
