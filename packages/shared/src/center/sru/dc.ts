/**
 * MARC 21 → simple Dublin Core, after the Library of Congress crosswalk
 * (https://www.loc.gov/marc/marc2dc.html, unqualified) and its SRU rendering (`srw_dc:dc`, the
 * record LoC's MARC21slim2SRWDC.xsl writes).
 *
 * Where the crosswalk and the SRU stylesheet differ, the choice that serves a search client is
 * taken: names (100/110/111/700/710/711) are `dc:creator` as the stylesheet has them, not the
 * crosswalk's `contributor`; the date falls back to 008/07-10 only when no 260/264 $c exists.
 * 880 fields (vernacular script) are read as the field their $6 names, after the romanized fields of that tag.
 */
import { parseLinkage } from "../../marc/fields.js";
import { type DataField, isControlField, type MarcRecord } from "../../marc/record.js";
import { escapeXml } from "./xml.js";

export const DC_NAMESPACE = "http://purl.org/dc/elements/1.1/";
/** The namespace of the SRU Dublin Core record, `info:srw/schema/1/dc-schema`. */
export const SRW_DC_NAMESPACE = "info:srw/schema/1/dc-schema";

/** The fifteen elements of the Dublin Core Metadata Element Set, in their standard order. */
export const DC_ELEMENTS = [
  "title",
  "creator",
  "subject",
  "description",
  "publisher",
  "contributor",
  "date",
  "type",
  "format",
  "identifier",
  "source",
  "language",
  "relation",
  "coverage",
  "rights",
] as const;

export type DcElement = (typeof DC_ELEMENTS)[number];

/** One Dublin Core statement: an element and its value. */
export interface DcStatement {
  element: DcElement;
  value: string;
}

const SUBDIVISIONS = "vxyz";

/** Trailing ISBD punctuation (` /`, ` :`, ` ;`, ` =`, `,`) and a final period that ends a word, not an initial. */
function chop(s: string): string {
  let out = s.trim().replace(/[\s,;:/=]+$/u, "");
  // "1990." "history." lose the period; "Smith, J." "Inc." "24 cm." keep theirs.
  if (/(?:[\p{L}\p{N}]{4}|\d|[)\]])\.$/u.test(out)) out = out.slice(0, -1);
  return out.trim();
}

function values(field: DataField, codes: string): string[] {
  return field.subfields.filter((sf) => codes.includes(sf.code)).map((sf) => sf.value);
}

/** The chosen subfields joined by a space, the punctuation at the end chopped (inner ISBD punctuation stays). */
function joined(field: DataField, codes: string): string {
  return chop(values(field, codes).join(" "));
}

/** A heading: the main part, then each subdivision after "--" (LoC's SRU stylesheet writes it so). */
function heading(field: DataField, mainCodes: string): string {
  const main: string[] = [];
  const subs: string[] = [];
  for (const sf of field.subfields) {
    if (mainCodes.includes(sf.code) && subs.length === 0) main.push(sf.value);
    else if (SUBDIVISIONS.includes(sf.code)) subs.push(chop(sf.value));
  }
  return [chop(main.join(" ")), ...subs].filter((s) => s !== "").join("--");
}

/** Languages in 041 are three-letter codes; old records run several together ("engfre"). */
function languageCodes(value: string): string[] {
  const v = value.trim().toLowerCase();
  if (/^(?:[a-z]{3})+$/.test(v)) return v.match(/.{3}/g) ?? [];
  return v === "" ? [] : [v];
}

/** Data fields with 880s standing in for the field their $6 names, after the record's own fields. */
function dataFields(record: MarcRecord): DataField[] {
  const own: DataField[] = [];
  const vernacular: DataField[] = [];
  for (const f of record.fields) {
    if (isControlField(f)) continue;
    if (f.tag !== "880") {
      own.push(f);
      continue;
    }
    const six = f.subfields.find((sf) => sf.code === "6");
    const linkage = six ? parseLinkage(six.value) : undefined;
    if (linkage) vernacular.push({ ...f, tag: linkage.tag });
  }
  return [...own, ...vernacular];
}

