// One harvest at a time per member: `lrs-member harvest` (its own process) and the node's
// scheduled harvest share the database, and two harvests of one source would both write pages and
// move its resumption token. The lock is a row in node_meta taken in an IMMEDIATE transaction, so
// two processes cannot both take it; it names who holds it, and is renewed with every page. A
// lock left by a process that died (same host, no such pid) or not renewed for a while is taken over.
import { hostname } from "node:os";
import type { Database } from "@lrs/shared";

const KEY = "harvest_lock";
/** A holder that has not renewed for this long is gone (a page, retries included, takes far less). */
export const HARVEST_LOCK_STALE_MS = 15 * 60_000;

export interface HarvestLockHolder {
  /** "lrs-member harvest" or "scheduled". */
  readonly by: string;
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly renewedAt: string;
}

/** Another harvest holds the lock. */
export class HarvestBusyError extends Error {
  override readonly name = "HarvestBusyError";
  constructor(readonly holder: HarvestLockHolder) {
    super(
      `another harvest is running (${holder.by}, pid ${holder.pid} on ${holder.host}, since ${holder.since}); try again when it has finished`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

function read(db: Database): HarvestLockHolder | undefined {
  const row = db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(KEY) as
    | { value: string }
    | undefined;
  if (!row) return undefined;
  try {
    return JSON.parse(row.value) as HarvestLockHolder;
  } catch {
    return undefined;
  }
}

function write(db: Database, h: HarvestLockHolder): void {
  db.sqlite
    .prepare(
      "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .run(KEY, JSON.stringify(h));
}

export class HarvestLock {
  readonly #db: Database;
  readonly #me: HarvestLockHolder;
  readonly #now: () => Date;

  private constructor(db: Database, me: HarvestLockHolder, now: () => Date) {
    this.#db = db;
    this.#me = me;
    this.#now = now;
  }

  /**
   * Takes the lock for `by`.
   *
   * @throws HarvestBusyError when a live harvest holds it
   */
  static acquire(db: Database, by: string, now: () => Date = () => new Date()): HarvestLock {
    const at = now().toISOString();
    const me: HarvestLockHolder = { by, pid: process.pid, host: hostname(), since: at, renewedAt: at };
    db.transaction(() => {
      const held = read(db);
      if (held && !HarvestLock.#gone(held, now())) throw new HarvestBusyError(held);
      write(db, me);
    });
    return new HarvestLock(db, me, now);
  }

  static #gone(h: HarvestLockHolder, now: Date): boolean {
    if (h.host === hostname() && !alive(h.pid)) return true;
    return now.getTime() - Date.parse(h.renewedAt) > HARVEST_LOCK_STALE_MS;
  }

  /** Who holds the lock now, if anyone. */
  static holder(db: Database): HarvestLockHolder | undefined {
    return read(db);
  }

  /** Still ours: a page was written. */
  renew(): void {
    this.#db.transaction(() => {
      const held = read(this.#db);
      if (held?.pid === this.#me.pid && held.since === this.#me.since)
        write(this.#db, { ...this.#me, renewedAt: this.#now().toISOString() });
    });
  }

  release(): void {
    this.#db.transaction(() => {
      const held = read(this.#db);
      if (held?.pid === this.#me.pid && held.since === this.#me.since)
        this.#db.sqlite.prepare("DELETE FROM node_meta WHERE key = ?").run(KEY);
    });
  }
}
