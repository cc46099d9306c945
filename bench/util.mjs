// Small helpers the benchmark scripts share: command-line options, progress lines, percentiles.

/** The value after `name` on the command line, or `fallback`. */
export function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

/** A progress line with the time of day, on stdout (or `stream`). */
export function say(s, stream = process.stdout) {
  stream.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
}

/** The p-th percentile of sorted values (nearest rank). */
export const pct = (sorted, p) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

/** n, min, p50, p95, p99, max and mean of the finite values, or undefined when there are none. */
export function dist(values) {
  const s = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  return {
    n: s.length,
    min: s[0],
    p50: pct(s, 50),
    p95: pct(s, 95),
    p99: pct(s, 99),
    max: s.at(-1),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
  };
}

/** The median of the values (the mean of the middle two for an even count). */
export function median(values) {
  const s = [...values].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/**
 * A federation spec shaped like the demo's, for packages/dev-env: the national center, and a north
 * and a south regional center with the given members ({ id, name, extraConfig? }).
 */
export function twoRegionSpec(north, south) {
  return {
    national: { id: "national", name: "Benchmark National Center" },
    regions: [
      { region: "north", id: "north-center", name: "Northern Regional Center", members: north },
      { region: "south", id: "south-center", name: "Southern Regional Center", members: south },
    ],
  };
}

/**
 * The benchmarks' one-region federation spec: national "nat", regional "bench-rc" and the given
 * members ({ id, name }; default lib-a alone).
 */
export function benchSpec(members = [{ id: "lib-a", name: "Benchmark Library A" }]) {
  return {
    national: { id: "nat", name: "Benchmark National Center" },
    regions: [{ region: "bench", id: "bench-rc", name: "Benchmark Regional Center", members }],
  };
}
