import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import {
  Database,
  directoryPb,
  sharedMigrations,
  Tier,
  TrafficRecorder,
  TrafficStore,
  trafficPb,
} from "@lrs/shared";
import { unionCatalogMigrations } from "@lrs/shared/center";
import { fixedDirectory } from "@lrs/shared/testing";
import { describe, expect, it } from "vitest";
import { UnionDaily } from "../store/union-daily.js";
import { buildSummary, healthOf } from "./data.js";

const MIN = 60_000;
const NOW = 29_000_000 * MIN + 30_000;

const directory = fixedDirectory(
  create(directoryPb.DirectorySchema, {
    version: 1n,
    authorityId: "nat",
    institutions: [
      { id: "nat", name: "National", tier: Tier.NATIONAL },
      { id: "north-rc", name: "North Center", tier: Tier.REGIONAL, region: "north" },
      { id: "north-a", name: "North A", tier: Tier.MEMBER, region: "north" },
      { id: "south-rc", name: "South Center", tier: Tier.REGIONAL, region: "south" },
      { id: "south-a", name: "South A", tier: Tier.MEMBER, region: "south" },
    ],
    externalPartners: [{ id: "princeton", name: "Princeton University Library" }],
  }),
);

const health = (
  nodeId: string,
  agoMs: number,
  extra: Partial<Omit<trafficPb.NodeHealth, "$typeName" | "$unknown">> = {},
) =>
  create(trafficPb.NodeHealthSchema, {
    nodeId,
    observedAt: timestampFromMs(NOW - agoMs),
    reportIntervalSeconds: 60,
    ...extra,
  });

