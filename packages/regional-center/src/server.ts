import {
  adminPb,
  BaseNode,
  CatalogSyncPusher,
  catalogPb,
  clientFor,
  directoryPb,
  ledgerPb,
  type Migration,
  type NodeConfig,
  nodeMigrations,
  openChildContextWithCopies,
  rebuildSearchIndex,
  runLedgerUpstream,
  searchPb,
  Tier,
  visitPb,
  withCopyMigrations,
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
import type { RegionalContext } from "./context.js";
import { regionalPolicy } from "./policy.js";
import { adminService } from "./services/admin.js";
import { directoryService } from "./services/directory.js";
import { ledgerPostHandlers } from "./services/ledger-post.js";
import { ledgerStatementHandlers } from "./services/ledger-statement.js";
import { LedgerRelay } from "./store/ledger-relay.js";
import { regionalMigrations } from "./store/migrations.js";

/** A regional center: its members' gateway to the federation, the regional union catalog, the ILL relay and broker. */
/** The regional center's own migrations (openChildContextWithCopies adds the copy store's). */
function regionalTierMigrations(): Migration[] {
  return [
    ...unionCatalogMigrations,
    ...illRelayMigrations,
    ...gatewayMigrations,
    ...regionalMigrations,
    ...webMigrations,
  ];
}

/** Every migration of a regional center's database (`lrs-regional migrate`). */
export function regionalNodeMigrations(): Migration[] {
  return nodeMigrations(withCopyMigrations(regionalTierMigrations()));
}

export class RegionalNode extends BaseNode {
  readonly regional: RegionalContext;

  private constructor(ctx: RegionalContext) {
    const { routes, serviceNames, ...center } = unionCenterParts({
      ctx,
      union: ctx.union,
      peers: ctx.peers,
      tier: Tier.REGIONAL,
      catalogName: "regional union catalog",
      // A member sends its own records only.
      mayContribute: (sender, institutionId) =>
        institutionId === sender.id || `${sender.id} may send its own records only, not ${institutionId}'s`,
      onApplied: () => ctx.pusher.notify(),
      upstream: {
        search: clientFor(searchPb.SearchService, ctx.national.transport),
        catalog: clientFor(catalogPb.CatalogService, ctx.national.transport),
        nationalId: () => ctx.directory.current().authorityId,
        peerRegionalCenters: () =>
          ctx.directory
            .current()
            .institutions.filter((i) => i.tier === Tier.REGIONAL && i.id !== ctx.cfg.id && !i.revoked)
            .map((i) => i.id),
      },
    });
    const illParts = illCenterParts({
      ctx,
      directory: ctx.directory,
      union: ctx.union,
      peers: ctx.peers,
      national: { transport: ctx.national.transport, id: () => ctx.directory.current().authorityId },
      copies: ctx.copies,
    });
    // The ISO 18626 XML gateway, when this center turns it on ([iso18626] listen): what partners
    // send it is routed like any envelope; what goes to partners leaves through the national
    // center, which keeps the secrets LRS signs in with.
    const gateway = ctx.cfg.iso18626.listen
      ? gatewayParts({ ctx, relay: illParts.relay, directory: ctx.directory, outboundSecret: () => "" })
      : undefined;
    // The staff web application (web_listen): calls this node's own services, once it listens.
    const web = webListener({ ctx, address: () => this.address });
    super({
      ...center,
      ctx,
      directory: ctx.directory,
      parent: ctx.national,
      ...(web ? { listeners: [web] } : {}),
      policy: regionalPolicy,
      upstreamSync: ctx.pusher,
      ...(gateway?.listener ? { listeners: [gateway.listener] } : {}),
      background: [
        ...illParts.background,
        // Members' postings go up in their own queue (see LEDGER_DESTINATION).
        (signal) =>
          runLedgerUpstream(
            {
              outbox: ctx.outbox,
              transport: ctx.national.transport,
              log: ctx.log.child({ part: "ledger-up" }),
            },
            signal,
          ),
      ],
      serviceNames: [
        directoryPb.DirectoryService.typeName,
        adminPb.AdminService.typeName,
        ...serviceNames,
        ...illParts.serviceNames,
        ledgerPb.LedgerService.typeName,
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
        routes(router);
        illParts.routes(router);
        router.service(ledgerPb.LedgerService, {
          ...ledgerPostHandlers(ctx.ledger),
          ...ledgerStatementHandlers(ctx),
        });
        // Reciprocal borrowing: credential checks go to the reader's home library, here or through the national center.
        router.service(
          visitPb.VisitService,
          visitCenterService({
            self: ctx.tls.identity,
            directory: ctx.directory,
            peers: ctx.peers,
            national: clientFor(visitPb.VisitService, ctx.national.transport),
          }),
        );
      },
    });
    this.regional = ctx;
  }

  static async create(cfg: NodeConfig): Promise<RegionalNode> {
    // ILL envelopes and copies for other regions go up through the parent link's outbox worker.
    const { parentLink, ...ctx } = openChildContextWithCopies(cfg, regionalTierMigrations(), "national");
    // The index follows the current rules before the node serves (a rebuild after an upgrade).
    rebuildSearchIndex(ctx.db, unionIndexRebuild(ctx.db), ctx.log.child({ part: "reindex" }));
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
      ledger: new LedgerRelay({ db: ctx.db, outbox: ctx.outbox, log: ctx.log.child({ part: "ledger" }) }),
    });
  }
}
