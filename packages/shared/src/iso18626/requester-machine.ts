// The requester machine: an ILL request at the borrowing member, from the patron's
// request to the completed loan or copy, one lender of the rota at a time.
import { ServiceType, Status } from "../gen/lrs/v1/ill_pb.js";
import { defineMachine, type MachineContext, type TransitionRow } from "./machine.js";

/** The request's data the requester machine's guards read. */
export interface RequesterContext extends MachineContext {
  /** Lenders of the rota not asked yet. */
  readonly lendersLeft: number;
  /** Id of an earlier request for the same title by the same patron within the duplicate window. */
  readonly duplicateOf?: string;
  /**
   * Why the copy would go over the library's copyright rule (e.g. a sixth article from one
   * journal this year), as found when the request is validated; undefined when within it.
   */
  readonly overCopyrightLimit?: string;
  readonly serviceType: ServiceType;
  /** The lender currently asked, once the request has gone out. */
  readonly supplierId?: string;
  /**
   * The current lender's status as its latest message gave it, the message being applied
   * included (every SupplyingAgencyMessage carries statusInfo.status, its answers too).
   */
  readonly supplierStatus?: Status;
}

export const REQUESTER_STATES = [
  "new",
  "review",
  "validated",
  "sent_to_supplier",
  "timed_out",
  "expect_to_supply",
  "will_supply",
  "conditional",
  "shipped",
  "received",
  "renew_pending",
  "overdue",
  "recalled",
  "returned",
  "cancel_pending",
  "completed",
  "copy_completed",
  "completed_without_return",
  "cancelled",
  "end_of_rota",
] as const;
export type RequesterState = (typeof REQUESTER_STATES)[number];

export const REQUESTER_EVENTS = [
  // staff and system
  "validate",
  "approve",
  "send",
  "cancel",
  "accept_conditions",
  "reject_conditions",
  "receive",
  "renew",
  "return",
  "status_request",
  "supplier_timeout",
  // messages from the lender
  "request_received",
  "expect_to_supply",
  "will_supply",
  "conditional_offer",
  "loaned",
  "overdue",
  "recalled",
  "retry_possible",
  "unfilled",
  "copy_completed",
  "loan_completed",
  "completed_without_return",
  "cancel_accepted",
  "cancel_refused",
  "renew_accepted",
  "renew_refused",
  "notification",
] as const;
export type RequesterEvent = (typeof REQUESTER_EVENTS)[number];

export type RequesterGuard =
  | "duplicate_found"
  | "over_copyright_limit"
  | "nothing_to_review"
  | "more_lenders_in_rota"
  | "rota_exhausted"
  | "loan_requested"
  | "copy_requested"
  | "supplier_not_answered"
  | "supplier_expects_to_supply"
  | "supplier_will_supply"
  | "supplier_offers_conditions"
  | "supplier_reports_overdue"
  | "supplier_reports_not_overdue"
  | "has_supplier";

export type RequesterEffect =
  | "notify_staff_duplicate"
  | "notify_staff_copyright"
  | "send_request_to_next_lender"
  | "start_response_timer"
  | "stop_response_timer"
  | "record_supplier_status"
  | "notify_staff_conditions"
  | "send_conditions_accepted"
  | "send_conditions_rejected"
  | "send_cancel"
  | "notify_staff_cancel_refused"
  | "notify_staff_cancel_too_late"
  | "record_due_date"
  | "send_received"
  | "notify_patron_available"
  | "notify_patron_copy_available"
  | "start_due_date_timer"
  | "stop_due_date_timer"
  | "send_renew"
  | "update_due_date"
  | "notify_patron_renewed"
  | "notify_patron_renew_refused"
  | "notify_patron_overdue"
  | "notify_patron_recalled"
  | "send_shipped_return"
  | "notify_patron_unfilled"
  | "notify_patron_cancelled"
  | "close_request"
  | "send_status_request"
  | "record_note";

type Row = TransitionRow<RequesterState, RequesterEvent, RequesterGuard, RequesterEffect>;

/** The same move from several states. */
function fromEach(states: readonly RequesterState[], row: Omit<Row, "from">): Row[] {
  return states.map((from) => ({ from, ...row }));
}

