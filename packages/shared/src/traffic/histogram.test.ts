import { describe, expect, it } from "vitest";
import {
  BUCKETS,
  bucketOf,
  decodeHistogram,
  emptyHistogram,
  encodeHistogram,
  histogramCount,
  LATENCY_BOUNDS_MS,
  mergeHistogram,
  percentile,
  percentiles,
  trimHistogram,
} from "./histogram.js";

function histOf(values: number[]): number[] {
  const h = emptyHistogram();
  for (const v of values) h[bucketOf(v)]!++;
  return h;
}

/** The exact q-quantile (nearest rank), to compare the estimate with. */
function exact(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.max(0, Math.ceil(q * s.length) - 1)]!;
}

describe("latency histogram", () => {
  it("puts a value in the first bucket whose bound is not below it", () => {
    expect(bucketOf(0)).toBe(0);
    expect(bucketOf(0.1)).toBe(0);
    expect(bucketOf(0.11)).toBe(1);
    expect(bucketOf(1)).toBe(LATENCY_BOUNDS_MS.indexOf(1));
    expect(bucketOf(1.01)).toBe(LATENCY_BOUNDS_MS.indexOf(2));
    expect(bucketOf(86_400_000)).toBe(LATENCY_BOUNDS_MS.indexOf(86_400_000));
    expect(bucketOf(1e12)).toBe(BUCKETS - 1);
    expect(bucketOf(Number.NaN)).toBe(0);
  });

  it("has increasing bounds (stored histograms depend on their order)", () => {
    for (let i = 1; i < LATENCY_BOUNDS_MS.length; i++)
      expect(LATENCY_BOUNDS_MS[i]!).toBeGreaterThan(LATENCY_BOUNDS_MS[i - 1]!);
  });

  it("estimates percentiles within the width of the bucket they fall in", () => {
    // 1..1000 ms uniformly, and a long-tailed set.
    const uniform = Array.from({ length: 1000 }, (_, i) => i + 1);
    const tailed = Array.from({ length: 1000 }, (_, i) => (i < 900 ? 5 + (i % 10) : 200 + i * 3));
    for (const values of [uniform, tailed]) {
      const h = histOf(values);
      const max = Math.max(...values);
      for (const q of [0.5, 0.95, 0.99]) {
        const truth = exact(values, q);
        const b = bucketOf(truth);
        const lower = b === 0 ? 0 : LATENCY_BOUNDS_MS[b - 1]!;
        const upper = LATENCY_BOUNDS_MS[b] ?? max;
        const est = percentile(h, q, max)!;
        expect(est).toBeGreaterThanOrEqual(lower);
        expect(est).toBeLessThanOrEqual(upper);
      }
    }
  });

  it("never says more than the largest value seen, and nothing when empty", () => {
    const h = histOf([3, 3, 3, 4]);
    expect(percentile(h, 0.99, 4)).toBeLessThanOrEqual(4);
    expect(percentile(emptyHistogram(), 0.5)).toBeUndefined();
    expect(percentiles([])).toEqual({});
    // Above the last bound: between it and the largest value seen.
    const far = percentile(histOf([1e12]), 0.5, 1e12)!;
    expect(far).toBeGreaterThan(LATENCY_BOUNDS_MS.at(-1)!);
    expect(far).toBeLessThanOrEqual(1e12);
  });

  it("merges by adding counts, whatever the lengths", () => {
    const a = [1, 2];
    mergeHistogram(a, [0, 1, 0, 5]);
    expect(a).toEqual([1, 3, 0, 5]);
    expect(histogramCount(a)).toBe(9);
    expect(trimHistogram([1, 0, 2, 0, 0])).toEqual([1, 0, 2]);
  });

  it("encodes sparsely for SQLite and decodes back, skipping what does not parse", () => {
    const h = histOf([0.5, 12, 12, 40_000]);
    const text = encodeHistogram(h);
    expect(text).toMatch(/^\d+:1,\d+:2,\d+:1$/);
    expect(trimHistogram(decodeHistogram(text))).toEqual(trimHistogram(h));
    expect(decodeHistogram("")).toEqual([]);
    expect(decodeHistogram("x:1,3:2,999:4,2:-1")).toEqual([0, 0, 0, 2]);
    // Decoding into an existing histogram adds.
    expect(decodeHistogram("1:2", [1, 1])).toEqual([1, 3]);
  });
});
