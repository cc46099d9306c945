import {
  adminPb,
  BaseNode,
  CopyStore,
  copyMigrations,
  directoryPb,
  gatewayPb,
  ledgerPb,
  type Migration,
  type NodeConfig,
  openNodeContext,
  type Renewed,
  rebuildSearchIndex,
  selfInstitution,
  Tier,
  trustAnchor,
  visitPb,
} from "@lrs/shared";
import {
  gatewayMigrations,
  gatewayParts,
  illCenterParts,
  illRelayMigrations,
  PeerClients,
  UnionCatalog,
  unionCatalogMigrations,
  unionCenterParts,
  unionIndexRebuild,
  visitCenterService,
} from "@lrs/shared/center";
import { webListener, webMigrations } from "@lrs/web";
import { loadCa } from "./ca.js";
import type { NationalContext } from "./context.js";
import { dashboardParts } from "./dashboard/index.js";
import { windowNamed } from "./dashboard/server.js";
import { nationalPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService, signRenewal } from "./services/directory.js";
import { ledgerService } from "./services/ledger.js";
import { partnerAdminService } from "./services/partners.js";
import { DirectoryStore } from "./store/directory-store.js";
import { LedgerStore } from "./store/ledger-store.js";
import { nationalMigrations } from "./store/migrations.js";

/** Every migration of the national center's database (tools that open it while the node is stopped use these). */
export function nationalNodeMigrations(): Migration[] {
  return [
    ...unionCatalogMigrations,
    ...illRelayMigrations,
    ...gatewayMigrations,
    ...copyMigrations,
    ...nationalMigrations,
    ...webMigrations,
  ];
}

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
    const illParts = illCenterParts({
      ctx,
      directory: ctx.directory,
      union: ctx.union,
      peers: ctx.peers,
      copies: ctx.copies,
    });
    // The ISO 18626 XML gateway to ILL systems outside the federation ([iso18626] listen).
    const gateway = gatewayParts({
      ctx,
      relay: illParts.relay,
      rota: illParts.broker,
      directory: ctx.directory,
      outboundSecret: (id) => ctx.directory.partnerOutboundSecret(id),
    });
    // The traffic dashboard: its own listener, the federation's figures as regional centers report them.
    const dashboard = dashboardParts({
      ctx,
      ownHealth: () => this.healthReport(),
      settlement: (period) => ctx.ledger.positions(period),
    });
    // The staff web application (web_listen), with a link to the dashboard.
    const web = webListener({
      ctx,
      address: () => this.address,
      dashboardUrl: () => this.listenerUrl("dashboard"),
      traffic: (name) => {
        const w = windowNamed(name);
        return typeof w === "string" ? w : dashboard.summary(w.minutes);
      },
    });
    super({
      ...center,
      ctx,
      directory: ctx.directory,
      policy: nationalPolicy,
      // The national center holds the CA: it signs its own renewals.
      signRenewal: async (csrPem) => ({
        certificatePem: await signRenewal(ctx, ctx.tls.identity, "", csrPem),
        caCertificatePem: trustAnchor(ctx.ca),
      }),
      background: [...illParts.background, ...gateway.background, dashboard.background],
      listeners: [dashboard.listener, ...(gateway.listener ? [gateway.listener] : []), ...(web ? [web] : [])],
      serviceNames: [
        directoryPb.DirectoryService.typeName,
        adminPb.AdminService.typeName,
        ledgerPb.LedgerService.typeName,
        gatewayPb.PartnerAdminService.typeName,
        ...serviceNames,
        ...illParts.serviceNames,
        visitPb.VisitService.typeName,
      ],
      routes: (router, streams) => {
        router.service(directoryPb.DirectoryService, directoryService(ctx, streams));
        router.service(
          adminPb.AdminService,
          adminService(
            ctx,
            () => this.status(),
            () => this.renewCertificate(),
          ),
        );
        router.service(ledgerPb.LedgerService, ledgerService(ctx));
        router.service(gatewayPb.PartnerAdminService, partnerAdminService(ctx));
        routes(router);
        illParts.routes(router);
        // Reciprocal borrowing: credential checks between regions.
        router.service(
          visitPb.VisitService,
          visitCenterService({ self: ctx.tls.identity, directory: ctx.directory, peers: ctx.peers }),
        );
      },
    });
    this.national = ctx;
  }

  static async create(cfg: NodeConfig): Promise<NationalNode> {
    const ca = loadCa(cfg.dataDir);
    const base = openNodeContext(
      cfg,
      nationalNodeMigrations(),
      'run "lrs-national ca init --config FILE" first',
    );
    // The index follows the current rules before the node serves (a rebuild after an upgrade).
    rebuildSearchIndex(base.db, unionIndexRebuild(base.db), base.log.child({ part: "reindex" }));
    let node: NationalNode | undefined;
    const ctx: NationalContext = {
      ...base,
      ca,
      directory: new DirectoryStore(base.db, cfg.id, cfg.iso18626.agencyIdType, {
        partnersInRota: cfg.iso18626.partnersInRota,
      }),
      union: new UnionCatalog(base.db, { nodeId: cfg.id }),
      peers: undefined as unknown as PeerClients,
      endpoint: () => node?.endpoint ?? cfg.advertise,
      ledger: new LedgerStore(base.db),
      copies: new CopyStore({
        db: base.db,
        outbox: base.outbox,
        dataDir: cfg.dataDir,
        nodeId: cfg.id,
        log: base.log.child({ part: "copy" }),
      }),
    };
    ctx.copies.sweep();
    ctx.peers = new PeerClients(ctx.directory, base.tls);
    node = new NationalNode(ctx);
    return node;
  }

  /** Renews as every node does, then puts the new fingerprint in its own directory entry. */
  override async renewCertificate(): Promise<Renewed> {
    const renewed = await super.renewCertificate();
    this.national.directory.register(selfInstitution(this.national, this.endpoint));
    return renewed;
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
    // Partners entered with release 0.1: their unsalted SHA-256 digests become salted verifiers
    // kept at the centers; the partners keep their secrets (until then the digest still works).
    const upgraded = await ctx.directory.upgradeLegacyPartnerSecrets();
    if (upgraded.length > 0)
      ctx.log.warn(
        { partners: upgraded },
        "external partners' secret digests replaced by salted verifiers (no longer sent to members)",
      );
    return addr;
  }
}
