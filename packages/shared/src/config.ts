import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { parse as parseToml } from "smol-toml";
import { z } from "zod";
import type { FeesInput } from "./fees/fees.js";
import { checkCurrency, isCurrency, type Money, parseAmount, parseMoney } from "./fees/money.js";
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

/**
 * The fixed default ports, the same at every node (each institution runs its node on its own
 * machine), so that firewall rules, scrape configs and manifests can be written once. The
 * gRPC listener answers on every interface by default; the plain-HTTP ones on loopback.
 */
export const DEFAULT_PORTS = {
  /** gRPC (+ gRPC-Web + Connect) with mutual TLS: `listen`. */
  grpc: 7400,
  /** SRU at the regional and national centers: `sru_listen`. */
  sru: 8210,
  /** Prometheus /metrics: `metrics_listen` (the port registered for Prometheus exporters of OpenTelemetry). */
  metrics: 9464,
  /** The national traffic dashboard: `dashboard_listen`. */
  dashboard: 8080,
  /** The web application: `web_listen`. */
  web: 8081,
} as const;

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

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};

/** "50MB", "512KiB", "1.5GB", "2048" (bytes) → bytes; KB/MB/GB are powers of 1000, KiB/MiB/GiB of 1024. */
export function parseSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? "b").toLowerCase()]!);
}

