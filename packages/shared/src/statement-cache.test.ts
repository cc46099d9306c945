import BetterSqlite3 from "better-sqlite3";
import { beforeEach, describe, expect, it } from "vitest";
import { cacheStatements } from "./statement-cache.js";

let db: BetterSqlite3.Database;
let compiled: string[];

beforeEach(() => {
  db = new BetterSqlite3(":memory:");
  db.exec(
    "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')",
  );
  // Count what reaches better-sqlite3's own compiler.
  compiled = [];
  const real = db.prepare.bind(db);
  Object.defineProperty(db, "prepare", {
    value: (sql: string) => {
      compiled.push(sql);
      return real(sql);
    },
    configurable: true,
    writable: true,
  });
  cacheStatements(db, 2);
});

describe("cacheStatements", () => {
  it("compiles each SQL text once", () => {
    for (let i = 0; i < 5; i++)
      expect(db.prepare("SELECT name FROM t WHERE id = ?").get(2)).toEqual({ name: "b" });
    expect(compiled).toEqual(["SELECT name FROM t WHERE id = ?"]);
  });

  it("gives each caller its own result mode and integer handling", () => {
    const plucked = db.prepare("SELECT id FROM t WHERE id = ?").pluck();
    const rows = db.prepare("SELECT id FROM t WHERE id = ?");
    const raw = db.prepare("SELECT id FROM t WHERE id = ?").raw();
    const big = db.prepare("SELECT id FROM t WHERE id = ?").safeIntegers();
    expect(plucked.get(1)).toBe(1);
    expect(rows.get(1)).toEqual({ id: 1 });
    expect(raw.get(1)).toEqual([1]);
    expect(big.get(1)).toEqual({ id: 1n });
    expect(plucked.all(1)).toEqual([1]);
    expect(rows.pluck(false).get(3)).toEqual({ id: 3 });
    expect(compiled).toHaveLength(1);
  });

  it("runs the same SQL inside an open iterator over it (a statement of its own)", () => {
    const names: string[] = [];
    for (const r of db.prepare("SELECT id FROM t ORDER BY id").iterate() as Iterable<{ id: number }>) {
      names.push(String(db.prepare("SELECT id FROM t ORDER BY id").pluck().all().length));
      names.push(db.prepare("SELECT name FROM t WHERE id = ?").pluck().get(r.id) as string);
    }
    expect(names).toEqual(["3", "a", "3", "b", "3", "c"]);
  });

  it("throws for SQL that does not compile when it is prepared, as before", () => {
    expect(() => db.prepare("SELEC 1")).toThrow(/syntax error/);
  });

  it("refuses a result mode on a statement that returns no data, as better-sqlite3 does", () => {
    expect(() => db.prepare("DELETE FROM t WHERE id = 0").pluck()).toThrow(TypeError);
    expect(db.prepare("DELETE FROM t WHERE id = ?").run(3).changes).toBe(1);
  });

  it("keeps the most recently used texts and compiles an evicted one again", () => {
    db.prepare("SELECT 1").get();
    db.prepare("SELECT 2").get();
    db.prepare("SELECT 1").get();
    db.prepare("SELECT 3").get(); // evicts SELECT 2, the least recently used
    db.prepare("SELECT 1").get();
    db.prepare("SELECT 2").get();
    expect(compiled).toEqual(["SELECT 1", "SELECT 2", "SELECT 3", "SELECT 2"]);
  });

  it("binds parameters to a statement of its own", () => {
    const two = db.prepare("SELECT name FROM t WHERE id = ?").pluck().bind(2);
    expect(two.get()).toBe("b");
    expect(db.prepare("SELECT name FROM t WHERE id = ?").pluck().get(1)).toBe("a");
  });
});
