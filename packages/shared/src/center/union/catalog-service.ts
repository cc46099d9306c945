import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { type CatalogStats, CatalogStatsSchema } from "../../gen/lrs/v1/admin_pb.js";
import {
  type CatalogService,
  type Cluster,
  ClusterSchema,
  type CopyRecordResponse,
  CopyRecordResponseSchema,
  HoldingSchema,
} from "../../gen/lrs/v1/catalog_pb.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import type { Logger } from "../../log.js";
import { mapErrors } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import type { ClusterView, UnionCatalog } from "./union-catalog.js";

/** Export chunks are gathered to about this size before they are sent. */
const EXPORT_CHUNK = 256 * 1024;
/** Clusters read per step of an export. */
const EXPORT_PAGE = 64;

export function clusterToWire(c: ClusterView): Cluster {
  return create(ClusterSchema, {
    id: c.id,
    title: c.summary.title,
    author: c.summary.author,
    year: c.summary.year,
    isbns: c.summary.isbns,
    issns: c.summary.issns,
    records: c.records.map((r) => ({
      institutionId: r.institutionId,
      recordId: r.recordId,
      receivedAt: timestampFromDate(r.receivedAt),
      preferred: r.institutionId === c.preferred.institutionId && r.recordId === c.preferred.recordId,
      ...(r.institutionId === c.preferred.institutionId && r.recordId === c.preferred.recordId
        ? { marc: c.preferred.marc }
        : {}),
    })),
    holdings: c.holdings.map((h) => ({
      institutionId: h.institutionId,
      holdings: h.holdings.map((x) => create(HoldingSchema, x)),
    })),
  });
}

export interface CatalogServiceOptions {
  union: UnionCatalog;
  nodeId: string;
  log: Logger;
  /** The national center's CatalogService, at a regional center: clusters with another prefix are asked there. */
  upstream?: Client<typeof CatalogService>;
  /** The region of an institution (from the directory): a regional center copies for its own members only. */
  regionOf?: (institutionId: string) => string | undefined;
  /** Called after a local download (to wake the pusher — a download is not a catalog change, so nothing today). */
  onDownload?: (clusterId: string, by: string) => void;
}

/** Which node's catalog a cluster id belongs to ("north-center:c42" → "north-center"). */
export function clusterOwner(clusterId: string): string {
  const i = clusterId.lastIndexOf(":");
  return i < 0 ? "" : clusterId.slice(0, i);
}

/**
 * CatalogService at a regional or national center. A regional center answers
 * its own clusters and forwards the national center's upward with the same
 * types; only the national center's own certificate reaches it there.
 */
export function catalogService(o: CatalogServiceOptions): ServiceImpl<typeof CatalogService> {
  const forward = (clusterId: string) => {
    const owner = clusterOwner(clusterId);
    if (owner === o.nodeId || owner === "") return undefined;
    if (!o.upstream)
      throw new ConnectError(
        `cluster ${clusterId} belongs to ${owner}, which this node cannot ask`,
        Code.NotFound,
      );
    return o.upstream;
  };
  return {
    getCluster: mapErrors(async (req, ctx: HandlerContext) => {
      const up = forward(req.clusterId);
      if (up) return up.getCluster(req, { signal: ctx.signal, timeoutMs: ctx.timeoutMs() ?? 10_000 });
      const c = o.union.getCluster(req.clusterId);
      if (!c) throw new ConnectError(`no cluster ${req.clusterId}`, Code.NotFound);
      return { cluster: clusterToWire(c) };
    }),

    locateRecord: mapErrors((req) => ({
      clusterId: o.union.clusterOf(req.institutionId, req.recordId) ?? "",
    })),

    copyRecord: mapErrors(async (req, ctx: HandlerContext): Promise<CopyRecordResponse> => {
      const peer = ctx.values.get(peerKey).identity!;
      // A member copies for itself; a regional center forwards for one of its members.
      const requester = peer.tier === Tier.REGIONAL && req.forInstitutionId ? req.forInstitutionId : peer.id;
      if (requester !== peer.id && o.regionOf && o.regionOf(requester) !== peer.region) {
        throw new ConnectError(
          `${peer.id} cannot copy on behalf of ${requester}, which is not a member of its region`,
          Code.PermissionDenied,
        );
      }
      const up = forward(req.clusterId);
      if (up) {
        o.log.info({ cluster: req.clusterId, for: requester }, "copy-record forwarded upward");
        return up.copyRecord(
          { clusterId: req.clusterId, forInstitutionId: requester },
          { signal: ctx.signal, timeoutMs: ctx.timeoutMs() ?? 10_000 },
        );
      }
      const rec = o.union.recordDownload(req.clusterId, requester);
      o.onDownload?.(rec.clusterId, requester);
      o.log.info({ cluster: rec.clusterId, for: requester }, "record copied");
      return create(CopyRecordResponseSchema, {
        clusterId: rec.clusterId,
        sourceInstitutionId: rec.institutionId,
        sourceRecordId: rec.recordId,
        marc: rec.marc,
      });
    }),

    async *export() {
      // A page of clusters at a time (exportMarcXmlPages), each piece sent before the next page is
      // read: memory stays that of a page or two however large the catalog. Pages of 64 clusters
      // (~250 KB of MARCXML with records of a few KB) keep the messages near EXPORT_CHUNK.
      const pages = o.union.exportMarcXmlPages(EXPORT_PAGE);
      let buf = "";
      let next = pages.next();
      while (!next.done) {
        buf += next.value;
        if (buf.length >= EXPORT_CHUNK) {
          yield { marcxml: buf };
          buf = "";
        }
        next = pages.next();
      }
      if (buf) yield { marcxml: buf };
      o.log.info({ records: next.value.records, skipped: next.value.skipped }, "union catalog exported");
    },

    splitCluster: mapErrors((req) => {
      const refs = req.records.map((r, i) => {
        const slash = r.indexOf("/");
        if (slash <= 0 || slash === r.length - 1) {
          throw new ConnectError(
            `record ${i + 1} "${r}" must be written INSTITUTION/RECORD_ID`,
            Code.InvalidArgument,
          );
        }
        return { institutionId: r.slice(0, slash), recordId: r.slice(slash + 1) };
      });
      return { newClusterId: o.union.split(req.clusterId, refs, "split by operator") };
    }),
  };
}

/** The figures `status` shows for a union catalog. */
export function unionCatalogStats(union: UnionCatalog): CatalogStats {
  const s = union.stats();
  return create(CatalogStatsSchema, {
    records: BigInt(s.records),
    clusters: BigInt(s.clusters),
    holdings: BigInt(s.institutions.reduce((n, i) => n + (i.holdings ?? 0), 0)),
    merges: BigInt(s.merges),
    downloads: BigInt(union.downloadCounts().reduce((n, d) => n + d.downloads, 0)),
  });
}
