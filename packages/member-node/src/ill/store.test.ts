// A borrowing member and its lenders, each an IllStore on its own database, wired in-process:
// the "network" takes each node's outbox in order and hands the payloads to the addressee, as
// the services and the broker will.
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Database, ill, illPb, Outbox, type OutboxMessage } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { afterEach, describe, expect, it } from "vitest";
import { memberMigrations } from "../store/migrations.js";
import { IllInputError, IllStateError } from "./errors.js";
import { ILL_KINDS, type IllOutcome, IllStore, type RotaEntry, requestIdOfIso } from "./store.js";

const DAY = 86_400_000;
const { ServiceType, Status, ReasonUnfilled } = illPb;

interface Node {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly store: IllStore;
}

class Net {
  clock = Date.parse("2025-03-10T09:00:00Z");
  readonly nodes = new Map<string, Node>();
  /** Every message delivered, in order, for tests that deliver one again. */
  readonly delivered: OutboxMessage[] = [];

  node(agencyId: string): Node {
    const existing = this.nodes.get(agencyId);
    if (existing) return existing;
    const db = memoryDatabase(memberMigrations);
    const outbox = new Outbox(db);
    const store = new IllStore({ db, outbox, agencyId, now: () => new Date(this.clock) });
    const node = { db, outbox, store };
    this.nodes.set(agencyId, node);
    return node;
  }

  tick(days: number) {
    this.clock += days * DAY;
  }

  /** Delivers every pending message until all outboxes are empty. */
  pump(): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (const node of this.nodes.values()) {
        for (let next = node.outbox.nextDue("parent"); next; next = node.outbox.nextDue("parent")) {
          if ("waitMs" in next) break;
          this.deliver(next);
          node.outbox.markDelivered(next.seq);
          this.delivered.push(next);
          moved = true;
        }
      }
    }
  }

  /** Hands one message to its addressee, as the receiving service would. */
  deliver(msg: OutboxMessage): IllOutcome {
    switch (msg.kind) {
      case ILL_KINDS.request: {
        const req = fromBinary(illPb.RequestSchema, msg.payload);
        const lender = this.#to(req.header?.supplyingAgencyId?.agencyIdValue);
        if (req.serviceInfo?.requestType === illPb.RequestType.NEW)
          return lender.store.receiveRequest(req, msg.messageId);
        const event = ill.supplierEventOfRequest(req);
        if (!event) throw new Error("unexpected request type");
        return lender.store.applyIncoming(this.#lenderRequest(lender, req.header), event, req, msg.messageId);
      }
      case ILL_KINDS.requestingAgencyMessage: {
        const ram = fromBinary(illPb.RequestingAgencyMessageSchema, msg.payload);
        const lender = this.#to(ram.header?.supplyingAgencyId?.agencyIdValue);
        const event = ill.supplierEventOf(ram);
        if (!event) throw new Error("unexpected action");
        return lender.store.applyIncoming(this.#lenderRequest(lender, ram.header), event, ram, msg.messageId);
      }
      case ILL_KINDS.supplyingAgencyMessage: {
        const sam = fromBinary(illPb.SupplyingAgencyMessageSchema, msg.payload);
        return this.toBorrower(sam, msg.messageId);
      }
      default:
        throw new Error(`unknown kind ${msg.kind}`);
    }
  }

  toBorrower(sam: illPb.SupplyingAgencyMessage, messageId: string): IllOutcome {
    const borrower = this.#to(sam.header?.requestingAgencyId?.agencyIdValue);
    const event = ill.requesterEventOf(sam);
    if (!event) throw new Error("unexpected supplying agency message");
    const id = requestIdOfIso(sam.header?.requestingAgencyRequestId ?? "");
    return borrower.store.applyIncoming(id, event, sam, messageId);
  }

  #to(agencyId: string | undefined): Node {
    const node = this.nodes.get(agencyId ?? "");
    if (!node) throw new Error(`no node ${agencyId}`);
    return node;
  }

  #lenderRequest(lender: Node, header: illPb.Header | undefined): string {
    const found = lender.store.findByRequestingAgencyRequestId(
      "lender",
      header?.requestingAgencyRequestId ?? "",
      header?.requestingAgencyId?.agencyIdValue,
    );
    if (!found) throw new Error("no such request at the lender");
    return found.id;
  }

  close() {
    for (const node of this.nodes.values()) node.db.close();
  }
}

