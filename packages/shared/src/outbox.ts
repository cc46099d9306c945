import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Database } from "./db.js";
import type { Logger } from "./log.js";

/** A cross-node message as stored before it is sent. */
export interface OutboxMessage {
  seq: number;
  messageId: string;
  destination: string;
  kind: string;
  payload: Uint8Array;
  attempts: number;
}

/** An undelivered message as an operator sees it (no payload). */
export interface OutboxRow {
  messageId: string;
  destination: string;
  kind: string;
  attempts: number;
  createdAt: Date;
  /** Undefined: due now. */
  nextAttemptAt: Date | undefined;
  lastError: string | undefined;
  /** Set aside (a dead letter) since. */
  deadAt: Date | undefined;
  sizeBytes: number;
}

interface RawOutboxRow {
  message_id: string;
  destination: string;
  kind: string;
  attempts: number;
  created_at: string;
  next_attempt_at: number;
  last_error: string | null;
  dead_at: string | null;
  size: number;
}

function toOutboxRow(r: RawOutboxRow): OutboxRow {
  return {
    messageId: r.message_id,
    destination: r.destination,
    kind: r.kind,
    attempts: r.attempts,
    createdAt: new Date(r.created_at),
    nextAttemptAt: r.next_attempt_at > 0 ? new Date(r.next_attempt_at) : undefined,
    lastError: r.last_error ?? undefined,
    deadAt: r.dead_at ? new Date(r.dead_at) : undefined,
    sizeBytes: r.size,
  };
}

/** A queued message as its row holds it. */
interface QueuedRow {
  seq: number;
  message_id: string;
  destination: string;
  kind: string;
  payload: Buffer;
  attempts: number;
  next_attempt_at: number;
}

const QUEUED_COLUMNS = "seq, message_id, destination, kind, payload, attempts, next_attempt_at";

function toMessage(row: QueuedRow): OutboxMessage {
  return {
    seq: row.seq,
    messageId: row.message_id,
    destination: row.destination,
    kind: row.kind,
    payload: new Uint8Array(row.payload),
    attempts: row.attempts,
  };
}

/**
 * The transactional outbox: a message is written in the same transaction as
 * the change that causes it, and a worker delivers it afterwards, retrying
 * until the receiver acknowledges. Receivers apply by `messageId`, so a
 * retry after a lost acknowledgement is harmless.
 */
export class Outbox {
  readonly #db: Database;
  readonly #listeners = new Set<(destination: string) => void>();

  constructor(db: Database) {
    this.#db = db;
  }

