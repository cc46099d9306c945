import { illPb } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { describe, expect, it } from "vitest";
import type { IllRequest, TransitionChange } from "../ill/request.js";
import { memberMigrations } from "../store/migrations.js";
import { ncipCallsOf, ncipTransitionHook } from "./hooks.js";
import { NcipQueue } from "./queue.js";

function change(
  role: "lender" | "borrower",
  from: string,
  to: string,
  event: string,
  effects: string[] = [],
  serviceType = illPb.ServiceType.LOAN,
  itemBarcode?: string,
): TransitionChange {
  const request = { id: "r1", role, serviceType } as unknown as IllRequest;
  return {
    request,
    from: from as TransitionChange["from"],
    to: to as TransitionChange["to"],
    event,
    entry: {
      seq: 1,
      from: undefined,
      to: to as TransitionChange["to"],
      event,
      at: new Date(),
      detail: { effects, ...(itemBarcode ? { itemBarcode } : {}) },
    },
  };
}

describe("which ILL transitions reach the ILS", () => {
  it("lending: LookupItem on will supply, CheckOutItem on ship, CheckInItem on check-in", () => {
    expect(ncipCallsOf(change("lender", "new", "will_supply", "respond_yes"))).toEqual(["LookupItem"]);
    expect(ncipCallsOf(change("lender", "conditional", "will_supply", "conditions_accepted"))).toEqual([
      "LookupItem",
    ]);
    // A refused cancel goes back to will supply: the copy was looked up already.
    expect(ncipCallsOf(change("lender", "cancel_requested", "will_supply", "refuse_cancel"))).toEqual([]);
    expect(
      ncipCallsOf(change("lender", "pick", "shipped", "ship", ["check_out_item", "send_loaned"])),
    ).toEqual(["CheckOutItem"]);
    expect(
      ncipCallsOf(
        change("lender", "returned", "completed", "check_in", ["check_in_item", "send_loan_completed"]),
      ),
    ).toEqual(["CheckInItem"]);
  });

  it("borrowing: AcceptItem when it arrives, CheckInItem and DeleteItem when it goes back or the loan ends", () => {
    expect(ncipCallsOf(change("borrower", "shipped", "received", "receive"))).toEqual(["AcceptItem"]);
    expect(ncipCallsOf(change("borrower", "received", "returned", "return"))).toEqual([
      "CheckInItem",
      "DeleteItem",
    ]);
    expect(
      ncipCallsOf(
        change("borrower", "received", "completed", "loan_completed", [
          "stop_due_date_timer",
          "close_request",
        ]),
      ),
    ).toEqual(["CheckInItem", "DeleteItem"]);
    // Returned already: its check-in was queued by the return.
    expect(
      ncipCallsOf(change("borrower", "returned", "completed", "loan_completed", ["close_request"])),
    ).toEqual([]);
  });

  it("copies never reach the ILS", () => {
    expect(
      ncipCallsOf(change("lender", "new", "will_supply", "respond_yes", [], illPb.ServiceType.COPY)),
    ).toEqual([]);
  });

  it("checks out the copy staff named when shipping (ship --barcode)", () => {
    const queue = new NcipQueue(memoryDatabase(memberMigrations));
    const hook = ncipTransitionHook(queue, () => true);
    hook(
      change("lender", "pick", "shipped", "ship", ["check_out_item"], illPb.ServiceType.LOAN, "NA-000042"),
    );
    expect(queue.item("r1")).toEqual({ barcode: "NA-000042" });
    expect(queue.forRequest("r1").map((c) => c.service)).toEqual(["CheckOutItem"]);
  });
});
