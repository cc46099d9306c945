import {
  adminPb,
  BaseNode,
  catalogPb,
  catalogService,
  catalogSyncReceiver,
  createSruServer,
  directoryPb,
  type NodeConfig,
  openNodeContext,
  PeerClients,
  searchPb,
  searchUnion,
  selfInstitution,
  splitHostPort,
  Tier,
  UnionCatalog,
  unionCatalogMigrations,
  unionCatalogStats,
  unionSearchService,
  unionSruBackend,
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
    super({
      ctx,
      directory: ctx.directory,
      policy: nationalPolicy,
      receivesSync: true,
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
                title: `${ctx.cfg.name} — national union catalog`,
                description: `The national union catalog of ${ctx.cfg.name} (LRS node ${ctx.cfg.id}): one record per cluster, with one 852 per holding library.`,
                nodeId: ctx.cfg.id,
              },
              log: ctx.log.child({ part: "sru" }),
            }),
          }
        : {}),
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
          catalogPb.CatalogSyncService,
          catalogSyncReceiver({
            db: ctx.db,
            sink: ctx.union,
            log: ctx.log.child({ part: "sync" }),
            // A regional center forwards the records of members of its own region (as this CA enrolled them).
            mayContribute: (sender, institutionId) =>
              ctx.directory.enrolledAs(institutionId, Tier.MEMBER, sender.region) ||
              `${institutionId} is not a member of region ${sender.region}`,
          }),
        );
        router.service(
          searchPb.SearchService,
          unionSearchService({
            nodeId: ctx.cfg.id,
            tier: Tier.NATIONAL,
            union: ctx.union,
            peers: ctx.peers,
            log: ctx.log.child({ part: "search" }),
            search: (query, opts) =>
              searchUnion({ db: ctx.db, nodeId: ctx.cfg.id }, query, {
                ...opts,
                regionOf: (id) => ctx.peers.regionOf(id),
              }),
            regionalCenterOf: (region) =>
              ctx.directory
                .current()
                .institutions.find((i) => i.tier === Tier.REGIONAL && i.region === region && !i.revoked)?.id,
          }),
        );
        router.service(
          catalogPb.CatalogService,
          catalogService({ union: ctx.union, nodeId: ctx.cfg.id, log: ctx.log.child({ part: "catalog" }) }),
        );
        router.service(
          adminPb.AdminService,
          adminService(ctx, () => this.status()),
        );
      },
    });
    this.national = ctx;
  }

  static async create(cfg: NodeConfig): Promise<NationalNode> {
    const ca = loadCa(cfg.dataDir);
    const base = openNodeContext(
      cfg,
      [...unionCatalogMigrations, ...nationalMigrations],
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
