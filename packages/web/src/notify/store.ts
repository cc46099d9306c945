// Staff notifications in the node's database: who wants which events where (e-mail, webhook; each
// event or a daily digest), the deliveries queued with their tries, the events waiting for the
// digest, and the cursor over the node's events. The cursor moves in the transaction that queues
// what it read, so an event is queued once, and a queued delivery survives a restart.
import { randomBytes } from "node:crypto";
import type { Database } from "@lrs/shared";
import { isLoopback } from "@lrs/shared";
import { AccountError } from "../store/accounts.js";
import {
  CHANNELS,
  type Channel,
  isNotifyKind,
  NOTIFY_KINDS,
  type NotifyEvent,
  type NotifyKind,
} from "./events.js";

export type Mode = "each" | "digest";
export type DeliveryStatus = "pending" | "sent" | "failed";
/** What a delivery carries: one event, the digest of a day's, or a test message. */
export type DeliveryKind = NotifyKind | "digest" | "test";

export interface NotifySettings {
  email: string;
  webhookUrl: string;
  /** The HMAC key of the user's webhook (shown to the user, who sets it in the receiver). */
  webhookSecret: string;
  mode: Mode;
  subscriptions: Array<{ kind: NotifyKind; channel: Channel }>;
}

export interface Delivery {
  id: number;
  user: string;
  channel: Channel;
  target: string;
  kind: DeliveryKind;
  requestId: string | null;
  events: NotifyEvent[];
  status: DeliveryStatus;
  attempts: number;
  nextAt: string;
  lastError: string | null;
  createdAt: string;
  sentAt: string | null;
}

interface DeliveryRow {
  id: number;
  user_name: string;
  channel: Channel;
  target: string;
  kind: DeliveryKind;
  request_id: string | null;
  events: string;
  status: DeliveryStatus;
  attempts: number;
  next_at: number;
  last_error: string | null;
  created_at: number;
  sent_at: number | null;
}

const EMAIL = /^[^\s@<>()",;]+@[^\s@<>()",;]+\.[^\s@<>()",;]+$/;
const CURSOR_KEY = "cursor";
const DIGEST_KEY = "last_digest_day";

/** Why a webhook address is refused, or undefined: https, or plain http to this machine only. */
export function webhookUrlProblem(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `"${url}" is not a URL`;
  }
  if (u.protocol === "https:") return undefined;
  if (u.protocol === "http:" && isLoopback(u.hostname)) return undefined;
  return `the webhook must be https (plain http only to this machine), not ${u.protocol}//${u.host}`;
}

function toDelivery(r: DeliveryRow): Delivery {
  const iso = (ms: number) => new Date(ms).toISOString();
  return {
    id: r.id,
    user: r.user_name,
    channel: r.channel,
    target: r.target,
    kind: r.kind,
    requestId: r.request_id,
    events: JSON.parse(r.events) as NotifyEvent[],
    status: r.status,
    attempts: r.attempts,
    nextAt: iso(r.next_at),
    lastError: r.last_error,
    createdAt: iso(r.created_at),
    sentAt: r.sent_at === null ? null : iso(r.sent_at),
  };
}

