// What each queued NCIP call does for its ILL request: the message built from the request as it
// is now (its partner, patron, due date, the copy chosen), sent, and the answer turned into what
// staff read on the request's timeline. A Problem the ILS will keep answering (Unknown User, Item
// Does Not Circulate) ends the call; one that may pass (Temporary Processing Failure), like an
// ILS that cannot be reached, is thrown for the runner to try again.
import type { NcipMessageName } from "@lrs/shared";
import type { IllRequest } from "../ill/request.js";
import type { MemberCatalog } from "../store/catalog.js";
import type { NcipClient } from "./client.js";
import {
  describeProblem,
  isTemporaryProblem,
  itemStatusOf,
  type NcipAnswer,
  type NcipProblem,
} from "./messages.js";
import type { NcipQueue } from "./queue.js";

export interface NcipCallContext {
  readonly client: NcipClient;
  readonly queue: NcipQueue;
  readonly catalog: MemberCatalog;
  readonly signal?: AbortSignal;
}

/** How a call ended (a failure that may pass is thrown instead). */
export interface NcipCallResult {
  /** "done": the ILS did it; "refused": it answered a Problem that will not pass; "skipped": nothing to do. */
  readonly outcome: "done" | "refused" | "skipped";
  /** For the request's timeline. */
  readonly note: string;
  /** Set when staff should look (the ILS refused; LookupItem found no copy on the shelf). */
  readonly attention?: string;
}

/** The ILS answered a Problem that may pass if asked again. */
export class NcipTemporaryProblem extends Error {
  override readonly name = "NcipTemporaryProblem";
}

function refusedOrRetry(service: NcipMessageName, problems: readonly NcipProblem[]): NcipCallResult {
  const text = problems.map(describeProblem).join("; ");
  if (problems.every(isTemporaryProblem))
    throw new NcipTemporaryProblem(`the ILS answered ${service}: ${text}`);
  return {
    outcome: "refused",
    note: `ILS refused ${service}: ${text}`,
    attention: `ILS refused ${service}: ${text} (do it in the ILS by hand, or fix it there and run lrs-member ncip retry)`,
  };
}

/** The ILS's id for the request: the ISO 18626 request id both libraries know, else ours. */
const requestKey = (r: IllRequest) => r.requestingAgencyRequestId ?? r.id;

/** A temporary item's barcode at the borrower's ILS: short enough for Koha (20) and Evergreen. */
export const temporaryBarcode = (r: IllRequest) =>
  `ILL-${r.id.replaceAll("-", "").slice(0, 12).toUpperCase()}`;

/** The copies this lender holds of the requested record, as its catalog knows them. */
function candidates(ctx: NcipCallContext, r: IllRequest): string[] {
  const record = r.recordId ? ctx.catalog.get(r.recordId) : undefined;
  return (record?.holdings ?? []).map((h) => h.barcode).filter((b) => b !== "");
}

/** LookupItem over the record's copies until one is on the shelf; that one is shipped. */
async function lookupItem(ctx: NcipCallContext, r: IllRequest): Promise<NcipCallResult> {
  const barcodes = candidates(ctx, r);
  if (barcodes.length === 0)
    return {
      outcome: "skipped",
      note: `LookupItem: no copy of record ${r.recordId ?? "(none named)"} in the catalog to look up`,
    };
  const seen: string[] = [];
  for (const barcode of barcodes) {
    const a = await ctx.client.send({ service: "LookupItem", input: { barcode } }, ctx.signal);
    if (a.problems.length > 0) {
      if (a.problems.every(isTemporaryProblem)) return refusedOrRetry("LookupItem", a.problems);
      seen.push(`${barcode}: ${a.problems.map(describeProblem).join("; ")}`);
      continue;
    }
    const status = itemStatusOf(a.circulationStatus);
    if (status === "available") {
      ctx.queue.setItem(r.id, barcode);
      return {
        outcome: "done",
        note: `ILS: item ${barcode} is ${a.circulationStatus}${a.location ? ` at ${a.location}` : ""}: ship this copy`,
      };
    }
    seen.push(`${barcode}: ${a.circulationStatus ?? "no status"}`);
  }
  const text = `ILS: no copy is on the shelf (${seen.join("; ")})`;
  return { outcome: "done", note: text, attention: `${text}; check before shipping` };
}

