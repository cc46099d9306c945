import { type HoldingData, isOnOrder } from "../../catalog-sync/change-feed.js";
import { tallyOf } from "../../catalog-sync/holding-summary.js";
import { isCopyField } from "../../marc/fields.js";
import type { DataField, MarcField, MarcRecord } from "../../marc/record.js";

/** One institution's holdings of a cluster, as the export writes them. */
export interface InstitutionHoldings {
  institutionId: string;
  /** The institution's records in the cluster (usually one; a library may have duplicates). */
  recordIds: string[];
  /** Its items, from all of those records. */
  holdings: HoldingData[];
}

function distinct(values: Iterable<string>): string[] {
  return [...new Set([...values].map((v) => v.trim()).filter((v) => v !== ""))];
}

/**
 * The holdings field of one institution: one 852 per institution, summarising its copies.
 *
 * - $a the institution id (852 $a is the holding institution's code);
 * - $b each distinct location (repeatable);
 * - $h the call number most of its copies carry (non-repeatable in MARC 21);
 * - $p the barcode, only when it holds exactly one copy ($p is non-repeatable, and a list of barcodes
 *   is local data another library cannot use);
 * - $t the number of copies, when more than one.
 *
 * One field per institution rather than one per item keeps the record within the ISO 2709 size
 * limit for books held by hundreds of libraries, and is what a requester needs: who holds it, where,
 * under which call number. Item-level detail (status, loan rule) is asked of the holding member.
 */
export function holdingsField(h: InstitutionHoldings): DataField {
  const copies = h.holdings.filter((x) => !isOnOrder(x));
  const subfields = [{ code: "a", value: h.institutionId }];
  for (const loc of distinct(copies.map((x) => x.location))) subfields.push({ code: "b", value: loc });
  const calls = new Map<string, number>();
  for (const x of copies) {
    const c = x.callNumber.trim();
    if (c !== "") calls.set(c, (calls.get(c) ?? 0) + 1);
  }
  const call = [...calls].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (call !== undefined) subfields.push({ code: "h", value: call });
  const only = copies.length === 1 ? copies[0] : undefined;
  if (only && only.barcode.trim() !== "") subfields.push({ code: "p", value: only.barcode.trim() });
  if (copies.length > 1) subfields.push({ code: "t", value: String(copies.length) });
  const t = tallyOf(h.holdings);
  if (t.onOrder > 0) {
    // $z public note: the library has the title on order, not on the shelf.
    const when = t.expectedDate ? `, expected ${t.expectedDate}` : "";
    subfields.push({
      code: "z",
      value: `On order: ${t.onOrder} ${t.onOrder === 1 ? "copy" : "copies"}${when}`,
    });
  }
  return { tag: "852", ind1: " ", ind2: " ", subfields };
}

/**
 * The shared retention commitment of one institution, as shared-print programmes record it (MARC 21
 * 583, action note, first indicator 1 "not private"): $a "committed to retain", $d the time frame
 * (through the end of the year), $f the programme, $5 the
 * institution the commitment is for. Undefined when none of its copies is retained.
 */
export function retentionField(h: InstitutionHoldings): DataField | undefined {
  const t = tallyOf(h.holdings);
  if (t.retainedUntil === 0) return undefined;
  const subfields = [
    { code: "a", value: "committed to retain" },
    { code: "d", value: `${t.retainedUntil}1231` },
    { code: "f", value: "LRS shared retention" },
    { code: "5", value: h.institutionId },
  ];
  return { tag: "583", ind1: "1", ind2: " ", subfields };
}

/** Inserts `field` before the first field with a greater tag, keeping the record in tag order. */
function insertInOrder(fields: MarcField[], field: MarcField): void {
  const at = fields.findIndex((f) => f.tag > field.tag);
  if (at < 0) fields.push(field);
  else fields.splice(at, 0, field);
}

/**
 * The record a cluster exports as: its preferred record, without the contributing library's own
 * copy fields, with an 035 carrying the cluster id ("(LRS)north-center:c42", so that a record
 * copied from the export can be traced to its cluster) and one 852 per holding institution. The
 * preferred record's 001/003 are kept: they say whose record it is.
 */
export function exportRecord(
  preferred: MarcRecord,
  clusterId: string,
  holdings: readonly InstitutionHoldings[],
): MarcRecord {
  // The contributing library's own copy fields describe its copies only: the union holdings replace them.
  const fields = preferred.fields.filter((f) => !isCopyField(f.tag));
  insertInOrder(fields, {
    tag: "035",
    ind1: " ",
    ind2: " ",
    subfields: [{ code: "a", value: `(LRS)${clusterId}` }],
  });
  for (const h of holdings) {
    const f = retentionField(h);
    if (f) insertInOrder(fields, f);
  }
  // After any existing 852 position, in institution order.
  const at = fields.findIndex((f) => f.tag > "852");
  const add = holdings.map(holdingsField);
  if (at < 0) fields.push(...add);
  else fields.splice(at, 0, ...add);
  return { leader: preferred.leader, fields };
}
