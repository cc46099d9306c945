import type { Migration } from "@lrs/shared";

/** The regional center's own tables (from version 100; 1–99 are shared). */
export const regionalMigrations: Migration[] = [
  {
    version: 110,
    name: "ledger: members' postings on their way to the national center",
    up: `
      -- Every posting a member sent, once by entry id (a retry is answered as a duplicate), stored
      -- in the transaction that also queues it for the national center (outbox message
      -- "ledger:<entry id>").
      CREATE TABLE ledger_relay (
        entry_id TEXT PRIMARY KEY,
        transaction_id TEXT NOT NULL,
        received_from TEXT NOT NULL,      -- the member (always the payer)
        posting BLOB NOT NULL,            -- lrs.v1.LedgerPosting
        received_at TEXT NOT NULL
      );
      CREATE INDEX ledger_relay_transaction ON ledger_relay (transaction_id);
    `,
  },
];
