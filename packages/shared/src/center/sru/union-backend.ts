import { readMarcBlob } from "../../marc/blob.js";
import { compileQuery } from "../../search/compile.js";
import { encodeCursor, MAX_SEARCH_OFFSET, queryHash } from "../../search/cursor.js";
import type { SearchFn } from "../../search/engine-types.js";
import { exportRecord } from "../union/export-record.js";
import type { UnionCatalog } from "../union/union-catalog.js";
import type { SruBackend } from "./server.js";

export interface UnionSruBackendOptions {
  union: UnionCatalog;
  /** The center's union catalog search (searchUnion, on the worker pool). */
  search: SearchFn;
}

/**
 * SRU over a union catalog: the same engine as SearchService; each record is a
 * cluster's preferred record with one 852 per holding institution (as the
 * MARCXML export writes it).
 */
export function unionSruBackend(o: UnionSruBackendOptions): SruBackend {
  return {
    async search(cql, startRecord, maximumRecords, signal) {
      const compiled = compileQuery(cql);
      const offset = startRecord - 1;
      // yaz-client's "find" asks for 0 records (a count); the engine always returns at least one.
      const limit = Math.max(1, maximumRecords);
      if (offset > MAX_SEARCH_OFFSET) {
        const count = await o.search(cql, { limit: 1, facets: false }, signal);
        return { total: count.total, records: [] };
      }
      const cursor = offset > 0 ? encodeCursor(offset, queryHash("union", compiled.canonical)) : undefined;
      const r = await o.search(cql, { limit, facets: false, ...(cursor ? { cursor } : {}) }, signal);
      if (signal.aborted) throw new Error("search aborted");
      const records =
        maximumRecords === 0
          ? []
          : r.hits.flatMap((h) => {
              const c = o.union.getCluster(h.id);
              const rec = c ? readMarcBlob(c.preferred.marc) : undefined;
              return c && rec ? [{ id: c.id, marc: exportRecord(rec, c.id, c.holdings) }] : [];
            });
      return { total: r.total, records };
    },
  };
}