export class NotifyStore {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  #sql(text: string) {
    return this.db.sqlite.prepare(text);
  }

  settings(user: string): NotifySettings {
    const t = this.#sql("SELECT * FROM web_notify_targets WHERE user_name = ?").get(user) as
      | { email: string | null; webhook_url: string | null; webhook_secret: string | null; mode: Mode }
      | undefined;
    const subs = this.#sql(
      "SELECT kind, channel FROM web_notify_subscriptions WHERE user_name = ? ORDER BY kind, channel",
    ).all(user) as Array<{ kind: NotifyKind; channel: Channel }>;
    return {
      email: t?.email ?? "",
      webhookUrl: t?.webhook_url ?? "",
      webhookSecret: t?.webhook_secret ?? "",
      mode: t?.mode ?? "each",
      subscriptions: subs,
    };
  }

  /** Replaces a user's settings; a webhook gets a secret the first time (kept until rotated). */
  save(
    user: string,
    s: {
      email: string;
      webhookUrl: string;
      mode: string;
      subscriptions: Array<{ kind: string; channel: string }>;
    },
    opts: { rotateSecret?: boolean } = {},
  ): NotifySettings {
    const email = s.email.trim();
    const webhookUrl = s.webhookUrl.trim();
    if (email && !EMAIL.test(email)) throw new AccountError("email", `"${email}" is not an e-mail address`);
    if (webhookUrl) {
      const problem = webhookUrlProblem(webhookUrl);
      if (problem) throw new AccountError("webhookUrl", problem);
    }
    if (s.mode !== "each" && s.mode !== "digest")
      throw new AccountError("mode", `"mode" must be each or digest, not "${s.mode}"`);
    for (const sub of s.subscriptions) {
      if (!isNotifyKind(sub.kind))
        throw new AccountError("subscriptions", `no event "${sub.kind}" (one of ${NOTIFY_KINDS.join(", ")})`);
      if (!(CHANNELS as readonly string[]).includes(sub.channel))
        throw new AccountError("subscriptions", `no channel "${sub.channel}" (email or webhook)`);
      if (sub.channel === "email" && !email)
        throw new AccountError("email", `"${sub.kind}" by e-mail needs an e-mail address`);
      if (sub.channel === "webhook" && !webhookUrl)
        throw new AccountError("webhookUrl", `"${sub.kind}" by webhook needs a webhook address`);
    }
    return this.db.transaction(() => {
      if (!this.#sql("SELECT 1 FROM web_users WHERE name = ?").get(user))
        throw new AccountError("name", `no user "${user}"`);
      const old = this.settings(user);
      const secret = !webhookUrl
        ? null
        : old.webhookSecret && !opts.rotateSecret
          ? old.webhookSecret
          : randomBytes(32).toString("base64url");
      this.#sql(
        `INSERT INTO web_notify_targets (user_name, email, webhook_url, webhook_secret, mode) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (user_name) DO UPDATE SET email = excluded.email, webhook_url = excluded.webhook_url,
           webhook_secret = excluded.webhook_secret, mode = excluded.mode`,
      ).run(user, email || null, webhookUrl || null, secret, s.mode);
      this.#sql("DELETE FROM web_notify_subscriptions WHERE user_name = ?").run(user);
      const add = this.#sql(
        "INSERT OR IGNORE INTO web_notify_subscriptions (user_name, kind, channel) VALUES (?, ?, ?)",
      );
      for (const sub of s.subscriptions) add.run(user, sub.kind, sub.channel);
      return this.settings(user);
    });
  }

  /** Where the last read of the node's events ended ("" before the first). */
  cursor(): string {
    return this.#state(CURSOR_KEY) ?? "";
  }

  #state(key: string): string | undefined {
    return (
      this.#sql("SELECT value FROM web_notify_state WHERE key = ?").get(key) as { value: string } | undefined
    )?.value;
  }

  #setState(key: string, value: string): void {
    this.#sql(
      "INSERT INTO web_notify_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(key, value);
  }

  /**
   * Queues the events for everyone subscribed (a delivery each, or a digest entry) and moves the
   * cursor, in one transaction. Returns how many deliveries and digest entries it made.
   */
  queue(events: NotifyEvent[], cursor: string): { deliveries: number; digest: number } {
    const t = this.now();
    let deliveries = 0;
    let digest = 0;
    this.db.transaction(() => {
      const who = this.#sql(
        `SELECT s.user_name, s.channel, t.mode, t.email, t.webhook_url FROM web_notify_subscriptions s
           JOIN web_notify_targets t ON t.user_name = s.user_name
           JOIN web_users u ON u.name = s.user_name AND u.disabled = 0
         WHERE s.kind = ?`,
      );
      for (const e of events) {
        const rows = who.all(e.kind) as Array<{
          user_name: string;
          channel: Channel;
          mode: Mode;
          email: string | null;
          webhook_url: string | null;
        }>;
        for (const r of rows) {
          const target = r.channel === "email" ? r.email : r.webhook_url;
          if (!target) continue;
          if (r.mode === "digest") {
            this.#sql(
              "INSERT INTO web_notify_digest (user_name, channel, event, at) VALUES (?, ?, ?, ?)",
            ).run(r.user_name, r.channel, JSON.stringify(e), t);
            digest++;
          } else {
            this.#insert(r.user_name, r.channel, target, e.kind, e.requestId, [e]);
            deliveries++;
          }
        }
      }
      this.#setState(CURSOR_KEY, cursor);
    });
    return { deliveries, digest };
  }

  #insert(
    user: string,
    channel: Channel,
    target: string,
    kind: DeliveryKind,
    requestId: string | null,
    events: NotifyEvent[],
  ): number {
    const t = this.now();
    const info = this.#sql(
      `INSERT INTO web_notify_deliveries (user_name, channel, target, kind, request_id, events, status, next_at, created_at)
       VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?)`,
    ).run(user, channel, target, kind, requestId, JSON.stringify(events), t, t);
    return Number(info.lastInsertRowid);
  }

  /** A test message to the user's address on `channel`, queued like any other; returns its id. */
  queueTest(user: string, channel: Channel): number {
    const s = this.settings(user);
    const target = channel === "email" ? s.email : s.webhookUrl;
    if (!target)
      throw new AccountError(
        channel === "email" ? "email" : "webhookUrl",
        `${user} has no ${channel === "email" ? "e-mail address" : "webhook address"} to test`,
      );
    return this.#insert(user, channel, target, "test", null, []);
  }

  /** Digest entries waiting, by user. */
  waiting(user?: string): number {
    return (
      this.#sql("SELECT count(*) AS n FROM web_notify_digest WHERE (? IS NULL OR user_name = ?)").get(
        user ?? null,
        user ?? null,
      ) as { n: number }
    ).n;
  }

  /**
   * Turns the waiting digest entries into one delivery per user and channel (all users, or one);
   * returns the deliveries made. `day` ("YYYY-MM-DD") records that the daily digest went out.
   */
  collectDigests(opts: { user?: string; day?: string } = {}): number[] {
    return this.db.transaction(() => {
      const rows = this.#sql(
        "SELECT * FROM web_notify_digest WHERE (? IS NULL OR user_name = ?) ORDER BY seq",
      ).all(opts.user ?? null, opts.user ?? null) as Array<{
        seq: number;
        user_name: string;
        channel: Channel;
        event: string;
      }>;
      const groups = new Map<string, { user: string; channel: Channel; events: NotifyEvent[] }>();
      for (const r of rows) {
        const key = `${r.user_name}\u0000${r.channel}`;
        const g = groups.get(key) ?? { user: r.user_name, channel: r.channel, events: [] };
        g.events.push(JSON.parse(r.event) as NotifyEvent);
        groups.set(key, g);
      }
      const ids: number[] = [];
      for (const g of groups.values()) {
        const s = this.settings(g.user);
        const target = g.channel === "email" ? s.email : s.webhookUrl;
        if (target) ids.push(this.#insert(g.user, g.channel, target, "digest", null, g.events));
      }
      this.#sql("DELETE FROM web_notify_digest WHERE (? IS NULL OR user_name = ?)").run(
        opts.user ?? null,
        opts.user ?? null,
      );
      if (opts.day) this.#setState(DIGEST_KEY, opts.day);
      return ids;
    });
  }

  /** The day ("YYYY-MM-DD", UTC) the daily digest last went out. */
  lastDigestDay(): string | undefined {
    return this.#state(DIGEST_KEY);
  }

  /** Pending deliveries whose time has come, oldest first. */
  due(limit = 50): Delivery[] {
    return (
      this.#sql(
        "SELECT * FROM web_notify_deliveries WHERE status = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?",
      ).all(this.now(), limit) as DeliveryRow[]
    ).map(toDelivery);
  }

  get(id: number): Delivery | undefined {
    const r = this.#sql("SELECT * FROM web_notify_deliveries WHERE id = ?").get(id) as
      | DeliveryRow
      | undefined;
    return r ? toDelivery(r) : undefined;
  }

  /** The user's webhook secret now (a rotated secret applies to what is still queued). */
  secretOf(user: string): string | undefined {
    return this.settings(user).webhookSecret || undefined;
  }

  sent(id: number): void {
    this.#sql(
      "UPDATE web_notify_deliveries SET status = 'sent', attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?",
    ).run(this.now(), id);
  }

  /**
   * A try failed: tried again after `retryDelayMs`, doubled each time (at most 6 h), or marked
   * failed at the `maxAttempts`th try. Returns the new status.
   */
  tryFailed(id: number, error: string, maxAttempts: number, retryDelayMs: number): DeliveryStatus {
    const d = this.get(id);
    if (!d) return "failed";
    const attempts = d.attempts + 1;
    const status: DeliveryStatus = attempts >= maxAttempts ? "failed" : "pending";
    const wait = Math.min(retryDelayMs * 2 ** (attempts - 1), 6 * 3_600_000);
    this.#sql(
      "UPDATE web_notify_deliveries SET status = ?, attempts = ?, last_error = ?, next_at = ? WHERE id = ?",
    ).run(status, attempts, error.slice(0, 1000), this.now() + wait, id);
    return status;
  }

  /** Deliveries, newest first: all, one user's, or those failing (failed, or pending after a failed try). */
  list(q: { user?: string; failing?: boolean; limit?: number } = {}): Delivery[] {
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    return (
      this.#sql(
        `SELECT * FROM web_notify_deliveries WHERE (? IS NULL OR user_name = ?)
           AND (? = 0 OR status = 'failed' OR (status = 'pending' AND last_error IS NOT NULL))
         ORDER BY id DESC LIMIT ?`,
      ).all(q.user ?? null, q.user ?? null, q.failing ? 1 : 0, limit) as DeliveryRow[]
    ).map(toDelivery);
  }

  /** Tries failed or failing deliveries again now, with their tries counted afresh; returns the ids. */
  retry(q: { id?: number; user?: string } = {}): number[] {
    return this.db.transaction(() => {
      const ids = (
        this.#sql(
          `SELECT id FROM web_notify_deliveries WHERE (status = 'failed' OR (status = 'pending' AND last_error IS NOT NULL))
             AND (? IS NULL OR id = ?) AND (? IS NULL OR user_name = ?)`,
        ).all(q.id ?? null, q.id ?? null, q.user ?? null, q.user ?? null) as Array<{ id: number }>
      ).map((r) => r.id);
      const again = this.#sql(
        "UPDATE web_notify_deliveries SET status = 'pending', attempts = 0, next_at = ? WHERE id = ?",
      );
      for (const id of ids) again.run(this.now(), id);
      return ids;
    });
  }
}
