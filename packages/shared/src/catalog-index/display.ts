/**
 * What a result list shows of a record — at a member (its `catalog_records` columns) and in a union
 * catalog (the summary of a record, and of a cluster from its preferred record), by one set of rules:
 *
 * - title: 245 $a $b $f $g $k $n $p $s, the title as transcribed with its form, dates, number and
 *   part (the union showed only $a $b $n $p and lost "[manuscript]" forms, inclusive dates and
 *   version numbers a librarian tells editions apart by; the member's rule is kept). A record
 *   without 245 (seen in CMARC/UNIMARC-shaped records) shows its first other title field.
 * - titleVernacular: the same subfields of the 880 paired with 245.
 * - author: the main entry, 100/110/111 $a $b $c $d $q — name, numeration, titles, dates and
 *   fuller form ("Smith, John, 1950-" tells two John Smiths apart; the union showed $a only, and an
 *   added entry when there was no main entry, which named an editor or a translator as the author:
 *   the member's rule is kept). "" when the record has no main entry.
 * - year: the first of the record's years (years.ts).
 * - language, format: 008/35-37 else 041 $a; the kind of material from the leader (formats.ts).
 * - isbns, issns: the numbers the record claims (identifiers.ts), not the cancelled ones.
 * Closing ISBD punctuation (" /", " :", ",", a full stop after a word) is dropped.
 */
import { controlValue, getDataFields, linkedFields880, subfieldValues } from "../marc/fields.js";
import { type DataField, isControlField, type MarcRecord } from "../marc/record.js";
import { fieldText, TITLE_CODES, TITLE_TAGS } from "./document.js";
import { formatOfLeader, languageOf } from "./formats.js";
import { shownIdentifiers } from "./identifiers.js";
import { recordYears } from "./years.js";

/** What a result list shows of one record. */
export interface DisplayFields {
  title: string;
  /** The title in its original script (880 paired with 245), "" when there is none. */
  titleVernacular: string;
  author: string;
  /** Four digits, "" when unknown. */
  year: string;
  /** MARC language code, "" when unknown. */
  language: string;
  /** Kind of material ("book", "serial", "score"…), "" when unknown. */
  format: string;
  /** ISBN-13s. */
  isbns: string[];
  /** ISSNs as "1234-5679". */
  issns: string[];
}

/**
 * Drops closing ISBD punctuation and collapses white space. A full stop goes only after a word of
 * two letters or more or a digit ("Poems." → "Poems"), not after an initial ("Smith, J. R.").
 */
export function trimPunctuation(s: string): string {
  return s
    .replace(/\s+/g, " ")
    .replace(/[\s/:;,=]+$/u, "")
    .replace(/(?<=[\p{L}\p{N}]{2}|\p{N})\.$/u, "")
    .replace(/[\s/:;,=]+$/u, "")
    .trim();
}

function shown(field: DataField | undefined, codes?: string): string {
  return field ? trimPunctuation(fieldText(field, codes)) : "";
}

const MAIN_ENTRY_TAGS = ["100", "110", "111"];
const NAME_CODES = "abcdq";

/** The display fields of a record (see the head of this file). */
export function displayFields(record: MarcRecord): DisplayFields {
  let title = shown(getDataFields(record, "245")[0], TITLE_CODES);
  if (title === "") {
    for (const f of record.fields) {
      if (isControlField(f) || !TITLE_TAGS.has(f.tag)) continue;
      title = shown(f);
      if (title !== "") break;
    }
  }
  const main = record.fields.find(
    (f): f is DataField => !isControlField(f) && MAIN_ENTRY_TAGS.includes(f.tag),
  );
  const vernacular = linkedFields880(record).find((l) => l.linkage?.tag === "245");
  return {
    title,
    titleVernacular: shown(vernacular?.field, TITLE_CODES),
    author: shown(main, NAME_CODES),
    year: recordYears(record)[0] ?? "",
    language: languageOf(controlValue(record, "008"), subfieldValues(record, "041", "a")[0]),
    format: formatOfLeader(record.leader[6] ?? "", record.leader[7] ?? ""),
    ...shownIdentifiers(record),
  };
}

/** The publisher: 264 $b of the publication statement (second indicator 1), else 260 $b, else any 264 $b. */
export function publisherOf(record: MarcRecord): string {
  const f264 = getDataFields(record, "264");
  const field =
    f264.find((f) => f.ind2 === "1" && f.subfields.some((sf) => sf.code === "b")) ??
    getDataFields(record, "260").find((f) => f.subfields.some((sf) => sf.code === "b")) ??
    f264.find((f) => f.subfields.some((sf) => sf.code === "b"));
  const b = field?.subfields.find((sf) => sf.code === "b")?.value;
  return b === undefined ? "" : trimPunctuation(b);
}
