import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, ConnectError, createClient } from "@connectrpc/connect";
import { Command, Option } from "commander";
import { ConfigError, envPrefix, loadConfig, type NodeConfig } from "../config.js";
import { Database, type Migration } from "../db.js";
import {
  AdminService,
  GetStatusResponseSchema,
  ListOutboxResponseSchema,
  RetryOutboxResponseSchema,
} from "../gen/lrs/v1/admin_pb.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { DirectorySchema, DirectoryService } from "../gen/lrs/v1/directory_pb.js";
import { agencyIdOf, agencyLabel } from "../iso18626/partners.js";
import { initLogging } from "../log.js";
import { DEAD_AFTER_REFUSALS } from "../outbox.js";
import { createNodeTransport, type NodeTransport } from "../rpc/client.js";
import { handleStrayRejections } from "../rpc/stray-rejections.js";
import { loadIdentity, writeFileAtomic } from "../tls/identity.js";
import { tierName } from "../tls/pki.js";
import { VERSION } from "../version.js";
import { backupNode, restoreNode } from "./backup.js";
import { databasePath } from "./base-node.js";
import { addCheckConfigCommand } from "./check-config.js";
import { enrollNode } from "./enroll.js";
import { expiryWarning, renewIdentity, signWithParent } from "./renewal.js";

/** What `serve` needs from a tier: a node with a start/stop life cycle. */
export interface ServableNode {
  start(): Promise<string>;
  destroy(): Promise<void>;
  readonly endpoint: string;
  /** The SRU base URL, when the node serves one. */
  readonly httpUrl?: string;
}

/** Written by `serve` so that the node's own CLI finds it when its port was chosen at start. */
export function runtimeFile(cfg: NodeConfig): string {
  return join(cfg.dataDir, "node.json");
}

/** Where a node's config comes from when `--config` is not given (then `<TIER>_CONFIG`, see baseProgram). */
export const CONFIG_ENV = "LRS_CONFIG";

export function configOption(): Option {
  return new Option("-c, --config <file>", "the node's TOML config file")
    .env(CONFIG_ENV)
    .makeOptionMandatory();
}

/**
 * The address this node's CLI uses to reach its own server: `listen` (a wildcard host as
 * loopback), or, when its port is 0 and was chosen at start, the address `serve` wrote down. A
 * CLI on another machine or container reaches the node by setting `listen` (`<TIER>_LISTEN`).
 */
export function ownEndpoint(cfg: NodeConfig): string {
  if (!cfg.listen.endsWith(":0"))
    return cfg.listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
  try {
    const rt = JSON.parse(readFileSync(runtimeFile(cfg), "utf8")) as { address?: string };
    if (rt.address) return rt.address.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
  } catch {
    // not running or never started: fall back to the configured address
  }
  return cfg.listen.replace(/^0\.0\.0\.0:/, "127.0.0.1:").replace(/^\[::\]:/, "[::1]:");
}

/** A transport to this node, authenticated with its own certificate (admin calls). */
export function selfTransport(cfg: NodeConfig): NodeTransport {
  const tls = loadIdentity(cfg.dataDir, `run "lrs-${tierName(cfg.tier)} enroll" first`);
  return createNodeTransport({
    endpoint: ownEndpoint(cfg),
    caPem: tls.caPem,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    expectId: cfg.id,
  });
}

/**
 * A transport to this node's parent (a member's regional center), authenticated with this node's
 * certificate: CLI commands that ask the tier above directly.
 */
export function parentTransport(cfg: NodeConfig): NodeTransport {
  const tls = loadIdentity(cfg.dataDir, `run "lrs-${tierName(cfg.tier)} enroll" first`);
  return createNodeTransport({
    endpoint: cfg.parent!,
    caPem: tls.caPem,
    certPem: tls.certPem,
    keyPem: tls.keyPem,
    ...(cfg.parentId ? { expectId: cfg.parentId } : {}),
  });
}

