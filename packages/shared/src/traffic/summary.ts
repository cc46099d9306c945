// What people read from traffic figures, computed from blocks (the store's rows, or GetTraffic's
// answer): searches by region and scope with latency percentiles, the ILL flow between regions,
// turnaround, lend:borrow balances, errors. Pure functions: `lrs-national traffic` and the
// national dashboard print and draw the same numbers.
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { GATEWAY_DETAIL, TRAFFIC_KINDS, type TrafficBlock, type TrafficCell } from "./cells.js";
import { type Histogram, mergeHistogram, percentiles } from "./histogram.js";

/** What the summaries need to know of an institution (from the directory). */
export interface InstitutionInfo {
  id: string;
  name: string;
  tier: Tier;
  region: string;
}

export type Lookup = (id: string) => InstitutionInfo | undefined;

/** The "region" of the national center's own figures. */
export const NATIONAL_REGION = "national";
/** The region of a node the directory does not know. */
export const UNKNOWN_REGION = "?";

export function regionOf(lookup: Lookup, id: string): string {
  const i = lookup(id);
  if (!i) return UNKNOWN_REGION;
  return i.tier === Tier.NATIONAL ? NATIONAL_REGION : i.region || UNKNOWN_REGION;
}

/** Latency percentiles in milliseconds (absent when nothing was timed). */
export interface Latency {
  p50?: number;
  p95?: number;
  p99?: number;
}

function latencyOf(h: Histogram, max: number): Latency {
  return percentiles(h, max > 0 ? max : undefined);
}

/**
 * A search counts where it entered the federation: at the node whose own client asked (the
 * caller is the node itself: its CLI, a library system using its certificate) or over SRU (a
 * caller the directory does not know). The same search forwarded to the regional and the national
 * center is a hop there, not another search.
 */
export function isOriginSearch(nodeId: string, c: TrafficCell, lookup: Lookup): boolean {
  return c.caller === nodeId || lookup(c.caller) === undefined;
}

export interface SearchRow {
  region: string;
  scope: string;
  searches: number;
  errors: number;
  perMinute: number;
  latency: Latency;
}

const SCOPE_ORDER = ["local", "region", "national"];
const byScope = (a: string, b: string) =>
  (SCOPE_ORDER.indexOf(a) + 1 || 99) - (SCOPE_ORDER.indexOf(b) + 1 || 99) || a.localeCompare(b);

/** Searches by the region they came from and their scope, over `minutes`. */
export function searchTable(blocks: readonly TrafficBlock[], lookup: Lookup, minutes: number): SearchRow[] {
  const by = new Map<
    string,
    { region: string; scope: string; n: number; e: number; h: Histogram; max: number }
  >();
  for (const b of blocks) {
    const region = regionOf(lookup, b.nodeId);
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.search || !isOriginSearch(b.nodeId, c, lookup)) continue;
      const k = `${region}\u0001${c.detail}`;
      let row = by.get(k);
      if (!row) {
        row = { region, scope: c.detail, n: 0, e: 0, h: [], max: 0 };
        by.set(k, row);
      }
      row.n += c.count;
      row.e += c.errors;
      mergeHistogram(row.h, c.latency);
      row.max = Math.max(row.max, c.latencyMaxMs);
    }
  }
  return [...by.values()]
    .sort((a, b) => a.region.localeCompare(b.region) || byScope(a.scope, b.scope))
    .map((r) => ({
      region: r.region,
      scope: r.scope,
      searches: r.n,
      errors: r.e,
      perMinute: minutes > 0 ? r.n / minutes : 0,
      latency: latencyOf(r.h, r.max),
    }));
}

export interface SearchSeries {
  /** Minutes since the epoch, one per point. */
  minutes: number[];
  series: Array<{ region: string; scope: string; counts: number[] }>;
  /** Every origin search of the minute, all regions and scopes (null: none that minute). */
  latency: { p50: Array<number | null>; p95: Array<number | null>; p99: Array<number | null> };
}

