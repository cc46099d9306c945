// The staff verbs against the real requester and supplier machines, the StaffRequest a request
// becomes, and IllStaffService through an in-memory router over a real IllStore (the engine's
// network side faked: the rota is fixed, messages and timers are canned).
import { create, fromBinary, toJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { ill, illPb, illServicePb, Outbox, searchPb } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { AutoRespondMode, BorrowInput, MessageLogEntry, ShelfItem, TimerInfo } from "../ill/engine.js";
import {
  type ActionDetail,
  ILL_KINDS,
  type IllEvent,
  type IllRequest,
  IllStore,
  type RotaEntry,
} from "../ill/store.js";
import { memberMigrations } from "../store/migrations.js";
import {
  allowedActions,
  BORROWER_VERBS,
  type IllStaffEngine,
  illStaffService,
  LENDER_VERBS,
  type RequestState,
  resolveAction,
  toStaffRequest,
} from "./ill-staff.js";

const { ServiceType, ReasonUnfilled } = illPb;
const DAY = 86_400_000;

function req(role: "borrower" | "lender", state: string, serviceType = ServiceType.LOAN): RequestState {
  return { id: "r1", role, state: state as RequestState["state"], serviceType };
}

function connectError(fn: () => unknown): ConnectError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  throw new Error("expected a ConnectError");
}

describe("allowed actions, from the machine tables", () => {
  it("lists the borrower's verbs each state allows", () => {
    const at = (state: string) => allowedActions(req("borrower", state));
    expect(at("new")).toEqual(["cancel"]);
    expect(at("review")).toEqual(["cancel", "approve"]);
    expect(at("sent_to_supplier")).toEqual(["cancel", "status"]);
    expect(at("conditional")).toEqual(["cancel", "accept", "reject", "status"]);
    expect(at("shipped")).toEqual(["receive", "status"]);
    expect(at("received")).toEqual(["return", "renew", "status"]);
    expect(at("overdue")).toEqual(["return", "renew", "status"]);
    expect(at("recalled")).toEqual(["return", "status"]);
    expect(at("renew_pending")).toEqual(["status"]);
    expect(at("cancel_pending")).toEqual(["status"]);
    expect(at("completed")).toEqual(["status"]);
  });

  it("lists the lender's verbs each state allows", () => {
    const at = (state: string) => allowedActions(req("lender", state));
    expect(at("new")).toEqual(["respond", "cancel"]);
    expect(at("will_supply")).toEqual(["respond", "pick", "ship", "cancel"]);
    expect(at("pick")).toEqual(["respond", "ship", "cancel"]);
    expect(at("shipped")).toEqual(["overdue", "lost"]);
    expect(at("received_by_borrower")).toEqual(["checkin", "recall", "overdue", "lost"]);
    expect(at("renew_requested")).toEqual(["recall", "overdue", "lost", "approve-renew", "refuse-renew"]);
    expect(at("returned")).toEqual(["checkin"]);
    expect(at("cancel_requested")).toEqual(["accept-cancel", "refuse-cancel", "cancel"]);
    for (const terminal of [
      "unfilled",
      "cancelled",
      "completed",
      "copy_completed",
      "completed_without_return",
    ])
      expect(at(terminal)).toEqual([]);
  });

  it("offers exactly the verbs whose event has a row from the state, in every state of both machines", () => {
    for (const state of ill.REQUESTER_STATES)
      for (const verb of allowedActions(req("borrower", state))) {
        const { event } = resolveAction(req("borrower", state), { verb });
        expect(ill.requesterMachine.rowsFor(state, event as ill.RequesterEvent).length).toBeGreaterThan(0);
      }
    for (const state of ill.SUPPLIER_STATES)
      for (const verb of allowedActions(req("lender", state))) {
        const answer = verb === "respond" ? "no" : undefined;
        const { event } = resolveAction(req("lender", state), { verb, ...(answer ? { answer } : {}) });
        expect(ill.supplierMachine.rowsFor(state, event as ill.SupplierEvent).length).toBeGreaterThan(0);
      }
  });
});

