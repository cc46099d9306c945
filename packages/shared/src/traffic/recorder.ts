// Counting on the hot path: a call costs a map lookup and a few additions in memory. Nothing is
// written per call; the node's traffic loop takes what was counted (flush) and writes it to SQLite
// in one transaction per interval (store.ts).
import { cellKey, countInto, minuteOf, newCell, TRAFFIC_KINDS, type TrafficCell } from "./cells.js";

/** Where each count also goes as it happens (the Prometheus metrics). */
export interface TrafficSink {
  record(
    kind: string,
    detail: string,
    caller: string,
    callee: string,
    ms: number | undefined,
    error: boolean,
    items: number,
  ): void;
}

export interface TrafficRecorderOptions {
  /** This node's institution id: the callee of what it answers. */
  nodeId: string;
  /** `[traffic] enabled`; when false every count is dropped at once. */
  enabled?: boolean;
  sink?: TrafficSink;
  now?: () => number;
  /** Cells per minute kept apart; more (a flood of distinct callers) are counted together. */
  maxCellsPerMinute?: number;
}

/** What a flush hands over: the cells counted in each minute since the last flush. */
export interface CountedMinute {
  minute: number;
  cells: TrafficCell[];
}

const DEFAULT_MAX_CELLS = 10_000;
/** Where counts go once a minute has `maxCellsPerMinute` cells. */
export const OVERFLOW = "(overflow)";

/**
 * A node's traffic counters, by minute. Other code counts through it: the RPC interceptor (every
 * call), the member's ILL service (turnaround), catalog and document delivery (downloads).
 */
export class TrafficRecorder {
  readonly nodeId: string;
  readonly enabled: boolean;
  readonly #sink: TrafficSink | undefined;
  readonly #now: () => number;
  readonly #max: number;
  #minutes = new Map<number, Map<string, TrafficCell>>();
  #minute = -1;
  #cells: Map<string, TrafficCell> | undefined;

  constructor(o: TrafficRecorderOptions) {
    this.nodeId = o.nodeId;
    this.enabled = o.enabled ?? true;
    this.#sink = o.sink;
    this.#now = o.now ?? Date.now;
    this.#max = o.maxCellsPerMinute ?? DEFAULT_MAX_CELLS;
  }

  /**
   * Counts one event. `ms`: its latency (undefined: none); `items`: records, bytes, … it carried.
   * Positional on purpose: this runs for every RPC, and an options object would be garbage.
   */
  add(
    kind: string,
    detail: string,
    caller: string,
    callee: string,
    ms?: number,
    error = false,
    items = 0,
  ): void {
    if (!this.enabled) return;
    const minute = minuteOf(this.#now());
    if (minute !== this.#minute || !this.#cells) {
      this.#minute = minute;
      let cells = this.#minutes.get(minute);
      if (!cells) {
        cells = new Map();
        this.#minutes.set(minute, cells);
      }
      this.#cells = cells;
    }
    const key = cellKey(kind, detail, caller, callee);
    let cell = this.#cells.get(key);
    if (!cell) {
      if (this.#cells.size < this.#max) {
        cell = newCell(kind, detail, caller, callee);
        this.#cells.set(key, cell);
      } else {
        // Bounded memory whatever arrives; the overflow cells (one per kind) go past the limit.
        const over = cellKey(kind, OVERFLOW, OVERFLOW, OVERFLOW);
        cell = this.#cells.get(over);
        if (!cell) {
          cell = newCell(kind, OVERFLOW, OVERFLOW, OVERFLOW);
          this.#cells.set(over, cell);
        }
      }
    }
    countInto(cell, ms, error, items);
    this.#sink?.record(kind, detail, caller, callee, ms, error, items);
  }

  /**
   * A record copied from a union catalog or a delivered copy downloaded, counted where it is
   * served. `by`: the downloading institution; `bytes`: the size, when known.
   */
  download(o: {
    by: string;
    what: "record" | "copy";
    bytes?: number;
    ms?: number;
    error?: boolean;
    from?: string;
  }): void {
    this.add(
      TRAFFIC_KINDS.download,
      o.what,
      o.by,
      o.from ?? this.nodeId,
      o.ms,
      o.error ?? false,
      o.bytes ?? 0,
    );
  }

  /** An ILL request filled (Loaned, CopyCompleted), counted at its borrower: request → filled. */
  turnaround(serviceType: string, lender: string, borrower: string, ms: number): void {
    this.add(TRAFFIC_KINDS.turnaround, serviceType, lender, borrower, ms);
  }

  /** Takes everything counted since the last flush, oldest minute first. */
  flush(): CountedMinute[] {
    const out = [...this.#minutes]
      .sort((a, b) => a[0] - b[0])
      .map(([minute, cells]) => ({ minute, cells: [...cells.values()] }));
    this.#minutes = new Map();
    this.#minute = -1;
    this.#cells = undefined;
    return out;
  }

  /** Cells counted and not yet flushed. */
  get pendingCells(): number {
    let n = 0;
    for (const m of this.#minutes.values()) n += m.size;
    return n;
  }
}
