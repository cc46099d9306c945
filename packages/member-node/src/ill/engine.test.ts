// Members' ILL engines wired in-process: each on its own database, a fake regional center for
// the rota and the catalog, and a "network" that moves each outbox's envelopes to the member
// they are for, as the relays will. The clock is the test's.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  catalogPb,
  createLogger,
  Database,
  defaultIllConfig,
  type HoldingData,
  type IllConfig,
  ill,
  illPb,
  illServicePb,
  type LendingPolicyConfig,
  type MarcRecord,
  Outbox,
  type OutboxMessage,
  sharedMigrations,
} from "@lrs/shared";
import { lendingPolicy, memoryDatabase } from "@lrs/shared/testing";
import { afterEach, describe, expect, it } from "vitest";
import { illService } from "../services/ill.js";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { type AutoRespondMode, IllEngine, type RegionalIll } from "./engine.js";
import { IllInbox } from "./inbox.js";
import { decideByAvailability } from "./responder.js";
import { scenarioOf } from "./scenario-responder.js";
import type { IllRequest, RotaEntry } from "./store.js";

const { ServiceType, ReasonUnfilled, ErrorType, MessageStatus } = illPb;
const T0 = Date.parse("2025-03-10T09:00:00Z");
const SECOND = 1000;
const DAY = 86_400_000;

const POLICY: LendingPolicyConfig = lendingPolicy();

interface Member {
  readonly id: string;
  readonly db: Database;
  readonly outbox: Outbox;
  readonly catalog: MemberCatalog;
  readonly engine: IllEngine;
}

interface MemberOptions {
  mode?: AutoRespondMode;
  policy?: Partial<LendingPolicyConfig>;
  /** A database file, for restarts. */
  path?: string;
}

/** The federation as the members see it: a regional center and the message path. */
class Fed {
  clock = T0;
  readonly members = new Map<string, Member>();
  /** The rota the regional center answers with, by the asking member. */
  rota: RotaEntry[] = [];
  excluded: RotaEntry[] = [];
  regionalDown = false;
  readonly rotaCalls: illServicePb.BuildRotaRequest[] = [];
  readonly clusters = new Map<string, MessageInitShape<typeof catalogPb.ClusterSchema>>();

  readonly regional: RegionalIll = {
    buildRota: async (req) => {
      if (this.regionalDown) throw new ConnectError("connection refused", Code.Unavailable);
      this.rotaCalls.push(create(illServicePb.BuildRotaRequestSchema, req));
      return create(illServicePb.BuildRotaResponseSchema, {
        rota: this.rota.map((e) => candidate(e, true)),
        excluded: this.excluded.map((e) => candidate(e, false)),
        clusterId: req.clusterId ?? "",
      });
    },
    getCluster: async ({ clusterId }) => {
      const cluster = this.clusters.get(clusterId ?? "");
      if (!cluster) throw new ConnectError(`no cluster ${clusterId}`, Code.NotFound);
      return create(catalogPb.GetClusterResponseSchema, { cluster });
    },
  };

  member(id: string, opts: MemberOptions = {}): Member {
    const db = Database.open(opts.path ?? ":memory:", [...sharedMigrations, ...memberMigrations]);
    const outbox = new Outbox(db);
    const catalog = new MemberCatalog(db, id);
    const cfg: IllConfig = {
      ...defaultIllConfig(),
      auto_respond: opts.mode ?? "off",
      duplicate_window: 30 * DAY,
      timer_interval: 1000,
    };
    const engine = new IllEngine({
      db,
      outbox,
      agencyId: id,
      ill: cfg,
      lendingPolicy: { ...POLICY, ...opts.policy },
      catalog,
      regional: this.regional,
      log: createLogger(`test:${id}`),
      now: () => new Date(this.clock),
    });
    const m = { id, db, outbox, catalog, engine };
    this.members.set(id, m);
    return m;
  }

  get(id: string): Member {
    const m = this.members.get(id);
    if (!m) throw new Error(`no member ${id}`);
    return m;
  }

  /** Delivers what one member has in its outbox, in order; returns the envelopes moved. */
  pumpFrom(id: string): illServicePb.IllEnvelope[] {
    const from = this.get(id);
    const moved: illServicePb.IllEnvelope[] = [];
    for (let next = from.outbox.nextDue("parent"); next; next = from.outbox.nextDue("parent")) {
      if ("waitMs" in next) break;
      moved.push(this.deliver(next));
      from.outbox.markDelivered(next.seq);
    }
    return moved;
  }

  deliver(msg: OutboxMessage): illServicePb.IllEnvelope {
    const env = ill.envelopeFromOutbox(msg.kind, msg.payload);
    this.get(env.destinationAgencyId).engine.deliver(env);
    return env;
  }

  /** Moves everything until the outboxes are empty and no automatic action is under way. */
  async settle(): Promise<void> {
    for (let moved = true; moved; ) {
      moved = false;
      for (const m of this.members.values()) {
        await m.engine.idle();
        if (this.pumpFrom(m.id).length > 0) moved = true;
      }
      for (const m of this.members.values()) {
        const before = m.outbox.pendingCount();
        await m.engine.idle();
        if (m.outbox.pendingCount() !== before) moved = true;
      }
    }
  }

  async tick(ms: number): Promise<void> {
    this.clock += ms;
    for (const m of this.members.values()) await m.engine.runTimers();
  }

