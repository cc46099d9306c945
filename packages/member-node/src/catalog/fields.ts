/**
 * What the local catalog reads out of a MARC 21 record: its identifier, the fields shown in a
 * result list, and the text of each search index.
 */
import {
  type DataField,
  isControlField,
  linkedFields880,
  type MarcRecord,
  normalizeIsbn,
  normalizeIssn,
  toFtsDocument,
} from "@lrs/shared";

/** The search indexes of the local catalog (the columns of its FTS5 table). */
export const CATALOG_INDEXES = [
  "title",
  "author",
  "subject",
  "isbn",
  "issn",
  "publisher",
  "year",
  "any",
] as const;
export type CatalogIndex = (typeof CATALOG_INDEXES)[number];

/** Longest record id accepted: ids name records on the wire and in ILL messages. */
export const MAX_RECORD_ID_LENGTH = 200;

/** A record that cannot be stored as it is (no identifier, too large…). */
export class CatalogRecordError extends Error {
  override readonly name = "CatalogRecordError";
}

/**
 * The record's id in this catalog:
 *
 * 1. the 001 control number, trimmed (`"   00314247 "` → `"00314247"`);
 * 2. when 001 is absent or blank, the first 035 $a (system control number) with its blanks
 *    collapsed, e.g. `"(OCoLC)12345"` or `"(Sirsi) a353305"` — exports of some systems carry
 *    their own key only there;
 * 3. otherwise the record has no identity that a later import, a delete or the union catalog could
 *    refer to, and it is refused with a {@link CatalogRecordError}.
 */
export function recordIdOf(rec: MarcRecord): string {
  let id: string | undefined;
  for (const f of rec.fields) {
    if (f.tag === "001" && isControlField(f) && f.value.trim() !== "") {
      id = f.value.trim();
      break;
    }
  }
  if (id === undefined) {
    outer: for (const f of rec.fields) {
      if (f.tag !== "035" || isControlField(f)) continue;
      for (const sf of f.subfields) {
        if (sf.code === "a" && sf.value.trim() !== "") {
          id = sf.value.trim().replace(/\s+/g, " ");
          break outer;
        }
      }
    }
  }
  if (id === undefined) {
    throw new CatalogRecordError("the record has no 001 control number and no 035 $a to identify it");
  }
  checkRecordId(id);
  return id;
}

/** Throws a {@link CatalogRecordError} when `id` cannot be a record id. */
export function checkRecordId(id: string): void {
  if (id === "") throw new CatalogRecordError("record id is empty");
  if (id.length > MAX_RECORD_ID_LENGTH) {
    throw new CatalogRecordError(`record id is ${id.length} characters long, over ${MAX_RECORD_ID_LENGTH}`);
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\x00-\x1f\x7f]/.test(id))
    throw new CatalogRecordError(`record id ${JSON.stringify(id)} has control characters`);
}

/** True when leader/05 says the record is deleted. */
export function isDeletedRecord(rec: MarcRecord): boolean {
  return rec.leader[5] === "d";
}

/** What a result list shows of a record. */
export interface DisplayFields {
  title: string;
  author: string;
  year: string;
  isbns: string[];
  issns: string[];
}

/** The text of each search index, tokenised for FTS5 (see `toFtsDocument`). */
export type IndexDocument = Record<CatalogIndex, string>;

const TITLE_TAGS = new Set(["130", "210", "222", "240", "242", "243", "245", "246", "247", "730", "740"]);
const NAME_TAGS = new Set(["100", "110", "111", "700", "710", "711", "720"]);
const PUBLISHER_TAGS = new Set(["260", "264"]);
/** Title subfields of a name/title field (700 $a… $t…): from $t on it is a title. */
const NAME_TITLE_START = "t";

function isSubjectTag(tag: string): boolean {
  return tag >= "600" && tag <= "699";
}

/** Letters only: $0–$9 hold links, sources and linkage, not words a reader searches for. */
function isTextCode(code: string): boolean {
  return code >= "a" && code <= "z";
}

function text(field: DataField, codes?: string): string {
  const out: string[] = [];
  for (const sf of field.subfields) {
    if (codes === undefined ? isTextCode(sf.code) : codes.includes(sf.code)) out.push(sf.value);
  }
  return out.join(" ");
}

/** Trailing ISBD punctuation (" /", " :", ",") left by the subfield that follows. */
function trimPunctuation(s: string): string {
  return s
    .replace(/[\s/:;,=]+$/u, "")
    .replace(/\s+/g, " ")
    .trim();
}

const YEAR = /(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)/g;

function years(rec: MarcRecord): string[] {
  const out = new Set<string>();
  for (const f of rec.fields) {
    if (f.tag === "008" && isControlField(f)) {
      const d1 = f.value.slice(7, 11);
      if (/^\d{4}$/.test(d1)) out.add(d1);
    }
  }
  for (const f of rec.fields) {
    if (!PUBLISHER_TAGS.has(f.tag) || isControlField(f)) continue;
    for (const sf of f.subfields)
      if (sf.code === "c") for (const m of sf.value.matchAll(YEAR)) out.add(m[1]!);
  }
  return [...out];
}

