/**
 * What the search engine reads out of stored ISO 2709 records (UTF-8, as both catalogs keep them)
 * at query time, by the rules of catalog-index/: the publisher and vernacular title of the few
 * records of a page or of an exact-title candidate, and the forms a title is matched by.
 */
import { publisherOf, trimPunctuation } from "../catalog-index/display.js";
import { fieldText, TITLE_CODES } from "../catalog-index/document.js";
import { readMarcBlob } from "../marc/blob.js";
import { linkedFields880 } from "../marc/fields.js";
import { normalizeText } from "../match/normalize.js";

/** The publisher of a stored record, "" when it cannot be read. */
export function publisherOfBlob(marc: Uint8Array): string {
  const record = readMarcBlob(marc);
  return record ? publisherOf(record) : "";
}

/** The title in its original script (the 880 paired with 245), as displayFields shows it; "" when there is none. */
export function vernacularTitleOf(marc: Uint8Array): string {
  const record = readMarcBlob(marc);
  if (!record) return "";
  const linked = linkedFields880(record).find((l) => l.linkage?.tag === "245");
  return linked ? trimPunctuation(fieldText(linked.field, TITLE_CODES)) : "";
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