let net: Net;
afterEach(() => net?.close());

function rota(...lenders: string[]): RotaEntry[] {
  return lenders.map((agencyId, i) => ({
    agencyId,
    reason: i === 0 ? "own region, available" : "own region",
  }));
}

/** A borrowing request at B, sent to the rota. Returns the borrower's request id. */
function borrow(lenders: string[], patronId = "p-1"): string {
  const b = net.node("B").store;
  for (const l of lenders) net.node(l);
  const req = b.createBorrowing({
    patronId,
    serviceType: ServiceType.LOAN,
    clusterId: "north:c42",
    bibliographicInfo: { title: "Der Zauberberg", author: "Mann, Thomas" },
    needBefore: new Date(net.clock + 60 * DAY),
    note: "for a seminar",
  });
  expect(req.state).toBe("validated");
  b.applyAction(req.id, "send", { rota: rota(...lenders) });
  net.pump();
  return req.id;
}

/** The request at a lender (there is one per lender in these tests). */
function lent(agencyId: string) {
  const [req, ...more] = net.node(agencyId).store.list({ role: "lender" });
  if (!req || more.length > 0) throw new Error(`expected one request at ${agencyId}`);
  return req;
}

function act(agencyId: string, id: string, action: Parameters<IllStore["applyAction"]>[1], detail = {}) {
  net.tick(1);
  const out = net.node(agencyId).store.applyAction(id, action, detail);
  net.pump();
  return out;
}

function stateOf(agencyId: string, id: string) {
  return net.node(agencyId).store.get(id)?.state;
}

/** Everything a refusal must leave alone. */
function snapshot(node: Node, id: string) {
  return {
    request: node.store.get(id),
    timeline: node.store.timeline(id),
    outbox: node.db.sqlite.prepare("SELECT * FROM outbox ORDER BY seq").all(),
    seen: node.db.sqlite.prepare("SELECT * FROM ill_messages_seen ORDER BY message_id").all(),
  };
}

