import { adminPb, BaseNode, directoryPb, type NodeConfig, openChildContext } from "@lrs/shared";
import type { MemberContext } from "./context.js";
import { memberPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
import { memberMigrations } from "./store/migrations.js";

/** A member library's node: its own catalog and items (later issues), its link to its regional center. */
export class MemberNode extends BaseNode {
  readonly member: MemberContext;

  private constructor(ctx: MemberContext) {
    super({
      ctx,
      directory: ctx.directory,
      parent: ctx.regional,
      policy: memberPolicy,
      serviceNames: [directoryPb.DirectoryService.typeName, adminPb.AdminService.typeName],
      routes: (router, streams) => {
        router.service(directoryPb.DirectoryService, directoryService(ctx, streams));
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
    return new MemberNode({ ...ctx, regional: parentLink });
  }
}