describe("dashboard summary", () => {
  it("calls a node ok, late or down by how many of its report intervals it missed", () => {
    expect(healthOf(undefined, NOW)).toBe("unknown");
    expect(healthOf(health("x", 30_000), NOW)).toBe("ok");
    expect(healthOf(health("x", 5 * MIN), NOW)).toBe("late");
    expect(healthOf(health("x", 30 * MIN), NOW)).toBe("down");
  });

  it("puts the federation, its searches, ILL flow, attention and catalog together", () => {
    const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
    const store = new TrafficStore(db, { nodeId: "nat", retentionMs: 7 * 86_400_000, now: () => NOW });
    // Figures as regional centers would have reported them.
    const member = new TrafficRecorder({ nodeId: "north-a", now: () => NOW - 2 * MIN });
    member.add("search", "local", "north-a", "north-a", 3);
    member.add("search", "national", "north-a", "north-a", 80);
    member.add("ill", "SupplyingAgencyMessage Loaned", "south-a", "north-a", 5);
    member.turnaround("loan", "south-a", "north-a", 3_600_000);
    const lender = new TrafficRecorder({ nodeId: "south-a", now: () => NOW - 3 * MIN });
    lender.add("ill", "Request", "north-a", "south-a", 5);
    // The national center's own gateway: messages from and to an outside partner.
    const gateway = new TrafficRecorder({ nodeId: "nat", now: () => NOW - 2 * MIN });
    gateway.add("ill", "ISO 18626 request", "princeton", "nat", 12);
    gateway.add("ill", "ISO 18626 supplyingAgencyMessage", "nat", "princeton", 40);
    gateway.add("ill", "ISO 18626 supplyingAgencyMessage", "nat", "princeton", 60, true);
    store.addLocal(gateway.flush());
    const blocks = [
      ...member
        .flush()
        .map((m) => ({ nodeId: "north-a", minute: m.minute, minutes: 1, version: 1, cells: m.cells })),
      ...lender
        .flush()
        .map((m) => ({ nodeId: "south-a", minute: m.minute, minutes: 1, version: 1, cells: m.cells })),
    ];
    store.receive(blocks, () => true);
    store.putHealth([
      health("north-rc", 10_000, { syncLag: 4n }),
      health("north-a", 20_000, {
        illOverdue: 1,
        illOpen: 3,
        attention: [
          create(trafficPb.AttentionItemSchema, {
            requestId: "r1",
            role: "borrower",
            status: "overdue",
            reason: "overdue",
            note: "due 2026-11-01",
          }),
        ],
      }),
      health("south-a", 45 * MIN),
    ]);
    const union = new UnionDaily(db);
    union.sample(new Date(NOW));
    const s = buildSummary(
      {
        nodeId: "nat",
        federationName: "Test Federation",
        store,
        directory,
        ownHealth: () => health("nat", 0),
        union,
        settlement: () => ({
          period: "2025-02",
          settled: false,
          institutions: [
            {
              institutionId: "south-a",
              region: "south",
              currency: "EUR",
              payableMinor: 0n,
              receivableMinor: 850n,
              netMinor: 850n,
            },
          ],
          regions: [{ region: "south", currency: "EUR", netMinor: 850n }],
        }),
        now: () => NOW,
      },
      1440,
    );
    expect(s.federation).toBe("Test Federation");
    expect(s.tree.national.health).toBe("ok");
    expect(
      s.tree.regions.map((r) => [r.region, r.center?.health, r.members.map((m) => [m.id, m.health])]),
    ).toEqual([
      ["north", "ok", [["north-a", "ok"]]],
      ["south", "unknown", [["south-a", "down"]]],
    ]);
    expect(s.tree.regions[0]!.center!.syncLag).toBe(4);
    expect(s.searches.total).toBe(2);
    expect(s.searches.table.map((r) => [r.region, r.scope, r.searches])).toEqual([
      ["north", "local", 1],
      ["north", "national", 1],
    ]);
    expect(s.searches.minutes).toHaveLength(60);
    expect(s.ill).toMatchObject({ requests: 1, filled: 1, unfilled: 0, fillRate: 1 });
    expect(s.ill.matrix).toEqual([{ from: "north", to: "south", requests: 1, filled: 1, unfilled: 0 }]);
    expect(s.ill.turnaround.map((t) => [t.serviceType, t.filled])).toEqual([["loan", 1]]);
    expect(s.gateway).toEqual([
      expect.objectContaining({
        partner: "princeton",
        name: "Princeton University Library",
        received: 1,
        refused: 0,
        sent: 2,
        failed: 1,
        byKind: { request: 1, supplyingAgencyMessage: 2 },
      }),
    ]);
    expect(s.ill.counts).toMatchObject({ overdue: 1, open: 3 });
    expect(s.ill.attention.map((a) => [a.node, a.requestId, a.reason])).toEqual([
      ["north-a", "r1", "overdue"],
    ]);
    expect(s.balance.map((b) => [b.institution, b.name, b.lent, b.borrowed])).toEqual([
      ["south-a", "South A", 1, 0],
      ["north-a", "North A", 0, 1],
    ]);
    expect(s.settlement).toMatchObject({ available: true, period: "2025-02", regions: [{ netMinor: 850 }] });
    expect(s.catalog).toMatchObject({ records: 0, clusters: 0 });
    expect(s.catalog.days).toHaveLength(1);
  });

  it("counts a day's catalog growth from the day before (the first day from its first sample)", () => {
    const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
    const union = new UnionDaily(db);
    const put = (day: string, records: number, merges: number, downloads: number, first: number) =>
      db.sqlite
        .prepare(
          `INSERT INTO traffic_union_daily (day, records, clusters, merges, downloads, first_records, first_merges,
             first_downloads, sampled_at) VALUES (?, ?, 0, ?, ?, ?, 0, 0, ?)`,
        )
        .run(day, records, merges, downloads, first, `${day}T23:00:00Z`);
    put("2026-11-01", 100, 2, 5, 40);
    put("2026-11-02", 130, 3, 9, 100);
    put("2026-11-04", 131, 3, 9, 130);
    expect(union.days(10)).toEqual([
      { day: "2026-11-01", added: 60, downloaded: 5, merges: 2 },
      { day: "2026-11-02", added: 30, downloaded: 4, merges: 1 },
      { day: "2026-11-04", added: 1, downloaded: 0, merges: 0 },
    ]);
    // Only two days shown: the first of them still counts from the day before it.
    expect(union.days(2).map((d) => [d.day, d.added])).toEqual([
      ["2026-11-02", 30],
      ["2026-11-04", 1],
    ]);
    union.prune(10, new Date("2026-11-13T00:00:00Z"));
    expect(union.days(10).map((d) => d.day)).toEqual(["2026-11-04"]);
  });
});
