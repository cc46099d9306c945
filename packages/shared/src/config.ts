import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import { Tier } from "./gen/lrs/v1/common_pb.js";
import { ID_PATTERN, tierName } from "./tls/pki.js";

/** Raised when a node cannot start because a setting is wrong or missing; the message names it and its source. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    readonly setting?: string,
    readonly source?: string,
  ) {
    super(message);
  }
}

const hostPort = z
  .string()
  .regex(/^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, 'expected host:port, e.g. "127.0.0.1:7000"')
  .refine((s) => Number(s.slice(s.lastIndexOf(":") + 1)) <= 65535, "port must be at most 65535");

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "500ms", "30s", "15m", "4h", "3d" → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

const duration = z
  .string()
  .refine((s) => parseDuration(s) !== undefined, 'expected a duration such as "30s", "15m", "4h" or "3d"')
  .transform((s) => parseDuration(s)!);

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected an ISO date such as "2026-12-24"');

const lendingPolicySchema = z
  .object({
    lends_items: z.boolean().default(true),
    supplies_copies: z.boolean().default(true),
    loan_period_days: z.number().int().min(1).max(365).default(28),
    max_renewals: z.number().int().min(0).max(20).default(1),
    lend_only_if_multiple_copies: z.boolean().default(false),
    non_circulating_locations: z.array(z.string()).default([]),
    notes: z.string().default(""),
    /** Material types lent (the union catalog's format names); empty: all. */
    material_types: z.array(z.string().min(1)).default([]),
    /** No requests are taken from `from` to `to` (ISO dates, both included). */
    closed_periods: z
      .array(
        z
          .object({ from: isoDate, to: isoDate, reason: z.string().default("") })
          .strict()
          .refine((p) => p.from <= p.to, '"from" must not be after "to"'),
      )
      .default([]),
    /** How long a broker waits for this lender's answer: "30s", "15m", "4h", "3d". */
    response_time: duration.default(3 * 86_400_000),
    /** Lends to members of other regions too. */
    lends_outside_region: z.boolean().default(true),
  })
  .strict();

/** Interlibrary loan at a member. */
const illSchema = z
  .object({
    /**
     * Answer incoming requests without staff: "off", "availability" (from item availability and
     * the lending policy) or "scenario" (tests and demos: a token in the request's note decides).
     * `lrs-member ill auto-respond` changes it at run time.
     */
    auto_respond: z.enum(["off", "availability", "scenario"]).default("off"),
    /** An earlier request by the same patron for the same title within this window is a duplicate. */
    duplicate_window: duration.default(30 * 86_400_000),
    /** How often the timers (response times, due dates, rota retries) are checked. */
    timer_interval: duration.default(1000),
  })
  .strict();

const fileSchema = z
  .object({
    id: z
      .string()
      .regex(ID_PATTERN, "expected an id of lower-case letters, digits and dashes (2–63 characters)"),
    name: z.string().min(1, "must not be empty"),
    region: z
      .string()
      .regex(ID_PATTERN, "expected a region code of lower-case letters, digits and dashes")
      .optional(),
    data_dir: z.string().min(1).optional(),
    listen: hostPort,
    advertise: hostPort.optional(),
    host_names: z.array(z.string().min(1)).optional(),
    parent: hostPort.optional(),
    sru_listen: hostPort.optional(),
    parent_id: z.string().regex(ID_PATTERN).optional(),
    federation_name: z.string().min(1).optional(),
    subjects: z.array(z.string()).default([]),
    shutdown_grace_ms: z.number().int().min(0).max(600_000).default(10_000),
    log: z
      .object({
        level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info"),
        pretty: z.boolean().optional(),
      })
      .strict()
      .default({ level: "info" }),
    lending_policy: lendingPolicySchema.default(lendingPolicySchema.parse({})),
    ill: illSchema.default(illSchema.parse({})),
  })
  .strict();

export type LendingPolicyConfig = z.infer<typeof lendingPolicySchema>;
export type IllConfig = z.infer<typeof illSchema>;

/** A validated node configuration, all paths absolute. */
export interface NodeConfig {
  tier: Tier;
  id: string;
  name: string;
  /** Region code; empty at the national center. */
  region: string;
  dataDir: string;
  listen: string;
  advertise: string;
  hostNames: string[];
  /** The parent node's gRPC endpoint (regional → national, member → regional). */
  parent?: string;
  /** The id the parent's certificate must carry, when known. */
  parentId?: string;
  federationName: string;
  /** SRU over plain HTTP (regional and national centers); loopback by default. */
  sruListen?: string;
  subjects: string[];
  shutdownGraceMs: number;
  log: { level: string; pretty?: boolean };
  lendingPolicy: LendingPolicyConfig;
  /** ILL at a member (defaults elsewhere). Durations in milliseconds. */
  ill: IllConfig;
  /** Where the settings came from, for messages. */
  source: string;
}

export function envPrefix(tier: Tier): string {
  return tierName(tier).toUpperCase();
}

