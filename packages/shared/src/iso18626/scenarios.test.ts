// The two machines in conversation: a borrower's requester machine and one supplier machine
// per lender of the rota, wired by the messages their effects send (messages.ts). Scenario
// walks first, then random interleavings of both sides' actions and of message deliveries.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ServiceType, type Status } from "../gen/lrs/v1/ill_pb.js";
import { isRefused, type TransitionRecord, transition } from "./machine.js";
import { REQUESTER_MESSAGES, SUPPLIER_MESSAGES, type SupplierMessageSpec } from "./messages.js";
import {
  type RequesterContext,
  type RequesterEffect,
  type RequesterEvent,
  type RequesterState,
  requesterMachine,
} from "./requester-machine.js";
import {
  type SupplierContext,
  type SupplierEffect,
  type SupplierEvent,
  type SupplierState,
  supplierMachine,
} from "./supplier-machine.js";

const DAY = 86_400_000;
const LOAN_DAYS = 28;

interface Party<S extends string, E extends string, F extends string, C> {
  state: S;
  ctx: C;
  timeline: TransitionRecord<S, E>[];
  effects: F[];
}
type ToLender = { lender: number; event: SupplierEvent };
type ToBorrower = { lender: number; event: RequesterEvent; status?: Status; answer: boolean; dueDate?: Date };

/** A borrower, its lenders and the messages between them. Messages go out as effects say. */
class Loan {
  clock = Date.parse("2025-03-10T09:00:00Z");
  readonly requester: Party<RequesterState, RequesterEvent, RequesterEffect, RequesterContext>;
  readonly lenders: Party<SupplierState, SupplierEvent, SupplierEffect, SupplierContext>[] = [];
  current = -1;
  /** The due date as the borrower knows it (kept beside the machine: no guard reads it). */
  dueDate: Date | undefined;
  readonly toLenders: ToLender[] = [];
  readonly toBorrower: ToBorrower[] = [];
  /** Messages refused by a receiver that had not finished: none may exist. */
  readonly refusedMessages: string[] = [];
  /** Messages that arrived after the receiver finished (answered with ERROR, harmlessly). */
  readonly lateMessages: string[] = [];

  constructor(
    readonly opts: {
      lenders: number;
      serviceType?: ServiceType;
      maxRenewals?: number;
      duplicate?: boolean;
      /** Why the copy goes over the copyright rule. */
      overCopyright?: string;
      autoDeliver?: boolean;
    },
  ) {
    this.requester = {
      state: requesterMachine.initial,
      ctx: {
        lendersLeft: opts.lenders,
        serviceType: opts.serviceType ?? ServiceType.LOAN,
        duplicateOf: opts.duplicate ? "ill-0" : undefined,
        overCopyrightLimit: opts.overCopyright,
      },
      timeline: [],
      effects: [],
    };
  }

  get lender() {
    const lender = this.lenders[this.current];
    if (!lender) throw new Error("no lender asked yet");
    return lender;
  }

  tick(days: number) {
    this.clock += days * DAY;
  }

  /** A borrower-side staff or system event; throws when refused. */
  req(event: RequesterEvent) {
    const refused = this.applyRequester(event);
    if (refused) throw new Error(`requester: ${refused}`);
    if (this.opts.autoDeliver !== false) this.deliverAll();
  }

  /** A lender-side staff or system event (the current lender by default); throws when refused. */
  sup(event: SupplierEvent, lender = this.current) {
    const refused = this.applySupplier(lender, event);
    if (refused) throw new Error(`supplier ${lender}: ${refused}`);
    if (this.opts.autoDeliver !== false) this.deliverAll();
  }

  refusal(side: "req" | "sup", event: string): string | undefined {
    return side === "req"
      ? this.applyRequester(event as RequesterEvent)
      : this.applySupplier(this.current, event as SupplierEvent);
  }