/** An answer that ends this lender's turn: ask the next lender, or tell the patron none is left. */
function moveOn(from: RequesterState, event: RequesterEvent, first: RequesterEffect[] = []): Row[] {
  return [
    {
      from,
      event,
      guard: "more_lenders_in_rota",
      to: "sent_to_supplier",
      effects: [...first, "send_request_to_next_lender", "start_response_timer"],
    },
    {
      from,
      event,
      guard: "rota_exhausted",
      to: "end_of_rota",
      effects: [...first, "stop_response_timer", "notify_patron_unfilled"],
    },
  ];
}

/** The lender refused our Cancel: back to what its answer says it is doing. */
function resumeAfterRefusedCancel(from: RequesterState): Row[] {
  return [
    {
      from,
      event: "cancel_refused",
      guard: "supplier_not_answered",
      to: "sent_to_supplier",
      effects: ["notify_staff_cancel_refused", "start_response_timer"],
    },
    ...(
      [
        ["supplier_expects_to_supply", "expect_to_supply"],
        ["supplier_will_supply", "will_supply"],
        ["supplier_offers_conditions", "conditional"],
      ] as const
    ).map(
      ([guard, to]): Row => ({
        from,
        event: "cancel_refused",
        guard,
        to,
        effects: from === "timed_out" ? ["stop_response_timer"] : ["notify_staff_cancel_refused"],
      }),
    ),
  ];
}

// States in which a lender is (or was) involved: a status request or a note can come and go.
const WITH_PARTNER: readonly RequesterState[] = REQUESTER_STATES.filter(
  (s) => s !== "new" && s !== "review" && s !== "validated",
);

// The item is out on loan.
const LOAN_STATES: readonly RequesterState[] = [
  "shipped",
  "received",
  "renew_pending",
  "overdue",
  "recalled",
  "returned",
];