/** 52428800 → "50 MiB", 50000000 → "50 MB", 1500 → "1.5 KB": a size as people write it. */
export function formatSize(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  for (const [unit, size] of [
    ["GiB", 1024 ** 3],
    ["MiB", 1024 ** 2],
    ["KiB", 1024],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  for (const [unit, size] of [
    ["GB", 1e9],
    ["MB", 1e6],
    ["KB", 1e3],
  ] as const)
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`;
  return `${bytes} B`;
}

const size = z
  .union([z.string(), z.number().int().nonnegative()])
  .refine(
    (s) => (typeof s === "number" ? true : parseSize(s) !== undefined),
    'expected a size such as "50MB", "512KiB" or a number of bytes',
  )
  .transform((s) => (typeof s === "number" ? s : parseSize(s)!));

const isoDate = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected an ISO date such as "2026-12-24"');

/**
 * `[lending_policy.visiting]`: whom the member serves in person (reciprocal borrowing) and on
 * what terms; published in the directory as its VisitingReaderPolicy. `credential_days` is how
 * long the credentials it issues to its own readers last.
 */
const visitingSchema = z
  .object({
    serves_visitors: z.boolean().default(false),
    own_region: z.boolean().default(true),
    federation: z.boolean().default(false),
    partners: z.array(z.string().regex(ID_PATTERN)).default([]),
    material_types: z.array(z.string().min(1)).default([]),
    max_loans: z.number().int().min(1).max(100).default(5),
    loan_period_days: z.number().int().min(1).max(365).default(21),
    /** Charged to the reader's home institution per loan, e.g. "2.00 EUR". */
    fee_per_loan: z
      .string()
      .refine((t) => {
        try {
          parseMoney(t);
          return true;
        } catch {
          return false;
        }
      }, 'expected an amount with its currency, such as "2.00 EUR"')
      .optional(),
    credential_days: z.number().int().min(1).max(400).default(30),
  })
  .strict();

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
    visiting: visitingSchema.default(visitingSchema.parse({})),
  })
  .strict();

/** "8.50": an amount as decimal text (read exactly, in the currency's minor unit, by fees/money.ts). */
const decimalText = z.string().regex(/^\s*\d+(\.\d+)?\s*$/, 'expected an amount such as "8.50"');

/** "10.00 EUR": an amount with its currency. */
const moneyText = z.string().transform((s, ctx) => {
  try {
    return parseMoney(s);
  } catch (err) {
    ctx.addIssue({ code: "custom", message: (err as Error).message });
    return z.NEVER;
  }
});

/** Reads `text` as an amount in `currency`, or adds an issue at `path` and returns 0. */
function amountIn(ctx: z.RefinementCtx, currency: string, text: string, path: string): bigint {
  try {
    return parseAmount(text, currency);
  } catch (err) {
    ctx.addIssue({ code: "custom", path: [path], message: (err as Error).message });
    return 0n;
  }
}

/** A member's fees in minor units; `currency` "" when it charges nothing. */
export type FeesConfig = FeesInput;

const NO_FEES: FeesConfig = {
  currency: "",
  loan: 0n,
  copy: 0n,
  perPage: 0n,
  rushSurcharge: 0n,
  reciprocalPartners: [],
  discounts: [],
};

/**
 * What a member charges for supplying (published in the directory as its FeeSchedule). Amounts
 * are decimal text in `currency`; without a currency the member charges nothing.
 */
const feesSchema = z
  .object({
    currency: z.string().default(""),
    loan: decimalText.default("0"),
    copy: decimalText.default("0"),
    /** On top of `copy`, per page asked for. */
    per_page: decimalText.default("0"),
    /** Added for service level Rush, Express or Urgent. */
    rush_surcharge: decimalText.default("0"),
    /** Institutions served free of charge. */
    reciprocal_partners: z.array(z.string().regex(ID_PATTERN, "expected an institution id")).default([]),
    /** Discounts by agreement: `{ institution = "south-a", percent = 20 }`. */
    discounts: z
      .array(
        z
          .object({
            institution: z.string().regex(ID_PATTERN, "expected an institution id"),
            percent: z.number().int().min(1).max(100),
          })
          .strict(),
      )
      .default([]),
  })
  .strict()
  .transform((f, ctx): FeesConfig => {
    const currency = f.currency.trim();
    if (currency === "") {
      const priced = [f.loan, f.copy, f.per_page, f.rush_surcharge].some((a) => !/^\s*0*(\.0*)?\s*$/.test(a));
      if (priced) ctx.addIssue({ code: "custom", path: ["currency"], message: "is required with fees" });
      return NO_FEES;
    }
    if (!isCurrency(currency)) {
      ctx.addIssue({
        code: "custom",
        path: ["currency"],
        message: `"${currency}" is not an ISO 4217 currency code`,
      });
      return NO_FEES;
    }
    return {
      currency,
      loan: amountIn(ctx, currency, f.loan, "loan"),
      copy: amountIn(ctx, currency, f.copy, "copy"),
      perPage: amountIn(ctx, currency, f.per_page, "per_page"),
      rushSurcharge: amountIn(ctx, currency, f.rush_surcharge, "rush_surcharge"),
      reciprocalPartners: f.reciprocal_partners,
      discounts: f.discounts,
    };
  });

/**
 * The copyright rule for copies a member borrows (by default the CONTU guidelines: at most five
 * articles a year from the issues of one periodical published within five years before the
 * request) and what happens to a request over it.
 */
const copyrightSchema = z
  .object({
    /** The compliance statement every copy request carries (ISO 18626 copyrightCompliance). */
    compliance: z.string().trim().min(1, "must not be empty").max(64).default("US:CCG"),
    /** Copies a year from one periodical title that stay within the rule. */
    max_per_title: z.number().int().min(0).max(10_000).default(5),
    /** Only articles published within this many years before the request count. */
    recent_years: z.number().int().min(1).max(100).default(5),
    /** Over the rule: "review" (staff decide before it goes out) or "fee" (it goes out with a fee). */
    over_limit: z.enum(["review", "fee"]).default("review"),
    /** With over_limit = "fee": the fee per copy over the rule, in `currency` (default [fees] currency). */
    fee: decimalText.optional(),
    currency: z.string().optional(),
    /** Who the fee is paid to (a rights holder's institution id); default the national center. */
    payee: z.string().regex(ID_PATTERN, "expected an institution id").optional(),
    /** Years of counts kept (the current one included); older are purged. */
    keep_years: z.number().int().min(1).max(50).default(3),
  })
  .strict();

export interface CopyrightConfig {
  compliance: string;
  maxPerTitle: number;
  recentYears: number;
  overLimit: "review" | "fee";
  /** The fee per copy over the rule (over_limit = "fee"). */
  fee?: Money;
  /** Rights holder paid the fee; undefined: the national center. */
  payee?: string;
  keepYears: number;
}

/** Traffic accounting (every node): what it counts, how often it writes and reports, how long it keeps. */
const trafficSchema = z
  .object({
    /** Count traffic here (off: none of this node's own; it still passes on its members' figures). */
    enabled: z.boolean().default(true),
    /** How long figures are kept (at the national center: the dashboard's and the CLI's history). */
    retention: duration.refine((ms) => ms >= 3_600_000, "must be at least 1h").default(7 * 86_400_000),
    /** How often counts are written to the database and reported to the parent. */
    flush_interval: duration
      .refine((ms) => ms >= 100 && ms <= 3_600_000, "must be between 100ms and 1h")
      .default(60_000),
  })
  .strict();

/** OAI-PMH at a center (served at /oai on the SRU listener). */
const oaiSchema = z
  .object({
    /** Records or headers per ListRecords/ListIdentifiers response. */
    page_size: z.number().int().min(1).max(10_000).default(100),
    /** Identify's adminEmail (repeatable in OAI-PMH); the operator's address. */
    admin_email: z.array(z.string().email()).default([]),
    /** How long a resumption token is accepted. */
    token_lifetime: duration.refine((ms) => ms >= 60_000, "must be at least 1m").default(24 * 3_600_000),
  })
  .strict();
export type OaiConfig = z.infer<typeof oaiSchema>;

/**
 * OAI-PMH harvesting of a member's own ILS (Koha, Evergreen, FOLIO, Alma…) into its catalog,
 * instead of (or besides) file imports.
 */
const harvestSchema = z
  .object({
    /** The ILS's OAI-PMH base URL. */
    url: z.string().url("expected the OAI-PMH base URL, e.g. https://koha.example.org/cgi-bin/koha/oai.pl"),
    /** The MARCXML format as the ILS names it: marc21 (Koha, Evergreen, LRS), MARC21 (FOLIO's marc21_withholdings aside), marcxml (Alma). */
    metadata_prefix: z.string().min(1).default("marc21"),
    /** Harvest only this set. */
    set: z.string().min(1).optional(),
    /** Where the items are in the records, as for import: auto, koha, evergreen, 852, none, or a map file. */
    holdings_map: z.string().min(1).default("auto"),
    /** Harvest every so often while the node runs (e.g. "15m"); unset: only by hand (lrs-member harvest). */
    schedule: duration.refine((ms) => ms >= 60_000, "must be at least 1m").optional(),
    /** Tries per request when the ILS is unreachable or answers 5xx, waiting longer each time. */
    attempts: z.number().int().min(1).max(20).default(6),
    /** The first wait between tries; it doubles each time (up to 5 minutes). */
    retry_delay: duration.default(2000),
    /** How long one request may take. */
    timeout: duration.default(120_000),
  })
  .strict();
export type HarvestConfig = z.infer<typeof harvestSchema>;

/** The NCIP 2 messages LRS can send to the library's ILS. */
export const NCIP_MESSAGES = [
  "LookupItem",
  "CheckOutItem",
  "CheckInItem",
  "AcceptItem",
  "DeleteItem",
] as const;
export type NcipMessageName = (typeof NCIP_MESSAGES)[number];

/**
 * NCIP 2 to the member's own ILS (Koha, Evergreen, FOLIO, Alma…): loans lent and borrowed through
 * LRS are circulated there too, so staff work in one place.
 */
const ncipSchema = z
  .object({
    /** The ILS's NCIP responder (NCIP 2.02 XML over HTTP POST). */
    url: z.string().url("expected the ILS's NCIP responder URL, e.g. https://koha.example.org/ncip"),
    /** The ILS's agency id (ToAgencyId). */
    agency_id: z.string().min(1),
    /** This library as the ILS knows it (FromAgencyId); default the member's id. */
    from_agency_id: z.string().min(1).optional(),
    /** Sent as FromAgencyAuthentication (the ILS's NCIP password or API key), when the ILS asks for one. */
    authentication: z.string().min(1).optional(),
    /** An HTTP Authorization header value ("Bearer …", "Basic …"), for responders behind one. */
    http_authorization: z.string().min(1).optional(),
    /** Which messages to send; leave one out when the ILS does not support it or staff do it by hand. */
    messages: z.array(z.enum(NCIP_MESSAGES)).default([...NCIP_MESSAGES]),
    /** The ILS patron record each borrowing library has here ({agency} is its id): loans are checked out to it. */
    borrowing_library_patron: z
      .string()
      .min(1)
      .refine((s) => s.includes("{agency}"), "must contain {agency}")
      .default("ILL-{agency}"),
    /** Where a borrowed item waits for the patron (AcceptItem's PickupLocation); unset: the ILS's default. */
    pickup_location: z.string().min(1).optional(),
    /** How long one NCIP call may take. */
    timeout: duration.default(15_000),
    /** Tries of a call that failed for a reason that may pass (ILS unreachable, HTTP 5xx, a temporary failure). */
    attempts: z.number().int().min(1).max(50).default(12),
    /** The first wait before trying again; it doubles each time (up to an hour). */
    retry_delay: duration.default(30_000),
  })
  .strict();
export type NcipConfig = z.infer<typeof ncipSchema>;

/** Where a member's answer to "can you lend this?" comes from. */
const availabilitySchema = z
  .object({
    /** "catalog": the imported or harvested item status; "ncip": LookupItem at the ILS, live (needs [ncip]). */
    source: z.enum(["catalog", "ncip"]).default("catalog"),
  })
  .strict();
export type AvailabilityConfig = z.infer<typeof availabilitySchema>;
/** The automatic responder's modes (`[ill] auto_respond`, `lrs-member ill auto-respond`). */
export const AUTO_RESPOND_MODES = ["off", "availability", "scenario"] as const;

/** Interlibrary loan at a member. */
const illSchema = z
  .object({
    /**
     * Answer incoming requests without staff: "off", "availability" (from item availability and
     * the lending policy) or "scenario" (tests and demos: a token in the request's note decides).
     * `lrs-member ill auto-respond` changes it at run time.
     */
    auto_respond: z.enum(AUTO_RESPOND_MODES).default("off"),
    /** An earlier request by the same patron for the same title within this window is a duplicate. */
    duplicate_window: duration.default(30 * 86_400_000),
    /** How often the timers (response times, due dates, rota retries) are checked. */
    timer_interval: duration.default(1000),
    /**
     * Document delivery: the largest copy (a scanned article) a member uploads and a center relays.
     * Every center's limit should be at least its members'.
     */
    max_copy_size: size.refine((n) => n > 0, "must be more than 0 bytes").default(50_000_000),
    /** How long a delivered copy is kept for the borrower to download; then it is deleted. */
    copy_retention: duration.default(30 * 86_400_000),
    /** The most a borrowing request pays unless it says otherwise ("10.00 EUR"); unset: no limit. */
    maximum_cost: moneyText.optional(),
  })
  .strict();

/** `[operations]`: how the node looks after itself (readiness, certificate renewal). */
const operationsSchema = z
  .object({
    /** How long after its last contact an unreachable parent still leaves the node ready (/readyz). */
    parent_grace: duration.default(60_000),
    /** Renew the node's certificate once this share of its lifetime has passed (0.5 to 0.95). */
    renew_after: z
      .number()
      .min(0.5)
      .max(0.95)
      .default(2 / 3),
    /** How often the node checks whether its certificate is due for renewal (also at start). */
    renew_check_interval: duration
      .refine((ms) => ms >= 100 && ms <= 86_400_000, "must be between 100ms and 1d")
      .default(3_600_000),
    /** National center: how long the certificates it issues are valid (enrollment and renewal). */
    certificate_lifetime: duration
      .refine((ms) => ms >= 30_000 && ms <= 825 * 86_400_000, "must be between 30s and 825d")
      .default(397 * 86_400_000),
  })
  .strict();

/** `[operations]`: durations in milliseconds. */
export type OperationsConfig = z.infer<typeof operationsSchema>;

/** `[iso18626]`: the ISO 18626 XML gateway to ILL systems outside the federation. */
const iso18626Schema = z
  .object({
    /**
     * The gateway listener (HTTPS POST of ISO 18626 XML): on at the national center when set,
     * and at a regional center that sets it.
     */
    listen: hostPort.optional(),
    /** The URL partners are given for the listener; default https://<advertised host>:<port>/iso18626. */
    url: z.string().url().optional(),
    /** The listener's certificate and key (PEM files); default the node's own. */
    cert: z.string().min(1).optional(),
    key: z.string().min(1).optional(),
    /** National center: the agency id type every LRS institution is named under. */
    agency_id_type: z.string().min(1).max(64).default("LRS"),
    /** This institution's agency id value; default its id. */
    agency_id: z.string().min(1).max(64).optional(),
    /**
     * External partners that lend close rotas, as a last resort after every LRS holder. At a
     * regional center: for its members' rotas. At the national center: for the whole federation
     * (false keeps them out of every region's rotas; published in the directory).
     */
    partners_in_rota: z.boolean().default(true),
  })
  .strict();

/**
 * `[notifications]`: how the node sends staff their notifications (packages/web/src/notify): the
 * SMTP server for e-mail (webhooks need no setting), the daily digest's time, retries.
 */
const notificationsSchema = z
  .object({
    /** The SMTP server (submission); unset: the node sends no e-mail (webhooks still work). */
    smtp_host: z.string().min(1).optional(),
    /** Default 587 for "starttls" and "none", 465 for "tls". */
    smtp_port: z.number().int().min(1).max(65535).optional(),
    /** "starttls" (required, not optional), "tls" (implicit TLS) or "none" (loopback relays only). */
    smtp_security: z.enum(["starttls", "tls", "none"]).default("starttls"),
    smtp_user: z.string().min(1).optional(),
    /** Better given as the environment variable <PREFIX>_NOTIFICATIONS_SMTP_PASSWORD. */
    smtp_password: z.string().min(1).optional(),
    /** The sender ("ILL desk <ill@library.example.org>"); required with smtp_host. */
    from: z.string().min(3).optional(),
    /** When the daily digest goes out, "HH:MM" in UTC. */
    digest_time: z
      .string()
      .regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'expected "HH:MM" (24-hour clock, UTC)')
      .default("07:00"),
    /** How often new events are looked for and due deliveries sent. */
    interval: duration
      .refine((ms) => ms >= 100 && ms <= 3_600_000, "must be between 100ms and 1h")
      .default(5000),
    /** Tries of one delivery before it is marked failed (`notify retry` starts it again). */
    attempts: z.number().int().min(1).max(50).default(8),
    /** The first wait before trying again; it doubles each time (up to 6 hours). */
    retry_delay: duration.default(60_000),
    /** How long one SMTP exchange or webhook call may take. */
    timeout: duration
      .refine((ms) => ms >= 100 && ms <= 300_000, "must be between 100ms and 5m")
      .default(15_000),
    /**
     * The hosts staff webhooks may call: names ("hooks.example.org", "*.example.org"), addresses
     * or CIDR ranges ("10.1.2.0/24"). Unset: any host whose addresses are all public. A loopback,
     * private or link-local address is refused unless an address or range here holds it.
     */
    webhook_hosts: z
      .array(
        z
          .string()
          .regex(
            /^(?:\*\.)?[A-Za-z0-9.-]+$|^[0-9A-Fa-f:.[\]]+(?:\/\d{1,3})?$/,
            'expected a host name, "*.domain", an address or a CIDR range',
          ),
      )
      .default([]),
    /** The language of notifications to a person who has chosen none in the web application. */
    default_language: z.enum(["en", "zh-Hans"]).default("en"),
  })
  .strict();
export type NotificationsConfig = z.infer<typeof notificationsSchema>;

/** `[web.oidc]`: single sign-on with the library's OpenID Connect provider (packages/web/src/auth/oidc.ts). */
const oidcSchema = z
  .object({
    /** The provider's issuer URL (its /.well-known/openid-configuration is read); HTTPS beyond loopback. */
    issuer: z.url(),
    client_id: z.string().min(1),
    /** Better given as the environment variable <PREFIX>_WEB_OIDC_CLIENT_SECRET; unset: a public client (PKCE only). */
    client_secret: z.string().min(1).optional(),
    /** Scopes asked for besides "openid". */
    scopes: z.array(z.string().min(1)).default(["profile", "email"]),
    /** The claim (of the ID token or userinfo) that lists the person's groups. */
    group_claim: z.string().min(1).default("groups"),
    /** The claim that names the staff account; default preferred_username, else the subject. */
    user_claim: z.string().min(1).default("preferred_username"),
    /** Which groups give which role; a person in none of them is refused. */
    roles: z
      .object({
        admin: z.array(z.string().min(1)).default([]),
        staff: z.array(z.string().min(1)).default([]),
        viewer: z.array(z.string().min(1)).default([]),
      })
      .strict(),
    /** The sign-in button's text (default: "Sign in with <issuer host>"). */
    label: z.string().min(1).max(80).optional(),
  })
  .strict();
export type OidcConfig = z.infer<typeof oidcSchema>;

const fileSchema = z
  .object({
    id: z
      .string()
      .regex(ID_PATTERN, "expected an id of lower-case letters, digits and dashes (2–63 characters)"),
    name: z.string().min(1, "must not be empty"),
    /** Where other libraries send books and mail: printed on shipping labels (several lines). */
    postal_address: z.string().max(500, "must be at most 500 characters").optional(),
    region: z
      .string()
      .regex(ID_PATTERN, "expected a region code of lower-case letters, digits and dashes")
      .optional(),
    data_dir: z.string().min(1).optional(),
    listen: hostPort.default(`0.0.0.0:${DEFAULT_PORTS.grpc}`),
    /** The address other nodes dial (host names or addresses they can reach); default `listen`. */
    advertise: hostPort.optional(),
    host_names: z.array(z.string().min(1)).optional(),
    parent: hostPort.optional(),
    sru_listen: hostPort.optional(),
    /** Prometheus /metrics over plain HTTP; loopback by default. */
    metrics_listen: hostPort.optional(),
    /** The traffic dashboard (national center); loopback by default. */
    dashboard_listen: hostPort.optional(),
    /** The web application; loopback by default. */
    web_listen: hostPort.optional(),
    /** A certificate and key (PEM files) for the web application's public name; default: the node's own. */
    web_cert: z.string().min(1).optional(),
    web_key: z.string().min(1).optional(),
    /** The address staff type into the browser, when it is not web_listen's (a proxy, a public name). */
    web_public_url: z.url().optional(),
    /** Required of the dashboard's visitors when it listens beyond loopback; generated when unset. */
    dashboard_token: z.string().min(16, "must be at least 16 characters").optional(),
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
    traffic: trafficSchema.default(trafficSchema.parse({})),
    oai: oaiSchema.default(oaiSchema.parse({})),
    harvest: harvestSchema.optional(),
    ncip: ncipSchema.optional(),
    availability: availabilitySchema.default({ source: "catalog" }),
    fees: feesSchema.default(NO_FEES),
    copyright: copyrightSchema.default(copyrightSchema.parse({})),
    operations: operationsSchema.default(operationsSchema.parse({})),
    iso18626: iso18626Schema.default(iso18626Schema.parse({})),
    notifications: notificationsSchema.default(notificationsSchema.parse({})),
    /** The web application's sub-settings: `[web.oidc]` (its addresses are web_listen, web_cert …). */
    web: z.object({ oidc: oidcSchema.optional() }).strict().default({}),
  })
  .strict();

export type LendingPolicyConfig = z.infer<typeof lendingPolicySchema>;
export type IllConfig = z.infer<typeof illSchema>;
/** `[traffic]`: durations in milliseconds. */
export type TrafficConfig = z.infer<typeof trafficSchema>;

/** The `[lending_policy]` settings with every default. */
export function defaultLendingPolicy(): LendingPolicyConfig {
  return lendingPolicySchema.parse({});
}

/** The `[ill]` settings with every default (tests build theirs from it). */
export function defaultIllConfig(): IllConfig {
  return illSchema.parse({});
}

/** A validated node configuration, all paths absolute. */
export interface NodeConfig {
  tier: Tier;
  id: string;
  name: string;
  /** The postal address other libraries ship to (published in the directory); may be empty. */
  postalAddress: string;
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
  /** Prometheus /metrics over plain HTTP (every node); loopback by default. */
  metricsListen: string;
  /** The traffic dashboard (national center); loopback by default. */
  dashboardListen?: string;
  /** The staff web application (packages/web), served at web_listen (default 127.0.0.1:8081). */
  web: { listen: string; certFile?: string; keyFile?: string; publicUrl?: string; oidc?: OidcConfig };
  /** Staff notifications: SMTP, the digest, retries (durations in milliseconds). */
  notifications: NotificationsConfig;
  /** The dashboard's operator token, when configured. */
  dashboardToken?: string;
  /** Traffic accounting. */
  traffic: TrafficConfig;
  /** OAI-PMH (centers). */
  oai: OaiConfig;
  /** OAI-PMH harvesting of the member's own ILS, when configured. */
  harvest?: HarvestConfig;
  /** NCIP 2 to the member's ILS, when configured. */
  ncip?: NcipConfig;
  /** Where the member's item availability comes from. */
  availability: AvailabilityConfig;
  subjects: string[];
  shutdownGraceMs: number;
  log: { level: string; pretty?: boolean };
  lendingPolicy: LendingPolicyConfig;
  /** ILL at a member (defaults elsewhere). Durations in milliseconds. */
  ill: IllConfig;
  /** What the member charges for supplying (its directory FeeSchedule). */
  fees: FeesConfig;
  /** The copyright rule for the copies the member borrows. */
  copyright: CopyrightConfig;
  /** Readiness and certificate renewal. */
  operations: OperationsConfig;
  /** The ISO 18626 XML gateway and this institution's ISO agency id (paths absolute). */
  iso18626: Iso18626Config;
  /** Where the settings came from, for messages. */
  source: string;
}

export interface Iso18626Config {
  listen?: string;
  url?: string;
  cert?: string;
  key?: string;
  agencyIdType: string;
  agencyId?: string;
  partnersInRota: boolean;
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
  { env: "METRICS_LISTEN", path: ["metrics_listen"], kind: "string" },
  { env: "DASHBOARD_LISTEN", path: ["dashboard_listen"], kind: "string" },
  { env: "DASHBOARD_TOKEN", path: ["dashboard_token"], kind: "string" },
  { env: "WEB_LISTEN", path: ["web_listen"], kind: "string" },
  { env: "WEB_PUBLIC_URL", path: ["web_public_url"], kind: "string" },
  { env: "TRAFFIC_ENABLED", path: ["traffic", "enabled"], kind: "bool" },
  { env: "TRAFFIC_RETENTION", path: ["traffic", "retention"], kind: "string" },
  { env: "TRAFFIC_FLUSH_INTERVAL", path: ["traffic", "flush_interval"], kind: "string" },
  { env: "SUBJECTS", path: ["subjects"], kind: "list" },
  { env: "SHUTDOWN_GRACE_MS", path: ["shutdown_grace_ms"], kind: "int" },
  { env: "LOG_LEVEL", path: ["log", "level"], kind: "string" },
  { env: "LOG_PRETTY", path: ["log", "pretty"], kind: "bool" },
  { env: "ILL_AUTO_RESPOND", path: ["ill", "auto_respond"], kind: "string" },
  { env: "PARENT_GRACE", path: ["operations", "parent_grace"], kind: "string" },
  { env: "RENEW_CHECK_INTERVAL", path: ["operations", "renew_check_interval"], kind: "string" },
  { env: "CERTIFICATE_LIFETIME", path: ["operations", "certificate_lifetime"], kind: "string" },
  { env: "NOTIFICATIONS_SMTP_PASSWORD", path: ["notifications", "smtp_password"], kind: "string" },
  { env: "WEB_OIDC_CLIENT_SECRET", path: ["web", "oidc", "client_secret"], kind: "string" },
];

export interface RawConfig {
  file: string;
  values: Record<string, unknown>;
  /** Which settings came from which environment variable. */
  fromEnv: Map<string, string>;
}

/** The TOML of a config file as values; `path` names it in the error. */
export function parseConfigText(text: string, path: string): Record<string, unknown> {
  try {
    return parseToml(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigError(
      `config file ${path} is not valid TOML: ${(err as Error).message}`,
      undefined,
      path,
    );
  }
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
  const values = parseConfigText(text, path);
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
    // An unknown key is named with its section ("traffic.sample"), not as the section alone.
    const setting =
      issue.code === "unrecognized_keys"
        ? issue.keys.map((k) => [...issue.path, k].join(".")).join(", ")
        : issue.path.join(".") || "(top level)";
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
  if (v.ncip && tier !== Tier.MEMBER)
    throw new ConfigError(`${where}: [ncip] applies to member libraries only`, "ncip", raw.file);
  if (v.availability.source === "ncip" && !v.ncip?.messages.includes("LookupItem"))
    throw new ConfigError(
      `${where}: [availability] source = "ncip" needs [ncip] with LookupItem among its messages`,
      "availability.source",
      raw.file,
    );
  if ((v.web_cert === undefined) !== (v.web_key === undefined))
    throw new ConfigError(
      `${where}: "web_cert" and "web_key" go together`,
      v.web_cert ? "web_key" : "web_cert",
      raw.file,
    );
  checkNotifications(v.notifications, where, raw.file);
  if (v.web.oidc) checkOidc(v.web.oidc, where, raw.file);
  for (const key of ["dashboard_listen", "dashboard_token"] as const) {
    if (tier !== Tier.NATIONAL && v[key] !== undefined)
      throw new ConfigError(`${where}: setting "${key}" applies to the national center only`, key, raw.file);
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
  const advertise = v.advertise ?? v.listen;
  const advertiseHost = splitHostPort(advertise).host;
  if (isWildcard(advertiseHost)) {
    throw new ConfigError(
      v.advertise === undefined
        ? `${where}: setting "advertise" is missing: "listen" is ${v.listen}, which other nodes cannot dial; set advertise to the host:port they reach this node at (e.g. "lrs.example.org:${DEFAULT_PORTS.grpc}")`
        : `${raw.fromEnv.has("advertise") ? `environment variable ${raw.fromEnv.get("advertise")}` : where}: setting "advertise": ${advertise} is not an address other nodes can dial; give this node's host name or address`,
      "advertise",
      raw.fromEnv.get("advertise") ?? raw.file,
    );
  }
  const listenHost = splitHostPort(v.listen).host;
  const hostNames =
    v.host_names ??
    [...new Set(["localhost", "127.0.0.1", "::1", listenHost, advertiseHost])].filter((h) => !isWildcard(h));
  const listeners = {
    listen: v.listen,
    ...(tier !== Tier.MEMBER ? { sru_listen: v.sru_listen ?? `127.0.0.1:${DEFAULT_PORTS.sru}` } : {}),
    metrics_listen: v.metrics_listen ?? `127.0.0.1:${DEFAULT_PORTS.metrics}`,
    ...(tier === Tier.NATIONAL
      ? { dashboard_listen: v.dashboard_listen ?? `127.0.0.1:${DEFAULT_PORTS.dashboard}` }
      : {}),
    web_listen: v.web_listen ?? `127.0.0.1:${DEFAULT_PORTS.web}`,
  };
  checkListenersApart(listeners, where, raw.file);
  return {
    tier,
    id: v.id,
    name: v.name,
    postalAddress: (v.postal_address ?? "").trim(),
    region: v.region ?? "",
    dataDir: resolve(base, v.data_dir ?? `data-${v.id}`),
    listen: v.listen,
    advertise,
    hostNames,
    ...(v.parent ? { parent: v.parent } : {}),
    ...(v.parent_id ? { parentId: v.parent_id } : {}),
    federationName: v.federation_name ?? "LRS",
    ...(listeners.sru_listen ? { sruListen: listeners.sru_listen } : {}),
    metricsListen: listeners.metrics_listen,
    ...(listeners.dashboard_listen ? { dashboardListen: listeners.dashboard_listen } : {}),
    // Served on every node, like the metrics and the dashboard: on loopback unless web_listen
    // says otherwise (staff reach it through a proxy or web_public_url).
    web: {
      listen: listeners.web_listen,
      ...(v.web_cert ? { certFile: v.web_cert } : {}),
      ...(v.web_key ? { keyFile: v.web_key } : {}),
      ...(v.web_public_url ? { publicUrl: v.web_public_url } : {}),
      ...(v.web.oidc ? { oidc: v.web.oidc } : {}),
    },
    notifications: v.notifications,
    ...(v.dashboard_token ? { dashboardToken: v.dashboard_token } : {}),
    traffic: v.traffic,
    oai: v.oai,
    ...(v.harvest ? { harvest: v.harvest } : {}),
    ...(v.ncip ? { ncip: v.ncip } : {}),
    availability: v.availability,
    subjects: v.subjects,
    shutdownGraceMs: v.shutdown_grace_ms,
    log: { level: v.log.level, ...(v.log.pretty === undefined ? {} : { pretty: v.log.pretty }) },
    lendingPolicy: v.lending_policy,
    ill: v.ill,
    fees: v.fees,
    copyright: copyrightConfigOf(v.copyright, v.fees, where),
    operations: v.operations,
    iso18626: {
      ...(v.iso18626.listen ? { listen: v.iso18626.listen } : {}),
      ...(v.iso18626.url ? { url: v.iso18626.url } : {}),
      ...(v.iso18626.cert ? { cert: resolve(base, v.iso18626.cert) } : {}),
      ...(v.iso18626.key ? { key: resolve(base, v.iso18626.key) } : {}),
      agencyIdType: v.iso18626.agency_id_type,
      partnersInRota: v.iso18626.partners_in_rota,
      ...(v.iso18626.agency_id ? { agencyId: v.iso18626.agency_id } : {}),
    },
    source: raw.file,
  };
}

