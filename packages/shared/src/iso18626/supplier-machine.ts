// The supplier machine: another member's request at the lending member, from its
// arrival to the check-in of the returned item (or the delivered copy).
import { ServiceType, Status } from "../gen/lrs/v1/ill_pb.js";
import { defineMachine, type MachineContext, type TransitionRow } from "./machine.js";

/** The request's data the supplier machine's guards read. */
export interface SupplierContext extends MachineContext {
  readonly serviceType: ServiceType;
  /** The loan's due date, once shipped. */
  readonly dueDate?: Date;
  readonly renewalsUsed: number;
  /** From the lending policy. */
  readonly maxRenewals: number;
  /** The state the borrower's cancel arrived in (the `from` of the transition into cancel_requested). */
  readonly stateBeforeCancel?: SupplierState;
}

export const SUPPLIER_STATES = [
  "new",
  "expect_to_supply",
  "will_supply",
  "conditional",
  "pick",
  "shipped",
  "received_by_borrower",
  "renew_requested",
  "overdue",
  "recalled",
  "returned",
  "cancel_requested",
  "unfilled",
  "cancelled",
  "completed",
  "copy_completed",
  "completed_without_return",
] as const;
export type SupplierState = (typeof SUPPLIER_STATES)[number];

export const SUPPLIER_EVENTS = [
  // staff and system
  "respond_expect",
  "respond_yes",
  "respond_no",
  "respond_conditional",
  "answer_timeout",
  "pick",
  "ship",
  "deliver_copy",
  "mark_overdue",
  "recall",
  "approve_renew",
  "refuse_renew",
  "accept_cancel",
  "refuse_cancel",
  "check_in",
  "complete_without_return",
  // messages from the borrower
  "conditions_accepted",
  "cancel",
  "received",
  "renew",
  "shipped_return",
  "status_request",
  "notification",
] as const;
export type SupplierEvent = (typeof SUPPLIER_EVENTS)[number];

export type SupplierGuard =
  | "loan_requested"
  | "copy_requested"
  | "past_due_date"
  | "not_past_due_date"
  | "renewals_left"
  | "was_expect_to_supply"
  | "was_will_supply"
  | "was_pick";

export type SupplierEffect =
  | "send_expect_to_supply"
  | "send_will_supply"
  | "send_unfilled"
  | "send_conditions"
  | "start_answer_timer"
  | "stop_answer_timer"
  | "print_pull_slip"
  | "check_out_item"
  | "send_loaned"
  | "start_due_date_timer"
  | "stop_due_date_timer"
  | "send_copy_completed"
  | "send_overdue"
  | "send_recalled"
  | "notify_staff_renew_request"
  | "update_due_date"
  | "send_renew_accepted"
  | "send_renew_refused"
  | "notify_staff_cancel_request"
  | "send_cancel_accepted"
  | "send_cancel_refused"
  | "notify_staff_return"
  | "check_in_item"
  | "send_loan_completed"
  | "send_completed_without_return"
  | "send_status"
  | "record_note";

type Row = TransitionRow<SupplierState, SupplierEvent, SupplierGuard, SupplierEffect>;

const past = (ctx: SupplierContext, at: Date) =>
  ctx.dueDate !== undefined && at.getTime() > ctx.dueDate.getTime();

/** The same move from several states. */
function fromEach(states: readonly SupplierState[], row: Omit<Row, "from">): Row[] {
  return states.map((from) => ({ from, ...row }));
}

const LENT: readonly SupplierState[] = ["shipped", "received_by_borrower", "overdue", "recalled"];

