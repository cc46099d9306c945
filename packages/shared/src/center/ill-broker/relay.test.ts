import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Database } from "../../db.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { type Directory, DirectorySchema } from "../../gen/lrs/v1/directory_pb.js";
import { RequestSchema, Status, SupplyingAgencyMessageSchema } from "../../gen/lrs/v1/ill_pb.js";
import { type IllEnvelope, IllService } from "../../gen/lrs/v1/ill_service_pb.js";
import { DELIVER_BATCH_MAX } from "../../iso18626/deliver-batch.js";
import { confirmationOf, EnvelopeError, envelopeOf } from "../../iso18626/envelope.js";
import { IllForbiddenError, IllRouteError } from "../../iso18626/route-errors.js";
import { createLogger } from "../../log.js";
import { sharedMigrations } from "../../migrations.js";
import { PARENT } from "../../node/parent-link.js";
import { Outbox, type OutboxMessage } from "../../outbox.js";
import { NotFoundError } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import { fixedDirectory, memberIdentity, NAT, NORTH_RC, SOUTH_RC } from "../../testing/index.js";
import type { NodeIdentity } from "../../tls/pki.js";
import type { RotaBroker } from "./broker.js";
import { runChildDelivery } from "./child-delivery.js";
import { illCenterService } from "./ill-service.js";
import { illRelayMigrations } from "./migrations.js";
import { IllRelay } from "./relay.js";

const log = createLogger("test");

const DIRECTORY: Directory = create(DirectorySchema, {
  version: 3n,
  authorityId: "nat",
  institutions: [
    { id: "nat", tier: Tier.NATIONAL },
    { id: "north-rc", tier: Tier.REGIONAL, region: "north" },
    { id: "south-rc", tier: Tier.REGIONAL, region: "south" },
    { id: "north-a", tier: Tier.MEMBER, region: "north" },
    { id: "north-b", tier: Tier.MEMBER, region: "north" },
    { id: "north-x", tier: Tier.MEMBER, region: "north", revoked: true },
    { id: "south-a", tier: Tier.MEMBER, region: "south" },
    { id: "west-a", tier: Tier.MEMBER, region: "west" },
  ],
});

const directory = fixedDirectory(DIRECTORY);

const member = memberIdentity;

function request(from: string, to: string, requestId: string, messageId: string): IllEnvelope {
  return envelopeOf(
    create(RequestSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: from },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: to },
        requestingAgencyRequestId: requestId,
        messageId,
      },
    }),
  );
}

function supplying(lender: string, borrower: string, requestId: string, messageId: string, status: Status) {
  return envelopeOf(
    create(SupplyingAgencyMessageSchema, {
      header: {
        requestingAgencyId: { agencyIdType: "LRS", agencyIdValue: borrower },
        supplyingAgencyId: { agencyIdType: "LRS", agencyIdValue: lender },
        requestingAgencyRequestId: requestId,
        messageId,
      },
      statusInfo: { status },
    }),
  );
}

function open(self: NodeIdentity) {
  const db = Database.open(":memory:", [...sharedMigrations, ...illRelayMigrations]);
  const outbox = new Outbox(db);
  const relay = new IllRelay({ db, outbox, directory, self, log });
  const pending = (destination: string) => {
    const m = outbox.nextDue(destination);
    return m && "seq" in m ? m : undefined;
  };
  return { db, outbox, relay, pending };
}

