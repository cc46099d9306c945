// The messages the gateway writes on its own, one of each, for notices.test.ts and the xmllint test.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Action,
  ErrorType,
  ReasonForMessage,
  RequestingAgencyMessageSchema,
  RequestSchema,
  Status,
} from "../../gen/lrs/v1/ill_pb.js";
import type { IllEnvelope } from "../../gen/lrs/v1/ill_service_pb.js";
import { IllEnvelopeSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { confirmationOf } from "../../iso18626/envelope.js";
import { refusalNotice, supplierEnvelope } from "./notices.js";

export const NOW = new Date("2026-12-05T10:00:00Z");

/** A partner's message to member north-b, as the gateway hands it on. */
export function fromPartner(action?: Action): IllEnvelope {
  const header = {
    supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "north-b" },
    requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "princeton" },
    timestamp: timestampFromDate(NOW),
    requestingAgencyRequestId: "P-1",
    messageId: "iso18626-abc",
  };
  return create(IllEnvelopeSchema, {
    messageId: "iso18626-abc",
    originAgencyId: "princeton",
    destinationAgencyId: "north-b",
    requestingAgencyRequestId: "P-1",
    message:
      action === undefined
        ? { case: "request", value: create(RequestSchema, { header }) }
        : {
            case: "requestingAgencyMessage",
            value: create(RequestingAgencyMessageSchema, { header, action }),
          },
  });
}

/** The member's refusal (an ERROR confirmation) of a partner's message. */
export function refused(action?: Action): IllEnvelope {
  return confirmationOf(
    fromPartner(action),
    [{ type: ErrorType.UNSUPPORTED_ACTION_TYPE, value: "not in this state" }],
    { messageId: "c-1", now: NOW },
  );
}

/** Every kind of message the gateway writes itself: the broker's and the refusal notices. */
export function ownMessages(): IllEnvelope[] {
  const broker = (reason: ReasonForMessage, status: Status) =>
    supplierEnvelope({
      messageId: `b-${reason}-${status}`,
      from: "nat",
      to: "princeton",
      requestingAgencyRequestId: "P-1",
      supplyingAgencyRequestId: "lrs-0123456789abcdef",
      reason,
      status,
      note: "another library of the federation has been asked to supply it",
      now: NOW,
    });
  return [
    broker(ReasonForMessage.STATUS_CHANGE, Status.EXPECT_TO_SUPPLY),
    broker(ReasonForMessage.REQUEST_RESPONSE, Status.UNFILLED),
    broker(ReasonForMessage.CANCEL_RESPONSE, Status.CANCELLED),
    broker(ReasonForMessage.STATUS_REQUEST_RESPONSE, Status.REQUEST_RECEIVED),
    ...[undefined, Action.CANCEL, Action.RENEW, Action.RECEIVED].map(
      (a) => refusalNotice(refused(a), Status.LOANED, NOW)!,
    ),
  ];
}
