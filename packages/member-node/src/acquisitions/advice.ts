/**
 * The rule behind `lrs-member acquire check`: given who holds a title and who has it on order, in
 * the region and in the nation, how often it was asked for through ILL and (when the holders say)
 * how many of their copies are on loan now, whether this library should buy it or borrow it when a
 * reader needs it. Pure: check-title.ts gathers the facts. The advice says so when it does not
 * know the holders' circulation, and counts demand from the day counting began when that is less
 * than a year ago.
 *
 * The thresholds follow what cooperative collection development agreements usually say: a title
 * the region already holds is borrowed unless demand outgrows the copies there; a title nobody in
 * the nation holds is bought once readers have asked for it; a library's own readers asking again
 * and again is a reason to buy whatever others hold.
 */

export type Verdict = "buy" | "borrow" | "held" | "ordered" | "consider";

export interface TitleFacts {
  /** Copies this library holds, and has on order. */
  ownCopies: number;
  ownOnOrder: number;
  /** Copies held in this library's region by other libraries, and on order there. */
  regionCopies: number;
  regionOnOrder: number;
  /** Copies held in the other regions, and on order there. */
  otherRegionCopies: number;
  otherRegionOnOrder: number;
  /** ILL requests for the title in the last year, across the federation and by this library's readers. */
  illRequests: number;
  ownIllRequests: number;
  /**
   * The day ILL demand began to be counted (YYYY-MM-DD), when that is less than a year ago: the
   * requests are then those since that day, not of a whole year.
   */
  illCountedSince?: string;
  /**
   * The other libraries' copies on loan now, in the region and elsewhere, as their live
   * availability says; undefined when some holder did not say (circulation unknown).
   */
  regionOnLoan?: number;
  otherRegionOnLoan?: number;
}

export interface Advice {
  verdict: Verdict;
  /** One line: the facts that decided, then the verdict ("3 copies in the region, …: borrow, don't buy"). */
  summary: string;
  /** Each fact that counted, in words. */
  reasons: string[];
}

/** Requests by this library's own readers in a year at which it buys, whoever else holds the title. */
export const OWN_DEMAND_TO_BUY = 3;
/** Requests in a year per copy in the region above which the region's copies are not enough. */
export const REQUESTS_PER_REGION_COPY = 6;
/** When every copy in the region is on loan now, the region's copies meet half the demand they otherwise would. */
export const BUSY_COPY_FACTOR = 2;
/** Requests in a year for a title held only in other regions at which one copy in the region pays. */
export const REQUESTS_TO_BUY_FROM_AFAR = 6;

function n(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

const VERDICT_TEXT: Record<Verdict, string> = {
  buy: "buy",
  borrow: "borrow, don't buy",
  held: "already held here",
  ordered: "already on order here",
  consider: "buy only if it fits the collection",
};

/** The advice for a title. */
export function adviseAcquisition(f: TitleFacts): Advice {
  const nation = f.regionCopies + f.otherRegionCopies;
  const nationOnOrder = f.regionOnOrder + f.otherRegionOnOrder;
  const requests = f.illCountedSince
    ? `${n(f.illRequests, "ILL request")} since ${f.illCountedSince} (when counting began)`
    : `${n(f.illRequests, "ILL request")} last year`;
  const known = f.regionOnLoan !== undefined && f.otherRegionOnLoan !== undefined;
  const onLoan = (copies: number, out: number | undefined) =>
    copies > 0 && out !== undefined && known ? ` (${out} on loan now)` : "";
  const reasons: string[] = [];
  const facts: string[] = [];
  if (f.ownCopies > 0) reasons.push(`this library holds ${n(f.ownCopies, "copy", "copies")}`);
  if (f.ownOnOrder > 0) reasons.push(`this library has ${n(f.ownOnOrder, "copy", "copies")} on order`);
  if (nation === 0 && nationOnOrder === 0) facts.push("no copy in the nation");
  else {
    facts.push(
      `${n(f.regionCopies, "copy", "copies")} in the region${onLoan(f.regionCopies, f.regionOnLoan)}`,
    );
    if (f.regionOnOrder > 0) facts.push(`${f.regionOnOrder} on order`);
    if (f.otherRegionCopies > 0 || f.otherRegionOnOrder > 0)
      facts.push(
        `${n(f.otherRegionCopies, "copy", "copies")} in other regions${onLoan(f.otherRegionCopies, f.otherRegionOnLoan)}${f.otherRegionOnOrder > 0 ? ` (${f.otherRegionOnOrder} on order)` : ""}`,
      );
    if (nation > 0 && !known) facts.push("their circulation unknown");
  }
  facts.push(requests);
  if (f.ownIllRequests > 0) facts.push(`${f.ownIllRequests} by this library's readers`);
  reasons.push(...facts);

  let verdict: Verdict;
  const inRegion = f.regionCopies + f.regionOnOrder;
  if (f.ownCopies > 0) verdict = "held";
  else if (f.ownOnOrder > 0) verdict = "ordered";
  else if (f.ownIllRequests >= OWN_DEMAND_TO_BUY) {
    verdict = "buy";
    reasons.push(
      `this library's readers asked ${f.ownIllRequests} times (${OWN_DEMAND_TO_BUY} or more: buy)`,
    );
  } else if (nation === 0 && nationOnOrder === 0) {
    verdict = f.illRequests > 0 ? "buy" : "consider";
    if (f.illRequests > 0) reasons.push("nobody in the federation can lend it");
  } else if (inRegion > 0) {
    const perCopy = f.illRequests / inRegion;
    // Copies all out now serve fewer readers than their number says.
    const busy = known && f.regionCopies > 0 && (f.regionOnLoan ?? 0) >= f.regionCopies;
    const limit = busy ? REQUESTS_PER_REGION_COPY / BUSY_COPY_FACTOR : REQUESTS_PER_REGION_COPY;
    if (perCopy > limit) {
      verdict = "buy";
      reasons.push(
        busy
          ? `every copy in the region is on loan now, and more than ${limit} requests a year per copy`
          : `more than ${limit} requests a year per copy in the region`,
      );
    } else verdict = "borrow";
  } else if (f.illRequests >= REQUESTS_TO_BUY_FROM_AFAR) {
    verdict = "buy";
    reasons.push(`held only in other regions, and asked for ${REQUESTS_TO_BUY_FROM_AFAR} or more times`);
  } else verdict = "borrow";
  const lead = verdict === "held" || verdict === "ordered" ? [reasons[0]!, ...facts] : facts;
  return { verdict, summary: `${lead.join(", ")}: ${VERDICT_TEXT[verdict]}`, reasons };
}
