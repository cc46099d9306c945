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

sharedMigrations.push({
  version: 5,
  name: "traffic figures by node and minute, node health, daily union catalog figures",
  up: `
    -- What one node counted in one minute (this node's own figures and, at a center, those its
    -- tier below reported). version grows with every change at the node that counted; rev is this
    -- node's own change sequence, the position its report to the tier above resumes from.
    CREATE TABLE traffic_blocks (
      node_id TEXT NOT NULL,
      minute INTEGER NOT NULL,              -- minutes since the Unix epoch, UTC
      version INTEGER NOT NULL,
      rev INTEGER NOT NULL,
      updated_at TEXT NOT NULL,
      PRIMARY KEY (node_id, minute)
    ) WITHOUT ROWID;
    CREATE INDEX traffic_blocks_rev ON traffic_blocks (rev);
    CREATE INDEX traffic_blocks_minute ON traffic_blocks (minute);

    -- One figure of a block: calls of one kind and detail from one caller to one callee.
    CREATE TABLE traffic_cells (
      node_id TEXT NOT NULL,
      minute INTEGER NOT NULL,
      kind TEXT NOT NULL,
      detail TEXT NOT NULL,
      caller TEXT NOT NULL,
      callee TEXT NOT NULL,
      count INTEGER NOT NULL,
      errors INTEGER NOT NULL,
      items INTEGER NOT NULL,
      latency_sum_ms REAL NOT NULL,
      latency_max_ms REAL NOT NULL,
      latency TEXT NOT NULL,                -- histogram "bucket:count,…" (traffic/histogram.ts)
      PRIMARY KEY (node_id, minute, kind, detail, caller, callee)
    ) WITHOUT ROWID;
    CREATE INDEX traffic_cells_kind ON traffic_cells (kind, minute);
    CREATE INDEX traffic_cells_minute ON traffic_cells (minute);

    -- What a node last said of itself (sync lag, outbox, ILL requests that need attention), as it
    -- reached this node: directly, or forwarded by its regional center.
    CREATE TABLE traffic_health (
      node_id TEXT PRIMARY KEY,
      data BLOB NOT NULL,                   -- lrs.v1.NodeHealth
      received_at TEXT NOT NULL
    );

    -- A union catalog's size, sampled through the day (centers): the dashboard's per-day figures.
    CREATE TABLE traffic_union_daily (
      day TEXT PRIMARY KEY,                 -- YYYY-MM-DD, UTC
      records INTEGER NOT NULL,
      clusters INTEGER NOT NULL,
      merges INTEGER NOT NULL,
      downloads INTEGER NOT NULL,
      first_records INTEGER NOT NULL,       -- at the day's first sample
      first_merges INTEGER NOT NULL,
      first_downloads INTEGER NOT NULL,
      sampled_at TEXT NOT NULL
    );
  `,
});