  /** Stores a message for `destination`. Call inside the transaction that makes the change. */
  enqueue(destination: string, kind: string, payload: Uint8Array, messageId: string = randomUUID()): string {
    this.#db.sqlite
      .prepare(
        `INSERT INTO outbox (message_id, destination, kind, payload, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, 0) ON CONFLICT (message_id) DO NOTHING`,
      )
      .run(messageId, destination, kind, Buffer.from(payload), new Date().toISOString());
    queueMicrotask(() => {
      for (const l of this.#listeners) l(destination);
    });
    return messageId;
  }

  /** The oldest undelivered message for a destination, if it is due. Order per destination is kept. */
  nextDue(destination: string, now = Date.now()): OutboxMessage | { waitMs: number } | undefined {
    const row = this.#db.sqlite
      .prepare(
        `SELECT ${QUEUED_COLUMNS} FROM outbox
         WHERE destination = ? AND delivered_at IS NULL AND dead_at IS NULL ORDER BY seq LIMIT 1`,
      )
      .get(destination) as QueuedRow | undefined;
    if (!row) return undefined;
    if (row.next_attempt_at > now) return { waitMs: row.next_attempt_at - now };
    return toMessage(row);
  }

  /**
   * The due messages that follow `first` (the head of its destination's queue, from nextDue) in
   * order, as long as `take` accepts them: `first` and up to `max - 1` more, for one call that
   * carries them all (BatchSender). Stops at a message that waits out a backoff.
   */
  nextRun(
    first: OutboxMessage,
    max: number,
    take: (kind: string) => boolean,
    now = Date.now(),
  ): OutboxMessage[] {
    const run = [first];
    if (max <= 1) return run;
    const rows = this.#db.sqlite
      .prepare(
        `SELECT ${QUEUED_COLUMNS} FROM outbox
         WHERE destination = ? AND seq > ? AND delivered_at IS NULL AND dead_at IS NULL ORDER BY seq LIMIT ?`,
      )
      .all(first.destination, first.seq, max - 1) as QueuedRow[];
    for (const row of rows) {
      if (row.next_attempt_at > now || !take(row.kind)) break;
      run.push(toMessage(row));
    }
    return run;
  }

  markDelivered(seq: number): void {
    this.markAllDelivered([seq]);
  }

  /** Marks messages delivered in one transaction (one commit for a batch the receiver took). */
  markAllDelivered(seqs: readonly number[]): void {
    const stmt = this.#db.sqlite.prepare(
      "UPDATE outbox SET delivered_at = ?, last_error = NULL WHERE seq = ?",
    );
    const at = new Date().toISOString();
    this.#db.transaction(() => {
      for (const seq of seqs) stmt.run(at, seq);
    });
  }

  /**
   * Schedules the next attempt with capped exponential backoff and jitter.
   * The schedule is stored (not kept in memory, as a retry library would) so
   * that it survives a restart.
   */
  markFailed(seq: number, attempts: number, error: string, now = Date.now()): number {
    const base = Math.min(60_000, 250 * 2 ** Math.min(attempts, 16));
    const delay = Math.round(base / 2 + Math.random() * (base / 2));
    this.#db.sqlite
      .prepare("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, last_error = ? WHERE seq = ?")
      .run(now + delay, error.slice(0, 500), seq);
    return delay;
  }

  /**
   * Sets a message aside for good: its receiver refused it as wrong (not as unreachable) on every
   * attempt. It stays in the table, with its last error, for an operator to look at.
   */
  markDead(seq: number, error: string): void {
    this.#db.sqlite
      .prepare("UPDATE outbox SET attempts = attempts + 1, dead_at = ?, last_error = ? WHERE seq = ?")
      .run(new Date().toISOString(), error.slice(0, 500), seq);
  }

  /** Undelivered messages, oldest first: all of them, or only those set aside. */
  list(opts: { deadOnly?: boolean; limit?: number } = {}): OutboxRow[] {
    const limit = Math.min(Math.max(opts.limit ?? 100, 1), 1000);
    const rows = this.#db.sqlite
      .prepare(
        `SELECT message_id, destination, kind, attempts, created_at, next_attempt_at, last_error, dead_at,
                length(payload) AS size FROM outbox
         WHERE delivered_at IS NULL AND (? = 0 OR dead_at IS NOT NULL) ORDER BY seq LIMIT ?`,
      )
      .all(opts.deadOnly ? 1 : 0, limit) as RawOutboxRow[];
    return rows.map(toOutboxRow);
  }

  /**
   * Puts a message back in its queue to be tried now: one set aside, or one waiting out its
   * backoff. Undefined when no undelivered message has that id.
   */
  retry(messageId: string): OutboxRow | undefined {
    const info = this.#db.sqlite
      .prepare(
        "UPDATE outbox SET dead_at = NULL, attempts = 0, next_attempt_at = 0 WHERE message_id = ? AND delivered_at IS NULL",
      )
      .run(messageId);
    if (info.changes === 0) return undefined;
    const row = this.#db.sqlite
      .prepare(
        `SELECT message_id, destination, kind, attempts, created_at, next_attempt_at, last_error, dead_at,
                length(payload) AS size FROM outbox WHERE message_id = ?`,
      )
      .get(messageId) as RawOutboxRow;
    queueMicrotask(() => {
      for (const l of this.#listeners) l(row.destination);
    });
    return toOutboxRow(row);
  }

  /** Messages set aside by markDead. */
  deadCount(): number {
    return (
      this.#db.sqlite.prepare("SELECT count(*) AS n FROM outbox WHERE dead_at IS NOT NULL").get() as {
        n: number;
      }
    ).n;
  }

  pendingCount(destination?: string): number {
    const row = (
      destination
        ? this.#db.sqlite
            .prepare(
              "SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL AND destination = ?",
            )
            .get(destination)
        : this.#db.sqlite
            .prepare("SELECT count(*) AS n FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL")
            .get()
    ) as { n: number };
    return row.n;
  }

  /**
   * Puts messages of `kinds` delivered to `destination` at or after `since` back in its queue, to
   * be delivered again in their order (for a node restored from a backup). Returns how many.
   */
  requeueDelivered(destination: string, kinds: string[], since: Date): number {
    const info = this.#db.sqlite
      .prepare(
        `UPDATE outbox SET delivered_at = NULL, attempts = 0, next_attempt_at = 0, last_error = NULL
         WHERE destination = ? AND delivered_at >= ? AND kind IN (SELECT value FROM json_each(?))`,
      )
      .run(destination, since.toISOString(), JSON.stringify(kinds));
    if (info.changes > 0) {
      queueMicrotask(() => {
        for (const l of this.#listeners) l(destination);
      });
    }
    return info.changes;
  }

  /** Undelivered messages (set aside or not) by destination: the depth of each queue. */
  depthByDestination(): Map<string, { pending: number; dead: number }> {
    const rows = this.#db.sqlite
      .prepare(
        `SELECT destination, sum(dead_at IS NULL) AS pending, sum(dead_at IS NOT NULL) AS dead
         FROM outbox WHERE delivered_at IS NULL GROUP BY destination`,
      )
      .all() as Array<{ destination: string; pending: number; dead: number }>;
    return new Map(rows.map((r) => [r.destination, { pending: r.pending, dead: r.dead }]));
  }

  onEnqueue(fn: (destination: string) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }
}

