import { adminPb, BaseNode, directoryPb, type NodeConfig, openChildContext } from "@lrs/shared";
import type { RegionalContext } from "./context.js";
import { regionalPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
import { regionalMigrations } from "./store/migrations.js";

/** A regional center: its members' gateway to the federation (and, later, the regional union catalog and ILL broker). */
export class RegionalNode extends BaseNode {
  readonly regional: RegionalContext;

  private constructor(ctx: RegionalContext) {
    super({
      ctx,
      directory: ctx.directory,
      parent: ctx.national,
      policy: regionalPolicy,
      serviceNames: [directoryPb.DirectoryService.typeName, adminPb.AdminService.typeName],
      routes: (router, streams) => {
        router.service(directoryPb.DirectoryService, directoryService(ctx, streams));
        router.service(
          adminPb.AdminService,
          adminService(ctx, () => this.status()),
        );
      },
    });
    this.regional = ctx;
  }

  static async create(cfg: NodeConfig): Promise<RegionalNode> {
    const { parentLink, ...ctx } = openChildContext(cfg, regionalMigrations, "national");
    return new RegionalNode({ ...ctx, national: parentLink });
  }
}
