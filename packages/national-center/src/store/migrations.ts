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
  {
    // The ledger (settlement): postings by entry id, their double-entry lines, and each settled
    // period's statements. Versions 110–119 are the ledger's.
    version: 110,
    name: "ledger and settlement",
    up: `
      CREATE TABLE ledger_postings (
        entry_id TEXT PRIMARY KEY,
        transaction_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        payer_id TEXT NOT NULL,
        payee_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        posted_at TEXT NOT NULL,
        period TEXT NOT NULL,
        reverses_entry_id TEXT,
        note TEXT NOT NULL,
        received_from TEXT NOT NULL,
        received_at TEXT NOT NULL,
        -- The period it is counted in: its own, or the first open one after it when its own was
        -- settled before it arrived. NULL while it is held (a reversal waiting for its original).
        effective_period TEXT,
        held_reason TEXT
      );
      CREATE INDEX ledger_postings_effective ON ledger_postings (effective_period, period);
      CREATE INDEX ledger_postings_reverses ON ledger_postings (reverses_entry_id)
        WHERE reverses_entry_id IS NOT NULL;
      CREATE INDEX ledger_postings_held ON ledger_postings (period) WHERE effective_period IS NULL;
      -- Two lines per booked posting, one per side: amount > 0 a credit, < 0 a debit. role is the
      -- institution's part in the posting (or, for a reversal, in the posting it reverses):
      -- 0 payer, 1 payee. Keyed so that a period's statements are one ordered walk of the key.
      CREATE TABLE ledger_lines (
        period TEXT NOT NULL,
        institution_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        counterparty_id TEXT NOT NULL,
        role INTEGER NOT NULL CHECK (role IN (0, 1)),
        entry_id TEXT NOT NULL REFERENCES ledger_postings (entry_id),
        amount_minor INTEGER NOT NULL CHECK (amount_minor <> 0),
        PRIMARY KEY (period, institution_id, currency, counterparty_id, role, entry_id)
      ) WITHOUT ROWID;
      -- The region of every institution in the ledger, as the directory had it at its first posting.
      CREATE TABLE ledger_institutions (id TEXT PRIMARY KEY, region TEXT NOT NULL) WITHOUT ROWID;
      CREATE TABLE ledger_settlements (
        period TEXT PRIMARY KEY,
        settled_at TEXT NOT NULL,
        digest TEXT NOT NULL,
        entries INTEGER NOT NULL
      );
      CREATE TABLE ledger_settled_statements (
        period TEXT NOT NULL REFERENCES ledger_settlements (period),
        institution_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        region TEXT NOT NULL,
        total_payable_minor INTEGER NOT NULL,
        total_receivable_minor INTEGER NOT NULL,
        net_minor INTEGER NOT NULL,
        PRIMARY KEY (period, institution_id, currency)
      ) WITHOUT ROWID;
      CREATE TABLE ledger_settled_lines (
        period TEXT NOT NULL,
        institution_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        counterparty_id TEXT NOT NULL,
        counterparty_region TEXT NOT NULL,
        payable_minor INTEGER NOT NULL,
        receivable_minor INTEGER NOT NULL,
        net_minor INTEGER NOT NULL,
        entries INTEGER NOT NULL,
        PRIMARY KEY (period, institution_id, currency, counterparty_id)
      ) WITHOUT ROWID;
      CREATE TABLE ledger_settled_regions (
        period TEXT NOT NULL,
        region TEXT NOT NULL,
        currency TEXT NOT NULL,
        net_minor INTEGER NOT NULL,
        PRIMARY KEY (period, region, currency)
      ) WITHOUT ROWID;
    `,
  },
  {
    // External ILL partners (ISO 18626 gateway): the directory entry, and the secret LRS gives
    // the partner, which stays here and is never replicated.
    version: 120,
    name: "external partners",
    up: `
      CREATE TABLE external_partners (
        id TEXT PRIMARY KEY,
        data BLOB NOT NULL,
        outbound_secret TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
      ) WITHOUT ROWID;
    `,
  },
];
