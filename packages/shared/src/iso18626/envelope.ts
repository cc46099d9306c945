// ISO 18626 messages in transit: the envelope a message travels in from member to member
// through the gateways, and the outbox kinds it is stored under at each hop.
import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ErrorData,
  ErrorDataSchema,
  type ErrorType,
  MessageStatus,
  type Request,
  type RequestingAgencyMessage,
  RequestingAgencyMessageSchema,
  RequestSchema,
  type SupplyingAgencyMessage,
  SupplyingAgencyMessageSchema,
} from "../gen/lrs/v1/ill_pb.js";
import { type IllEnvelope, IllEnvelopeSchema } from "../gen/lrs/v1/ill_service_pb.js";
import { VisitNoticeKind } from "../gen/lrs/v1/visit_pb.js";
import { ISO18626_CODES } from "./iso18626-xml.js";

/**
 * Outbox kinds of ILL traffic. A member's ILL store writes the bare ISO message under the first
 * three (the kind says which); a relay, and a member confirming what it received, write a whole
 * envelope.
 */
export const ILL_KINDS = {
  request: "ill.request",
  requestingAgencyMessage: "ill.requesting-agency-message",
  supplyingAgencyMessage: "ill.supplying-agency-message",
  envelope: "ill.envelope",
} as const;

export const ILL_OUTBOX_KINDS: readonly string[] = Object.values(ILL_KINDS);

