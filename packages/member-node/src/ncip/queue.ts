// The durable queue of NCIP calls: a transition that should reach the ILS writes its call here in
// its own transaction, as a message goes into the outbox, so the ILL flow never waits for the ILS
// and nothing is lost when the node stops or the ILS is down. A request's calls are sent in the
// order they were made; one that keeps failing for a reason that may pass is tried again later,
// waiting longer each time, until it succeeds or has used its tries.
import type { Database, NcipMessageName } from "@lrs/shared";

export type NcipTaskState = "pending" | "done" | "failed";

export interface NcipTask {
  readonly id: number;
  readonly requestId: string;
  readonly service: NcipMessageName;
  readonly state: NcipTaskState;
  /** Tries so far. */
  readonly attempts: number;
  readonly dueAt: Date;
  readonly lastError: string | undefined;
  readonly createdAt: Date;
  readonly finishedAt: Date | undefined;
}

interface Row {
  id: number;
  request_id: string;
  service: string;
  state: NcipTaskState;
  attempts: number;
  due_at: string;
  last_error: string | null;
  created_at: string;
  finished_at: string | null;
}

const toTask = (r: Row): NcipTask => ({
  id: r.id,
  requestId: r.request_id,
  service: r.service as NcipMessageName,
  state: r.state,
  attempts: r.attempts,
  dueAt: new Date(r.due_at),
  lastError: r.last_error ?? undefined,
  createdAt: new Date(r.created_at),
  finishedAt: r.finished_at ? new Date(r.finished_at) : undefined,
});

/** The item a request uses at the ILS (see ncip_items). */
export interface NcipItem {
  readonly barcode: string;
  readonly ilsItemId: string | undefined;
}

export class NcipQueue {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Queues a call, due now. Call inside the transaction of the transition that asks for it. */
  enqueue(requestId: string, service: NcipMessageName, now: Date): void {
    const at = now.toISOString();
    this.#db.sqlite
      .prepare("INSERT INTO ncip_tasks (request_id, service, due_at, created_at) VALUES (?, ?, ?, ?)")
      .run(requestId, service, at, at);
  }

  /** Pending calls due by `now`, oldest first, each the first pending call of its request. */
  due(now: Date, limit = 50): NcipTask[] {
    const rows = this.#db.sqlite
      .prepare(
        `SELECT * FROM ncip_tasks t WHERE t.state = 'pending' AND t.due_at <= ?
           AND NOT EXISTS (SELECT 1 FROM ncip_tasks e WHERE e.request_id = t.request_id
                           AND e.state = 'pending' AND e.id < t.id)
         ORDER BY t.due_at, t.id LIMIT ?`,
      )
      .all(now.toISOString(), limit) as Row[];
    return rows.map(toTask);
  }

  /** Every call of a request, in order. */
  forRequest(requestId: string): NcipTask[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM ncip_tasks WHERE request_id = ? ORDER BY id")
      .all(requestId) as Row[];
    return rows.map(toTask);
  }

  /** Calls that failed for good or are waiting for another try, oldest first. */
  unfinished(): NcipTask[] {
    const rows = this.#db.sqlite
      .prepare(
        "SELECT * FROM ncip_tasks WHERE state = 'failed' OR (state = 'pending' AND attempts > 0) ORDER BY id",
      )
      .all() as Row[];
    return rows.map(toTask);
  }

  succeeded(id: number, now: Date): void {
    this.#db.sqlite
      .prepare(
        "UPDATE ncip_tasks SET state = 'done', attempts = attempts + 1, finished_at = ?, last_error = NULL WHERE id = ?",
      )
      .run(now.toISOString(), id);
  }

  /** One more failed try; it is tried again at `dueAt`. */
  retryAt(id: number, dueAt: Date, error: string): void {
    this.#db.sqlite
      .prepare("UPDATE ncip_tasks SET attempts = attempts + 1, due_at = ?, last_error = ? WHERE id = ?")
      .run(dueAt.toISOString(), error, id);
  }

  /** Failed for good: staff do it in the ILS by hand, or ask for it again (retry). */
  failed(id: number, now: Date, error: string): void {
    this.#db.sqlite
      .prepare(
        "UPDATE ncip_tasks SET state = 'failed', attempts = attempts + 1, finished_at = ?, last_error = ? WHERE id = ?",
      )
      .run(now.toISOString(), error, id);
  }

  /** Staff ask again: a request's failed calls, and those waiting, are due now with fresh tries. */
  retry(requestId: string, now: Date): number {
    return this.#db.sqlite
      .prepare(
        `UPDATE ncip_tasks SET state = 'pending', attempts = 0, due_at = ?, finished_at = NULL
         WHERE request_id = ? AND state != 'done'`,
      )
      .run(now.toISOString(), requestId).changes;
  }

  item(requestId: string): NcipItem | undefined {
    const row = this.#db.sqlite
      .prepare("SELECT barcode, ils_item_id FROM ncip_items WHERE request_id = ?")
      .get(requestId) as { barcode: string; ils_item_id: string | null } | undefined;
    return row ? { barcode: row.barcode, ilsItemId: row.ils_item_id ?? undefined } : undefined;
  }

  setItem(requestId: string, barcode: string, ilsItemId?: string): void {
    this.#db.sqlite
      .prepare(
        `INSERT INTO ncip_items (request_id, barcode, ils_item_id) VALUES (?, ?, ?)
         ON CONFLICT (request_id) DO UPDATE SET barcode = excluded.barcode, ils_item_id = excluded.ils_item_id`,
      )
      .run(requestId, barcode, ilsItemId ?? null);
  }
}
