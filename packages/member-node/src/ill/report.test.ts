import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { illServicePb } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { humanMs, turnaround } from "./report.js";

const T0 = Date.parse("2026-11-02T09:00:00Z");
const MIN = 60_000;

function request(id: string, type: string, status: string, steps: Array<[string, number, boolean?]>) {
  return create(illServicePb.StaffRequestSchema, {
    id,
    role: "borrower",
    type,
    status,
    createdAt: timestampFromDate(new Date(T0 + steps[0]![1] * MIN)),
    timeline: steps.map(([to, min, repeated], i) => ({
      seq: BigInt(i + 1),
      to,
      at: timestampFromDate(new Date(T0 + min * MIN)),
      repeated: repeated ?? false,
    })),
  });
}

describe("turnaround per status", () => {
  const done = request("a", "loan", "completed", [
    ["new", 0],
    ["validated", 0],
    ["sent_to_supplier", 1],
    ["sent_to_supplier", 5, true], // a repeated status: no new stay
    ["shipped", 61],
    ["received", 61 + 24 * 60],
    ["returned", 61 + 15 * 24 * 60],
    ["completed", 61 + 16 * 24 * 60],
  ]);
  const waiting = request("b", "loan", "sent_to_supplier", [
    ["new", 10],
    ["validated", 10],
    ["sent_to_supplier", 11],
  ]);
  const copy = request("c", "copy", "copy_completed", [
    ["new", 20],
    ["validated", 20],
    ["sent_to_supplier", 21],
    ["copy_completed", 81],
  ]);
  const old = request("d", "loan", "cancelled", [
    ["new", -60 * 24 * 60],
    ["cancelled", -60 * 24 * 60 + 5],
  ]);

  it("times each stay from entering a state to leaving it, and counts the requests still in it", () => {
    const r = turnaround([done, waiting, copy, old], new Date(T0 - MIN));
    expect(r.requests).toBe(3);
    const sent = r.states.find((s) => s.state === "sent_to_supplier")!;
    // a: 60 min (1 → 61, the repeated entry at 5 does not split it), c: 60 min; b is still there.
    expect(sent).toMatchObject({ count: 2, p50Ms: 60 * MIN, maxMs: 60 * MIN, current: 1 });
    expect(r.states.find((s) => s.state === "received")).toMatchObject({
      count: 1,
      p50Ms: 14 * 24 * 60 * MIN,
    });
    // Terminal states are not stays.
    expect(r.states.find((s) => s.state === "completed")).toBeUndefined();
    expect(r.outcomes).toEqual(
      expect.arrayContaining([
        { role: "borrower", state: "completed", count: 1 },
        { role: "borrower", state: "sent_to_supplier", count: 1 },
      ]),
    );
    expect(r.endToEnd).toEqual(
      expect.arrayContaining([
        {
          role: "borrower",
          type: "loan",
          count: 1,
          p50Ms: (61 + 16 * 24 * 60) * MIN,
          p90Ms: (61 + 16 * 24 * 60) * MIN,
        },
        { role: "borrower", type: "copy", count: 1, p50Ms: 61 * MIN, p90Ms: 61 * MIN },
      ]),
    );
  });

  it("says durations as people read them", () => {
    expect(humanMs(450)).toBe("450 ms");
    expect(humanMs(61_000)).toBe("1m 1s");
    expect(humanMs(16 * 86_400_000 + 3_600_000)).toBe("16d 1h");
  });
});
