// Which ILL transitions reach the ILS over NCIP, as ReShare links its requests to the host LMS:
// lending, LookupItem when we say we will supply (a copy is checked before it is shipped),
// CheckOutItem to the borrowing library's patron record when the loan ships, CheckInItem when it
// is checked in; borrowing, AcceptItem (a temporary item and a hold for the patron) when the loan
// arrives, CheckInItem and DeleteItem when it goes back (or the loan ends without a return). The
// hook runs inside the transition's transaction and only queues the calls (queue.ts).
import { illPb, type NcipMessageName } from "@lrs/shared";
import type { TransitionChange } from "../ill/request.js";
import type { NcipQueue } from "./queue.js";

/** The calls a transition asks for, in order (before `[ncip] messages` leaves any out). */
export function ncipCallsOf(change: TransitionChange): NcipMessageName[] {
  const { request, from, to, event } = change;
  if (request.serviceType !== illPb.ServiceType.LOAN) return [];
  const effects = change.entry.detail.effects ?? [];
  if (request.role === "lender") {
    if (to === "will_supply" && from !== "will_supply" && from !== "cancel_requested") return ["LookupItem"];
    if (effects.includes("check_out_item")) return ["CheckOutItem"];
    if (effects.includes("check_in_item")) return ["CheckInItem"];
    return [];
  }
  if (event === "receive" && to === "received") return ["AcceptItem"];
  if (event === "return" && to === "returned") return ["CheckInItem", "DeleteItem"];
  // Ended without our return (the lender checked it in at its desk, or it was lost and paid for).
  const ended = to === "completed" || to === "completed_without_return";
  if (ended && from !== "returned" && from !== "shipped" && effects.includes("close_request"))
    return ["CheckInItem", "DeleteItem"];
  return [];
}

/** The store's onTransition hook that queues a transition's NCIP calls. */
export function ncipTransitionHook(
  queue: NcipQueue,
  uses: (service: NcipMessageName) => boolean,
): (change: TransitionChange) => void {
  return (change) => {
    // The copy staff named when shipping is the one checked out (and later checked in).
    const barcode = change.entry.detail.itemBarcode;
    if (barcode && change.request.role === "lender") queue.setItem(change.request.id, barcode);
    for (const service of ncipCallsOf(change))
      if (uses(service)) queue.enqueue(change.request.id, service, change.entry.at);
  };
}
