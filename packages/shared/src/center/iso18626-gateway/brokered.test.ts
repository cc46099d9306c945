import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Database } from "../../db.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { DirectorySchema } from "../../gen/lrs/v1/directory_pb.js";
import {
  Action,
  RequestingAgencyMessageSchema,
  RequestSchema,
  ServiceType,
  Status,
  type SupplyingAgencyMessage,
  SupplyingAgencyMessageSchema,
} from "../../gen/lrs/v1/ill_pb.js";
import { BuildRotaResponseSchema, type IllEnvelope } from "../../gen/lrs/v1/ill_service_pb.js";
import { envelopeFromOutbox, envelopeOf } from "../../iso18626/envelope.js";
import { ISO18626_CODES } from "../../iso18626/iso18626-xml.js";
import { createLogger } from "../../log.js";
import { sharedMigrations } from "../../migrations.js";
import { Outbox } from "../../outbox.js";
import { fixedDirectory, NAT, NORTH_RC } from "../../testing/index.js";
import { illRelayMigrations } from "../ill-broker/migrations.js";
import { IllRelay } from "../ill-broker/relay.js";
import { BrokeredRequests, BrokerRefusal } from "./brokered.js";
import { gatewayMigrations } from "./migrations.js";

const log = createLogger("test");
const directory = fixedDirectory(
  create(DirectorySchema, {
    version: 2n,
    authorityId: "nat",
    institutions: [
      { id: "nat", tier: Tier.NATIONAL },
      { id: "north-rc", tier: Tier.REGIONAL, region: "north" },
      { id: "south-rc", tier: Tier.REGIONAL, region: "south" },
      { id: "north-b", tier: Tier.MEMBER, region: "north" },
      { id: "south-a", tier: Tier.MEMBER, region: "south" },
    ],
    externalPartners: [{ id: "princeton", agencyIdType: "ISIL", agencyIdValue: "US-NjP", mayBorrow: true }],
  }),
);

/** A national center's relay and broker, with a rota of north-b (3 s) then south-a. */
function open(rota = ["north-b", "south-a"]) {
  const db = Database.open(":memory:", [...sharedMigrations, ...illRelayMigrations, ...gatewayMigrations]);
  const outbox = new Outbox(db);
  const relay = new IllRelay({ db, outbox, directory, self: NAT, log });
  let now = new Date("2026-12-05T10:00:00Z");
  const brokered = new BrokeredRequests({
    db,
    relay,
    directory,
    log,
    now: () => now,
    rota: {
      buildRotaForPartner: async () =>
        create(BuildRotaResponseSchema, {
          rota: rota.map((agencyId) => ({ agencyId, reason: "other region", responseTimeSeconds: 3 })),
        }),
    },
  });
  /** What waits in the outbox, and empties it (as if delivered). */
  const sent = (): Array<{ to: string; env: IllEnvelope }> => {
    const rows = db.sqlite
      .prepare("SELECT seq, destination, kind, payload FROM outbox WHERE delivered_at IS NULL ORDER BY seq")
      .all() as Array<{ seq: number; destination: string; kind: string; payload: Buffer }>;
    for (const r of rows) outbox.markDelivered(r.seq);
    return rows.map((r) => ({
      to: r.destination,
      env: envelopeFromOutbox(r.kind, new Uint8Array(r.payload)),
    }));
  };
  /** Runs the worker until it has done one round. */
  const round = async () => {
    const stop = new AbortController();
    const running = brokered.run(stop.signal);
    await new Promise((r) => setTimeout(r, 50));
    stop.abort();
    await running;
  };
  const later = (ms: number) => {
    now = new Date(now.getTime() + ms);
  };
  return { db, relay, brokered, sent, round, later };
}

const partnerRequest = (id: string) =>
  create(RequestSchema, {
    header: {
      requestingAgencyId: { agencyIdType: "ISIL", agencyIdValue: "US-NjP" },
      supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: "nat" },
      requestingAgencyRequestId: id,
      timestamp: timestampFromDate(new Date("2026-12-05T10:00:00Z")),
    },
    bibliographicInfo: { title: "Signals and systems" },
    serviceInfo: { serviceType: ServiceType.LOAN },
  });

/** A lender's answer about rota position `n`, as its regional center delivers it to the national one. */
const answer = (lender: string, id: string, status: Status, messageId: string) =>
  envelopeOf(
    create(SupplyingAgencyMessageSchema, {
      header: {
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: lender },
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: "princeton" },
        requestingAgencyRequestId: id,
        messageId,
      },
      statusInfo: { status },
    }),
  );

/** The partner's action about its request `id` to the federation, as the gateway hands it to the broker. */
const partnerAction = (b: ReturnType<typeof open>, id: string, action: Action, messageId: string) =>
  b.brokered.partnerMessage(
    create(RequestingAgencyMessageSchema, { header: { requestingAgencyRequestId: id }, action }),
    "princeton",
    messageId,
  );

const status = (e: IllEnvelope) =>
  ISO18626_CODES.status.toXml((e.message.value as SupplyingAgencyMessage).statusInfo?.status ?? 0);

