import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { cacheStatements } from "./statement-cache.js";

/** A numbered schema change. Migrations run once each, in order, inside a transaction. */
export interface Migration {
  version: number;
  name: string;
  up: string | ((db: BetterSqlite3.Database) => void);
}

export type Sqlite = BetterSqlite3.Database;

/** What `migrate --dry-run` shows: what a database holds against what this program knows. */
export interface MigrationPlan {
  applied: Array<{ version: number; name: string; appliedAt: string }>;
  pending: Array<{ version: number; name: string }>;
  /** Applied by another (newer) program: this one must not touch the database. */
  unknown: Array<{ version: number; name: string }>;
}

/** The database was migrated by a newer LRS than this one. */
export class SchemaTooNewError extends Error {
  override readonly name = "SchemaTooNewError";
}

function plan(sqlite: Sqlite, migrations: Migration[]): MigrationPlan {
  const hasTable = sqlite
    .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
    .get();
  const applied = hasTable
    ? (sqlite
        .prepare("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        .all() as Array<{
        version: number;
        name: string;
        applied_at: string;
      }>)
    : [];
  const known = new Set(migrations.map((m) => m.version));
  const done = new Set(applied.map((a) => a.version));
  return {
    applied: applied.map((a) => ({ version: a.version, name: a.name, appliedAt: a.applied_at })),
    pending: [...migrations]
      .sort((a, b) => a.version - b.version)
      .filter((m) => !done.has(m.version))
      .map((m) => ({ version: m.version, name: m.name })),
    unknown: applied.filter((a) => !known.has(a.version)).map((a) => ({ version: a.version, name: a.name })),
  };
}

function refuseNewer(path: string, p: MigrationPlan, migrations: Migration[]): void {
  if (p.unknown.length === 0) return;
  const newest = Math.max(0, ...migrations.map((m) => m.version));
  throw new SchemaTooNewError(
    `the database ${path} was migrated by a newer LRS: it has schema version${p.unknown.length > 1 ? "s" : ""} ${p.unknown
      .map((u) => `${u.version} (${u.name})`)
      .join(
        ", ",
      )} that this program (schema up to version ${newest}) does not know; run the newer program, or restore a backup made for this one`,
  );
}

/**
 * The one better-sqlite3 wrapper: pragmas in one place, numbered migrations,
 * `transaction(fn)`. Every node has exactly one of these.
 */
export class Database {
  readonly sqlite: Sqlite;
  #closed = false;

  private constructor(sqlite: Sqlite) {
    this.sqlite = sqlite;
  }

  /**
   * Opens (creating if needed) the database at `path` (or `:memory:`) and migrates it. With
   * `complete` (a node and its CLI: `migrations` is every migration of the program), a database
   * holding a migration not among them was made by a newer program and is refused untouched; a
   * tool that opens a node's database with part of its migrations leaves it out.
   */
  static open(path: string, migrations: Migration[], o: { complete?: boolean } = {}): Database {
    if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
    const sqlite = new BetterSqlite3(path);
    sqlite.pragma("journal_mode = WAL");
    // FULL, not WAL's usual NORMAL: a node acknowledges a cross-node message (an ILL hop, a sync
    // batch) once its transaction commits, and the sender then forgets it; with NORMAL the last
    // commits before a power failure could be lost after the acknowledgement. Cost measured with
    // bench/ill.mjs: 8.0 → 7.3 loan lifecycles/s (BENCHMARKS.md).
    sqlite.pragma("synchronous = FULL");
    sqlite.pragma("foreign_keys = ON");
    sqlite.pragma("busy_timeout = 5000");
    // 64 MiB of page cache (the default is 2 MiB): catalogs and their full-text indexes run to
    // gigabytes, and imports slowed as the index outgrew the default (bench/import.mjs).
    sqlite.pragma("cache_size = -65536");
    cacheStatements(sqlite);
    const db = new Database(sqlite);
    try {
      if (o.complete) refuseNewer(path, plan(sqlite, migrations), migrations);
      db.migrate(migrations);
    } catch (err) {
      sqlite.close();
      throw err;
    }
    return db;
  }

  /**
   * What migrating the database at `path` would do, without changing it (read-only; a database
   * that does not exist yet has every migration pending). Refuses one newer than `migrations`.
   */
  static plan(path: string, migrations: Migration[]): MigrationPlan {
    if (!existsSync(path)) {
      const pending = [...migrations].sort((a, b) => a.version - b.version);
      return {
        applied: [],
        pending: pending.map((m) => ({ version: m.version, name: m.name })),
        unknown: [],
      };
    }
    const sqlite = new BetterSqlite3(path, { readonly: true, fileMustExist: true });
    try {
      const p = plan(sqlite, migrations);
      refuseNewer(path, p, migrations);
      return p;
    } finally {
      sqlite.close();
    }
  }

  private migrate(migrations: Migration[]): void {
    this.sqlite.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)",
    );
    const seen = new Set<number>();
    for (const m of migrations) {
      if (seen.has(m.version)) throw new Error(`migration version ${m.version} appears twice`);
      seen.add(m.version);
    }
    const applied = new Set(
      this.sqlite
        .prepare("SELECT version FROM schema_migrations")
        .all()
        .map((r) => (r as { version: number }).version),
    );
    const sorted = [...migrations].sort((a, b) => a.version - b.version);
    for (const m of sorted) {
      if (applied.has(m.version)) continue;
      this.transaction(() => {
        if (typeof m.up === "string") this.sqlite.exec(m.up);
        else m.up(this.sqlite);
        this.sqlite
          .prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .run(m.version, m.name, new Date().toISOString());
      });
    }
  }

  /** Runs `fn` in one IMMEDIATE transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.sqlite.transaction(fn).immediate();
  }

  /**
   * Runs `fn` in one transaction whose commit does not wait for the disk (synchronous = NORMAL for
   * it alone): for writes whose loss in a power failure costs only work done again, never an
   * acknowledgement — an outbox's "delivered" marks (the messages are sent again and the receiver,
   * which applies by message id, answers duplicate). The next ordinary commit makes it durable
   * with itself. Inside another transaction it is a savepoint of that one (committed as that is).
   */
  transactionUnsynced<T>(fn: () => T): T {
    if (this.sqlite.inTransaction) return this.transaction(fn);
    this.sqlite.pragma("synchronous = NORMAL");
    try {
      return this.transaction(fn);
    } finally {
      this.sqlite.pragma("synchronous = FULL");
    }
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Closes the database; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.sqlite.close();
  }
}