describe("relay at a regional center", () => {
  let n: ReturnType<typeof open>;
  beforeEach(() => {
    n = open(NORTH_RC);
  });
  afterEach(() => n.db.close());

  it("routes to its own members directly and anything else to the national center", () => {
    const local = n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    expect(local).toMatchObject({ duplicate: false, nodeId: "north-rc", disposition: "stored for north-b" });
    expect(n.pending("child:north-b")?.messageId).toBe("m1");
    const far = n.relay.deliver(request("north-a", "south-a", "r1/2", "m2"), member("north-a"));
    expect(far.disposition).toBe("stored for nat");
    expect(n.pending(PARENT)).toMatchObject({ messageId: "m2", kind: "ill.envelope" });
  });

  it("stores a message once: a retry is answered duplicate and queues nothing", () => {
    n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    const again = n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    expect(again).toMatchObject({ duplicate: true, disposition: "already stored for north-b" });
    expect(n.outbox.pendingCount()).toBe(1);
    expect(n.db.sqlite.prepare("SELECT count(*) AS c FROM ill_relay").get()).toEqual({ c: 1 });
  });

  it("stores a batch in order in one transaction, stops at a refusal, and answers a resent batch duplicate", () => {
    const a = member("north-a");
    const ok1 = request("north-a", "north-b", "r1/1", "m1");
    const ok2 = request("north-a", "south-a", "r1/2", "m2");
    const bad = request("north-a", "nowhere", "r1/3", "m3");
    const after = request("north-a", "north-b", "r1/4", "m4");
    // The one refused and the ones after it are not stored: the sender sends them again.
    const first = n.relay.deliverBatch([ok1, ok2, bad, after], a);
    expect(first.map((r) => r.disposition)).toEqual(["stored for north-b", "stored for nat"]);
    expect(n.db.sqlite.prepare("SELECT count(*) AS c FROM ill_relay").get()).toEqual({ c: 2 });
    // Resent after a lost answer: nothing twice.
    expect(n.relay.deliverBatch([ok1, ok2], a).map((r) => r.duplicate)).toEqual([true, true]);
    expect(n.outbox.pendingCount()).toBe(2);
    // First of its batch, the refusal is the call's error, as Deliver's.
    expect(() => n.relay.deliverBatch([bad, after], a)).toThrow(/nowhere is not in the federation directory/);
    expect(n.db.sqlite.prepare("SELECT count(*) AS c FROM ill_relay").get()).toEqual({ c: 2 });
    expect(() => n.relay.deliverBatch([], a)).toThrow(/at least one/);
    const many = Array.from({ length: DELIVER_BATCH_MAX + 1 }, (_, i) =>
      request("north-a", "north-b", `r9/${i}`, `x${i}`),
    );
    expect(() => n.relay.deliverBatch(many, a)).toThrow(
      `101 in one call, more than the limit of ${DELIVER_BATCH_MAX}`,
    );
  });

  it("takes from a member only its own messages, and from the national center only this region's", () => {
    expect(() => n.relay.deliver(request("north-b", "north-a", "r1/1", "m1"), member("north-a"))).toThrow(
      new IllForbiddenError("north-a may send only its own messages, not ones from north-b"),
    );
    expect(() => n.relay.deliver(request("south-a", "north-b", "r1/1", "m1"), member("south-a"))).toThrow(
      IllForbiddenError,
    );
    expect(n.relay.deliver(request("south-a", "north-b", "s1/1", "m2"), NAT).disposition).toBe(
      "stored for north-b",
    );
    expect(() => n.relay.deliver(request("west-a", "south-a", "w1/1", "m3"), NAT)).toThrow(
      /members of region north only/,
    );
    expect(() => n.relay.deliver(request("north-a", "north-b", "r1/1", "m4"), SOUTH_RC)).toThrow(
      IllForbiddenError,
    );
    expect(n.outbox.pendingCount()).toBe(1);
  });

  it("refuses what it cannot route, naming the destination", () => {
    expect(() => n.relay.deliver(request("north-a", "nowhere", "r1/1", "m1"), member("north-a"))).toThrow(
      new NotFoundError("destination agency nowhere is not in the federation directory"),
    );
    expect(() => n.relay.deliver(request("north-a", "north-x", "r1/1", "m2"), member("north-a"))).toThrow(
      new IllRouteError("destination agency north-x has been revoked"),
    );
    expect(() => n.relay.deliver(request("north-a", "south-rc", "r1/1", "m3"), member("north-a"))).toThrow(
      /south-rc is a regional, not a member library/,
    );
    expect(n.outbox.pendingCount()).toBe(0);
  });

  it("checks the envelope first, naming the field", () => {
    const env = request("north-a", "north-b", "r1/1", "m1");
    env.messageId = "other";
    expect(() => n.relay.deliver(env, member("north-a"))).toThrow(EnvelopeError);
    expect(() => n.relay.deliver(env, member("north-a"))).toThrow(/envelope\.request\.header\.messageId/);
  });

  it("routes confirmations back to the sender", () => {
    const req = request("north-a", "north-b", "r1/1", "m1");
    n.relay.deliver(req, member("north-a"));
    const conf = confirmationOf(req, [], { messageId: "c1" });
    expect(n.relay.deliver(conf, member("north-b")).disposition).toBe("stored for north-a");
    expect(n.pending("child:north-a")?.messageId).toBe("c1");
    // A confirmation from another region comes down from the national center.
    const far = confirmationOf(request("north-a", "south-a", "r2/1", "m2"), [], { messageId: "c2" });
    expect(n.relay.deliver(far, NAT).disposition).toBe("stored for north-a");
  });

  it("traces a request by its id or an ISO id, with the next hop's progress", () => {
    n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    n.relay.deliver(request("north-a", "south-a", "r1/2", "m2"), member("north-a"));
    n.relay.deliver(request("north-a", "north-b", "r9/1", "m9"), member("north-a"));
    const first = n.pending("child:north-b") as OutboxMessage;
    n.outbox.markDelivered(first.seq);
    const up = n.pending(PARENT) as OutboxMessage;
    n.outbox.markFailed(up.seq, up.attempts, "national center unreachable");

    const hops = n.relay.hops("r1");
    expect(hops.map((h) => [h.messageId, h.kind, h.receivedFrom, h.nextHop])).toEqual([
      ["m1", "Request", "north-a", "north-b"],
      ["m2", "Request", "north-a", "nat"],
    ]);
    expect(hops[0]!.forwardedAt).toBeDefined();
    expect(hops[1]).toMatchObject({ attempts: 1, lastError: "national center unreachable" });
    expect(hops[1]!.forwardedAt).toBeUndefined();
    expect(n.relay.hops("r1/2").map((h) => h.messageId)).toEqual(["m2"]);
    expect(n.relay.hops("nothing")).toEqual([]);
  });

  it("counts requests made (once per borrower's request) and loans and copies supplied", () => {
    n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    n.relay.deliver(request("north-a", "south-a", "r1/2", "m2"), member("north-a"));
    n.relay.deliver(request("north-a", "north-b", "r2/1", "m3"), member("north-a"));
    n.relay.deliver(supplying("north-b", "north-a", "r1/1", "s1", Status.WILL_SUPPLY), member("north-b"));
    n.relay.deliver(supplying("north-b", "north-a", "r1/1", "s2", Status.LOANED), member("north-b"));
    n.relay.deliver(supplying("north-b", "north-a", "r2/1", "s3", Status.COPY_COMPLETED), member("north-b"));
    n.relay.deliver(supplying("south-a", "north-a", "r1/2", "s4", Status.LOANED), NAT);
    expect(Object.fromEntries(n.relay.balances(["north-a", "north-b", "south-a", "west-a"]))).toEqual({
      "north-a": { lent: 0, borrowed: 2 },
      "north-b": { lent: 2, borrowed: 0 },
      "south-a": { lent: 1, borrowed: 0 },
      "west-a": { lent: 0, borrowed: 0 },
    });
  });
});