describe("verb → machine event", () => {
  const cases: Array<[RequestState, string, string | undefined, IllEvent]> = [
    [req("borrower", "shipped"), "receive", undefined, "receive"],
    [req("borrower", "received"), "return", undefined, "return"],
    [req("borrower", "received"), "renew", undefined, "renew"],
    [req("borrower", "sent_to_supplier"), "cancel", undefined, "cancel"],
    [req("borrower", "review"), "approve", undefined, "approve"],
    [req("borrower", "conditional"), "accept", undefined, "accept_conditions"],
    [req("borrower", "conditional"), "reject", undefined, "reject_conditions"],
    [req("borrower", "sent_to_supplier"), "status", undefined, "status_request"],
    [req("lender", "new"), "respond", "yes", "respond_yes"],
    [req("lender", "new"), "respond", "no", "respond_no"],
    [req("lender", "new"), "respond", "conditional", "respond_conditional"],
    [req("lender", "new"), "respond", "expect", "respond_expect"],
    [req("lender", "will_supply"), "pick", undefined, "pick"],
    [req("lender", "pick"), "ship", undefined, "ship"],
    [req("lender", "pick", ServiceType.COPY), "ship", undefined, "deliver_copy"],
    [req("lender", "pick", ServiceType.COPY_OR_LOAN), "ship", undefined, "ship"],
    [req("lender", "pick", ServiceType.COPY_OR_LOAN), "ship", "copy", "deliver_copy"],
    [req("lender", "returned"), "checkin", undefined, "check_in"],
    [req("lender", "received_by_borrower"), "recall", undefined, "recall"],
    [req("lender", "received_by_borrower"), "overdue", undefined, "mark_overdue"],
    [req("lender", "overdue"), "lost", undefined, "complete_without_return"],
    [req("lender", "renew_requested"), "approve-renew", undefined, "approve_renew"],
    [req("lender", "renew_requested"), "refuse-renew", undefined, "refuse_renew"],
    [req("lender", "cancel_requested"), "accept-cancel", undefined, "accept_cancel"],
    [req("lender", "cancel_requested"), "refuse-cancel", undefined, "refuse_cancel"],
    [req("lender", "cancel_requested"), "cancel", undefined, "accept_cancel"],
    [req("lender", "will_supply"), "cancel", undefined, "respond_no"],
  ];
  it.each(cases)("%j %s %s → %s", (r, verb, answer, event) => {
    expect(resolveAction(r, { verb, ...(answer ? { answer } : {}) }).event).toBe(event);
  });

  it("covers every verb of both roles", () => {
    const seen = new Set(cases.map(([r, verb]) => `${r.role} ${verb}`));
    for (const v of BORROWER_VERBS) expect(seen).toContain(`borrower ${v}`);
    for (const v of LENDER_VERBS) expect(seen).toContain(`lender ${v}`);
  });

  it("carries an ISO reason with respond no and a lender's cancel, any case", () => {
    expect(
      resolveAction(req("lender", "new"), { verb: "respond", answer: "no", reason: "NotOnShelf" }),
    ).toEqual({
      verb: "respond",
      event: "respond_no",
      reasonUnfilled: ReasonUnfilled.NOT_ON_SHELF,
    });
    expect(
      resolveAction(req("lender", "will_supply"), { verb: "cancel", reason: "noncirculating" })
        .reasonUnfilled,
    ).toBe(ReasonUnfilled.NON_CIRCULATING);
  });

  it("refuses an unknown reason, listing the ISO codes", () => {
    const err = connectError(() =>
      resolveAction(req("lender", "new"), { verb: "respond", answer: "no", reason: "Gone" }),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(
      /reason: "Gone" is not an ISO 18626 reasonUnfilled code; use one of .*NotOnShelf/,
    );
  });

  it("refuses a reason where no Unfilled is sent, an answer where none is taken, a missing answer", () => {
    const r = req("lender", "new");
    expect(
      connectError(() => resolveAction(r, { verb: "respond", answer: "yes", reason: "NotHeld" })).code,
    ).toBe(Code.InvalidArgument);
    expect(connectError(() => resolveAction(r, { verb: "respond" })).rawMessage).toMatch(
      /answer: respond takes yes, no, conditional, expect/,
    );
    expect(connectError(() => resolveAction(r, { verb: "respond", answer: "maybe" })).code).toBe(
      Code.InvalidArgument,
    );
    expect(
      connectError(() => resolveAction(req("lender", "pick"), { verb: "pick", answer: "yes" })).code,
    ).toBe(Code.InvalidArgument);
    expect(
      connectError(() => resolveAction(req("lender", "pick"), { verb: "ship", answer: "fax" })).code,
    ).toBe(Code.InvalidArgument);
  });

  it("refuses an unknown verb, listing the verbs", () => {
    const err = connectError(() => resolveAction(req("borrower", "new"), { verb: "teleport" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/unknown action "teleport"; use one of receive, return/);
  });

  it("refuses the other role's verb, saying whose it is", () => {
    const lenders = connectError(() => resolveAction(req("borrower", "sent_to_supplier"), { verb: "ship" }));
    expect(lenders.code).toBe(Code.FailedPrecondition);
    expect(lenders.rawMessage).toBe(
      "ship is a lender's action: ILL request r1 is a borrowing request (sent_to_supplier)",
    );
    const borrowers = connectError(() => resolveAction(req("lender", "shipped"), { verb: "receive" }));
    expect(borrowers.rawMessage).toMatch(
      /^receive is a borrower's action: ILL request r1 is a lending request/,
    );
  });

  it("refuses a verb the state does not allow with the machine's refusal and what is allowed", () => {
    const err = connectError(() => resolveAction(req("borrower", "sent_to_supplier"), { verb: "receive" }));
    expect(err.code).toBe(Code.FailedPrecondition);
    expect(err.rawMessage).toBe(
      "ILL request r1 in state sent_to_supplier: receive refused: event receive is not allowed in state sent_to_supplier; allowed now: cancel, status",
    );
    const yes = connectError(() =>
      resolveAction(req("lender", "will_supply"), { verb: "respond", answer: "yes" }),
    );
    expect(yes.rawMessage).toMatch(/will_supply: respond yes refused: event respond_yes is not allowed/);
    const done = connectError(() => resolveAction(req("lender", "completed"), { verb: "checkin" }));
    expect(done.rawMessage).toMatch(/allowed now: nothing$/);
  });
});

const T0 = new Date("2025-03-10T09:00:00Z");

function sample(over: Partial<IllRequest> = {}): IllRequest {
  return {
    id: "b-1",
    role: "borrower",
    state: "sent_to_supplier",
    serviceType: ServiceType.COPY_OR_LOAN,
    partner: "south-a",
    clusterId: "north-rc:c42",
    bibliographicInfo: create(illPb.BibliographicInfoSchema, {
      title: "Middlemarch",
      author: "Eliot, George",
    }),
    patronId: "patron-1",
    needBefore: new Date(T0.getTime() + 30 * DAY),
    note: "vol. 2",
    rota: [
      { agencyId: "north-b", reason: "own region, available", region: "north", availability: "available" },
      {
        agencyId: "south-a",
        reason: "other region",
        region: "south",
        recordId: "rec-9",
        clusterId: "national:c7",
        responseTimeSeconds: 3,
        availability: "on_loan",
        lent: 4,
        borrowed: 2,
      },
    ],
    excluded: [{ agencyId: "north-c", reason: "lends no items", region: "north" }],
    attention: "north-b refused the request: ERROR",
    rotaPosition: 1,
    requestingAgencyRequestId: "b-1/1",
    supplyingAgencyRequestId: undefined,
    supplierStatus: illPb.Status.REQUEST_RECEIVED,
    dueDate: undefined,
    renewalsUsed: 0,
    maxRenewals: 0,
    duplicateOf: undefined,
    serviceLevel: "",
    maximumCost: undefined,
    copyrightCompliance: "",
    publicationDate: "",
    createdAt: T0,
    updatedAt: new Date(T0.getTime() + 60_000),
    ...over,
  };
}

describe("StaffRequest", () => {
  it("carries the request, its rota and holders left out, ISO status, and the allowed verbs", () => {
    const s = toStaffRequest(sample(), {
      timeline: [
        { seq: 1, from: undefined, to: "new", event: "created", at: T0, detail: {} },
        {
          seq: 2,
          from: "new",
          to: "validated",
          event: "validate",
          at: T0,
          detail: { note: "checked", effects: [], sent: [] },
        },
      ],
      messages: [{ messageId: "m1", direction: "out", kind: "Request", at: T0, confirmation: "OK" }],
      timers: [{ kind: "response", dueAt: new Date(T0.getTime() + 3000) }],
    });
    expect(toJson(illServicePb.StaffRequestSchema, s)).toEqual({
      id: "b-1",
      role: "borrower",
      status: "sent_to_supplier",
      type: "copy-or-loan",
      partner: "south-a",
      clusterId: "north-rc:c42",
      title: "Middlemarch",
      author: "Eliot, George",
      patronId: "patron-1",
      note: "vol. 2",
      needBefore: "2025-04-09T09:00:00Z",
      createdAt: "2025-03-10T09:00:00Z",
      updatedAt: "2025-03-10T09:01:00Z",
      rota: [
        {
          agencyId: "north-b",
          region: "north",
          included: true,
          reason: "own region, available",
          availability: "AVAILABILITY_AVAILABLE",
        },
        {
          agencyId: "south-a",
          region: "south",
          recordId: "rec-9",
          clusterId: "national:c7",
          included: true,
          reason: "other region",
          responseTimeSeconds: 3,
          availability: "AVAILABILITY_ON_LOAN",
          lent: "4",
          borrowed: "2",
        },
      ],
      excluded: [{ agencyId: "north-c", region: "north", reason: "lends no items" }],
      rotaPosition: 1,
      requestingAgencyRequestId: "b-1/1",
      supplierStatus: "RequestReceived",
      attention: "north-b refused the request: ERROR",
      actions: ["cancel", "status"],
      timeline: [
        { seq: "1", to: "new", event: "created", at: "2025-03-10T09:00:00Z" },
        {
          seq: "2",
          from: "new",
          to: "validated",
          event: "validate",
          at: "2025-03-10T09:00:00Z",
          note: "checked",
        },
      ],
      messages: [
        {
          messageId: "m1",
          direction: "out",
          kind: "Request",
          at: "2025-03-10T09:00:00Z",
          confirmation: "OK",
        },
      ],
      timers: [{ kind: "response", dueAt: "2025-03-10T09:00:03Z" }],
      bibliographicInfo: { title: "Middlemarch", author: "Eliot, George" },
    });
  });

  it("leaves out what a fresh lending request does not have", () => {
    const s = toStaffRequest(
      sample({
        role: "lender",
        state: "new",
        serviceType: ServiceType.COPY,
        patronId: undefined,
        rota: [],
        excluded: [],
        rotaPosition: -1,
        attention: undefined,
        supplierStatus: undefined,
      }),
    );
    expect(s).toMatchObject({
      type: "copy",
      patronId: "",
      attention: "",
      supplierStatus: "",
      rotaPosition: -1,
    });
    expect(s.actions).toEqual(["respond", "cancel"]);
    expect(s.timeline).toEqual([]);
    expect(s.rota).toEqual([]);
    expect(searchPb.Availability.UNSPECIFIED).toBe(0);
  });
});

/** The engine's network side faked: a fixed rota, canned messages and timers. */
class FakeEngine implements IllStaffEngine {
  mode: AutoRespondMode = "off";
  readonly borrowed: BorrowInput[] = [];
  readonly acted: Array<{ id: string; event: IllEvent; detail: ActionDetail | undefined }> = [];
  constructor(
    readonly store: IllStore,
    readonly rota: RotaEntry[],
  ) {}

  async borrow(input: BorrowInput): Promise<IllRequest> {
    this.borrowed.push(input);
    const r = this.store.createBorrowing({
      patronId: input.patronId,
      serviceType: input.serviceType,
      clusterId: input.clusterId ?? (input.title ? undefined : `isbn:${input.itemIds?.[0]?.value}`),
      bibliographicInfo: { title: input.title ?? "", author: input.author ?? "" },
      ...(input.needBefore ? { needBefore: input.needBefore } : {}),
      ...(input.note ? { note: input.note } : {}),
    });
    if (r.state !== "validated") return r;
    return this.store.applyAction(r.id, "send", {
      rota: this.rota,
      excluded: [{ agencyId: "north-c", reason: "lends no items" }],
    }).request;
  }

  async act(id: string, event: IllEvent, detail?: ActionDetail): Promise<IllRequest> {
    this.acted.push({ id, event, detail });
    return this.store.applyAction(id, event, detail).request;
  }

  messages(id: string): MessageLogEntry[] {
    return [{ messageId: `${id}-m1`, direction: "out", kind: "Request", at: T0, deliveredAt: T0 }];
  }

  timers(): TimerInfo[] {
    return [{ kind: "response", dueAt: new Date(T0.getTime() + 3000) }];
  }

  autoResponder(): AutoRespondMode {
    return this.mode;
  }

  setAutoResponder(mode: AutoRespondMode): void {
    this.mode = mode;
  }

  async shelfItems(r: IllRequest): Promise<ShelfItem[]> {
    return r.bibliographicInfo.title === "Lent Title"
      ? [
          {
            recordId: "rec-1",
            barcode: "B-1",
            callNumber: "PR4662 .A1",
            location: "Stacks",
            status: "available",
          },
        ]
      : [];
  }
}

/** A node with a store, its fake engine, and a client to its IllStaffService through a router. */
function staffFixture() {
  let clock = T0.getTime();
  let n = 0;
  const db = memoryDatabase(memberMigrations);
  const outbox = new Outbox(db);
  const store = new IllStore({
    db,
    outbox,
    agencyId: "north-a",
    now: () => new Date(clock),
    newId: () => `id-${++n}`,
  });
  const engine = new FakeEngine(store, [
    { agencyId: "north-b", reason: "own region", region: "north" },
    { agencyId: "south-a", reason: "other region", region: "south" },
  ]);
  const transport = createRouterTransport((router) => {
    router.service(
      illServicePb.IllStaffService,
      illStaffService(
        engine,
        () => new Date(clock),
        (id) =>
          id === "south-a" ? { name: "South Library A", postalAddress: "1 South St\nSouth Town" } : undefined,
      ),
    );
  });
  const client = createClient(illServicePb.IllStaffService, transport);
  /** A request arriving from `borrower` for this member to lend. */
  const lendingRequest = (borrower = "south-a", serviceType = ServiceType.LOAN): IllRequest => {
    const messageId = `in-${++n}`;
    return store.receiveRequest(
      create(illPb.RequestSchema, {
        header: {
          requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: borrower },
          supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "north-a" },
          requestingAgencyRequestId: `${borrower}-req-${n}/0`,
          messageId,
        },
        serviceInfo: { requestType: illPb.RequestType.NEW, serviceType },
        bibliographicInfo: { title: "Lent Title", author: "Someone" },
      }),
      messageId,
    ).request;
  };
  return {
    db,
    outbox,
    store,
    engine,
    client,
    lendingRequest,
    tick: (ms: number) => {
      clock += ms;
    },
  };
}

async function rejected(p: Promise<unknown>): Promise<ConnectError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConnectError);
  return err as ConnectError;
}

