// Traffic figures in SQLite: this node's own (added once per flush interval, in one transaction)
// and, at a center, those reported from below (kept by (node, minute) at the highest version).
// Every change gets a number of this node's own change sequence (rev): the report upward resumes
// from the last number the parent acknowledged, so a restart neither loses nor repeats anything.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Database } from "../db.js";
import { type NodeHealth, NodeHealthSchema } from "../gen/lrs/v1/traffic_pb.js";
import { minuteOf, type TrafficBlock, type TrafficCell } from "./cells.js";
import { decodeHistogram, encodeHistogram, type Histogram } from "./histogram.js";
import type { CountedMinute } from "./recorder.js";

export interface TrafficStoreOptions {
  /** This node's institution id. */
  nodeId: string;
  /** How long figures are kept (`[traffic] retention`), in milliseconds. */
  retentionMs: number;
  now?: () => number;
}

/** What a center did with a report's blocks. */
export interface ReceiveResult {
  accepted: number;
  duplicates: number;
  expired: number;
  rejected: Array<{ nodeId: string; minute: number; reason: string }>;
}

export interface RowQuery {
  /** From this minute (included) … */
  sinceMinute: number;
  /** … to this one (excluded). */
  untilMinute: number;
  /** Minutes merged into one block per node; 0 or absent: the whole span. */
  stepMinutes?: number;
  /** Only these kinds (all when absent or empty). */
  kinds?: readonly string[];
}

/** A block as stored, with its place in this node's change sequence. */
export interface StoredBlock extends TrafficBlock {
  rev: number;
}

/** Which blocks changed (and whether any node's health did): for WatchTraffic and the dashboard. */
export interface TrafficChange {
  blocks: Array<{ nodeId: string; minute: number }>;
  health: boolean;
}

const REV_KEY = "traffic_rev";
const REPORTED_KEY = "traffic_reported_rev";
const PRUNE_CHUNK = 2_000;

interface CellRow {
  node_id: string;
  minute: number;
  kind: string;
  detail: string;
  caller: string;
  callee: string;
  count: number;
  errors: number;
  items: number;
  latency_sum_ms: number;
  latency_max_ms: number;
  latency: string;
}

function cellOf(r: CellRow): TrafficCell {
  return {
    kind: r.kind,
    detail: r.detail,
    caller: r.caller,
    callee: r.callee,
    count: r.count,
    errors: r.errors,
    items: r.items,
    latencySumMs: r.latency_sum_ms,
    latencyMaxMs: r.latency_max_ms,
    latency: decodeHistogram(r.latency),
  };
}

/**
 * Registers the SQL functions that add histograms: lrs_hist_add(a, b) and the aggregate
 * lrs_hist_merge(h), so that merging minutes into steps happens inside SQLite.
 */
function registerFunctions(db: Database): void {
  db.sqlite.function("lrs_hist_add", { deterministic: true }, (a: unknown, b: unknown) =>
    encodeHistogram(decodeHistogram(String(b ?? ""), decodeHistogram(String(a ?? "")))),
  );
  db.sqlite.aggregate("lrs_hist_merge", {
    start: () => [] as Histogram,
    step: (acc: Histogram, h: unknown) => decodeHistogram(String(h ?? ""), acc),
    result: (acc: Histogram) => encodeHistogram(acc),
  });
}

export class TrafficStore {
  readonly nodeId: string;
  readonly retentionMs: number;
  readonly #db: Database;
  readonly #now: () => number;
  readonly #listeners = new Set<(c: TrafficChange) => void>();
  readonly #q;
  readonly #rowQueries = new Map<string, ReturnType<Database["sqlite"]["prepare"]>>();

