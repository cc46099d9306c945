import type { Migration } from "@lrs/shared";

export const nationalMigrations: Migration[] = [
  {
    version: 100,
    name: "directory authority",
    up: `
      CREATE TABLE institutions (
        id TEXT PRIMARY KEY,
        tier INTEGER NOT NULL,
        region TEXT NOT NULL,
        data BLOB NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        registered_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE TABLE issued_certificates (
        serial TEXT PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        institution_id TEXT NOT NULL,
        tier INTEGER NOT NULL,
        region TEXT NOT NULL,
        not_after TEXT NOT NULL,
        issued_at TEXT NOT NULL,
        revoked_at TEXT,
        revoke_reason TEXT
      );
      CREATE INDEX issued_certificates_institution ON issued_certificates (institution_id);
    `,
  },
];
