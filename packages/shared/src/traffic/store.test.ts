import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { Database } from "../db.js";
import { NodeHealthSchema } from "../gen/lrs/v1/traffic_pb.js";
import { sharedMigrations } from "../migrations.js";
import type { TrafficBlock } from "./cells.js";
import { bucketOf, percentile } from "./histogram.js";
import { TrafficRecorder } from "./recorder.js";
import { TrafficStore } from "./store.js";

const MIN = 60_000;
const DAY = 86_400_000;
const T0 = 29_000_000 * MIN; // a minute in 2025

function open(path = ":memory:"): Database {
  return Database.open(path, sharedMigrations);
}

/** A recorder on a clock the test moves. */
function clocked(nodeId: string) {
  const clock = { now: T0 };
  return { clock, recorder: new TrafficRecorder({ nodeId, now: () => clock.now }) };
}

function total(store: TrafficStore, kind: string, nodeId?: string): number {
  return store
    .rows({ sinceMinute: 0, untilMinute: Number.MAX_SAFE_INTEGER / 2, kinds: [kind] })
    .filter((b) => !nodeId || b.nodeId === nodeId)
    .flatMap((b) => b.cells)
    .reduce((n, c) => n + c.count, 0);
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe("TrafficStore: a node's own figures", () => {
  it("adds each flush to the minute's block, also across a restart, and gives each change a new version", () => {
    const dir = mkdtempSync(join(tmpdir(), "lrs-traffic-"));
    dirs.push(dir);
    const path = join(dir, "node.db");
    let db = open(path);
    let store = new TrafficStore(db, { nodeId: "north-a", retentionMs: DAY, now: () => T0 });
    const { clock, recorder } = clocked("north-a");
    recorder.add("search", "local", "north-a", "north-a", 4);
    recorder.add("search", "local", "north-a", "north-a", 6);
    store.addLocal(recorder.flush());
    const v1 = store.pendingReport().blocks[0]!.version;
    recorder.add("search", "local", "north-a", "north-a", 600);
    store.addLocal(recorder.flush());
    // The node stops and starts again within the same minute.
    db.close();
    db = open(path);
    store = new TrafficStore(db, { nodeId: "north-a", retentionMs: DAY, now: () => T0 });
    recorder.add("search", "local", "north-a", "north-a", 8);
    clock.now += MIN;
    recorder.add("search", "local", "north-a", "north-a", 8);
    store.addLocal(recorder.flush());

    const blocks = store.pendingReport().blocks;
    expect(blocks.map((b) => b.minute)).toEqual([T0 / MIN, T0 / MIN + 1]);
    expect(blocks[0]!.version).toBeGreaterThan(v1);
    const first = blocks[0]!.cells[0]!;
    expect(first).toMatchObject({ count: 4, latencySumMs: 618, latencyMaxMs: 600 });
    expect(first.latency[bucketOf(600)]).toBe(1);
    expect(first.latency[bucketOf(8)]).toBe(1);
    expect(total(store, "search")).toBe(5);
    db.close();
  });

  it("reports from the acknowledged position on: nothing again, nothing skipped", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "north-a", retentionMs: DAY, now: () => T0 });
    const { clock, recorder } = clocked("north-a");
    for (let m = 0; m < 5; m++) {
      recorder.add("rpc", "x", "north-a", "north-a", 1);
      store.addLocal(recorder.flush());
      clock.now += MIN;
    }
    const first = store.pendingReport(2);
    expect(first.blocks).toHaveLength(2);
    store.acknowledge(first.lastRev);
    expect(store.unreported()).toBe(3);
    // Minute 1 changes again after it was acknowledged: it comes back, with its new version.
    clock.now = T0 + MIN;
    recorder.add("rpc", "x", "north-a", "north-a", 1);
    store.addLocal(recorder.flush());
    const next = store.pendingReport();
    expect(next.blocks.map((b) => b.minute - T0 / MIN)).toEqual([2, 3, 4, 1]);
    store.acknowledge(next.lastRev);
    expect(store.pendingReport().blocks).toEqual([]);
    // An older acknowledgement (a late answer) does not move the position back.
    store.acknowledge(first.lastRev);
    expect(store.unreported()).toBe(0);
  });

  it("removes what is past the retention", () => {
    let now = T0;
    const db = open();
    const store = new TrafficStore(db, { nodeId: "n", retentionMs: 2 * 3_600_000, now: () => now });
    const r = new TrafficRecorder({ nodeId: "n", now: () => now });
    r.add("rpc", "x", "a", "n", 1);
    store.addLocal(r.flush());
    store.putHealth([create(NodeHealthSchema, { nodeId: "a", observedAt: timestampFromMs(now) })]);
    now += 3_600_000;
    r.add("rpc", "x", "a", "n", 1);
    store.addLocal(r.flush());
    expect(store.prune()).toBe(0);
    now += 3_600_000 + MIN;
    expect(store.prune()).toBe(1);
    expect(total(store, "rpc")).toBe(1);
    expect(store.health()).toEqual([]);
  });

  it("merges minutes into steps inside SQLite, histograms included", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "n", retentionMs: DAY, now: () => T0 });
    const { clock, recorder } = clocked("n");
    for (let m = 0; m < 6; m++) {
      for (let i = 0; i < 10; i++) recorder.add("search", "region", "north-a", "n", 10 * (m + 1));
      clock.now += MIN;
    }
    store.addLocal(recorder.flush());
    const since = T0 / MIN;
    const steps = store.rows({ sinceMinute: since, untilMinute: since + 6, stepMinutes: 3 });
    expect(steps.map((b) => [b.minute - since, b.minutes, b.cells[0]!.count])).toEqual([
      [0, 3, 30],
      [3, 3, 30],
    ]);
    const all = store.rows({ sinceMinute: since, untilMinute: since + 6 });
    expect(all).toHaveLength(1);
    const cell = all[0]!.cells[0]!;
    expect(cell.count).toBe(60);
    expect(cell.latencyMaxMs).toBe(60);
    expect(percentile(cell.latency, 0.5, cell.latencyMaxMs)).toBeGreaterThan(20);
    expect(percentile(cell.latency, 0.5, cell.latencyMaxMs)).toBeLessThanOrEqual(50);
    expect(store.rows({ sinceMinute: since, untilMinute: since + 6, kinds: ["sync"] })).toEqual([]);
  });
});

