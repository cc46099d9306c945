// The unit of traffic accounting: a cell counts the calls of one kind and detail from one caller
// to one callee, with their errors, items and latency histogram. A node's cells of one minute are
// a block (the unit of reporting upward).
import { bucketOf, type Histogram, mergeHistogram } from "./histogram.js";

/** The kinds of figures, with what their other fields mean (proto/lrs/v1/traffic.proto). */
export const TRAFFIC_KINDS = {
  /** Every RPC answered here. detail: "Service/Method"; caller: the certificate's institution. */
  rpc: "rpc",
  /** A failed RPC. detail: "Service/Method code". */
  error: "error",
  /** SearchService.Search and SRU searches. detail: "local", "region" or "national". */
  search: "search",
  /** A catalog sync batch received. detail: "batch" or "resync"; items: records. */
  sync: "sync",
  /** An ILL message stored here (not a duplicate). caller/callee: origin and destination agency. */
  ill: "ill",
  /** An ILL request filled, at its borrower. detail: "loan" or "copy"; latency: request → filled. */
  turnaround: "ill-turnaround",
  /** A record copied from a union catalog ("record") or a delivered copy downloaded ("copy"). */
  download: "download",
  /**
   * Reciprocal borrowing, counted at the visited library: detail "visit" (a credential checked),
   * "loan" or "return"; caller: the reader's home institution; callee: the visited library.
   */
  visit: "visit",
} as const;

export type TrafficKind = (typeof TRAFFIC_KINDS)[keyof typeof TRAFFIC_KINDS];

/**
 * The detail of an ISO 18626 gateway message in an `ill` cell: this prefix and the message kind
 * ("ISO 18626 request"); caller and callee are the partner's id and the center's (received) or
 * the other way round (sent); an error is a refused message.
 */
export const GATEWAY_DETAIL = "ISO 18626 ";
/** The caller of a gateway message whose sender was not recognised. */
export const UNKNOWN_PARTNER = "unknown partner";

/** Who called when the caller presented no federation certificate (enrollment). */
export const ANONYMOUS = "-";
/** The caller of searches that came in over SRU (plain HTTP, no certificate). */
export const SRU_CALLER = "sru";

export interface CellKey {
  kind: string;
  detail: string;
  caller: string;
  callee: string;
}

export interface TrafficCell extends CellKey {
  count: number;
  errors: number;
  items: number;
  latencySumMs: number;
  latencyMaxMs: number;
  /** Counts per bucket of LATENCY_BOUNDS_MS; may be shorter than BUCKETS. */
  latency: Histogram;
}

/** One node's cells of one minute (`minutes` > 1: of several, merged). */
export interface TrafficBlock {
  nodeId: string;
  /** Minutes since the Unix epoch, UTC. */
  minute: number;
  minutes: number;
  version: number;
  cells: TrafficCell[];
}

/** Minutes since the Unix epoch of a time in milliseconds. */
export function minuteOf(ms: number): number {
  return Math.floor(ms / 60_000);
}

/** Separates the parts of a cell key; never in an institution id, a method name or an ISO message name. */
const SEP = "\u0001";

export function cellKey(kind: string, detail: string, caller: string, callee: string): string {
  return kind + SEP + detail + SEP + caller + SEP + callee;
}

export function newCell(kind: string, detail: string, caller: string, callee: string): TrafficCell {
  return {
    kind,
    detail,
    caller,
    callee,
    count: 0,
    errors: 0,
    items: 0,
    latencySumMs: 0,
    latencyMaxMs: 0,
    latency: [],
  };
}

/** Counts one call into a cell. */
export function countInto(cell: TrafficCell, ms: number | undefined, error: boolean, items: number): void {
  cell.count++;
  if (error) cell.errors++;
  cell.items += items;
  if (ms !== undefined && ms >= 0) {
    cell.latencySumMs += ms;
    if (ms > cell.latencyMaxMs) cell.latencyMaxMs = ms;
    const b = bucketOf(ms);
    const h = cell.latency;
    while (h.length <= b) h.push(0);
    h[b]!++;
  }
}

/** Adds `from` into `into` (same key); returns `into`. */
export function mergeCell(into: TrafficCell, from: TrafficCell): TrafficCell {
  into.count += from.count;
  into.errors += from.errors;
  into.items += from.items;
  into.latencySumMs += from.latencySumMs;
  if (from.latencyMaxMs > into.latencyMaxMs) into.latencyMaxMs = from.latencyMaxMs;
  mergeHistogram(into.latency, from.latency);
  return into;
}

/** Merges cells with the same key (kind, detail, caller, callee). */
export function mergeCells(cells: Iterable<TrafficCell>): TrafficCell[] {
  const by = new Map<string, TrafficCell>();
  for (const c of cells) {
    const k = cellKey(c.kind, c.detail, c.caller, c.callee);
    const have = by.get(k);
    if (have) mergeCell(have, c);
    else by.set(k, mergeCell(newCell(c.kind, c.detail, c.caller, c.callee), c));
  }
  return [...by.values()];
}
