import { describe, expect, it } from "vitest";
import { mergeCells, TRAFFIC_KINDS } from "./cells.js";
import { bucketOf } from "./histogram.js";
import { OVERFLOW, TrafficRecorder, type TrafficSink } from "./recorder.js";

const MIN = 60_000;

describe("TrafficRecorder", () => {
  it("counts into per-minute cells by kind, detail, caller and callee", () => {
    let now = 10 * MIN + 5_000;
    const r = new TrafficRecorder({ nodeId: "north-rc", now: () => now });
    r.add("search", "region", "north-a", "north-rc", 12);
    r.add("search", "region", "north-a", "north-rc", 30, true);
    r.add("search", "national", "north-a", "north-rc", 80);
    now = 11 * MIN;
    r.add("search", "region", "north-a", "north-rc", 5);
    r.add("sync", "batch", "north-b", "north-rc", 3, false, 250);
    expect(r.pendingCells).toBe(4);

    const minutes = r.flush();
    expect(minutes.map((m) => m.minute)).toEqual([10, 11]);
    const ten = minutes[0]!.cells.find((c) => c.detail === "region")!;
    expect(ten).toMatchObject({ count: 2, errors: 1, items: 0, latencySumMs: 42, latencyMaxMs: 30 });
    expect(ten.latency[bucketOf(12)]).toBe(1);
    expect(ten.latency[bucketOf(30)]).toBe(1);
    const sync = minutes[1]!.cells.find((c) => c.kind === "sync")!;
    expect(sync).toMatchObject({ count: 1, items: 250, caller: "north-b" });
  });

  it("hands each count over once: a flush empties it", () => {
    const r = new TrafficRecorder({ nodeId: "n", now: () => 5 * MIN });
    r.add("rpc", "m", "a", "n", 1);
    expect(r.flush()).toHaveLength(1);
    expect(r.flush()).toEqual([]);
    r.add("rpc", "m", "a", "n", 1);
    expect(r.flush()[0]!.cells[0]!.count).toBe(1);
  });

  it("counts nothing when disabled", () => {
    const seen: string[] = [];
    const sink: TrafficSink = { record: (kind) => seen.push(kind) };
    const r = new TrafficRecorder({ nodeId: "n", enabled: false, sink });
    r.add("rpc", "m", "a", "n", 1);
    r.download({ by: "a", what: "record" });
    expect(r.flush()).toEqual([]);
    expect(seen).toEqual([]);
  });

  it("passes every count to its sink (the metrics)", () => {
    const seen: unknown[] = [];
    const r = new TrafficRecorder({
      nodeId: "n",
      sink: { record: (...a) => seen.push(a) },
    });
    r.download({ by: "north-a", what: "copy", bytes: 1234, ms: 9 });
    r.turnaround("loan", "south-a", "north-a", 3_600_000);
    expect(seen).toEqual([
      [TRAFFIC_KINDS.download, "copy", "north-a", "n", 9, false, 1234],
      [TRAFFIC_KINDS.turnaround, "loan", "south-a", "north-a", 3_600_000, false, 0],
    ]);
  });

  it("keeps memory bounded: past the limit of cells a minute, counts go to one overflow cell per kind", () => {
    const r = new TrafficRecorder({ nodeId: "n", now: () => MIN, maxCellsPerMinute: 3 });
    for (let i = 0; i < 10; i++) r.add("rpc", `m${i}`, "a", "n", 1);
    r.add("search", "local", "x", "n", 1);
    const cells = r.flush()[0]!.cells;
    expect(cells).toHaveLength(5);
    expect(cells.find((c) => c.kind === "rpc" && c.detail === OVERFLOW)!.count).toBe(7);
    expect(cells.find((c) => c.kind === "search")!.detail).toBe(OVERFLOW);
  });

  it("merges cells with the same key", () => {
    const r = new TrafficRecorder({ nodeId: "n", now: () => MIN });
    r.add("rpc", "m", "a", "n", 2);
    const a = r.flush()[0]!.cells;
    r.add("rpc", "m", "a", "n", 9, true);
    r.add("rpc", "m", "b", "n", 1);
    const b = r.flush()[0]!.cells;
    const merged = mergeCells([...a, ...b]);
    expect(merged).toHaveLength(2);
    expect(merged.find((c) => c.caller === "a")).toMatchObject({
      count: 2,
      errors: 1,
      latencySumMs: 11,
      latencyMaxMs: 9,
    });
  });
});
