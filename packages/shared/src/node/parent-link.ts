import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { ExponentialBackoff, handleWhen, retry } from "cockatiel";
import type { DirectoryReplica } from "../directory/source.js";
import { type PeerStatus, PeerStatusSchema } from "../gen/lrs/v1/admin_pb.js";
import { DirectoryService, type RegisterRequest, RegisterRequestSchema } from "../gen/lrs/v1/directory_pb.js";
import { IllService, RedeliverRequestSchema } from "../gen/lrs/v1/ill_service_pb.js";
import type { Logger } from "../log.js";
import { type BatchSender, type Outbox, type OutboxMessage, runOutboxWorker } from "../outbox.js";
import { clientFor, createNodeTransport, type NodeTransport } from "../rpc/client.js";
import type { TlsIdentity } from "../tls/identity.js";
import { REDELIVER_KIND } from "./redelivery.js";

/** Outbox destination of every message for the tier above. */
export const PARENT = "parent";

export interface ParentLinkOptions {
  endpoint: string;
  expectId?: string;
  tls: TlsIdentity;
  replica: DirectoryReplica;
  outbox: Outbox;
  log: Logger;
  /** Extra kinds of outbox message this node sends upward, by kind. */
  senders?: Record<string, (msg: OutboxMessage, link: ParentLink) => Promise<void>>;
  /** Kinds whose queued messages go up several in one call (ILL envelopes: illParentBatch). */
  batch?: (link: ParentLink) => BatchSender;
}

/**
 * A node's connection to the tier above: keeps the directory replica current
 * through WatchDirectory, and delivers the outbox (registrations first of all).
 */
export class ParentLink {
  readonly directory: Client<typeof DirectoryService>;
  readonly transport: NodeTransport;
  readonly #opts: ParentLinkOptions;
  readonly #stop = new AbortController();
  #status: PeerStatus;
  #tasks: Promise<void>[] = [];
  readonly #delivered = new Map<string, (version: bigint) => void>();

  constructor(opts: ParentLinkOptions) {
    this.#opts = opts;
    this.transport = createNodeTransport({
      endpoint: opts.endpoint,
      caPem: opts.tls.caPem,
      identity: opts.tls,
      ...(opts.expectId ? { expectId: opts.expectId } : {}),
    });
    this.directory = clientFor(DirectoryService, this.transport);
    this.#status = create(PeerStatusSchema, {
      id: opts.expectId ?? "",
      endpoint: opts.endpoint,
      state: "connecting",
    });
  }

  status(): PeerStatus {
    return this.#status;
  }

  #contact(ok: boolean, err?: unknown): void {
    this.#status.state = ok ? "connected" : "unreachable";
    if (ok) {
      this.#status.lastContact = timestampFromDate(new Date());
      this.#status.lastError = "";
    } else this.#status.lastError = err instanceof Error ? err.message : String(err);
  }

  /** Runs `send`, noting the parent reachable or not. */
  async #contacting<T>(send: () => Promise<T>): Promise<T> {
    try {
      const out = await send();
      this.#contact(true);
      return out;
    } catch (err) {
      this.#contact(false, err);
      throw err;
    }
  }

  start(): void {
    const signal = this.#stop.signal;
    this.#tasks.push(this.#watch(signal));
    const batch = this.#opts.batch?.(this);
    this.#tasks.push(
      runOutboxWorker({
        outbox: this.#opts.outbox,
        destination: PARENT,
        log: this.#opts.log,
        signal,
        send: (msg) => this.#contacting(() => this.#send(msg)),
        ...(batch ? { batch: { ...batch, send: (msgs) => this.#contacting(() => batch.send(msgs)) } } : {}),
      }),
    );
  }

  async #send(msg: OutboxMessage): Promise<void> {
    if (msg.kind === "register") {
      const res = await this.directory.register(fromBinary(RegisterRequestSchema, msg.payload), {
        timeoutMs: 10_000,
      });
      this.#delivered.get(msg.messageId)?.(res.directoryVersion);
      return;
    }
    if (msg.kind === REDELIVER_KIND) {
      const res = await clientFor(IllService, this.transport).redeliver(
        fromBinary(RedeliverRequestSchema, msg.payload),
        { timeoutMs: 30_000 },
      );
      this.#opts.log.info(
        { requeued: res.requeued },
        "the parent delivers again what it delivered since the backup",
      );
      return;
    }
    const sender = this.#opts.senders?.[msg.kind];
    if (!sender) throw new Error(`no sender for outbox message kind "${msg.kind}"`);
    await sender(msg, this);
  }

  /**
   * Stores a registration for the parent (durable before it is sent) and
   * waits up to `waitMs` for the acknowledgement; resolves with the directory
   * version that holds it, or 0 when it is still on its way.
   */
  async register(req: RegisterRequest, waitMs: number): Promise<bigint> {
    const messageId = randomUUID();
    if (waitMs <= 0) {
      this.#opts.outbox.enqueue(PARENT, "register", toBinary(RegisterRequestSchema, req), messageId);
      return 0n;
    }
    const delivered = new Promise<bigint>((resolve) => {
      const t = setTimeout(() => {
        this.#delivered.delete(messageId);
        resolve(0n);
      }, waitMs);
      this.#delivered.set(messageId, (v) => {
        clearTimeout(t);
        this.#delivered.delete(messageId);
        resolve(v);
      });
    });
    this.#opts.outbox.enqueue(PARENT, "register", toBinary(RegisterRequestSchema, req), messageId);
    return delivered;
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const policy = retry(
      handleWhen(() => !signal.aborted),
      {
        maxAttempts: Number.MAX_SAFE_INTEGER,
        backoff: new ExponentialBackoff({ initialDelay: 250, maxDelay: 3_000 }),
      },
    );
    while (!signal.aborted) {
      try {
        await policy.execute(async () => {
          const stream = this.directory.watchDirectory(
            { knownVersion: this.#opts.replica.current().version },
            { signal },
          );
          this.#status.state = "connecting";
          for await (const res of stream) {
            this.#contact(true);
            if (res.directory && this.#opts.replica.apply(res.directory)) {
              this.#opts.log.info({ version: res.directory.version.toString() }, "directory updated");
            }
          }
          // The parent ended the stream (it is shutting down): reconnect through the backoff.
          throw new Error("directory stream ended by the parent");
        }, signal);
      } catch (err) {
        if (signal.aborted) break;
        this.#contact(false, err);
        this.#opts.log.debug({ err: (err as Error).message }, "directory watch interrupted");
      }
    }
  }

  lastContact(): Date | undefined {
    return this.#status.lastContact ? timestampDate(this.#status.lastContact) : undefined;
  }

  /**
   * Drops the connection to the parent after this node renewed its certificate: calls in flight
   * fail and are retried (the outbox, the directory watch) over a new connection with the new one.
   */
  reconnect(): void {
    this.transport.close();
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.allSettled(this.#tasks);
    this.transport.close();
  }
}