const TABLE: readonly Row[] = [
  // The answer to the request.
  { from: "new", event: "respond_expect", to: "expect_to_supply", effects: ["send_expect_to_supply"] },
  ...fromEach(["new", "expect_to_supply"], {
    event: "respond_yes",
    to: "will_supply",
    effects: ["send_will_supply"],
  }),
  ...fromEach(["new", "expect_to_supply", "will_supply", "pick"], {
    event: "respond_no",
    to: "unfilled",
    effects: ["send_unfilled"],
  }),
  ...fromEach(["new", "expect_to_supply"], {
    event: "respond_conditional",
    to: "conditional",
    effects: ["send_conditions", "start_answer_timer"],
  }),

  // A conditional offer waits for the borrower: a Retry request accepts it, a Cancel rejects it.
  { from: "conditional", event: "conditions_accepted", to: "will_supply", effects: ["stop_answer_timer"] },
  {
    from: "conditional",
    event: "cancel",
    to: "cancelled",
    effects: ["stop_answer_timer", "send_cancel_accepted"],
  },
  { from: "conditional", event: "answer_timeout", to: "unfilled", effects: ["send_unfilled"] },
  {
    from: "conditional",
    event: "respond_no",
    to: "unfilled",
    effects: ["stop_answer_timer", "send_unfilled"],
  },

  // Supplying.
  { from: "will_supply", event: "pick", to: "pick", effects: ["print_pull_slip"] },
  ...fromEach(["will_supply", "pick"], {
    event: "ship",
    guard: "loan_requested",
    to: "shipped",
    effects: ["check_out_item", "send_loaned", "start_due_date_timer"],
  }),
  ...fromEach(["will_supply", "pick"], {
    event: "deliver_copy",
    guard: "copy_requested",
    to: "copy_completed",
    effects: ["send_copy_completed"],
  }),

  // A request not answered yet can always be withdrawn (this is also how a borrower that
  // waited too long moves on); once answered, a cancel is for staff to decide.
  { from: "new", event: "cancel", to: "cancelled", effects: ["send_cancel_accepted"] },
  ...fromEach(["expect_to_supply", "will_supply", "pick"], {
    event: "cancel",
    to: "cancel_requested",
    effects: ["notify_staff_cancel_request"],
  }),
  { from: "cancel_requested", event: "accept_cancel", to: "cancelled", effects: ["send_cancel_accepted"] },
  ...(["expect_to_supply", "will_supply", "pick"] as const).map(
    (back): Row => ({
      from: "cancel_requested",
      event: "refuse_cancel",
      guard: `was_${back}`,
      to: back,
      effects: ["send_cancel_refused"],
    }),
  ),
  // Too late: the item has left (a cancel delayed on the way may find it anywhere in the loan).
  ...[...LENT, "renew_requested" as const, "returned" as const].map(
    (from): Row => ({ from, event: "cancel", to: from, effects: ["send_cancel_refused"] }),
  ),

  // The loan.
  { from: "shipped", event: "received", to: "received_by_borrower", effects: [] },
  // A late Received that crossed our Overdue or Recall.
  ...(["overdue", "recalled"] as const).map(
    (from): Row => ({ from, event: "received", to: from, effects: [] }),
  ),
  ...fromEach(["shipped", "received_by_borrower"], {
    event: "mark_overdue",
    guard: "past_due_date",
    to: "overdue",
    effects: ["send_overdue"],
  }),
  // Due while staff decide on a renewal: the borrower hears it now, the decision follows.
  {
    from: "renew_requested",
    event: "mark_overdue",
    guard: "past_due_date",
    to: "renew_requested",
    effects: ["send_overdue"],
  },
  ...fromEach(["received_by_borrower", "overdue"], {
    event: "renew",
    to: "renew_requested",
    effects: ["notify_staff_renew_request"],
  }),
  // A Renew that crossed our Recall.
  { from: "recalled", event: "renew", to: "recalled", effects: ["send_renew_refused"] },
  {
    from: "renew_requested",
    event: "approve_renew",
    guard: "renewals_left",
    to: "received_by_borrower",
    effects: ["update_due_date", "start_due_date_timer", "send_renew_accepted"],
  },
  {
    from: "renew_requested",
    event: "refuse_renew",
    guard: "not_past_due_date",
    to: "received_by_borrower",
    effects: ["send_renew_refused"],
  },
  {
    from: "renew_requested",
    event: "refuse_renew",
    guard: "past_due_date",
    to: "overdue",
    effects: ["send_renew_refused"],
  },
  ...fromEach(["received_by_borrower", "overdue", "renew_requested"], {
    event: "recall",
    to: "recalled",
    effects: ["send_recalled"],
  }),
  ...fromEach(["received_by_borrower", "overdue", "recalled"], {
    event: "shipped_return",
    to: "returned",
    effects: ["stop_due_date_timer", "notify_staff_return"],
  }),
  { from: "returned", event: "check_in", to: "completed", effects: ["check_in_item", "send_loan_completed"] },
  // The item is back without a ShippedReturn (e.g. handed in at our desk).
  ...fromEach(["received_by_borrower", "overdue", "recalled"], {
    event: "check_in",
    to: "completed",
    effects: ["stop_due_date_timer", "check_in_item", "send_loan_completed"],
  }),
  ...fromEach([...LENT, "renew_requested"], {
    event: "complete_without_return",
    to: "completed_without_return",
    effects: ["stop_due_date_timer", "send_completed_without_return"],
  }),

  // In every state, terminal ones included.
  ...SUPPLIER_STATES.map(
    (from): Row => ({ from, event: "status_request", to: from, effects: ["send_status"] }),
  ),
  ...SUPPLIER_STATES.map(
    (from): Row => ({ from, event: "notification", to: from, effects: ["record_note"] }),
  ),
];