/**
 * Sends several consecutive messages of one destination in one call (ILL's DeliverBatch). `send`
 * resolves with how many of them, from the first, the receiver has stored (at least one; those
 * after are sent again in the next call), or throws as a one-message send would for the first.
 */
export interface BatchSender {
  /** The kinds that may travel together; a message of another kind goes alone through `send`. */
  accepts: (kind: string) => boolean;
  /** The most messages in one call. */
  max: number;
  send: (msgs: OutboxMessage[]) => Promise<number>;
}

export interface OutboxWorkerOptions {
  outbox: Outbox;
  destination: string;
  /** Delivers one message; resolves when the receiver has acknowledged it. */
  send: (msg: OutboxMessage) => Promise<void>;
  log: Logger;
  signal: AbortSignal;
  /** Called after each delivery (for waiters). */
  onDelivered?: (msg: OutboxMessage) => void;
  /** Delivers runs of queued messages of these kinds in one call each (order kept). */
  batch?: BatchSender;
}

/**
 * Attempts after which a message that the receiver refuses as wrong is set aside. Not at once:
 * "unknown destination" or "not allowed" can be the directory not having reached that node yet.
 */
export const DEAD_AFTER_REFUSALS = 12;

const REFUSALS = new Set([
  Code.InvalidArgument,
  Code.PermissionDenied,
  Code.NotFound,
  Code.FailedPrecondition,
  // A ledger posting whose entry id the receiver holds with other contents.
  Code.AlreadyExists,
  // A copy whose bytes arrive other than announced (document delivery): one cut transfer is
  // retried and goes through; a file that arrives corrupt every time is set aside.
  Code.DataLoss,
]);

/** The receiver answered and said no (as opposed to: could not be reached, timed out, failed). */
function isRefusal(err: unknown): boolean {
  return err instanceof ConnectError && REFUSALS.has(err.code);
}

/** Delivers a destination's messages in order until `signal` aborts. */
export async function runOutboxWorker(opts: OutboxWorkerOptions): Promise<void> {
  const { outbox, destination, signal, log } = opts;
  let wake: (() => void) | undefined;
  const off = outbox.onEnqueue((d) => {
    if (d === destination) wake?.();
  });
  // One abort listener per sleep, removed when the sleep ends either way (added and never
  // removed, they piled up on a long-lived signal: MaxListenersExceededWarning).
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  try {
    while (!signal.aborted) {
      const next = outbox.nextDue(destination);
      if (!next) {
        await sleep(30_000);
        continue;
      }
      if ("waitMs" in next) {
        await sleep(next.waitMs);
        continue;
      }
      try {
        const batch = opts.batch;
        if (batch?.accepts(next.kind)) {
          // Everything queued behind it goes in the same call; what arrives meanwhile, in the next.
          const run = outbox.nextRun(next, batch.max, batch.accepts);
          const stored = await batch.send(run);
          if (!(stored >= 1 && stored <= run.length))
            throw new Error(`batch sender reported ${stored} of ${run.length} messages stored`);
          const done = run.slice(0, stored);
          outbox.markAllDelivered(done.map((m) => m.seq));
          for (const m of done) opts.onDelivered?.(m);
          continue;
        }
        await opts.send(next);
        outbox.markDelivered(next.seq);
        opts.onDelivered?.(next);
      } catch (err) {
        if (signal.aborted) break;
        if (isRefusal(err) && next.attempts + 1 >= DEAD_AFTER_REFUSALS) {
          outbox.markDead(next.seq, (err as Error).message);
          log.error(
            { err: (err as Error).message, kind: next.kind, messageId: next.messageId, destination },
            `message refused ${DEAD_AFTER_REFUSALS} times: set aside so the messages behind it can go`,
          );
          continue;
        }
        const delay = outbox.markFailed(next.seq, next.attempts, (err as Error).message);
        log.warn(
          {
            err: (err as Error).message,
            kind: next.kind,
            messageId: next.messageId,
            destination,
            retryInMs: delay,
          },
          "delivery failed; will retry",
        );
      }
    }
  } finally {
    off();
  }
}
