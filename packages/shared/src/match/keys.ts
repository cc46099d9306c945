/**
 * Match keys: what a union catalog compares to decide that two records describe the same
 * manifestation (DESIGN.md flow 3, "Match and merge").
 *
 * Strong keys — identifiers, each prefixed by its kind, in this order:
 *
 * 1. `oclc:<number>` — 035 $a "(OCoLC)…" (ocm/ocn/on prefixes and leading zeros dropped), and 001
 *    when it holds an OCLC number ("ocm…", or 003 = OCoLC). One number, one WorldCat record, which
 *    is one manifestation by OCLC's own rules: the most reliable key.
 * 2. `lccn:<normalised>` — 010 $a. 010 $z is a cancelled or invalid number and is not a key.
 * 3. `isbn:<ISBN-13>` — every valid 020 $a, ISBN-10s converted. Only $a: 020 $z is by definition a
 *    cancelled or invalid ISBN (a misprint, or a number the publisher withdrew and may have given
 *    to another book), so matching on it would merge unrelated books.
 * 4. `issn:<1234-5679>` — 022 $a. Not $l (ISSN-L), which deliberately links the print and online
 *    manifestations of a serial, nor $y/$z (incorrect, cancelled).
 *
 * Records sharing any strong key belong together. A record's ISBNs tell editions apart only as well
 * as publishers keep them apart: an ISBN names one product, so two editions share a key only when
 * they share an ISBN — but publishers do reuse ISBNs (a reprint or revised edition under the old
 * number, one ISBN printed on every volume of a set, a hardcover's ISBN copied into the paperback's
 * record), and then different editions merge. The cluster keeps every contributed record, so such a
 * merge loses nothing and can be split again.
 *
 * The fuzzy key, for records that share no identifier, joins with "|" (punctuation never survives
 * normalisation, so "|" cannot occur inside a part):
 * `type | title | author | year | edition | publisher` — leader/06 (type of record, so that a book
 * and the audiobook of the same title, author and year do not merge), normalised 245 $a$b$n$p
 * without non-filing characters, first author (100/110/111 $a), year (008 Date 1 else 260/264 $c),
 * edition number or distinguishing words (250 $a), publisher (260/264 $b). All parts must be equal,
 * and the identifiers must not contradict it: see {@link identifiersConflict}.
 *
 * A record too thin to be told from others gets no fuzzy key: no title at all, or a title shorter
 * than {@link MIN_TITLE_LENGTH} with neither author nor year — "Annual report", "Poems",
 * "Proceedings" with nothing else would merge every such record in the region.
 *
 * Nor do records whose description cannot tell manifestations apart, however full it is:
 * - manuscripts (leader/06 t, d, f): each is unique, two records with one description are two
 *   manuscripts (or theses);
 * - a questionable date (008/06 "q", "about 1465-1480"): the year then names a range, not a year;
 * - publication before {@link HAND_PRESS_END}: hand-press editions, issues and states share title,
 *   author, date and printer and are told apart by collation and line counts (GW, ESTC numbers),
 *   which is why rare-book records are matched on identifiers only. Three Princeton records of
 *   three different editions of Donatus' "Ars minor", all "[Netherlands : Prototypography, about
 *   1465-1480]", are the example in data/marc/OVERLAPS.md.
 */
import { controlValue, getDataFields, subfieldValues } from "../marc/fields.js";
import { type DataField, isControlField, type MarcRecord } from "../marc/record.js";
import { normalizeIsbn, normalizeIssn, normalizeLccn, oclcNumber, oclcNumberFrom001 } from "./identifiers.js";
import {
  normalizeAuthor,
  normalizeEdition,
  normalizePublisher,
  normalizeTitle,
  normalizeYear,
} from "./normalize.js";

