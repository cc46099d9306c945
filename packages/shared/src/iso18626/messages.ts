// Between the wire and the machines: which ISO 18626 message each "send_*" effect
// is, and which machine event an arriving message is.
import {
  Action,
  ReasonForMessage,
  ReasonRetry,
  type Request,
  type RequestingAgencyMessage,
  RequestType,
  Status,
  type SupplyingAgencyMessage,
  YesNo,
} from "../gen/lrs/v1/ill_pb.js";
import {
  type RequesterEffect,
  type RequesterEvent,
  type RequesterState,
  requesterMachine,
} from "./requester-machine.js";
import type { SupplierEffect, SupplierEvent } from "./supplier-machine.js";

/** A requester effect that sends something to the lender. */
export interface RequesterMessageSpec {
  /** A RequestingAgencyMessage with this action … */
  readonly action?: Action;
  /** … or a Request of this type. */
  readonly requestType?: RequestType;
  /** What it is for the lender's machine (a NEW request creates the lender's request instead). */
  readonly supplierEvent?: SupplierEvent;
}

/** A supplier effect that sends a SupplyingAgencyMessage to the borrower. */
export interface SupplierMessageSpec {
  /** Absent: the request's current status. */
  readonly status?: Status;
  /** Absent: RequestResponse for the first answer to a request, StatusChange after it. */
  readonly reasonForMessage?: ReasonForMessage;
  readonly answerYesNo?: YesNo;
  readonly reasonRetry?: ReasonRetry;
  readonly requesterEvent: RequesterEvent;
}

export const REQUESTER_MESSAGES: Readonly<Partial<Record<RequesterEffect, RequesterMessageSpec>>> = {
  send_request_to_next_lender: { requestType: RequestType.NEW },
  send_conditions_accepted: { requestType: RequestType.RETRY, supplierEvent: "conditions_accepted" },
  send_conditions_rejected: { action: Action.CANCEL, supplierEvent: "cancel" },
  send_cancel: { action: Action.CANCEL, supplierEvent: "cancel" },
  send_received: { action: Action.RECEIVED, supplierEvent: "received" },
  send_renew: { action: Action.RENEW, supplierEvent: "renew" },
  send_shipped_return: { action: Action.SHIPPED_RETURN, supplierEvent: "shipped_return" },
  send_status_request: { action: Action.STATUS_REQUEST, supplierEvent: "status_request" },
};

/**
 * Every supplier effect that sends a message, but `send_status`: a StatusRequestResponse carries
 * whatever the status is, and the borrower applies it only where it differs from its own state's.
 */
export const SUPPLIER_MESSAGES: Readonly<Partial<Record<SupplierEffect, SupplierMessageSpec>>> = {
  send_expect_to_supply: { status: Status.EXPECT_TO_SUPPLY, requesterEvent: "expect_to_supply" },
  send_will_supply: { status: Status.WILL_SUPPLY, requesterEvent: "will_supply" },
  send_unfilled: { status: Status.UNFILLED, requesterEvent: "unfilled" },
  send_conditions: {
    status: Status.RETRY_POSSIBLE,
    reasonRetry: ReasonRetry.MUST_MEET_LOAN_CONDITION,
    requesterEvent: "conditional_offer",
  },
  send_loaned: { status: Status.LOANED, requesterEvent: "loaned" },
  send_copy_completed: { status: Status.COPY_COMPLETED, requesterEvent: "copy_completed" },
  send_overdue: { status: Status.OVERDUE, requesterEvent: "overdue" },
  send_recalled: { status: Status.RECALLED, requesterEvent: "recalled" },
  send_renew_accepted: {
    status: Status.LOANED,
    reasonForMessage: ReasonForMessage.RENEW_RESPONSE,
    answerYesNo: YesNo.Y,
    requesterEvent: "renew_accepted",
  },
  send_renew_refused: {
    reasonForMessage: ReasonForMessage.RENEW_RESPONSE,
    answerYesNo: YesNo.N,
    requesterEvent: "renew_refused",
  },
  send_cancel_accepted: {
    status: Status.CANCELLED,
    reasonForMessage: ReasonForMessage.CANCEL_RESPONSE,
    answerYesNo: YesNo.Y,
    requesterEvent: "cancel_accepted",
  },
  send_cancel_refused: {
    reasonForMessage: ReasonForMessage.CANCEL_RESPONSE,
    answerYesNo: YesNo.N,
    requesterEvent: "cancel_refused",
  },
  send_loan_completed: { status: Status.LOAN_COMPLETED, requesterEvent: "loan_completed" },
  send_completed_without_return: {
    status: Status.COMPLETED_WITHOUT_RETURN,
    requesterEvent: "completed_without_return",
  },
};