/** Runs `fn` with a typed client to this node's own services and closes the connection after. */
export async function withSelf<T>(
  cfg: NodeConfig,
  fn: (c: { admin: Client<typeof AdminService>; directory: Client<typeof DirectoryService> }) => Promise<T>,
): Promise<T> {
  const t = selfTransport(cfg);
  try {
    return await fn({
      admin: createClient(AdminService, t.transport),
      directory: createClient(DirectoryService, t.transport),
    });
  } finally {
    t.close();
  }
}

/** Whether the node answers at its address (with its own certificate). */
async function isRunning(cfg: NodeConfig): Promise<boolean> {
  try {
    await withSelf(cfg, (c) => c.admin.getStatus({}, { timeoutMs: 3000 }));
    return true;
  } catch {
    return false;
  }
}

/**
 * Renews the node's certificate: the running node does it (and serves with the new one at once);
 * a member or regional center that is not running asks its parent itself with the certificate on
 * disk (which must still be valid), and uses the new one when it next starts.
 */
async function renewCertificate(
  cfg: NodeConfig,
): Promise<{ running: boolean; fingerprint: string; notAfter: string; previousFingerprint: string }> {
  try {
    const r = await withSelf(cfg, (c) => c.admin.renewOwnCertificate({}, { timeoutMs: 60_000 }));
    return {
      running: true,
      fingerprint: r.fingerprint,
      notAfter: r.notAfter ? timestampDate(r.notAfter).toISOString() : "",
      previousFingerprint: r.previousFingerprint,
    };
  } catch (err) {
    if (!(err instanceof ConnectError) || err.code !== 14) throw err;
  }
  if (!cfg.parent) {
    throw new Error(
      `${cfg.id} is not running: start it ("lrs-${tierName(cfg.tier)} serve"); the national center renews its own certificate with the CA when it runs`,
    );
  }
  const current = loadIdentity(cfg.dataDir, `run "lrs-${tierName(cfg.tier)} enroll" first`);
  const t = parentTransport(cfg);
  try {
    const next = await renewIdentity(
      cfg,
      current,
      signWithParent(createClient(DirectoryService, t.transport)),
    );
    return {
      running: false,
      fingerprint: next.cert.fingerprint256,
      notAfter: next.cert.validTo.toISOString(),
      previousFingerprint: current.cert.fingerprint256,
    };
  } finally {
    t.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(
    `${JSON.stringify(value, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`,
  );
}

/** Prints rows as an aligned text table. */
export function printTable(rows: Array<Record<string, string>>): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(width[i]!))
      .join("  ")
      .trimEnd();
  process.stdout.write(`${line(cols.map((c) => c.toUpperCase()))}\n`);
  for (const r of rows) process.stdout.write(`${line(cols.map((c) => r[c] ?? ""))}\n`);
}

