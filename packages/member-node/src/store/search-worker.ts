/**
 * A search worker thread of a member (`@lrs/shared` search/pool.ts): one LOCAL search of the
 * member's catalog on a read-only connection.
 */
import { type EngineQuery, type EngineResult, readOnlyDb } from "@lrs/shared";
import { searchMember } from "./catalog-search.js";

export interface MemberSearchTask {
  path: string;
  institutionId: string;
  query: string;
  opts: EngineQuery & { ownRegion?: string };
}

export function search(task: MemberSearchTask): EngineResult {
  return searchMember(
    { db: readOnlyDb(task.path), institutionId: task.institutionId },
    task.query,
    task.opts,
  );
}