  applyRequester(event: RequesterEvent, msg?: ToBorrower): string | undefined {
    const party = this.requester;
    const result = transition(requesterMachine, party.state, event, party.ctx, new Date(this.clock));
    if (isRefused(result)) return result.refused;
    let ctx: RequesterContext = { ...party.ctx, lastTransitionAt: result.record.at };
    for (const effect of result.effects) {
      const wire = REQUESTER_MESSAGES[effect];
      if (effect === "send_request_to_next_lender") {
        this.current += 1;
        this.lenders.push({
          state: supplierMachine.initial,
          ctx: {
            serviceType: ctx.serviceType,
            renewalsUsed: 0,
            maxRenewals: this.opts.maxRenewals ?? 1,
          },
          timeline: [],
          effects: [],
        });
        ctx = { ...ctx, lendersLeft: ctx.lendersLeft - 1, supplierId: `lender-${this.current}` };
      } else if (wire?.supplierEvent) {
        this.toLenders.push({ lender: this.current, event: wire.supplierEvent });
      }
      if (effect === "record_due_date" || effect === "update_due_date") this.dueDate = msg?.dueDate;
    }
    party.ctx = ctx;
    party.state = result.to;
    party.timeline.push(result.record);
    party.effects.push(...result.effects);
    return undefined;
  }

  applySupplier(index: number, event: SupplierEvent): string | undefined {
    const party = this.lenders[index];
    if (!party) return "no such lender";
    const result = transition(supplierMachine, party.state, event, party.ctx, new Date(this.clock));
    if (isRefused(result)) return result.refused;
    let ctx: SupplierContext = { ...party.ctx, lastTransitionAt: result.record.at };
    for (const effect of result.effects) {
      if (effect === "check_out_item") ctx = { ...ctx, dueDate: new Date(this.clock + LOAN_DAYS * DAY) };
      if (effect === "update_due_date")
        ctx = { ...ctx, renewalsUsed: ctx.renewalsUsed + 1, dueDate: new Date(this.clock + LOAN_DAYS * DAY) };
      const wire: SupplierMessageSpec | undefined = SUPPLIER_MESSAGES[effect];
      if (wire)
        this.toBorrower.push({
          lender: index,
          event: wire.requesterEvent,
          status: wire.status ?? supplierMachine.states[result.to].iso,
          answer: wire.reasonForMessage !== undefined,
          dueDate: ctx.dueDate,
        });
    }
    if (result.to === "cancel_requested" && party.state !== "cancel_requested")
      ctx = { ...ctx, stateBeforeCancel: party.state };
    party.ctx = ctx;
    party.state = result.to;
    party.timeline.push(result.record);
    party.effects.push(...result.effects);
    return undefined;
  }

  /** Delivers the oldest message to the lenders. */
  deliverToLender() {
    const msg = this.toLenders.shift();
    if (!msg) return;
    const lender = this.lenders[msg.lender];
    if (!lender) throw new Error(`message to unknown lender ${msg.lender}`);
    const terminal = supplierMachine.states[lender.state].terminal;
    const refused = this.applySupplier(msg.lender, msg.event);
    if (refused)
      (terminal ? this.lateMessages : this.refusedMessages).push(`lender ${msg.lender}: ${refused}`);
  }

  /** Delivers the oldest message to the borrower; one from a lender no longer asked is refused by the broker. */
  deliverToBorrower() {
    const msg = this.toBorrower.shift();
    if (!msg || msg.lender !== this.current) return;
    const state = this.requester.state;
    this.requester.ctx = { ...this.requester.ctx, supplierStatus: msg.status };
    // A status the borrower's state already stands for is recorded, not applied.
    if (!msg.answer && msg.status !== undefined && requesterMachine.states[state].iso === msg.status) return;
    const refused = this.applyRequester(msg.event, msg);
    if (refused)
      (requesterMachine.states[state].terminal ? this.lateMessages : this.refusedMessages).push(
        `borrower: ${refused}`,
      );
  }

  deliverAll() {
    while (this.toLenders.length > 0 || this.toBorrower.length > 0) {
      this.deliverToLender();
      this.deliverToBorrower();
    }
  }

  states() {
    return { requester: this.requester.state, lenders: this.lenders.map((l) => l.state) };
  }

  checkTimelines() {
    for (const timeline of [this.requester.timeline, ...this.lenders.map((l) => l.timeline)])
      for (let i = 1; i < timeline.length; i++)
        expect((timeline[i] as { at: Date }).at.getTime()).toBeGreaterThanOrEqual(
          (timeline[i - 1] as { at: Date }).at.getTime(),
        );
  }
}

function started(opts: ConstructorParameters<typeof Loan>[0]): Loan {
  const loan = new Loan(opts);
  loan.req("validate");
  loan.req("send");
  return loan;
}

