import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createClient,
  createRouterTransport,
  type Interceptor,
} from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Database } from "../db.js";
import type { Directory } from "../gen/lrs/v1/directory_pb.js";
import { RequestSchema } from "../gen/lrs/v1/ill_pb.js";
import { DeliverResponseSchema, IllService } from "../gen/lrs/v1/ill_service_pb.js";
import { Scope, SearchResponseSchema, SearchService } from "../gen/lrs/v1/search_pb.js";
import type * as trafficPb from "../gen/lrs/v1/traffic_pb.js";
import { NodeHealthSchema, TrafficService } from "../gen/lrs/v1/traffic_pb.js";
import { envelopeOf } from "../iso18626/envelope.js";
import { createLogger } from "../log.js";
import { sharedMigrations } from "../migrations.js";
import { peerKey } from "../rpc/peer.js";
import { fixedDirectory, NAT, NORTH_A, NORTH_RC, standardDirectory } from "../testing/index.js";
import type { NodeIdentity } from "../tls/pki.js";
import type { TrafficBlock } from "./cells.js";
import { blockToWire } from "./convert.js";
import { createTrafficInterceptor } from "./interceptor.js";
import { TrafficRecorder } from "./recorder.js";
import { TrafficReporter } from "./reporter.js";
import { trafficService } from "./service.js";
import { TrafficStore } from "./store.js";

const log = createLogger("test");
const MIN = 60_000;
const NOW = 29_000_000 * MIN;

const DIRECTORY: Directory = standardDirectory();
const directory = fixedDirectory(DIRECTORY);

function asCaller(caller: NodeIdentity, extra: Interceptor[] = []): Interceptor[] {
  return [
    (next) => (req) => {
      req.contextValues.set(peerKey, {
        presented: true,
        authorized: true,
        identity: caller,
        fingerprint256: "x",
      });
      return next(req);
    },
    ...extra,
  ];
}

function national() {
  const db = Database.open(":memory:", sharedMigrations);
  const store = new TrafficStore(db, { nodeId: "nat", retentionMs: 86_400_000, now: () => NOW });
  const routes = (router: ConnectRouter) =>
    router.service(
      TrafficService,
      trafficService({
        self: NAT,
        store,
        directory,
        log,
        ownHealth: () => create(NodeHealthSchema, { nodeId: "nat" }),
        now: () => NOW,
      }),
    );
  const client = (caller: NodeIdentity) =>
    createClient(
      TrafficService,
      createRouterTransport(routes, { router: { interceptors: asCaller(caller) } }),
    );
  return { db, store, client };
}

const block = (nodeId: string, minute: number, version: number, count: number): TrafficBlock => ({
  nodeId,
  minute,
  minutes: 1,
  version,
  cells: [
    {
      kind: "search",
      detail: "local",
      caller: nodeId,
      callee: nodeId,
      count,
      errors: 0,
      items: 0,
      latencySumMs: 2 * count,
      latencyMaxMs: 2,
      latency: [0, 0, 0, 0, count],
    },
  ],
});

const searches = (store: TrafficStore, nodeId: string) =>
  store
    .rows({ sinceMinute: 0, untilMinute: NOW / MIN + 10, kinds: ["search"] })
    .filter((b) => b.nodeId === nodeId)
    .flatMap((b) => b.cells)
    .reduce((n, c) => n + c.count, 0);