  close(): void {
    for (const m of this.members.values()) if (m.db.sqlite.open) m.db.close();
  }
}

function candidate(e: RotaEntry, included: boolean): illServicePb.RotaCandidate {
  return create(illServicePb.RotaCandidateSchema, {
    agencyId: e.agencyId,
    reason: e.reason,
    included,
    region: e.region ?? "",
    recordId: e.recordId ?? "",
    responseTimeSeconds: e.responseTimeSeconds ?? 0,
  });
}

function record(id: string, title: string, isbn?: string): MarcRecord {
  return {
    leader: "00000nam a2200000 a 4500",
    fields: [
      { tag: "001", value: id },
      ...(isbn ? [{ tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: isbn }] }] : []),
      { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: title }] },
    ],
  };
}

function item(barcode: string, extra: Partial<HoldingData> = {}): HoldingData {
  return {
    barcode,
    callNumber: "QA 1",
    location: "MAIN",
    status: "available",
    loanRule: "standard",
    ...extra,
  };
}

const lenderOf = (m: Member): IllRequest => {
  const [r] = m.engine.store.list({ role: "lender" });
  if (!r) throw new Error(`no lender request at ${m.id}`);
  return r;
};

/** Envelopes of kind ill.envelope (the confirmations a member sent) in its outbox. */
function confirmationsSent(m: Member): illServicePb.IllEnvelope[] {
  const rows = m.db.sqlite
    .prepare("SELECT kind, payload FROM outbox WHERE kind = ? ORDER BY seq")
    .all(ill.ILL_KINDS.envelope) as Array<{ kind: string; payload: Buffer }>;
  return rows.map((r) => ill.envelopeFromOutbox(r.kind, new Uint8Array(r.payload)));
}

function errorsOf(
  env: illServicePb.IllEnvelope | undefined,
): Array<{ type: illPb.ErrorType; value: string }> {
  const m = env?.message;
  if (
    m?.case !== "requestConfirmation" &&
    m?.case !== "supplyingAgencyMessageConfirmation" &&
    m?.case !== "requestingAgencyMessageConfirmation"
  )
    throw new Error("not a confirmation");
  return m.value.errorData.map((e) => ({ type: e.errorType, value: e.errorValue }));
}

function statusOf(env: illServicePb.IllEnvelope | undefined): illPb.MessageStatus | undefined {
  const m = env?.message;
  if (
    m?.case === "requestConfirmation" ||
    m?.case === "supplyingAgencyMessageConfirmation" ||
    m?.case === "requestingAgencyMessageConfirmation"
  )
    return m.value.confirmationHeader?.messageStatus;
  return undefined;
}

let fed: Fed;
let dirs: string[] = [];
afterEach(() => {
  fed?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs = [];
});

const borrowInput = (note = "") => ({
  patronId: "p-17",
  serviceType: ServiceType.LOAN,
  title: "Gödel, Escher, Bach",
  author: "Hofstadter",
  note,
});

/** A borrower b1 and lenders, the rota being the lenders in order. */
function setUp(lenders: Array<{ id: string; opts?: MemberOptions; recordId?: string; rt?: number }>) {
  fed = new Fed();
  const b = fed.member("b1");
  fed.rota = lenders.map((l) => ({
    agencyId: l.id,
    reason: "holds it",
    ...(l.recordId ? { recordId: l.recordId } : {}),
    ...(l.rt ? { responseTimeSeconds: l.rt } : {}),
  }));
  const ls = lenders.map((l) => fed.member(l.id, l.opts));
  return { b, ls };
}