/** Raised when an envelope or the message in it lacks what routing needs; names the field. */
export class EnvelopeError extends Error {
  override readonly name = "EnvelopeError";
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field} ${problem}`);
  }
}

type IsoMessage = Request | SupplyingAgencyMessage | RequestingAgencyMessage;

/**
 * The envelope of an ISO message: from the borrower to the lender for a Request or a
 * RequestingAgencyMessage, the other way for a SupplyingAgencyMessage.
 */
export function envelopeOf(message: IsoMessage, createdAt = new Date()): IllEnvelope {
  const h = message.header;
  const requester = h?.requestingAgencyId?.agencyIdValue ?? "";
  const supplier = h?.supplyingAgencyId?.agencyIdValue ?? "";
  const fromLender = message.$typeName === "lrs.v1.SupplyingAgencyMessage";
  const env = create(IllEnvelopeSchema, {
    messageId: h?.messageId ?? "",
    originAgencyId: fromLender ? supplier : requester,
    destinationAgencyId: fromLender ? requester : supplier,
    requestingAgencyRequestId: h?.requestingAgencyRequestId ?? "",
    createdAt: timestampFromDate(createdAt),
  });
  switch (message.$typeName) {
    case "lrs.v1.Request":
      env.message = { case: "request", value: message };
      break;
    case "lrs.v1.SupplyingAgencyMessage":
      env.message = { case: "supplyingAgencyMessage", value: message };
      break;
    case "lrs.v1.RequestingAgencyMessage":
      env.message = { case: "requestingAgencyMessage", value: message };
      break;
  }
  return env;
}

/** The envelope an outbox message of one of the ILL kinds stands for. */
export function envelopeFromOutbox(kind: string, payload: Uint8Array): IllEnvelope {
  switch (kind) {
    case ILL_KINDS.request:
      return envelopeOf(fromBinary(RequestSchema, payload));
    case ILL_KINDS.requestingAgencyMessage:
      return envelopeOf(fromBinary(RequestingAgencyMessageSchema, payload));
    case ILL_KINDS.supplyingAgencyMessage:
      return envelopeOf(fromBinary(SupplyingAgencyMessageSchema, payload));
    case ILL_KINDS.envelope:
      return fromBinary(IllEnvelopeSchema, payload);
    default:
      throw new Error(`"${kind}" is not an ILL outbox kind`);
  }
}

export function envelopeBytes(env: IllEnvelope): Uint8Array {
  return toBinary(IllEnvelopeSchema, env);
}

/**
 * Checks what every hop needs before it stores an envelope: ids, both agencies, a message, and
 * a message whose header agrees with the envelope. Throws EnvelopeError naming the field.
 */
export function checkEnvelope(env: IllEnvelope): void {
  if (env.messageId.trim() === "") throw new EnvelopeError("envelope.messageId", "is required");
  if (env.originAgencyId === "") throw new EnvelopeError("envelope.originAgencyId", "is required");
  if (env.destinationAgencyId === "") throw new EnvelopeError("envelope.destinationAgencyId", "is required");
  if (env.originAgencyId === env.destinationAgencyId)
    throw new EnvelopeError("envelope.destinationAgencyId", "must differ from the origin");
  const m = env.message;
  if (m.case === undefined) throw new EnvelopeError("envelope.message", "is empty");
  if (m.case === "request" || m.case === "supplyingAgencyMessage" || m.case === "requestingAgencyMessage") {
    const h = m.value.header;
    if (!h) throw new EnvelopeError(`envelope.${m.case}.header`, "is required");
    if (h.messageId !== env.messageId)
      throw new EnvelopeError(`envelope.${m.case}.header.messageId`, "differs from the envelope's");
    if (h.requestingAgencyRequestId === "")
      throw new EnvelopeError(`envelope.${m.case}.header.requestingAgencyRequestId`, "is required");
    const fromLender = m.case === "supplyingAgencyMessage";
    const origin = (fromLender ? h.supplyingAgencyId : h.requestingAgencyId)?.agencyIdValue ?? "";
    const destination = (fromLender ? h.requestingAgencyId : h.supplyingAgencyId)?.agencyIdValue ?? "";
    if (origin !== env.originAgencyId)
      throw new EnvelopeError(
        `envelope.${m.case}.header`,
        `names ${origin || "no"} sender, not ${env.originAgencyId}`,
      );
    if (destination !== env.destinationAgencyId)
      throw new EnvelopeError(
        `envelope.${m.case}.header`,
        `names ${destination || "no"} receiver, not ${env.destinationAgencyId}`,
      );
  } else if (m.case === "visitNotice") {
    if (m.value.loanId === "") throw new EnvelopeError("envelope.visitNotice.loanId", "is required");
  } else {
    const h = m.value.confirmationHeader;
    if (!h) throw new EnvelopeError(`envelope.${m.case}.confirmationHeader`, "is required");
    if (h.messageId === "")
      throw new EnvelopeError(`envelope.${m.case}.confirmationHeader.messageId`, "is required");
  }
}

/**
 * The final receiver's confirmation of `confirmed`, in an envelope back to its sender: OK, or
 * ERROR with the reasons.
 */
export function confirmationOf(
  confirmed: IllEnvelope,
  errors: ReadonlyArray<{ type: ErrorType; value: string }> = [],
  opts: { messageId?: string; receivedAt?: Date; now?: Date } = {},
): IllEnvelope {
  const m = confirmed.message;
  if (m.case !== "request" && m.case !== "supplyingAgencyMessage" && m.case !== "requestingAgencyMessage")
    throw new Error(`a ${m.case ?? "empty message"} is not confirmed`);
  const now = opts.now ?? new Date();
  const h = m.value.header;
  const confirmationHeader = {
    supplyingAgencyId: h?.supplyingAgencyId,
    requestingAgencyId: h?.requestingAgencyId,
    timestamp: timestampFromDate(now),
    requestingAgencyRequestId: h?.requestingAgencyRequestId ?? "",
    timestampReceived: timestampFromDate(opts.receivedAt ?? now),
    messageStatus: errors.length === 0 ? MessageStatus.OK : MessageStatus.ERROR,
    messageId: confirmed.messageId,
  };
  const errorData: ErrorData[] = errors.map((e) =>
    create(ErrorDataSchema, { errorType: e.type, errorValue: e.value }),
  );
  const env = create(IllEnvelopeSchema, {
    messageId: opts.messageId ?? randomUUID(),
    originAgencyId: confirmed.destinationAgencyId,
    destinationAgencyId: confirmed.originAgencyId,
    requestingAgencyRequestId: confirmed.requestingAgencyRequestId,
    createdAt: timestampFromDate(now),
  });
  if (m.case === "request")
    env.message = {
      case: "requestConfirmation",
      value: {
        $typeName: "lrs.v1.RequestConfirmation",
        confirmationHeader: { $typeName: "lrs.v1.ConfirmationHeader", ...confirmationHeader },
        errorData,
      },
    };
  else if (m.case === "supplyingAgencyMessage")
    env.message = {
      case: "supplyingAgencyMessageConfirmation",
      value: {
        $typeName: "lrs.v1.SupplyingAgencyMessageConfirmation",
        confirmationHeader: { $typeName: "lrs.v1.ConfirmationHeader", ...confirmationHeader },
        reasonForMessage: m.value.messageInfo?.reasonForMessage ?? 0,
        errorData,
      },
    };
  else
    env.message = {
      case: "requestingAgencyMessageConfirmation",
      value: {
        $typeName: "lrs.v1.RequestingAgencyMessageConfirmation",
        confirmationHeader: { $typeName: "lrs.v1.ConfirmationHeader", ...confirmationHeader },
        action: m.value.action,
        errorData,
      },
    };
  return env;
}

/** The message an envelope confirms, when it is a confirmation. */
export function confirmedMessageId(env: IllEnvelope): string | undefined {
  const m = env.message;
  if (
    m.case === "requestConfirmation" ||
    m.case === "supplyingAgencyMessageConfirmation" ||
    m.case === "requestingAgencyMessageConfirmation"
  )
    return m.value.confirmationHeader?.messageId;
  return undefined;
}

/** "OK", or "ERROR: <ISO error type>: <value>; …" for a confirmation. */
export function confirmationText(env: IllEnvelope): string | undefined {
  const m = env.message;
  if (
    m.case !== "requestConfirmation" &&
    m.case !== "supplyingAgencyMessageConfirmation" &&
    m.case !== "requestingAgencyMessageConfirmation"
  )
    return undefined;
  if (m.value.confirmationHeader?.messageStatus !== MessageStatus.ERROR) return "OK";
  const reasons = m.value.errorData.map(
    (e) => `${ISO18626_CODES.errorType.toXml(e.errorType) ?? "Error"}: ${e.errorValue}`,
  );
  return `ERROR: ${reasons.join("; ") || "refused"}`;
}

/**
 * What an envelope carries, for logs and traces: "Request", "SupplyingAgencyMessage WillSupply",
 * "SupplyingAgencyMessage RenewResponse Y", "RequestingAgencyMessage Received",
 * "RequestConfirmation OK".
 */
export function describeEnvelope(env: IllEnvelope): string {
  const m = env.message;
  switch (m.case) {
    case "request": {
      const retry = m.value.serviceInfo?.requestType === 2 ? " Retry" : "";
      return `Request${retry}`;
    }
    case "supplyingAgencyMessage": {
      const info = m.value.messageInfo;
      const status = ISO18626_CODES.status.toXml(m.value.statusInfo?.status ?? 0);
      const reason = ISO18626_CODES.reasonForMessage.toXml(info?.reasonForMessage ?? 0);
      const answer = ISO18626_CODES.yesNo.toXml(info?.answerYesNo ?? 0);
      if (reason === "RenewResponse" || reason === "CancelResponse")
        return `SupplyingAgencyMessage ${reason}${answer ? ` ${answer}` : ""}`;
      if (reason === "Notification") return "SupplyingAgencyMessage Notification";
      return `SupplyingAgencyMessage ${status ?? reason ?? "?"}`;
    }
    case "requestingAgencyMessage":
      return `RequestingAgencyMessage ${ISO18626_CODES.action.toXml(m.value.action) ?? "?"}`;
    case "requestConfirmation":
    case "supplyingAgencyMessageConfirmation":
    case "requestingAgencyMessageConfirmation": {
      const name = m.case[0]!.toUpperCase() + m.case.slice(1);
      return `${name} ${confirmationText(env)?.startsWith("OK") ? "OK" : "ERROR"}`;
    }
    case "visitNotice":
      return `VisitNotice ${VisitNoticeKind[m.value.kind] ?? "?"}`;
    default:
      return "empty";
  }
}
