import type BetterSqlite3 from "better-sqlite3";

type Statement = BetterSqlite3.Statement<unknown[], unknown>;
type Mode = "flat" | "pluck" | "raw" | "expand";

/** One compiled statement shared by every caller of the same SQL, and the modes it is set to now. */
interface Entry {
  stmt: Statement;
  mode: Mode;
  safe: boolean;
}

/**
 * A caller's view of a shared compiled statement: its own result mode and integer handling,
 * applied to the shared statement before each use (only when they differ from what the last
 * caller set), so a caller that plucks never changes what another caller of the same SQL gets.
 * A statement an open iterator still holds is not shared: that call compiles one of its own.
 */
class SharedStatement {
  readonly #entry: Entry;
  readonly #prepare: (sql: string) => Statement;
  #mode: Mode = "flat";
  #safe = false;

  constructor(entry: Entry, prepare: (sql: string) => Statement) {
    this.#entry = entry;
    this.#prepare = prepare;
  }

  get source(): string {
    return this.#entry.stmt.source;
  }
  get reader(): boolean {
    return this.#entry.stmt.reader;
  }
  get readonly(): boolean {
    return this.#entry.stmt.readonly;
  }
  get busy(): boolean {
    return this.#entry.stmt.busy;
  }
  get database(): BetterSqlite3.Database {
    return this.#entry.stmt.database;
  }

  #lease(): Statement {
    const e = this.#entry;
    if (e.stmt.busy) return this.#configure(this.#prepare(e.stmt.source));
    if (e.mode !== this.#mode) {
      setMode(e.stmt, this.#mode);
      e.mode = this.#mode;
    }
    if (e.safe !== this.#safe) {
      e.stmt.safeIntegers(this.#safe);
      e.safe = this.#safe;
    }
    return e.stmt;
  }

  #configure(s: Statement): Statement {
    if (this.#mode !== "flat") setMode(s, this.#mode);
    if (this.#safe) s.safeIntegers(true);
    return s;
  }

  #toggle(mode: Mode, on: boolean): this {
    if (!this.#entry.stmt.reader)
      throw new TypeError(`The ${mode}() method is only for statements that return data`);
    this.#mode = on ? mode : this.#mode === mode ? "flat" : this.#mode;
    return this;
  }

  pluck(on = true): this {
    return this.#toggle("pluck", on);
  }
  raw(on = true): this {
    return this.#toggle("raw", on);
  }
  expand(on = true): this {
    return this.#toggle("expand", on);
  }
  safeIntegers(on = true): this {
    this.#safe = on;
    return this;
  }

  run(...params: unknown[]): BetterSqlite3.RunResult {
    return this.#lease().run(...params);
  }
  get(...params: unknown[]): unknown {
    return this.#lease().get(...params);
  }
  all(...params: unknown[]): unknown[] {
    return this.#lease().all(...params);
  }
  iterate(...params: unknown[]): IterableIterator<unknown> {
    return this.#lease().iterate(...params);
  }
  columns(): BetterSqlite3.ColumnDefinition[] {
    return this.#lease().columns();
  }
  /** Bound parameters stay with a statement for good: a statement of its own. */
  bind(...params: unknown[]): Statement {
    return this.#configure(this.#prepare(this.#entry.stmt.source)).bind(...params);
  }
}

function setMode(s: Statement, mode: Mode): void {
  if (mode === "flat") {
    s.pluck(false).raw(false).expand(false);
  } else s[mode](true);
}

/**
 * Makes `sqlite.prepare` compile each SQL text once and hand out the compiled statement again
 * (the most recently used `max` texts are kept). Measured with `bench/ill.mjs` under a CPU
 * profile: compiling statements was 13% of a member node's busy time (`prepare` is called where
 * a query is run, 319 places), the largest single item; better-sqlite3 has no cache of its own.
 * Callers keep better-sqlite3's whole Statement interface; each gets its own modes (see
 * SharedStatement), and SQL that does not compile still throws at `prepare`.
 */
export function cacheStatements(sqlite: BetterSqlite3.Database, max = 1000): void {
  const compile = sqlite.prepare.bind(sqlite) as (sql: string) => Statement;
  const cache = new Map<string, Entry>();
  const prepare = (sql: string) => {
    let entry = cache.get(sql);
    if (entry) {
      // Most recently used last: the first key is the one to drop.
      cache.delete(sql);
    } else {
      entry = { stmt: compile(sql), mode: "flat", safe: false };
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    }
    cache.set(sql, entry);
    return new SharedStatement(entry, compile) as unknown as Statement;
  };
  Object.defineProperty(sqlite, "prepare", { value: prepare, configurable: true, writable: true });
}