describe("borrowing and the rota", () => {
  it("asks the regional center for the rota and sends the Request with the lender's record id", async () => {
    const { b, ls } = setUp([{ id: "l1", recordId: "rec-9", rt: 3600 }, { id: "l2" }]);
    fed.excluded = [{ agencyId: "l3", reason: "closed until April" }];
    const r = await b.engine.borrow(borrowInput());
    expect(r.state).toBe("sent_to_supplier");
    expect(r.partner).toBe("l1");
    expect(r.rota.map((e) => e.agencyId)).toEqual(["l1", "l2"]);
    expect(r.rota[0]).toMatchObject({ recordId: "rec-9", responseTimeSeconds: 3600 });
    expect(r.excluded).toEqual([expect.objectContaining({ agencyId: "l3", reason: "closed until April" })]);
    expect(fed.rotaCalls[0]).toMatchObject({ title: "Gödel, Escher, Bach", requestingAgencyId: "b1" });
    await fed.settle();
    const lent = lenderOf(ls[0]!);
    expect(lent.recordId).toBe("rec-9");
    expect(lent.state).toBe("new");
    // The lender's confirmation came back.
    const log = b.engine.messages(r.id);
    expect(log).toEqual([expect.objectContaining({ direction: "out", kind: "Request", confirmation: "OK" })]);
    expect(log[0]?.deliveredAt).toBeInstanceOf(Date);
    expect(ls[0]!.engine.messages(lent.id)).toEqual([
      expect.objectContaining({ direction: "in", kind: "Request", confirmation: "OK" }),
    ]);
  });

  it("fills in a bare cluster id from the union catalog", async () => {
    const { b } = setUp([{ id: "l1" }]);
    fed.clusters.set("north:c1", {
      id: "north:c1",
      title: "Dune",
      author: "Herbert",
      isbns: ["9780441013593"],
    });
    const r = await b.engine.borrow({ patronId: "p1", serviceType: ServiceType.LOAN, clusterId: "north:c1" });
    expect(r.bibliographicInfo.title).toBe("Dune");
    expect(r.bibliographicInfo.bibliographicItemId[0]?.bibliographicItemIdentifier).toBe("9780441013593");
    expect(fed.rotaCalls[0]?.clusterId).toBe("north:c1");
  });

  it("takes an ISBN alone, and knows the same ISBN again as a possible duplicate", async () => {
    const { b } = setUp([{ id: "l1" }]);
    const byIsbn = (value: string) => ({
      patronId: "p-3",
      serviceType: ServiceType.LOAN,
      itemIds: [{ code: "ISBN", value }],
    });
    const first = await b.engine.borrow(byIsbn("0-441-01359-7"));
    expect(first.state).toBe("sent_to_supplier");
    expect(fed.rotaCalls[0]?.itemIds[0]?.bibliographicItemIdentifier).toBe("0-441-01359-7");
    const again = await b.engine.borrow(byIsbn("9780441013593"));
    expect(again.state).toBe("review");
    expect(again.duplicateOf).toBe(first.id);
  });

  it("ends at once when no one holds it", async () => {
    const { b } = setUp([]);
    const r = await b.engine.borrow(borrowInput());
    expect(r.state).toBe("end_of_rota");
    expect(b.engine.timers(r.id)).toEqual([]);
  });

  it("retries the rota with backoff while the regional center is unreachable", async () => {
    const { b } = setUp([{ id: "l1" }]);
    fed.regionalDown = true;
    const r = await b.engine.borrow(borrowInput());
    expect(r.state).toBe("validated");
    expect(b.engine.timers(r.id)).toEqual([{ kind: "rota", dueAt: new Date(T0 + 5 * SECOND) }]);
    expect(b.engine.store.timeline(r.id).at(-1)?.event).toBe("rota_retry");
    await fed.tick(6 * SECOND);
    expect(b.engine.timers(r.id)).toEqual([{ kind: "rota", dueAt: new Date(T0 + 16 * SECOND) }]);
    fed.regionalDown = false;
    await fed.tick(11 * SECOND);
    const after = b.engine.store.get(r.id);
    expect(after?.state).toBe("sent_to_supplier");
    expect(b.engine.timers(r.id).map((t) => t.kind)).toEqual(["response"]);
  });

  it("builds the rota once staff approve a possible duplicate", async () => {
    const { b } = setUp([{ id: "l1" }]);
    await b.engine.borrow(borrowInput());
    const dup = await b.engine.borrow(borrowInput());
    expect(dup.state).toBe("review");
    expect(fed.rotaCalls).toHaveLength(1);
    const approved = await b.engine.act(dup.id, "approve");
    expect(approved.state).toBe("sent_to_supplier");
    expect(fed.rotaCalls).toHaveLength(2);
  });
});

