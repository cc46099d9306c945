import { createHash } from "node:crypto";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type ConnectRouter, createClient } from "@connectrpc/connect";
import type { CatalogSyncPusher } from "../catalog-sync/pusher.js";
import { type NodeConfig, splitHostPort } from "../config.js";
import { Database, type Migration } from "../db.js";
import { DirectoryReplica, type DirectorySource } from "../directory/source.js";
import { EnrollmentTokens } from "../directory/tokens.js";
import { feeScheduleOf } from "../fees/fees.js";
import {
  type CatalogLoad,
  type CatalogStats,
  type GetStatusResponse,
  GetStatusResponseSchema,
  type SyncPosition,
} from "../gen/lrs/v1/admin_pb.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import {
  type Institution,
  InstitutionSchema,
  LendingPolicySummarySchema,
  RegisterRequestSchema,
} from "../gen/lrs/v1/directory_pb.js";
import { type NodeHealth, NodeHealthSchema, TrafficService } from "../gen/lrs/v1/traffic_pb.js";
import { createLogger, type Logger } from "../log.js";
import { sharedMigrations } from "../migrations.js";
import { Outbox } from "../outbox.js";
import type { Policy } from "../rpc/authz.js";
import { RpcServer } from "../rpc/server.js";
import { loadIdentity, type TlsIdentity } from "../tls/identity.js";
import { type CertificateInfo, tierName } from "../tls/pki.js";
import { createMetricsServer, type MetricsServer, type TrafficMetrics } from "../traffic/metrics.js";
import { openNodeTraffic, runTrafficLoop } from "../traffic/node-traffic.js";
import type { TrafficRecorder } from "../traffic/recorder.js";
import { TrafficReporter } from "../traffic/reporter.js";
import { trafficService } from "../traffic/service.js";
import type { TrafficStore } from "../traffic/store.js";
import { visitingPolicyOf } from "../visit/policy.js";
import { registerNodeGauges } from "./node-gauges.js";
import { PARENT, ParentLink, type ParentLinkOptions } from "./parent-link.js";
import { serveProbe } from "./probes.js";
import { type Readiness, readiness } from "./readiness.js";
import { queueRedelivery } from "./redelivery.js";
import { renewIdentity, runRenewalLoop, type SignRenewal, signWithParent } from "./renewal.js";

export const LRS_VERSION = "0.1.0";

/** The dependency bag every handler of a node receives. */
export interface NodeContext {
  cfg: NodeConfig;
  db: Database;
  log: Logger;
  tls: TlsIdentity;
  outbox: Outbox;
  tokens: EnrollmentTokens;
  startedAt: Date;
  /**
   * Traffic accounting: count here what the RPC alone does not say (traffic/recorder.ts), e.g.
   * `ctx.traffic.download({ by, what: "copy", bytes })` where a delivered copy is served.
   */
  traffic: TrafficRecorder;
  /** This node's traffic figures by minute (and, at a center, those of the tier below). */
  trafficStore: TrafficStore;
  /** Prometheus metrics of this node (/metrics). */
  metrics: TrafficMetrics;
}

/** Every migration of a node's database: the shared ones, then its tier's. */
export function nodeMigrations(tierMigrations: Migration[]): Migration[] {
  return [...sharedMigrations, ...tierMigrations];
}

/** Where a node keeps its database. */
export function databasePath(cfg: NodeConfig): string {
  return join(cfg.dataDir, "node.db");
}

/** Opens what every node has: identity, database (shared + tier migrations), outbox, tokens, logger. */
export function openNodeContext(cfg: NodeConfig, migrations: Migration[], enrollHint: string): NodeContext {
  const tls = loadIdentity(cfg.dataDir, enrollHint);
  if (tls.identity.id !== cfg.id || tls.identity.tier !== cfg.tier) {
    throw new Error(
      `the certificate in ${cfg.dataDir} belongs to ${tierName(tls.identity.tier)} ${tls.identity.id}, but ${cfg.source} configures ${tierName(cfg.tier)} ${cfg.id}`,
    );
  }
  const db = Database.open(databasePath(cfg), nodeMigrations(migrations), { complete: true });
  const outbox = new Outbox(db);
  const traffic = openNodeTraffic(cfg, db, LRS_VERSION);
  return {
    cfg,
    db,
    log: createLogger(`${tierName(cfg.tier)}:${cfg.id}`),
    tls,
    outbox,
    tokens: new EnrollmentTokens(db),
    startedAt: new Date(),
    traffic: traffic.recorder,
    trafficStore: traffic.store,
    metrics: traffic.metrics,
  };
}

