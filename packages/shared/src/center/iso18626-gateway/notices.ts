// Supplying agency messages the gateway itself writes for a partner: a member's refusal of a
// message the gateway had already confirmed OK (the partner must hear of it: an Unfilled for a
// refused request, a "no" to a Cancel or Renew, a Notification for anything else), and the
// broker's own messages (a new ExpectToSupply when the lender changes, Unfilled at the end of the
// rota). Pure: the caller stores what these return through the relay, in its transaction.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  Action,
  ReasonForMessage,
  ReasonUnfilled,
  Status,
  SupplyingAgencyMessageSchema,
  YesNo,
} from "../../gen/lrs/v1/ill_pb.js";
import { type IllEnvelope, IllEnvelopeSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { confirmationText } from "../../iso18626/envelope.js";
import { ISO18626_CODES } from "../../iso18626/iso18626-xml.js";

/** The internal agency id type of LRS envelopes (member-node ill/store.ts). */
const LRS_TYPE = "LRS";

export interface SupplierMessage {
  messageId: string;
  /** The LRS side: a member (transparent mode) or the national center (broker mode). */
  from: string;
  /** The external partner. */
  to: string;
  requestingAgencyRequestId: string;
  supplyingAgencyRequestId?: string;
  reason: ReasonForMessage;
  status: Status;
  note: string;
  answer?: YesNo;
  reasonUnfilled?: ReasonUnfilled;
  now: Date;
}

/** An envelope carrying one supplyingAgencyMessage from an LRS agency to a partner. */
export function supplierEnvelope(s: SupplierMessage): IllEnvelope {
  const value = create(SupplyingAgencyMessageSchema, {
    header: {
      supplyingAgencyId: { agencyIdType: LRS_TYPE, agencyIdValue: s.from },
      requestingAgencyId: { agencyIdType: LRS_TYPE, agencyIdValue: s.to },
      timestamp: timestampFromDate(s.now),
      requestingAgencyRequestId: s.requestingAgencyRequestId,
      supplyingAgencyRequestId: s.supplyingAgencyRequestId ?? "",
      messageId: s.messageId,
    },
    messageInfo: {
      reasonForMessage: s.reason,
      note: s.note,
      answerYesNo: s.answer ?? YesNo.UNSPECIFIED,
      reasonUnfilled: s.reasonUnfilled ?? ReasonUnfilled.UNSPECIFIED,
    },
    statusInfo: { status: s.status, lastChange: timestampFromDate(s.now) },
  });
  return create(IllEnvelopeSchema, {
    messageId: s.messageId,
    originAgencyId: s.from,
    destinationAgencyId: s.to,
    requestingAgencyRequestId: s.requestingAgencyRequestId,
    createdAt: timestampFromDate(s.now),
    message: { case: "supplyingAgencyMessage", value },
  });
}

/**
 * What the partner is told when the LRS side refused (confirmed ERROR) a message of the partner's
 * that the gateway had confirmed OK; undefined when `confirmation` is not such a refusal.
 * `lastStatus` is where the request stood (the last status the partner was sent).
 */
export function refusalNotice(
  confirmation: IllEnvelope,
  lastStatus: Status,
  now: Date,
  ids: { requestingAgencyRequestId?: string; supplyingAgencyRequestId?: string; from?: string } = {},
): IllEnvelope | undefined {
  const m = confirmation.message;
  if (m.case !== "requestConfirmation" && m.case !== "requestingAgencyMessageConfirmation") return undefined;
  const verdict = confirmationText(confirmation) ?? "";
  if (verdict === "OK") return undefined;
  const why = verdict.replace(/^ERROR: /, "");
  const base = {
    messageId: `${confirmation.messageId}.notice`,
    from: ids.from ?? confirmation.originAgencyId,
    to: confirmation.destinationAgencyId,
    requestingAgencyRequestId: ids.requestingAgencyRequestId ?? confirmation.requestingAgencyRequestId,
    ...(ids.supplyingAgencyRequestId ? { supplyingAgencyRequestId: ids.supplyingAgencyRequestId } : {}),
    now,
  };
  const status = lastStatus === Status.UNSPECIFIED ? Status.REQUEST_RECEIVED : lastStatus;
  if (m.case === "requestConfirmation")
    return supplierEnvelope({
      ...base,
      reason: ReasonForMessage.REQUEST_RESPONSE,
      status: Status.UNFILLED,
      note: `the request was refused: ${why}`,
    });
  const action = m.value.action;
  const name = ISO18626_CODES.action.toXml(action) ?? "the message";
  if (action === Action.CANCEL || action === Action.RENEW)
    return supplierEnvelope({
      ...base,
      reason: action === Action.CANCEL ? ReasonForMessage.CANCEL_RESPONSE : ReasonForMessage.RENEW_RESPONSE,
      status,
      answer: YesNo.N,
      note: `${name} refused: ${why}`,
    });
  return supplierEnvelope({
    ...base,
    reason: ReasonForMessage.NOTIFICATION,
    status,
    note: `${name} refused: ${why}`,
  });
}
