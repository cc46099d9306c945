// Delivering the relay's outbox to the tier below: one outbox worker per "child:<id>" destination,
// each calling that node's IllService.Deliver.
import type { DescService } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { Database } from "../../db.js";
import { IllService } from "../../gen/lrs/v1/ill_service_pb.js";
import { envelopeFromOutbox } from "../../iso18626/envelope.js";
import { DELIVER_TIMEOUT_MS } from "../../iso18626/parent-senders.js";
import type { Logger } from "../../log.js";
import { type Outbox, type OutboxMessage, runOutboxWorker } from "../../outbox.js";
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

/** The "child:" destinations that still have undelivered messages. */
export function pendingChildDestinations(db: Database): string[] {
  return (
    db.sqlite
      .prepare(
        "SELECT DISTINCT destination FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND substr(destination, 1, ?) = ?",
      )
      .all(CHILD_PREFIX.length, CHILD_PREFIX) as Array<{ destination: string }>
  ).map((r) => r.destination);
}

/**
 * Runs the outbox workers of the tier below until `signal` aborts, and resolves once they have all
 * stopped. A worker starts for every destination with messages waiting at start-up and, later,
 * when a message is stored for a destination that has none yet; it then keeps running (idle
 * workers cost a timer), so the order of one destination's messages is always kept.
 */
export async function runChildDelivery(o: ChildDeliveryOptions, signal: AbortSignal): Promise<void> {
  const running = new Map<string, Promise<void>>();
  const timeoutMs = o.timeoutMs ?? DELIVER_TIMEOUT_MS;
  const start = (destination: string) => {
    if (!destination.startsWith(CHILD_PREFIX) || running.has(destination) || signal.aborted) return;
    const id = destination.slice(CHILD_PREFIX.length);
    const log = o.log.child({ peer: id });
    const worker = runOutboxWorker({
      outbox: o.outbox,
      destination,
      log,
      signal,
      send: async (msg) => {
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
    }).catch((err: unknown) => {
      // The worker only throws on a bug (a database closed under it); the others keep going.
      log.error({ err }, "ILL delivery worker stopped");
    });
    running.set(destination, worker);
  };
  const off = o.outbox.onEnqueue(start);
  try {
    for (const d of pendingChildDestinations(o.db)) start(d);
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
  } finally {
    off();
  }
  await Promise.allSettled(running.values());
}
