/**
 * How LRS keeps and carries one record: the `marc` bytes of the member catalog, the change feed,
 * catalog sync and the union catalog. ISO 2709 in UTF-8 when the record fits that format; MARCXML
 * (UTF-8, one `<record>`) when it does not, so that a record any size an ILS exports (a serial with
 * thousands of holdings fields) is kept whole. Koha made the same move when it began storing
 * MARCXML beside ISO 2709 for records over 99999 bytes. The first byte tells them apart: `<` is
 * never the first byte of an ISO 2709 leader (five digits).
 */
import { Iso2709LimitError, parseIso2709, toIso2709 } from "./iso2709.js";
import { parseMarcXml, toMarcXml } from "./marcxml.js";
import { MarcParseError, type MarcReadResult } from "./read-result.js";
import type { MarcRecord } from "./record.js";

/** The bytes LRS stores and sends for `record`. @throws RangeError for a bad tag or subfield code. */
export function toMarcBlob(record: MarcRecord): Buffer {
  try {
    return toIso2709(record);
  } catch (err) {
    if (!(err instanceof Iso2709LimitError)) throw err;
    return Buffer.from(toMarcXml(record), "utf8");
  }
}

/** Whether a blob is MARCXML (a record too long for ISO 2709) rather than ISO 2709. */
export function isMarcXmlBlob(marc: Uint8Array): boolean {
  return marc[0] === 0x3c;
}

/** Reads the record in a blob, or says why it cannot be read. */
export function readMarcBlobResult(marc: Uint8Array): MarcReadResult {
  const first = isMarcXmlBlob(marc)
    ? parseMarcXml(Buffer.from(marc.buffer, marc.byteOffset, marc.byteLength).toString("utf8"))[0]
    : parseIso2709(marc, { encoding: "utf-8" }).next().value;
  return (
    first ?? {
      ok: false,
      index: 1,
      error: new MarcParseError({ recordIndex: 1, reason: "no record in the data" }),
    }
  );
}

/** The record in a blob, or undefined when it cannot be read. */
export function readMarcBlob(marc: Uint8Array): MarcRecord | undefined {
  const r = readMarcBlobResult(marc);
  return r.ok ? r.record : undefined;
}
