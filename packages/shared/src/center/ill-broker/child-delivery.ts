// Delivering the relay's outbox to the tier below: one outbox worker per "child:<id>" destination,
// each calling that node's IllService.Deliver.
import type { DescService } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { Database } from "../../db.js";
import { IllService } from "../../gen/lrs/v1/ill_service_pb.js";
import { illBatchSender } from "../../iso18626/deliver-batch.js";
import { envelopeFromOutbox } from "../../iso18626/envelope.js";
import { DELIVER_TIMEOUT_MS } from "../../iso18626/parent-senders.js";
import type { Logger } from "../../log.js";
import { type BatchSender, type Outbox, type OutboxMessage, runOutboxWorker } from "../../outbox.js";
import { CHILD_PREFIX } from "./relay.js";

export interface ChildDeliveryOptions {
  db: Database;
  outbox: Outbox;
  /** Clients by institution id, from the directory (PeerClients). */
  peers: { client<S extends DescService>(service: S, id: string): Client<S> };
  log: Logger;
  /** How long one Deliver may take before the outbox retries it. */
  timeoutMs?: number;
  /**
   * Senders for other kinds of message in the same queues (a copy's file, COPY_KIND): they share a
   * destination's queue with the envelopes, so that their order is kept.
   */
  senders?: Record<string, (msg: OutboxMessage, peerId: string, signal: AbortSignal) => Promise<void>>;
}

/** The destinations starting with `prefix` that still have undelivered messages. */
export function pendingDestinations(db: Database, prefix: string): string[] {
  return (
    db.sqlite
      .prepare(
        "SELECT DISTINCT destination FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND substr(destination, 1, ?) = ?",
      )
      .all(prefix.length, prefix) as Array<{ destination: string }>
  ).map((r) => r.destination);
}

/** The "child:" destinations that still have undelivered messages. */
export function pendingChildDestinations(db: Database): string[] {
  return pendingDestinations(db, CHILD_PREFIX);
}

/**
 * Runs one outbox worker per destination starting with `prefix` until `signal` aborts, and
 * resolves once they have all stopped. A worker starts for every destination with messages
 * waiting at start-up and, later, when a message is stored for a destination that has none yet;
 * it then keeps running (idle workers cost a timer), so the order of one destination's messages
 * is always kept. `send` gets the message and the id after the prefix.
 */
export async function runPrefixWorkers(
  o: { db: Database; outbox: Outbox; log: Logger; prefix: string; logKey: string; what: string },
  send: (msg: OutboxMessage, id: string, log: Logger) => Promise<void>,
  signal: AbortSignal,
  /** Runs of messages that travel in one call, per destination id (see runOutboxWorker). */
  batch?: (id: string) => BatchSender,
): Promise<void> {
  const running = new Map<string, Promise<void>>();
  const start = (destination: string) => {
    if (!destination.startsWith(o.prefix) || running.has(destination) || signal.aborted) return;
    const id = destination.slice(o.prefix.length);
    const log = o.log.child({ [o.logKey]: id });
    const worker = runOutboxWorker({
      outbox: o.outbox,
      destination,
      log,
      signal,
      send: (msg) => send(msg, id, log),
      ...(batch ? { batch: batch(id) } : {}),
    }).catch((err: unknown) => {
      // The worker only throws on a bug (a database closed under it); the others keep going.
      log.error({ err }, `${o.what} worker stopped`);
    });
    running.set(destination, worker);
  };
  const off = o.outbox.onEnqueue(start);
  try {
    for (const d of pendingDestinations(o.db, o.prefix)) start(d);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    off();
  }
  await Promise.allSettled(running.values());
}

/** Runs the outbox workers of the tier below (see runPrefixWorkers). */
export async function runChildDelivery(o: ChildDeliveryOptions, signal: AbortSignal): Promise<void> {
  const timeoutMs = o.timeoutMs ?? DELIVER_TIMEOUT_MS;
  await runPrefixWorkers(
    { db: o.db, outbox: o.outbox, log: o.log, prefix: CHILD_PREFIX, logKey: "peer", what: "ILL delivery" },
    async (msg, id, log) => {
      const other = o.senders?.[msg.kind];
      if (other) {
        await other(msg, id, signal);
        return;
      }
      const envelope = envelopeFromOutbox(msg.kind, msg.payload);
      const res = await o.peers.client(IllService, id).deliver({ envelope }, { timeoutMs, signal });
      log.debug(
        { messageId: msg.messageId, duplicate: res.duplicate, disposition: res.disposition },
        "ILL envelope delivered",
      );
    },
    signal,
    // The envelopes queued for a node go in one DeliverBatch (a kind with a sender of its own, a
    // copy's file, goes alone and keeps its place in the queue).
    (id) =>
      illBatchSender(() => o.peers.client(IllService, id), {
        signal,
        timeoutMs,
        accepts: (kind) => !o.senders?.[kind],
      }),
  );
}