describe("IllStaffService", () => {
  let f: ReturnType<typeof staffFixture>;
  beforeEach(() => {
    f = staffFixture();
  });
  afterEach(() => f.db.close());

  describe("Borrow", () => {
    it("hands the checked input to the engine and answers the whole request", async () => {
      const res = await f.client.borrow({
        itemIds: [{ bibliographicItemIdentifierCode: "isbn", bibliographicItemIdentifier: "0-19-282760-X" }],
        serviceType: ServiceType.LOAN,
        note: "  for a seminar ",
      });
      expect(f.engine.borrowed).toEqual([
        {
          patronId: "library",
          serviceType: ServiceType.LOAN,
          itemIds: [{ code: "ISBN", value: "9780192827609" }],
          note: "for a seminar",
        },
      ]);
      const r = res.request!;
      expect(r).toMatchObject({
        role: "borrower",
        status: "sent_to_supplier",
        type: "loan",
        partner: "north-b",
      });
      expect(r.rota.map((c) => c.agencyId)).toEqual(["north-b", "south-a"]);
      expect(r.excluded.map((c) => [c.agencyId, c.reason])).toEqual([["north-c", "lends no items"]]);
      expect(r.timeline.map((t) => t.event)).toEqual(["created", "validate", "send"]);
      expect(r.messages).toHaveLength(1);
      expect(r.timers).toHaveLength(1);
      expect(r.actions).toEqual(["cancel", "status"]);
    });

    it("requires something to find the title by, naming the field", async () => {
      const err = await rejected(f.client.borrow({ serviceType: ServiceType.LOAN, author: "Eliot" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(
        /^cluster_id: a cluster id, an ISBN or ISSN \(item_ids\), or a title is required/,
      );
      expect(f.engine.borrowed).toEqual([]);
    });

    it("requires a service type", async () => {
      const err = await rejected(f.client.borrow({ title: "Middlemarch" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^service_type: is required/);
    });

    it("refuses a mistyped ISBN or ISSN and a need-before date in the past", async () => {
      const isbn = await rejected(
        f.client.borrow({
          serviceType: ServiceType.LOAN,
          itemIds: [
            { bibliographicItemIdentifierCode: "ISBN", bibliographicItemIdentifier: "9780192827600" },
          ],
        }),
      );
      expect(isbn.rawMessage).toBe('item_ids[0]: "9780192827600" is not a valid ISBN');
      const issn = await rejected(
        f.client.borrow({
          serviceType: ServiceType.COPY,
          itemIds: [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: "0028-0837" }],
        }),
      );
      expect(issn.code).toBe(Code.InvalidArgument);
      const past = await rejected(
        f.client.borrow({
          serviceType: ServiceType.LOAN,
          title: "Middlemarch",
          needBefore: timestampFromDate(new Date(T0.getTime() - DAY)),
        }),
      );
      expect(past.rawMessage).toMatch(/^need_before: .* is not in the future/);
    });

    it("passes on the store's own refusals with their code", async () => {
      const first = await f.client.borrow({
        serviceType: ServiceType.LOAN,
        title: "Middlemarch",
        patronId: "p1",
      });
      const again = await f.client.borrow({
        serviceType: ServiceType.LOAN,
        title: "Middlemarch",
        patronId: "p1",
      });
      expect(again.request).toMatchObject({ status: "review", duplicateOf: first.request!.id });
      expect(again.request!.actions).toEqual(["cancel", "approve"]);
    });
  });

  describe("ListRequests", () => {
    it("filters by role and state, the latest first, up to the limit", async () => {
      await f.client.borrow({ serviceType: ServiceType.LOAN, title: "One" });
      f.tick(1000);
      const lent = f.lendingRequest();
      f.tick(1000);
      await f.client.borrow({ serviceType: ServiceType.COPY, title: "Two" });
      const all = await f.client.listRequests({});
      expect(all.requests.map((r) => r.title)).toEqual(["Two", "Lent Title", "One"]);
      expect(all.requests[0]!.timeline.length).toBeGreaterThan(0);
      expect(all.requests[0]!.messages).toEqual([]);
      const lenders = await f.client.listRequests({ role: "lender", status: "new" });
      expect(lenders.requests.map((r) => r.id)).toEqual([lent.id]);
      expect(lenders.requests[0]).toMatchObject({
        role: "lender",
        partner: "south-a",
        actions: ["respond", "cancel"],
      });
      const one = await f.client.listRequests({ role: "borrower", limit: 1 });
      expect(one.requests.map((r) => r.title)).toEqual(["Two"]);
    });

    it("pages newest first with next_page_token, without a gap or a repeat as requests arrive", async () => {
      // Two made in the same millisecond: the id orders them.
      for (const title of ["A", "B", "C"]) {
        await f.client.borrow({ serviceType: ServiceType.LOAN, title });
        f.tick(1000);
      }
      await f.client.borrow({ serviceType: ServiceType.LOAN, title: "D" });
      await f.client.borrow({ serviceType: ServiceType.LOAN, title: "E" });
      const first = await f.client.listRequests({ role: "borrower", limit: 2 });
      expect(first.requests).toHaveLength(2);
      expect(first.nextPageToken).not.toBe("");
      // One arriving meanwhile goes to the front: the next pages do not see it again or lose one.
      f.tick(1000);
      await f.client.borrow({ serviceType: ServiceType.LOAN, title: "F" });
      const seen = first.requests.map((r) => r.title);
      let token = first.nextPageToken;
      while (token !== "") {
        const page = await f.client.listRequests({ role: "borrower", limit: 2, pageToken: token });
        seen.push(...page.requests.map((r) => r.title));
        token = page.nextPageToken;
      }
      expect(seen.slice(0, 2).sort()).toEqual(["D", "E"]);
      expect(seen.slice(2)).toEqual(["C", "B", "A"]);
      const all = await f.client.listRequests({ role: "borrower" });
      expect(all.requests.map((r) => r.title)[0]).toBe("F");
      expect(all.nextPageToken).toBe("");
      const err = await rejected(f.client.listRequests({ pageToken: "not-a-token" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(/^page_token: not a token this node gave/);
    });

    it("refuses an unknown role or state, listing the states", async () => {
      expect((await rejected(f.client.listRequests({ role: "patron" }))).code).toBe(Code.InvalidArgument);
      const err = await rejected(f.client.listRequests({ role: "lender", status: "sent_to_supplier" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(
        /status: "sent_to_supplier" is not a state of a lender's request; use one of new,/,
      );
    });
  });

  describe("ShowRequest", () => {
    it("answers NotFound for an unknown id and InvalidArgument for none", async () => {
      const err = await rejected(f.client.showRequest({ id: "nope" }));
      expect(err.code).toBe(Code.NotFound);
      expect(err.rawMessage).toBe("no ILL request nope");
      expect((await rejected(f.client.showRequest({ id: " " }))).code).toBe(Code.InvalidArgument);
    });

    it("shows timeline, messages and timers", async () => {
      const lent = f.lendingRequest();
      const res = await f.client.showRequest({ id: lent.id });
      expect(res.request).toMatchObject({ id: lent.id, role: "lender", status: "new", title: "Lent Title" });
      expect(res.request!.timeline.map((t) => [t.from, t.to, t.event])).toEqual([["", "new", "created"]]);
      expect(res.request!.messages.map((m) => m.kind)).toEqual(["Request"]);
      expect(res.request!.timers.map((t) => t.kind)).toEqual(["response"]);
    });

    it("gives a lender request's copies on the shelf and the borrower's address, for slips and labels", async () => {
      const lent = f.lendingRequest();
      const { request } = await f.client.showRequest({ id: lent.id });
      expect(
        request!.shelfItems.map((i) => [i.barcode, i.callNumber, i.location, i.status, i.recordId]),
      ).toEqual([["B-1", "PR4662 .A1", "Stacks", "available", "rec-1"]]);
      expect(request).toMatchObject({
        partnerName: "South Library A",
        partnerAddress: "1 South St\nSouth Town",
      });
      // A borrower's request lists no shelf: the copies are the lender's.
      const asked = await f.client.borrow({ serviceType: ServiceType.LOAN, title: "Lent Title" });
      expect((await f.client.showRequest({ id: asked.request!.id })).request!.shelfItems).toEqual([]);
    });
  });

  describe("Act", () => {
    it("answers no with an ISO reason: the Unfilled goes out with it", async () => {
      const lent = f.lendingRequest();
      const res = await f.client.act({
        id: lent.id,
        action: "respond",
        answer: "no",
        reason: "NotOnShelf",
        note: "sorry",
      });
      expect(res.request).toMatchObject({ status: "unfilled", actions: [] });
      expect(f.engine.acted).toEqual([
        {
          id: lent.id,
          event: "respond_no",
          detail: { note: "sorry", reasonUnfilled: ReasonUnfilled.NOT_ON_SHELF },
        },
      ]);
      const sent = f.outbox.nextDue("parent");
      expect(sent && "kind" in sent && sent.kind).toBe(ILL_KINDS.supplyingAgencyMessage);
      const sam = fromBinary(illPb.SupplyingAgencyMessageSchema, (sent as { payload: Uint8Array }).payload);
      expect(sam.messageInfo?.reasonUnfilled).toBe(ReasonUnfilled.NOT_ON_SHELF);
    });

    it("lends through to the due date given, and refuses a due date on other actions", async () => {
      const lent = f.lendingRequest();
      await f.client.act({ id: lent.id, action: "respond", answer: "yes" });
      const due = new Date(T0.getTime() + 14 * DAY);
      const err = await rejected(
        f.client.act({ id: lent.id, action: "pick", dueDate: timestampFromDate(due) }),
      );
      expect(err.rawMessage).toBe("due_date: only ship and approve-renew take a due date, not pick");
      const shipped = await f.client.act({ id: lent.id, action: "ship", dueDate: timestampFromDate(due) });
      expect(shipped.request!.status).toBe("shipped");
      expect(shipped.request!.dueDate).toEqual(timestampFromDate(due));
    });

    it("gives the machine's guard refusal in the staff's words, and changes nothing", async () => {
      const lent = f.lendingRequest();
      await f.client.act({ id: lent.id, action: "respond", answer: "yes" });
      await f.client.act({ id: lent.id, action: "ship" });
      const before = f.store.timeline(lent.id).length;
      const err = await rejected(f.client.act({ id: lent.id, action: "overdue" }));
      expect(err.code).toBe(Code.FailedPrecondition);
      expect(err.rawMessage).toBe(
        `ILL request ${lent.id} in state shipped: overdue refused: event mark_overdue is not allowed in state shipped unless the due date has passed`,
      );
      expect(f.store.timeline(lent.id)).toHaveLength(before);
    });

    it("refuses a state's wrong verb and the other role's verb with FailedPrecondition", async () => {
      const b = (await f.client.borrow({ serviceType: ServiceType.LOAN, title: "Middlemarch" })).request!;
      const wrong = await rejected(f.client.act({ id: b.id, action: "receive" }));
      expect(wrong.code).toBe(Code.FailedPrecondition);
      expect(wrong.rawMessage).toMatch(/in state sent_to_supplier: receive refused/);
      const role = await rejected(f.client.act({ id: b.id, action: "ship" }));
      expect(role.rawMessage).toMatch(/ship is a lender's action/);
      expect((await rejected(f.client.act({ id: "nope", action: "receive" }))).code).toBe(Code.NotFound);
      expect(f.engine.acted).toEqual([]);
    });

    it("cancels at a lender: answers no before the borrower asked, accepts once it has", async () => {
      const lent = f.lendingRequest();
      const res = await f.client.act({ id: lent.id, action: "cancel", reason: "PolicyProblem" });
      expect(res.request!.status).toBe("unfilled");
      expect(f.engine.acted.at(-1)?.event).toBe("respond_no");

      const asked = f.lendingRequest();
      await f.client.act({ id: asked.id, action: "respond", answer: "yes" });
      const cancel = create(illPb.RequestingAgencyMessageSchema, {
        header: {
          requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "south-a" },
          supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "north-a" },
          requestingAgencyRequestId: asked.requestingAgencyRequestId,
          messageId: "cancel-1",
        },
        action: illPb.Action.CANCEL,
      });
      f.store.applyIncoming(asked.id, ill.supplierEventOf(cancel)!, cancel, "cancel-1");
      const waiting = await f.client.showRequest({ id: asked.id });
      expect(waiting.request!.actions).toEqual(["accept-cancel", "refuse-cancel", "cancel"]);
      const accepted = await f.client.act({ id: asked.id, action: "cancel" });
      expect(accepted.request!.status).toBe("cancelled");
      expect(f.engine.acted.at(-1)?.event).toBe("accept_cancel");
    });
  });

  describe("SetAutoResponder", () => {
    it("switches the mode, answers the current one for an empty mode, refuses an unknown one", async () => {
      expect((await f.client.setAutoResponder({ mode: "Availability" })).mode).toBe("availability");
      expect((await f.client.setAutoResponder({})).mode).toBe("availability");
      const err = await rejected(f.client.setAutoResponder({ mode: "always" }));
      expect(err.code).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toBe('mode: "always" is not one of off, availability, scenario');
    });
  });
});
