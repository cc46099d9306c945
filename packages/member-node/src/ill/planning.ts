// Transition planning: what an event does to an ILL request, worked out from its row alone.
// The machines of @lrs/shared (iso18626/) decide whether the event is allowed and its effects;
// this turns them into the row after the transition, the messages it sends, what it leaves on
// the timeline, what staff should look at, and which durable timers start and stop. Nothing
// here touches the database: the store (store.ts) reads the row, plans and writes the plan in
// one transaction.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ill, illPb, parseAmount, parseMoney } from "@lrs/shared";
import { IllInputError } from "./errors.js";
import {
  isoRequestId,
  type MessageContext,
  type Outgoing,
  ownRecordId,
  requestingMessage,
  requestMessage,
  supplyingMessage,
} from "./messages.js";
import type {
  ActionDetail,
  BorrowingInput,
  IllEvent,
  IllRequest,
  IllRole,
  RotaEntry,
  TimerKind,
  TransitionDetail,
} from "./request.js";
import { parseRota, type Row, toRequest } from "./request-row.js";
import { copyrightNotice, isCopyrightNotice } from "./staff-notices.js";
import { type BorrowingKey, borrowingKey, normaliseTitle } from "./title-key.js";

/** What planning needs besides the row: who this member is, its clock and ids, its rules. */
export interface PlanContext extends MessageContext {
  /** Loan period granted when lending or renewing without an explicit due date. */
  readonly loanPeriodMs: number;
  /** Why a borrowing request must wait for staff (the copyright rule), asked when it is validated. */
  readonly copyrightCheck?: ((request: IllRequest, at: Date) => string | undefined) | undefined;
}

/** A transition worked out and not yet written. */
export interface Planned {
  readonly next: Row;
  readonly from: string;
  readonly to: string;
  readonly event: string;
  readonly at: Date;
  readonly detail: TransitionDetail;
  readonly outgoing: readonly Outgoing[];
  /** What staff should look at after it: a text, null to clear it, undefined to leave it. */
  readonly attention?: string | null;
}

/** An event the request's state or its row does not allow, and why. */
export interface Refused {
  readonly refused: string;
}

/** The borrower's side of an event: a SupplyingAgencyMessage (`msg`) or a staff/system action. */
export function planRequester(
  ctx: PlanContext,
  row: Row,
  event: ill.RequesterEvent,
  at: Date,
  detail: TransitionDetail,
  msg?: illPb.SupplyingAgencyMessage,
): Planned | Refused {
  const state = row.state as ill.RequesterState;
  const rota = parseRota(row.rota);
  const incomingStatus = msg?.statusInfo?.status;
  const supplierStatus =
    incomingStatus !== undefined && incomingStatus !== illPb.Status.UNSPECIFIED
      ? incomingStatus
      : (row.supplier_status ?? undefined);
  const next: Row = { ...row, supplier_status: supplierStatus ?? null, updated_at: at.toISOString() };
  if (msg?.header?.supplyingAgencyRequestId)
    next.supplying_agency_request_id = msg.header.supplyingAgencyRequestId;
  const withStatus: TransitionDetail =
    supplierStatus !== undefined && msg ? { ...detail, supplierStatus } : detail;
  // A status the current state already stands for (e.g. a StatusRequestResponse) is
  // recorded, not applied.
  if (msg && ill.repeatsRequesterStatus(state, msg)) {
    const stamped = later(at, row.last_transition_at);
    return {
      next: { ...next, last_transition_at: stamped.toISOString() },
      from: state,
      to: state,
      event,
      at: stamped,
      detail: { ...withStatus, repeated: true },
      outgoing: [],
    };
  }
  const overCopyrightLimit = event === "validate" ? ctx.copyrightCheck?.(toRequest(row), at) : undefined;
  const machineContext: ill.RequesterContext = {
    lendersLeft: rota.length - (row.rota_position + 1),
    serviceType: row.service_type,
    duplicateOf: row.duplicate_of ?? undefined,
    overCopyrightLimit,
    supplierId: rota[row.rota_position]?.agencyId,
    supplierStatus,
    lastTransitionAt: new Date(row.last_transition_at),
  };
  const result = ill.transition(ill.requesterMachine, state, event, machineContext, at);
  if (ill.isRefused(result)) return result;
  const outgoing: Outgoing[] = [];
  for (const effect of result.effects) {
    if (effect === "send_request_to_next_lender") {
      const position = next.rota_position + 1;
      const lender = rota[position];
      if (!lender) return { refused: "the rota has no lender left" };
      next.rota_position = position;
      next.partner = lender.agencyId;
      next.requesting_agency_request_id = isoRequestId(row.id, position);
      next.supplying_agency_request_id = null;
      next.supplier_status = null;
      next.due_date = null;
      outgoing.push(requestMessage(ctx, next, illPb.RequestType.NEW));
    } else if (effect === "record_due_date" || effect === "update_due_date") {
      const due = msg?.statusInfo?.dueDate;
      next.due_date = due ? timestampDate(due).toISOString() : next.due_date;
    } else {
      const wire = ill.REQUESTER_MESSAGES[effect];
      if (wire?.requestType !== undefined) outgoing.push(requestMessage(ctx, next, wire.requestType));
      else if (wire?.action !== undefined)
        outgoing.push(requestingMessage(ctx, next, wire.action, detail.note));
    }
  }
  next.state = result.to;
  next.last_transition_at = result.record.at.toISOString();
  // Over the copyright rule: staff see why, on the timeline and as what to look at; letting it
  // go (approve) clears that.
  // A duplicate that is also over the rule goes to review as a duplicate: say the copyright
  // reason too, so that staff approving it know they approve both.
  const copyright =
    result.effects.includes("notify_staff_copyright") || (result.to === "review" && event === "validate")
      ? overCopyrightLimit
      : undefined;
  const attention =
    copyright !== undefined
      ? copyrightNotice(copyright)
      : event === "approve" && isCopyrightNotice(row.attention)
        ? null
        : undefined;
  return {
    next,
    from: state,
    to: result.to,
    event,
    at: result.record.at,
    detail: {
      ...withStatus,
      ...(copyright !== undefined ? { note: [withStatus.note, copyright].filter(Boolean).join("; ") } : {}),
      effects: result.effects,
      sent: outgoing.map((m) => m.messageId),
    },
    outgoing,
    ...(attention !== undefined ? { attention } : {}),
  };
}