  constructor(db: Database, o: TrafficStoreOptions) {
    this.#db = db;
    this.nodeId = o.nodeId;
    this.retentionMs = o.retentionMs;
    this.#now = o.now ?? Date.now;
    registerFunctions(db);
    const p = (sql: string) => db.sqlite.prepare(sql);
    this.#q = {
      meta: p("SELECT value FROM node_meta WHERE key = ?"),
      setMeta: p(
        "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      ),
      addCell: p(
        `INSERT INTO traffic_cells (node_id, minute, kind, detail, caller, callee, count, errors, items,
           latency_sum_ms, latency_max_ms, latency)
         VALUES (@node, @minute, @kind, @detail, @caller, @callee, @count, @errors, @items, @sum, @max, @latency)
         ON CONFLICT (node_id, minute, kind, detail, caller, callee) DO UPDATE SET
           count = count + excluded.count, errors = errors + excluded.errors, items = items + excluded.items,
           latency_sum_ms = latency_sum_ms + excluded.latency_sum_ms,
           latency_max_ms = max(latency_max_ms, excluded.latency_max_ms),
           latency = lrs_hist_add(latency, excluded.latency)`,
      ),
      block: p("SELECT version, rev FROM traffic_blocks WHERE node_id = ? AND minute = ?"),
      putBlock: p(
        `INSERT INTO traffic_blocks (node_id, minute, version, rev, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (node_id, minute) DO UPDATE SET version = excluded.version, rev = excluded.rev,
           updated_at = excluded.updated_at`,
      ),
      dropCells: p("DELETE FROM traffic_cells WHERE node_id = ? AND minute = ?"),
      dropBlock: p("DELETE FROM traffic_blocks WHERE node_id = ? AND minute = ?"),
      cells: p("SELECT * FROM traffic_cells WHERE node_id = ? AND minute = ?"),
      since: p("SELECT node_id, minute, version, rev FROM traffic_blocks WHERE rev > ? ORDER BY rev LIMIT ?"),
      unreported: p("SELECT count(*) AS n FROM traffic_blocks WHERE rev > ?"),
      old: p("SELECT node_id, minute FROM traffic_blocks WHERE minute < ? LIMIT ?"),
      health: p("SELECT data FROM traffic_health ORDER BY node_id"),
      healthOf: p("SELECT data FROM traffic_health WHERE node_id = ?"),
      putHealth: p(
        `INSERT INTO traffic_health (node_id, data, received_at) VALUES (?, ?, ?)
         ON CONFLICT (node_id) DO UPDATE SET data = excluded.data, received_at = excluded.received_at`,
      ),
      oldHealth: p("DELETE FROM traffic_health WHERE received_at < ?"),
    };
  }

  /** The first minute still kept. */
  oldestMinute(now = this.#now()): number {
    return minuteOf(now - this.retentionMs);
  }

  get retentionMinutes(): number {
    return Math.ceil(this.retentionMs / 60_000);
  }

