// The dashboard's numbers, made from what the national center holds: the traffic figures every
// node reported (TrafficStore), what they said of their health, the directory, the union
// catalog's daily sizes, and the ledger's settlement position.
import { timestampMs } from "@bufbuild/protobuf/wkt";
import {
  callTotals,
  type DirectorySource,
  errorTable,
  gatewayTraffic,
  type InstitutionInfo,
  illFlow,
  isOriginSearch,
  mergeHistogram,
  minuteOf,
  percentiles,
  searchSeries,
  searchTable,
  Tier,
  TRAFFIC_KINDS,
  type TrafficBlock,
  type TrafficStore,
  type trafficPb,
  turnaround,
  visitFigures,
} from "@lrs/shared";
import type { LedgerPositions } from "../store/ledger-store.js";
import type { UnionDaily } from "../store/union-daily.js";
import type {
  AttentionView,
  DashboardSummary,
  Health,
  NodeView,
  RegionView,
  SettlementView,
} from "./model.js";

export interface DashboardDataOptions {
  nodeId: string;
  federationName: string;
  store: TrafficStore;
  directory: DirectorySource;
  /** This node's own health (it does not report to itself). */
  ownHealth: () => trafficPb.NodeHealth;
  union: UnionDaily;
  /** The current period's settlement position; undefined when this node keeps no ledger. */
  settlement?: () => LedgerPositions;
  now?: () => number;
}

/** Minutes of the per-minute charts. */
export const CHART_MINUTES = 60;
/** Per-day catalog bars. */
const CATALOG_DAYS = 14;
/** A node that reported within this many of its intervals (plus slack) is ok; within LATE_AFTER, late. */
const OK_INTERVALS = 3;
const DOWN_INTERVALS = 10;
/** Attention items shown. */
const ATTENTION_SHOWN = 30;

const TIER_NAME: Record<number, NodeView["tier"]> = {
  [Tier.NATIONAL]: "national",
  [Tier.REGIONAL]: "regional",
  [Tier.MEMBER]: "member",
};

/** Whether a node is ok, late or down, from when it was last heard of and how often it reports. */
export function healthOf(h: trafficPb.NodeHealth | undefined, now: number): Health {
  if (!h?.observedAt) return "unknown";
  const age = now - timestampMs(h.observedAt);
  const interval = Math.max(1, h.reportIntervalSeconds || 60) * 1000;
  if (age <= OK_INTERVALS * interval + 15_000) return "ok";
  if (age <= DOWN_INTERVALS * interval + 60_000) return "late";
  return "down";
}

const num = (v: bigint | number | undefined) => (v === undefined ? undefined : Number(v));
const iso = (ts: { seconds: bigint; nanos: number } | undefined) =>
  ts ? new Date(timestampMs(ts as Parameters<typeof timestampMs>[0])).toISOString() : undefined;

function settlementView(o: DashboardDataOptions): SettlementView {
  if (!o.settlement)
    return { available: false, regions: [], institutions: [], note: "no ledger at this node" };
  try {
    const p = o.settlement();
    return {
      available: true,
      period: p.period,
      settled: p.settled,
      regions: p.regions.map((r) => ({
        region: r.region,
        currency: r.currency,
        netMinor: Number(r.netMinor),
      })),
      institutions: p.institutions.map((i) => ({
        institution: i.institutionId,
        region: i.region,
        currency: i.currency,
        payableMinor: Number(i.payableMinor),
        receivableMinor: Number(i.receivableMinor),
        netMinor: Number(i.netMinor),
      })),
    };
  } catch (err) {
    return { available: true, regions: [], institutions: [], note: (err as Error).message };
  }
}

