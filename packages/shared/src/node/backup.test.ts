import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tar from "tar";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RESYNC_META_KEY } from "../catalog-sync/pusher.js";
import { loadConfig, type NodeConfig } from "../config.js";
import { Database } from "../db.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { sharedMigrations } from "../migrations.js";
import { backupNode, restoreNode } from "./backup.js";

let dir: string;
let cfg: NodeConfig;

function configFor(id: string, dataDir: string): NodeConfig {
  const file = join(dir, `${id}.toml`);
  writeFileSync(
    file,
    `id = "${id}"\nname = "Library"\nregion = "north"\nlisten = "127.0.0.1:0"\nparent = "127.0.0.1:1"\ndata_dir = "${dataDir}"\n`,
  );
  return loadConfig(Tier.MEMBER, file, {});
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-backup-"));
  cfg = configFor("north-a", join(dir, "data"));
  const db = Database.open(join(cfg.dataDir, "node.db"), sharedMigrations);
  db.sqlite.exec("CREATE TABLE books (title TEXT)");
  db.sqlite.prepare("INSERT INTO books VALUES (?)").run("before the backup");
  db.close();
  mkdirSync(join(cfg.dataDir, "identity"));
  for (const f of ["key.pem", "cert.pem", "ca.pem"])
    writeFileSync(join(cfg.dataDir, "identity", f), `${f}\n`);
  writeFileSync(join(cfg.dataDir, "identity", "key.pem.pending"), "half a renewal\n");
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const titles = (dataDir: string) => {
  const db = Database.open(join(dataDir, "node.db"), sharedMigrations);
  try {
    return (db.sqlite.prepare("SELECT title FROM books").all() as Array<{ title: string }>).map(
      (r) => r.title,
    );
  } finally {
    db.close();
  }
};

describe("backup and restore", () => {
  it("copies the database while it is open and written, with identity and config, and restores it", async () => {
    // The node serving: a connection open with a write after the backup.
    const live = Database.open(join(cfg.dataDir, "node.db"), sharedMigrations);
    const out = join(dir, "b.tar.gz");
    const m = await backupNode(cfg, out);
    live.sqlite.prepare("INSERT INTO books VALUES (?)").run("after the backup");
    live.close();
    expect(Object.keys(m.files).sort()).toEqual([
      "config.toml",
      "identity/ca.pem",
      "identity/cert.pem",
      "identity/key.pem",
      "node.db",
    ]);
    expect(m).toMatchObject({ format: "lrs-backup/1", nodeId: "north-a", tier: "member" });

    await expect(restoreNode(cfg, out, { force: false, running: false })).rejects.toThrow(
      /already holds a node's data; use --force/,
    );
    await expect(restoreNode(cfg, out, { force: false, running: true })).rejects.toThrow(
      /north-a is running/,
    );
    const r = await restoreNode(cfg, out, { force: true, running: false });
    expect(titles(cfg.dataDir)).toEqual(["before the backup"]);
    expect(readFileSync(join(cfg.dataDir, "identity", "key.pem"), "utf8")).toBe("key.pem\n");
    expect(existsSync(join(cfg.dataDir, "identity", "key.pem.pending"))).toBe(false);
    // The replaced data is kept beside, and the restored node resyncs its catalog first.
    expect(titles(r.keptAt!)).toEqual(["before the backup", "after the backup"]);
    const db = Database.open(join(cfg.dataDir, "node.db"), sharedMigrations);
    expect(db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(RESYNC_META_KEY)).toEqual({
      value: "1",
    });
    db.close();
  });

  it("refuses another node's backup and a tampered archive, leaving the data alone", async () => {
    const out = join(dir, "b.tar.gz");
    await backupNode(cfg, out);
    const other = configFor("north-b", join(dir, "data-b"));
    await expect(restoreNode(other, out, { force: true, running: false })).rejects.toThrow(
      /is a backup of member north-a, but .* configures member north-b/,
    );
    // Tamper with one file and pack the archive again.
    const unpacked = join(dir, "x");
    mkdirSync(unpacked);
    await tar.extract({ file: out, cwd: unpacked });
    writeFileSync(join(unpacked, "identity", "cert.pem"), "someone else's\n");
    const bad = join(dir, "bad.tar.gz");
    await tar.create({ gzip: true, file: bad, cwd: unpacked }, readdirSync(unpacked));
    await expect(restoreNode(cfg, bad, { force: true, running: false })).rejects.toThrow(
      /identity\/cert\.pem does not match its checksum/,
    );
    expect(readFileSync(join(cfg.dataDir, "identity", "cert.pem"), "utf8")).toBe("cert.pem\n");
    expect(readdirSync(dir).filter((f) => f.startsWith(".lrs-restore-"))).toEqual([]);
  });
});
