import { create } from "@bufbuild/protobuf";
import {
  adminPb,
  BaseNode,
  CatalogStatsSchema,
  CatalogSyncPusher,
  catalogPb,
  clientFor,
  directoryPb,
  type NodeConfig,
  openChildContext,
  searchMember,
  searchPb,
} from "@lrs/shared";
import type { MemberContext } from "./context.js";
import { memberPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
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
      ],
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
      },
    });
    this.member = ctx;
  }

  static async create(cfg: NodeConfig): Promise<MemberNode> {
    const { parentLink, ...ctx } = openChildContext(cfg, memberMigrations, "regional");
    const catalog = new MemberCatalog(ctx.db, cfg.id);
    const pusher = new CatalogSyncPusher({
      db: ctx.db,
      feed: catalog,
      client: clientFor(catalogPb.CatalogSyncService, parentLink.transport),
      peerId: parentLink.status().id || "regional",
      log: ctx.log.child({ part: "sync-up" }),
    });
    return new MemberNode({ ...ctx, regional: parentLink, catalog, pusher });
  }
}
