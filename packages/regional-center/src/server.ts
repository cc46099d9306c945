import {
  adminPb,
  BaseNode,
  CatalogSyncPusher,
  catalogPb,
  catalogService,
  catalogSyncReceiver,
  clientFor,
  createSruServer,
  directoryPb,
  type NodeConfig,
  openChildContext,
  PeerClients,
  searchPb,
  searchUnion,
  splitHostPort,
  Tier,
  UnionCatalog,
  unionCatalogMigrations,
  unionCatalogStats,
  unionSearchService,
  unionSruBackend,
} from "@lrs/shared";
import type { RegionalContext } from "./context.js";
import { regionalPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
import { regionalMigrations } from "./store/migrations.js";

/** A regional center: its members' gateway to the federation, the regional union catalog (and, later, the ILL broker). */
export class RegionalNode extends BaseNode {
  readonly regional: RegionalContext;

  private constructor(ctx: RegionalContext) {
    super({
      ctx,
      directory: ctx.directory,
      parent: ctx.national,
      policy: regionalPolicy,
      upstreamSync: ctx.pusher,
      closers: [() => ctx.peers.close()],
      ...(ctx.cfg.sruListen
        ? {
            http: createSruServer({
              ...splitHostPort(ctx.cfg.sruListen),
              backend: unionSruBackend({
                db: ctx.db,
                union: ctx.union,
                nodeId: ctx.cfg.id,
                regionOf: (id) => ctx.peers.regionOf(id),
              }),
              databaseInfo: {
                title: `${ctx.cfg.name} — regional union catalog`,
                description: `The regional union catalog of ${ctx.cfg.name} (LRS node ${ctx.cfg.id}): one record per cluster, with one 852 per holding library.`,
                nodeId: ctx.cfg.id,
              },
              log: ctx.log.child({ part: "sru" }),
            }),
          }
        : {}),
      receivesSync: true,
      catalogStats: () => unionCatalogStats(ctx.union),
      serviceNames: [
        directoryPb.DirectoryService.typeName,
        adminPb.AdminService.typeName,
        catalogPb.CatalogSyncService.typeName,
        catalogPb.CatalogService.typeName,
        searchPb.SearchService.typeName,
      ],
      routes: (router, streams) => {
        router.service(directoryPb.DirectoryService, directoryService(ctx, streams));
        router.service(
          adminPb.AdminService,
          adminService(ctx, () => this.status()),
        );
        router.service(
          catalogPb.CatalogSyncService,
          catalogSyncReceiver({
            db: ctx.db,
            sink: ctx.union,
            log: ctx.log.child({ part: "sync" }),
            // A member sends its own records only.
            mayContribute: (sender, institutionId) =>
              institutionId === sender.id ||
              `${sender.id} may send its own records only, not ${institutionId}'s`,
            onApplied: () => ctx.pusher.notify(),
          }),
        );
        router.service(
          searchPb.SearchService,
          unionSearchService({
            nodeId: ctx.cfg.id,
            tier: Tier.REGIONAL,
            union: ctx.union,
            peers: ctx.peers,
            log: ctx.log.child({ part: "search" }),
            search: (query, opts) =>
              searchUnion({ db: ctx.db, nodeId: ctx.cfg.id }, query, {
                ...opts,
                regionOf: (id) => ctx.peers.regionOf(id),
              }),
            national: clientFor(searchPb.SearchService, ctx.national.transport),
            nationalId: () => ctx.directory.current().authorityId,
            peerRegionalCenters: () =>
              ctx.directory
                .current()
                .institutions.filter((i) => i.tier === Tier.REGIONAL && i.id !== ctx.cfg.id && !i.revoked)
                .map((i) => i.id),
          }),
        );
        router.service(
          catalogPb.CatalogService,
          catalogService({
            union: ctx.union,
            nodeId: ctx.cfg.id,
            log: ctx.log.child({ part: "catalog" }),
            upstream: clientFor(catalogPb.CatalogService, ctx.national.transport),
          }),
        );
      },
    });
    this.regional = ctx;
  }

  static async create(cfg: NodeConfig): Promise<RegionalNode> {
    const { parentLink, ...ctx } = openChildContext(
      cfg,
      [...unionCatalogMigrations, ...regionalMigrations],
      "national",
    );
    const union = new UnionCatalog(ctx.db, { nodeId: cfg.id });
    const pusher = new CatalogSyncPusher({
      db: ctx.db,
      feed: union,
      client: clientFor(catalogPb.CatalogSyncService, parentLink.transport),
      peerId: parentLink.status().id || "national",
      log: ctx.log.child({ part: "sync-up" }),
    });
    return new RegionalNode({
      ...ctx,
      national: parentLink,
      union,
      pusher,
      peers: new PeerClients(ctx.directory, ctx.tls),
    });
  }
}
