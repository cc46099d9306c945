/**
 * What the union catalog derives from one record when it arrives, so that clustering, choosing the
 * preferred record and indexing a cluster never parse MARC again: the match keys and completeness
 * (from match/), the display summary and the search text of each index column.
 */

import { readMarcBlob } from "../../marc/blob.js";
import { controlValue, getDataFields, linkedFields880, subfieldValues } from "../../marc/fields.js";
import { type DataField, isControlField, type MarcRecord } from "../../marc/record.js";
import { toFtsDocument } from "../../match/cjk.js";
import { normalizeIsbn, normalizeIssn } from "../../match/identifiers.js";
import { matchKeys, recordCompleteness } from "../../match/keys.js";
import { normalizeYear } from "../../match/normalize.js";

/** What a cluster shows in a result list: taken from its preferred record. */
export interface RecordSummary {
  /** 245 $a $b $n $p, without the closing ISBD punctuation. */
  title: string;
  /** The 880 paired with 245 (the title in its original script), "" when there is none. */
  titleVernacular: string;
  /** First author: 100/110/111 $a, else the first 700/710/711 $a. */
  author: string;
  /** Date 1 of 008, else the first year in 260/264 $c; "" when unknown. */
  year: string;
  /** MARC language code, 008/35-37 else 041 $a; "" when unknown. */
  language: string;
  /** Kind of material from leader/06-07 ("book", "serial", "score", "sound recording", …). */
  format: string;
}

/** The columns of the search index, one text per column, already tokenised for FTS5. */
export interface SearchText {
  title: string;
  author: string;
  subject: string;
  isbn: string;
  issn: string;
  publisher: string;
  year: string;
  any: string;
}

/** The columns of the search index, in table order. */
export const SEARCH_COLUMNS = [
  "title",
  "author",
  "subject",
  "isbn",
  "issn",
  "publisher",
  "year",
  "any",
] as const satisfies ReadonlyArray<keyof SearchText>;

/** Everything the union catalog keeps about a record besides its bytes and holdings. */
export interface RecordDescription {
  /** False when the bytes could not be read as MARC: the record is kept (and forwarded) but unmatched. */
  readable: boolean;
  strong: string[];
  fuzzy: string | undefined;
  completeness: number;
  summary: RecordSummary;
  search: SearchText;
}

const EMPTY_SUMMARY: RecordSummary = {
  title: "",
  titleVernacular: "",
  author: "",
  year: "",
  language: "",
  format: "",
};
const EMPTY_SEARCH: SearchText = {
  title: "",
  author: "",
  subject: "",
  isbn: "",
  issn: "",
  publisher: "",
  year: "",
  any: "",
};

/** Derives keys, completeness, summary and search text from a record's bytes. */
export function describeRecord(marc: Uint8Array): RecordDescription {
  const record = readMarcBlob(marc);
  if (!record) {
    return {
      readable: false,
      strong: [],
      fuzzy: undefined,
      completeness: 0,
      summary: EMPTY_SUMMARY,
      search: EMPTY_SEARCH,
    };
  }
  const keys = matchKeys(record);
  const summary = summarize(record);
  return {
    readable: true,
    strong: keys.strong,
    fuzzy: keys.fuzzy,
    completeness: recordCompleteness(record),
    summary,
    search: searchText(record),
  };
}

const TRAILING_PUNCTUATION = /[\s/:;,.=]+$/u;

function clean(s: string): string {
  return s.replace(/\s+/g, " ").replace(TRAILING_PUNCTUATION, "").trim();
}

function joinCodes(field: DataField | undefined, codes: string): string {
  if (!field) return "";
  return clean(
    field.subfields
      .filter((sf) => codes.includes(sf.code))
      .map((sf) => sf.value.trim())
      .join(" "),
  );
}

