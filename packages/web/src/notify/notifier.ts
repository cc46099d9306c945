// The notifier: every [notifications] interval it reads the node's new events (from its cursor),
// queues them for the staff who subscribed, turns the day's digest entries into one message per
// person at digest_time, and sends what is due — retried with a doubling wait, failures kept.
import type { NotificationsConfig } from "@lrs/shared";
import type { Logger } from "pino";
import type { Language } from "../messages/languages.js";
import type { NotifyEventSource } from "./events.js";
import { emailOf, type NodeRef, webhookBodyOf } from "./message.js";
import type { Sender } from "./send.js";
import type { Delivery, DeliveryStatus, NotifyStore } from "./store.js";

const READ_BATCH = 200;

export interface NotifierOptions {
  store: NotifyStore;
  /** The node's events; absent: nothing is queued but tests and what is queued already. */
  source?: NotifyEventSource;
  sender: Sender;
  cfg: NotificationsConfig;
  node: NodeRef;
  /** The language a user chose in the web application (else [notifications] default_language). */
  languageOf: (user: string) => Language | undefined;
  /** The web application's address (links in messages). */
  baseUrl: () => string;
  log: Logger;
  now?: () => Date;
}

export class Notifier {
  #timer: NodeJS.Timeout | undefined;
  /** The turns, one after another; `#pending` counts those not finished. */
  #chain: Promise<void> = Promise.resolve();
  #pending = 0;
  readonly #now: () => Date;

  constructor(private readonly o: NotifierOptions) {
    this.#now = o.now ?? (() => new Date());
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#pending === 0) void this.tick();
    }, this.o.cfg.interval);
    void this.tick();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#chain;
    this.o.sender.close();
  }

  /** One turn after any under way: read and queue, the daily digest, then send what is due. */
  tick(): Promise<void> {
    this.#pending++;
    this.#chain = this.#chain.then(() => this.#turn()).finally(() => this.#pending--);
    return this.#chain;
  }

  async #turn(): Promise<void> {
    try {
      this.#read();
      this.#dailyDigest();
      for (const d of this.o.store.due()) await this.deliver(d);
    } catch (err) {
      this.o.log.error({ err }, "notifications: a turn failed");
    }
  }

  #read(): void {
    const source = this.o.source;
    if (!source) return;
    for (;;) {
      const { events, cursor } = source.read(this.o.store.cursor(), READ_BATCH);
      if (events.length === 0 && cursor === this.o.store.cursor()) return;
      const queued = this.o.store.queue(events, cursor);
      if (queued.deliveries + queued.digest > 0)
        this.o.log.info({ events: events.length, ...queued }, "notifications queued");
      if (events.length < READ_BATCH) return;
    }
  }

  #dailyDigest(): void {
    const now = this.#now();
    const day = now.toISOString().slice(0, 10);
    const [h, m] = this.o.cfg.digest_time.split(":").map(Number) as [number, number];
    if (now.getUTCHours() * 60 + now.getUTCMinutes() < h * 60 + m) return;
    if (this.o.store.lastDigestDay() === day) return;
    const ids = this.o.store.collectDigests({ day });
    if (ids.length) this.o.log.info({ deliveries: ids.length }, "notifications: daily digests queued");
  }

  /** Sends one delivery now and records the outcome. */
  async deliver(d: Delivery): Promise<DeliveryStatus> {
    const { store, cfg, node, sender, log } = this.o;
    try {
      const lang = this.o.languageOf(d.user) ?? cfg.default_language;
      if (d.channel === "email") {
        const m = emailOf(d, node, this.o.baseUrl(), lang);
        await sender.sendEmail(d.target, m.subject, m.text);
      } else {
        const secret = store.secretOf(d.user);
        if (!secret) throw new Error(`${d.user} has no webhook secret any more (the webhook was removed)`);
        const body = webhookBodyOf(d, node as NodeRef, this.o.baseUrl(), this.#now(), lang);
        await sender.sendWebhook(d.target, secret, body, {
          "x-lrs-delivery": String(d.id),
          "x-lrs-event": d.kind,
        });
      }
      store.sent(d.id);
      log.info({ delivery: d.id, user: d.user, channel: d.channel, kind: d.kind }, "notification sent");
      return "sent";
    } catch (err) {
      const message = (err as Error).message || String(err);
      const status = store.tryFailed(d.id, message, cfg.attempts, cfg.retry_delay);
      log.warn(
        { delivery: d.id, user: d.user, channel: d.channel, target: d.target, err: message, status },
        status === "failed" ? "notification failed: no more tries" : "notification failed: will try again",
      );
      return status;
    }
  }
}