/** Searches per minute by region and scope, and their latency per minute, for a chart. */
export function searchSeries(
  blocks: readonly TrafficBlock[],
  lookup: Lookup,
  sinceMinute: number,
  untilMinute: number,
): SearchSeries {
  const n = Math.max(0, untilMinute - sinceMinute);
  const minutes = Array.from({ length: n }, (_, i) => sinceMinute + i);
  const series = new Map<string, { region: string; scope: string; counts: number[] }>();
  const hists: Histogram[] = Array.from({ length: n }, () => []);
  const max = new Array<number>(n).fill(0);
  for (const b of blocks) {
    const i = b.minute - sinceMinute;
    if (i < 0 || i >= n) continue;
    const region = regionOf(lookup, b.nodeId);
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.search || !isOriginSearch(b.nodeId, c, lookup)) continue;
      const k = `${region}\u0001${c.detail}`;
      let s = series.get(k);
      if (!s) {
        s = { region, scope: c.detail, counts: new Array<number>(n).fill(0) };
        series.set(k, s);
      }
      s.counts[i]! += c.count;
      mergeHistogram(hists[i]!, c.latency);
      max[i] = Math.max(max[i]!, c.latencyMaxMs);
    }
  }
  const lat = hists.map((h, i) => latencyOf(h, max[i]!));
  return {
    minutes,
    series: [...series.values()].sort(
      (a, b) => a.region.localeCompare(b.region) || byScope(a.scope, b.scope),
    ),
    latency: {
      p50: lat.map((l) => l.p50 ?? null),
      p95: lat.map((l) => l.p95 ?? null),
      p99: lat.map((l) => l.p99 ?? null),
    },
  };
}

/** ILL requests from borrowers of one region to lenders of another (or the same). */
export interface IllFlowCell {
  /** The borrowers' region. */
  from: string;
  /** The lenders' region. */
  to: string;
  requests: number;
  filled: number;
  unfilled: number;
}

export interface BalanceRow {
  institution: string;
  region: string;
  /** Requests it filled for others, and others filled for it. */
  lent: number;
  borrowed: number;
}

export interface IllFlow {
  regions: string[];
  cells: IllFlowCell[];
  totals: {
    requests: number;
    filled: number;
    unfilled: number;
    /** filled / (filled + unfilled): of the answers, how many supplied. */
    fillRate?: number;
    /** ISO messages of every kind, counted once each (where they arrived). */
    messages: number;
  };
  balances: BalanceRow[];
}

const FILLED = new Set(["SupplyingAgencyMessage Loaned", "SupplyingAgencyMessage CopyCompleted"]);
const UNFILLED = "SupplyingAgencyMessage Unfilled";

/**
 * The ILL flow, from the "ill" figures counted where each message arrived (its destination
 * member), so that a message relayed by three centers counts once: requests (Request) from the
 * borrower to the lender, filled (Loaned, CopyCompleted) and unfilled (Unfilled) answers back.
 */
export function illFlow(blocks: readonly TrafficBlock[], lookup: Lookup): IllFlow {
  const cells = new Map<string, IllFlowCell>();
  const regions = new Set<string>();
  const balances = new Map<string, BalanceRow>();
  const totals = { requests: 0, filled: 0, unfilled: 0, messages: 0 };
  const cell = (from: string, to: string) => {
    regions.add(from);
    regions.add(to);
    const k = `${from}\u0001${to}`;
    let c = cells.get(k);
    if (!c) {
      c = { from, to, requests: 0, filled: 0, unfilled: 0 };
      cells.set(k, c);
    }
    return c;
  };
  const balance = (id: string) => {
    let b = balances.get(id);
    if (!b) {
      b = { institution: id, region: regionOf(lookup, id), lent: 0, borrowed: 0 };
      balances.set(id, b);
    }
    return b;
  };
  for (const b of blocks) {
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.ill || c.callee !== b.nodeId) continue;
      totals.messages += c.count;
      if (c.detail === "Request" || c.detail === "Request Retry") {
        cell(regionOf(lookup, c.caller), regionOf(lookup, c.callee)).requests += c.count;
        totals.requests += c.count;
      } else if (FILLED.has(c.detail)) {
        cell(regionOf(lookup, c.callee), regionOf(lookup, c.caller)).filled += c.count;
        totals.filled += c.count;
        balance(c.caller).lent += c.count;
        balance(c.callee).borrowed += c.count;
      } else if (c.detail === UNFILLED) {
        cell(regionOf(lookup, c.callee), regionOf(lookup, c.caller)).unfilled += c.count;
        totals.unfilled += c.count;
      }
    }
  }
  const answered = totals.filled + totals.unfilled;
  return {
    regions: [...regions].sort(),
    cells: [...cells.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to)),
    totals: { ...totals, ...(answered > 0 ? { fillRate: totals.filled / answered } : {}) },
    balances: [...balances.values()].sort(
      (a, b) => b.lent - b.borrowed - (a.lent - a.borrowed) || a.institution.localeCompare(b.institution),
    ),
  };
}

export interface TurnaroundRow {
  /** "loan", "copy". */
  serviceType: string;
  filled: number;
  latency: Latency;
}

