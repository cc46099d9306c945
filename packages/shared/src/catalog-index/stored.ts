/** Reading a record as every catalog stores it: one ISO 2709 record, UTF-8. */
import { parseIso2709 } from "../marc/iso2709.js";
import type { MarcRecord } from "../marc/record.js";

/** The first record of an ISO 2709 blob (UTF-8, as catalogs and the change feed keep it); undefined when unreadable. */
export function readMarcBlob(marc: Uint8Array): MarcRecord | undefined {
  for (const r of parseIso2709(marc, { encoding: "utf-8" })) return r.ok ? r.record : undefined;
  return undefined;
}
