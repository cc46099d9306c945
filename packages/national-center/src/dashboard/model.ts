// What the national dashboard's server sends its browser client (JSON over server-sent events).
// This file is shared with the client (packages/national-center/dashboard), so it imports
// nothing: plain data only, times as ISO strings or epoch milliseconds, money in minor units.

/** ok: reported lately; late: missed a few reports; down: silent for long; unknown: never reported. */
export type Health = "ok" | "late" | "down" | "unknown" | "revoked";

export interface NodeView {
  id: string;
  name: string;
  tier: "national" | "regional" | "member";
  region: string;
  health: Health;
  /** When its last report (or, for a member, its regional center's relay of it) arrived; ISO. */
  lastContact?: string;
  /** Catalog changes its parent has not acknowledged. */
  syncLag?: number;
  lastSyncAt?: string;
  resyncing?: boolean;
  outboxPending?: number;
  /** Members: ILL requests open, overdue, stale, marked for staff. */
  illOpen?: number;
  illOverdue?: number;
  illStale?: number;
  illAttention?: number;
  /** RPCs it answered per minute over the last 15 minutes. */
  callsPerMinute: number;
  /** Searches that entered the federation here in the last hour. */
  searches: number;
}

export interface RegionView {
  region: string;
  center?: NodeView;
  members: NodeView[];
}

export interface Latency {
  p50?: number;
  p95?: number;
  p99?: number;
}

export interface SearchRowView {
  region: string;
  scope: string;
  searches: number;
  errors: number;
  perMinute: number;
  latency: Latency;
}

export interface SearchesView {
  /** Epoch milliseconds of each minute of the chart. */
  minutes: number[];
  series: Array<{ region: string; scope: string; counts: number[] }>;
  latency: { p50: Array<number | null>; p95: Array<number | null>; p99: Array<number | null> };
  table: SearchRowView[];
  total: number;
  /** Over the whole chart span (all regions and scopes). */
  overall: Latency;
}

export interface IllFlowCellView {
  from: string;
  to: string;
  requests: number;
  filled: number;
  unfilled: number;
}

export interface AttentionView {
  node: string;
  requestId: string;
  role: string;
  status: string;
  partner: string;
  title: string;
  reason: string;
  note: string;
  since?: string;
}

export interface IllView {
  regions: string[];
  matrix: IllFlowCellView[];
  requests: number;
  filled: number;
  unfilled: number;
  fillRate?: number;
  messages: number;
  turnaround: Array<{ serviceType: string; filled: number; latency: Latency }>;
  attention: AttentionView[];
  counts: { overdue: number; stale: number; attention: number; open: number };
}

export interface CatalogView {
  records: number;
  clusters: number;
  merges: number;
  downloads: number;
  /** Per UTC day, oldest first: records added, downloaded (copy cataloging) and merges. */
  days: Array<{ day: string; added: number; downloaded: number; merges: number }>;
}

export interface BalanceView {
  institution: string;
  name: string;
  region: string;
  lent: number;
  borrowed: number;
}

export interface VisitRowView {
  /** Institution id or region code. */
  id: string;
  name: string;
  region: string;
  visits: number;
  lent: number;
  borrowed: number;
  returns: number;
}

export interface VisitsView {
  visits: number;
  loans: number;
  institutions: VisitRowView[];
  regions: VisitRowView[];
}

/** ISO 18626 gateway traffic with one external partner over the window. */
export interface GatewayPartnerView {
  partner: string;
  name: string;
  received: number;
  refused: number;
  sent: number;
  failed: number;
  byKind: Record<string, number>;
  latency: Latency;
}

export interface SettlementView {
  /** False when this national center keeps no ledger. */
  available: boolean;
  period?: string;
  settled?: boolean;
  regions: Array<{ region: string; currency: string; netMinor: number }>;
  institutions: Array<{
    institution: string;
    region: string;
    currency: string;
    payableMinor: number;
    receivableMinor: number;
    netMinor: number;
  }>;
  /** Why there is nothing to show (no ledger, an error). */
  note?: string;
}

export interface DashboardSummary {
  federation: string;
  nationalId: string;
  /** ISO time the summary was made. */
  asOf: string;
  /** The span of the ILL, balance and error figures, in minutes (the `window` asked for). */
  windowMinutes: number;
  /** The span of the per-minute charts, in minutes. */
  chartMinutes: number;
  retentionMinutes: number;
  tree: { national: NodeView; regions: RegionView[] };
  searches: SearchesView;
  ill: IllView;
  catalog: CatalogView;
  balance: BalanceView[];
  /** Reciprocal borrowing over the window: in-person visits and loans, per institution and region. */
  visits: VisitsView;
  /** Messages exchanged with external partners through the ISO 18626 gateway, by partner. */
  gateway: GatewayPartnerView[];
  settlement: SettlementView;
  totals: {
    calls: number;
    errors: number;
    syncRecords: number;
    downloads: { record: number; copy: number };
    topErrors: Array<{ node: string; error: string; count: number }>;
  };
}

/** The windows the dashboard offers, by the name in its URL (?window=24h). */
export const WINDOWS: Record<string, number> = { "1h": 60, "6h": 360, "24h": 1440, "7d": 10_080 };
export const DEFAULT_WINDOW = "24h";