describe("IllStore, borrower and lender in conversation", () => {
  it("loan, happy path to completed", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const borrower = net.node("B").store;
    expect(borrower.get(id)).toMatchObject({
      state: "sent_to_supplier",
      partner: "L1",
      rotaPosition: 0,
      requestingAgencyRequestId: `${id}/0`,
    });
    const atLender = lent("L1");
    expect(atLender).toMatchObject({
      state: "new",
      partner: "B",
      serviceType: ServiceType.LOAN,
      clusterId: "north:c42",
      requestingAgencyRequestId: `${id}/0`,
      note: "for a seminar",
      patronId: undefined,
    });
    expect(atLender.bibliographicInfo.title).toBe("Der Zauberberg");
    expect(atLender.needBefore).toEqual(borrower.get(id)?.needBefore);

    act("L1", atLender.id, "respond_yes");
    expect(stateOf("B", id)).toBe("will_supply");
    expect(borrower.get(id)?.supplyingAgencyRequestId).toBe(atLender.id);
    act("L1", atLender.id, "pick");
    act("L1", atLender.id, "ship");
    const dueAtLender = net.node("L1").store.get(atLender.id)?.dueDate;
    expect(dueAtLender).toBeInstanceOf(Date);
    expect(borrower.get(id)).toMatchObject({ state: "shipped", dueDate: dueAtLender });
    act("B", id, "receive");
    expect(stateOf("L1", atLender.id)).toBe("received_by_borrower");
    act("B", id, "return");
    expect(stateOf("L1", atLender.id)).toBe("returned");
    act("L1", atLender.id, "check_in");
    expect(stateOf("L1", atLender.id)).toBe("completed");
    expect(stateOf("B", id)).toBe("completed");

    expect(borrower.timeline(id).map((e) => e.to)).toEqual([
      "new",
      "validated",
      "sent_to_supplier",
      "will_supply",
      "shipped",
      "received",
      "returned",
      "completed",
    ]);
    expect(
      net
        .node("L1")
        .store.timeline(atLender.id)
        .map((e) => e.to),
    ).toEqual(["new", "will_supply", "pick", "shipped", "received_by_borrower", "returned", "completed"]);
    expect(borrower.list({ role: "borrower", status: "completed" }).map((r) => r.id)).toEqual([id]);
    expect(borrower.list({ role: "lender" })).toEqual([]);
    for (const node of net.nodes.values()) expect(node.outbox.pendingCount()).toBe(0);
  });

  it("unfilled moves on to the next lender; a message from the former lender is refused", () => {
    net = new Net();
    const id = borrow(["L1", "L2"]);
    const first = lent("L1");
    act("L1", first.id, "respond_no", { reasonUnfilled: ReasonUnfilled.NOT_ON_SHELF });
    expect(stateOf("L1", first.id)).toBe("unfilled");
    const borrower = net.node("B").store;
    expect(borrower.get(id)).toMatchObject({
      state: "sent_to_supplier",
      partner: "L2",
      rotaPosition: 1,
      requestingAgencyRequestId: `${id}/1`,
      supplyingAgencyRequestId: undefined,
    });
    const unfilled = net.delivered.find((m) => m.kind === ILL_KINDS.supplyingAgencyMessage);
    const sam = unfilled && fromBinary(illPb.SupplyingAgencyMessageSchema, unfilled.payload);
    expect(sam?.messageInfo?.reasonUnfilled).toBe(ReasonUnfilled.NOT_ON_SHELF);
    expect(sam?.messageInfo?.reasonForMessage).toBe(illPb.ReasonForMessage.REQUEST_RESPONSE);
    expect(borrower.get(id)?.rota).toEqual(rota("L1", "L2"));

    // L1 speaks up again (say, a note): its request id names rota position 0, no longer current.
    if (!sam?.header) throw new Error("no Unfilled delivered");
    const stale = create(illPb.SupplyingAgencyMessageSchema, {
      header: create(illPb.HeaderSchema, { ...sam.header, messageId: "stale-1" }),
      messageInfo: { reasonForMessage: illPb.ReasonForMessage.NOTIFICATION, note: "sorry" },
    });
    const before = snapshot(net.node("B"), id);
    expect(() => net.toBorrower(stale, "stale-1")).toThrow(IllStateError);
    expect(snapshot(net.node("B"), id)).toEqual(before);

    const second = lent("L2");
    act("L2", second.id, "respond_no", { reasonUnfilled: ReasonUnfilled.NOT_HELD });
    expect(stateOf("B", id)).toBe("end_of_rota");
    expect(borrower.timeline(id).at(-1)?.detail.effects).toContain("notify_patron_unfilled");
  });

  it("a rota with no lender ends at once", () => {
    net = new Net();
    const id = borrow([]);
    expect(stateOf("B", id)).toBe("end_of_rota");
    expect(net.node("B").outbox.pendingCount()).toBe(0);
    expect(net.delivered).toEqual([]);
  });

  it("cancel before the lender answers is accepted", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const atLender = lent("L1");
    act("B", id, "cancel");
    expect(stateOf("L1", atLender.id)).toBe("cancelled");
    expect(stateOf("B", id)).toBe("cancelled");
  });

  it("cancel after the lender said yes waits for staff there, who refuse it", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const atLender = lent("L1");
    act("L1", atLender.id, "respond_yes");
    act("B", id, "cancel");
    expect(stateOf("B", id)).toBe("cancel_pending");
    expect(stateOf("L1", atLender.id)).toBe("cancel_requested");
    act("L1", atLender.id, "refuse_cancel");
    expect(stateOf("L1", atLender.id)).toBe("will_supply");
    expect(stateOf("B", id)).toBe("will_supply");
    expect(net.node("B").store.timeline(id).at(-1)).toMatchObject({
      from: "cancel_pending",
      to: "will_supply",
      event: "cancel_refused",
      detail: { supplierStatus: Status.WILL_SUPPLY },
    });
    // The loan goes on.
    act("L1", atLender.id, "ship");
    expect(stateOf("B", id)).toBe("shipped");
  });

  it("a cancel staff at the lender accept", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const atLender = lent("L1");
    act("L1", atLender.id, "respond_yes");
    act("B", id, "cancel");
    act("L1", atLender.id, "accept_cancel");
    expect(stateOf("L1", atLender.id)).toBe("cancelled");
    expect(stateOf("B", id)).toBe("cancelled");
  });

  it("a conditional offer accepted with a Retry request", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const atLender = lent("L1");
    act("L1", atLender.id, "respond_conditional", { note: "library use only" });
    expect(stateOf("B", id)).toBe("conditional");
    expect(net.node("B").store.timeline(id).at(-1)?.detail).toMatchObject({
      note: "library use only",
      supplierStatus: Status.RETRY_POSSIBLE,
    });
    act("B", id, "accept_conditions");
    expect(stateOf("B", id)).toBe("will_supply");
    expect(stateOf("L1", atLender.id)).toBe("will_supply");
    const retry = net.delivered.at(-1);
    const req = retry && fromBinary(illPb.RequestSchema, retry.payload);
    expect(req?.serviceInfo?.requestType).toBe(illPb.RequestType.RETRY);
    expect(req?.serviceInfo?.requestingAgencyPreviousRequestId).toBe(`${id}/0`);
  });

  it("the same patron asking for the same cluster or title within the window goes to review", () => {
    net = new Net();
    const b = net.node("B").store;
    const base = { patronId: "p-1", serviceType: ServiceType.LOAN };
    const first = b.createBorrowing({
      ...base,
      clusterId: "north:c42",
      bibliographicInfo: { title: "Dune" },
    });
    expect(first.state).toBe("validated");
    net.tick(3);
    const sameCluster = b.createBorrowing({ ...base, clusterId: "north:c42" });
    expect(sameCluster).toMatchObject({ state: "review", duplicateOf: first.id });
    expect(b.timeline(sameCluster.id).at(-1)?.detail.effects).toEqual(["notify_staff_duplicate"]);
    const sameTitle = b.createBorrowing({ ...base, bibliographicInfo: { title: "  DUNE. " } });
    expect(sameTitle).toMatchObject({ state: "review", duplicateOf: first.id });
    // Another patron, or another title, is no duplicate.
    expect(b.createBorrowing({ ...base, patronId: "p-2", clusterId: "north:c42" }).state).toBe("validated");
    expect(b.createBorrowing({ ...base, bibliographicInfo: { title: "Dune Messiah" } }).state).toBe(
      "validated",
    );
    // Staff decide it is not one after all.
    expect(b.applyAction(sameCluster.id, "approve").request.state).toBe("validated");
    // Outside the window (30 days by default) it is no duplicate either.
    net.tick(31);
    expect(b.createBorrowing({ ...base, clusterId: "north:c42" }).state).toBe("validated");
  });

  it("refuses bad input with the field named", () => {
    net = new Net();
    const b = net.node("B").store;
    expect(() => b.createBorrowing({ patronId: " ", serviceType: ServiceType.LOAN, clusterId: "c" })).toThrow(
      IllInputError,
    );
    expect(() =>
      b.createBorrowing({ patronId: "p", serviceType: ServiceType.UNSPECIFIED, clusterId: "c" }),
    ).toThrow(/serviceType/);
    expect(() => b.createBorrowing({ patronId: "p", serviceType: ServiceType.COPY })).toThrow(
      /bibliographicInfo/,
    );
    expect(b.list()).toEqual([]);
  });

  it("a message delivered twice is applied once", () => {
    net = new Net();
    const id = borrow(["L1"]);
    // The Request again: still one request at the lender, and it says so.
    const request = net.delivered[0];
    if (!request) throw new Error("no request delivered");
    const again = net.deliver(request);
    expect(again.replayed).toBe(true);
    expect(net.node("L1").store.list()).toHaveLength(1);
    // The same Request under another message id (a re-sent copy): the same request, too.
    const copy = fromBinary(illPb.RequestSchema, request.payload);
    expect(net.node("L1").store.receiveRequest(copy, "another-id")).toMatchObject({
      replayed: true,
      request: { id: lent("L1").id },
    });

    const atLender = lent("L1");
    act("L1", atLender.id, "respond_yes");
    const answer = net.delivered.at(-1);
    if (!answer) throw new Error("no answer delivered");
    const before = snapshot(net.node("B"), id);
    const replay = net.deliver(answer);
    expect(replay.replayed).toBe(true);
    expect(replay.entry).toEqual(before.timeline.at(-1));
    expect(snapshot(net.node("B"), id)).toEqual(before);

    // Received twice at the lender.
    act("L1", atLender.id, "ship");
    act("B", id, "receive");
    const received = net.delivered.at(-1);
    if (!received) throw new Error("no Received delivered");
    const lenderBefore = snapshot(net.node("L1"), atLender.id);
    expect(net.deliver(received).replayed).toBe(true);
    expect(snapshot(net.node("L1"), atLender.id)).toEqual(lenderBefore);
  });

  it("a message that does not fit the state is refused and changes nothing", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const atLender = lent("L1");
    act("L1", atLender.id, "respond_yes");
    const b = net.node("B");
    const request = b.store.get(id);
    const completed = create(illPb.SupplyingAgencyMessageSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "B" },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "L1" },
        requestingAgencyRequestId: request?.requestingAgencyRequestId ?? "",
        messageId: "m-out-of-state",
        timestamp: timestampFromDate(new Date(net.clock)),
      },
      messageInfo: { reasonForMessage: illPb.ReasonForMessage.STATUS_CHANGE },
      statusInfo: { status: Status.LOAN_COMPLETED },
    });
    const before = snapshot(b, id);
    let error: unknown;
    try {
      net.toBorrower(completed, "m-out-of-state");
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IllStateError);
    expect(error).toMatchObject({
      name: "IllStateError",
      requestId: id,
      state: "will_supply",
      event: "loan_completed",
      reason: "event loan_completed is not allowed in state will_supply",
    });
    expect(snapshot(b, id)).toEqual(before);
    // Not marked seen: once it fits, the same message id would be applied.
    expect(
      b.db.sqlite.prepare("SELECT 1 FROM ill_messages_seen WHERE message_id = ?").get("m-out-of-state"),
    ).toBe(undefined);

    // A staff action out of state, and a message event given as an action, are refused the same way.
    expect(() => b.store.applyAction(id, "receive")).toThrow(IllStateError);
    expect(() => b.store.applyAction(id, "loaned")).toThrow(/not a borrower's action/);
    // A borrower's message does not go to the borrower's side.
    const ram = create(illPb.RequestingAgencyMessageSchema, { action: illPb.Action.RECEIVED });
    expect(() => b.store.applyIncoming(id, "received", ram, "m-wrong-side")).toThrow(IllStateError);
    expect(snapshot(b, id)).toEqual(before);
  });

  it("every transition is timestamped, in order, even when the clock steps back", () => {
    net = new Net();
    const id = borrow(["L1"]);
    const atLender = lent("L1");
    act("L1", atLender.id, "respond_yes");
    act("L1", atLender.id, "ship");
    net.tick(-5);
    act("B", id, "receive");
    for (const [node, reqId] of [
      ["B", id],
      ["L1", atLender.id],
    ] as const) {
      const times = net
        .node(node)
        .store.timeline(reqId)
        .map((e) => e.at.getTime());
      expect(times).toEqual([...times].sort((a, b) => a - b));
    }
    const timeline = net.node("B").store.timeline(id);
    const received = timeline.at(-1);
    const shipped = timeline.at(-2);
    expect(received?.to).toBe("received");
    expect(received?.at).toEqual(shipped?.at);
    // The lender's answers are timed by the clock of the moment they were applied.
    expect(timeline.find((e) => e.to === "will_supply")?.at).toEqual(
      new Date(Date.parse("2025-03-11T09:00:00Z")),
    );
    // The payload really is the protobuf of the ISO message, with our header and message id.
    const sent = net.delivered[0];
    const req = sent && fromBinary(illPb.RequestSchema, sent.payload);
    expect(req?.header?.messageId).toBe(sent?.messageId);
    expect(req?.header?.requestingAgencyId?.agencyIdValue).toBe("B");
    expect(req?.patronInfo?.patronId).toBe("p-1");
    expect(sent && toBinary(illPb.RequestSchema, req as illPb.Request)).toEqual(sent?.payload);
  });
});
