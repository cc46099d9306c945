import { describe, expect, it } from "vitest";
import { NodeCoverage_Status } from "../gen/lrs/v1/search_pb.js";
import { fanOut } from "./deadline.js";

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      reject(new Error("aborted"));
    });
  });

describe("fan-out", () => {
  it("keeps at most `concurrency` calls open, and asks every target", async () => {
    let open = 0;
    let peak = 0;
    const targets = Array.from({ length: 60 }, (_, i) => `lib-${i}`);
    const { results, coverage } = await fanOut(
      targets,
      10_000,
      async (t) => {
        open++;
        peak = Math.max(peak, open);
        await sleep(5);
        open--;
        return t;
      },
      () => 1,
      false,
      8,
    );
    expect(peak).toBe(8);
    expect(results.map((r) => r.value).sort()).toEqual([...targets].sort());
    expect(coverage.every((c) => c.status === NodeCoverage_Status.ANSWERED)).toBe(true);
  });

  it("reports a hung target as timed out within its deadline, and the rest as answered", async () => {
    const started = Date.now();
    const { results, coverage } = await fanOut(["hung", "quick"], 400, async (t, signal) => {
      if (t === "hung") await sleep(60_000, signal);
      return t;
    });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(results.map((r) => r.value)).toEqual(["quick"]);
    expect(coverage.find((c) => c.nodeId === "hung")?.status).toBe(NodeCoverage_Status.TIMED_OUT);
  });

  it("does not start a queued call once the deadline has run out, and says why", async () => {
    const { coverage } = await fanOut(
      ["slow", "queued"],
      300,
      async (_t, signal) => {
        await sleep(60_000, signal);
        return 0;
      },
      () => 0,
      false,
      1,
    );
    expect(coverage.find((c) => c.nodeId === "queued")?.detail).toMatch(/^not asked: the deadline ran out/);
  });
});