/** What a regional center or a member opens: the common context, a directory replica and the link to its parent. */
export function openChildContext(
  cfg: NodeConfig,
  migrations: Migration[],
  parentLabel: string,
  senders: ParentLinkOptions["senders"] = {},
  batch?: ParentLinkOptions["batch"],
): NodeContext & { directory: DirectoryReplica; parentLink: ParentLink } {
  const base = openNodeContext(
    cfg,
    migrations,
    `run "lrs-${tierName(cfg.tier)} enroll --token TOKEN --config ${cfg.source}" first`,
  );
  const directory = new DirectoryReplica(base.db);
  const parentLink = new ParentLink({
    endpoint: cfg.parent!,
    ...(cfg.parentId ? { expectId: cfg.parentId } : {}),
    tls: base.tls,
    replica: directory,
    outbox: base.outbox,
    log: base.log.child({ peer: parentLabel }),
    senders,
    ...(batch ? { batch } : {}),
  });
  return { ...base, directory, parentLink };
}

/** This node as an entry of the directory, built from its config and certificate. */
export function selfInstitution(ctx: NodeContext, endpoint: string): Institution {
  const { cfg, tls } = ctx;
  return create(InstitutionSchema, {
    id: cfg.id,
    name: cfg.name,
    tier: cfg.tier,
    region: cfg.region,
    subjects: cfg.subjects,
    endpoint,
    ...(cfg.iso18626.agencyId ? { isoAgencyId: cfg.iso18626.agencyId } : {}),
    postalAddress: cfg.postalAddress,
    certFingerprint: tls.cert.fingerprint256,
    certSerial: tls.cert.serialNumber,
    certNotAfter: timestampFromDate(tls.cert.validTo),
    lendingPolicy: create(LendingPolicySummarySchema, {
      lendsItems: cfg.lendingPolicy.lends_items,
      suppliesCopies: cfg.lendingPolicy.supplies_copies,
      loanPeriodDays: cfg.lendingPolicy.loan_period_days,
      maxRenewals: cfg.lendingPolicy.max_renewals,
      lendOnlyIfMultipleCopies: cfg.lendingPolicy.lend_only_if_multiple_copies,
      nonCirculatingLocations: cfg.lendingPolicy.non_circulating_locations,
      notes: cfg.lendingPolicy.notes,
      materialTypes: cfg.lendingPolicy.material_types,
      closedPeriods: cfg.lendingPolicy.closed_periods,
      responseTimeSeconds: Math.ceil(cfg.lendingPolicy.response_time / 1000),
      lendsOutsideRegion: cfg.lendingPolicy.lends_outside_region,
    }),
    // Only members supply; a center's [fees] would mean nothing to a broker.
    ...(cfg.tier === Tier.MEMBER
      ? { feeSchedule: feeScheduleOf(cfg.fees), visitingPolicy: visitingPolicyOf(cfg.lendingPolicy.visiting) }
      : {}),
  });
}

