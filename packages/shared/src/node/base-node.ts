import { createHash } from "node:crypto";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import type { NodeConfig } from "../config.js";
import { Database, type Migration } from "../db.js";
import type { DirectorySource } from "../directory/source.js";
import { EnrollmentTokens } from "../directory/tokens.js";
import { type GetStatusResponse, GetStatusResponseSchema } from "../gen/lrs/v1/admin_pb.js";
import {
  type Institution,
  InstitutionSchema,
  LendingPolicySummarySchema,
  RegisterRequestSchema,
} from "../gen/lrs/v1/directory_pb.js";
import { createLogger, type Logger } from "../log.js";
import { sharedMigrations } from "../migrations.js";
import { Outbox } from "../outbox.js";
import type { Policy } from "../rpc/authz.js";
import { RpcServer } from "../rpc/server.js";
import { loadIdentity, type TlsIdentity } from "../tls/identity.js";
import { tierName } from "../tls/pki.js";
import type { ParentLink } from "./parent-link.js";

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
}

/** Opens what every node has: identity, database (shared + tier migrations), outbox, tokens, logger. */
export function openNodeContext(cfg: NodeConfig, migrations: Migration[], enrollHint: string): NodeContext {
  const tls = loadIdentity(cfg.dataDir, enrollHint);
  if (tls.identity.id !== cfg.id || tls.identity.tier !== cfg.tier) {
    throw new Error(
      `the certificate in ${cfg.dataDir} belongs to ${tierName(tls.identity.tier)} ${tls.identity.id}, but ${cfg.source} configures ${tierName(cfg.tier)} ${cfg.id}`,
    );
  }
  const db = Database.open(join(cfg.dataDir, "node.db"), [...sharedMigrations, ...migrations]);
  return {
    cfg,
    db,
    log: createLogger(`${tierName(cfg.tier)}:${cfg.id}`),
    tls,
    outbox: new Outbox(db),
    tokens: new EnrollmentTokens(db),
    startedAt: new Date(),
  };
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
    }),
  });
}

export interface BaseNodeParts {
  ctx: NodeContext;
  directory: DirectorySource;
  policy: Policy;
  serviceNames: string[];
  routes: (router: ConnectRouter, streams: AbortSignal) => void;
  parent?: ParentLink;
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
  #destroying: Promise<void> | undefined;

  constructor(parts: BaseNodeParts) {
    this.parts = parts;
    this.ctx = parts.ctx;
    this.server = new RpcServer({
      listen: parts.ctx.cfg.listen,
      tls: parts.ctx.tls,
      policy: parts.policy,
      isRevoked: (fp) => parts.directory.isRevoked(fp),
      log: parts.ctx.log,
      routes: parts.routes,
      serviceNames: parts.serviceNames,
    });
  }

  /** The bound address ("127.0.0.1:7000"), once started. */
  get address(): string {
    return this.#address;
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
      this.parts.parent.start();
    }
    this.ctx.log.info({ address: this.#address, id: this.ctx.cfg.id }, "node listening");
    return this.#address;
  }

  /**
   * Registers this node with its parent through the outbox, when what it
   * would register differs from what it last registered (not on every restart).
   */
  #registerUpward(parent: ParentLink): void {
    const inst = selfInstitution(this.ctx, this.endpoint);
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
    });
  }

  destroy(): Promise<void> {
    this.#destroying ??= (async () => {
      await this.server.close(this.ctx.cfg.shutdownGraceMs);
      await this.parts.parent?.close();
      this.ctx.db.close();
      this.ctx.log.info({ id: this.ctx.cfg.id }, "node stopped");
    })();
    return this.#destroying;
  }
}
