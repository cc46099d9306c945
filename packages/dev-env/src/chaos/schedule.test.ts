import { describe, expect, it } from "vitest";
import { FAULT_KINDS, faultSchedule, type ScheduleOptions } from "./schedule.js";

const base: ScheduleOptions = {
  seed: 17,
  nodes: ["nat", "north-rc", "north-1", "north-2", "south-rc", "south-1", "south-2"],
  linked: ["north-rc", "north-1", "north-2", "south-rc", "south-1", "south-2"],
  diskNode: "south-2",
  members: ["north-1", "north-2", "south-1", "south-2"],
  durationMs: 40_000,
  meanGapMs: 4_000,
  maxHoldMs: 6_000,
};

describe("faultSchedule", () => {
  it("gives the same faults for the same seed, others for another", () => {
    expect(faultSchedule(base)).toEqual(faultSchedule(base));
    expect(faultSchedule({ ...base, seed: 18 })).not.toEqual(faultSchedule(base));
  });

  it("injects every kind once there is room for as many faults as kinds", () => {
    for (const seed of [17, 18, 19, 20, 21]) {
      const kinds = new Set(faultSchedule({ ...base, seed }).map((f) => f.kind));
      expect([...kinds].sort(), `seed ${seed}`).toEqual([...FAULT_KINDS].sort());
    }
  });

  it("leaves out the kinds this machine cannot inject", () => {
    const faults = faultSchedule({
      ...base,
      diskNode: undefined,
      kinds: ["kill", "hang", "clock", "disk-full"],
    });
    expect(new Set(faults.map((f) => f.kind))).toEqual(new Set(["kill", "hang", "clock"]));
  });

  it("never faults a node again before its last fault has healed", () => {
    const faults = faultSchedule({ ...base, durationMs: 300_000, meanGapMs: 1_000 });
    const busy = new Map<string, number>();
    for (const f of faults) {
      expect(f.atMs, `${f.kind} at ${f.node}`).toBeGreaterThanOrEqual(busy.get(f.node) ?? 0);
      busy.set(f.node, f.atMs + f.holdMs);
      if (f.kind === "disk-full") expect(f.node).toBe("south-2");
      if (f.kind === "clock") expect(base.members).toContain(f.node);
      if (f.kind.startsWith("link")) expect(base.linked).toContain(f.node);
    }
  });
});