/** From request to filled, by service type, as the borrowers measured it. */
export function turnaround(blocks: readonly TrafficBlock[]): TurnaroundRow[] {
  const by = new Map<string, { n: number; h: Histogram; max: number }>();
  for (const b of blocks) {
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.turnaround) continue;
      let row = by.get(c.detail);
      if (!row) {
        row = { n: 0, h: [], max: 0 };
        by.set(c.detail, row);
      }
      row.n += c.count;
      mergeHistogram(row.h, c.latency);
      row.max = Math.max(row.max, c.latencyMaxMs);
    }
  }
  return [...by]
    .sort((a, b) => a[0].localeCompare(b[0]))
    .map(([serviceType, r]) => ({ serviceType, filled: r.n, latency: latencyOf(r.h, r.max) }));
}

/** ISO 18626 gateway traffic with one external partner (or "unknown partner"). */
export interface GatewayPartnerRow {
  partner: string;
  /** Messages it sent the gateway, and how many of them were refused with an ISO error. */
  received: number;
  refused: number;
  /** Messages the gateway sent it, and how many it answered with an ISO error. */
  sent: number;
  failed: number;
  /** Messages by kind, both ways ("request", "supplyingAgencyMessage", …). */
  byKind: Record<string, number>;
  /** Of the messages sent: how long the partner took to confirm. */
  latency: Latency;
}

/** Gateway traffic by partner, from the `ill` cells of the centers that run a gateway, most first. */
export function gatewayTraffic(blocks: readonly TrafficBlock[]): GatewayPartnerRow[] {
  const by = new Map<string, GatewayPartnerRow & { h: Histogram; max: number }>();
  for (const b of blocks) {
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.ill || !c.detail.startsWith(GATEWAY_DETAIL)) continue;
      const inbound = c.callee === b.nodeId;
      const partner = inbound ? c.caller : c.callee;
      let row = by.get(partner);
      if (!row) {
        row = {
          partner,
          received: 0,
          refused: 0,
          sent: 0,
          failed: 0,
          byKind: {},
          latency: {},
          h: [],
          max: 0,
        };
        by.set(partner, row);
      }
      const kind = c.detail.slice(GATEWAY_DETAIL.length);
      row.byKind[kind] = (row.byKind[kind] ?? 0) + c.count;
      if (inbound) {
        row.received += c.count;
        row.refused += c.errors;
      } else {
        row.sent += c.count;
        row.failed += c.errors;
        mergeHistogram(row.h, c.latency);
        row.max = Math.max(row.max, c.latencyMaxMs);
      }
    }
  }
  return [...by.values()]
    .map(({ h, max, ...row }) => ({ ...row, latency: latencyOf(h, max) }))
    .sort((a, b) => b.received + b.sent - (a.received + a.sent) || a.partner.localeCompare(b.partner));
}

export interface ErrorRow {
  node: string;
  /** "Service/Method Code". */
  error: string;
  count: number;
}

/** Failed calls by node and method and code, most first. */
export function errorTable(blocks: readonly TrafficBlock[]): ErrorRow[] {
  const by = new Map<string, ErrorRow>();
  for (const b of blocks) {
    for (const c of b.cells) {
      if (c.kind !== TRAFFIC_KINDS.error) continue;
      const k = `${b.nodeId}\u0001${c.detail}`;
      const row = by.get(k) ?? { node: b.nodeId, error: c.detail, count: 0 };
      row.count += c.count;
      by.set(k, row);
    }
  }
  return [...by.values()].sort((a, b) => b.count - a.count || a.node.localeCompare(b.node));
}

export interface CallTotals {
  calls: number;
  errors: number;
  syncBatches: number;
  syncRecords: number;
  /** Union catalog records copied and delivered copies downloaded. */
  downloads: { record: number; copy: number };
}

/** Totals over every node: RPCs answered, failed, sync and downloads. */
export function callTotals(blocks: readonly TrafficBlock[]): CallTotals {
  const t: CallTotals = {
    calls: 0,
    errors: 0,
    syncBatches: 0,
    syncRecords: 0,
    downloads: { record: 0, copy: 0 },
  };
  for (const b of blocks) {
    for (const c of b.cells) {
      if (c.kind === TRAFFIC_KINDS.rpc) {
        t.calls += c.count;
        t.errors += c.errors;
      } else if (c.kind === TRAFFIC_KINDS.sync) {
        t.syncBatches += c.count;
        t.syncRecords += c.items;
      } else if (c.kind === TRAFFIC_KINDS.download) {
        if (c.detail === "record" || c.detail === "copy") t.downloads[c.detail] += c.count;
      }
    }
  }
  return t;
}

/** "850 ms", "1.2 s", "3.5 min", "4.2 h", "2.1 d": a duration as people read it. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined) return "–";
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${ms < 10 ? ms.toFixed(1) : Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  if (ms < 86_400_000) return `${(ms / 3_600_000).toFixed(1)} h`;
  return `${(ms / 86_400_000).toFixed(1)} d`;
}
