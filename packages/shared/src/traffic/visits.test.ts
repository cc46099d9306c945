import { describe, expect, it } from "vitest";
import { TRAFFIC_KINDS, type TrafficBlock, type TrafficCell } from "./cells.js";
import { visitFigures } from "./visits.js";

const cell = (detail: string, caller: string, callee: string, count: number): TrafficCell => ({
  kind: TRAFFIC_KINDS.visit,
  detail,
  caller,
  callee,
  count,
  errors: 0,
  items: 0,
  latencySumMs: 0,
  latencyMaxMs: 0,
  latency: [],
});

describe("visitFigures", () => {
  it("sums visits and in-person loans per institution and region, lent where made, borrowed by the home", () => {
    const blocks: TrafficBlock[] = [
      {
        nodeId: "south-a",
        minute: 1,
        minutes: 1,
        version: 1,
        cells: [
          cell("visit", "north-a", "south-a", 3),
          cell("loan", "north-a", "south-a", 2),
          cell("return", "north-a", "south-a", 1),
        ],
      },
      {
        nodeId: "north-b",
        minute: 1,
        minutes: 1,
        version: 1,
        cells: [cell("loan", "south-a", "north-b", 1)],
      },
    ];
    const region: Record<string, string> = { "north-a": "north", "north-b": "north", "south-a": "south" };
    const f = visitFigures(
      blocks,
      (id) => ({ id, name: id, region: region[id] ?? "", tier: "member" }) as never,
    );
    expect(f.visits).toBe(3);
    expect(f.loans).toBe(3);
    const by = new Map(f.institutions.map((i) => [i.id, i]));
    expect(by.get("south-a")).toMatchObject({ visits: 3, lent: 2, borrowed: 1, returns: 1, region: "south" });
    expect(by.get("north-a")).toMatchObject({ lent: 0, borrowed: 2 });
    expect(by.get("north-b")).toMatchObject({ lent: 1, borrowed: 0 });
    const r = new Map(f.regions.map((i) => [i.id, i]));
    expect(r.get("north")).toMatchObject({ lent: 1, borrowed: 2 });
    expect(r.get("south")).toMatchObject({ lent: 2, borrowed: 1, visits: 3 });
  });
});