/** The lender's side of an event: a RequestingAgencyMessage or Retry Request, or a staff/system action. */
export function planSupplier(
  ctx: PlanContext,
  row: Row,
  event: ill.SupplierEvent,
  at: Date,
  detail: TransitionDetail,
  action: ActionDetail,
): Planned | Refused {
  const state = row.state as ill.SupplierState;
  const machineContext: ill.SupplierContext = {
    serviceType: row.service_type,
    dueDate: row.due_date ? new Date(row.due_date) : undefined,
    renewalsUsed: row.renewals_used,
    maxRenewals: row.max_renewals,
    stateBeforeCancel: (row.state_before_cancel ?? undefined) as ill.SupplierState | undefined,
    lastTransitionAt: new Date(row.last_transition_at),
  };
  const result = ill.transition(ill.supplierMachine, state, event, machineContext, at);
  if (ill.isRefused(result)) return result;
  const stamped = result.record.at;
  const next: Row = {
    ...row,
    state: result.to,
    last_transition_at: stamped.toISOString(),
    updated_at: at.toISOString(),
  };
  if (action.dueDate !== undefined && Number.isNaN(action.dueDate.getTime()))
    return { refused: "the due date is not a valid date" };
  // State first: the messages carry the due date the effects set.
  for (const effect of result.effects) {
    if (effect === "check_out_item") {
      next.due_date = (action.dueDate ?? new Date(stamped.getTime() + ctx.loanPeriodMs)).toISOString();
    } else if (effect === "update_due_date") {
      const from = Math.max(stamped.getTime(), row.due_date ? Date.parse(row.due_date) : 0);
      next.renewals_used = row.renewals_used + 1;
      next.due_date = (action.dueDate ?? new Date(from + ctx.loanPeriodMs)).toISOString();
    }
  }
  if (result.to === "cancel_requested" && state !== "cancel_requested") next.state_before_cancel = state;
  const outgoing: Outgoing[] = [];
  for (const effect of result.effects) {
    if (effect === "send_status") {
      outgoing.push(
        supplyingMessage(ctx, next, {
          status: ill.supplierMachine.states[result.to].iso ?? illPb.Status.UNSPECIFIED,
          reasonForMessage: illPb.ReasonForMessage.STATUS_REQUEST_RESPONSE,
        }),
      );
      continue;
    }
    const wire = ill.SUPPLIER_MESSAGES[effect];
    if (!wire) continue;
    outgoing.push(
      supplyingMessage(ctx, next, {
        status: wire.status ?? ill.supplierMachine.states[result.to].iso ?? illPb.Status.UNSPECIFIED,
        reasonForMessage:
          wire.reasonForMessage ??
          (state === "new" ? illPb.ReasonForMessage.REQUEST_RESPONSE : illPb.ReasonForMessage.STATUS_CHANGE),
        answerYesNo: wire.answerYesNo,
        reasonRetry: wire.reasonRetry,
        reasonUnfilled: effect === "send_unfilled" ? action.reasonUnfilled : undefined,
        note: action.note,
      }),
    );
  }
  return {
    next,
    from: state,
    to: result.to,
    event,
    at: stamped,
    detail: { ...detail, effects: result.effects, sent: outgoing.map((m) => m.messageId) },
    outgoing,
  };
}