/**
 * Shortest normalised title, in characters, that makes a fuzzy key without an author and a year.
 * Generic titles are short ("annual report" 13, "collected poems" 15, "proceedings" 11); a title of
 * 20 characters or more is specific enough to be compared together with the edition and publisher.
 * A CJK character counts twice: one carries about as much as a short word.
 */
export const MIN_TITLE_LENGTH = 20;

/** Year from which a fuzzy key is trusted: the end of the hand-press period. */
export const HAND_PRESS_END = 1801;

const MANUSCRIPT_TYPES = "tdf";

/** The keys of one record. */
export interface MatchKeys {
  /** Identifier keys ("oclc:…", "lccn:…", "isbn:…", "issn:…"), in that order, without duplicates. */
  strong: string[];
  /** The normalised description key, or undefined when the record is too thin to have one. */
  fuzzy?: string;
}

function firstSubfield(field: DataField | undefined, code: string): string | undefined {
  return field?.subfields.find((sf) => sf.code === code)?.value;
}

function joinSubfields(field: DataField, codes: string): string {
  return field.subfields
    .filter((sf) => codes.includes(sf.code))
    .map((sf) => sf.value)
    .join(" ");
}

/** 260 first, then 264 publication statements (ind2 1), then any other 264 (copyright, ind2 4). */
function imprintFields(record: MarcRecord): DataField[] {
  const f264 = getDataFields(record, "264");
  return [
    ...getDataFields(record, "260"),
    ...f264.filter((f) => f.ind2 === "1"),
    ...f264.filter((f) => f.ind2 !== "1"),
  ];
}

function titleLength(title: string): number {
  let n = 0;
  for (const c of title)
    n += /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u.test(c) ? 2 : 1;
  return n;
}

function strongKeys(record: MarcRecord): string[] {
  const keys: string[] = [];
  const add = (kind: string, value: string | undefined) => {
    if (value === undefined) return;
    const key = `${kind}:${value}`;
    if (!keys.includes(key)) keys.push(key);
  };
  for (const v of subfieldValues(record, "035", "a")) add("oclc", oclcNumber(v));
  const f001 = controlValue(record, "001");
  if (f001 !== undefined) add("oclc", oclcNumberFrom001(f001, controlValue(record, "003")));
  for (const v of subfieldValues(record, "010", "a")) add("lccn", normalizeLccn(v));
  for (const v of subfieldValues(record, "020", "a")) add("isbn", normalizeIsbn(v));
  for (const v of subfieldValues(record, "022", "a")) add("issn", normalizeIssn(v));
  return keys;
}

function fuzzyKey(record: MarcRecord): string | undefined {
  const type = record.leader[6] ?? " ";
  if (MANUSCRIPT_TYPES.includes(type)) return undefined;
  const f008 = controlValue(record, "008");
  if (f008?.[6] === "q") return undefined;
  const f245 = getDataFields(record, "245")[0];
  if (f245 === undefined) return undefined;
  const title = normalizeTitle(joinSubfields(f245, "abnp"), f245.ind2);
  if (title === "") return undefined;
  const mainEntry = [
    ...getDataFields(record, "100"),
    ...getDataFields(record, "110"),
    ...getDataFields(record, "111"),
  ][0];
  const authorA = firstSubfield(mainEntry, "a");
  const author = authorA === undefined ? "" : normalizeAuthor(authorA);
  const imprints = imprintFields(record);
  const year = normalizeYear(
    f008,
    imprints.flatMap((f) => f.subfields.filter((sf) => sf.code === "c").map((sf) => sf.value)),
  );
  if (year !== "" && Number(year) < HAND_PRESS_END) return undefined;
  if (titleLength(title) < MIN_TITLE_LENGTH && author === "" && year === "") return undefined;
  const edition = normalizeEdition(firstSubfield(getDataFields(record, "250")[0], "a"));
  const publisher = normalizePublisher(
    imprints.map((f) => firstSubfield(f, "b")).find((b) => b !== undefined),
  );
  return [type, title, author, year, edition, publisher].join("|");
}