const TYPE_BY_LEADER06: Readonly<Record<string, string>> = {
  a: "Text",
  c: "Text",
  d: "Text",
  t: "Text",
  e: "Image",
  f: "Image",
  g: "Image",
  k: "Image",
  i: "Sound",
  j: "Sound",
};

/**
 * The Dublin Core statements for a record, in element order (title, creator, subject, …), each
 * element's values in record order, without duplicates and without empty values.
 */
export function marcToDublinCore(record: MarcRecord): DcStatement[] {
  const fields = dataFields(record);
  const out = new Map<DcElement, string[]>(DC_ELEMENTS.map((e) => [e, []]));
  const add = (element: DcElement, value: string | undefined) => {
    const v = value?.trim();
    if (!v) return;
    const list = out.get(element)!;
    if (!list.includes(v)) list.push(v);
  };
  const each = (tags: readonly string[], fn: (f: DataField) => void) => {
    for (const f of fields) if (tags.includes(f.tag)) fn(f);
  };
  const inRange = (from: number, to: number, fn: (f: DataField) => void) => {
    for (const f of fields) {
      const n = Number(f.tag);
      if (n >= from && n <= to) fn(f);
    }
  };
  const control = (tag: string) => {
    for (const f of record.fields) if (f.tag === tag && isControlField(f)) return f.value;
    return undefined;
  };

  // title: 245, and 246 (varying forms) after it.
  each(["245"], (f) => add("title", joined(f, "abfgknps")));
  each(["246"], (f) => add("title", joined(f, "abfgnp")));

  // creator: the name part of main and added entries (relators and titles left out).
  each(["100", "700"], (f) => add("creator", joined(f, "abcdq")));
  each(["110", "710"], (f) => add("creator", joined(f, "abcdgn")));
  each(["111", "711"], (f) => add("creator", joined(f, "acdegnq")));
  each(["720"], (f) => {
    const role = values(f, "e").join(" ").toLowerCase();
    add(role === "" || role.includes("author") ? "creator" : "contributor", joined(f, "a"));
  });

  // subject: name, title and topical headings with their subdivisions; uncontrolled terms one by one;
  // classification numbers.
  each(["600"], (f) => add("subject", heading(f, "abcdqt")));
  each(["610"], (f) => add("subject", heading(f, "abcdt")));
  each(["611"], (f) => add("subject", heading(f, "acdenqt")));
  each(["630"], (f) => add("subject", heading(f, "adfklmnoprst")));
  each(["650"], (f) => add("subject", heading(f, "abcd")));
  each(["651"], (f) => add("subject", heading(f, "a")));
  each(["653"], (f) => {
    for (const v of values(f, "a")) add("subject", chop(v));
  });
  each(["050", "060", "080", "082"], (f) => add("subject", joined(f, "ab")));

  // description: the notes, except those that are rights (506, 540), relation (530) or language (546).
  inRange(500, 599, (f) => {
    if (f.tag === "506" || f.tag === "530" || f.tag === "540" || f.tag === "546") return;
    add("description", joined(f, "abcdefghijklmnopqrstuvwxyz"));
  });

  // publisher and date: 260, or 264 with second indicator 1 (publication).
  const imprints = fields.filter((f) => f.tag === "260" || (f.tag === "264" && f.ind2 === "1"));
  for (const f of imprints) for (const v of values(f, "b")) add("publisher", chop(v));
  const dates = imprints.flatMap((f) => values(f, "c").map(chop));
  for (const v of dates) add("date", v);
  if (dates.length === 0) {
    const date1 = control("008")?.slice(7, 11);
    if (date1 && /^\d{4}$/.test(date1)) add("date", date1);
  }

  // type: leader/06 (DCMI Type Vocabulary), leader/07 collection or serial, genre terms (655).
  add("type", TYPE_BY_LEADER06[record.leader.charAt(6)]);
  if (record.leader.charAt(7) === "c" || record.leader.charAt(7) === "s") add("type", "Collection");
  each(["655"], (f) => add("type", heading(f, "a")));

  // format: physical description, medium, media type of an electronic location.
  each(["300"], (f) => add("format", joined(f, "abcefg")));
  each(["340"], (f) => add("format", joined(f, "abcdefhi")));
  each(["856"], (f) => {
    for (const v of values(f, "q")) add("format", v);
  });

  // identifier: ISBN, ISSN, other standard identifiers, URIs.
  each(["020", "022", "024"], (f) => {
    for (const v of values(f, "a")) add("identifier", chop(v));
  });
  each(["856"], (f) => {
    for (const v of values(f, "u")) add("identifier", v.trim());
  });

  // source: original version (534 $t), data source entry (786).
  each(["534"], (f) => add("source", joined(f, "t")));
  each(["786"], (f) => add("source", joined(f, "ot")));

  // language: 008/35-37, 041 codes, the language note.
  const lang008 = control("008")?.slice(35, 38).toLowerCase();
  if (lang008 && /^[a-z]{3}$/.test(lang008)) add("language", lang008);
  each(["041"], (f) => {
    for (const v of values(f, "abdefghj")) for (const code of languageCodes(v)) add("language", code);
  });
  each(["546"], (f) => add("language", joined(f, "ab")));

  // relation: other available formats (530) and the linking entries (760-787 $t $o).
  each(["530"], (f) => add("relation", joined(f, "abcd")));
  inRange(760, 787, (f) => add("relation", joined(f, "ot")));

  // coverage: geographic headings and hierarchical places.
  each(["651"], (f) => add("coverage", joined(f, "a")));
  each(["751"], (f) => add("coverage", joined(f, "a")));
  each(["662", "752"], (f) =>
    add(
      "coverage",
      values(f, "abcdfgh")
        .map(chop)
        .filter((v) => v !== "")
        .join("--"),
    ),
  );

  // rights: restrictions on access (506), terms of use (540).
  each(["506", "540"], (f) => add("rights", joined(f, "abcdefu")));

  const statements: DcStatement[] = [];
  for (const [element, list] of out) for (const value of list) statements.push({ element, value });
  return statements;
}