/** One change to a request's durable timers. */
export type TimerChange =
  | { readonly op: "set"; readonly kind: TimerKind; readonly dueAt: Date }
  | { readonly op: "delete"; readonly kind: TimerKind }
  /** The request ended: every timer goes but a delivered copy's expiry (the copy outlives it). */
  | { readonly op: "clear" };

/** How long the timers a transition starts wait. */
export interface TimerRules {
  /** A lender whose rota entry names no response time. */
  readonly defaultResponseTimeMs: number;
  /** A lender waiting for the borrower's answer to its conditions. */
  readonly answerTimeoutMs: number;
}

/** The timers a planned transition's effects start and stop, in order. */
export function timerChanges(plan: Planned, rules: TimerRules): TimerChange[] {
  const n = plan.next;
  const terminal =
    n.role === "borrower"
      ? ill.requesterMachine.states[plan.to as ill.RequesterState]?.terminal
      : ill.supplierMachine.states[plan.to as ill.SupplierState]?.terminal;
  // A delivered copy outlives its request (copy_completed is terminal) until its retention ends.
  if (terminal) return [{ op: "clear" }];
  const changes: TimerChange[] = [];
  // Only a validated request waits for its rota.
  if (n.role === "borrower" && plan.to !== "validated") changes.push({ op: "delete", kind: "rota" });
  const at = plan.at.getTime();
  for (const effect of plan.detail.effects ?? []) {
    switch (effect) {
      case "start_response_timer": {
        const seconds = parseRota(n.rota)[n.rota_position]?.responseTimeSeconds;
        const wait = seconds ? seconds * 1000 : rules.defaultResponseTimeMs;
        changes.push({ op: "set", kind: "response", dueAt: new Date(at + wait) });
        break;
      }
      case "stop_response_timer":
        changes.push({ op: "delete", kind: "response" });
        break;
      case "start_due_date_timer":
        changes.push(
          n.due_date
            ? { op: "set", kind: "due", dueAt: new Date(n.due_date) }
            : { op: "delete", kind: "due" },
        );
        break;
      case "stop_due_date_timer":
        changes.push({ op: "delete", kind: "due" });
        break;
      case "start_answer_timer":
        changes.push({ op: "set", kind: "answer", dueAt: new Date(at + rules.answerTimeoutMs) });
        break;
      case "stop_answer_timer":
        changes.push({ op: "delete", kind: "answer" });
        break;
    }
  }
  return changes;
}

/** The event a due timer applies; undefined when the role has no such timer. */
export function timerEvent(role: IllRole, kind: TimerKind): IllEvent | undefined {
  if (role === "borrower") return kind === "response" ? "supplier_timeout" : undefined;
  if (kind === "due") return "mark_overdue";
  if (kind === "answer") return "answer_timeout";
  return undefined;
}

/** The borrower's states in which an item is out, so that its due date passing means something. */
export function borrowerHasItem(state: string): boolean {
  return ["shipped", "received", "renew_pending", "overdue", "recalled"].includes(state);
}

/** A new borrowing request, checked: what it is matched by and what it carries. */
export interface CheckedBorrowing extends BorrowingKey {
  readonly patronId: string;
  readonly clusterId: string | undefined;
  readonly bib: illPb.BibliographicInfo;
}