const TABLE: readonly Row[] = [
  // Validation: the duplicate check, then the copyright rule; either stops it for staff.
  {
    from: "new",
    event: "validate",
    guard: "duplicate_found",
    to: "review",
    effects: ["notify_staff_duplicate"],
  },
  {
    from: "new",
    event: "validate",
    guard: "over_copyright_limit",
    to: "review",
    effects: ["notify_staff_copyright"],
  },
  { from: "new", event: "validate", guard: "nothing_to_review", to: "validated", effects: [] },
  { from: "review", event: "approve", to: "validated", effects: [] },
  ...fromEach(["new", "review", "validated"], {
    event: "cancel",
    to: "cancelled",
    effects: ["notify_patron_cancelled"],
  }),
  ...moveOn("validated", "send"),

  // Waiting for the current lender's answer.
  {
    from: "sent_to_supplier",
    event: "request_received",
    to: "sent_to_supplier",
    effects: ["record_supplier_status"],
  },
  {
    from: "sent_to_supplier",
    event: "expect_to_supply",
    to: "expect_to_supply",
    effects: ["stop_response_timer"],
  },
  { from: "sent_to_supplier", event: "will_supply", to: "will_supply", effects: ["stop_response_timer"] },
  {
    from: "sent_to_supplier",
    event: "conditional_offer",
    to: "conditional",
    effects: ["stop_response_timer", "notify_staff_conditions"],
  },
  {
    from: "sent_to_supplier",
    event: "loaned",
    guard: "loan_requested",
    to: "shipped",
    effects: ["stop_response_timer", "record_due_date"],
  },
  {
    from: "sent_to_supplier",
    event: "copy_completed",
    guard: "copy_requested",
    to: "copy_completed",
    effects: ["stop_response_timer", "notify_patron_copy_available", "close_request"],
  },
  ...moveOn("sent_to_supplier", "unfilled"),
  ...moveOn("sent_to_supplier", "retry_possible"),
  // No answer in the lender's response time: withdraw the request there, and move on once the
  // lender confirms (or stays silent once more).
  {
    from: "sent_to_supplier",
    event: "supplier_timeout",
    to: "timed_out",
    effects: ["send_cancel", "start_response_timer"],
  },
  {
    from: "sent_to_supplier",
    event: "cancel",
    to: "cancel_pending",
    effects: ["stop_response_timer", "send_cancel"],
  },

  // The lender expects to supply, or will.
  { from: "expect_to_supply", event: "will_supply", to: "will_supply", effects: [] },
  {
    from: "expect_to_supply",
    event: "conditional_offer",
    to: "conditional",
    effects: ["notify_staff_conditions"],
  },
  ...fromEach(["expect_to_supply", "will_supply"], {
    event: "loaned",
    guard: "loan_requested",
    to: "shipped",
    effects: ["record_due_date"],
  }),
  ...fromEach(["expect_to_supply", "will_supply"], {
    event: "copy_completed",
    guard: "copy_requested",
    to: "copy_completed",
    effects: ["notify_patron_copy_available", "close_request"],
  }),
  ...moveOn("expect_to_supply", "unfilled"),
  ...moveOn("expect_to_supply", "retry_possible"),
  ...moveOn("will_supply", "unfilled"),
  ...moveOn("will_supply", "retry_possible"),
  ...fromEach(["expect_to_supply", "will_supply", "conditional"], {
    event: "cancel",
    to: "cancel_pending",
    effects: ["send_cancel"],
  }),

  // A conditional offer (RetryPossible, MustMeetLoanCondition) waits for staff.
  {
    from: "conditional",
    event: "accept_conditions",
    to: "will_supply",
    effects: ["send_conditions_accepted"],
  },
  ...moveOn("conditional", "reject_conditions", ["send_conditions_rejected"]),
  // The lender withdrew its offer (or its wait for our answer ran out).
  ...moveOn("conditional", "unfilled"),

  // The loan.
  {
    from: "shipped",
    event: "receive",
    to: "received",
    effects: ["send_received", "notify_patron_available", "start_due_date_timer"],
  },
  // Never marked received but past due at the lender.
  { from: "shipped", event: "overdue", to: "overdue", effects: ["notify_patron_overdue"] },
  // The shipment overtook our cancel; this is the lender's answer to it, possibly late.
  ...LOAN_STATES.map((from): Row => ({ from, event: "cancel_refused", to: from, effects: [] })),
  ...fromEach(["received", "overdue"], { event: "renew", to: "renew_pending", effects: ["send_renew"] }),
  { from: "received", event: "overdue", to: "overdue", effects: ["notify_patron_overdue"] },
  ...fromEach(["received", "overdue", "renew_pending"], {
    event: "recalled",
    to: "recalled",
    effects: ["notify_patron_recalled"],
  }),
  ...fromEach(["received", "overdue", "recalled"], {
    event: "return",
    to: "returned",
    effects: ["send_shipped_return", "stop_due_date_timer"],
  }),
  {
    from: "renew_pending",
    event: "renew_accepted",
    to: "received",
    effects: ["update_due_date", "start_due_date_timer", "notify_patron_renewed"],
  },
  {
    from: "renew_pending",
    event: "renew_refused",
    guard: "supplier_reports_not_overdue",
    to: "received",
    effects: ["notify_patron_renew_refused"],
  },
  {
    from: "renew_pending",
    event: "renew_refused",
    guard: "supplier_reports_overdue",
    to: "overdue",
    effects: ["notify_patron_renew_refused", "notify_patron_overdue"],
  },
  // The lender's Overdue crossed our Renew; its answer to the renewal follows.
  { from: "renew_pending", event: "overdue", to: "renew_pending", effects: ["record_supplier_status"] },
  // The recall overtook our renewal; this is the lender's late answer to it.
  ...(["recalled", "returned"] as const).map(
    (from): Row => ({ from, event: "renew_refused", to: from, effects: [] }),
  ),
  // The lender checked the item in without our ShippedReturn (e.g. handed in at its desk).
  ...fromEach(["received", "overdue", "recalled", "renew_pending"], {
    event: "loan_completed",
    to: "completed",
    effects: ["stop_due_date_timer", "close_request"],
  }),
  { from: "returned", event: "loan_completed", to: "completed", effects: ["close_request"] },
  // Overdue or Recalled crossed our ShippedReturn.
  { from: "returned", event: "overdue", to: "returned", effects: [] },
  { from: "returned", event: "recalled", to: "returned", effects: [] },
  ...fromEach(LOAN_STATES, {
    event: "completed_without_return",
    to: "completed_without_return",
    effects: ["stop_due_date_timer", "close_request"],
  }),

  // Withdrawing from a lender that did not answer in time.
  ...moveOn("timed_out", "cancel_accepted"),
  ...moveOn("timed_out", "supplier_timeout"),
  ...moveOn("timed_out", "unfilled"),
  ...moveOn("timed_out", "retry_possible"),
  ...resumeAfterRefusedCancel("timed_out"),
  {
    from: "timed_out",
    event: "loaned",
    guard: "loan_requested",
    to: "shipped",
    effects: ["stop_response_timer", "record_due_date"],
  },
  {
    from: "timed_out",
    event: "copy_completed",
    guard: "copy_requested",
    to: "copy_completed",
    effects: ["stop_response_timer", "notify_patron_copy_available", "close_request"],
  },
  // The patron cancels meanwhile: our Cancel is already on its way.
  { from: "timed_out", event: "cancel", to: "cancel_pending", effects: ["stop_response_timer"] },

  // A cancel waits for the lender's answer.
  { from: "cancel_pending", event: "cancel_accepted", to: "cancelled", effects: ["notify_patron_cancelled"] },
  ...resumeAfterRefusedCancel("cancel_pending"),
  // Answers that crossed our Cancel: the lender answers the cancel next (its status is kept).
  ...(["cancel_pending", "timed_out"] as const).flatMap((from) =>
    (["request_received", "expect_to_supply", "will_supply", "conditional_offer"] as const).map(
      (event): Row => ({ from, event, to: from, effects: ["record_supplier_status"] }),
    ),
  ),
  {
    from: "cancel_pending",
    event: "loaned",
    guard: "loan_requested",
    to: "shipped",
    effects: ["notify_staff_cancel_too_late", "record_due_date"],
  },
  {
    from: "cancel_pending",
    event: "copy_completed",
    guard: "copy_requested",
    to: "copy_completed",
    effects: ["notify_staff_cancel_too_late", "notify_patron_copy_available", "close_request"],
  },
  ...(["unfilled", "retry_possible"] as const).map(
    (event): Row => ({
      from: "cancel_pending",
      event,
      to: "cancelled",
      effects: ["notify_patron_cancelled"],
    }),
  ),

  // Anywhere a lender is involved, terminal states included.
  ...WITH_PARTNER.map(
    (from): Row => ({
      from,
      event: "status_request",
      guard: "has_supplier",
      to: from,
      effects: ["send_status_request"],
    }),
  ),
  ...WITH_PARTNER.map((from): Row => ({ from, event: "notification", to: from, effects: ["record_note"] })),
];

