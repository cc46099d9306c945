import { copiesOnOrder, type HoldingData, isOnOrder } from "./change-feed.js";

/** What a result list shows of one institution's holdings of a title. */
export interface HoldingTally {
  /** Copies it holds (orders are not copies). */
  items: number;
  /** Copies it has on order. */
  onOrder: number;
  /** The earliest expected date of its orders ("" when none says). */
  expectedDate: string;
  /** The latest year a copy is committed to be retained through (0: no commitment). */
  retainedUntil: number;
  /** Copies under a retention commitment (of any year). */
  retainedItems: number;
  locations: string[];
  callNumber: string;
}

/** An empty tally, to be filled with {@link tallyHolding}. */
export function emptyTally(): HoldingTally {
  return {
    items: 0,
    onOrder: 0,
    expectedDate: "",
    retainedUntil: 0,
    retainedItems: 0,
    locations: [],
    callNumber: "",
  };
}

/**
 * Adds one holding to an institution's tally: a copy counts as an item (its location and call
 * number shown), an order as copies on order with its expected date. One rule for the member's own
 * result list, the union catalog's and the collection reports.
 */
export function tallyHolding(t: HoldingTally, h: HoldingData): void {
  if (isOnOrder(h)) {
    t.onOrder += copiesOnOrder(h);
    if (h.expectedDate && (t.expectedDate === "" || h.expectedDate < t.expectedDate))
      t.expectedDate = h.expectedDate;
    return;
  }
  t.items++;
  if (h.location && !t.locations.includes(h.location)) t.locations.push(h.location);
  if (!t.callNumber && h.callNumber) t.callNumber = h.callNumber;
  if (h.retainedUntil) {
    t.retainedItems++;
    if (h.retainedUntil > t.retainedUntil) t.retainedUntil = h.retainedUntil;
  }
}

/** The tally of some holdings. */
export function tallyOf(holdings: Iterable<HoldingData>): HoldingTally {
  const t = emptyTally();
  for (const h of holdings) tallyHolding(t, h);
  return t;
}

/**
 * Whether an institution's copies are all under a retention commitment still in force in `year`:
 * its last copies, kept for the region, which the rota asks only after other copies.
 */
export function retainedLastCopies(t: HoldingTally, year: number): boolean {
  return t.items > 0 && t.retainedItems === t.items && t.retainedUntil >= year;
}