/** `[notifications]`: the SMTP settings that go together. */
function checkNotifications(n: NotificationsConfig, where: string, file: string): void {
  const fail = (setting: string, text: string) =>
    new ConfigError(`${where}: setting "notifications.${setting}" ${text}`, `notifications.${setting}`, file);
  if (!n.smtp_host) {
    for (const k of ["smtp_port", "smtp_user", "smtp_password", "from"] as const)
      if (n[k] !== undefined) throw fail(k, "needs notifications.smtp_host (the SMTP server)");
    return;
  }
  if (!n.from) throw fail("from", 'is missing (the sender, e.g. "ILL desk <ill@library.example.org>")');
  if (!/^(?:[^<>]*<[^<>@\s]+@[^<>@\s]+>|[^<>@\s]+@[^<>@\s]+)$/.test(n.from.trim()))
    throw fail("from", `: "${n.from}" is not an e-mail address ("name@host" or "Name <name@host>")`);
  if ((n.smtp_user === undefined) !== (n.smtp_password === undefined))
    throw fail(n.smtp_user ? "smtp_password" : "smtp_user", "goes with the other (SMTP authentication)");
  if (n.smtp_security === "none" && !isLoopback(n.smtp_host))
    throw fail("smtp_security", `= "none" is allowed for a relay on this machine only, not ${n.smtp_host}`);
}

