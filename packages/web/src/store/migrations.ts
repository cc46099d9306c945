import type { Migration } from "@lrs/shared";

/**
 * The staff web application's tables, in every node's database. Versions 900–999 are the web
 * application's (shared uses 1–99, each tier 100 and up), so the lists never collide.
 */
export const webMigrations: Migration[] = [
  {
    version: 900,
    name: "web: staff accounts, password links, sessions, audit log",
    up: `
      CREATE TABLE web_users (
        name TEXT PRIMARY KEY COLLATE NOCASE,
        role TEXT NOT NULL CHECK (role IN ('admin', 'staff', 'viewer')),
        password_hash TEXT,
        failed_logins INTEGER NOT NULL DEFAULT 0,
        locked_until INTEGER,
        disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        password_set_at TEXT,
        last_login_at TEXT
      );
      CREATE TABLE web_password_links (
        token_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES web_users (name) ON DELETE CASCADE,
        created_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL,
        used_at INTEGER
      );
      CREATE TABLE web_sessions (
        id_hash TEXT PRIMARY KEY,
        user_name TEXT NOT NULL REFERENCES web_users (name) ON DELETE CASCADE,
        csrf TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        last_seen_at INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX web_sessions_user ON web_sessions (user_name);
      CREATE TABLE web_audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        user_name TEXT NOT NULL,
        action TEXT NOT NULL,
        request_id TEXT,
        detail TEXT,
        outcome TEXT NOT NULL,
        remote TEXT
      );
      CREATE INDEX web_audit_request ON web_audit (request_id);
    `,
  },
  {
    version: 910,
    name: "web: staff notifications (subscriptions, queued deliveries, the digest, the event cursor)",
    up: `
      CREATE TABLE web_notify_targets (
        user_name TEXT PRIMARY KEY REFERENCES web_users (name) ON DELETE CASCADE,
        email TEXT,
        webhook_url TEXT,
        webhook_secret TEXT,
        mode TEXT NOT NULL DEFAULT 'each' CHECK (mode IN ('each', 'digest'))
      );
      CREATE TABLE web_notify_subscriptions (
        user_name TEXT NOT NULL REFERENCES web_users (name) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
        PRIMARY KEY (user_name, kind, channel)
      );
      CREATE TABLE web_notify_digest (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        user_name TEXT NOT NULL REFERENCES web_users (name) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        event TEXT NOT NULL,
        at INTEGER NOT NULL
      );
      CREATE TABLE web_notify_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        user_name TEXT NOT NULL,
        channel TEXT NOT NULL CHECK (channel IN ('email', 'webhook')),
        target TEXT NOT NULL,
        kind TEXT NOT NULL,
        request_id TEXT,
        events TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at INTEGER NOT NULL,
        last_error TEXT,
        created_at INTEGER NOT NULL,
        sent_at INTEGER
      );
      CREATE INDEX web_notify_due ON web_notify_deliveries (status, next_at);
      CREATE TABLE web_notify_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `,
  },
  {
    version: 911,
    name: "web: staff accounts made by single sign-on (the provider's issuer and subject)",
    up: `ALTER TABLE web_users ADD COLUMN sso_subject TEXT;`,
  },
  {
    version: 912,
    name: "web: each account's language; a single sign-on session's ID token (to end the provider's session)",
    up: `
      ALTER TABLE web_users ADD COLUMN language TEXT;
      ALTER TABLE web_sessions ADD COLUMN id_token TEXT;
    `,
  },
];
