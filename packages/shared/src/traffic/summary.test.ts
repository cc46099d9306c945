import { describe, expect, it } from "vitest";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { newCell, type TrafficBlock, type TrafficCell } from "./cells.js";
import { bucketOf } from "./histogram.js";
import {
  callTotals,
  errorTable,
  formatMs,
  gatewayTraffic,
  type InstitutionInfo,
  illFlow,
  searchSeries,
  searchTable,
  turnaround,
} from "./summary.js";

const DIR: InstitutionInfo[] = [
  { id: "nat", name: "National", tier: Tier.NATIONAL, region: "" },
  { id: "north-rc", name: "North", tier: Tier.REGIONAL, region: "north" },
  { id: "south-rc", name: "South", tier: Tier.REGIONAL, region: "south" },
  { id: "north-a", name: "A", tier: Tier.MEMBER, region: "north" },
  { id: "north-b", name: "B", tier: Tier.MEMBER, region: "north" },
  { id: "south-a", name: "SA", tier: Tier.MEMBER, region: "south" },
];
const lookup = (id: string) => DIR.find((i) => i.id === id);

function cell(
  kind: string,
  detail: string,
  caller: string,
  callee: string,
  count: number,
  latencies: number[] = [],
): TrafficCell {
  const c = newCell(kind, detail, caller, callee);
  c.count = count;
  for (const ms of latencies) {
    const b = bucketOf(ms);
    while (c.latency.length <= b) c.latency.push(0);
    c.latency[b]!++;
    c.latencySumMs += ms;
    c.latencyMaxMs = Math.max(c.latencyMaxMs, ms);
  }
  return c;
}

const block = (nodeId: string, minute: number, cells: TrafficCell[]): TrafficBlock => ({
  nodeId,
  minute,
  minutes: 1,
  version: 1,
  cells,
});