async function checkOutItem(ctx: NcipCallContext, r: IllRequest): Promise<NcipCallResult> {
  const barcode = ctx.queue.item(r.id)?.barcode ?? candidates(ctx, r)[0];
  if (!barcode)
    return {
      outcome: "refused",
      note: "ILS (NCIP): CheckOutItem has no copy of the record in the catalog to check out",
      attention: "ILS (NCIP): CheckOutItem has no copy in the catalog; check the loan out in the ILS by hand",
    };
  const userId = ctx.client.borrowingLibraryPatron(r.partner ?? "");
  const a = await ctx.client.send(
    {
      service: "CheckOutItem",
      input: { userId, barcode, requestId: requestKey(r), ...(r.dueDate ? { dueDate: r.dueDate } : {}) },
    },
    ctx.signal,
  );
  if (a.problems.length > 0) return refusedOrRetry("CheckOutItem", a.problems);
  ctx.queue.setItem(r.id, barcode);
  return {
    outcome: "done",
    note: `ILS: item ${barcode} checked out to ${userId}${a.dateDue ? `, due ${a.dateDue.toISOString().slice(0, 10)}` : ""}`,
  };
}

async function acceptItem(ctx: NcipCallContext, r: IllRequest): Promise<NcipCallResult> {
  const barcode = ctx.queue.item(r.id)?.barcode ?? temporaryBarcode(r);
  // Kept before the call: a CheckInItem queued after it knows the item even if the answer is lost.
  ctx.queue.setItem(r.id, barcode);
  const pickup = ctx.client.pickupLocation;
  const a = await ctx.client.send(
    {
      service: "AcceptItem",
      input: {
        requestId: requestKey(r),
        userId: r.patronId ?? "",
        barcode,
        title: r.bibliographicInfo.title,
        author: r.bibliographicInfo.author,
        ...(r.dueDate ? { dateForReturn: r.dueDate } : {}),
        ...(pickup ? { pickupLocation: pickup } : {}),
      },
    },
    ctx.signal,
  );
  if (a.problems.length > 0) return refusedOrRetry("AcceptItem", a.problems);
  const ilsId = ilsItemId(a, barcode);
  ctx.queue.setItem(r.id, barcode, ilsId);
  return {
    outcome: "done",
    note: `ILS: temporary item ${ilsId ?? barcode} made and held for patron ${r.patronId ?? ""}${pickup ? ` at ${pickup}` : ""}`,
  };
}

/** The ILS's own id of the temporary item, when it chose one. */
function ilsItemId(a: NcipAnswer, barcode: string): string | undefined {
  return a.itemId && a.itemId !== barcode ? a.itemId : undefined;
}

async function checkInItem(ctx: NcipCallContext, r: IllRequest): Promise<NcipCallResult> {
  const item = ctx.queue.item(r.id);
  const barcode =
    item?.ilsItemId ?? item?.barcode ?? (r.role === "lender" ? candidates(ctx, r)[0] : undefined);
  if (!barcode)
    return { outcome: "skipped", note: "CheckInItem: the ILS never had an item for this request" };
  const a = await ctx.client.send({ service: "CheckInItem", input: { barcode } }, ctx.signal);
  if (a.problems.length > 0) return refusedOrRetry("CheckInItem", a.problems);
  return { outcome: "done", note: `ILS: item ${barcode} checked in` };
}

async function deleteItem(ctx: NcipCallContext, r: IllRequest): Promise<NcipCallResult> {
  const item = ctx.queue.item(r.id);
  if (!item)
    return { outcome: "skipped", note: "DeleteItem: the ILS never had a temporary item for this request" };
  const barcode = item.ilsItemId ?? item.barcode;
  const a = await ctx.client.send({ service: "DeleteItem", input: { barcode } }, ctx.signal);
  if (a.problems.length > 0) return refusedOrRetry("DeleteItem", a.problems);
  return { outcome: "done", note: `ILS: temporary item ${barcode} deleted` };
}

/**
 * Makes one call for a request.
 *
 * @throws NcipUnavailableError, NcipResponseError or NcipTemporaryProblem when it may work later
 */
export function performCall(
  ctx: NcipCallContext,
  service: NcipMessageName,
  request: IllRequest,
): Promise<NcipCallResult> {
  switch (service) {
    case "LookupItem":
      return lookupItem(ctx, request);
    case "CheckOutItem":
      return checkOutItem(ctx, request);
    case "CheckInItem":
      return checkInItem(ctx, request);
    case "AcceptItem":
      return acceptItem(ctx, request);
    case "DeleteItem":
      return deleteItem(ctx, request);
  }
}
