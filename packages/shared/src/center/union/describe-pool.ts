/**
 * Describing a pushed batch's records (describe.ts: parsing the MARC, match keys, summary, search
 * text) on worker threads, before the receiver's transaction: that work is about a quarter of what
 * applying a change costs, and off the event loop it runs on the other cores while the node keeps
 * answering (health checks, searches, ILL messages) and then writes the batch (bench/apply.mjs,
 * BENCHMARKS.md). The pool is the one searches use (search/pool.ts: piscina). The descriptions are
 * keyed by the change's MARC bytes; a record without one (no pool, a worker that failed) is
 * described when applied, by the same function, so the outcome never depends on the pool.
 */
import type { RecordChange } from "../../catalog-sync/change-feed.js";
import { SearchPool } from "../../search/pool.js";
import type { RecordDescription } from "./describe.js";

/** Descriptions of records by their MARC bytes (the very array of the change). */
export type RecordDescriptions = ReadonlyMap<Uint8Array, RecordDescription>;

export interface RecordDescriber {
  /** The descriptions of the upserts among `changes`. */
  describe(changes: readonly RecordChange[]): Promise<RecordDescriptions>;
  close(): Promise<void>;
}

/** Fewer records than this go to one thread: a task costs a message each way. */
const MIN_PER_THREAD = 64;

/** A pool of `threads` describing threads, or undefined where the compiled worker is absent (tests from sources). */
export function describePool(threads?: number): RecordDescriber | undefined {
  const pool = SearchPool.open<Uint8Array[], RecordDescription[]>({
    worker: new URL("./describe-worker.js", import.meta.url),
    name: "describe",
    ...(threads !== undefined ? { threads } : {}),
  });
  if (!pool) return undefined;
  const size = pool.threads;
  return {
    async describe(changes) {
      const marcs = changes.flatMap((c) => (c.kind === "upsert" ? [c.marc] : []));
      const per = Math.max(MIN_PER_THREAD, Math.ceil(marcs.length / size));
      const parts: Uint8Array[][] = [];
      for (let i = 0; i < marcs.length; i += per) parts.push(marcs.slice(i, i + per));
      const described = await Promise.all(parts.map((part) => pool.run(part)));
      const all = described.flat();
      return new Map(marcs.map((marc, i) => [marc, all[i]!]));
    },
    close: () => pool.close(),
  };
}