const FORMATS: Record<string, string> = {
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

function formatOf(leader: string): string {
  const type = leader[6] ?? "";
  const level = leader[7] ?? "";
  if (type === "a" && (level === "s" || level === "i"))
    return level === "s" ? "serial" : "integrating resource";
  return FORMATS[type] ?? "";
}

function summarize(record: MarcRecord): RecordSummary {
  const f245 = getDataFields(record, "245")[0];
  const main = ["100", "110", "111", "700", "710", "711"]
    .map((t) => getDataFields(record, t)[0])
    .find(Boolean);
  const f008 = controlValue(record, "008");
  const dates = ["260", "264"].flatMap((t) => subfieldValues(record, t, "c"));
  const lang008 = f008?.slice(35, 38) ?? "";
  const language = /^[a-z]{3}$/.test(lang008)
    ? lang008
    : (subfieldValues(record, "041", "a")[0]?.slice(0, 3) ?? "");
  const vernacular = linkedFields880(record).find((l) => l.linkage?.tag === "245");
  return {
    title: joinCodes(f245, "abnp"),
    titleVernacular: joinCodes(vernacular?.field, "abnp"),
    author: clean(main?.subfields.find((sf) => sf.code === "a")?.value ?? ""),
    year: normalizeYear(f008, dates),
    language: language.trim(),
    format: formatOf(record.leader),
  };
}

// Which tags feed which index column; an 880 counts for the tag its $6 names. These rules are the
// member catalog's (member-node catalog-fields.ts indexDocument), so that a query means the same at
// LOCAL and at REGION or NATIONAL scope.
const TITLE_TAGS = new Set(["130", "210", "222", "240", "242", "243", "245", "246", "247", "730", "740"]);
const NAME_TAGS = new Set(["100", "110", "111", "700", "710", "711", "720"]);
const PUBLISHER_TAGS = new Set(["260", "264"]);
const YEAR = /(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)/g;

/** Letters only: $0–$9 hold links, sources and linkage, not words a reader searches for. */
function isTextCode(code: string): boolean {
  return code >= "a" && code <= "z";
}

function fieldText(field: DataField, codes?: string): string {
  return field.subfields
    .filter((sf) => (codes === undefined ? isTextCode(sf.code) : codes.includes(sf.code)))
    .map((sf) => sf.value)
    .join(" ");
}

function years(record: MarcRecord): string[] {
  const out = new Set<string>();
  const d1 = controlValue(record, "008")?.slice(7, 11) ?? "";
  if (/^\d{4}$/.test(d1)) out.add(d1);
  for (const tag of PUBLISHER_TAGS) {
    for (const c of subfieldValues(record, tag, "c")) for (const m of c.matchAll(YEAR)) out.add(m[1]!);
  }
  return [...out];
}

/**
 * The text of every index column. Title: 245 and the other title fields, plus the title part ($t
 * on) of name/title added entries. Author: 1XX/7XX names. Subject: 6XX. Publisher: 260/264 $b.
 * Year: every year of 008 Date 1 and 260/264 $c. ISBN: the record's ISBN-13s (an ISBN-10 query is
 * normalised to the same ISBN-13), from 020 $a and $z — a search may look for a cancelled number,
 * a match may not. ISSN: 022 $a/$l/$y/$z as eight characters without the hyphen (one token). Any:
 * every data field 010–899 and the identifiers; 9XX are local (items, system data).
 */
function searchText(record: MarcRecord): SearchText {
  const parts: Record<keyof SearchText, string[]> = {
    title: [],
    author: [],
    subject: [],
    isbn: [],
    issn: [],
    publisher: [],
    year: [],
    any: [],
  };
  const add = (tag: string, field: DataField) => {
    if (TITLE_TAGS.has(tag)) {
      parts.title.push(tag === "245" ? fieldText(field, "abfgknps") : fieldText(field));
    } else if (NAME_TAGS.has(tag)) {
      const at = field.subfields.findIndex((sf) => sf.code === "t");
      const name = at < 0 ? field.subfields : field.subfields.slice(0, at);
      parts.author.push(
        name
          .filter((sf) => "abcdjq".includes(sf.code))
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
    } else if (tag >= "600" && tag <= "699") {
      parts.subject.push(fieldText(field));
    } else if (PUBLISHER_TAGS.has(tag)) {
      parts.publisher.push(fieldText(field, "b"));
    }
  };
  for (const f of record.fields) {
    if (isControlField(f) || f.tag === "880" || f.tag < "010" || f.tag > "899") continue;
    add(f.tag, f);
    parts.any.push(fieldText(f));
  }
  for (const { field, linkage } of linkedFields880(record)) {
    if (linkage) add(linkage.tag, field);
    parts.any.push(fieldText(field));
  }
  const isbns = new Set<string>();
  for (const code of ["a", "z"]) {
    for (const v of subfieldValues(record, "020", code)) {
      const n = normalizeIsbn(v);
      if (n) isbns.add(n);
    }
  }
  const issns = new Set<string>();
  for (const code of ["a", "l", "y", "z"]) {
    for (const v of subfieldValues(record, "022", code)) {
      const n = normalizeIssn(v);
      if (n) issns.add(n.replace("-", "").toLowerCase());
    }
  }
  parts.isbn.push(...isbns);
  parts.issn.push(...issns);
  parts.year.push(...years(record));
  parts.any.push(...parts.isbn, ...parts.issn);
  const doc = {} as SearchText;
  for (const col of SEARCH_COLUMNS) {
    const joined = parts[col].filter((s) => s !== "").join(" ");
    // Identifiers and years are single tokens already; the rest is normalised, CJK as bigrams.
    doc[col] = col === "isbn" || col === "issn" || col === "year" ? joined : toFtsDocument(joined);
  }
  return doc;
}