describe("timers", () => {
  it("times a lender out after its response time, then moves on", async () => {
    const { b, ls } = setUp([
      { id: "l1", rt: 60 },
      { id: "l2", rt: 120 },
    ]);
    const r = await b.engine.borrow(borrowInput());
    expect(b.engine.timers(r.id)).toEqual([{ kind: "response", dueAt: new Date(T0 + 60 * SECOND) }]);
    await fed.tick(60 * SECOND); // due, not past: nothing yet
    expect(b.engine.store.get(r.id)?.state).toBe("sent_to_supplier");
    await fed.tick(1);
    expect(b.engine.store.get(r.id)?.state).toBe("timed_out");
    await fed.settle(); // l1 accepts the cancel: the borrower moves on
    const after = b.engine.store.get(r.id);
    expect(after?.state).toBe("sent_to_supplier");
    expect(after?.partner).toBe("l2");
    expect(lenderOf(ls[0]!).state).toBe("cancelled");
    expect(b.engine.timers(r.id)).toEqual([{ kind: "response", dueAt: new Date(fed.clock + 120 * SECOND) }]);
  });

  it("waits three days for a lender whose response time is not known", async () => {
    const { b } = setUp([{ id: "l1" }]);
    const r = await b.engine.borrow(borrowInput());
    expect(b.engine.timers(r.id)).toEqual([{ kind: "response", dueAt: new Date(T0 + 3 * DAY) }]);
  });

  it("marks a loan overdue at the lender, and tells the borrower its due date passed", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    await l1.engine.act(lent.id, "respond_yes");
    const due = new Date(T0 + 10 * DAY);
    await l1.engine.act(lent.id, "ship", { dueDate: due });
    expect(l1.engine.timers(lent.id)).toEqual([{ kind: "due", dueAt: due }]);
    await fed.settle();
    await b.engine.act(r.id, "receive");
    expect(b.engine.timers(r.id)).toEqual([{ kind: "due", dueAt: due }]);
    await fed.tick(10 * DAY + 1);
    expect(l1.engine.store.get(lent.id)?.state).toBe("overdue");
    expect(l1.engine.timers(lent.id)).toEqual([]);
    const borrowed = b.engine.store.get(r.id);
    expect(borrowed?.attention).toMatch(/due date .* has passed/);
    expect(b.engine.store.timeline(r.id).at(-1)?.event).toBe("due_date_passed");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("overdue");
    // Returned and checked in: no timer is left.
    await b.engine.act(r.id, "return");
    await fed.settle();
    await l1.engine.act(lent.id, "check_in");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("completed");
    expect(l1.engine.timers(lent.id)).toEqual([]);
    expect(b.engine.timers(r.id)).toEqual([]);
  });

  it("withdraws a conditional offer the borrower does not answer", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    await l1.engine.act(lent.id, "respond_conditional");
    expect(l1.engine.timers(lent.id)).toEqual([{ kind: "answer", dueAt: new Date(T0 + 7 * DAY) }]);
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("conditional");
    await fed.tick(7 * DAY + 1);
    expect(l1.engine.store.get(lent.id)?.state).toBe("unfilled");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("end_of_rota");
  });

  it("stops the answer timer when the borrower accepts (a Retry request)", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    await l1.engine.act(lent.id, "respond_conditional");
    await fed.settle();
    await b.engine.act(r.id, "accept_conditions");
    await fed.settle();
    expect(l1.engine.store.get(lent.id)?.state).toBe("will_supply");
    expect(l1.engine.timers(lent.id)).toEqual([]);
  });

  it("drops a timer whose event the state refuses, changing nothing", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    l1.db.sqlite
      .prepare("INSERT INTO ill_timers (request_id, kind, due_at) VALUES (?, 'due', ?)")
      .run(lent.id, new Date(T0 + SECOND).toISOString());
    const before = l1.engine.store.timeline(lent.id).length;
    await fed.tick(2 * SECOND);
    expect(l1.engine.timers(lent.id)).toEqual([]);
    expect(l1.engine.store.get(lent.id)?.state).toBe("new");
    expect(l1.engine.store.timeline(lent.id)).toHaveLength(before);
  });

  it("keeps its timers across a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lrs-ill-"));
    dirs.push(dir);
    const path = join(dir, "l1.db");
    const { b } = setUp([]);
    fed.rota = [{ agencyId: "l1", reason: "holds it" }];
    const l1 = fed.member("l1", { path });
    await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    await l1.engine.act(lent.id, "respond_yes");
    const due = new Date(T0 + DAY);
    await l1.engine.act(lent.id, "ship", { dueDate: due });
    l1.db.close();
    fed.members.delete("l1");
    const again = fed.member("l1", { path });
    expect(again.engine.timers(lent.id)).toEqual([{ kind: "due", dueAt: due }]);
    await fed.tick(DAY + 1);
    expect(again.engine.store.get(lent.id)?.state).toBe("overdue");
  });
});