describe("scenarios", () => {
  it("loan, happy path", () => {
    const loan = started({ lenders: 1 });
    loan.sup("respond_yes");
    expect(loan.states()).toEqual({ requester: "will_supply", lenders: ["will_supply"] });
    loan.sup("pick");
    loan.sup("ship");
    expect(loan.states()).toEqual({ requester: "shipped", lenders: ["shipped"] });
    expect(loan.dueDate).toEqual(loan.lender.ctx.dueDate);
    loan.tick(2);
    loan.req("receive");
    expect(loan.states()).toEqual({ requester: "received", lenders: ["received_by_borrower"] });
    expect(loan.requester.effects).toContain("notify_patron_available");
    loan.tick(20);
    loan.req("return");
    expect(loan.states()).toEqual({ requester: "returned", lenders: ["returned"] });
    loan.tick(2);
    loan.sup("check_in");
    expect(loan.states()).toEqual({ requester: "completed", lenders: ["completed"] });
    expect(loan.requester.timeline.map((r) => r.to)).toEqual([
      "validated",
      "sent_to_supplier",
      "will_supply",
      "shipped",
      "received",
      "returned",
      "completed",
    ]);
    expect(loan.lender.effects).toEqual(
      expect.arrayContaining(["check_out_item", "send_loaned", "check_in_item", "send_loan_completed"]),
    );
    loan.checkTimelines();
    expect(loan.refusedMessages).toEqual([]);
  });

  it("unfilled, the next lender lends, returned, completed", () => {
    const loan = started({ lenders: 2 });
    loan.sup("respond_no");
    expect(loan.states()).toEqual({ requester: "sent_to_supplier", lenders: ["unfilled", "new"] });
    expect(loan.current).toBe(1);
    loan.sup("respond_yes");
    loan.sup("ship");
    loan.req("receive");
    loan.req("return");
    loan.sup("check_in");
    expect(loan.states()).toEqual({ requester: "completed", lenders: ["unfilled", "completed"] });
    expect(loan.refusedMessages).toEqual([]);
  });

  it("end of rota: every lender unfilled, the patron is told", () => {
    const loan = started({ lenders: 2 });
    loan.sup("respond_no");
    loan.sup("respond_expect");
    loan.sup("respond_no");
    expect(loan.states()).toEqual({ requester: "end_of_rota", lenders: ["unfilled", "unfilled"] });
    expect(loan.requester.effects).toContain("notify_patron_unfilled");
    // A terminal state still answers a status request, and nothing else.
    loan.req("status_request");
    expect(loan.refusal("req", "cancel")).toBe("event cancel is not allowed in state end_of_rota");
  });

  it("no answer in time: the request is withdrawn there and goes to the next lender", () => {
    const loan = started({ lenders: 2 });
    loan.req("supplier_timeout");
    // The lender had not answered: it withdraws at once, and the borrower moves on.
    expect(loan.states()).toEqual({ requester: "sent_to_supplier", lenders: ["cancelled", "new"] });
    expect(loan.requester.ctx.supplierId).toBe("lender-1");
  });

  it("a timeout that crosses the lender's answer: the lender keeps it, the borrower follows", () => {
    const loan = started({ lenders: 2, autoDeliver: false });
    loan.req("supplier_timeout");
    loan.sup("respond_yes");
    loan.deliverAll();
    expect(loan.states()).toEqual({ requester: "timed_out", lenders: ["cancel_requested"] });
    loan.sup("refuse_cancel");
    loan.deliverAll();
    expect(loan.states()).toEqual({ requester: "will_supply", lenders: ["will_supply"] });
    expect(loan.current).toBe(0);
  });

  it("a lender silent twice is left behind", () => {
    const loan = started({ lenders: 2, autoDeliver: false });
    loan.req("supplier_timeout");
    loan.req("supplier_timeout");
    loan.deliverAll();
    expect(loan.states()).toEqual({ requester: "sent_to_supplier", lenders: ["cancelled", "new"] });
  });

  it("a duplicate goes to review, then out when staff approve", () => {
    const loan = new Loan({ lenders: 1, duplicate: true });
    loan.req("validate");
    expect(loan.requester.state).toBe("review");
    expect(loan.refusal("req", "send")).toBe("event send is not allowed in state review");
    loan.req("approve");
    loan.req("send");
    expect(loan.states()).toEqual({ requester: "sent_to_supplier", lenders: ["new"] });
  });

  it("a copy over the copyright rule goes to review, then out when staff approve", () => {
    const copy = new Loan({
      lenders: 1,
      serviceType: ServiceType.COPY,
      overCopyright: "a sixth article from 0028-0836 in 2026",
    });
    copy.req("validate");
    expect(copy.requester.state).toBe("review");
    expect(copy.requester.effects).toContain("notify_staff_copyright");
    copy.req("approve");
    copy.req("send");
    expect(copy.states()).toEqual({ requester: "sent_to_supplier", lenders: ["new"] });
  });

  it("cancel accepted", () => {
    const loan = started({ lenders: 1 });
    loan.sup("respond_yes");
    loan.req("cancel");
    expect(loan.states()).toEqual({ requester: "cancel_pending", lenders: ["cancel_requested"] });
    loan.sup("accept_cancel");
    expect(loan.states()).toEqual({ requester: "cancelled", lenders: ["cancelled"] });
    expect(loan.requester.effects).toContain("notify_patron_cancelled");
  });

  it("cancel refused goes back to where each side was", () => {
    const loan = started({ lenders: 1 });
    loan.sup("respond_yes");
    loan.sup("pick");
    loan.req("cancel");
    loan.sup("refuse_cancel");
    expect(loan.states()).toEqual({ requester: "will_supply", lenders: ["pick"] });
    loan.sup("ship");
    expect(loan.states()).toEqual({ requester: "shipped", lenders: ["shipped"] });
  });

  it("a cancel overtaken by the shipment", () => {
    const loan = started({ lenders: 1, autoDeliver: false });
    loan.sup("respond_yes");
    loan.deliverAll();
    loan.req("cancel");
    loan.sup("ship");
    loan.deliverAll();
    expect(loan.states()).toEqual({ requester: "shipped", lenders: ["shipped"] });
    expect(loan.requester.effects).toContain("notify_staff_cancel_too_late");
    expect(loan.refusedMessages).toEqual([]);
  });

  it("conditional offer rejected: the next lender is asked", () => {
    const loan = started({ lenders: 2 });
    loan.sup("respond_conditional");
    expect(loan.states()).toEqual({ requester: "conditional", lenders: ["conditional"] });
    loan.req("reject_conditions");
    expect(loan.states()).toEqual({ requester: "sent_to_supplier", lenders: ["cancelled", "new"] });
  });

  it("conditional offer accepted", () => {
    const loan = started({ lenders: 2 });
    loan.sup("respond_conditional");
    loan.req("accept_conditions");
    expect(loan.states()).toEqual({ requester: "will_supply", lenders: ["will_supply"] });
    loan.sup("ship");
    expect(loan.requester.state).toBe("shipped");
  });

  it("renew: granted once, then refused by the lending policy", () => {
    const loan = started({ lenders: 1, maxRenewals: 1 });
    loan.sup("respond_yes");
    loan.sup("ship");
    loan.req("receive");
    const firstDue = loan.dueDate as Date;
    loan.tick(20);
    loan.req("renew");
    expect(loan.states()).toEqual({ requester: "renew_pending", lenders: ["renew_requested"] });
    loan.sup("approve_renew");
    expect(loan.states()).toEqual({ requester: "received", lenders: ["received_by_borrower"] });
    expect((loan.dueDate as Date).getTime()).toBeGreaterThan(firstDue.getTime());
    expect(loan.dueDate).toEqual(loan.lender.ctx.dueDate);
    loan.req("renew");
    expect(loan.refusal("sup", "approve_renew")).toMatch(/unless the lending policy allows another renewal/);
    loan.sup("refuse_renew");
    expect(loan.states()).toEqual({ requester: "received", lenders: ["received_by_borrower"] });
    expect(loan.requester.effects).toContain("notify_patron_renew_refused");
  });

  it("overdue, then returned and completed", () => {
    const loan = started({ lenders: 1 });
    loan.sup("respond_yes");
    loan.sup("ship");
    loan.req("receive");
    expect(loan.refusal("sup", "mark_overdue")).toMatch(/unless the due date has passed/);
    loan.tick(LOAN_DAYS + 1);
    loan.sup("mark_overdue");
    expect(loan.states()).toEqual({ requester: "overdue", lenders: ["overdue"] });
    expect(loan.requester.effects).toContain("notify_patron_overdue");
    loan.req("return");
    loan.sup("check_in");
    expect(loan.states()).toEqual({ requester: "completed", lenders: ["completed"] });
  });

  it("recall", () => {
    const loan = started({ lenders: 1 });
    loan.sup("respond_yes");
    loan.sup("ship");
    loan.req("receive");
    loan.tick(3);
    loan.sup("recall");
    expect(loan.states()).toEqual({ requester: "recalled", lenders: ["recalled"] });
    expect(loan.refusal("req", "renew")).toBe("event renew is not allowed in state recalled");
    loan.req("return");
    loan.sup("check_in");
    expect(loan.states()).toEqual({ requester: "completed", lenders: ["completed"] });
  });

  it("copy request to copy_completed", () => {
    const loan = started({ lenders: 1, serviceType: ServiceType.COPY });
    loan.sup("respond_yes");
    expect(loan.refusal("sup", "ship")).toMatch(/unless a loan was asked for/);
    loan.sup("deliver_copy");
    expect(loan.states()).toEqual({ requester: "copy_completed", lenders: ["copy_completed"] });
    expect(loan.requester.effects).toContain("notify_patron_copy_available");
  });
});

