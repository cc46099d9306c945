/**
 * ISO 2709 for a record that may be too long for it. Koha and MARC::Record write such a record
 * with a wrong length (readers then misread it); LRS writes a valid record and says what it left
 * out, each kind from the end of the record: first item-level copy fields (9XX, 863–868, 876–878:
 * data the holding library's own system has), then notes (5XX), then anything but the control
 * fields, 1XX and 245 — the union's 852s (who holds it) go last. A field over 9999 bytes loses its
 * last subfields, or the end of its text.
 */
import { isCopyField } from "./fields.js";
import {
  Iso2709LimitError,
  iso2709FieldText,
  MAX_FIELD_LENGTH,
  MAX_RECORD_LENGTH,
  toIso2709,
} from "./iso2709.js";
import { type DataField, isControlField, type MarcField, type MarcRecord } from "./record.js";

/** An ISO 2709 record and what had to go for it to fit. */
export interface FittedIso2709 {
  marc: Buffer;
  /** What was cut or left out, for the user (empty when the record fitted as it was). */
  changes: string[];
}

const bytes = (f: MarcField) => Buffer.byteLength(iso2709FieldText(f), "utf8");

/** Cuts `s` to at most `max` UTF-8 bytes, at a character boundary. */
function cutText(s: string, max: number): string {
  const b = Buffer.from(s, "utf8");
  if (b.length <= max) return s;
  let end = max;
  // Back to the start of a character: continuation bytes are 10xxxxxx.
  while (end > 0 && (b[end]! & 0xc0) === 0x80) end--;
  return b.subarray(0, end).toString("utf8");
}

function shortenField(field: MarcField): MarcField {
  if (isControlField(field)) return { tag: field.tag, value: cutText(field.value, MAX_FIELD_LENGTH - 1) };
  const subfields = [...field.subfields];
  const f: DataField = { ...field, subfields };
  while (subfields.length > 1 && bytes(f) > MAX_FIELD_LENGTH) subfields.pop();
  const last = subfields[subfields.length - 1];
  if (last && bytes(f) > MAX_FIELD_LENGTH) {
    const over = bytes(f) - MAX_FIELD_LENGTH;
    subfields[subfields.length - 1] = {
      code: last.code,
      value: cutText(last.value, Buffer.byteLength(last.value, "utf8") - over),
    };
  }
  return f;
}

/** Fields that identify the record and are never left out: control fields, 1XX, 245. */
function isKept(f: MarcField): boolean {
  return isControlField(f) || f.tag.startsWith("1") || f.tag === "245";
}

function tally(tags: string[]): string {
  const n = new Map<string, number>();
  for (const t of tags) n.set(t, (n.get(t) ?? 0) + 1);
  return [...n].map(([t, c]) => (c > 1 ? `${t} ×${c}` : t)).join(", ");
}

/**
 * Writes `record` as ISO 2709, shortened only as far as the format forces (99999 bytes a record,
 * 9999 a field), and lists what was cut.
 *
 * @throws RangeError for a record that no shortening makes valid (a bad tag or subfield code).
 */
export function fitIso2709(record: MarcRecord): FittedIso2709 {
  try {
    return { marc: toIso2709(record), changes: [] };
  } catch (err) {
    if (!(err instanceof Iso2709LimitError)) throw err;
  }
  const changes: string[] = [];
  const fields = record.fields.map((f) => {
    const before = bytes(f);
    if (before <= MAX_FIELD_LENGTH) return f;
    const short = shortenField(f);
    changes.push(
      `field ${f.tag} cut from ${before} to ${bytes(short)} bytes (ISO 2709 fields stop at ${MAX_FIELD_LENGTH})`,
    );
    return short;
  });
  const sizes = fields.map(bytes);
  // Leader, directory entry (12) per field, directory terminator, record terminator.
  let total = 24 + 1 + 1 + sizes.reduce((a, s) => a + s + 12, 0);
  const out = new Array<boolean>(fields.length).fill(false);
  const dropped: string[] = [];
  const passes = [
    (f: MarcField) => isCopyField(f.tag) && f.tag !== "852",
    (f: MarcField) => f.tag.startsWith("5"),
    (f: MarcField) => !isKept(f),
  ];
  for (const pass of passes) {
    for (let i = fields.length - 1; i >= 0 && total > MAX_RECORD_LENGTH; i--) {
      if (out[i] || !pass(fields[i]!)) continue;
      out[i] = true;
      total -= sizes[i]! + 12;
      dropped.push(fields[i]!.tag);
    }
  }
  if (dropped.length > 0) {
    changes.push(
      `${dropped.length} field(s) left out to stay within ISO 2709's ${MAX_RECORD_LENGTH} bytes: ${tally(dropped.reverse())}`,
    );
  }
  return { marc: toIso2709({ leader: record.leader, fields: fields.filter((_, i) => !out[i]) }), changes };
}
