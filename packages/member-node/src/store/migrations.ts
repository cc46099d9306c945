import type { Migration } from "@lrs/shared";

/** The member node's own tables (from version 100; 1–99 are shared). */
export const memberMigrations: Migration[] = [
  {
    version: 100,
    name: "local catalog: records, items, change log, full-text index",
    up: `
      -- One row per bibliographic record. record_id is the record's own control number (see
      -- recordIdOf in catalog.ts); id is only the rowid shared with catalog_fts.
      CREATE TABLE catalog_records (
        id INTEGER PRIMARY KEY,
        record_id TEXT NOT NULL UNIQUE,
        marc BLOB NOT NULL,              -- ISO 2709, UTF-8
        digest TEXT NOT NULL,            -- SHA-256 of marc and holdings: an identical re-import is a no-op
        title TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        pub_year TEXT NOT NULL DEFAULT '',
        isbns TEXT NOT NULL DEFAULT '',  -- ISBN-13s, space-separated
        issns TEXT NOT NULL DEFAULT '',  -- ISSNs (1234-5679), space-separated
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );

      -- Items (copies). A barcode names one item in the whole catalog.
      CREATE TABLE catalog_items (
        barcode TEXT PRIMARY KEY,
        record_id TEXT NOT NULL REFERENCES catalog_records (record_id) ON DELETE CASCADE,
        position INTEGER NOT NULL,       -- order within the record, as imported
        call_number TEXT NOT NULL DEFAULT '',
        location TEXT NOT NULL DEFAULT '',
        status TEXT NOT NULL DEFAULT '',
        loan_rule TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX catalog_items_record ON catalog_items (record_id, position);

      -- The transactional outbox of catalog sync: one entry per change, written in the same
      -- transaction as the change. Entries name the record; its state is read when it is sent.
      CREATE TABLE catalog_changes (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        record_id TEXT NOT NULL,
        op TEXT NOT NULL CHECK (op IN ('upsert', 'delete')),
        changed_at TEXT NOT NULL
      );
      CREATE INDEX catalog_changes_record ON catalog_changes (record_id, seq);

      -- Contentless: the text is derived from the stored MARC and never read back. Documents are
      -- pre-tokenised by toFtsDocument (normalised, CJK as bigrams), so unicode61 must not fold
      -- diacritics a second time.
      CREATE VIRTUAL TABLE catalog_fts USING fts5 (
        title, author, subject, isbn, issn, publisher, year, any,
        content = '',
        contentless_delete = 1,
        tokenize = 'unicode61 remove_diacritics 0'
      );
    `,
  },
  {
    version: 101,
    name: "local catalog: items carry their due date",
    up: `
      -- When an item on loan is due back: an ISO calendar date (YYYY-MM-DD), NULL when not on loan
      -- or not known.
      ALTER TABLE catalog_items ADD COLUMN due_date TEXT;
    `,
  },
];