/** Turns any failure into one clear line on stderr and a non-zero exit. */
export function describeError(err: unknown): string {
  if (err instanceof ConnectError) {
    const unreachable = err.code === 14 ? " (is the node running?)" : "";
    return `${err.rawMessage}${unreachable} [${ConnectErrorCodeName(err.code)}]`;
  }
  if (err instanceof ConfigError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

function ConnectErrorCodeName(code: number): string {
  const names = [
    "ok",
    "canceled",
    "unknown",
    "invalid_argument",
    "deadline_exceeded",
    "not_found",
    "already_exists",
    "permission_denied",
    "resource_exhausted",
    "failed_precondition",
    "aborted",
    "out_of_range",
    "unimplemented",
    "internal",
    "unavailable",
    "data_loss",
    "unauthenticated",
  ];
  return names[code] ?? String(code);
}

export async function runProgram(program: Command, argv = process.argv): Promise<void> {
  program.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const raw = (err as { code?: unknown }).code;
    const code = typeof raw === "string" ? raw : undefined;
    if (code === "commander.helpDisplayed" || code === "commander.version" || code === "commander.help")
      process.exit(0);
    if (code?.startsWith("commander.")) process.exit((err as { exitCode?: number }).exitCode ?? 1);
    process.stderr.write(`error: ${describeError(err)}\n`);
    process.exit(1);
  }
}

/**
 * The commands every tier has: serve, enroll (not at the national center),
 * status and directory. Tier-specific ones are added by the caller.
 */
export function baseProgram(
  tier: Tier,
  createNode: (cfg: NodeConfig) => Promise<ServableNode>,
  /** Every migration of this tier's database (`migrate`). */
  migrations: () => Migration[],
): Command {
  const name = `lrs-${tierName(tier)}`;
  // The config path from the environment: LRS_CONFIG, or the tier's own (MEMBER_CONFIG, …) like
  // every other setting's override.
  const tierConfigEnv = `${envPrefix(tier)}_CONFIG`;
  if (!process.env[CONFIG_ENV]) {
    if (process.env[tierConfigEnv]) process.env[CONFIG_ENV] = process.env[tierConfigEnv];
    else delete process.env[CONFIG_ENV]; // set but empty: as if unset
  }
  const program = new Command(name)
    .description(`LRS ${tierName(tier)} node`)
    .version(VERSION)
    .showHelpAfterError()
    .addHelpText(
      "after",
      `\nEvery command takes its config from --config FILE, else from ${CONFIG_ENV} or ${tierConfigEnv}.`,
    );

  addCheckConfigCommand(program, tier, configOption);

  program
    .command("serve")
    .description("run the node until SIGTERM or SIGINT")
    .addOption(configOption())
    .action(async (o: { config: string }) => {
      const cfg = loadConfig(tier, o.config);
      const log = initLogging({
        level: cfg.log.level,
        ...(cfg.log.pretty === undefined ? {} : { pretty: cfg.log.pretty }),
        base: { node: cfg.id },
      });
      handleStrayRejections(log);
      const node = await createNode(cfg);
      const address = await node.start();
      writeFileAtomic(
        runtimeFile(cfg),
        JSON.stringify({
          pid: process.pid,
          address,
          endpoint: node.endpoint,
          startedAt: new Date().toISOString(),
        }),
      );
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, "shutting down");
        node
          .destroy()
          .then(() => {
            rmSync(runtimeFile(cfg), { force: true });
            process.exit(0);
          })
          .catch((err: unknown) => {
            log.error({ err }, "shutdown failed");
            process.exit(1);
          });
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
      // Started by a harness (dev-env's Federation: tests, benchmarks, the demo) that may die
      // without stopping its nodes (a killed benchmark, a test worker that timed out): the
      // harness holds our stdin open, and its end means the parent is gone.
      if (process.env.LRS_EXIT_WITH_PARENT === "1") {
        process.stdin.on("end", () => stop("parent exited")).resume();
      }
      await new Promise(() => {});
    });

  if (tier !== Tier.NATIONAL) {
    program
      .command("enroll")
      .description("join the federation with a one-time token from the parent node")
      .addOption(configOption())
      .requiredOption("-t, --token <token>", "enrollment token (LRS1.…)")
      .option("--force", "enroll again even if this node already has a certificate")
      .option("--json", "print the result as JSON")
      .action(async (o: { config: string; token: string; force?: boolean; json?: boolean }) => {
        const cfg = loadConfig(tier, o.config);
        const res = await enrollNode(cfg, o.token, { force: o.force === true });
        if (o.json) printJson(res);
        else
          process.stdout.write(
            `enrolled ${res.id} as ${res.tier}${res.region ? ` in region ${res.region}` : ""}; certificate ${res.certPath} (SHA-256 ${res.fingerprint256}), valid until ${res.notAfter.toISOString()}\n`,
          );
      });
  }

  program
    .command("backup")
    .description(
      "write a consistent copy of the node (database, identity, config; at the national center the CA) to one archive, while it serves",
    )
    .addOption(configOption())
    .requiredOption("-o, --output <file>", "the archive to write (.tar.gz)")
    .option("--json", "print the result as JSON")
    .action(async (o: { config: string; output: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const m = await backupNode(cfg, o.output);
      if (o.json) return printJson({ output: o.output, ...m });
      process.stdout.write(
        `backed up ${m.tier} ${m.nodeId} to ${o.output}: ${Object.keys(m.files).length} files, schema version ${m.schemaVersions.at(-1) ?? 0}, ${m.createdAt}\n`,
      );
    });

  program
    .command("restore")
    .description(
      "put a backup in place of the node's data (the node stopped); its first catalog push is then a full resync",
    )
    .addOption(configOption())
    .requiredOption("-i, --input <file>", "the archive written by backup")
    .option("--force", "replace existing data (kept beside it), even of a running node")
    .option("--json", "print the result as JSON")
    .action(async (o: { config: string; input: string; force?: boolean; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const running = await isRunning(cfg);
      const r = await restoreNode(cfg, o.input, { force: o.force === true, running });
      if (o.json) return printJson({ input: o.input, ...r });
      process.stdout.write(
        `restored ${r.manifest.tier} ${r.manifest.nodeId} from the backup of ${r.manifest.createdAt} into ${cfg.dataDir}${r.keptAt ? `; the data it replaced is in ${r.keptAt}` : ""}. Start the node: it resyncs its catalog with its parent.\n`,
      );
    });

  program
    .command("migrate")
    .description(
      "list the database migrations this program would apply, and apply them (a node also migrates when it starts); refuses a database made by a newer LRS",
    )
    .addOption(configOption())
    .option("--dry-run", "only list what is pending; change nothing")
    .option("--json", "print as JSON")
    .action(async (o: { config: string; dryRun?: boolean; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const path = databasePath(cfg);
      const all = migrations();
      const plan = Database.plan(path, all);
      if (!o.dryRun && plan.pending.length > 0) Database.open(path, all, { complete: true }).close();
      const result = {
        database: path,
        dryRun: o.dryRun === true,
        applied: plan.applied.length,
        pending: plan.pending,
      };
      if (o.json) return printJson(result);
      const verb = o.dryRun ? "would apply" : "applied";
      if (plan.pending.length === 0) {
        process.stdout.write(`${path}: up to date (${plan.applied.length} migrations applied)\n`);
        return;
      }
      process.stdout.write(`${path}: ${verb} ${plan.pending.length} migration(s):\n`);
      for (const m of plan.pending) process.stdout.write(`  ${String(m.version).padStart(5)}  ${m.name}\n`);
    });

  program
    .command("renew")
    .description(
      "renew this node's certificate now (a new key, signed by the national center); nodes also do it by themselves once two thirds of the certificate's lifetime have passed",
    )
    .addOption(configOption())
    .option("--json", "print the result as JSON")
    .action(async (o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const res = await renewCertificate(cfg);
      if (o.json) return printJson(res);
      process.stdout.write(
        `renewed the certificate of ${cfg.id}${res.running ? " (the running node serves with it now)" : ""}: SHA-256 ${res.fingerprint}, valid until ${res.notAfter}; previous ${res.previousFingerprint}\n`,
      );
    });

  program
    .command("status")
    .description("show the running node's status")
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action(async (o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const st = await withSelf(cfg, (c) => c.admin.getStatus({}, { timeoutMs: 5000 }));
      if (o.json) return printJson(toJson(GetStatusResponseSchema, st));
      const lines = [
        ["id", st.id],
        ["name", st.name],
        ["tier", tierName(st.tier)],
        ["region", st.region || "-"],
        ["endpoint", st.endpoint],
        ["started", st.startedAt ? timestampDate(st.startedAt).toISOString() : "-"],
        ["directory", `version ${st.directoryVersion}, ${st.directorySize} institutions`],
        [
          "parent",
          st.parent
            ? `${st.parent.endpoint} ${st.parent.state}${st.parent.lastError ? ` (${st.parent.lastError})` : ""}`
            : "-",
        ],
        [
          "outbox",
          `${st.outboxPending} pending${st.outboxDead ? `, ${st.outboxDead} set aside (lrs-${tierName(tier)} outbox --dead)` : ""}`,
        ],
        ...(st.sruUrl ? [["sru", st.sruUrl]] : []),
        ...(st.metricsUrl ? [["metrics", st.metricsUrl]] : []),
        ...(st.dashboardUrl ? [["dashboard", st.dashboardUrl]] : []),
        [
          "certificate",
          `${st.certFingerprint} until ${st.certNotAfter ? timestampDate(st.certNotAfter).toISOString() : "?"}`,
        ],
      ];
      const warning = st.certNotAfter ? expiryWarning(timestampDate(st.certNotAfter)) : undefined;
      if (warning) lines.push(["WARNING", warning]);
      if (st.catalog) {
        lines.push([
          "catalog",
          `${st.catalog.records} records, ${st.catalog.clusters} clusters, ${st.catalog.holdings} holdings, ${st.catalog.downloads} downloads`,
        ]);
      }
      if (st.upstreamSync) {
        const u = st.upstreamSync;
        lines.push([
          "sync up",
          `acknowledged ${u.acknowledgedSeq} of ${u.headSeq} (lag ${u.lag})${u.resyncing ? ", resyncing" : ""}${u.lastError ? `, last error: ${u.lastError}` : ""}`,
        ]);
      }
      for (const [k, v] of lines) process.stdout.write(`${(k ?? "").padEnd(12)} ${v}\n`);
      if (st.downstreamSync.length > 0) {
        process.stdout.write("\ncatalog sync from the tier below:\n");
        printTable(
          st.downstreamSync.map((d) => ({
            node: d.peerId,
            acknowledged: d.acknowledgedSeq.toString(),
            head: d.headSeq.toString(),
            lag: d.lag.toString(),
            last: d.lastSyncAt ? timestampDate(d.lastSyncAt).toISOString() : "-",
            state: d.resyncing ? "resyncing" : "ok",
            resyncs: d.resyncs.toString(),
          })),
        );
      }
    });

  const outbox = program
    .command("outbox")
    .description("cross-node messages waiting to be delivered, and those set aside as refused")
    .addOption(configOption())
    .option("--dead", "only the messages set aside (refused again and again by their receiver)")
    .option("--limit <n>", "at most this many, oldest first", "100")
    .option("--json", "print as JSON")
    .addHelpText(
      "after",
      `
A message stays in the outbox until the next node has acknowledged it; one that the receiver
refuses as wrong ${DEAD_AFTER_REFUSALS} times is set aside so the messages behind it can go.
Examples:
  $ lrs-${tierName(tier)} outbox --config node.toml
  $ lrs-${tierName(tier)} outbox --config node.toml --dead
  $ lrs-${tierName(tier)} outbox retry --config node.toml MESSAGE-ID`,
    )
    .action(async (o: { config: string; dead?: boolean; limit: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const limit = Number(o.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 1000)
        throw new Error(`--limit must be a whole number from 1 to 1000, not "${o.limit}"`);
      const res = await withSelf(cfg, (c) =>
        c.admin.listOutbox({ deadOnly: o.dead === true, limit }, { timeoutMs: 5000 }),
      );
      if (o.json) return printJson(toJson(ListOutboxResponseSchema, res));
      process.stdout.write(`${res.pending} pending, ${res.dead} set aside\n`);
      if (res.entries.length === 0) return;
      printTable(
        res.entries.map((e) => ({
          message: e.messageId,
          to: e.destination,
          kind: e.kind,
          attempts: String(e.attempts),
          created: e.createdAt ? timestampDate(e.createdAt).toISOString() : "-",
          state: e.deadAt
            ? `set aside ${timestampDate(e.deadAt).toISOString()}`
            : e.nextAttemptAt
              ? `next try ${timestampDate(e.nextAttemptAt).toISOString()}`
              : "due",
          "last error": e.lastError.slice(0, 80),
        })),
      );
    });
  outbox
    .command("retry")
    .description(
      "put a message back in its queue and try it now (a dead letter, or one waiting out its backoff)",
    )
    .argument("<message-id>", "the message id, as `outbox` lists it")
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action(async (messageId: string, o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const res = await withSelf(cfg, (c) => c.admin.retryOutbox({ messageId }, { timeoutMs: 5000 }));
      if (o.json) return printJson(toJson(RetryOutboxResponseSchema, res));
      process.stdout.write(`${messageId}: back in the queue for ${res.entry?.destination ?? "?"}\n`);
    });

  program
    .command("directory")
    .description("show the federation directory as this node knows it")
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action(async (o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const res = await withSelf(cfg, (c) => c.directory.getDirectory({}, { timeoutMs: 5000 }));
      const dir = res.directory;
      if (!dir) throw new Error("node returned no directory");
      if (o.json) return printJson(toJson(DirectorySchema, dir));
      process.stdout.write(`directory version ${dir.version} (${dir.institutions.length} institutions)\n`);
      printTable(
        dir.institutions.map((i) => ({
          id: i.id,
          tier: tierName(i.tier),
          region: i.region || "-",
          "iso agency id": agencyLabel(agencyIdOf(dir, i)),
          endpoint: i.endpoint,
          name: i.name,
          status: i.revoked ? "revoked" : "active",
        })),
      );
      if (dir.externalPartners.length > 0) {
        process.stdout.write(`\nexternal ILL partners (ISO 18626 XML, ${dir.externalPartners.length})\n`);
        printTable(
          dir.externalPartners.map((p) => ({
            id: p.id,
            "iso agency id": agencyLabel(p),
            borrows: p.mayBorrow ? "yes" : "no",
            lends: p.mayLend ? "yes" : "no",
            name: p.name,
          })),
        );
      }
    });

  return program;
}

/**
 * `token create` and `token list`: enrollment tokens for the tier below (the
 * national center for regional centers, a regional center for its members).
 */
export function addTokenCommands(program: Command, tier: Tier.NATIONAL | Tier.REGIONAL): void {
  const below = tier === Tier.NATIONAL ? Tier.REGIONAL : Tier.MEMBER;
  const token = program
    .command("token")
    .description(
      `enrollment tokens for ${tier === Tier.NATIONAL ? "regional centers" : "this center's members"}`,
    );
  const create = token
    .command("create")
    .description(`issue a one-time token with which a ${tierName(below)} node enrolls`)
    .addOption(configOption())
    .requiredOption("--id <id>", `the ${tierName(below)} institution's id`)
    .option("--ttl <seconds>", "lifetime of the token", "86400")
    .option("--json", "print as JSON");
  if (tier === Tier.NATIONAL)
    create.requiredOption("--region <code>", "the region the regional center serves");
  create.action(async (o: { config: string; id: string; region?: string; ttl: string; json?: boolean }) => {
    const cfg = loadConfig(tier, o.config);
    const res = await withSelf(cfg, (c) =>
      c.admin.createEnrollmentToken(
        { institutionId: o.id, tier: below, region: o.region ?? cfg.region, ttlSeconds: Number(o.ttl) },
        { timeoutMs: 10_000 },
      ),
    );
    const expiresAt = res.expiresAt ? timestampDate(res.expiresAt).toISOString() : "";
    if (o.json) printJson({ token: res.token, expiresAt });
    else process.stdout.write(`${res.token}\n`);
  });
  token
    .command("list")
    .description("list enrollment tokens and whether they were used")
    .addOption(configOption())
    .option("--json", "print as JSON")
    .action(async (o: { config: string; json?: boolean }) => {
      const cfg = loadConfig(tier, o.config);
      const res = await withSelf(cfg, (c) => c.admin.listEnrollmentTokens({}, { timeoutMs: 10_000 }));
      const rows = res.tokens.map((t) => ({
        token: t.tokenId,
        institution: t.institutionId,
        tier: tierName(t.tier),
        region: t.region,
        expires: t.expiresAt ? timestampDate(t.expiresAt).toISOString() : "",
        used: t.usedAt ? timestampDate(t.usedAt).toISOString() : "no",
      }));
      if (o.json) printJson(rows);
      else printTable(rows);
    });
}