/** The borrowing member's state machine for one ILL request. */
export const requesterMachine = defineMachine<
  RequesterState,
  RequesterEvent,
  RequesterGuard,
  RequesterEffect,
  RequesterContext
>({
  name: "requester",
  initial: "new",
  states: {
    new: { describe: "entered by staff or a patron, not checked yet" },
    review: {
      describe: "looks like a duplicate, or would go over the copyright rule: waits for staff",
    },
    validated: { describe: "checked, waits for its rota" },
    sent_to_supplier: {
      describe: "sent to the current lender, no decision yet",
      iso: Status.REQUEST_RECEIVED,
    },
    timed_out: { describe: "the lender did not answer in time: the request there is being withdrawn" },
    expect_to_supply: { describe: "the lender expects to supply", iso: Status.EXPECT_TO_SUPPLY },
    will_supply: { describe: "the lender will supply", iso: Status.WILL_SUPPLY },
    conditional: {
      describe: "the lender offers to supply on conditions: waits for staff to accept or reject",
      iso: Status.RETRY_POSSIBLE,
    },
    shipped: { describe: "the lender has sent the item", iso: Status.LOANED },
    received: { describe: "the item is here (with the patron or at the desk)", iso: Status.LOANED },
    renew_pending: { describe: "a renewal was asked for: waits for the lender" },
    overdue: { describe: "past its due date", iso: Status.OVERDUE },
    recalled: { describe: "the lender wants the item back early", iso: Status.RECALLED },
    returned: { describe: "sent back: waits for the lender to check it in", iso: Status.LOANED },
    cancel_pending: { describe: "a cancel was asked for: waits for the lender" },
    completed: { describe: "the lender checked the item in", iso: Status.LOAN_COMPLETED, terminal: true },
    copy_completed: { describe: "the copy was delivered", iso: Status.COPY_COMPLETED, terminal: true },
    completed_without_return: {
      describe: "closed without the item coming back (e.g. lost and paid for)",
      iso: Status.COMPLETED_WITHOUT_RETURN,
      terminal: true,
    },
    cancelled: { describe: "cancelled", iso: Status.CANCELLED, terminal: true },
    end_of_rota: { describe: "no lender of the rota could supply", terminal: true },
  },
  events: {
    validate: {
      source: "system",
      describe: "check the request: look for a duplicate, count a copy against the copyright rule",
    },
    approve: {
      source: "staff",
      describe: "not a duplicate after all, or the copy may go out over the copyright rule: go on",
    },
    send: { source: "system", describe: "the rota is built: ask its first lender" },
    cancel: { source: "staff", describe: "the patron no longer wants it" },
    accept_conditions: { source: "staff", describe: "accept the lender's conditions" },
    reject_conditions: { source: "staff", describe: "reject the lender's conditions: try the next lender" },
    receive: { source: "staff", describe: "the item arrived" },
    renew: { source: "staff", describe: "ask the lender for a longer loan" },
    return: { source: "staff", describe: "the item is shipped back (ShippedReturn)" },
    status_request: {
      source: "staff",
      describe: "ask the lender where the request stands (StatusRequest)",
      informational: true,
    },
    supplier_timeout: { source: "system", describe: "the lender did not answer within its response time" },
    request_received: { source: "message", describe: "status RequestReceived" },
    expect_to_supply: { source: "message", describe: "status ExpectToSupply" },
    will_supply: { source: "message", describe: "status WillSupply" },
    conditional_offer: { source: "message", describe: "status RetryPossible, reason MustMeetLoanCondition" },
    loaned: { source: "message", describe: "status Loaned: the item is on its way" },
    overdue: { source: "message", describe: "status Overdue" },
    recalled: { source: "message", describe: "status Recalled" },
    retry_possible: { source: "message", describe: "status RetryPossible for any other reason" },
    unfilled: {
      source: "message",
      describe: "status Unfilled (or Cancelled on the lender's own initiative)",
    },
    copy_completed: { source: "message", describe: "status CopyCompleted: the copy is delivered" },
    loan_completed: { source: "message", describe: "status LoanCompleted: the lender checked the item in" },
    completed_without_return: { source: "message", describe: "status CompletedWithoutReturn" },
    cancel_accepted: { source: "message", describe: "CancelResponse, answer Y" },
    cancel_refused: { source: "message", describe: "CancelResponse, answer N" },
    renew_accepted: { source: "message", describe: "RenewResponse, answer Y, with the new due date" },
    renew_refused: { source: "message", describe: "RenewResponse, answer N" },
    notification: { source: "message", describe: "a note from the lender", informational: true },
  },
  guards: {
    duplicate_found: {
      describe: "the same patron asked for the same title within the duplicate window",
      test: (ctx) => ctx.duplicateOf !== undefined,
    },
    over_copyright_limit: {
      describe: "no duplicate, but the copy would go over the copyright rule",
      test: (ctx) => ctx.duplicateOf === undefined && ctx.overCopyrightLimit !== undefined,
    },
    nothing_to_review: {
      describe: "no duplicate was found and the copyright rule allows it",
      test: (ctx) => ctx.duplicateOf === undefined && ctx.overCopyrightLimit === undefined,
    },
    more_lenders_in_rota: {
      describe: "more lenders are left in the rota",
      test: (ctx) => ctx.lendersLeft > 0,
    },
    rota_exhausted: { describe: "no lender is left in the rota", test: (ctx) => ctx.lendersLeft <= 0 },
    loan_requested: {
      describe: "a loan was asked for (Loan or CopyOrLoan)",
      test: (ctx) => ctx.serviceType === ServiceType.LOAN || ctx.serviceType === ServiceType.COPY_OR_LOAN,
    },
    copy_requested: {
      describe: "a copy was asked for (Copy or CopyOrLoan)",
      test: (ctx) => ctx.serviceType === ServiceType.COPY || ctx.serviceType === ServiceType.COPY_OR_LOAN,
    },
    supplier_not_answered: {
      describe: "the lender has not answered the request yet",
      test: (ctx) =>
        ctx.supplierStatus === undefined ||
        ctx.supplierStatus === Status.UNSPECIFIED ||
        ctx.supplierStatus === Status.REQUEST_RECEIVED,
    },
    supplier_expects_to_supply: {
      describe: "the lender says ExpectToSupply",
      test: (ctx) => ctx.supplierStatus === Status.EXPECT_TO_SUPPLY,
    },
    supplier_will_supply: {
      describe: "the lender says WillSupply",
      test: (ctx) => ctx.supplierStatus === Status.WILL_SUPPLY,
    },
    supplier_offers_conditions: {
      describe: "the lender says RetryPossible (its conditional offer)",
      test: (ctx) => ctx.supplierStatus === Status.RETRY_POSSIBLE,
    },
    supplier_reports_overdue: {
      describe: "the lender says Overdue",
      test: (ctx) => ctx.supplierStatus === Status.OVERDUE,
    },
    supplier_reports_not_overdue: {
      describe: "the lender does not say Overdue",
      test: (ctx) => ctx.supplierStatus !== Status.OVERDUE,
    },
    has_supplier: {
      describe: "a lender has been asked",
      test: (ctx) => ctx.supplierId !== undefined && ctx.supplierId !== "",
    },
  },
  effects: {
    notify_staff_duplicate: "show staff the request and the earlier one it may duplicate",
    notify_staff_copyright:
      "show staff why the copy would go over the copyright rule (the count and the limit)",
    send_request_to_next_lender:
      "send the Request to the next lender of the rota (it becomes the current one)",
    start_response_timer: "(re)start the timer for the current lender's answer",
    stop_response_timer: "stop the timer for the current lender's answer",
    record_supplier_status: "store the lender's status and request id on the timeline",
    notify_staff_conditions: "show staff the lender's conditions to accept or reject",
    send_conditions_accepted: "accept the conditions (a Retry request naming them)",
    send_conditions_rejected: "tell the lender its conditions are rejected (Cancel)",
    send_cancel: "ask the current lender to cancel (Cancel)",
    notify_staff_cancel_refused: "tell staff the lender refused to cancel",
    notify_staff_cancel_too_late: "tell staff the lender supplied before it saw the cancel",
    record_due_date: "store the due date the lender gave",
    send_received: "tell the lender the item arrived (Received)",
    notify_patron_available: "tell the patron the item can be picked up",
    notify_patron_copy_available: "tell the patron the copy is there",
    start_due_date_timer: "(re)start the timer that reminds the patron of the due date",
    stop_due_date_timer: "stop the due-date timer",
    send_renew: "ask the lender to renew (Renew)",
    update_due_date: "store the new due date from the lender's answer",
    notify_patron_renewed: "tell the patron the new due date",
    notify_patron_renew_refused: "tell the patron the renewal was refused",
    notify_patron_overdue: "tell the patron the item is overdue",
    notify_patron_recalled: "tell the patron to bring the item back now",
    send_shipped_return: "tell the lender the item is on its way back (ShippedReturn)",
    notify_patron_unfilled: "tell the patron no lender could supply",
    notify_patron_cancelled: "tell the patron the request is cancelled",
    close_request: "close the request (turnaround is reported from its timeline)",
    send_status_request: "ask the lender where the request stands (StatusRequest)",
    record_note: "store the lender's note on the timeline",
  },
  table: TABLE,
});
