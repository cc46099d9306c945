/** The years of a record: what the index's year column holds and the year a record shows. */
import { controlValue } from "../marc/fields.js";
import { isControlField, type MarcRecord } from "../marc/record.js";

const YEAR = /(?<!\d)(1[0-9]{3}|20[0-9]{2})(?!\d)/g;
const DATE1 = /^(?:1[0-9]{3}|20[0-9]{2})$/;
const PUBLISHER_TAGS = new Set(["260", "264"]);

/**
 * Every year of the record: 008 Date 1 (when it is a year 1000–2099, not "19uu" or "9999"), then each year in 260/264 $c, in
 * that order without repeats. The first is the year a record shows.
 */
export function recordYears(record: MarcRecord): string[] {
  const out = new Set<string>();
  const d1 = controlValue(record, "008")?.slice(7, 11) ?? "";
  if (DATE1.test(d1)) out.add(d1);
  for (const f of record.fields) {
    if (!PUBLISHER_TAGS.has(f.tag) || isControlField(f)) continue;
    for (const sf of f.subfields) {
      if (sf.code === "c") for (const m of sf.value.normalize("NFKC").matchAll(YEAR)) out.add(m[1]!);
    }
  }
  return [...out];
}