function identifiers(rec: MarcRecord): { isbns: string[]; issns: string[] } {
  const isbns = new Set<string>();
  const issns = new Set<string>();
  for (const f of rec.fields) {
    if (isControlField(f)) continue;
    if (f.tag === "020") {
      for (const sf of f.subfields) {
        if (sf.code !== "a" && sf.code !== "z") continue;
        const n = normalizeIsbn(sf.value);
        if (n) isbns.add(n);
      }
    } else if (f.tag === "022") {
      for (const sf of f.subfields) {
        if (sf.code !== "a" && sf.code !== "y" && sf.code !== "z" && sf.code !== "l") continue;
        const n = normalizeIssn(sf.value);
        if (n) issns.add(n);
      }
    }
  }
  return { isbns: [...isbns], issns: [...issns] };
}

/** Title, first author, year and identifiers, for result lists and the records table. */
export function displayFields(rec: MarcRecord): DisplayFields {
  let title = "";
  let author = "";
  for (const f of rec.fields) {
    if (isControlField(f)) continue;
    if (!title && f.tag === "245") title = trimPunctuation(text(f, "abfgknps"));
    if (!author && (f.tag === "100" || f.tag === "110" || f.tag === "111"))
      author = trimPunctuation(text(f, "abcdq"));
  }
  if (!title) {
    // A record without 245 (rare, but seen in CMARC/UNIMARC-shaped records) still needs a label.
    for (const f of rec.fields) {
      if (!isControlField(f) && TITLE_TAGS.has(f.tag)) {
        title = trimPunctuation(text(f));
        if (title) break;
      }
    }
  }
  const ids = identifiers(rec);
  return { title, author, year: years(rec)[0] ?? "", ...ids };
}

/** ISSN "1234-5679" as one token: the tokenizer would split it at the hyphen. */
export function issnToken(issn: string): string {
  return issn.replace("-", "").toLowerCase();
}

/**
 * The text of every index. Vernacular 880 fields count for the index of the field they pair with
 * (880 $6 245-01 is a title); an 880 without a usable $6 still counts for "any". "any" holds the
 * text of every data field 010–899 plus the identifiers; 9XX fields are local (items, system data)
 * and are left out.
 */
export function indexDocument(rec: MarcRecord): IndexDocument {
  const parts: Record<Exclude<CatalogIndex, "any">, string[]> & { other: string[] } = {
    title: [],
    author: [],
    subject: [],
    isbn: [],
    issn: [],
    publisher: [],
    year: [],
    other: [],
  };
  const add = (tag: string, field: DataField): void => {
    if (TITLE_TAGS.has(tag)) {
      parts.title.push(tag === "245" ? text(field, "abfgknps") : text(field));
      // 245 $c and $h are not title words, but they are still words of the record.
      if (tag === "245") parts.other.push(text(field, "ch"));
    } else if (NAME_TAGS.has(tag)) {
      const at = field.subfields.findIndex((sf) => sf.code === NAME_TITLE_START);
      const name = at < 0 ? field.subfields : field.subfields.slice(0, at);
      parts.author.push(
        name
          .filter((sf) => "abcdjq".includes(sf.code))
          .map((sf) => sf.value)
          .join(" "),
      );
      parts.other.push(
        name
          .filter((sf) => isTextCode(sf.code) && !"abcdjq".includes(sf.code))
          .map((sf) => sf.value)
          .join(" "),
      );
      if (at >= 0) {
        parts.title.push(
          field.subfields
            .slice(at)
            .filter((sf) => isTextCode(sf.code))
            .map((sf) => sf.value)
            .join(" "),
        );
      }
    } else if (isSubjectTag(tag)) {
      parts.subject.push(text(field));
    } else if (PUBLISHER_TAGS.has(tag)) {
      parts.publisher.push(text(field, "b"));
      parts.other.push(text(field, "acefg"));
    } else {
      parts.other.push(text(field));
    }
  };
  for (const f of rec.fields) {
    if (isControlField(f) || f.tag === "880") continue;
    if (f.tag < "010" || f.tag > "899") continue;
    add(f.tag, f);
  }
  for (const { field, linkage } of linkedFields880(rec)) {
    if (linkage) add(linkage.tag, field);
    else parts.other.push(text(field));
  }
  const ids = identifiers(rec);
  const fts = (list: string[]) => toFtsDocument(list.filter((s) => s !== "").join(" "));
  const doc: IndexDocument = {
    title: fts(parts.title),
    author: fts(parts.author),
    subject: fts(parts.subject),
    // Identifiers and years are single tokens already.
    isbn: ids.isbns.join(" "),
    issn: ids.issns.map(issnToken).join(" "),
    publisher: fts(parts.publisher),
    year: years(rec).join(" "),
    any: "",
  };
  // Tokenising text twice costs more than joining tokens: "any" is built from the other indexes.
  doc.any = [doc.title, doc.author, doc.subject, doc.publisher, fts(parts.other), doc.isbn, doc.issn]
    .filter((s) => s !== "")
    .join(" ");
  return doc;
}
