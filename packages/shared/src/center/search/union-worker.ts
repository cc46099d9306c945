/**
 * A search worker thread of a center (search/pool.ts): one union catalog search on a read-only
 * connection. The regions of the directory come with the task (a function cannot cross threads).
 */
import type { EngineQuery, EngineResult } from "../../search/engine-types.js";
import { readOnlyDb } from "../../search/worker-db.js";
import { searchUnion } from "./union-engine.js";

export interface UnionSearchTask {
  path: string;
  nodeId: string;
  query: string;
  opts: EngineQuery;
  /** Institution → region, from the directory. */
  regions: Record<string, string>;
}

export function search(task: UnionSearchTask): EngineResult {
  return searchUnion({ db: readOnlyDb(task.path), nodeId: task.nodeId }, task.query, {
    ...task.opts,
    regionOf: (id) => task.regions[id],
  });
}