/** `[web.oidc]`: the issuer over HTTPS (loopback aside) and at least one group mapped to a role. */
function checkOidc(o: OidcConfig, where: string, file: string): void {
  const url = new URL(o.issuer);
  if (url.protocol !== "https:" && !isLoopback(url.hostname))
    throw new ConfigError(
      `${where}: setting "web.oidc.issuer": ${o.issuer} must be https (plain http only on this machine)`,
      "web.oidc.issuer",
      file,
    );
  if (o.roles.admin.length + o.roles.staff.length + o.roles.viewer.length === 0)
    throw new ConfigError(
      `${where}: setting "web.oidc.roles" maps no group to a role: nobody could sign in (e.g. staff = ["ill-staff"])`,
      "web.oidc.roles",
      file,
    );
}

/** `[copyright]` checked against `[fees]`: a fee needs an amount and a currency. */
function copyrightConfigOf(
  c: z.infer<typeof copyrightSchema>,
  fees: FeesConfig,
  where: string,
): CopyrightConfig {
  const out: CopyrightConfig = {
    compliance: c.compliance,
    maxPerTitle: c.max_per_title,
    recentYears: c.recent_years,
    overLimit: c.over_limit,
    keepYears: c.keep_years,
    ...(c.payee ? { payee: c.payee } : {}),
  };
  if (c.over_limit !== "fee") return out;
  const currency = (c.currency ?? fees.currency).trim();
  if (c.fee === undefined)
    throw new ConfigError(
      `${where}: setting "copyright.fee" is missing (over_limit = "fee")`,
      "copyright.fee",
    );
  if (currency === "")
    throw new ConfigError(
      `${where}: setting "copyright.currency" is missing (over_limit = "fee", and [fees] names no currency)`,
      "copyright.currency",
    );
  try {
    return { ...out, fee: { currency: checkCurrency(currency), minor: parseAmount(c.fee, currency) } };
  } catch (err) {
    throw new ConfigError(`${where}: setting "copyright.fee": ${(err as Error).message}`, "copyright.fee");
  }
}