describe("TrafficService.ReportTraffic", () => {
  const m = NOW / MIN;

  it("keeps a regional center's own and its members' blocks; the same report again counts nothing twice", async () => {
    const nat = national();
    const c = nat.client(NORTH_RC);
    const report = {
      blocks: [block("north-rc", m, 1, 2), block("north-a", m, 7, 5)].map(blockToWire),
      health: [
        create(NodeHealthSchema, { nodeId: "north-rc", syncLag: 3n }),
        create(NodeHealthSchema, { nodeId: "north-a", observedAt: timestampFromMs(NOW - 5_000) }),
      ],
    };
    expect(await c.reportTraffic(report)).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await c.reportTraffic(report)).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(searches(nat.store, "north-a")).toBe(5);
    const health = nat.store.health();
    expect(health.map((h) => h.nodeId)).toEqual(["north-a", "north-rc"]);
    // The reporter's own "last contact" is when the report arrived here.
    expect(Number(health[1]!.observedAt!.seconds) * 1000).toBe(NOW);
  });

  it("refuses blocks of another region's members, and of others for a member", async () => {
    const nat = national();
    const res = await nat
      .client(NORTH_RC)
      .reportTraffic({ blocks: [blockToWire(block("south-a", m, 1, 1))] });
    expect(res.rejected.map((r) => [r.nodeId, r.reason])).toEqual([
      ["south-a", "south-a is not a member of region north"],
    ]);
    const own = await nat.client(NORTH_A).reportTraffic({ blocks: [blockToWire(block("south-a", m, 1, 1))] });
    expect(own.rejected[0]!.reason).toBe("north-a may report its own figures only, not south-a's");
    expect(searches(nat.store, "south-a")).toBe(0);
  });

  it("answers FailedPrecondition for a member the directory does not have yet (the reporter retries)", async () => {
    const nat = national();
    const err = await nat
      .client(NORTH_RC)
      .reportTraffic({ blocks: [blockToWire(block("north-new", m, 1, 1))] })
      .catch((e: unknown) => ConnectError.from(e));
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.FailedPrecondition);
  });

  it("refuses a report over the limits, naming them", async () => {
    const nat = national();
    const c = nat.client(NORTH_RC);
    const many = Array.from({ length: 501 }, (_, i) => blockToWire(block("north-rc", m - i, 1, 1)));
    await expect(c.reportTraffic({ blocks: many })).rejects.toThrow(/501 blocks is over the limit of 500/);
    const wide = block("north-rc", m, 1, 1);
    wide.cells[0]!.detail = "x".repeat(300);
    await expect(c.reportTraffic({ blocks: [blockToWire(wide)] })).rejects.toThrow(
      /cell 1: detail is 300 characters, over the limit of 200/,
    );
  });

  it("a reporter resumes from the acknowledged position after failures, and nothing is counted twice", async () => {
    const nat = national();
    const memberDb = Database.open(":memory:", sharedMigrations);
    const member = new TrafficStore(memberDb, { nodeId: "north-a", retentionMs: 86_400_000, now: () => NOW });
    const rec = new TrafficRecorder({ nodeId: "north-a", now: () => NOW });
    const parent = nat.client(NORTH_A);
    let fail = 1;
    const flaky = {
      reportTraffic: async (...a: Parameters<typeof parent.reportTraffic>) => {
        // The parent stores the report and the answer is lost on the way back.
        const res = await parent.reportTraffic(...a);
        if (fail-- > 0) throw new ConnectError("connection reset", Code.Unavailable);
        return res;
      },
    } as unknown as typeof parent;
    const reporter = new TrafficReporter({
      store: member,
      parent: flaky,
      health: () => [create(NodeHealthSchema, { nodeId: "north-a" })],
      intervalMs: 1000,
      log,
    });
    for (let i = 0; i < 3; i++) rec.add("search", "local", "north-a", "north-a", 1);
    member.addLocal(rec.flush());
    await expect(reporter.reportAll()).rejects.toThrow(/connection reset/);
    expect(member.unreported()).toBe(1);
    await reporter.reportAll();
    expect(member.unreported()).toBe(0);
    rec.add("search", "local", "north-a", "north-a", 1);
    member.addLocal(rec.flush());
    await reporter.reportAll();
    expect(searches(nat.store, "north-a")).toBe(4);
  });
});

