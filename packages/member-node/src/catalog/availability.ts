import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type HoldingData, isIsoDate, type LendingPolicyConfig, searchPb } from "@lrs/shared";
import type { MemberCatalog } from "../store/catalog.js";

const { Availability } = searchPb;
type InstitutionAvailability = searchPb.InstitutionAvailability;

/** Loan rules that never leave the building. */
const NON_CIRCULATING_RULES = new Set(["non_circulating", "reference", "noncirc", "library_use_only"]);
/** Item statuses that mean the copy is out. */
const ON_LOAN = new Set(["on_loan", "checked_out", "loaned", "overdue"]);
/** Item statuses that mean the copy cannot be had at all. */
const GONE = new Set(["missing", "lost", "withdrawn", "damaged", "on_order", "in_repair", "not_available"]);

/** A due date (YYYY-MM-DD, the library's day) as a Timestamp: that day's midnight UTC. */
function dueTimestamp(dueDate: string | undefined): Timestamp | undefined {
  return dueDate && isIsoDate(dueDate) ? timestampFromDate(new Date(`${dueDate}T00:00:00Z`)) : undefined;
}

/** A copy's status as the ILS gave it just now (NCIP LookupItem), instead of the stored one. */
export interface LiveStatus {
  readonly status: string;
  readonly dueDate?: string;
  /** Why the ILS could not say (an NCIP Problem), shown as the copy's reason. */
  readonly why?: string;
}

/**
 * Whether this library can lend what it holds of some records, judged as its
 * lending policy says: items in non-circulating locations or with a
 * non-circulating loan rule never go out; with "lend only with more than one
 * copy", the last available copy stays; a library that does not lend items
 * lends none. Copies on loan say when they are due back, where the catalog
 * knows; when every lendable copy is out, the institution is on loan until
 * the earliest of those dates.
 */
export function availabilityOf(
  catalog: MemberCatalog,
  institutionId: string,
  recordIds: readonly string[],
  policy: LendingPolicyConfig,
  live?: ReadonlyMap<string, LiveStatus>,
): InstitutionAvailability {
  const items: HoldingData[] = [];
  let found = 0;
  for (const id of recordIds) {
    const rec = catalog.get(id);
    if (!rec) continue;
    found++;
    for (const h of rec.holdings) {
      const l = live?.get(h.barcode);
      if (!l) items.push(h);
      else {
        const { dueDate: _stored, ...rest } = h;
        items.push({ ...rest, status: l.status, ...(l.dueDate ? { dueDate: l.dueDate } : {}) });
      }
    }
  }
  const result = create(searchPb.InstitutionAvailabilitySchema, { institutionId });
  if (found === 0) {
    result.state = Availability.UNKNOWN;
    result.reason = `no record ${recordIds.join(", ")} in this catalog`;
    return result;
  }
  const nonCircLocations = new Set(policy.non_circulating_locations.map((l) => l.toLowerCase()));
  const lendableCopies = items.filter(
    (h) =>
      !NON_CIRCULATING_RULES.has(h.loanRule.toLowerCase()) && !nonCircLocations.has(h.location.toLowerCase()),
  );
  const availableCopies = lendableCopies.filter(
    (h) => !ON_LOAN.has(h.status.toLowerCase()) && !GONE.has(h.status.toLowerCase()),
  );
  for (const h of items) {
    const status = h.status.toLowerCase();
    const nonCirc =
      NON_CIRCULATING_RULES.has(h.loanRule.toLowerCase()) || nonCircLocations.has(h.location.toLowerCase());
    const state =
      nonCirc || GONE.has(status)
        ? Availability.NOT_LENDABLE
        : ON_LOAN.has(status)
          ? Availability.ON_LOAN
          : Availability.AVAILABLE;
    result.items.push(
      create(searchPb.ItemAvailabilitySchema, {
        barcode: h.barcode,
        callNumber: h.callNumber,
        location: h.location,
        state,
        reason: nonCirc ? "non-circulating" : GONE.has(status) ? (live?.get(h.barcode)?.why ?? status) : "",
        due: state === Availability.ON_LOAN ? dueTimestamp(h.dueDate) : undefined,
      }),
    );
  }
  if (!policy.lends_items) {
    result.state = Availability.NOT_LENDABLE;
    result.reason = "policy: this library does not lend items to other libraries";
  } else if (items.length === 0) {
    result.state = Availability.NOT_LENDABLE;
    result.reason = "no items recorded for this title";
  } else if (lendableCopies.length === 0) {
    result.state = Availability.NOT_LENDABLE;
    result.reason = "non-circulating: every copy is for use in the library only";
  } else if (availableCopies.length === 0) {
    result.state = lendableCopies.some((h) => ON_LOAN.has(h.status.toLowerCase()))
      ? Availability.ON_LOAN
      : Availability.NOT_LENDABLE;
    if (result.state === Availability.ON_LOAN) {
      // The first known return: copies on loan without a due date cannot say.
      const firstDue = lendableCopies
        .filter((h) => ON_LOAN.has(h.status.toLowerCase()) && h.dueDate && isIsoDate(h.dueDate))
        .map((h) => h.dueDate!)
        .sort()[0];
      result.reason = firstDue
        ? `every lendable copy is on loan; first due back ${firstDue}`
        : "every lendable copy is on loan";
      result.onLoanUntil = dueTimestamp(firstDue);
    } else {
      result.reason = "no lendable copy is on the shelf";
    }
  } else if (policy.lend_only_if_multiple_copies && availableCopies.length < 2) {
    result.state = Availability.NOT_LENDABLE;
    result.reason = "last copy: this library lends a title only while it has more than one copy on the shelf";
  } else {
    result.state = Availability.AVAILABLE;
    result.reason = `${availableCopies.length} of ${items.length} copies on the shelf`;
  }
  return result;
}