/** Reads, overrides from the environment, defaults and validates in one call (what `serve` does). */
export function loadConfig(tier: Tier, file: string, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  return toConfig(tier, readConfigFile(tier, file, env));
}

/** Two listeners on one port of one address (or of every address) cannot both start: refused, naming both. */
function checkListenersApart(
  listeners: Record<string, string | undefined>,
  where: string,
  file: string,
): void {
  const seen: Array<[string, { host: string; port: number }]> = [];
  for (const [setting, addr] of Object.entries(listeners)) {
    if (addr === undefined) continue;
    const a = splitHostPort(addr);
    if (a.port === 0) continue;
    const clash = seen.find(
      ([, b]) => b.port === a.port && (b.host === a.host || isWildcard(a.host) || isWildcard(b.host)),
    );
    if (clash)
      throw new ConfigError(
        `${where}: setting "${setting}" (${addr}) uses the port of "${clash[0]}" (${listeners[clash[0]]}); give each listener its own port`,
        setting,
        file,
      );
    seen.push([setting, a]);
  }
}

/** "0.0.0.0", "::", "[::]": every interface, an address to listen on and never one to dial. */
function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "";
}

/** Splits "host:port" (IPv6 in brackets) into its parts. */
/** Whether a listen host is the machine itself (plain HTTP is allowed only there). */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  return h === "localhost" || h === "::1" || /^127\.\d+\.\d+\.\d+$/.test(h);
}

export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  return { host: addr.slice(0, i).replace(/^\[|\]$/g, ""), port: Number(addr.slice(i + 1)) };
}