describe("TrafficService.WatchTraffic", () => {
  it("sends a snapshot of the figures, then the blocks as they change", async () => {
    const nat = national();
    const m = NOW / MIN;
    nat.store.receive([block("north-a", m - 1, 1, 3)], () => true);
    const ac = new AbortController();
    const stream: AsyncIterator<trafficPb.WatchTrafficResponse> = nat
      .client(NAT)
      .watchTraffic({}, { signal: ac.signal })
      [Symbol.asyncIterator]();
    const next = async (): Promise<trafficPb.WatchTrafficResponse> => {
      const r = await stream.next();
      if (r.done) throw new Error("the stream ended");
      return r.value;
    };
    const first = await next();
    expect(first.snapshot).toBe(true);
    expect(first.blocks.map((b) => [b.nodeId, Number(b.minute) - m, Number(b.cells[0]!.count)])).toEqual([
      ["north-a", -1, 3],
    ]);
    expect(first.health.map((h) => h.nodeId)).toEqual(["nat"]);
    nat.store.receive([block("north-a", m, 2, 4), block("north-a", m - 1, 5, 6)], () => true);
    const update = await next();
    expect(update.snapshot).toBe(false);
    expect(
      update.blocks.map((b) => [Number(b.minute) - m, Number(b.version), Number(b.cells[0]!.count)]),
    ).toEqual([
      [0, 2, 4],
      [-1, 5, 6],
    ]);
    ac.abort();
    await stream.return?.();
  });
});

describe("the traffic interceptor", () => {
  function server(caller: NodeIdentity, duplicate: boolean) {
    const recorder = new TrafficRecorder({ nodeId: "north-rc" });
    const transport = createRouterTransport(
      (router) => {
        router.service(SearchService, {
          async *search(req) {
            if (req.query === "fail") throw new ConnectError("bad query", Code.InvalidArgument);
            yield create(SearchResponseSchema, { final: false });
            yield create(SearchResponseSchema, { final: true });
          },
        });
        router.service(IllService, {
          deliver: () => create(DeliverResponseSchema, { duplicate, nodeId: "north-rc" }),
        });
      },
      { router: { interceptors: asCaller(caller, [createTrafficInterceptor(recorder, NORTH_RC)]) } },
    );
    return { recorder, transport };
  }

  it("counts every call by method and caller, searches by scope, failures by code", async () => {
    const { recorder, transport } = server(NORTH_A, false);
    const search = createClient(SearchService, transport);
    for await (const _ of search.search({ query: "x", scope: Scope.NATIONAL })) void _;
    for await (const _ of search.search({ query: "y" })) void _;
    await expect(
      (async () => {
        for await (const _ of search.search({ query: "fail", scope: Scope.REGION })) void _;
      })(),
    ).rejects.toThrow(/bad query/);
    const cells = recorder.flush()[0]!.cells;
    const find = (kind: string, detail: string) => cells.find((c) => c.kind === kind && c.detail === detail);
    expect(find("rpc", "lrs.v1.SearchService/Search")).toMatchObject({
      count: 3,
      errors: 1,
      caller: "north-a",
      callee: "north-rc",
    });
    expect(find("search", "national")!.count).toBe(1);
    // Unspecified at a regional center is REGION, as the service answers it.
    expect(find("search", "region")).toMatchObject({ count: 2, errors: 1 });
    expect(find("error", "lrs.v1.SearchService/Search InvalidArgument")!.count).toBe(1);
    expect(find("search", "region")!.latency.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("counts an ILL message by origin, destination and what it says, but not a duplicate", async () => {
    const request = create(RequestSchema, {
      header: {
        requestingAgencyId: { agencyIdValue: "north-a" },
        supplyingAgencyId: { agencyIdValue: "south-a" },
        requestingAgencyRequestId: "r1/0",
        messageId: "m1",
      },
    });
    for (const duplicate of [false, true]) {
      const { recorder, transport } = server(NORTH_A, duplicate);
      await createClient(IllService, transport).deliver({ envelope: envelopeOf(request) });
      const cells = recorder.flush()[0]!.cells;
      const ill = cells.filter((c) => c.kind === "ill");
      expect(ill.map((c) => [c.detail, c.caller, c.callee, c.count])).toEqual(
        duplicate ? [] : [["Request", "north-a", "south-a", 1]],
      );
      expect(cells.find((c) => c.kind === "rpc")!.count).toBe(1);
    }
  });
});