/** Checks a borrowing request as entered; IllInputError names the field that is wrong. */
export function checkBorrowing(input: BorrowingInput): CheckedBorrowing {
  const patronId = input.patronId.trim();
  if (patronId === "") throw new IllInputError("patronId", "is required");
  if (!isServiceType(input.serviceType))
    throw new IllInputError("serviceType", "must be loan, copy or copy-or-loan");
  const clusterId = input.clusterId?.trim() || undefined;
  const bib = create(illPb.BibliographicInfoSchema, input.bibliographicInfo ?? {});
  if (clusterId !== undefined && bib.supplierUniqueRecordId === "") bib.supplierUniqueRecordId = clusterId;
  const key = borrowingKey(bib);
  if (clusterId === undefined && key.titleKey === "")
    throw new IllInputError(
      "bibliographicInfo",
      "a cluster id, a title or an identifier (ISBN, ISSN) is required",
    );
  if (input.needBefore !== undefined && Number.isNaN(input.needBefore.getTime()))
    throw new IllInputError("needBefore", "is not a valid date");
  if (input.maximumCost?.trim()) {
    try {
      parseMoney(input.maximumCost);
    } catch (err) {
      throw new IllInputError("maximumCost", (err as Error).message);
    }
  }
  return { patronId, clusterId, bib, ...key };
}

/** The row of a new borrowing request, in the requester machine's initial state. */
export function borrowingRow(
  input: BorrowingInput,
  checked: CheckedBorrowing,
  o: { readonly id: string; readonly now: Date; readonly duplicateOf: string | undefined },
): Row {
  const now = o.now.toISOString();
  return {
    id: o.id,
    role: "borrower",
    state: ill.requesterMachine.initial,
    service_type: input.serviceType,
    partner: null,
    cluster_id: checked.clusterId ?? null,
    title_key: checked.titleKey,
    bibliographic_info: toBinary(illPb.BibliographicInfoSchema, checked.bib),
    patron_id: checked.patronId,
    need_before: input.needBefore?.toISOString() ?? null,
    note: input.note ?? "",
    rota: "[]",
    excluded: "[]",
    attention: null,
    rota_position: -1,
    requesting_agency_request_id: null,
    supplying_agency_request_id: null,
    supplier_status: null,
    due_date: null,
    renewals_used: 0,
    max_renewals: 0,
    state_before_cancel: null,
    duplicate_of: o.duplicateOf ?? null,
    record_id: null,
    service_level: input.serviceLevel?.trim() ?? "",
    maximum_cost: input.maximumCost?.trim() || null,
    copyright_compliance: input.copyrightCompliance?.trim() ?? "",
    publication_date: input.publicationDate?.trim() ?? "",
    last_transition_at: now,
    created_at: now,
    updated_at: now,
  };
}

/** An arriving Request, checked: who asks, under which id, for what. */
export interface CheckedRequest {
  readonly borrower: string;
  readonly isoId: string;
  readonly serviceType: illPb.ServiceType;
  readonly bib: illPb.BibliographicInfo;
}

/** Checks a Request arriving at this member as a lender; IllInputError names the element that is wrong. */
export function checkIncomingRequest(
  msg: illPb.Request,
  messageId: string,
  agencyId: string,
): CheckedRequest {
  const header = msg.header;
  const borrower = header?.requestingAgencyId?.agencyIdValue ?? "";
  const isoId = header?.requestingAgencyRequestId ?? "";
  if (messageId === "") throw new IllInputError("header.messageId", "is required");
  if (borrower === "") throw new IllInputError("header.requestingAgencyId", "is required");
  if (isoId === "") throw new IllInputError("header.requestingAgencyRequestId", "is required");
  const supplier = header?.supplyingAgencyId?.agencyIdValue ?? "";
  if (supplier !== "" && supplier !== agencyId)
    throw new IllInputError("header.supplyingAgencyId", `names ${supplier}, not this member`);
  const requestType = msg.serviceInfo?.requestType ?? illPb.RequestType.UNSPECIFIED;
  if (requestType !== illPb.RequestType.NEW && requestType !== illPb.RequestType.UNSPECIFIED)
    throw new IllInputError("serviceInfo.requestType", "only a new request creates a request");
  const serviceType = msg.serviceInfo?.serviceType ?? illPb.ServiceType.UNSPECIFIED;
  if (!isServiceType(serviceType)) throw new IllInputError("serviceInfo.serviceType", "is required");
  const bib = msg.bibliographicInfo ?? create(illPb.BibliographicInfoSchema);
  return { borrower, isoId, serviceType, bib };
}

