// Backup and restore of a node: everything it needs to come back on this or another machine.
//
// A backup is one gzipped tar archive:
//   lrs-backup.json   what it is: format, node id and tier, LRS version, when, schema versions,
//                     and the SHA-256 of every file in it
//   node.db           a consistent copy of the database, made with SQLite's online backup while
//                     the node serves (better-sqlite3 `db.backup()`: pages copied in steps, restarted
//                     when a write lands meanwhile, so the copy is one committed state)
//   identity/         the node's key, certificate and the federation CA certificate
//   ca/               at the national center: the federation CA (its key as stored: encrypt the
//                     archive or keep it offline)
//   copies/           delivered copies waiting for their borrower (members, centers relaying)
//   config.toml       the node's configuration file
//
// Restoring puts them back, after checking the archive (checksums, `PRAGMA integrity_check`, the
// node id and tier against the config), and marks the node as restored: its first catalog push is
// a full resync, because the tier above has applied changes the restored change log no longer has
// (and the positions after the backup would be reused by other changes).
import { createHash } from "node:crypto";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import * as tar from "tar";
import { RESYNC_META_KEY } from "../catalog-sync/pusher.js";
import type { NodeConfig } from "../config.js";
import { tierName } from "../tls/pki.js";
import { databasePath, LRS_VERSION } from "./base-node.js";
import { REDELIVER_META_KEY } from "./redelivery.js";

export const BACKUP_FORMAT = "lrs-backup/1";
const MANIFEST = "lrs-backup.json";
/** Directories of the data directory a backup carries besides the database. */
const DATA_DIRS = ["identity", "ca", "copies"];

export interface BackupManifest {
  format: string;
  nodeId: string;
  tier: string;
  region: string;
  lrsVersion: string;
  createdAt: string;
  /** When the database copy started: what the node received after it is not in the backup. */
  snapshotAt: string;
  /** Schema versions applied to the database copy. */
  schemaVersions: number[];
  /** SHA-256 (hex) of every file in the archive but this manifest, by path. */
  files: Record<string, string>;
}

export class BackupError extends Error {
  override readonly name = "BackupError";
}

function sha256(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

function filesUnder(root: string, dir = root): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(root, p));
    else out.push(relative(root, p));
  }
  return out;
}

