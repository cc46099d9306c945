import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Database, type Migration, SchemaTooNewError } from "./db.js";

const V1: Migration = { version: 1, name: "items", up: "CREATE TABLE items (id INTEGER PRIMARY KEY)" };
const V2: Migration = { version: 2, name: "items.barcode", up: "ALTER TABLE items ADD COLUMN barcode TEXT" };
const V3: Migration = { version: 3, name: "loans", up: "CREATE TABLE loans (id INTEGER PRIMARY KEY)" };

describe("migrations", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const path = () => {
    dir = mkdtempSync(join(tmpdir(), "lrs-db-"));
    return join(dir, "node.db");
  };

  it("plans without changing the database, then applies what is pending", () => {
    const p = path();
    expect(Database.plan(p, [V1, V2]).pending).toEqual([
      { version: 1, name: "items" },
      { version: 2, name: "items.barcode" },
    ]);
    Database.open(p, [V1]).close();
    const plan = Database.plan(p, [V1, V2, V3]);
    expect(plan.applied.map((a) => a.version)).toEqual([1]);
    expect(plan.pending.map((m) => m.version)).toEqual([2, 3]);
    // The dry run changed nothing.
    expect(Database.plan(p, [V1, V2, V3]).pending.map((m) => m.version)).toEqual([2, 3]);
    Database.open(p, [V1, V2, V3]).close();
    expect(Database.plan(p, [V1, V2, V3]).pending).toEqual([]);
  });

  it("refuses a database migrated by a newer program, naming the versions", () => {
    const p = path();
    Database.open(p, [V1, V2, V3]).close();
    const expected =
      /was migrated by a newer LRS: it has schema versions 2 \(items\.barcode\), 3 \(loans\) that this program \(schema up to version 1\) does not know/;
    expect(() => Database.open(p, [V1])).toThrow(SchemaTooNewError);
    expect(() => Database.open(p, [V1])).toThrow(expected);
    expect(() => Database.plan(p, [V1])).toThrow(expected);
    // Refused before anything was written: the newer program still opens it.
    Database.open(p, [V1, V2, V3]).close();
  });
});