describe("traffic summaries", () => {
  it("counts a search once, where it entered the federation, with its region and scope", () => {
    const blocks = [
      // north-a's own client: two local, one national search.
      block("north-a", 100, [
        cell("search", "local", "north-a", "north-a", 2, [1, 2]),
        cell("search", "national", "north-a", "north-a", 1, [120]),
      ]),
      // The national search passed through north-rc and nat: hops, not searches.
      block("north-rc", 100, [cell("search", "national", "north-a", "north-rc", 1, [110])]),
      block("nat", 100, [
        cell("search", "national", "north-rc", "nat", 1, [40]),
        // An SRU client at the national center: a search that entered there.
        cell("search", "national", "sru", "nat", 3, [5, 6, 7]),
      ]),
      block("south-a", 101, [cell("search", "local", "south-a", "south-a", 4, [1, 1, 1, 1])]),
    ];
    const rows = searchTable(blocks, lookup, 2);
    expect(rows.map((r) => [r.region, r.scope, r.searches, r.perMinute])).toEqual([
      ["national", "national", 3, 1.5],
      ["north", "local", 2, 1],
      ["north", "national", 1, 0.5],
      ["south", "local", 4, 2],
    ]);
    expect(rows.find((r) => r.scope === "national" && r.region === "north")!.latency.p50).toBeGreaterThan(
      100,
    );

    const s = searchSeries(blocks, lookup, 100, 102);
    expect(s.minutes).toEqual([100, 101]);
    expect(s.series.find((x) => x.region === "south")!.counts).toEqual([0, 4]);
    expect(s.latency.p99[0]).toBeGreaterThan(100);
    expect(s.latency.p50[1]).toBeLessThanOrEqual(1);
  });

  it("counts ILL messages once, where they arrived, into a matrix of borrowing and lending regions", () => {
    // north-a borrows from south-a (filled) and from north-b (unfilled). Each message is stored
    // by every center on the way; only the destination's count is the flow.
    const request = (to: string) => cell("ill", "Request", "north-a", to, 1);
    const blocks = [
      block("north-rc", 5, [request("south-a"), request("north-b")]),
      block("nat", 5, [request("south-a")]),
      block("south-rc", 5, [request("south-a")]),
      block("south-a", 5, [request("south-a")]),
      block("north-b", 5, [request("north-b")]),
      block("north-a", 6, [
        cell("ill", "SupplyingAgencyMessage Loaned", "south-a", "north-a", 1),
        cell("ill", "SupplyingAgencyMessage Unfilled", "north-b", "north-a", 1),
        cell("ill", "RequestConfirmation OK", "south-a", "north-a", 1),
      ]),
      block("north-rc", 6, [cell("ill", "SupplyingAgencyMessage Loaned", "south-a", "north-a", 1)]),
    ];
    const f = illFlow(blocks, lookup);
    expect(f.regions).toEqual(["north", "south"]);
    expect(f.cells).toEqual([
      { from: "north", to: "north", requests: 1, filled: 0, unfilled: 1 },
      { from: "north", to: "south", requests: 1, filled: 1, unfilled: 0 },
    ]);
    expect(f.totals).toEqual({ requests: 2, filled: 1, unfilled: 1, fillRate: 0.5, messages: 5 });
    expect(f.balances).toEqual([
      { institution: "south-a", region: "south", lent: 1, borrowed: 0 },
      { institution: "north-a", region: "north", lent: 0, borrowed: 1 },
    ]);
  });

  it("counts ISO 18626 gateway traffic by partner, both ways, with refusals and the partner's answer time", () => {
    const refused = cell("ill", "ISO 18626 request", "princeton", "nat", 3);
    refused.errors = 1;
    const failed = cell("ill", "ISO 18626 supplyingAgencyMessage", "nat", "princeton", 4, [20, 30, 40, 900]);
    failed.errors = 1;
    const blocks = [
      block("nat", 5, [
        refused,
        cell("ill", "ISO 18626 requestingAgencyMessage", "princeton", "nat", 2),
        failed,
        cell("ill", "ISO 18626 unreadable", "unknown partner", "nat", 1),
        // Not gateway traffic: an envelope between members, and the request the gateway made of
        // the partner's, counted by the relay.
        cell("ill", "Request", "princeton", "north-b", 1),
        cell("rpc", "ISO 18626 request", "princeton", "nat", 9),
      ]),
      block("nat", 6, [cell("ill", "ISO 18626 request", "oclc", "nat", 1)]),
    ];
    const g = gatewayTraffic(blocks);
    expect(g.map((r) => r.partner)).toEqual(["princeton", "oclc", "unknown partner"]);
    expect(g[0]).toMatchObject({
      received: 5,
      refused: 1,
      sent: 4,
      failed: 1,
      byKind: { request: 3, requestingAgencyMessage: 2, supplyingAgencyMessage: 4 },
    });
    expect(g[0]!.latency.p50).toBeGreaterThanOrEqual(20);
    expect(g[0]!.latency.p99).toBeGreaterThanOrEqual(500);
    expect(g[2]).toMatchObject({ received: 1, sent: 0, byKind: { unreadable: 1 } });
  });

  it("gives turnaround percentiles by service type, errors and totals", () => {
    const h = 3_600_000;
    const blocks = [
      block("north-a", 1, [
        cell("ill-turnaround", "loan", "south-a", "north-a", 3, [2 * h, 3 * h, 30 * h]),
        cell("ill-turnaround", "copy", "south-a", "north-a", 1, [h / 2]),
        { ...cell("rpc", "lrs.v1.SearchService/Search", "north-a", "north-a", 10), errors: 2 },
        cell("error", "lrs.v1.SearchService/Search InvalidArgument", "north-a", "north-a", 2),
        { ...cell("sync", "batch", "north-a", "north-rc", 2), items: 300 },
        cell("download", "record", "north-a", "north-rc", 1),
      ]),
    ];
    const t = turnaround(blocks);
    expect(t.map((r) => [r.serviceType, r.filled])).toEqual([
      ["copy", 1],
      ["loan", 3],
    ]);
    const loan = t.find((r) => r.serviceType === "loan")!.latency;
    expect(loan.p50!).toBeGreaterThan(2 * h);
    expect(loan.p50!).toBeLessThanOrEqual(4 * h);
    expect(loan.p99!).toBeLessThanOrEqual(30 * h);
    expect(errorTable(blocks)).toEqual([
      { node: "north-a", error: "lrs.v1.SearchService/Search InvalidArgument", count: 2 },
    ]);
    expect(callTotals(blocks)).toEqual({
      calls: 10,
      errors: 2,
      syncBatches: 2,
      syncRecords: 300,
      downloads: { record: 1, copy: 0 },
    });
  });

  it("writes durations for people", () => {
    expect(formatMs(undefined)).toBe("–");
    expect(formatMs(0.42)).toBe("0.42 ms");
    expect(formatMs(7.25)).toBe("7.3 ms");
    expect(formatMs(250)).toBe("250 ms");
    expect(formatMs(1500)).toBe("1.5 s");
    expect(formatMs(5_400_000)).toBe("1.5 h");
    expect(formatMs(2 * 86_400_000)).toBe("2.0 d");
  });
});