/** The row of a request another member sent this one, in the supplier machine's initial state. */
export function lendingRow(
  msg: illPb.Request,
  checked: CheckedRequest,
  o: { readonly id: string; readonly now: Date; readonly agencyId: string; readonly maxRenewals: number },
): Row {
  const now = o.now.toISOString();
  const needBefore = msg.serviceInfo?.needBeforeDate;
  return {
    id: o.id,
    role: "lender",
    state: ill.supplierMachine.initial,
    service_type: checked.serviceType,
    partner: checked.borrower,
    cluster_id: checked.bib.supplierUniqueRecordId || null,
    title_key: normaliseTitle(checked.bib.title),
    bibliographic_info: toBinary(illPb.BibliographicInfoSchema, checked.bib),
    // The borrower's patron id means nothing here and is not kept.
    patron_id: null,
    need_before: needBefore ? timestampDate(needBefore).toISOString() : null,
    note: msg.serviceInfo?.note ?? "",
    rota: "[]",
    excluded: "[]",
    attention: null,
    rota_position: -1,
    requesting_agency_request_id: checked.isoId,
    supplying_agency_request_id: o.id,
    supplier_status: null,
    due_date: null,
    renewals_used: 0,
    max_renewals: o.maxRenewals,
    state_before_cancel: null,
    duplicate_of: null,
    record_id: ownRecordId(msg, o.agencyId) ?? null,
    last_transition_at: now,
    created_at: now,
    updated_at: now,
  };
}

/** A rota as staff or the broker hand it in, checked and cut to the fields RotaEntry names. */
export function validRota(rota: readonly RotaEntry[], field: string): RotaEntry[] {
  return rota.map((entry, i) => {
    if (entry.agencyId.trim() === "") throw new IllInputError(`${field}[${i}].agencyId`, "is required");
    if (
      entry.responseTimeSeconds !== undefined &&
      !(Number.isFinite(entry.responseTimeSeconds) && entry.responseTimeSeconds >= 0)
    )
      throw new IllInputError(`${field}[${i}].responseTimeSeconds`, "must be a number of seconds");
    if (entry.charge) {
      try {
        // Read once here so that a charge that is not an amount never reaches the ledger.
        parseAmount(entry.charge.amount, entry.charge.currency);
      } catch (err) {
        throw new IllInputError(`${field}[${i}].charge`, (err as Error).message);
      }
    }
    return rotaEntry(entry);
  });
}

/** Only the fields RotaEntry names, the empty ones left out, so the stored JSON stays what it says. */
export function rotaEntry(entry: RotaEntry): RotaEntry {
  const out: { -readonly [K in keyof RotaEntry]: RotaEntry[K] } = {
    agencyId: entry.agencyId,
    reason: entry.reason,
  };
  if (entry.region) out.region = entry.region;
  if (entry.recordId) out.recordId = entry.recordId;
  if (entry.clusterId) out.clusterId = entry.clusterId;
  if (entry.responseTimeSeconds) out.responseTimeSeconds = entry.responseTimeSeconds;
  if (entry.availability) out.availability = entry.availability;
  if (entry.lent !== undefined) out.lent = entry.lent;
  if (entry.borrowed !== undefined) out.borrowed = entry.borrowed;
  if (entry.charge) out.charge = { currency: entry.charge.currency, amount: entry.charge.amount };
  return out;
}

export function isServiceType(t: illPb.ServiceType): boolean {
  return t === illPb.ServiceType.LOAN || t === illPb.ServiceType.COPY || t === illPb.ServiceType.COPY_OR_LOAN;
}

export function isRequesterEvent(e: string): e is ill.RequesterEvent {
  return Object.hasOwn(ill.requesterMachine.events, e);
}

export function isSupplierEvent(e: string): e is ill.SupplierEvent {
  return Object.hasOwn(ill.supplierMachine.events, e);
}

/** `at`, or the last transition's time when the clock stepped back. */
export function later(at: Date, last: string): Date {
  const lastMs = Date.parse(last);
  return new Date(Math.max(at.getTime(), lastMs));
}
