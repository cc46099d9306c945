import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import BetterSqlite3 from "better-sqlite3";

/** A numbered schema change. Migrations run once each, in order, inside a transaction. */
export interface Migration {
  version: number;
  name: string;
  up: string | ((db: BetterSqlite3.Database) => void);
}

export type Sqlite = BetterSqlite3.Database;

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

  /** Opens (creating if needed) the database at `path` (or `:memory:`) and migrates it. */
  static open(path: string, migrations: Migration[]): Database {
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
    const db = new Database(sqlite);
    db.migrate(migrations);
    return db;
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
