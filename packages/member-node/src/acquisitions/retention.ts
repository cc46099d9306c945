/**
 * Shared retention commitments (shared print): the library promises to keep a copy for the region
 * through the end of a year — as EAST and other shared-print programmes record with a MARC 583
 * "committed to retain" action. The commitment is on the item and travels up with the record, so
 * the union catalogs show it (and export it as 583) and the rota asks retained last copies after
 * other copies.
 */
import { type Database, isOnOrder } from "@lrs/shared";
import type { MemberCatalog } from "../store/catalog.js";
import { AcquisitionsError } from "./orders.js";

/** The furthest year a commitment may run to. */
export const MAX_RETENTION_YEAR = 2199;

/** One item's commitment after the change. */
export interface RetentionResult {
  barcode: string;
  recordId: string;
  retainedUntil: number | null;
}

/**
 * Sets (a year) or ends (null) the retention commitment of items, each with its record's change
 * sent upward, all in one transaction.
 *
 * @throws AcquisitionsError naming the barcode or year that is wrong; nothing is changed then.
 */
export function setRetention(
  db: Database,
  catalog: MemberCatalog,
  barcodes: readonly string[],
  year: number | null,
  now: Date = new Date(),
): RetentionResult[] {
  if (year !== null && (!Number.isInteger(year) || year < now.getUTCFullYear() || year > MAX_RETENTION_YEAR))
    throw new AcquisitionsError(
      "until",
      `${year} is not a year from ${now.getUTCFullYear()} to ${MAX_RETENTION_YEAR}`,
    );
  return db.transaction(() => {
    const out: RetentionResult[] = [];
    for (const barcode of barcodes) {
      const row = db.sqlite.prepare("SELECT record_id FROM catalog_items WHERE barcode = ?").get(barcode) as
        | { record_id: string }
        | undefined;
      if (!row) throw new AcquisitionsError("barcode", `no item ${barcode} in the catalog`);
      const rec = catalog.get(row.record_id)!;
      const holdings = rec.holdings.map((h) => {
        if (h.barcode !== barcode) return h;
        if (isOnOrder(h))
          throw new AcquisitionsError("barcode", `${barcode} is an order, not a copy: it cannot be retained`);
        const { retainedUntil: _old, ...rest } = h;
        return year === null ? rest : { ...rest, retainedUntil: year };
      });
      catalog.setHoldings(row.record_id, holdings, { exact: true });
      out.push({ barcode, recordId: row.record_id, retainedUntil: year });
    }
    return out;
  });
}