/** The strong (identifier) keys and the fuzzy (description) key of a record; see the top of this file. */
export function matchKeys(record: MarcRecord): MatchKeys {
  const strong = strongKeys(record);
  const fuzzy = fuzzyKey(record);
  return fuzzy === undefined ? { strong } : { strong, fuzzy };
}

/**
 * True when two records' identifiers say they are different manifestations: both have ISBNs and
 * share none (the hardcover and the paperback of one edition, which agree in every part of the
 * fuzzy key), or both have ISSNs and share none. A union catalog must then not merge them on the
 * fuzzy key. LCCNs and OCLC numbers do not veto: they number records, not books, and duplicate or
 * restated numbers for one book are common (traject test_data #3 and #28 are one book under two
 * LCCNs, the second record cancelling the first's number in 010 $z).
 */
export function identifiersConflict(a: MatchKeys, b: MatchKeys): boolean {
  return ["isbn:", "issn:"].some((kind) => {
    const ours = a.strong.filter((k) => k.startsWith(kind));
    const theirs = b.strong.filter((k) => k.startsWith(kind));
    return ours.length > 0 && theirs.length > 0 && !ours.some((k) => theirs.includes(k));
  });
}

// Encoding level (leader/17) in four tiers, most complete first. 'L' (OCLC: full level, added by
// batch load) is not in the MARC 21 list; it is full-level cataloging and ranks with 'I'.
const ENCODING_TIERS: readonly string[] = [" ", "14IL", "73KM", "582Juz"];

/**
 * How complete a record is, for choosing the preferred record of a cluster (highest wins).
 *
 * The encoding level decides first: leader/17 blank (full) > 1, 4, I (full from another source, core,
 * OCLC full) > 7, 3, K, M (minimal, abbreviated) > 5, 8, 2, J, u, z (partial, prepublication,
 * unknown), worth 3000, 2000, 1000, 0. Everything else adds at most 900, so it only breaks ties
 * within a tier:
 *
 * - 1 per data field, up to 300 — a longer record usually has more access points and notes;
 * - 10 per subject heading (6XX), up to 200 — subjects are what members search by;
 * - 100 when the record has 880 fields — the original script is what readers of CJK, Arabic or
 *   Hebrew books search in, and it cannot be restored from romanisation;
 * - 25 per kind of strong key (OCLC, LCCN, ISBN, ISSN), up to 100 — identifiers let other records
 *   find the cluster;
 * - 50 each for a classification number (050, 060, 080, 082, 084), 042 "pcc" (authenticated by
 *   the Program for Cooperative Cataloging), a 300 (physical description) and a 245 $c (statement
 *   of responsibility).
 *
 * Ties are left to the caller (e.g. the oldest contribution wins, so the choice is stable).
 */
export function recordCompleteness(record: MarcRecord): number {
  const level = record.leader[17];
  const tier = level === undefined ? -1 : ENCODING_TIERS.findIndex((codes) => codes.includes(level));
  let score = tier < 0 ? 0 : (ENCODING_TIERS.length - 1 - tier) * 1000;
  const data = record.fields.filter((f) => !isControlField(f));
  score += Math.min(data.length, 300);
  score += Math.min(data.filter((f) => f.tag.startsWith("6")).length * 10, 200);
  if (data.some((f) => f.tag === "880")) score += 100;
  const kinds = new Set(strongKeys(record).map((k) => k.slice(0, k.indexOf(":"))));
  score += kinds.size * 25;
  if (data.some((f) => ["050", "060", "080", "082", "084"].includes(f.tag))) score += 50;
  if (subfieldValues(record, "042", "a").some((v) => v.trim().toLowerCase() === "pcc")) score += 50;
  if (data.some((f) => f.tag === "300")) score += 50;
  if (firstSubfield(getDataFields(record, "245")[0], "c") !== undefined) score += 50;
  return score;
}