describe("conversations", () => {
  // Staff and system actions are picked among those the table lists for the side's current state
  // (so that conversations get deep); messages are delivered in order per direction, but the two
  // directions interleave at random, so answers cross.
  const step = fc.record({
    kind: fc.constantFrom("req", "req", "sup", "sup", "deliver", "deliver", "deliver", "tick", "note"),
    toBorrower: fc.boolean(),
    pick: fc.nat(),
    days: fc.integer({ min: 1, max: 20 }),
  });

  // Actions that end a loan early are picked rarely, or the walks would seldom get deep.
  const RARE = new Set(["cancel", "complete_without_return", "recall"]);

  function actions<S extends string, E extends string>(
    machine: { table: readonly { from: S; event: E }[]; events: Readonly<Record<E, { source: string }>> },
    state: S,
    pick: number,
  ): E[] {
    const listed = machine.table.filter(
      (r) => r.from === state && machine.events[r.event].source !== "message",
    );
    const events = [...new Set(listed.map((r) => r.event))];
    if (pick % 8 === 0) return events;
    return events.filter((e) => !RARE.has(e) && (e !== "check_in" || state === "returned"));
  }

  it("never refuse a message of the current lender and borrower, whatever crosses on the way", () => {
    const reached = new Set<string>();
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 }),
        fc.constantFrom(ServiceType.LOAN, ServiceType.COPY, ServiceType.COPY_OR_LOAN),
        fc.nat(2),
        fc.boolean(),
        fc.array(step, { minLength: 20, maxLength: 150, size: "max" }),
        (lenders, serviceType, maxRenewals, duplicate, steps) => {
          const loan = new Loan({ lenders, serviceType, maxRenewals, duplicate, autoDeliver: false });
          for (const s of steps) {
            if (s.kind === "tick") loan.tick(s.days);
            else if (s.kind === "note") {
              // Either side may send a note at any time.
              if (loan.current < 0) continue;
              if (s.toBorrower)
                loan.toBorrower.push({ lender: loan.current, event: "notification", answer: false });
              else loan.toLenders.push({ lender: loan.current, event: "notification" });
            } else if (s.kind === "deliver") s.toBorrower ? loan.deliverToBorrower() : loan.deliverToLender();
            else if (s.kind === "sup") {
              if (loan.current < 0) continue;
              const pool = actions(supplierMachine, loan.lender.state, s.pick);
              const event = pool[s.pick % Math.max(pool.length, 1)];
              if (event) loan.refusal("sup", event);
            } else {
              const pool = actions(requesterMachine, loan.requester.state, s.pick).filter(
                // A first timeout may cross the lender's answer; a second one means the lender
                // has stayed silent (it has not even seen our Cancel).
                (e) =>
                  e !== "supplier_timeout" ||
                  loan.requester.state === "sent_to_supplier" ||
                  (loan.lender.state === "new" && !loan.toBorrower.some((m) => m.lender === loan.current)),
              );
              const event = pool[s.pick % Math.max(pool.length, 1)];
              if (event) loan.refusal("req", event);
            }
            expect(loan.refusedMessages).toEqual([]);
          }
          loan.deliverAll();
          expect(loan.refusedMessages).toEqual([]);
          loan.checkTimelines();
          for (const r of loan.requester.timeline) reached.add(`requester ${r.from} --${r.event}--> ${r.to}`);
          for (const l of loan.lenders)
            for (const r of l.timeline) reached.add(`supplier ${r.from} --${r.event}--> ${r.to}`);
        },
      ),
      { numRuns: 3000 },
    );
    // The walks are deep enough to be worth something: most rows of both tables were used.
    const rows = requesterMachine.table.length + supplierMachine.table.length;
    expect(reached.size / rows).toBeGreaterThan(0.75);
  });
});