/** Settings that may be overridden from the environment, as `<PREFIX>_<NAME>`. */
const ENV_KEYS: Array<{ env: string; path: string[]; kind: "string" | "list" | "bool" | "int" }> = [
  { env: "ID", path: ["id"], kind: "string" },
  { env: "NAME", path: ["name"], kind: "string" },
  { env: "REGION", path: ["region"], kind: "string" },
  { env: "DATA_DIR", path: ["data_dir"], kind: "string" },
  { env: "LISTEN", path: ["listen"], kind: "string" },
  { env: "ADVERTISE", path: ["advertise"], kind: "string" },
  { env: "HOST_NAMES", path: ["host_names"], kind: "list" },
  { env: "PARENT", path: ["parent"], kind: "string" },
  { env: "PARENT_ID", path: ["parent_id"], kind: "string" },
  { env: "SRU_LISTEN", path: ["sru_listen"], kind: "string" },
  { env: "SUBJECTS", path: ["subjects"], kind: "list" },
  { env: "SHUTDOWN_GRACE_MS", path: ["shutdown_grace_ms"], kind: "int" },
  { env: "LOG_LEVEL", path: ["log", "level"], kind: "string" },
  { env: "LOG_PRETTY", path: ["log", "pretty"], kind: "bool" },
  { env: "ILL_AUTO_RESPOND", path: ["ill", "auto_respond"], kind: "string" },
];

export interface RawConfig {
  file: string;
  values: Record<string, unknown>;
  /** Which settings came from which environment variable. */
  fromEnv: Map<string, string>;
}

/** Step one: read the TOML file and the environment, without defaults or validation. */
export function readConfigFile(tier: Tier, file: string, env: NodeJS.ProcessEnv = process.env): RawConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === "ENOENT"
        ? `config file ${path} does not exist`
        : `config file ${path} cannot be read: ${(err as Error).message}`,
      undefined,
      path,
    );
  }
  let values: Record<string, unknown>;
  try {
    values = parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(
      `config file ${path} is not valid TOML: ${(err as Error).message}`,
      undefined,
      path,
    );
  }
  const fromEnv = new Map<string, string>();
  const prefix = envPrefix(tier);
  for (const key of ENV_KEYS) {
    const name = `${prefix}_${key.env}`;
    const raw = env[name];
    if (raw === undefined || raw === "") continue;
    let value: unknown = raw;
    if (key.kind === "list")
      value = raw
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
    if (key.kind === "bool") value = /^(1|true|yes)$/i.test(raw);
    if (key.kind === "int") value = Number(raw);
    let target = values;
    for (const p of key.path.slice(0, -1)) {
      if (typeof target[p] !== "object" || target[p] === null) target[p] = {};
      target = target[p] as Record<string, unknown>;
    }
    target[key.path.at(-1)!] = value;
    fromEnv.set(key.path.join("."), name);
  }
  return { file: path, values, fromEnv };
}

/** Step two: apply defaults and validate; every message names the setting and where it came from. */
export function toConfig(tier: Tier, raw: RawConfig): NodeConfig {
  const parsed = fileSchema.safeParse(raw.values);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const setting =
      issue.path.join(".") || (issue.code === "unrecognized_keys" ? issue.keys.join(", ") : "(top level)");
    const envName = raw.fromEnv.get(setting);
    const where = envName ? `environment variable ${envName}` : `config file ${raw.file}`;
    const what =
      issue.code === "invalid_type" && issue.input === undefined
        ? `setting "${setting}" is missing`
        : issue.code === "unrecognized_keys"
          ? `unknown setting "${setting}"`
          : `setting "${setting}": ${issue.message}`;
    throw new ConfigError(`${where}: ${what}`, setting, envName ?? raw.file);
  }
  const v = parsed.data;
  const where = `config file ${raw.file}`;
  const base = dirname(raw.file);
  if (tier === Tier.MEMBER && v.sru_listen) {
    throw new ConfigError(
      `${where}: setting "sru_listen" applies to regional and national centers only`,
      "sru_listen",
      raw.file,
    );
  }
  if (tier === Tier.NATIONAL) {
    if (v.region)
      throw new ConfigError(
        `${where}: setting "region" does not apply to the national center`,
        "region",
        raw.file,
      );
    if (v.parent)
      throw new ConfigError(
        `${where}: setting "parent" does not apply to the national center`,
        "parent",
        raw.file,
      );
  } else {
    if (!v.region) throw new ConfigError(`${where}: setting "region" is missing`, "region", raw.file);
    if (!v.parent) {
      const up = tier === Tier.REGIONAL ? "the national center" : "the regional center";
      throw new ConfigError(
        `${where}: setting "parent" is missing (the gRPC address of ${up})`,
        "parent",
        raw.file,
      );
    }
  }
  const listenHost = v.listen.slice(0, v.listen.lastIndexOf(":")).replace(/^\[|\]$/g, "");
  const hostNames =
    v.host_names ??
    [...new Set(["localhost", "127.0.0.1", "::1", listenHost])].filter((h) => h !== "0.0.0.0" && h !== "::");
  return {
    tier,
    id: v.id,
    name: v.name,
    region: v.region ?? "",
    dataDir: resolve(base, v.data_dir ?? `data-${v.id}`),
    listen: v.listen,
    advertise: v.advertise ?? v.listen,
    hostNames,
    ...(v.parent ? { parent: v.parent } : {}),
    ...(v.parent_id ? { parentId: v.parent_id } : {}),
    federationName: v.federation_name ?? "LRS",
    ...(tier !== Tier.MEMBER ? { sruListen: v.sru_listen ?? "127.0.0.1:0" } : {}),
    subjects: v.subjects,
    shutdownGraceMs: v.shutdown_grace_ms,
    log: { level: v.log.level, ...(v.log.pretty === undefined ? {} : { pretty: v.log.pretty }) },
    lendingPolicy: v.lending_policy,
    ill: v.ill,
    source: raw.file,
  };
}

/** Reads, overrides from the environment, defaults and validates in one call (what `serve` does). */
export function loadConfig(tier: Tier, file: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return toConfig(tier, readConfigFile(tier, file, env));
}

/** Splits "host:port" (IPv6 in brackets) into its parts. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) };
}
