import { create } from "@bufbuild/protobuf";
import {
  acquisitionsPb,
  adminPb,
  BaseNode,
  CatalogStatsSchema,
  CatalogSyncPusher,
  catalogPb,
  clientFor,
  copyPb,
  copyrightPb,
  directoryPb,
  illServicePb,
  type Migration,
  type NodeConfig,
  nodeMigrations,
  openChildContextWithCopies,
  rebuildSearchIndex,
  regionalCenterOf,
  runLedgerUpstream,
  searchPb,
  visitPb,
  withCopyMigrations,
} from "@lrs/shared";
import { webListener, webMigrations } from "@lrs/web";
import { runHarvestSchedule } from "./catalog/harvest-schedule.js";
import type { MemberContext } from "./context.js";
import { CopyrightCounter } from "./fees/copyright.js";
import { MemberLedger } from "./fees/ledger.js";
import { IllEngine, regionalIllOf } from "./ill/engine.js";
import { illNotifyEvents } from "./ill/notify-events.js";
import { ncipLinkOf } from "./ncip/link.js";
import { memberPolicy } from "./policy.js";
import { acquisitionsService } from "./services/acquisitions.js";
import { adminService } from "./services/admin.js";
import { copyStaffService, copyTransferService } from "./services/copy-staff.js";
import { copyrightService } from "./services/copyright.js";
import { directoryService } from "./services/directory.js";
import { illService } from "./services/ill.js";
import { illStaffService } from "./services/ill-staff.js";
import { searchService } from "./services/search.js";
import { visitService } from "./services/visit.js";
import { visitStaffService } from "./services/visit-staff.js";
import { MemberCatalog } from "./store/catalog.js";
import { searchMember } from "./store/catalog-search.js";
import { illAttention } from "./store/ill-attention.js";
import { memberMigrations } from "./store/migrations.js";
import { memberIndexRebuild } from "./store/reindex.js";
import { VisitDesk } from "./visit/desk.js";
import { VisitStore } from "./visit/store.js";

/** A member library's node: its own catalog and items, pushed to its regional center. */
/** Every migration of a member's database (`lrs-member migrate`). */
export function memberNodeMigrations(): Migration[] {
  return nodeMigrations(withCopyMigrations([...memberMigrations, ...webMigrations]));
}

export class MemberNode extends BaseNode {
  readonly member: MemberContext;