describe("Deliver", () => {
  it("answers a repeated envelope as a duplicate and does nothing again", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    await b.engine.borrow(borrowInput());
    const next = b.outbox.nextDue("parent");
    if (!next || "waitMs" in next) throw new Error("nothing to send");
    const env = ill.envelopeFromOutbox(next.kind, next.payload);
    expect(l1.engine.deliver(env)).toMatchObject({ duplicate: false, disposition: "applied" });
    expect(l1.engine.deliver(env)).toMatchObject({ duplicate: true });
    expect(l1.engine.store.list()).toHaveLength(1);
    expect(confirmationsSent(l1)).toHaveLength(1);
  });

  it("refuses an envelope that is not well formed or not for this member, naming the field", async () => {
    const { b, ls } = setUp([{ id: "l1" }, { id: "l2" }]);
    await b.engine.borrow(borrowInput());
    const next = b.outbox.nextDue("parent");
    if (!next || "waitMs" in next) throw new Error("nothing to send");
    const env = ill.envelopeFromOutbox(next.kind, next.payload);
    const transport = createRouterTransport(({ service }) => {
      service(illServicePb.IllService, illService(ls[1]!.engine, "l2"));
    });
    const client = createClient(illServicePb.IllService, transport);
    await expect(client.deliver({ envelope: env })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: expect.stringContaining("envelope.destinationAgencyId"),
    });
    await expect(client.deliver({ envelope: { ...env, messageId: "" } })).rejects.toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: expect.stringContaining("envelope.messageId"),
    });
    expect(confirmationsSent(ls[1]!)).toHaveLength(0);
  });

  it("confirms with BadlyFormedMessage a Request the store cannot take", () => {
    const { ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const req = create(illPb.RequestSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "b1" },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "l1" },
        requestingAgencyRequestId: "x/0",
        messageId: "m-1",
      },
      serviceInfo: { requestType: illPb.RequestType.NEW },
    });
    expect(l1.engine.deliver(ill.envelopeOf(req)).disposition).toMatch(/^refused: BadlyFormedMessage/);
    const [conf] = confirmationsSent(l1);
    expect(statusOf(conf)).toBe(MessageStatus.ERROR);
    expect(errorsOf(conf)[0]?.type).toBe(ErrorType.BADLY_FORMED_MESSAGE);
    expect(l1.engine.store.list()).toEqual([]);
  });

  it("refuses an action the lender's machine does not know, and changes nothing else", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    const before = l1.engine.store.timeline(lent.id);
    const ram = create(illPb.RequestingAgencyMessageSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "b1" },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "l1" },
        requestingAgencyRequestId: r.requestingAgencyRequestId ?? "",
        messageId: "m-lost",
      },
      action: illPb.Action.LOST,
    });
    const out = l1.engine.deliver(ill.envelopeOf(ram));
    expect(out.disposition).toMatch(/^refused: UnsupportedActionType/);
    expect(l1.engine.store.timeline(lent.id)).toEqual(before);
    expect(l1.engine.store.get(lent.id)?.state).toBe("new");
    const conf = confirmationsSent(l1).at(-1);
    expect(errorsOf(conf)[0]?.type).toBe(ErrorType.UNSUPPORTED_ACTION_TYPE);
    expect(new IllInbox(l1.db).get("m-lost")).toMatchObject({ outcome: "refused", requestId: lent.id });
    // The borrower learns of it.
    await fed.settle();
    expect(b.engine.store.get(r.id)?.attention).toMatch(
      /l1 refused our message: ERROR: UnsupportedActionType/,
    );
  });

  it("refuses a state change the lender's machine does not allow with the store's reason", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const ram = create(illPb.RequestingAgencyMessageSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "b1" },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "l1" },
        requestingAgencyRequestId: r.requestingAgencyRequestId ?? "",
        messageId: "m-ret",
      },
      action: illPb.Action.SHIPPED_RETURN,
    });
    l1.engine.deliver(ill.envelopeOf(ram));
    const [error] = errorsOf(confirmationsSent(l1).at(-1));
    expect(error?.type).toBe(ErrorType.UNSUPPORTED_ACTION_TYPE);
    expect(error?.value).toMatch(/in state new: shipped_return refused/);
    expect(lenderOf(l1).state).toBe("new");
  });

  it("refuses lender messages for unknown requests, unknown reasons and refused states", async () => {
    const { b } = setUp([{ id: "l1" }]);
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const sam = (
      messageId: string,
      isoId: string,
      init: Omit<MessageInitShape<typeof illPb.SupplyingAgencyMessageSchema>, "header" | "$typeName">,
    ) =>
      ill.envelopeOf(
        create(illPb.SupplyingAgencyMessageSchema, {
          ...init,
          header: {
            requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "b1" },
            supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "l1" },
            requestingAgencyRequestId: isoId,
            messageId,
          },
        }),
      );
    const iso = r.requestingAgencyRequestId ?? "";
    const timeline = b.engine.store.timeline(r.id);
    b.engine.deliver(
      sam("s1", "nope/0", {
        messageInfo: { reasonForMessage: illPb.ReasonForMessage.STATUS_CHANGE },
        statusInfo: { status: illPb.Status.WILL_SUPPLY },
      }),
    );
    b.engine.deliver(
      sam("s2", iso, {
        messageInfo: { reasonForMessage: illPb.ReasonForMessage.STATUS_CHANGE },
        statusInfo: { status: illPb.Status.HOLD_RETURN },
      }),
    );
    b.engine.deliver(
      sam("s3", iso, {
        messageInfo: { reasonForMessage: illPb.ReasonForMessage.RENEW_RESPONSE, answerYesNo: illPb.YesNo.Y },
        statusInfo: { status: illPb.Status.LOANED },
      }),
    );
    const types = confirmationsSent(b).map((c) => errorsOf(c)[0]?.type);
    expect(types).toEqual([
      ErrorType.UNRECOGNISED_DATA_VALUE,
      ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE,
      ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE,
    ]);
    expect(b.engine.store.timeline(r.id)).toEqual(timeline);
    expect(b.engine.store.get(r.id)?.state).toBe("sent_to_supplier");
  });

  it("applies every kind of message along a loan, each confirmed OK", async () => {
    const { b, ls } = setUp([{ id: "l1" }]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    await fed.settle();
    const lent = lenderOf(l1);
    await l1.engine.act(lent.id, "respond_yes");
    await l1.engine.act(lent.id, "ship");
    await fed.settle();
    await b.engine.act(r.id, "receive");
    await b.engine.act(r.id, "renew");
    await fed.settle();
    await l1.engine.act(lent.id, "approve_renew");
    await fed.settle();
    await b.engine.act(r.id, "return");
    await fed.settle();
    await l1.engine.act(lent.id, "check_in");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("completed");
    const out = b.engine.messages(r.id).filter((m) => m.direction === "out");
    expect(out.map((m) => m.kind)).toEqual([
      "Request",
      "RequestingAgencyMessage Received",
      "RequestingAgencyMessage Renew",
      "RequestingAgencyMessage ShippedReturn",
    ]);
    expect(out.every((m) => m.confirmation === "OK")).toBe(true);
    const incoming = b.engine.messages(r.id).filter((m) => m.direction === "in");
    expect(incoming.map((m) => m.kind)).toEqual([
      "SupplyingAgencyMessage WillSupply",
      "SupplyingAgencyMessage Loaned",
      "SupplyingAgencyMessage RenewResponse Y",
      "SupplyingAgencyMessage LoanCompleted",
    ]);
    expect(incoming.every((m) => m.confirmation === "OK")).toBe(true);
  });

  it("tells a lender the borrower moved on; the lender withdraws what it can", async () => {
    const { b, ls } = setUp([
      { id: "l1", rt: 60 },
      { id: "l2", rt: 60 },
      { id: "l3", rt: 60 },
    ]);
    const [l1, l2] = [ls[0]!, ls[1]!];
    const r = await b.engine.borrow(borrowInput());
    fed.pumpFrom("b1");
    fed.pumpFrom("l1");
    await l1.engine.act(lenderOf(l1).id, "respond_yes"); // held back: l1's outbox is not pumped
    await fed.tick(61 * SECOND);
    await fed.tick(61 * SECOND);
    expect(b.engine.store.get(r.id)?.partner).toBe("l2");
    fed.pumpFrom("b1"); // l1 gets the Cancel in will_supply: staff must decide
    expect(lenderOf(l1).state).toBe("cancel_requested");
    fed.pumpFrom("l1"); // the borrower refuses l1's WillSupply: it has moved on
    expect(errorsOf(confirmationsSent(b).at(-1))[0]?.value).toMatch(/no longer current/);
    fed.pumpFrom("b1");
    const withdrawn = lenderOf(l1);
    expect(withdrawn.state).toBe("cancelled");
    expect(withdrawn.attention).toMatch(/the borrower no longer waits/);
    await fed.settle();
    expect(lenderOf(l1).state).toBe("cancelled");
    expect(b.engine.store.get(r.id)?.partner).toBe("l2");
    expect(lenderOf(l2).state).toBe("new");
  });

  it("leaves a lender whose item has left to staff when the borrower moved on", async () => {
    const { b, ls } = setUp([
      { id: "l1", rt: 60 },
      { id: "l2", rt: 60 },
    ]);
    const l1 = ls[0]!;
    const r = await b.engine.borrow(borrowInput());
    fed.pumpFrom("b1");
    fed.pumpFrom("l1");
    await l1.engine.act(lenderOf(l1).id, "respond_yes");
    await l1.engine.act(lenderOf(l1).id, "ship");
    await fed.tick(61 * SECOND);
    await fed.tick(61 * SECOND);
    expect(b.engine.store.get(r.id)?.partner).toBe("l2");
    await fed.settle();
    const lent = lenderOf(l1);
    expect(lent.state).toBe("shipped");
    expect(lent.attention).toMatch(/the borrower no longer waits.*recall the item/);
  });
});

