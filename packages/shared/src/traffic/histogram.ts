// Latency histograms with fixed buckets: cheap to count into (one binary search), exact to merge
// (add the counts), and small on the wire. Percentiles come from the buckets, interpolated within
// the bucket they fall in, so they are estimates whose error is bounded by the bucket's width.

/**
 * Upper bounds of the buckets, in milliseconds: from a tenth of a millisecond (a search of a small
 * local catalog) to 30 days (the turnaround of an interlibrary loan). Roughly 1-1.5-2-3-5-7.5 per
 * decade, so an interpolated percentile is within half a step of the truth. Bucket i counts the
 * values up to LATENCY_BOUNDS_MS[i]; one more bucket counts those above the last bound.
 *
 * Changing this list changes what stored histograms mean: only ever append to it.
 */
export const LATENCY_BOUNDS_MS: readonly number[] = [
  0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000, 1500, 2000,
  3000, 5000, 7500, 10_000, 15_000, 20_000, 30_000, 60_000, 120_000, 300_000, 600_000, 1_800_000, 3_600_000,
  7_200_000, 14_400_000, 28_800_000, 43_200_000, 86_400_000, 172_800_000, 345_600_000, 604_800_000,
  1_209_600_000, 2_592_000_000,
];

/** Number of buckets: one per bound and one for everything above the last. */
export const BUCKETS = LATENCY_BOUNDS_MS.length + 1;

/** Counts per bucket; may be shorter than BUCKETS (missing buckets are empty). */
export type Histogram = number[];

/** The bucket a latency falls in. */
export function bucketOf(ms: number): number {
  if (!(ms > LATENCY_BOUNDS_MS[0]!)) return 0;
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  // The first bound >= ms; LATENCY_BOUNDS_MS.length when above them all.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (LATENCY_BOUNDS_MS[mid]! < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function emptyHistogram(): Histogram {
  return new Array<number>(BUCKETS).fill(0);
}

/** Adds `from` into `into` (which grows as needed); returns `into`. */
export function mergeHistogram(into: Histogram, from: readonly number[]): Histogram {
  const n = Math.min(from.length, BUCKETS);
  for (let i = into.length; i < n; i++) into.push(0);
  for (let i = 0; i < n; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
  return into;
}

export function histogramCount(h: readonly number[]): number {
  let n = 0;
  for (const c of h) n += c;
  return n;
}

/** The counts without trailing empty buckets (what goes on the wire). */
export function trimHistogram(h: readonly number[]): number[] {
  let end = Math.min(h.length, BUCKETS);
  while (end > 0 && !h[end - 1]) end--;
  return h.slice(0, end);
}

/**
 * The q-quantile (0 < q ≤ 1) of a histogram, in milliseconds, or undefined when it is empty. The
 * rank is placed linearly within its bucket; the open last bucket ends at `maxMs` (the largest
 * value seen) when known. Never above `maxMs`.
 */
export function percentile(h: readonly number[], q: number, maxMs?: number): number | undefined {
  const total = histogramCount(h);
  if (total === 0) return undefined;
  const rank = Math.min(Math.max(q, 0), 1) * total;
  let before = 0;
  for (let i = 0; i < h.length; i++) {
    const c = h[i] ?? 0;
    if (c === 0) continue;
    if (before + c >= rank) {
      const lower = i === 0 ? 0 : LATENCY_BOUNDS_MS[i - 1]!;
      const last = LATENCY_BOUNDS_MS.at(-1)!;
      const upper = i < LATENCY_BOUNDS_MS.length ? LATENCY_BOUNDS_MS[i]! : Math.max(maxMs ?? last, last);
      const v = lower + ((upper - lower) * (rank - before)) / c;
      return maxMs !== undefined && maxMs > 0 ? Math.min(v, maxMs) : v;
    }
    before += c;
  }
  return maxMs;
}

/** "3:5,7:1": the non-empty buckets as bucket:count, how SQLite keeps them. */
export function encodeHistogram(h: readonly number[]): string {
  let out = "";
  for (let i = 0; i < h.length && i < BUCKETS; i++) {
    const c = h[i];
    if (!c) continue;
    out += out ? `,${i}:${c}` : `${i}:${c}`;
  }
  return out;
}

/** The inverse of encodeHistogram; pieces that do not parse are skipped. */
export function decodeHistogram(text: string, into: Histogram = []): Histogram {
  if (!text) return into;
  for (const part of text.split(",")) {
    const colon = part.indexOf(":");
    const i = Number(part.slice(0, colon));
    const c = Number(part.slice(colon + 1));
    if (!Number.isInteger(i) || i < 0 || i >= BUCKETS || !(c > 0)) continue;
    for (let k = into.length; k <= i; k++) into.push(0);
    into[i] = (into[i] ?? 0) + c;
  }
  return into;
}

/** p50, p95 and p99 of a histogram (undefined when empty). */
export function percentiles(
  h: readonly number[],
  maxMs?: number,
): { p50?: number; p95?: number; p99?: number } {
  const out: { p50?: number; p95?: number; p99?: number } = {};
  const p50 = percentile(h, 0.5, maxMs);
  if (p50 === undefined) return out;
  out.p50 = p50;
  out.p95 = percentile(h, 0.95, maxMs)!;
  out.p99 = percentile(h, 0.99, maxMs)!;
  return out;
}
