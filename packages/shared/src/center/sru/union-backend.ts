import type { Database } from "../../db.js";
import { readMarcBlob } from "../../marc/blob.js";
import { compileQuery } from "../../search/compile.js";
import { encodeCursor, MAX_SEARCH_OFFSET, queryHash } from "../../search/cursor.js";
import { searchUnion } from "../search/union-engine.js";
import { exportRecord } from "../union/export-record.js";
import type { UnionCatalog } from "../union/union-catalog.js";
import type { SruBackend } from "./server.js";

export interface UnionSruBackendOptions {
  db: Database;
  union: UnionCatalog;
  nodeId: string;
  regionOf: (institutionId: string) => string | undefined;
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
        const count = searchUnion({ db: o.db, nodeId: o.nodeId }, cql, { limit: 1, regionOf: o.regionOf });
        return { total: count.total, records: [] };
      }
      const cursor = offset > 0 ? encodeCursor(offset, queryHash("union", compiled.canonical)) : undefined;
      const r = searchUnion({ db: o.db, nodeId: o.nodeId }, cql, {
        limit,
        regionOf: o.regionOf,
        ...(cursor ? { cursor } : {}),
      });
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
