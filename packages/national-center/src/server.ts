import {
  adminPb,
  BaseNode,
  directoryPb,
  illCenterParts,
  illRelayMigrations,
  type NodeConfig,
  openNodeContext,
  PeerClients,
  selfInstitution,
  Tier,
  UnionCatalog,
  unionCatalogMigrations,
  unionCenterParts,
} from "@lrs/shared";
import { loadCa } from "./ca.js";
import type { NationalContext } from "./context.js";
import { nationalPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
import { DirectoryStore } from "./store/directory-store.js";
import { nationalMigrations } from "./store/migrations.js";

/** The national center: certificate authority, directory authority (and, later, the national union catalog). */
export class NationalNode extends BaseNode {
  readonly national: NationalContext;

  private constructor(ctx: NationalContext) {
    const { routes, serviceNames, ...center } = unionCenterParts({
      ctx,
      union: ctx.union,
      peers: ctx.peers,
      tier: Tier.NATIONAL,
      catalogName: "national union catalog",
      // A regional center forwards the records of members of its own region (as this CA enrolled them).
      mayContribute: (sender, institutionId) =>
        ctx.directory.enrolledAs(institutionId, Tier.MEMBER, sender.region) ||
        `${institutionId} is not a member of region ${sender.region}`,
      regionalCenterOf: (region) =>
        ctx.directory
          .current()
          .institutions.find((i) => i.tier === Tier.REGIONAL && i.region === region && !i.revoked)?.id,
    });
    // ILL between regions: stored here and delivered to the regional center of the destination's region.
    const illParts = illCenterParts({ ctx, directory: ctx.directory, union: ctx.union, peers: ctx.peers });
    super({
      ...center,
      ctx,
      directory: ctx.directory,
      policy: nationalPolicy,
      background: illParts.background,
      serviceNames: [
        directoryPb.DirectoryService.typeName,
        adminPb.AdminService.typeName,
        ...serviceNames,
        ...illParts.serviceNames,
      ],
      routes: (router, streams) => {
        router.service(directoryPb.DirectoryService, directoryService(ctx, streams));
        router.service(
          adminPb.AdminService,
          adminService(ctx, () => this.status()),
        );
        routes(router);
        illParts.routes(router);
      },
    });
    this.national = ctx;
  }

  static async create(cfg: NodeConfig): Promise<NationalNode> {
    const ca = loadCa(cfg.dataDir);
    const base = openNodeContext(
      cfg,
      [...unionCatalogMigrations, ...illRelayMigrations, ...nationalMigrations],
      'run "lrs-national ca init --config FILE" first',
    );
    let node: NationalNode | undefined;
    const ctx: NationalContext = {
      ...base,
      ca,
      directory: new DirectoryStore(base.db, cfg.id),
      union: new UnionCatalog(base.db, { nodeId: cfg.id }),
      peers: undefined as unknown as PeerClients,
      endpoint: () => node?.endpoint ?? cfg.advertise,
    };
    ctx.peers = new PeerClients(ctx.directory, base.tls);
    node = new NationalNode(ctx);
    return node;
  }

  override async start(): Promise<string> {
    const addr = await super.start();
    // The national center is in its own directory like every other node.
    const ctx = this.national;
    if (!ctx.directory.certificate(ctx.tls.cert.fingerprint256)) {
      ctx.directory.recordCertificate({
        serial: ctx.tls.cert.serialNumber,
        fingerprint: ctx.tls.cert.fingerprint256,
        institutionId: ctx.cfg.id,
        tier: ctx.cfg.tier,
        region: "",
        notAfter: ctx.tls.cert.validTo,
      });
    }
    ctx.directory.register(selfInstitution(ctx, this.endpoint));
    return addr;
  }
}