describe("automatic responder", () => {
  it("scenario:loaned lends, and checks the item in when it comes back", async () => {
    const { b, ls } = setUp([{ id: "l1", opts: { mode: "scenario" } }]);
    const r = await b.engine.borrow(borrowInput("please scenario:loaned"));
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("shipped");
    const lent = lenderOf(ls[0]!);
    expect(lent.state).toBe("shipped");
    expect(ls[0]!.engine.store.timeline(lent.id).at(-1)?.detail.note).toMatch(
      /^automatic responder \(scenario:loaned\)/,
    );
    await b.engine.act(r.id, "receive");
    await b.engine.act(r.id, "return");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("completed");
    expect(lenderOf(ls[0]!).state).toBe("completed");
  });

  it("scenario:copy delivers the copy", async () => {
    const { b } = setUp([{ id: "l1", opts: { mode: "scenario" } }]);
    const r = await b.engine.borrow({ ...borrowInput("scenario:copy"), serviceType: ServiceType.COPY });
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("copy_completed");
  });

  it.each([
    ["unfilled", "end_of_rota", "unfilled"],
    ["will-supply-then-unfilled", "end_of_rota", "unfilled"],
    ["conditional", "conditional", "conditional"],
    ["no-answer", "sent_to_supplier", "new"],
  ])("scenario:%s", async (scenario, borrowerState, lenderState) => {
    const { b, ls } = setUp([{ id: "l1", opts: { mode: "scenario" } }]);
    const r = await b.engine.borrow(borrowInput(`scenario:${scenario}`));
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe(borrowerState);
    expect(lenderOf(ls[0]!).state).toBe(lenderState);
  });

  it("scenario:unfilled says NotOnShelf", async () => {
    const { b } = setUp([{ id: "l1", opts: { mode: "scenario" } }]);
    const r = await b.engine.borrow(borrowInput("scenario:unfilled"));
    const sent = fed.pumpFrom("b1");
    expect(sent).toHaveLength(1);
    await fed.get("l1").engine.idle();
    const [, unfilled] = fed.pumpFrom("l1"); // the confirmation, then the answer
    expect(unfilled?.message.case).toBe("supplyingAgencyMessage");
    if (unfilled?.message.case === "supplyingAgencyMessage")
      expect(unfilled.message.value.messageInfo?.reasonUnfilled).toBe(ReasonUnfilled.NOT_ON_SHELF);
    expect(b.engine.store.get(r.id)?.state).toBe("end_of_rota");
  });

  it("scenario:overdue lends for two seconds; the due timer marks it overdue", async () => {
    const { b, ls } = setUp([{ id: "l1", opts: { mode: "scenario" } }]);
    const r = await b.engine.borrow(borrowInput("scenario:overdue"));
    await fed.settle();
    await b.engine.act(r.id, "receive");
    await fed.settle();
    await fed.tick(3 * SECOND);
    expect(lenderOf(ls[0]!).state).toBe("overdue");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("overdue");
    await b.engine.act(r.id, "return");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("completed");
  });

  it("scenario:recalled recalls once the borrower has it, and checks it in after the return", async () => {
    const { b, ls } = setUp([{ id: "l1", opts: { mode: "scenario" } }]);
    const r = await b.engine.borrow(borrowInput("scenario:recalled"));
    await fed.settle();
    await b.engine.act(r.id, "receive");
    await fed.settle();
    expect(lenderOf(ls[0]!).state).toBe("recalled");
    expect(b.engine.store.get(r.id)?.state).toBe("recalled");
    await b.engine.act(r.id, "return");
    await fed.settle();
    expect(b.engine.store.get(r.id)?.state).toBe("completed");
  });

  it("scenario:error refuses the Request itself; the borrower passes over that lender at once", async () => {
    const { b, ls } = setUp([
      { id: "l1", opts: { mode: "scenario" } },
      { id: "l2", opts: { mode: "scenario" } },
    ]);
    const r = await b.engine.borrow(borrowInput("scenario:l1=error scenario:loaned"));
    await fed.settle();
    expect(ls[0]!.engine.store.list()).toEqual([]);
    const refused = b.engine.store.get(r.id);
    expect(refused?.state).toBe("sent_to_supplier");
    expect(refused?.attention).toMatch(
      /l1 refused our message: ERROR: UnrecognisedDataValue: scenario:error/,
    );
    expect(b.engine.messages(r.id)[0]?.confirmation).toMatch(/^ERROR/);
    // Its response time (3 days) is not waited out: the withdrawal is refused too, and on it goes.
    await fed.tick(1);
    await fed.settle();
    await fed.tick(1);
    await fed.settle();
    const shipped = b.engine.store.get(r.id);
    expect(shipped?.state).toBe("shipped");
    expect(shipped?.partner).toBe("l2");
    expect(fed.clock - T0).toBeLessThan(SECOND);
  });

  it("does nothing when off, and the mode set at run time survives a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "lrs-ill-"));
    dirs.push(dir);
    const path = join(dir, "l1.db");
    const { b } = setUp([]);
    fed.rota = [{ agencyId: "l1", reason: "holds it" }];
    const l1 = fed.member("l1", { path, mode: "off" });
    await b.engine.borrow(borrowInput("scenario:loaned"));
    await fed.settle();
    expect(lenderOf(l1).state).toBe("new");
    l1.engine.setAutoResponder("scenario");
    l1.db.close();
    fed.members.delete("l1");
    const again = fed.member("l1", { path, mode: "off" });
    expect(again.engine.autoResponder()).toBe("scenario");
  });

  describe("by availability", () => {
    async function lendFrom(opts: {
      items: HoldingData[];
      policy?: Partial<LendingPolicyConfig>;
      serviceType?: illPb.ServiceType;
      note?: string;
      mode?: AutoRespondMode;
    }) {
      const { b, ls } = setUp([
        {
          id: "l1",
          recordId: "r1",
          opts: { mode: opts.mode ?? "availability", ...(opts.policy ? { policy: opts.policy } : {}) },
        },
      ]);
      ls[0]!.catalog.upsert(record("r1", "Gödel, Escher, Bach"), opts.items);
      const r = await b.engine.borrow({
        ...borrowInput(opts.note),
        serviceType: opts.serviceType ?? ServiceType.LOAN,
      });
      await fed.settle();
      return { borrowed: b.engine.store.get(r.id), lent: lenderOf(ls[0]!), l1: ls[0]! };
    }

    it("says yes when a copy is on the shelf (staff still ship)", async () => {
      const { lent, borrowed, l1 } = await lendFrom({
        items: [item("b1"), item("b2", { status: "on_loan" })],
      });
      expect(lent.state).toBe("will_supply");
      expect(borrowed?.state).toBe("will_supply");
      expect(l1.engine.store.timeline(lent.id).at(-1)?.detail.note).toMatch(
        /^automatic responder \(availability: 1 of 2 copies on the shelf\)/,
      );
    });

    it("answers from availability in scenario mode without a token", async () => {
      const { lent } = await lendFrom({ items: [item("b1")], mode: "scenario" });
      expect(lent.state).toBe("will_supply");
    });

    it.each([
      ["every copy is out", [item("b1", { status: "on_loan" })], {}, ReasonUnfilled.NOT_ON_SHELF],
      ["reference only", [item("b1", { loanRule: "reference" })], {}, ReasonUnfilled.NON_CIRCULATING],
      [
        "the last copy stays",
        [item("b1")],
        { lend_only_if_multiple_copies: true },
        ReasonUnfilled.POLICY_PROBLEM,
      ],
      ["does not lend", [item("b1")], { lends_items: false }, ReasonUnfilled.POLICY_PROBLEM],
      ["no items", [], {}, ReasonUnfilled.NOT_HELD],
    ] as const)("says no when %s", async (_what, items, policy, reason) => {
      const { lent, borrowed } = await lendFrom({ items: [...items], policy });
      expect(lent.state).toBe("unfilled");
      expect(borrowed?.state).toBe("end_of_rota");
      const unfilled = fed
        .get("l1")
        .engine.store.timeline(lent.id)
        .find((e) => e.event === "respond_no");
      expect(unfilled?.detail.note).toMatch(/^automatic responder \(availability: /);
      // The reason went out in the Unfilled message.
      const sentIds = unfilled?.detail.sent ?? [];
      const [sent] = new IllInbox(fed.get("l1").db).sent(sentIds);
      const env = sent ? ill.envelopeFromOutbox(sent.kind, sent.payload) : undefined;
      expect(
        env?.message.case === "supplyingAgencyMessage" && env.message.value.messageInfo?.reasonUnfilled,
      ).toBe(reason);
    });

    it("copies from a reference copy, unless the policy supplies no copies", async () => {
      const yes = await lendFrom({
        items: [item("b1", { loanRule: "reference" })],
        serviceType: ServiceType.COPY,
      });
      expect(yes.lent.state).toBe("will_supply");
      fed.close();
      const no = await lendFrom({
        items: [item("b1")],
        serviceType: ServiceType.COPY,
        policy: { supplies_copies: false },
      });
      expect(no.lent.state).toBe("unfilled");
    });
  });

  it("finds the record by ISBN, or through the cluster, when the Request names none", async () => {
    const { b, ls } = setUp([{ id: "l1", opts: { mode: "availability" } }]);
    const l1 = ls[0]!;
    l1.catalog.upsert(record("r1", "Dune", "9780441013593"), [item("x1")]);
    l1.catalog.upsert(record("r2", "Solaris"), [item("x2")]);
    const byIsbn = await b.engine.borrow({
      ...borrowInput(),
      title: "Dune",
      itemIds: [{ code: "ISBN", value: "978-0-441-01359-3" }],
    });
    fed.clusters.set("north:c2", {
      id: "north:c2",
      title: "Solaris",
      records: [{ institutionId: "l1", recordId: "r2" }],
    });
    const byCluster = await b.engine.borrow({
      patronId: "p2",
      serviceType: ServiceType.LOAN,
      clusterId: "north:c2",
    });
    await fed.settle();
    expect(b.engine.store.get(byIsbn.id)?.state).toBe("will_supply");
    expect(b.engine.store.get(byCluster.id)?.state).toBe("will_supply");
  });
});