describe("a partner's request brokered by the federation", () => {
  it("asks the rota in turn, the partner seeing one continuous request, and takes a lender's message once", async () => {
    const b = open();
    b.db.transaction(() => b.brokered.accept(partnerRequest("P-9"), "princeton", "iso18626-m1"));
    await b.round();
    const first = b.sent();
    expect(first.map((s) => [s.to, s.env.destinationAgencyId, s.env.requestingAgencyRequestId])).toEqual([
      ["child:north-rc", "north-b", "P-9/b1"],
    ]);
    expect(first[0]!.env.originAgencyId).toBe("princeton");
    // north-b cannot supply: south-a is asked, the partner hears ExpectToSupply from the federation.
    const unfilled = answer("north-b", "P-9/b1", Status.UNFILLED, "nb-1");
    b.relay.deliver(unfilled, NORTH_RC);
    const second = b.sent();
    expect(second.map((s) => [s.to, s.env.message.case, s.env.destinationAgencyId])).toEqual([
      ["child:north-rc", "supplyingAgencyMessageConfirmation", "north-b"],
      ["child:south-rc", "request", "south-a"],
      ["iso18626:princeton", "supplyingAgencyMessage", "princeton"],
    ]);
    expect(status(second[2]!.env)).toBe("ExpectToSupply");
    expect(second[2]!.env.originAgencyId).toBe("nat");
    // The same message again (a retry of the hop): stored once, nothing sent twice.
    expect(b.relay.deliver(unfilled, NORTH_RC).duplicate).toBe(true);
    expect(b.sent()).toEqual([]);
    // south-a lends: passed on as the federation's, about the partner's own request id.
    b.relay.deliver(answer("south-a", "P-9/b2", Status.LOANED, "sa-1"), {
      ...NORTH_RC,
      id: "south-rc",
      region: "south",
    });
    const loaned = b.sent().find((s) => s.to === "iso18626:princeton")!.env;
    expect(status(loaned)).toBe("Loaned");
    const h = (loaned.message.value as SupplyingAgencyMessage).header!;
    expect([h.supplyingAgencyId?.agencyIdValue, h.requestingAgencyRequestId]).toEqual(["nat", "P-9"]);
    expect(h.supplyingAgencyRequestId).toBe(
      (second[2]!.env.message.value as SupplyingAgencyMessage).header!.supplyingAgencyRequestId,
    );
    // A late word from north-b, no longer asked: kept, not passed on.
    b.relay.deliver(answer("north-b", "P-9/b1", Status.WILL_SUPPLY, "nb-2"), NORTH_RC);
    expect(b.sent()).toEqual([]);
    // The partner's Received goes to the lender of the moment.
    const received = partnerAction(b, "P-9", Action.RECEIVED, "iso18626-m2")!;
    expect([received.destinationAgencyId, received.requestingAgencyRequestId]).toEqual(["south-a", "P-9/b2"]);
  });

  it("tells the partner Unfilled only at the end of the rota, and passes over a silent lender", async () => {
    const b = open();
    b.db.transaction(() => b.brokered.accept(partnerRequest("P-10"), "princeton", "iso18626-m3"));
    await b.round();
    b.sent();
    // north-b says nothing for longer than its 3 s: withdrawn there, south-a asked.
    b.later(4000);
    await b.round();
    const moved = b.sent();
    expect(moved.map((s) => [s.to, s.env.message.case])).toEqual([
      ["child:north-rc", "requestingAgencyMessage"],
      ["child:south-rc", "request"],
      ["iso18626:princeton", "supplyingAgencyMessage"],
    ]);
    expect((moved[0]!.env.message.value as { action: Action }).action).toBe(Action.CANCEL);
    b.relay.deliver(answer("south-a", "P-10/b2", Status.UNFILLED, "sa-2"), {
      ...NORTH_RC,
      id: "south-rc",
      region: "south",
    });
    const end = b.sent().filter((s) => s.to === "iso18626:princeton");
    expect(end.map((s) => status(s.env))).toEqual(["Unfilled"]);
    // Nothing more can be asked of it.
    expect(() => partnerAction(b, "P-10", Action.RENEW, "iso18626-m4")).toThrow(BrokerRefusal);
  });

  it("cancels before any lender is asked, and refuses a request id used twice", async () => {
    const b = open();
    b.db.transaction(() => b.brokered.accept(partnerRequest("P-11"), "princeton", "iso18626-m5"));
    expect(() => b.brokered.accept(partnerRequest("P-11"), "princeton", "iso18626-m6")).toThrow(
      /P-11 is already a request of princeton/,
    );
    const cancel = partnerAction(b, "P-11", Action.CANCEL, "iso18626-m7");
    expect(cancel).toBeUndefined();
    expect(b.sent().map((s) => status(s.env))).toEqual(["Cancelled"]);
    // The rota worker finds nothing left to do.
    await b.round();
    expect(b.sent()).toEqual([]);
  });

  it("answers Unfilled when no library can supply it", async () => {
    const b = open([]);
    b.db.transaction(() => b.brokered.accept(partnerRequest("P-12"), "princeton", "iso18626-m8"));
    await b.round();
    const told = b.sent();
    expect(told.map((s) => [s.to, status(s.env)])).toEqual([["iso18626:princeton", "Unfilled"]]);
    expect((told[0]!.env.message.value as SupplyingAgencyMessage).messageInfo?.note).toMatch(
      /^no library of the federation can supply it/,
    );
  });
});
