import type { Client, ConnectRouter } from "@connectrpc/connect";
import { splitHostPort } from "../config.js";
import { CatalogService, CatalogSyncService } from "../gen/lrs/v1/catalog_pb.js";
import { Scope, SearchService } from "../gen/lrs/v1/search_pb.js";
import type { BaseNodeParts, NodeContext } from "../node/base-node.js";
import { pooledSearch } from "../search/pooled.js";
import { SRU_CALLER, TRAFFIC_KINDS } from "../traffic/cells.js";
import { scopeName } from "../traffic/interceptor.js";
import { catalogSyncReceiver, type ReceiverOptions, syncPositions } from "./catalog-sync/receiver.js";
import { oaiHttpHandler } from "./oai/http.js";
import { OaiProvider } from "./oai/provider.js";
import { unionOaiRepository } from "./oai/union-repository.js";
import type { PeerClients } from "./peers.js";
import { searchUnion } from "./search/union-engine.js";
import { type UnionSearchOptions, unionSearchService } from "./search/union-search-service.js";
import type { UnionSearchTask } from "./search/union-worker.js";
import { createSruServer } from "./sru/server.js";
import { unionSruBackend } from "./sru/union-backend.js";
import { catalogService, unionCatalogStats } from "./union/catalog-service.js";
import { describePool } from "./union/describe-pool.js";
import { UnionOaiLog } from "./union/oai-log.js";
import type { UnionCatalog } from "./union/union-catalog.js";

export interface UnionCenterOptions {
  ctx: NodeContext;
  union: UnionCatalog;
  peers: PeerClients;
  tier: UnionSearchOptions["tier"];
  /** "regional union catalog" / "national union catalog", for SRU explain. */
  catalogName: string;
  mayContribute: ReceiverOptions["mayContribute"];
  onApplied?: () => void;
  /** Where searches and clusters not held here go (a regional center's national center). */
  upstream?: {
    search: UnionSearchOptions["national"];
    catalog: Client<typeof CatalogService>;
    nationalId: () => string;
    peerRegionalCenters: () => string[];
  };
  regionalCenterOf?: UnionSearchOptions["regionalCenterOf"];
}

/**
 * What regional and national centers share: the union catalog fed by catalog
 * sync, searched over gRPC and SRU, and served as clusters.
 */
export function unionCenterParts(o: UnionCenterOptions): Pick<
  BaseNodeParts,
  "downstreamSync" | "catalogStats" | "closers" | "http"
> & {
  serviceNames: string[];
  routes: (router: ConnectRouter) => void;
} {
  const { ctx, union, peers } = o;
  const regionOf = (id: string) => peers.regionOf(id);
  // Searches run on worker threads with read-only connections (search/pool.ts), one per core.
  const searcher = pooledSearch<UnionSearchTask>({
    db: ctx.db,
    kind: "union",
    worker: new URL("./search/union-worker.js", import.meta.url),
    task: (path, query, opts) => ({ path, nodeId: ctx.cfg.id, query, opts, regions: peers.regions() }),
    inThread: (query, opts) => searchUnion({ db: ctx.db, nodeId: ctx.cfg.id }, query, { ...opts, regionOf }),
  });
  // The records of pushed batches are described on worker threads too (describe-pool.ts).
  const describer = describePool();
  return {
    downstreamSync: () => syncPositions(ctx.db),
    catalogStats: () => unionCatalogStats(union),
    closers: [() => peers.close(), () => void searcher.close(), () => void describer?.close()],
    ...(ctx.cfg.sruListen
      ? {
          http: createSruServer({
            ...splitHostPort(ctx.cfg.sruListen),
            backend: unionSruBackend({ union, search: searcher.search }),
            databaseInfo: {
              title: `${ctx.cfg.name} — ${o.catalogName}`,
              description: `The ${o.catalogName} of ${ctx.cfg.name} (LRS node ${ctx.cfg.id}): one record per cluster, with one 852 per holding library.`,
              nodeId: ctx.cfg.id,
            },
            log: ctx.log.child({ part: "sru" }),
            // SRU searches are searches too (counted with the caller "sru": no certificate).
            onSearch: (ms, failed) =>
              ctx.traffic.add(
                TRAFFIC_KINDS.search,
                scopeName(Scope.UNSPECIFIED, o.tier),
                SRU_CALLER,
                ctx.cfg.id,
                ms,
                failed,
              ),
            extraRoutes: {
              "/metrics": (req, res) => ctx.metrics.serve(req, res),
              // OAI-PMH for discovery layers and other union catalogs (harvested, not counted as searches).
              "/oai": oaiHttpHandler(
                new OaiProvider({
                  repository: unionOaiRepository({
                    log: new UnionOaiLog(ctx.db, union),
                    nodeId: ctx.cfg.id,
                    repositoryName: `${ctx.cfg.name} — ${o.catalogName}`,
                    adminEmails:
                      ctx.cfg.oai.admin_email.length > 0
                        ? ctx.cfg.oai.admin_email
                        : [`operator@${ctx.cfg.id}.invalid`],
                    regionOf,
                  }),
                  pageSize: ctx.cfg.oai.page_size,
                  tokenLifetimeMs: ctx.cfg.oai.token_lifetime,
                }),
                ctx.log.child({ part: "oai" }),
              ),
            },
          }),
        }
      : {}),
    serviceNames: [CatalogSyncService.typeName, CatalogService.typeName, SearchService.typeName],
    routes: (router) => {
      router.service(
        CatalogSyncService,
        catalogSyncReceiver({
          db: ctx.db,
          sink: union,
          log: ctx.log.child({ part: "sync" }),
          mayContribute: o.mayContribute,
          ...(describer ? { describer } : {}),
          ...(o.onApplied ? { onApplied: o.onApplied } : {}),
        }),
      );
      router.service(
        SearchService,
        unionSearchService({
          nodeId: ctx.cfg.id,
          tier: o.tier,
          union,
          peers,
          log: ctx.log.child({ part: "search" }),
          search: searcher.search,
          ...(o.upstream
            ? {
                national: o.upstream.search,
                nationalId: o.upstream.nationalId,
                peerRegionalCenters: o.upstream.peerRegionalCenters,
              }
            : {}),
          ...(o.regionalCenterOf ? { regionalCenterOf: o.regionalCenterOf } : {}),
        }),
      );
      router.service(
        CatalogService,
        catalogService({
          union,
          nodeId: ctx.cfg.id,
          regionOf,
          log: ctx.log.child({ part: "catalog" }),
          ...(o.upstream ? { upstream: o.upstream.catalog } : {}),
          // Counted where the union catalog records the download, not at every hop on the way.
          onDownload: (_clusterId, by) => ctx.traffic.download({ by, what: "record" }),
        }),
      );
    },
  };
}