describe("the responder's pieces", () => {
  it("reads the scenario token from a note", () => {
    expect(scenarioOf("rush, scenario:will-supply-then-unfilled please")).toBe("will-supply-then-unfilled");
    const note = "scenario:north-b=unfilled scenario:south-a=loaned";
    expect(scenarioOf(note, "north-b")).toBe("unfilled");
    expect(scenarioOf(note, "south-a")).toBe("loaned");
    expect(scenarioOf(note, "north-c")).toBeUndefined();
    expect(scenarioOf("scenario:copy scenario:l1=error", "l1")).toBe("error");
    expect(scenarioOf("scenario:copy scenario:l1=error", "l2")).toBe("copy");
    expect(scenarioOf("scenario:bogus")).toBeUndefined();
    expect(scenarioOf("")).toBeUndefined();
  });

  it("refuses during a closed period", () => {
    const db = memoryDatabase(memberMigrations);
    try {
      const catalog = new MemberCatalog(db, "l1");
      catalog.upsert(record("r1", "T"), [item("b1")]);
      const closed = {
        ...POLICY,
        closed_periods: [{ from: "2025-03-01", to: "2025-03-31", reason: "moving" }],
      };
      expect(
        decideByAvailability(ServiceType.LOAN, catalog, "l1", ["r1"], closed, new Date(T0)),
      ).toMatchObject({
        event: "respond_no",
        reason: ReasonUnfilled.POLICY_PROBLEM,
        why: expect.stringContaining("moving"),
      });
      expect(
        decideByAvailability(ServiceType.COPY_OR_LOAN, catalog, "l1", ["r1"], POLICY, new Date(T0)).event,
      ).toBe("respond_yes");
    } finally {
      db.close();
    }
  });

  it("does not lend a material type its policy leaves out, but still copies from it", () => {
    const db = memoryDatabase(memberMigrations);
    try {
      const catalog = new MemberCatalog(db, "l1");
      catalog.upsert(record("r1", "T"), [item("b1")]);
      const scoresOnly = { ...POLICY, material_types: ["score"] };
      expect(
        decideByAvailability(ServiceType.LOAN, catalog, "l1", ["r1"], scoresOnly, new Date(T0)),
      ).toMatchObject({
        event: "respond_no",
        reason: ReasonUnfilled.POLICY_PROBLEM,
        why: "policy: this library lends score only, not book",
      });
      expect(
        decideByAvailability(ServiceType.COPY, catalog, "l1", ["r1"], scoresOnly, new Date(T0)).event,
      ).toBe("respond_yes");
      const books = { ...POLICY, material_types: ["book"] };
      expect(decideByAvailability(ServiceType.LOAN, catalog, "l1", ["r1"], books, new Date(T0)).event).toBe(
        "respond_yes",
      );
    } finally {
      db.close();
    }
  });

  it('judges by the ILS\'s live status when given it ([availability] source = "ncip")', () => {
    const db = memoryDatabase(memberMigrations);
    try {
      const catalog = new MemberCatalog(db, "l1");
      // Imported as on the shelf; the ILS says it went out this morning.
      catalog.upsert(record("r1", "T"), [item("b1")]);
      const imported = decideByAvailability(ServiceType.LOAN, catalog, "l1", ["r1"], POLICY, new Date(T0));
      expect(imported.event).toBe("respond_yes");
      const live = new Map([["b1", { status: "on_loan", dueDate: "2025-04-01" }]]);
      expect(
        decideByAvailability(ServiceType.LOAN, catalog, "l1", ["r1"], POLICY, new Date(T0), live),
      ).toMatchObject({ event: "respond_no", reason: ReasonUnfilled.NOT_ON_SHELF });
    } finally {
      db.close();
    }
  });
});
