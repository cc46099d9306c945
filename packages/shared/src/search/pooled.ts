/**
 * A node's own search (SearchFn) on the worker pool (pool.ts): the query is checked here first, so
 * a bad query or cursor fails with its own error (CqlParseError, SearchCursorError) as it does on
 * the calling thread; the search itself runs on a worker within the caller's deadline.
 */
import type { Database, Sqlite } from "../db.js";
import { compileQuery } from "./compile.js";
import { queryHash } from "./cursor.js";
import { pageOf, sqliteOf } from "./engine.js";
import type { EngineQuery, EngineResult, SearchFn } from "./engine-types.js";
import { SearchPool } from "./pool.js";

export interface PooledSearchOptions<Task> {
  db: Database | Sqlite;
  /** The catalog kind its cursors carry ("union", "member"). */
  kind: string;
  /** The compiled worker module (its export `search` runs a Task). */
  worker: URL;
  /** The task for one search of the database file at `path`. */
  task: (path: string, query: string, opts: EngineQuery) => Task;
  /** The same search on the calling thread, when no worker can run it. */
  inThread: SearchFn;
  threads?: number;
}

export interface PooledSearch {
  search: SearchFn;
  close(): Promise<void>;
}

export function pooledSearch<Task>(o: PooledSearchOptions<Task>): PooledSearch {
  const sqlite = sqliteOf(o.db);
  const path = sqlite.memory ? undefined : sqlite.name;
  const pool = path
    ? SearchPool.open<Task, EngineResult>({ worker: o.worker, threads: o.threads })
    : undefined;
  if (!pool || !path) return { search: o.inThread, close: async () => {} };
  return {
    search: (query, opts, signal) => {
      check(o.kind, query, opts);
      return pool.run(o.task(path, query, opts), signal);
    },
    close: () => pool.close(),
  };
}

/** Throws what the engine would for this query, page size and cursor, before any work is sent off. */
function check(kind: string, query: string, opts: EngineQuery): void {
  pageOf(opts, queryHash(kind, compileQuery(query).canonical));
}