/** Builds everything the dashboard shows, over `windowMinutes` for the ILL and balance figures. */
export function buildSummary(o: DashboardDataOptions, windowMinutes: number): DashboardSummary {
  const now = o.now?.() ?? Date.now();
  const until = minuteOf(now) + 1;
  const chartSince = until - CHART_MINUTES;
  const windowSince = Math.max(o.store.oldestMinute(now), until - windowMinutes);
  const dir = o.directory.current();
  const infos = new Map<string, InstitutionInfo>(
    dir.institutions.map((i) => [i.id, { id: i.id, name: i.name, tier: i.tier, region: i.region }]),
  );
  const lookup = (id: string) => infos.get(id);

  // Per minute over the chart span: searches, and what every node answered.
  const perMinute = o.store.rows({
    sinceMinute: chartSince,
    untilMinute: until,
    stepMinutes: 1,
    kinds: [TRAFFIC_KINDS.search],
  });
  const series = searchSeries(perMinute, lookup, chartSince, until);
  const table = searchTable(perMinute, lookup, CHART_MINUTES);
  const overallHist: number[] = [];
  let overallMax = 0;
  const searchesByNode = new Map<string, number>();
  for (const b of perMinute)
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.search || !isOriginSearch(b.nodeId, c, lookup)) continue;
      mergeHistogram(overallHist, c.latency);
      overallMax = Math.max(overallMax, c.latencyMaxMs);
      searchesByNode.set(b.nodeId, (searchesByNode.get(b.nodeId) ?? 0) + c.count);
    }
  const hourly: TrafficBlock[] = o.store.rows({
    sinceMinute: chartSince,
    untilMinute: until,
    kinds: [TRAFFIC_KINDS.rpc, TRAFFIC_KINDS.error, TRAFFIC_KINDS.sync, TRAFFIC_KINDS.download],
  });
  const recent = o.store.rows({ sinceMinute: until - 15, untilMinute: until, kinds: [TRAFFIC_KINDS.rpc] });
  const callsByNode = new Map<string, number>();
  for (const b of recent)
    callsByNode.set(
      b.nodeId,
      b.cells.reduce((n, c) => n + c.count, callsByNode.get(b.nodeId) ?? 0),
    );

  // Over the window: the ILL flow, turnaround and balances.
  const illBlocks = o.store.rows({
    sinceMinute: windowSince,
    untilMinute: until,
    kinds: [TRAFFIC_KINDS.ill, TRAFFIC_KINDS.turnaround],
  });
  const flow = illFlow(illBlocks, lookup);
  const visits = visitFigures(
    o.store.rows({ sinceMinute: windowSince, untilMinute: until, kinds: [TRAFFIC_KINDS.visit] }),
    lookup,
  );

  // The federation: every institution of the directory with what it last said of itself.
  const healths = new Map(o.store.health().map((h) => [h.nodeId, h]));
  healths.set(o.nodeId, o.ownHealth());
  const attention: AttentionView[] = [];
  const counts = { overdue: 0, stale: 0, attention: 0, open: 0 };
  const view = (id: string): NodeView => {
    const inst = dir.institutions.find((i) => i.id === id);
    const h = healths.get(id);
    if (h) {
      counts.overdue += h.illOverdue;
      counts.stale += h.illStale;
      counts.attention += h.illAttention;
      counts.open += h.illOpen;
      for (const a of h.attention)
        attention.push({
          node: id,
          requestId: a.requestId,
          role: a.role,
          status: a.status,
          partner: a.partner,
          title: a.title,
          reason: a.reason,
          note: a.note,
          ...(a.since ? { since: iso(a.since)! } : {}),
        });
    }
    const tier = TIER_NAME[inst?.tier ?? Tier.MEMBER] ?? "member";
    const v: NodeView = {
      id,
      name: inst?.name || id,
      tier,
      region: inst?.region ?? "",
      health: inst?.revoked ? "revoked" : id === o.nodeId ? "ok" : healthOf(h, now),
      callsPerMinute: (callsByNode.get(id) ?? 0) / 15,
      searches: searchesByNode.get(id) ?? 0,
    };
    if (h) {
      const lastContact = iso(h.observedAt);
      if (lastContact) v.lastContact = lastContact;
      if (tier !== "national") {
        v.syncLag = num(h.syncLag)!;
        v.resyncing = h.resyncing;
        const lastSync = iso(h.lastSyncAt);
        if (lastSync) v.lastSyncAt = lastSync;
      }
      v.outboxPending = h.outboxPending;
      if (tier === "member") {
        v.illOpen = h.illOpen;
        v.illOverdue = h.illOverdue;
        v.illStale = h.illStale;
        v.illAttention = h.illAttention;
      }
    }
    return v;
  };
  const regions = new Map<string, RegionView>();
  const regionView = (region: string) => {
    let r = regions.get(region);
    if (!r) {
      r = { region, members: [] };
      regions.set(region, r);
    }
    return r;
  };
  let national: NodeView | undefined;
  for (const inst of dir.institutions) {
    if (inst.tier === Tier.NATIONAL) national = view(inst.id);
    else if (inst.tier === Tier.REGIONAL) regionView(inst.region).center = view(inst.id);
    else regionView(inst.region).members.push(view(inst.id));
  }
  national ??= view(o.nodeId);
  for (const r of regions.values()) r.members.sort((a, b) => a.id.localeCompare(b.id));
  const order = { overdue: 0, attention: 1, stale: 2 } as Record<string, number>;
  attention.sort(
    (a, b) => (order[a.reason] ?? 3) - (order[b.reason] ?? 3) || (a.since ?? "").localeCompare(b.since ?? ""),
  );

  const totals = callTotals(hourly);
  const size = o.union.size();
  return {
    federation: o.federationName,
    nationalId: o.nodeId,
    asOf: new Date(now).toISOString(),
    windowMinutes,
    chartMinutes: CHART_MINUTES,
    retentionMinutes: o.store.retentionMinutes,
    tree: { national, regions: [...regions.values()].sort((a, b) => a.region.localeCompare(b.region)) },
    searches: {
      minutes: series.minutes.map((m) => m * 60_000),
      series: series.series,
      latency: series.latency,
      table,
      total: table.reduce((n, r) => n + r.searches, 0),
      overall: percentiles(overallHist, overallMax || undefined),
    },
    ill: {
      regions: flow.regions,
      matrix: flow.cells,
      requests: flow.totals.requests,
      filled: flow.totals.filled,
      unfilled: flow.totals.unfilled,
      ...(flow.totals.fillRate !== undefined ? { fillRate: flow.totals.fillRate } : {}),
      messages: flow.totals.messages,
      turnaround: turnaround(illBlocks),
      attention: attention.slice(0, ATTENTION_SHOWN),
      counts,
    },
    catalog: {
      ...size,
      days: o.union.days(CATALOG_DAYS, { size, day: new Date(now).toISOString().slice(0, 10) }),
    },
    balance: flow.balances.map((b) => ({ ...b, name: infos.get(b.institution)?.name ?? b.institution })),
    visits: {
      visits: visits.visits,
      loans: visits.loans,
      institutions: visits.institutions.map((v) => ({ ...v, name: infos.get(v.id)?.name ?? v.id })),
      regions: visits.regions.map((v) => ({ ...v, name: v.id })),
    },
    gateway: gatewayTraffic(illBlocks).map((g) => ({
      ...g,
      name: dir.externalPartners.find((x) => x.id === g.partner)?.name ?? g.partner,
    })),
    settlement: settlementView(o),
    totals: {
      calls: totals.calls,
      errors: totals.errors,
      syncRecords: totals.syncRecords,
      downloads: totals.downloads,
      topErrors: errorTable(hourly).slice(0, 10),
    },
  };
}
