import type { Migration } from "./db.js";

/**
 * Tables every node has. Shared migrations use versions 1–99; each tier's
 * own migrations start at 100 so the two lists never collide.
 */
export const sharedMigrations: Migration[] = [
  {
    version: 1,
    name: "node meta, directory replica, outbox",
    up: `
      CREATE TABLE node_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE directory_replica (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        data BLOB NOT NULL,
        received_at TEXT NOT NULL
      );
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        message_id TEXT NOT NULL UNIQUE,
        destination TEXT NOT NULL,
        kind TEXT NOT NULL,
        payload BLOB NOT NULL,
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        last_error TEXT,
        delivered_at TEXT
      );
      CREATE INDEX outbox_due ON outbox (destination, delivered_at, seq);
    `,
  },
];

sharedMigrations.push({
  version: 2,
  name: "enrollment tokens",
  up: `
    CREATE TABLE enrollment_tokens (
      token_id TEXT PRIMARY KEY,
      secret_hash TEXT NOT NULL,
      institution_id TEXT NOT NULL,
      tier INTEGER NOT NULL,
      region TEXT NOT NULL,
      created_at TEXT NOT NULL,
      expires_at TEXT NOT NULL,
      used_at TEXT,
      used_by_fingerprint TEXT
    );
  `,
});

sharedMigrations.push({
  version: 3,
  name: "catalog sync positions",
  up: `
    -- Receiving side: how far each sender's change log has been applied here.
    CREATE TABLE sync_sources (
      source_id TEXT PRIMARY KEY,
      acked_seq INTEGER NOT NULL DEFAULT 0,
      head_seq INTEGER NOT NULL DEFAULT 0,
      resync_epoch INTEGER NOT NULL DEFAULT 0,
      resyncing INTEGER NOT NULL DEFAULT 0,
      resyncs INTEGER NOT NULL DEFAULT 0,
      last_sync_at TEXT
    );
  `,
});

sharedMigrations.push({
  version: 4,
  name: "outbox dead letters",
  up: `
    -- A message its receiver keeps refusing as wrong (not as unreachable) is set aside after a
    -- number of attempts, so that it no longer holds up the messages behind it.
    ALTER TABLE outbox ADD COLUMN dead_at TEXT;
  `,
});