/**
 * The record as an SRU Dublin Core record (`info:srw/schema/1/dc-v1.1`): a `<srw_dc:dc>` element
 * holding `<dc:…>` elements, the form LoC's MARC21slim2SRWDC.xsl writes.
 */
export function toSrwDcXml(record: MarcRecord): string {
  const lines = [
    `<srw_dc:dc xmlns:srw_dc="${SRW_DC_NAMESPACE}" xmlns:dc="${DC_NAMESPACE}"` +
      ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' +
      ` xsi:schemaLocation="${SRW_DC_NAMESPACE} http://www.loc.gov/standards/sru/recordSchemas/dc-schema.xsd">`,
  ];
  for (const { element, value } of marcToDublinCore(record)) {
    lines.push(`  <dc:${element}>${escapeXml(value)}</dc:${element}>`);
  }
  lines.push("</srw_dc:dc>");
  return lines.join("\n");
}

export const OAI_DC_NAMESPACE = "http://www.openarchives.org/OAI/2.0/oai_dc/";

/** The record as OAI-PMH's `oai_dc`: the same statements as {@link toSrwDcXml}, in `<oai_dc:dc>`. */
export function toOaiDcXml(record: MarcRecord): string {
  const lines = [
    `<oai_dc:dc xmlns:oai_dc="${OAI_DC_NAMESPACE}" xmlns:dc="${DC_NAMESPACE}"` +
      ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"' +
      ` xsi:schemaLocation="${OAI_DC_NAMESPACE} http://www.openarchives.org/OAI/2.0/oai_dc.xsd">`,
  ];
  for (const { element, value } of marcToDublinCore(record)) {
    lines.push(`  <dc:${element}>${escapeXml(value)}</dc:${element}>`);
  }
  lines.push("</oai_dc:dc>");
  return lines.join("\n");
}