describe("relay at the national center", () => {
  let n: ReturnType<typeof open>;
  beforeEach(() => {
    n = open(NAT);
  });
  afterEach(() => n.db.close());

  it("hands a message to the regional center of the destination's region", () => {
    const res = n.relay.deliver(request("south-a", "north-a", "s1/1", "m1"), SOUTH_RC);
    expect(res.disposition).toBe("stored for north-rc");
    expect(n.pending("child:north-rc")?.messageId).toBe("m1");
    const back = confirmationOf(request("south-a", "north-a", "s1/1", "m1"), [], { messageId: "c1" });
    expect(n.relay.deliver(back, NORTH_RC).disposition).toBe("stored for south-rc");
  });

  it("takes from a regional center only its own members' messages", () => {
    expect(() => n.relay.deliver(request("north-a", "south-a", "r1/1", "m1"), SOUTH_RC)).toThrow(
      new IllForbiddenError(
        "south-rc may send messages of members of region south only, and north-a is not one",
      ),
    );
  });

  it("refuses a message back into its own region and one for a region without a center", () => {
    expect(() => n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), NORTH_RC)).toThrow(
      /north-b is in north-rc's own region north/,
    );
    expect(() => n.relay.deliver(request("north-a", "west-a", "r1/1", "m2"), NORTH_RC)).toThrow(
      new IllRouteError("no regional center serves region west (of west-a)"),
    );
  });
});

/** A router transport whose every call comes from `caller`. */
function asCaller<T>(caller: NodeIdentity, routes: Parameters<typeof createRouterTransport>[0]) {
  return createRouterTransport(routes, {
    router: {
      interceptors: [
        (next) => (req) => {
          req.contextValues.set(peerKey, {
            presented: true,
            authorized: true,
            identity: caller,
            fingerprint256: "x",
          });
          return next(req);
        },
      ],
    },
  }) as unknown as T;
}