/**
 * The requester event a lender's message is, or undefined for one the machine does not
 * handle (the message is then refused with UnsupportedReasonForMessageType). A status that
 * repeats the ISO status of the current state (`requesterMachine.states[s].iso`), as a
 * StatusRequestResponse usually does, is recorded and not applied.
 */
export function requesterEventOf(msg: SupplyingAgencyMessage): RequesterEvent | undefined {
  const info = msg.messageInfo;
  const answer = info?.answerYesNo;
  switch (info?.reasonForMessage) {
    case ReasonForMessage.NOTIFICATION:
      return "notification";
    case ReasonForMessage.CANCEL_RESPONSE:
      return answer === YesNo.Y ? "cancel_accepted" : answer === YesNo.N ? "cancel_refused" : undefined;
    case ReasonForMessage.RENEW_RESPONSE:
      return answer === YesNo.Y ? "renew_accepted" : answer === YesNo.N ? "renew_refused" : undefined;
    case ReasonForMessage.REQUEST_RESPONSE:
    case ReasonForMessage.STATUS_CHANGE:
    case ReasonForMessage.STATUS_REQUEST_RESPONSE:
      return eventOfStatus(msg.statusInfo?.status ?? Status.UNSPECIFIED, info.reasonRetry);
    default:
      return undefined;
  }
}

function eventOfStatus(status: Status, reasonRetry: ReasonRetry): RequesterEvent | undefined {
  switch (status) {
    case Status.REQUEST_RECEIVED:
      return "request_received";
    case Status.EXPECT_TO_SUPPLY:
      return "expect_to_supply";
    case Status.WILL_SUPPLY:
      return "will_supply";
    case Status.LOANED:
      return "loaned";
    case Status.OVERDUE:
      return "overdue";
    case Status.RECALLED:
      return "recalled";
    case Status.RETRY_POSSIBLE:
      return reasonRetry === ReasonRetry.MUST_MEET_LOAN_CONDITION ? "conditional_offer" : "retry_possible";
    case Status.UNFILLED:
    // Cancelled outside a CancelResponse: the lender gave up on its own.
    case Status.CANCELLED:
      return "unfilled";
    case Status.COPY_COMPLETED:
      return "copy_completed";
    case Status.LOAN_COMPLETED:
      return "loan_completed";
    case Status.COMPLETED_WITHOUT_RETURN:
      return "completed_without_return";
    case Status.HOLD_RETURN:
    case Status.RELEASE_HOLD_RETURN:
    case Status.UNSPECIFIED:
      return undefined;
    default: {
      const _never: never = status;
      return _never;
    }
  }
}

/**
 * The supplier event a borrower's message is, or undefined for an action the machine does not
 * handle (ShippedForward, HoldReturn, Lost: refused with UnsupportedActionType).
 */
export function supplierEventOf(msg: RequestingAgencyMessage): SupplierEvent | undefined {
  switch (msg.action) {
    case Action.STATUS_REQUEST:
      return "status_request";
    case Action.RECEIVED:
      return "received";
    case Action.CANCEL:
      return "cancel";
    case Action.RENEW:
      return "renew";
    case Action.SHIPPED_RETURN:
      return "shipped_return";
    case Action.NOTIFICATION:
      return "notification";
    case Action.SHIPPED_FORWARD:
    case Action.HOLD_RETURN:
    case Action.LOST:
    case Action.UNSPECIFIED:
      return undefined;
    default: {
      const _never: never = msg.action;
      return _never;
    }
  }
}

/**
 * The supplier event a Request is for an existing request: a RETRY answers our conditional
 * offer. A NEW request is no event: it creates a request in the machine's initial state.
 */
export function supplierEventOfRequest(req: Request): SupplierEvent | undefined {
  return req.serviceInfo?.requestType === RequestType.RETRY ? "conditions_accepted" : undefined;
}

/**
 * A status message that only repeats the status the borrower's state already stands for (a
 * StatusRequestResponse, or a lender's Overdue after our own due-date guard said so): it goes
 * on the timeline but is not an event.
 */
export function repeatsRequesterStatus(state: RequesterState, msg: SupplyingAgencyMessage): boolean {
  const reason = msg.messageInfo?.reasonForMessage;
  const status = msg.statusInfo?.status;
  return (
    (reason === ReasonForMessage.STATUS_CHANGE ||
      reason === ReasonForMessage.STATUS_REQUEST_RESPONSE ||
      reason === ReasonForMessage.REQUEST_RESPONSE) &&
    status !== undefined &&
    status !== Status.UNSPECIFIED &&
    requesterMachine.states[state].iso === status
  );
}