export interface BaseNodeParts {
  ctx: NodeContext;
  directory: DirectorySource;
  policy: Policy;
  serviceNames: string[];
  routes: (router: ConnectRouter, streams: AbortSignal) => void;
  parent?: ParentLink;
  /** Pushes this node's catalog changes to the parent (members, regional centers). */
  upstreamSync?: CatalogSyncPusher;
  /** Where each sender below stands in its catalog sync (regional and national centers). */
  downstreamSync?: () => SyncPosition[];
  catalogStats?: () => CatalogStats;
  /** The catalog's latest imports and harvests (members). */
  catalogLoads?: () => CatalogLoad[];
  /** Released at destroy, after the server has stopped (open connections to other nodes). */
  closers?: Array<() => void>;
  /**
   * Background work started with the node (outbox workers to the tier below): each runs until the
   * signal aborts, and destroy waits for it before the connections and the database close.
   */
  background?: Array<(signal: AbortSignal) => Promise<void>>;
  /** A plain-HTTP listener beside gRPC (SRU); started after the gRPC server, stopped before it. */
  http?: { start(): Promise<string>; close(): Promise<void> | void };
  /** More plain-HTTP listeners by name (the national center's "dashboard"), like `http`. */
  listeners?: Array<{ name: string; start(): Promise<string>; close(): Promise<void> | void }>;
  /** What the node adds to its health report (a member: its ILL requests that need attention). */
  health?: () => Partial<Omit<NodeHealth, "$typeName" | "$unknown">>;
  /**
   * How this node's certificate renewals are signed when it has no parent to ask (the national
   * center signs its own with the federation CA). Nodes with a parent ask it (RenewCertificate).
   */
  signRenewal?: SignRenewal;
  /**
   * What this node adds to its directory entry beyond its config (a member: its visit keys and
   * its blocked visiting-reader credentials). Call `reregister()` when it changes.
   */
  describeSelf?: () => Pick<Institution, "visitKeys" | "blockedVisitCredentials">;
}

/** What a renewal changed. */
export interface Renewed {
  previous: CertificateInfo;
  current: CertificateInfo;
}

/**
 * The life cycle shared by the three tiers: start the server, connect to the
 * parent, and stop it all in order. `destroy()` is idempotent.
 */
export class BaseNode {
  readonly ctx: NodeContext;
  readonly server: RpcServer;
  readonly parts: BaseNodeParts;
  #address = "";
  #httpUrl = "";
  #metricsUrl = "";
  readonly #listenerUrls = new Map<string, string>();
  readonly #metricsServer: MetricsServer;
  readonly #reporter: TrafficReporter | undefined;
  #destroying: Promise<void> | undefined;
  readonly #workers = new AbortController();
  #background: Promise<unknown>[] = [];
  #renewing: Promise<Renewed> | undefined;

