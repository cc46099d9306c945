import { parseIso2709 } from "./iso2709.js";
import type { MarcRecord } from "./record.js";

/** Reads the first record of an ISO 2709 blob (UTF-8, as the change feed carries it). */
export function readMarcBlob(marc: Uint8Array): MarcRecord | undefined {
  for (const r of parseIso2709(marc, { encoding: "utf-8" })) return r.ok ? r.record : undefined;
  return undefined;
}
