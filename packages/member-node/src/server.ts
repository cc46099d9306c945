import { create } from "@bufbuild/protobuf";
import {
  adminPb,
  BaseNode,
  CatalogStatsSchema,
  CatalogSyncPusher,
  catalogPb,
  clientFor,
  directoryPb,
  ill,
  illServicePb,
  type NodeConfig,
  openChildContext,
  searchMember,
  searchPb,
} from "@lrs/shared";
import type { MemberContext } from "./context.js";
import { IllEngine, regionalIllOf } from "./ill/engine.js";
import { memberPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
import { illService } from "./services/ill.js";
import { illStaffService } from "./services/ill-staff.js";
import { searchService } from "./services/search.js";
import { MemberCatalog } from "./store/catalog.js";
import { memberMigrations } from "./store/migrations.js";

/** A member library's node: its own catalog and items, pushed to its regional center. */
export class MemberNode extends BaseNode {
  readonly member: MemberContext;

  private constructor(ctx: MemberContext) {
    super({
      ctx,
      directory: ctx.directory,
      parent: ctx.regional,
      policy: memberPolicy,
      upstreamSync: ctx.pusher,
      catalogStats: () =>
        create(CatalogStatsSchema, {
          records: BigInt(ctx.catalog.count()),
          holdings: BigInt(ctx.catalog.itemCount()),
        }),
      serviceNames: [
        directoryPb.DirectoryService.typeName,
        adminPb.AdminService.typeName,
        searchPb.SearchService.typeName,
        illServicePb.IllService.typeName,
        illServicePb.IllStaffService.typeName,
      ],
      background: [(signal) => ctx.ill.run(signal)],
      routes: (router, streams) => {
        router.service(directoryPb.DirectoryService, directoryService(ctx, streams));
        router.service(
          searchPb.SearchService,
          searchService(
            ctx,
            (query, opts) =>
              searchMember({ db: ctx.db, institutionId: ctx.cfg.id }, query, {
                ...opts,
                ownRegion: ctx.cfg.region,
              }),
            clientFor(searchPb.SearchService, ctx.regional.transport),
          ),
        );
        router.service(
          adminPb.AdminService,
          adminService(() => this.status()),
        );
        router.service(illServicePb.IllService, illService(ctx.ill, ctx.cfg.id));
        router.service(illServicePb.IllStaffService, illStaffService(ctx.ill));
      },
    });
    this.member = ctx;
  }

  static async create(cfg: NodeConfig): Promise<MemberNode> {
    const { parentLink, ...ctx } = openChildContext(
      cfg,
      memberMigrations,
      "regional",
      ill.illParentSenders(),
    );
    const catalog = new MemberCatalog(ctx.db, cfg.id);
    const pusher = new CatalogSyncPusher({
      db: ctx.db,
      feed: catalog,
      client: clientFor(catalogPb.CatalogSyncService, parentLink.transport),
      peerId: parentLink.status().id || "regional",
      log: ctx.log.child({ part: "sync-up" }),
    });
    const illEngine = new IllEngine({
      db: ctx.db,
      outbox: ctx.outbox,
      agencyId: cfg.id,
      ill: cfg.ill,
      lendingPolicy: cfg.lendingPolicy,
      catalog,
      regional: regionalIllOf(parentLink.transport),
      log: ctx.log.child({ part: "ill" }),
    });
    return new MemberNode({ ...ctx, regional: parentLink, catalog, pusher, ill: illEngine });
  }
}
