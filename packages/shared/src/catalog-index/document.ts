/**
 * What a record puts in each search index column: the one set of rules every catalog uses — a
 * member's local catalog and the union catalogs of the regional and national centers — so that a
 * query means the same at LOCAL, REGION and NATIONAL scope.
 *
 * - title: 245 $a $b $f $g $k $n $p $s (the title a cataloguer transcribed, with its form, dates,
 *   number and part; not $c, the statement of responsibility, nor $h, the medium), every text
 *   subfield of 130, 210, 222, 240, 242, 243, 246, 247, 730, 740, and the title part ($t on) of
 *   name/title added entries (700 $a… $t…).
 * - author: 100, 110, 111, 700, 710, 711, 720 $a $b $c $d $j $q, before any $t.
 * - subject: every text subfield of 6XX.
 * - isbn, issn: see identifiers.ts (020 $a $z, 022 $a $l $y $z), one normalised token each.
 * - publisher: 260/264 $b.
 * - year: every year of 008 Date 1 and of 260/264 $c.
 * - any: every word of every data field 010–899 (9XX are local: items, system data) and the
 *   identifiers.
 * Text subfields are $a–$z ($0–$9 hold links, sources and linkage). A vernacular 880 counts for the
 * column of the field its $6 names (880 $6 245-01 is a title); an 880 without a usable $6 counts for
 * "any" only.
 */
import { linkedFields880 } from "../marc/fields.js";
import { type DataField, isControlField, type MarcRecord } from "../marc/record.js";
import { toFtsDocument } from "../match/cjk.js";
import type { IndexDocument } from "./columns.js";
import { indexedIdentifiers, issnToken } from "./identifiers.js";
import { recordYears } from "./years.js";

export const TITLE_TAGS: ReadonlySet<string> = new Set([
  "130",
  "210",
  "222",
  "240",
  "242",
  "243",
  "245",
  "246",
  "247",
  "730",
  "740",
]);
const NAME_TAGS = new Set(["100", "110", "111", "700", "710", "711", "720"]);
const PUBLISHER_TAGS = new Set(["260", "264"]);
/** The subfields of 245 that are title words. */
export const TITLE_CODES = "abfgknps";
/** The subfields of a name that are the name (the rest — relator terms, affiliation… — only count for "any"). */
const NAME_CODES = "abcdjq";

/** Letters only: $0–$9 hold links, sources and linkage, not words a reader searches for. */
export function isTextCode(code: string): boolean {
  return code >= "a" && code <= "z";
}

/** The values of a field's subfields with one of `codes` (default: the text subfields), space-joined. */
export function fieldText(field: DataField, codes?: string): string {
  const out: string[] = [];
  for (const sf of field.subfields) {
    if (codes === undefined ? isTextCode(sf.code) : codes.includes(sf.code)) out.push(sf.value);
  }
  return out.join(" ");
}

/** The text of every index column of a record (see the head of this file). */
export function indexDocument(record: MarcRecord): IndexDocument {
  const title: string[] = [];
  const author: string[] = [];
  const subject: string[] = [];
  const publisher: string[] = [];
  // Words that belong to no other column but are words of the record all the same.
  const other: string[] = [];
  const add = (tag: string, field: DataField): void => {
    if (TITLE_TAGS.has(tag)) {
      title.push(tag === "245" ? fieldText(field, TITLE_CODES) : fieldText(field));
      if (tag === "245") other.push(fieldText(field, "ch"));
    } else if (NAME_TAGS.has(tag)) {
      const at = field.subfields.findIndex((sf) => sf.code === "t");
      const name = at < 0 ? field.subfields : field.subfields.slice(0, at);
      author.push(
        name
          .filter((sf) => NAME_CODES.includes(sf.code))
          .map((sf) => sf.value)
          .join(" "),
      );
      other.push(
        name
          .filter((sf) => isTextCode(sf.code) && !NAME_CODES.includes(sf.code))
          .map((sf) => sf.value)
          .join(" "),
      );
      if (at >= 0) {
        title.push(
          field.subfields
            .slice(at)
            .filter((sf) => isTextCode(sf.code))
            .map((sf) => sf.value)
            .join(" "),
        );
      }
    } else if (tag >= "600" && tag <= "699") {
      subject.push(fieldText(field));
    } else if (PUBLISHER_TAGS.has(tag)) {
      publisher.push(fieldText(field, "b"));
      other.push(fieldText(field, "acefg"));
    } else {
      other.push(fieldText(field));
    }
  };
  for (const f of record.fields) {
    if (isControlField(f) || f.tag === "880" || f.tag < "010" || f.tag > "899") continue;
    add(f.tag, f);
  }
  for (const { field, linkage } of linkedFields880(record)) {
    if (linkage) add(linkage.tag, field);
    else other.push(fieldText(field));
  }
  const ids = indexedIdentifiers(record);
  const fts = (list: string[]) => toFtsDocument(list.filter((s) => s !== "").join(" "));
  const doc: IndexDocument = {
    title: fts(title),
    author: fts(author),
    subject: fts(subject),
    // Identifiers and years are single tokens already.
    isbn: ids.isbns.join(" "),
    issn: ids.issns.map(issnToken).join(" "),
    publisher: fts(publisher),
    year: recordYears(record).join(" "),
    any: "",
  };
  // Tokenising text twice costs more than joining tokens: "any" is built from the other columns.
  doc.any = [doc.title, doc.author, doc.subject, doc.publisher, fts(other), doc.isbn, doc.issn]
    .filter((s) => s !== "")
    .join(" ");
  return doc;
}
