/**
 * What the search engine reads out of stored ISO 2709 records (UTF-8, as both catalogs keep them):
 * kind of material and language for facets (fast, without parsing the record), and the publisher
 * and vernacular title of the few records of a page or of an exact-title candidate.
 */

import { readMarcBlob } from "../marc/blob.js";
import { getDataFields, linkedFields880 } from "../marc/fields.js";
import type { DataField, MarcRecord } from "../marc/record.js";
import { normalizeText } from "../match/normalize.js";

// Kinds of material by leader/06 (and /07 for serials), as union/describe.ts names them for
// cluster summaries, so a member's facet says what a union catalog's does.
const FORMATS: Readonly<Record<string, string>> = {
  a: "book",
  t: "manuscript",
  c: "score",
  d: "manuscript score",
  e: "map",
  f: "manuscript map",
  g: "video",
  i: "nonmusic sound recording",
  j: "music sound recording",
  k: "image",
  m: "computer file",
  o: "kit",
  p: "mixed materials",
  r: "object",
};

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

/**
 * Kind of material (leader/06-07) and language (008/35-37, else the first 041 $a) of an ISO 2709
 * record, read from the leader and directory without parsing the record: the facets of a whole
 * result set need them for every hit. Empty strings for what is missing or unreadable.
 */
export function formatAndLanguage(marc: Uint8Array): { format: string; language: string } {
  if (marc.length < 24) return { format: "", language: "" };
  const type = String.fromCharCode(marc[6]!);
  const level = String.fromCharCode(marc[7]!);
  const format =
    type === "a" && (level === "s" || level === "i")
      ? level === "s"
        ? "serial"
        : "integrating resource"
      : (FORMATS[type] ?? "");
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
  const lang008 = f008 && f008.length >= 38 ? decoder.decode(f008.subarray(35, 38)) : "";
  let language = /^[a-z]{3}$/.test(lang008) ? lang008 : "";
  if (language === "" && f041) {
    // Indicators, then subfields: the first $a.
    for (let i = 2; i + 1 < f041.length; i++) {
      if (f041[i] !== SUBFIELD_DELIMITER || f041[i + 1] !== 0x61) continue;
      let end = i + 2;
      while (end < f041.length && f041[end] !== SUBFIELD_DELIMITER && f041[end] !== FIELD_TERMINATOR) end++;
      language = decoder.decode(f041.subarray(i + 2, end)).slice(0, 3);
      break;
    }
  }
  return { format, language: language.trim() };
}

const TRAILING_PUNCTUATION = /[\s/:;,.=]+$/u;

function clean(s: string): string {
  return s.replace(/\s+/g, " ").replace(TRAILING_PUNCTUATION, "").trim();
}

function joinSubfields(field: DataField, codes: string): string {
  return clean(
    field.subfields
      .filter((sf) => codes.includes(sf.code))
      .map((sf) => sf.value.trim())
      .join(" "),
  );
}

/** The publisher: 264 $b of the publication statement (second indicator 1), else 260 $b, else any 264 $b. */
export function publisherOf(record: MarcRecord): string {
  const f264 = getDataFields(record, "264");
  const field =
    f264.find((f) => f.ind2 === "1" && f.subfields.some((sf) => sf.code === "b")) ??
    getDataFields(record, "260").find((f) => f.subfields.some((sf) => sf.code === "b")) ??
    f264.find((f) => f.subfields.some((sf) => sf.code === "b"));
  const b = field?.subfields.find((sf) => sf.code === "b")?.value;
  return b === undefined ? "" : clean(b);
}

/** The publisher of a stored record, "" when it cannot be read. */
export function publisherOfBlob(marc: Uint8Array): string {
  const record = readMarcBlob(marc);
  return record ? publisherOf(record) : "";
}

/** The title in its original script: the 880 paired with 245, $a $b $n $p; "" when there is none. */
export function vernacularTitleOf(marc: Uint8Array): string {
  const record = readMarcBlob(marc);
  if (!record) return "";
  const linked = linkedFields880(record).find((l) => l.linkage?.tag === "245");
  return linked ? joinSubfields(linked.field, "abnp") : "";
}

/**
 * The normalised forms a title is matched by for `==` and the exact-title boost: the whole title,
 * and the title proper (what stands before the first ` : `, ` = `, ` / ` or ` ; ` of ISBD).
 */
export function titleForms(title: string): string[] {
  const whole = normalizeText(title);
  if (whole === "") return [];
  const proper = normalizeText(title.split(/\s[:=/;]\s/u)[0] ?? "");
  return proper === "" || proper === whole ? [whole] : [whole, proper];
}

/** True when one of `titles` (normalised) is one of the forms of `title` (with `prefix`: begins one). */
export function titleMatches(title: string, titles: readonly string[], prefix: boolean): boolean {
  for (const form of titleForms(title)) {
    for (const t of titles) if (prefix ? form.startsWith(t) : form === t) return true;
  }
  return false;
}