describe("IllService at a center", () => {
  function service(n: ReturnType<typeof open>, caller: NodeIdentity) {
    const transport = asCaller<ReturnType<typeof createRouterTransport>>(caller, (router) =>
      router.service(
        IllService,
        illCenterService({
          self: NORTH_RC,
          relay: n.relay,
          broker: {} as RotaBroker,
          directory,
          peers: {
            client: () => {
              throw new Error("this test follows no trace");
            },
          },
          log,
        }),
      ),
    );
    return createClient(IllService, transport);
  }

  it("maps refusals to codes that name what was wrong", async () => {
    const n = open(NORTH_RC);
    const c = service(n, member("north-a"));
    const code = async (env: IllEnvelope | undefined) =>
      c.deliver(env ? { envelope: env } : {}).then(
        () => "ok" as const,
        (err: unknown) => ConnectError.from(err),
      );
    const bad = request("north-a", "north-b", "r1/1", "m1");
    bad.originAgencyId = "";
    expect(await code(undefined)).toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "envelope is required",
    });
    expect(await code(bad)).toMatchObject({
      code: Code.InvalidArgument,
      rawMessage: "envelope.originAgencyId is required",
    });
    expect(await code(request("north-b", "north-a", "r1/1", "m1"))).toMatchObject({
      code: Code.PermissionDenied,
    });
    expect(await code(request("north-a", "nobody", "r1/1", "m1"))).toMatchObject({ code: Code.NotFound });
    expect(await code(request("north-a", "north-x", "r1/1", "m1"))).toMatchObject({
      code: Code.FailedPrecondition,
    });
    expect(await code(request("north-a", "north-b", "r1/1", "m1"))).toBe("ok");
    n.db.close();
  });

  it("shows a member only the messages it sent or received", async () => {
    const n = open(NORTH_RC);
    n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    n.relay.deliver(request("north-a", "south-a", "r1/2", "m2"), member("north-a"));
    const asB = await service(n, member("north-b")).trace({ requestId: "r1" });
    expect(asB.hops.map((h) => h.messageId)).toEqual(["m1"]);
    const asA = await service(n, member("north-a")).trace({ requestId: "r1" });
    expect(asA.hops.map((h) => h.messageId)).toEqual(["m1", "m2"]);
    expect(asA.coverage.map((c) => c.nodeId)).toEqual(["north-rc"]);
    const asSelf = await service(n, NORTH_RC).trace({ requestId: "r1/2" });
    expect(asSelf.hops.map((h) => h.messageId)).toEqual(["m2"]);
    n.db.close();
  });
});

describe("delivery to the tier below", () => {
  it("starts a worker per child destination, also for messages waiting at start-up, and stops cleanly", async () => {
    const n = open(NORTH_RC);
    n.relay.deliver(request("north-a", "north-b", "r1/1", "m1"), member("north-a"));
    const got: Array<[string, string]> = [];
    let failFirst = true;
    const peers = {
      client: (_service: unknown, id: string) => {
        const t = asCaller<ReturnType<typeof createRouterTransport>>(NORTH_RC, (router) =>
          router.service(IllService, {
            deliver(req) {
              if (id === "north-a" && failFirst) {
                failFirst = false;
                throw new ConnectError("member restarting", Code.Unavailable);
              }
              got.push([id, req.envelope!.messageId]);
              return { nodeId: id, disposition: "applied" };
            },
          }),
        );
        return createClient(IllService, t);
      },
    } as unknown as Parameters<typeof runChildDelivery>[0]["peers"];
    const ac = new AbortController();
    const running = runChildDelivery({ db: n.db, outbox: n.outbox, peers, log }, ac.signal);
    n.relay.deliver(
      confirmationOf(request("north-a", "north-b", "r1/1", "m1"), [], { messageId: "c1" }),
      member("north-b"),
    );
    n.relay.deliver(request("north-a", "south-a", "r1/2", "m2"), member("north-a"));
    const deadline = Date.now() + 5000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await running;
    expect(got.sort()).toEqual([
      ["north-a", "c1"],
      ["north-b", "m1"],
    ]);
    // What goes up is the parent link's; it waits here.
    expect(n.outbox.pendingCount(PARENT)).toBe(1);
    expect(n.relay.hops("r1").find((h) => h.messageId === "c1")).toMatchObject({ attempts: 1 });
    n.db.close();
  });
});