/** The lending member's state machine for one ILL request. */
export const supplierMachine = defineMachine<
  SupplierState,
  SupplierEvent,
  SupplierGuard,
  SupplierEffect,
  SupplierContext
>({
  name: "supplier",
  initial: "new",
  states: {
    new: { describe: "arrived and confirmed, not answered yet", iso: Status.REQUEST_RECEIVED },
    expect_to_supply: {
      describe: "we expect to supply (e.g. the item is on loan here)",
      iso: Status.EXPECT_TO_SUPPLY,
    },
    will_supply: { describe: "we will supply", iso: Status.WILL_SUPPLY },
    conditional: {
      describe: "we offered to supply on conditions: waits for the borrower's answer",
      iso: Status.RETRY_POSSIBLE,
    },
    pick: { describe: "the pull slip is printed: the item is being fetched", iso: Status.WILL_SUPPLY },
    shipped: { describe: "lent and sent", iso: Status.LOANED },
    received_by_borrower: { describe: "the borrower has it", iso: Status.LOANED },
    renew_requested: { describe: "the borrower asked for a renewal: waits for staff" },
    overdue: { describe: "past its due date", iso: Status.OVERDUE },
    recalled: { describe: "we want it back early", iso: Status.RECALLED },
    returned: { describe: "the borrower shipped it back: waits for check-in", iso: Status.LOANED },
    cancel_requested: { describe: "the borrower asked to cancel: waits for staff" },
    unfilled: { describe: "we cannot supply", iso: Status.UNFILLED, terminal: true },
    cancelled: { describe: "cancelled at the borrower's request", iso: Status.CANCELLED, terminal: true },
    completed: { describe: "checked in", iso: Status.LOAN_COMPLETED, terminal: true },
    copy_completed: { describe: "the copy was delivered", iso: Status.COPY_COMPLETED, terminal: true },
    completed_without_return: {
      describe: "closed without the item coming back (e.g. lost and paid for)",
      iso: Status.COMPLETED_WITHOUT_RETURN,
      terminal: true,
    },
  },
  events: {
    respond_expect: { source: "staff", describe: "answer: expect to supply" },
    respond_yes: { source: "staff", describe: "answer: will supply" },
    respond_no: { source: "staff", describe: "answer: cannot supply (Unfilled, with a reason)" },
    respond_conditional: { source: "staff", describe: "answer: will supply on conditions" },
    answer_timeout: { source: "system", describe: "the borrower did not answer our conditions in time" },
    pick: { source: "staff", describe: "print the pull slip and fetch the item" },
    ship: { source: "staff", describe: "lend and send the item" },
    deliver_copy: { source: "staff", describe: "deliver the copy" },
    mark_overdue: { source: "system", describe: "the due date passed" },
    recall: { source: "staff", describe: "ask for the item back early" },
    approve_renew: { source: "staff", describe: "grant the renewal" },
    refuse_renew: { source: "staff", describe: "refuse the renewal" },
    accept_cancel: { source: "staff", describe: "accept the borrower's cancel" },
    refuse_cancel: { source: "staff", describe: "refuse the borrower's cancel" },
    check_in: { source: "staff", describe: "the item is back on our shelf" },
    complete_without_return: {
      source: "staff",
      describe: "close the loan without the item (e.g. lost and paid for)",
    },
    conditions_accepted: { source: "message", describe: "a Retry request accepting our conditions" },
    cancel: { source: "message", describe: "action Cancel" },
    received: { source: "message", describe: "action Received" },
    renew: { source: "message", describe: "action Renew" },
    shipped_return: { source: "message", describe: "action ShippedReturn" },
    status_request: { source: "message", describe: "action StatusRequest", informational: true },
    notification: { source: "message", describe: "action Notification: a note", informational: true },
  },
  guards: {
    loan_requested: {
      describe: "a loan was asked for (Loan or CopyOrLoan)",
      test: (ctx) => ctx.serviceType === ServiceType.LOAN || ctx.serviceType === ServiceType.COPY_OR_LOAN,
    },
    copy_requested: {
      describe: "a copy was asked for (Copy or CopyOrLoan)",
      test: (ctx) => ctx.serviceType === ServiceType.COPY || ctx.serviceType === ServiceType.COPY_OR_LOAN,
    },
    past_due_date: { describe: "the due date has passed", test: past },
    not_past_due_date: { describe: "the due date has not passed", test: (ctx, at) => !past(ctx, at) },
    renewals_left: {
      describe: "the lending policy allows another renewal",
      test: (ctx) => ctx.renewalsUsed < ctx.maxRenewals,
    },
    was_expect_to_supply: {
      describe: "the cancel arrived in expect_to_supply",
      test: (ctx) => ctx.stateBeforeCancel === "expect_to_supply",
    },
    was_will_supply: {
      describe: "the cancel arrived in will_supply",
      test: (ctx) => ctx.stateBeforeCancel === "will_supply",
    },
    was_pick: { describe: "the cancel arrived in pick", test: (ctx) => ctx.stateBeforeCancel === "pick" },
  },
  effects: {
    send_expect_to_supply: "tell the borrower: ExpectToSupply",
    send_will_supply: "tell the borrower: WillSupply",
    send_unfilled: "tell the borrower: Unfilled, with the reason",
    send_conditions: "offer our conditions: RetryPossible, reason MustMeetLoanCondition, retryInfo",
    start_answer_timer: "start the timer for the borrower's answer to our conditions",
    stop_answer_timer: "stop that timer",
    print_pull_slip: "print the pull slip",
    check_out_item: "lend the item to the borrowing institution in our circulation",
    send_loaned: "tell the borrower: Loaned, with the due date",
    start_due_date_timer: "(re)start the timer that fires mark_overdue at the due date",
    stop_due_date_timer: "stop the due-date timer",
    send_copy_completed: "deliver the copy and tell the borrower: CopyCompleted",
    send_overdue: "tell the borrower: Overdue",
    send_recalled: "tell the borrower: Recalled (this also answers a pending renewal)",
    notify_staff_renew_request: "show staff the renewal to decide",
    update_due_date: "store the new due date (and count the renewal)",
    send_renew_accepted: "answer the renewal: RenewResponse Y, with the new due date",
    send_renew_refused: "answer the renewal: RenewResponse N",
    notify_staff_cancel_request: "show staff the cancel to decide",
    send_cancel_accepted: "answer the cancel: CancelResponse Y, status Cancelled",
    send_cancel_refused: "answer the cancel: CancelResponse N",
    notify_staff_return: "tell staff the item is on its way back",
    check_in_item: "check the item in in our circulation",
    send_loan_completed: "tell the borrower: LoanCompleted",
    send_completed_without_return: "tell the borrower: CompletedWithoutReturn",
    send_status: "answer a status request: StatusRequestResponse with our status",
    record_note: "store the borrower's note on the timeline",
  },
  table: TABLE,
});
