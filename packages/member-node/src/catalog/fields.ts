/**
 * Which record of the local catalog a MARC 21 record is: its identifier, and whether it says it is
 * deleted. What it shows and how it is indexed are the rules every catalog shares
 * (`@lrs/shared` catalog-index: displayFields, indexDocument).
 */
import { isControlField, type MarcRecord } from "@lrs/shared";

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