describe("TrafficStore: figures reported from below", () => {
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
        latencySumMs: count,
        latencyMaxMs: 1,
        latency: [0, 0, 0, count],
      },
    ],
  });
  const any = () => true as const;

  it("keeps one block per node and minute: a report sent again counts nothing twice", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "north-rc", retentionMs: DAY, now: () => T0 });
    const m = T0 / MIN;
    expect(store.receive([block("north-a", m, 3, 5), block("north-a", m + 1, 4, 2)], any)).toMatchObject({
      accepted: 2,
      duplicates: 0,
    });
    // The same report again (a retry after a lost answer, or after a restart).
    expect(store.receive([block("north-a", m, 3, 5), block("north-a", m + 1, 4, 2)], any)).toMatchObject({
      accepted: 0,
      duplicates: 2,
    });
    expect(total(store, "search")).toBe(7);
    // A newer version of a minute replaces the old one (it holds the old counts and more).
    expect(store.receive([block("north-a", m, 9, 8)], any).accepted).toBe(1);
    expect(total(store, "search")).toBe(10);
    // An older version arriving late changes nothing.
    expect(store.receive([block("north-a", m, 5, 6)], any).duplicates).toBe(1);
    expect(total(store, "search")).toBe(10);
  });

  it("passes what it received upward in its own change order", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "north-rc", retentionMs: DAY, now: () => T0 });
    const m = T0 / MIN;
    store.receive([block("north-a", m, 3, 5)], any);
    const r = new TrafficRecorder({ nodeId: "north-rc", now: () => T0 });
    r.add("rpc", "x", "north-a", "north-rc", 1);
    store.addLocal(r.flush());
    store.receive([block("north-b", m, 1, 1)], any);
    const up = store.pendingReport();
    expect(up.blocks.map((b) => [b.nodeId, b.version])).toEqual([
      ["north-a", 3],
      ["north-rc", 2],
      ["north-b", 1],
    ]);
  });

  it("refuses blocks the reporter may not report, and those past the retention", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "nat", retentionMs: DAY, now: () => T0 });
    const m = T0 / MIN;
    const res = store.receive(
      [block("nat", m, 1, 1), block("south-a", m, 1, 1), block("north-a", m - 2 * 1440, 1, 1)],
      (id) => id !== "south-a" || "south-a is not a member of region north",
    );
    expect(res).toMatchObject({ accepted: 0, expired: 1 });
    expect(res.rejected.map((r) => r.nodeId)).toEqual(["nat", "south-a"]);
    expect(total(store, "search")).toBe(0);
  });

  it("keeps the latest health of each node, even when an older report arrives later", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "nat", retentionMs: DAY, now: () => T0 });
    const h = (at: number, lag: number) =>
      create(NodeHealthSchema, { nodeId: "north-a", observedAt: timestampFromMs(at), syncLag: BigInt(lag) });
    store.putHealth([h(T0, 1)]);
    store.putHealth([h(T0 - MIN, 7)]);
    expect(store.health().map((x) => x.syncLag)).toEqual([1n]);
    store.putHealth([h(T0 + MIN, 2)]);
    expect(store.health().map((x) => x.syncLag)).toEqual([2n]);
  });

  it("tells listeners which blocks changed", () => {
    const db = open();
    const store = new TrafficStore(db, { nodeId: "nat", retentionMs: DAY, now: () => T0 });
    const seen: string[] = [];
    const off = store.onChange((c) =>
      seen.push(...c.blocks.map((b) => `${b.nodeId}@${b.minute - T0 / MIN}`)),
    );
    store.receive([block("north-a", T0 / MIN, 1, 1)], any);
    store.receive([block("north-a", T0 / MIN, 1, 1)], any); // duplicate: no change
    off();
    store.receive([block("north-b", T0 / MIN, 1, 1)], any);
    expect(seen).toEqual(["north-a@0"]);
  });
});