/** Makes a backup archive of the node at `output` while it may be serving. */
export async function backupNode(cfg: NodeConfig, output: string): Promise<BackupManifest> {
  const db = databasePath(cfg);
  if (!existsSync(db)) throw new BackupError(`no database at ${db}: nothing to back up`);
  const work = mkdtempSync(join(dirname(resolve(output)), ".lrs-backup-"));
  try {
    const source = new BetterSqlite3(db, { fileMustExist: true });
    let schemaVersions: number[];
    const snapshotAt = new Date().toISOString();
    try {
      source.pragma("busy_timeout = 5000");
      await source.backup(join(work, "node.db"));
    } finally {
      source.close();
    }
    // One self-contained file: the copy leaves WAL mode (a node puts it back when it opens it).
    const copy = new BetterSqlite3(join(work, "node.db"));
    try {
      copy.pragma("journal_mode = DELETE");
      schemaVersions = (
        copy.prepare("SELECT version FROM schema_migrations ORDER BY version").all() as Array<{
          version: number;
        }>
      ).map((r) => r.version);
    } finally {
      copy.close();
    }
    for (const d of DATA_DIRS) {
      const from = join(cfg.dataDir, d);
      if (existsSync(from)) cpSync(from, join(work, d), { recursive: true });
    }
    // Files being written (a key made for a renewal in progress, a copy arriving) are not state.
    for (const f of filesUnder(work)) if (/\.(pending|tmp|new|part)$/.test(f)) rmSync(join(work, f));
    cpSync(cfg.source, join(work, "config.toml"));
    const files: Record<string, string> = {};
    for (const f of filesUnder(work).sort()) files[f] = sha256(join(work, f));
    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      nodeId: cfg.id,
      tier: tierName(cfg.tier),
      region: cfg.region,
      lrsVersion: LRS_VERSION,
      createdAt: new Date().toISOString(),
      snapshotAt,
      schemaVersions,
      files,
    };
    writeFileSync(join(work, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
    const tmp = `${resolve(output)}.tmp`;
    await tar.create({ gzip: true, file: tmp, cwd: work, portable: true }, [MANIFEST, ...Object.keys(files)]);
    renameSync(tmp, resolve(output));
    return manifest;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Reads and checks an archive into a fresh directory beside the data directory; returns it. */
async function unpackChecked(
  cfg: NodeConfig,
  input: string,
): Promise<{ dir: string; manifest: BackupManifest }> {
  if (!existsSync(input)) throw new BackupError(`no backup at ${input}`);
  const parent = dirname(resolve(cfg.dataDir));
  mkdirSync(parent, { recursive: true });
  const dir = mkdtempSync(join(parent, ".lrs-restore-"));
  try {
    try {
      await tar.extract({ file: input, cwd: dir, strict: true });
    } catch (err) {
      throw new BackupError(`${input} is not a readable backup archive: ${(err as Error).message}`);
    }
    const mpath = join(dir, MANIFEST);
    if (!existsSync(mpath)) throw new BackupError(`${input} has no ${MANIFEST}: not an LRS backup`);
    const manifest = JSON.parse(readFileSync(mpath, "utf8")) as BackupManifest;
    if (manifest.format !== BACKUP_FORMAT)
      throw new BackupError(
        `${input} is in format "${manifest.format}", this program reads "${BACKUP_FORMAT}"`,
      );
    if (manifest.nodeId !== cfg.id || manifest.tier !== tierName(cfg.tier)) {
      throw new BackupError(
        `${input} is a backup of ${manifest.tier} ${manifest.nodeId}, but ${cfg.source} configures ${tierName(cfg.tier)} ${cfg.id}`,
      );
    }
    const present = new Set(filesUnder(dir).filter((f) => f !== MANIFEST));
    for (const [f, hash] of Object.entries(manifest.files)) {
      if (!present.has(f)) throw new BackupError(`${input}: ${f} is listed but missing`);
      if (sha256(join(dir, f)) !== hash) throw new BackupError(`${input}: ${f} does not match its checksum`);
      present.delete(f);
    }
    if (present.size > 0) throw new BackupError(`${input}: unlisted files ${[...present].join(", ")}`);
    for (const f of ["node.db", "identity/key.pem", "identity/cert.pem", "identity/ca.pem"])
      if (!manifest.files[f]) throw new BackupError(`${input} lacks ${f}`);
    const db = new BetterSqlite3(join(dir, "node.db"), { readonly: true });
    try {
      const check = db.pragma("integrity_check", { simple: true });
      if (check !== "ok")
        throw new BackupError(`${input}: the database fails its integrity check: ${String(check)}`);
    } finally {
      db.close();
    }
    return { dir, manifest };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Puts a backup in place of the node's data. The node must be stopped (`running` says whether it
 * answers); existing data is replaced only with `force`, and is kept beside as `<dataDir>.before-restore-<time>`.
 */
export async function restoreNode(
  cfg: NodeConfig,
  input: string,
  o: { force: boolean; running: boolean },
): Promise<{ manifest: BackupManifest; keptAt?: string }> {
  if (o.running && !o.force) {
    throw new BackupError(
      `${cfg.id} is running (it answers at its address): stop it before restoring, or use --force`,
    );
  }
  const hasData = existsSync(databasePath(cfg)) || existsSync(join(cfg.dataDir, "identity"));
  if (hasData && !o.force) {
    throw new BackupError(
      `${cfg.dataDir} already holds a node's data; use --force to replace it (it is kept beside the restored one)`,
    );
  }
  const { dir, manifest } = await unpackChecked(cfg, input);
  try {
    markRestored(join(dir, "node.db"), new Date(manifest.snapshotAt));
    rmSync(join(dir, MANIFEST));
    rmSync(join(dir, "config.toml"));
    let keptAt: string | undefined;
    if (existsSync(cfg.dataDir)) {
      keptAt = `${resolve(cfg.dataDir)}.before-restore-${new Date().toISOString().replace(/[:.]/g, "-")}`;
      renameSync(cfg.dataDir, keptAt);
    }
    renameSync(dir, cfg.dataDir);
    return { manifest, ...(keptAt ? { keptAt } : {}) };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/** Clocks of two nodes may differ by this much: what is asked again starts this much earlier. */
const REDELIVERY_MARGIN_MS = 5 * 60_000;

/**
 * A restored node's first catalog push is a full resync: the tier above applied changes after the
 * backup that the restored change log does not have, and new changes would reuse their positions
 * (written as the key the sync pusher reads: catalog-sync/pusher.ts). And when it starts it asks
 * its parent to deliver again the ILL envelopes delivered since the backup (node/redelivery.ts).
 */
function markRestored(dbPath: string, snapshotAt: Date): void {
  const db = new BetterSqlite3(dbPath);
  try {
    db.prepare(
      "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(REDELIVER_META_KEY, new Date(snapshotAt.getTime() - REDELIVERY_MARGIN_MS).toISOString());
    db.prepare(
      "INSERT INTO node_meta (key, value) VALUES (?, '1') ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(RESYNC_META_KEY);
    db.prepare(
      "INSERT INTO node_meta (key, value) VALUES ('restored_at', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    ).run(new Date().toISOString());
  } finally {
    db.close();
  }
}