  onChange(fn: (c: TrafficChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(c: TrafficChange): void {
    if (c.blocks.length === 0 && !c.health) return;
    for (const l of this.#listeners) {
      try {
        l(c);
      } catch {
        // A listener's failure is its own; the write has happened.
      }
    }
  }

  #meta(key: string): number {
    const row = this.#q.meta.get(key) as { value: string } | undefined;
    return row ? Number(row.value) : 0;
  }

  /** Adds a cell to a node's minute (to what the same key held). */
  #addCell(nodeId: string, minute: number, c: TrafficCell): void {
    this.#q.addCell.run({
      node: nodeId,
      minute,
      kind: c.kind,
      detail: c.detail,
      caller: c.caller,
      callee: c.callee,
      count: c.count,
      errors: c.errors,
      items: c.items,
      sum: c.latencySumMs,
      max: c.latencyMaxMs,
      latency: encodeHistogram(c.latency),
    });
  }

  /** The stored cells of a node's minute. */
  #cells(nodeId: string, minute: number): TrafficCell[] {
    return (this.#q.cells.all(nodeId, minute) as CellRow[]).map(cellOf);
  }

  /**
   * Adds what this node counted (a recorder's flush) to its own blocks, in one transaction: the
   * counts are added to what the minute held (a minute may be flushed in parts, and again after a
   * restart), and each block changed gets a new version.
   */
  addLocal(minutes: readonly CountedMinute[]): number {
    const changed: TrafficChange["blocks"] = [];
    let cells = 0;
    const at = new Date(this.#now()).toISOString();
    this.#db.transaction(() => {
      let rev = this.#meta(REV_KEY);
      for (const m of minutes) {
        if (m.cells.length === 0) continue;
        for (const c of m.cells) {
          this.#addCell(this.nodeId, m.minute, c);
          cells++;
        }
        rev++;
        this.#q.putBlock.run(this.nodeId, m.minute, rev, rev, at);
        changed.push({ nodeId: this.nodeId, minute: m.minute });
      }
      this.#q.setMeta.run(REV_KEY, String(rev));
    });
    this.#emit({ blocks: changed, health: false });
    return cells;
  }

  /**
   * Keeps the blocks a node below reported, each replacing what was held for its (node, minute)
   * when its version is newer, in one transaction. `mayReport` says whether the reporter may
   * report a node's figures (a reason when not).
   */
  receive(blocks: readonly TrafficBlock[], mayReport: (nodeId: string) => true | string): ReceiveResult {
    const res: ReceiveResult = { accepted: 0, duplicates: 0, expired: 0, rejected: [] };
    const changed: TrafficChange["blocks"] = [];
    const oldest = this.oldestMinute();
    const at = new Date(this.#now()).toISOString();
    this.#db.transaction(() => {
      let rev = this.#meta(REV_KEY);
      for (const b of blocks) {
        const why = b.nodeId === this.nodeId ? `${this.nodeId} counts its own figures` : mayReport(b.nodeId);
        if (why !== true) {
          res.rejected.push({ nodeId: b.nodeId, minute: b.minute, reason: why });
          continue;
        }
        if (b.minute < oldest) {
          res.expired++;
          continue;
        }
        const have = this.#q.block.get(b.nodeId, b.minute) as { version: number } | undefined;
        if (have && have.version >= b.version) {
          res.duplicates++;
          continue;
        }
        this.#q.dropCells.run(b.nodeId, b.minute);
        for (const c of b.cells) this.#addCell(b.nodeId, b.minute, c);
        rev++;
        this.#q.putBlock.run(b.nodeId, b.minute, b.version, rev, at);
        changed.push({ nodeId: b.nodeId, minute: b.minute });
        res.accepted++;
      }
      this.#q.setMeta.run(REV_KEY, String(rev));
    });
    this.#emit({ blocks: changed, health: false });
    return res;
  }

  /**
   * Keeps what nodes said of their health, each replacing what was held unless that was observed
   * later (a report forwarded late must not turn the clock back).
   */
  putHealth(list: readonly NodeHealth[]): void {
    if (list.length === 0) return;
    const at = new Date(this.#now()).toISOString();
    let changed = false;
    this.#db.transaction(() => {
      for (const h of list) {
        const row = this.#q.healthOf.get(h.nodeId) as { data: Buffer } | undefined;
        if (row) {
          const held = fromBinary(NodeHealthSchema, row.data);
          // Not older, and not the same report again (a regional center passes its members' on each time).
          if (held.observedAt && h.observedAt && timestampMs(held.observedAt) >= timestampMs(h.observedAt))
            continue;
        }
        this.#q.putHealth.run(h.nodeId, Buffer.from(toBinary(NodeHealthSchema, h)), at);
        changed = true;
      }
    });
    this.#emit({ blocks: [], health: changed });
  }

  /** Every node's health as last heard, by node id. */
  health(): NodeHealth[] {
    return (this.#q.health.all() as Array<{ data: Buffer }>).map((r) => fromBinary(NodeHealthSchema, r.data));
  }

  /** The position the parent has acknowledged. */
  get reportedRev(): number {
    return this.#meta(REPORTED_KEY);
  }

  /** Blocks changed since the parent's last acknowledgement. */
  unreported(): number {
    return (this.#q.unreported.get(this.reportedRev) as { n: number }).n;
  }

  /**
   * The next blocks to report upward, in change order: at most `maxBlocks`, and no more cells
   * than `maxCells` (but always at least one block). `lastRev` is what to acknowledge once sent.
   */
  pendingReport(maxBlocks = 200, maxCells = 20_000): { blocks: StoredBlock[]; lastRev: number } {
    const rows = this.#q.since.all(this.reportedRev, maxBlocks) as Array<{
      node_id: string;
      minute: number;
      version: number;
      rev: number;
    }>;
    const blocks: StoredBlock[] = [];
    let cells = 0;
    let lastRev = this.reportedRev;
    for (const r of rows) {
      const c = this.#cells(r.node_id, r.minute);
      if (blocks.length > 0 && cells + c.length > maxCells) break;
      cells += c.length;
      blocks.push({
        nodeId: r.node_id,
        minute: r.minute,
        minutes: 1,
        version: r.version,
        rev: r.rev,
        cells: c,
      });
      lastRev = r.rev;
    }
    return { blocks, lastRev };
  }

  /** The parent has stored everything up to `rev`. */
  acknowledge(rev: number): void {
    if (rev <= this.reportedRev) return;
    this.#q.setMeta.run(REPORTED_KEY, String(rev));
  }

  /** Stored blocks by key, with their cells and versions (WatchTraffic's updates). */
  blocks(keys: ReadonlyArray<{ nodeId: string; minute: number }>): StoredBlock[] {
    const out: StoredBlock[] = [];
    for (const k of keys) {
      const b = this.#q.block.get(k.nodeId, k.minute) as { version: number; rev: number } | undefined;
      if (!b) continue;
      const cells = this.#cells(k.nodeId, k.minute);
      out.push({ nodeId: k.nodeId, minute: k.minute, minutes: 1, version: b.version, rev: b.rev, cells });
    }
    return out;
  }

  /**
   * The figures of a span, merged inside SQLite into one block per node and step (cells with
   * the same key added, histograms too). A block's `minute` is the first of its step.
   */
  rows(q: RowQuery): TrafficBlock[] {
    const span = Math.max(1, q.untilMinute - q.sinceMinute);
    const step = q.stepMinutes && q.stepMinutes > 0 ? Math.min(q.stepMinutes, span) : span;
    const kinds = q.kinds?.length ? [...q.kinds] : [];
    const shape = `k${kinds.length}`;
    let stmt = this.#rowQueries.get(shape);
    if (!stmt) {
      stmt = this.#db.sqlite.prepare(
        `SELECT node_id, (minute - CAST(@since AS INTEGER)) / CAST(@step AS INTEGER) AS bucket, kind, detail, caller, callee,
           sum(count) AS count, sum(errors) AS errors, sum(items) AS items,
           sum(latency_sum_ms) AS latency_sum_ms, max(latency_max_ms) AS latency_max_ms,
           lrs_hist_merge(latency) AS latency
         FROM traffic_cells
         WHERE minute >= @since AND minute < @until
           ${kinds.length ? `AND kind IN (${kinds.map((_, i) => `@k${i}`).join(", ")})` : ""}
         GROUP BY node_id, bucket, kind, detail, caller, callee
         ORDER BY node_id, bucket`,
      );
      this.#rowQueries.set(shape, stmt);
    }
    const params: Record<string, unknown> = { since: q.sinceMinute, until: q.untilMinute, step };
    kinds.forEach((k, i) => {
      params[`k${i}`] = k;
    });
    const rows = stmt.all(params) as Array<CellRow & { bucket: number }>;
    const out: TrafficBlock[] = [];
    let cur: TrafficBlock | undefined;
    for (const r of rows) {
      const minute = q.sinceMinute + r.bucket * step;
      if (!cur || cur.nodeId !== r.node_id || cur.minute !== minute) {
        cur = {
          nodeId: r.node_id,
          minute,
          minutes: Math.min(step, q.untilMinute - minute),
          version: 0,
          cells: [],
        };
        out.push(cur);
      }
      cur.cells.push(cellOf(r));
    }
    return out;
  }

  /** Deletes figures and health older than the retention; returns how many blocks went. */
  prune(): number {
    const oldest = this.oldestMinute();
    let removed = 0;
    for (;;) {
      const rows = this.#q.old.all(oldest, PRUNE_CHUNK) as Array<{ node_id: string; minute: number }>;
      if (rows.length === 0) break;
      this.#db.transaction(() => {
        for (const r of rows) {
          this.#q.dropCells.run(r.node_id, r.minute);
          this.#q.dropBlock.run(r.node_id, r.minute);
        }
      });
      removed += rows.length;
      if (rows.length < PRUNE_CHUNK) break;
    }
    this.#q.oldHealth.run(new Date(this.#now() - this.retentionMs).toISOString());
    return removed;
  }
}
