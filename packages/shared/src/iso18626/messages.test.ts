import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  Action,
  ReasonForMessage,
  RequestingAgencyMessageSchema,
  RequestSchema,
  RequestType,
  Status,
  SupplyingAgencyMessageSchema,
  YesNo,
} from "../gen/lrs/v1/ill_pb.js";
import {
  REQUESTER_MESSAGES,
  repeatsRequesterStatus,
  requesterEventOf,
  SUPPLIER_MESSAGES,
  supplierEventOf,
  supplierEventOfRequest,
} from "./messages.js";
import { requesterMachine } from "./requester-machine.js";
import { supplierMachine } from "./supplier-machine.js";

function lenderMessage(spec: {
  status?: Status;
  reasonForMessage?: ReasonForMessage;
  answerYesNo?: YesNo;
  reasonRetry?: number;
}) {
  return create(SupplyingAgencyMessageSchema, {
    messageInfo: {
      reasonForMessage: spec.reasonForMessage ?? ReasonForMessage.STATUS_CHANGE,
      answerYesNo: spec.answerYesNo ?? YesNo.UNSPECIFIED,
      reasonRetry: spec.reasonRetry ?? 0,
    },
    statusInfo: { status: spec.status ?? Status.LOANED },
  });
}

describe("the wire between the machines", () => {
  it("gives every sending effect of either machine a message (but the status answer)", () => {
    const requesterSends = Object.keys(requesterMachine.effects).filter((e) => e.startsWith("send_"));
    const supplierSends = Object.keys(supplierMachine.effects).filter((e) => e.startsWith("send_"));
    expect(new Set(Object.keys(REQUESTER_MESSAGES))).toEqual(new Set(requesterSends));
    expect(new Set([...Object.keys(SUPPLIER_MESSAGES), "send_status"])).toEqual(new Set(supplierSends));
  });

  it("classifies each lender message as the requester event it is sent for", () => {
    for (const [effect, spec] of Object.entries(SUPPLIER_MESSAGES)) {
      expect(requesterEventOf(lenderMessage(spec)), effect).toBe(spec.requesterEvent);
      // A first answer is a RequestResponse rather than a StatusChange: same event.
      if (spec.reasonForMessage === undefined)
        expect(
          requesterEventOf(lenderMessage({ ...spec, reasonForMessage: ReasonForMessage.REQUEST_RESPONSE })),
        ).toBe(spec.requesterEvent);
    }
  });

  it("classifies each borrower message as the supplier event it is sent for", () => {
    for (const [effect, spec] of Object.entries(REQUESTER_MESSAGES)) {
      if (spec.action !== undefined)
        expect(supplierEventOf(create(RequestingAgencyMessageSchema, { action: spec.action })), effect).toBe(
          spec.supplierEvent,
        );
      if (spec.requestType !== undefined)
        expect(
          supplierEventOfRequest(create(RequestSchema, { serviceInfo: { requestType: spec.requestType } })),
          effect,
        ).toBe(spec.supplierEvent);
    }
  });

  it("leaves what the machines do not handle to an ERROR confirmation", () => {
    for (const action of [Action.SHIPPED_FORWARD, Action.HOLD_RETURN, Action.LOST, Action.UNSPECIFIED])
      expect(supplierEventOf(create(RequestingAgencyMessageSchema, { action }))).toBeUndefined();
    expect(requesterEventOf(lenderMessage({ status: Status.HOLD_RETURN }))).toBeUndefined();
    expect(requesterEventOf(lenderMessage({ status: Status.UNSPECIFIED }))).toBeUndefined();
    expect(requesterEventOf(create(SupplyingAgencyMessageSchema, {}))).toBeUndefined();
    expect(
      requesterEventOf(lenderMessage({ reasonForMessage: ReasonForMessage.CANCEL_RESPONSE })),
      "a cancel answer without yes or no",
    ).toBeUndefined();
    expect(
      supplierEventOfRequest(create(RequestSchema, { serviceInfo: { requestType: RequestType.NEW } })),
    ).toBe(undefined);
  });

  it("reads the lender's own Cancelled as unfilled, and notes as notifications", () => {
    expect(requesterEventOf(lenderMessage({ status: Status.CANCELLED }))).toBe("unfilled");
    expect(requesterEventOf(lenderMessage({ reasonForMessage: ReasonForMessage.NOTIFICATION }))).toBe(
      "notification",
    );
    expect(supplierEventOf(create(RequestingAgencyMessageSchema, { action: Action.NOTIFICATION }))).toBe(
      "notification",
    );
  });

  it("tells a repeated status from a change", () => {
    const overdue = lenderMessage({ status: Status.OVERDUE });
    expect(repeatsRequesterStatus("overdue", overdue)).toBe(true);
    expect(repeatsRequesterStatus("received", overdue)).toBe(false);
    const answer = lenderMessage({
      status: Status.LOANED,
      reasonForMessage: ReasonForMessage.RENEW_RESPONSE,
    });
    expect(repeatsRequesterStatus("received", answer)).toBe(false);
    expect(repeatsRequesterStatus("received", lenderMessage({ status: Status.LOANED }))).toBe(true);
  });
});