  constructor(parts: BaseNodeParts) {
    this.parts = parts;
    this.ctx = parts.ctx;
    this.server = new RpcServer({
      listen: parts.ctx.cfg.listen,
      tls: parts.ctx.tls,
      policy: parts.policy,
      isRevoked: (fp) => parts.directory.isRevoked(fp),
      log: parts.ctx.log,
      routes: (router, streams) => {
        parts.routes(router, streams);
        router.service(
          TrafficService,
          trafficService({
            self: parts.ctx.tls.identity,
            store: parts.ctx.trafficStore,
            directory: parts.directory,
            log: parts.ctx.log.child({ part: "traffic" }),
            ownHealth: () => this.healthReport(),
            onReport: () => this.#reporter?.notify(),
            streams,
          }),
        );
      },
      serviceNames: [...parts.serviceNames, TrafficService.typeName],
      ...(parts.ctx.cfg.traffic.enabled ? { traffic: parts.ctx.traffic } : {}),
    });
    const { ctx } = parts;
    this.#metricsServer = createMetricsServer({
      ...splitHostPort(ctx.cfg.metricsListen),
      metrics: ctx.metrics,
      log: ctx.log.child({ part: "metrics" }),
      other: (path, req, res) =>
        serveProbe(path, req, res, { id: ctx.cfg.id, ready: () => this.readiness() }),
    });
    registerNodeGauges(ctx.metrics, {
      outbox: ctx.outbox,
      cert: () => this.ctx.tls.cert,
      ...(parts.parent ? { parent: parts.parent } : {}),
      ...(parts.upstreamSync ? { upstreamSync: parts.upstreamSync } : {}),
    });
    // Also when this node counts nothing itself: a regional center still passes on its members'
    // figures, and every node its health (its parent's "last contact").
    if (parts.parent) {
      this.#reporter = new TrafficReporter({
        store: ctx.trafficStore,
        parent: createClient(TrafficService, parts.parent.transport.transport),
        health: () => [
          this.healthReport(),
          // At a regional center: what its members said, passed on.
          ...ctx.trafficStore.health().filter((h) => h.nodeId !== ctx.cfg.id),
        ],
        intervalMs: ctx.cfg.traffic.flush_interval,
        log: ctx.log.child({ part: "traffic-up" }),
      });
    }
  }

  /** Whether this node can serve: database, parent, certificate (GET /readyz). */
  readiness(): Readiness {
    const parent = this.parts.parent;
    return readiness({
      db: this.ctx.db,
      cert: () => this.ctx.tls.cert,
      isRevoked: (fp) => this.parts.directory.isRevoked(fp),
      ...(parent ? { parent: () => parent.status() } : {}),
      parentGraceMs: this.ctx.cfg.operations.parent_grace,
    });
  }

  /** What this node says of itself in its traffic reports (and its GetTraffic answers). */
  healthReport(): NodeHealth {
    const { cfg, startedAt, outbox } = this.ctx;
    const sync = this.parts.upstreamSync?.status();
    const h = create(NodeHealthSchema, {
      nodeId: cfg.id,
      observedAt: timestampFromDate(new Date()),
      startedAt: timestampFromDate(startedAt),
      reportIntervalSeconds: Math.ceil(cfg.traffic.flush_interval / 1000),
      outboxPending: outbox.pendingCount(),
      version: LRS_VERSION,
      ...(sync
        ? {
            syncLag: sync.lag,
            resyncing: sync.resyncing,
            ...(sync.lastSyncAt ? { lastSyncAt: sync.lastSyncAt } : {}),
          }
        : {}),
    });
    const extra = this.parts.health?.();
    if (extra) Object.assign(h, extra);
    return h;
  }

  /** The traffic reporter toward the parent (members and regional centers). */
  get trafficReporter(): TrafficReporter | undefined {
    return this.#reporter;
  }

  /** Prometheus metrics URL, once started. */
  get metricsUrl(): string {
    return this.#metricsUrl;
  }

  /** The URL of one of the `listeners`, once started ("" when there is none of that name). */
  listenerUrl(name: string): string {
    return this.#listenerUrls.get(name) ?? "";
  }

  /** The bound address ("127.0.0.1:7000"), once started. */
  get address(): string {
    return this.#address;
  }

  /** The SRU base URL, when this node serves SRU. */
  get httpUrl(): string {
    return this.#httpUrl;
  }

  /** The address others should use: the configured one, or the bound one when the port was 0. */
  get endpoint(): string {
    const adv = this.ctx.cfg.advertise;
    return adv.endsWith(":0") ? this.#address : adv;
  }

  async start(): Promise<string> {
    this.#address = await this.server.listen();
    if (this.parts.parent) {
      this.#registerUpward(this.parts.parent);
      const since = queueRedelivery(this.ctx.db, this.ctx.outbox, PARENT);
      if (since)
        this.ctx.log.warn(
          { since: since.toISOString() },
          "restored from a backup: asking the parent to deliver again what it delivered since",
        );
      this.parts.parent.start();
    }
    this.parts.upstreamSync?.start(this.#workers.signal);
    const { ctx } = this;
    this.#background = [
      ...(this.parts.background ?? []),
      (signal: AbortSignal) =>
        runTrafficLoop(
          {
            recorder: ctx.traffic,
            store: ctx.trafficStore,
            intervalMs: ctx.cfg.traffic.flush_interval,
            log: ctx.log.child({ part: "traffic" }),
            onFlushed: () => this.#reporter?.notify(),
          },
          signal,
        ),
      ...(this.#reporter ? [(signal: AbortSignal) => this.#reporter!.run(signal)] : []),
      (signal: AbortSignal) =>
        runRenewalLoop(
          {
            intervalMs: ctx.cfg.operations.renew_check_interval,
            fraction: ctx.cfg.operations.renew_after,
            cert: () => ctx.tls.cert,
            renew: () => this.renewCertificate(),
            log: ctx.log.child({ part: "renewal" }),
          },
          signal,
        ),
    ].map((run) => run(this.#workers.signal));
    if (this.parts.http) {
      this.#httpUrl = await this.parts.http.start();
      this.ctx.log.info({ url: this.#httpUrl }, "SRU listening");
    }
    this.#metricsUrl = await this.#metricsServer.start();
    for (const l of this.parts.listeners ?? []) this.#listenerUrls.set(l.name, await l.start());
    this.ctx.log.info({ address: this.#address, id: this.ctx.cfg.id }, "node listening");
    return this.#address;
  }

  /**
   * Renews this node's certificate now (one renewal at a time) and serves with the new one at
   * once: the gRPC listener's new connections, the connection to the parent, and the directory
   * entry (registered again with the new fingerprint). A failure leaves the old identity in use.
   */
  renewCertificate(): Promise<Renewed> {
    this.#renewing ??= this.#renew().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  async #renew(): Promise<Renewed> {
    const { ctx } = this;
    const parent = this.parts.parent;
    const sign = parent ? signWithParent(parent.directory) : this.parts.signRenewal;
    if (!sign) throw new Error("this node has no way to have its certificate signed");
    const previous = ctx.tls.cert;
    const next = await renewIdentity(ctx.cfg, ctx.tls, sign);
    // In place: the parent link and the peer connections read the identity from this object.
    Object.assign(ctx.tls, next);
    this.server.useIdentity(ctx.tls);
    parent?.reconnect();
    if (parent) this.#registerUpward(parent);
    ctx.log.info(
      {
        fingerprint: next.cert.fingerprint256,
        notAfter: next.cert.validTo.toISOString(),
        previous: previous.fingerprint256,
      },
      "certificate renewed",
    );
    return { previous, current: next.cert };
  }

  /**
   * Registers this node with its parent through the outbox, when what it
   * would register differs from what it last registered (not on every restart).
   */
  #registerUpward(parent: ParentLink): void {
    const inst = selfInstitution(this.ctx, this.endpoint);
    Object.assign(inst, this.parts.describeSelf?.() ?? {});
    const digest = createHash("sha256").update(toBinary(InstitutionSchema, inst)).digest("hex");
    const { sqlite } = this.ctx.db;
    const last = sqlite.prepare("SELECT value FROM node_meta WHERE key = 'registered_digest'").get() as
      | { value: string }
      | undefined;
    if (last?.value === digest) return;
    this.ctx.db.transaction(() => {
      void parent.register(create(RegisterRequestSchema, { institution: inst }), 0);
      sqlite
        .prepare(
          "INSERT INTO node_meta (key, value) VALUES ('registered_digest', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(digest);
    });
  }

  /**
   * Registers this node's directory entry again when it changed (a member blocked a credential):
   * through the outbox, so it reaches the national center and every replica below it.
   */
  reregister(): void {
    if (this.parts.parent) this.#registerUpward(this.parts.parent);
  }

  status(): GetStatusResponse {
    const { cfg, tls, startedAt, outbox } = this.ctx;
    const dir = this.parts.directory.current();
    return create(GetStatusResponseSchema, {
      id: cfg.id,
      name: cfg.name,
      tier: cfg.tier,
      region: cfg.region,
      endpoint: this.endpoint,
      version: LRS_VERSION,
      startedAt: timestampFromDate(startedAt),
      directoryVersion: dir.version,
      directorySize: dir.institutions.length,
      ...(this.parts.parent ? { parent: this.parts.parent.status() } : {}),
      certFingerprint: tls.cert.fingerprint256,
      certNotAfter: timestampFromDate(tls.cert.validTo),
      outboxPending: outbox.pendingCount(),
      outboxDead: outbox.deadCount(),
      ...(this.parts.upstreamSync ? { upstreamSync: this.parts.upstreamSync.status() } : {}),
      downstreamSync: this.parts.downstreamSync?.() ?? [],
      ...(this.parts.catalogStats ? { catalog: this.parts.catalogStats() } : {}),
      catalogLoads: this.parts.catalogLoads?.() ?? [],
      sruUrl: this.#httpUrl,
      metricsUrl: this.#metricsUrl,
      dashboardUrl: this.listenerUrl("dashboard"),
    });
  }

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      for (const l of this.parts.listeners ?? []) await l.close();
      await this.#metricsServer.close();
      await this.parts.http?.close();
      await this.server.close(this.ctx.cfg.shutdownGraceMs);
      this.#workers.abort();
      await this.parts.upstreamSync?.stopped();
      await Promise.allSettled(this.#background);
      await this.parts.parent?.close();
      for (const close of this.parts.closers ?? []) close();
      this.ctx.db.close();
      this.ctx.log.info({ id: this.ctx.cfg.id }, "node stopped");
    })();
    return this.#destroying;
  }
}