  private constructor(ctx: MemberContext) {
    // The staff web application (web_listen): calls this node's own services, once it listens.
    const web = webListener({
      ctx,
      address: () => this.address,
      // Staff notifications of the ILL requests' events (new lending requests, overdues …).
      notifyEvents: illNotifyEvents(ctx.db),
    });
    super({
      ctx,
      directory: ctx.directory,
      parent: ctx.regional,
      policy: memberPolicy,
      // The traffic health report: the ILL requests that need attention here.
      health: () => {
        const a = illAttention(ctx.db);
        return {
          illOpen: a.open,
          illOverdue: a.overdue,
          illStale: a.stale,
          illAttention: a.attention,
          attention: a.items,
        };
      },
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
        copyrightPb.CopyrightService.typeName,
        copyPb.CopyStaffService.typeName,
        copyPb.CopyTransferService.typeName,
        acquisitionsPb.AcquisitionsService.typeName,
        visitPb.VisitService.typeName,
        visitPb.VisitStaffService.typeName,
      ],
      // Its visit keys and blocked credentials travel in its directory entry.
      describeSelf: () => ctx.visits.describeSelf(),
      background: [
        (signal) => ctx.ill.run(signal),
        // NCIP calls to the library's ILS, from their durable queue.
        (signal) => (ctx.ncip ? ctx.ncip.runner(ctx.ill.store).run(signal) : Promise.resolve()),
        (signal) => ctx.visits.run(signal),
        (signal) =>
          runHarvestSchedule(
            { cfg: ctx.cfg, db: ctx.db, catalog: ctx.catalog, log: ctx.log.child({ part: "harvest" }) },
            signal,
          ),
        // Postings have their own queue to the regional center (see LEDGER_DESTINATION).
        (signal) =>
          runLedgerUpstream(
            {
              outbox: ctx.outbox,
              transport: ctx.regional.transport,
              log: ctx.log.child({ part: "ledger-up" }),
            },
            signal,
          ),
      ],
      ...(web ? { listeners: [web] } : {}),
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
          adminService(
            () => this.status(),
            ctx.outbox,
            ctx.log.child({ part: "admin" }),
            () => this.renewCertificate(),
          ),
        );
        router.service(illServicePb.IllService, illService(ctx.ill, ctx.cfg.id, ctx.traffic, ctx.visits));
        router.service(visitPb.VisitService, visitService(ctx.visits));
        router.service(visitPb.VisitStaffService, visitStaffService(ctx.visits));
        router.service(
          illServicePb.IllStaffService,
          illStaffService(ctx.ill, undefined, (id) => {
            const d = ctx.directory.current();
            const i = d.institutions.find((x) => x.id === id) ?? d.externalPartners.find((x) => x.id === id);
            return i
              ? { name: i.name, postalAddress: "postalAddress" in i ? i.postalAddress : "" }
              : undefined;
          }),
        );
        router.service(copyrightPb.CopyrightService, copyrightService(ctx.copyright));
        const copies = ctx.ill.copies!;
        router.service(
          copyPb.CopyStaffService,
          copyStaffService(copies, (id) => ctx.ill.store.get(id)?.state ?? ""),
        );
        router.service(copyPb.CopyTransferService, copyTransferService(copies));
        router.service(
          acquisitionsPb.AcquisitionsService,
          acquisitionsService({
            db: ctx.db,
            institutionId: ctx.cfg.id,
            catalog: ctx.catalog,
            search: clientFor(searchPb.SearchService, ctx.regional.transport),
            acquisitions: clientFor(acquisitionsPb.AcquisitionsService, ctx.regional.transport),
          }),
        );
      },
    });
    this.member = ctx;
  }

  static async create(cfg: NodeConfig): Promise<MemberNode> {
    const { parentLink, copies, ...ctx } = openChildContextWithCopies(
      cfg,
      [...memberMigrations, ...webMigrations],
      "regional",
    );
    // The index follows the current rules before the node serves (a rebuild after an upgrade).
    rebuildSearchIndex(ctx.db, memberIndexRebuild(ctx.db), ctx.log.child({ part: "reindex" }));
    const catalog = new MemberCatalog(ctx.db, cfg.id);
    const pusher = new CatalogSyncPusher({
      db: ctx.db,
      feed: catalog,
      client: clientFor(catalogPb.CatalogSyncService, parentLink.transport),
      peerId: parentLink.status().id || "regional",
      log: ctx.log.child({ part: "sync-up" }),
    });
    const copyright = new CopyrightCounter({ db: ctx.db, rule: cfg.copyright });
    const ledger = new MemberLedger({
      db: ctx.db,
      outbox: ctx.outbox,
      agencyId: cfg.id,
      copyright,
      copyrightPayee: () => cfg.copyright.payee ?? ctx.directory.current().authorityId,
      log: ctx.log.child({ part: "ledger" }),
    });
    const ncip = cfg.ncip
      ? ncipLinkOf({
          cfg: cfg.ncip,
          memberId: cfg.id,
          db: ctx.db,
          catalog,
          log: ctx.log.child({ part: "ncip" }),
        })
      : undefined;
    const illEngine = new IllEngine({
      db: ctx.db,
      outbox: ctx.outbox,
      agencyId: cfg.id,
      ill: cfg.ill,
      lendingPolicy: cfg.lendingPolicy,
      catalog,
      regional: regionalIllOf(parentLink.transport),
      log: ctx.log.child({ part: "ill" }),
      fees: { copyright, ledger },
      ...(ncip ? { onTransition: [ncip.onTransition] } : {}),
      copies,
      parentId: () => regionalCenterOf(ctx.directory, cfg.region) ?? "the regional center",
      isExternalPartner: (id) => ctx.directory.current().externalPartners.some((p) => p.id === id),
      // The copy is charged when the borrower first downloads it, in the transaction that records it.
      onFirstCopyDownload: (r) => ledger.chargeCopy(r, new Date()),
      // Copy downloads in the traffic figures: by this library, of a copy the lender supplied.
      onEachCopyDownload: (d) =>
        ctx.traffic.download({ by: cfg.id, what: "copy", bytes: d.bytes, ms: d.ms, from: d.lender }),
    });
    // A block changes the directory entry; the node registers it once it exists.
    let node: MemberNode | undefined;
    const visits = new VisitDesk({
      store: new VisitStore(ctx.db),
      outbox: ctx.outbox,
      catalog,
      directory: ctx.directory,
      self: { id: cfg.id, region: cfg.region },
      policy: cfg.lendingPolicy,
      parent: () => clientFor(visitPb.VisitService, parentLink.transport),
      ledger,
      traffic: ctx.traffic,
      onBlocksChanged: () => node?.reregister(),
      log: ctx.log.child({ part: "visit" }),
    });
    node = new MemberNode({
      ...ctx,
      regional: parentLink,
      catalog,
      pusher,
      ill: illEngine,
      copyright,
      ledger,
      ...(ncip ? { ncip } : {}),
      visits,
    });
    return node;
  }
}
