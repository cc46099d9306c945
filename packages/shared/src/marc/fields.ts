import type { DataField, MarcField, MarcRecord } from "./record.js";
import { isControlField } from "./record.js";

/** All fields with the given tag, in record order. */
export function getFields(rec: MarcRecord, tag: string): MarcField[] {
  return rec.fields.filter((f) => f.tag === tag);
}

/** The data fields (with subfields) with the given tag, in record order. */
export function getDataFields(rec: MarcRecord, tag: string): DataField[] {
  const out: DataField[] = [];
  for (const f of rec.fields) if (f.tag === tag && !isControlField(f)) out.push(f);
  return out;
}

/** Value of the first control field with the given tag (e.g. `"001"`), or undefined. */
export function controlValue(rec: MarcRecord, tag: string): string | undefined {
  for (const f of rec.fields) if (f.tag === tag && isControlField(f)) return f.value;
  return undefined;
}

/** Values of every subfield `code` in every field `tag`, in record order (e.g. all ISBNs: 020 $a). */
export function subfieldValues(rec: MarcRecord, tag: string, code: string): string[] {
  const out: string[] = [];
  for (const f of rec.fields) {
    if (f.tag !== tag || isControlField(f)) continue;
    for (const sf of f.subfields) if (sf.code === code) out.push(sf.value);
  }
  return out;
}

/** Field 880 subfield $6, taken apart (`245-01/$1`, `100-01/(2/r`). */
export interface Linkage {
  /** The tag of the field the 880 stands for (`"245"`). */
  tag: string;
  /** Occurrence number pairing the 880 with its field; `"00"` when there is no such field. */
  occurrence: string;
  /** Script identification code: `$1` CJK, `(3` Arabic, `(N` Cyrillic, `(S` Greek, `(2` Hebrew, `(B` Latin. */
  script: string | undefined;
  /** `"r"` when the field is written right to left. */
  orientation: "r" | undefined;
}

const LINKAGE = /^\s*(\d{3})-(\d{2,})(?:\/([^/]*))?(?:\/(r))?/;

/** Parses a $6 linkage value, or returns undefined when it does not have the `TAG-NN` form. */
export function parseLinkage(value: string): Linkage | undefined {
  const m = LINKAGE.exec(value);
  if (!m) return undefined;
  return {
    tag: m[1]!,
    occurrence: m[2]!,
    script: m[3] === undefined || m[3] === "" ? undefined : m[3],
    orientation: m[4] === "r" ? "r" : undefined,
  };
}

/** An 880 (alternate graphic representation) field with what its $6 says it stands for. */
export interface LinkedField880 {
  field: DataField;
  /** The parsed $6, or undefined when the field has no usable $6 (it is still non-Latin text). */
  linkage: Linkage | undefined;
}

/**
 * Every 880 field of the record, each with its $6 linkage parsed into the tag it stands for
 * (`880 $6 245-01/$1` is the title in CJK). Fields with a missing or malformed $6 are included with
 * `linkage: undefined`, because their text is still worth indexing.
 */
export function linkedFields880(rec: MarcRecord): LinkedField880[] {
  const out: LinkedField880[] = [];
  for (const field of getDataFields(rec, "880")) {
    const six = field.subfields.find((sf) => sf.code === "6");
    out.push({ field, linkage: six ? parseLinkage(six.value) : undefined });
  }
  return out;
}

/**
 * Whether a field carries one library's copy data rather than a description of the work: 852
 * (location), 853–855 and 863–868 (holdings captions and enumeration), 876–878 (item information)
 * and the 9XX local fields where ILS exports put items (949, 952 from Koha/Evergreen, …).
 */
export function isCopyField(tag: string): boolean {
  return (
    tag === "852" ||
    (tag >= "853" && tag <= "855") ||
    (tag >= "863" && tag <= "868") ||
    (tag >= "876" && tag <= "878") ||
    tag.startsWith("9")
  );
}
