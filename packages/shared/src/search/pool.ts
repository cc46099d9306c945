/**
 * Searches on worker threads, so that a node's searches run side by side on every core and never
 * hold up its event loop (health checks, sync pushes, ILL messages): better-sqlite3 is synchronous,
 * and one search of a big catalog takes tens of milliseconds.
 *
 * The pool is piscina (a well-kept worker-thread pool: a queue, a warm set of threads, and a task
 * aborted by its AbortSignal terminates the thread running it — the only way to stop a running
 * SQLite statement from Node, since better-sqlite3 has no interrupt). Each worker keeps one
 * read-only connection per database file (see worker-db.ts); WAL lets them read while the node
 * writes on its own connection.
 *
 * A search that cannot run on a worker — a database in memory, or this module running from
 * sources (tests) where the compiled worker file is absent — runs on the calling thread.
 */
import { existsSync } from "node:fs";
import { availableParallelism } from "node:os";
import { fileURLToPath } from "node:url";
import { Piscina } from "piscina";

/** Thrown when a search was stopped at its deadline (or its caller went away). */
export class SearchAbortedError extends Error {
  override readonly name = "SearchAbortedError";
}

export interface SearchPoolOptions {
  /** The worker module (compiled JavaScript) whose export `name` runs one task. */
  worker: URL;
  /** The worker's export that runs a task; default "search". */
  name?: string;
  /** Threads; default: one per core. */
  threads?: number;
}

export class SearchPool<Task, Result> {
  readonly #pool: Piscina<Task, Result>;
  /** How many threads run tasks. */
  readonly threads: number;

  private constructor(pool: Piscina<Task, Result>, threads: number) {
    this.#pool = pool;
    this.threads = threads;
  }

  /** A pool of `worker`, or undefined when the worker file is absent (running from sources). */
  static open<Task, Result>(o: SearchPoolOptions): SearchPool<Task, Result> | undefined {
    const file = fileURLToPath(o.worker);
    if (!existsSync(file)) return undefined;
    const threads = Math.max(1, o.threads ?? availableParallelism());
    return new SearchPool(
      new Piscina<Task, Result>({
        filename: o.worker.href,
        name: o.name ?? "search",
        minThreads: threads,
        maxThreads: threads,
        // Searches queue for a free thread rather than starting more threads than cores.
        maxQueue: "auto",
        idleTimeout: 60_000,
      }),
      threads,
    );
  }

  /** Runs `task` on a worker; aborting `signal` terminates a running task's thread. */
  async run(task: Task, signal?: AbortSignal): Promise<Result> {
    try {
      return await this.#pool.run(task, signal ? { signal } : {});
    } catch (err) {
      if (signal?.aborted) throw new SearchAbortedError(`search stopped: ${reasonOf(signal)}`);
      throw err;
    }
  }

  async close(): Promise<void> {
    await this.#pool.close({ force: true });
  }
}

function reasonOf(signal: AbortSignal): string {
  const r: unknown = signal.reason;
  return r instanceof Error ? r.message : String(r ?? "aborted");
}
