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
  {
    version: 102,
    name: "interlibrary loan: requests, their timelines, messages seen",
    up: `
      -- One ILL request as this member sees it: as the borrower (requester machine) or as a lender
      -- (supplier machine). Patron names never get here: the patron is the member's opaque id.
      CREATE TABLE ill_requests (
        id TEXT PRIMARY KEY,                  -- this side's id (ISO: ours is the requesting or supplying agency request id)
        role TEXT NOT NULL CHECK (role IN ('borrower', 'lender')),
        state TEXT NOT NULL,
        service_type INTEGER NOT NULL,        -- lrs.v1.ServiceType
        partner TEXT,                         -- the other institution: the current lender, or the borrower
        cluster_id TEXT,
        title_key TEXT NOT NULL DEFAULT '',   -- normalised title, for the duplicate check
        bibliographic_info BLOB NOT NULL,     -- lrs.v1.BibliographicInfo
        patron_id TEXT,                       -- the borrowing member's own patron id (borrower only)
        need_before TEXT,
        note TEXT NOT NULL DEFAULT '',
        rota TEXT NOT NULL DEFAULT '[]',      -- JSON [{agencyId, reason}] (borrower only)
        rota_position INTEGER NOT NULL DEFAULT -1,
        requesting_agency_request_id TEXT,    -- ISO id at the borrower; it carries the rota position
        supplying_agency_request_id TEXT,
        supplier_status INTEGER,              -- the current lender's latest lrs.v1.Status (borrower only)
        due_date TEXT,
        renewals_used INTEGER NOT NULL DEFAULT 0,
        max_renewals INTEGER NOT NULL DEFAULT 0,
        state_before_cancel TEXT,
        duplicate_of TEXT,
        last_transition_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX ill_requests_role_state ON ill_requests (role, state);
      CREATE INDEX ill_requests_patron ON ill_requests (patron_id, created_at) WHERE role = 'borrower';
      -- A lender has one request per borrower's request id: a repeated Request is the same request.
      CREATE UNIQUE INDEX ill_requests_lender_iso ON ill_requests (partner, requesting_agency_request_id)
        WHERE role = 'lender';

      -- Every transition, for the timeline and turnaround per status. from_state is NULL on creation.
      CREATE TABLE ill_transitions (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL REFERENCES ill_requests (id),
        from_state TEXT,
        to_state TEXT NOT NULL,
        event TEXT NOT NULL,
        at TEXT NOT NULL,
        detail TEXT NOT NULL DEFAULT '{}'     -- JSON: message id, effects, messages sent, note
      );
      CREATE INDEX ill_transitions_request ON ill_transitions (request_id, seq);

      -- Messages applied, so that a retry or a duplicate is applied at most once.
      CREATE TABLE ill_messages_seen (
        message_id TEXT PRIMARY KEY,
        request_id TEXT NOT NULL REFERENCES ill_requests (id),
        transition_seq INTEGER NOT NULL REFERENCES ill_transitions (seq),
        received_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 103,
    name: "interlibrary loan: timers, inbox, confirmations, excluded lenders, attention",
    up: `
      -- Durable timers, written in the transaction of the transition whose effects start them. A
      -- request has at most one timer of each kind: response, due, answer, rota.
      CREATE TABLE ill_timers (
        request_id TEXT NOT NULL REFERENCES ill_requests (id),
        kind TEXT NOT NULL,
        due_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,  -- rota retries so far, for the backoff
        PRIMARY KEY (request_id, kind)
      );
      CREATE INDEX ill_timers_due ON ill_timers (due_at);

      -- Every envelope the parent delivered, applied or refused: duplicates are answered from here.
      CREATE TABLE ill_inbox (
        message_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,                   -- request, requesting-agency-message, supplying-agency-message, confirmation
        origin TEXT NOT NULL,                 -- the sending agency
        request_id TEXT,                      -- our request it was for, when known
        received_at TEXT NOT NULL,
        outcome TEXT NOT NULL CHECK (outcome IN ('applied', 'refused')),
        error TEXT,
        confirmation_message_id TEXT          -- the confirmation we sent back
      );
      CREATE INDEX ill_inbox_request ON ill_inbox (request_id, received_at);

      -- Confirmations partners sent for our own messages.
      CREATE TABLE ill_confirmations (
        confirmed_message_id TEXT PRIMARY KEY,
        request_id TEXT,
        ok INTEGER NOT NULL,
        status TEXT NOT NULL,
        received_at TEXT NOT NULL
      );

      ALTER TABLE ill_requests ADD COLUMN excluded TEXT NOT NULL DEFAULT '[]'; -- JSON, like rota
      ALTER TABLE ill_requests ADD COLUMN attention TEXT;     -- what staff should look at, NULL when nothing
      -- Lender side: this member's own record id for the title, from the Request's supplierInfo.
      ALTER TABLE ill_requests ADD COLUMN record_id TEXT;
    `,
  },
  {
    version: 110,
    name: "fees and copyright: a borrowing request's terms, copyright counts, ledger postings",
    up: `
      -- What a borrowing request asks for besides the title: how fast (ISO serviceLevel), the most
      -- it pays ("10.00 EUR"; NULL: no limit), and for a copy the compliance statement it carries
      -- and the year the article appeared (the copyright rule counts recent articles only).
      ALTER TABLE ill_requests ADD COLUMN service_level TEXT NOT NULL DEFAULT '';
      ALTER TABLE ill_requests ADD COLUMN maximum_cost TEXT;
      ALTER TABLE ill_requests ADD COLUMN copyright_compliance TEXT NOT NULL DEFAULT '';
      ALTER TABLE ill_requests ADD COLUMN publication_date TEXT NOT NULL DEFAULT '';

      -- One row per copy the copyright rule counts: this member's copies of recent articles, per
      -- journal and calendar year. pending: validated, about to go out; counted: it went out;
      -- released: it ended cancelled or unfilled and no longer counts. Rows of years older than
      -- the configured keep_years are purged.
      CREATE TABLE copyright_uses (
        request_id TEXT PRIMARY KEY REFERENCES ill_requests (id),
        journal_key TEXT NOT NULL,           -- the ISSN, or "title:<normalised title>"
        issn TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        year INTEGER NOT NULL,               -- calendar year of the request (UTC)
        state TEXT NOT NULL CHECK (state IN ('pending', 'counted', 'released')),
        over_limit INTEGER NOT NULL DEFAULT 0, -- beyond the limit: let go by staff, or with the fee
        fee_currency TEXT,                   -- the copyright fee it carries (over_limit = "fee")
        fee_minor INTEGER,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
      CREATE INDEX copyright_uses_journal ON copyright_uses (journal_key, year, state);
      CREATE INDEX copyright_uses_year ON copyright_uses (year);

      -- The charges this member posted as a borrower, and their reversals, as sent to the regional
      -- center (each also in the outbox, in the same transaction). entry_id is stable: a charge is
      -- posted once however often its cause is replayed.
      CREATE TABLE ledger_postings (
        entry_id TEXT PRIMARY KEY,
        transaction_id TEXT NOT NULL,        -- the borrowing request's id
        kind TEXT NOT NULL CHECK (kind IN ('loan', 'copy', 'copyright', 'reversal')),
        payer_id TEXT NOT NULL,
        payee_id TEXT NOT NULL,
        currency TEXT NOT NULL,
        amount_minor INTEGER NOT NULL CHECK (amount_minor > 0),
        posted_at TEXT NOT NULL,
        period TEXT NOT NULL,                -- "2026-11"
        reverses_entry_id TEXT,
        note TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX ledger_postings_transaction ON ledger_postings (transaction_id);
    `,
  },
  {
    version: 130,
    name: "OAI-PMH harvesting: where the last harvest got to, and the ILS's identifiers",
    up: `
      -- One row per harvested source (base URL, metadata prefix, set). last_datestamp: the
      -- responseDate of the first request of the last harvest that finished (the next one asks
      -- from it). A harvest under way keeps its own start and the token of the next page, written
      -- in the transaction of each page's records: a harvest that fails half-way resumes there.
      CREATE TABLE harvest_sources (
        source TEXT PRIMARY KEY,
        last_datestamp TEXT,
        last_finished_at TEXT,
        run_from TEXT,
        run_started TEXT,
        run_token TEXT,
        run_records INTEGER NOT NULL DEFAULT 0
      );
      -- The ILS's OAI identifier of each record harvested: a deleted record comes with no
      -- metadata, only its identifier.
      CREATE TABLE harvest_identifiers (
        source TEXT NOT NULL,
        identifier TEXT NOT NULL,
        record_id TEXT NOT NULL,
        PRIMARY KEY (source, identifier)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 140,
    name: "Reciprocal borrowing: visit keys, credentials, loans to and of visiting readers",
    up: `
      -- The Ed25519 keys this library signs its readers' credentials with (published in the
      -- directory; the private key never leaves this database).
      CREATE TABLE visit_keys (
        key_id TEXT PRIMARY KEY,
        public_key BLOB NOT NULL,
        private_key BLOB NOT NULL,
        created_at TEXT NOT NULL
      );
      -- A reader's pseudonym: the library's own reference (a patron barcode) stays here; only
      -- reader_id travels.
      CREATE TABLE visit_readers (
        reader_ref TEXT PRIMARY KEY,
        reader_id TEXT NOT NULL UNIQUE
      );
      CREATE TABLE visit_credentials (
        credential_id TEXT PRIMARY KEY,
        reader_id TEXT NOT NULL REFERENCES visit_readers (reader_id),
        token TEXT NOT NULL,
        max_loans INTEGER NOT NULL,
        issued_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        block_reason TEXT,
        blocked_at TEXT
      );
      CREATE INDEX visit_credentials_reader ON visit_credentials (reader_id);
      -- One loan as this library sees it: role 'lent' (its item, to a visiting reader), 'borrowed'
      -- (its reader, at another library), 'shipment' (another library's item returned here, on
      -- its way to the owner).
      CREATE TABLE visit_loans (
        loan_id TEXT NOT NULL,
        role TEXT NOT NULL CHECK (role IN ('lent', 'borrowed', 'shipment')),
        home_agency_id TEXT NOT NULL,
        owner_agency_id TEXT NOT NULL,
        credential_id TEXT NOT NULL DEFAULT '',
        reader_id TEXT NOT NULL DEFAULT '',
        item_barcode TEXT NOT NULL DEFAULT '',
        record_id TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        lent_at TEXT,
        due_at TEXT,
        returned_at TEXT,
        returned_at_agency_id TEXT NOT NULL DEFAULT '',
        shipment_id TEXT NOT NULL DEFAULT '',
        tracking TEXT NOT NULL DEFAULT '',
        received_at TEXT,
        overdue_at TEXT,
        fee_currency TEXT NOT NULL DEFAULT '',
        fee_minor INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (loan_id, role)
      );
      CREATE INDEX visit_loans_open ON visit_loans (role, returned_at);
      CREATE INDEX visit_loans_credential ON visit_loans (credential_id);
      -- Credential checks made here (a visit), by home institution, for the counts.
      CREATE TABLE visit_checks (
        id INTEGER PRIMARY KEY,
        home_agency_id TEXT NOT NULL,
        credential_id TEXT NOT NULL,
        checked_at TEXT NOT NULL,
        online INTEGER NOT NULL,
        may_borrow INTEGER NOT NULL
      );
      -- Visit notices applied here, by message id: one arriving twice is applied once.
      CREATE TABLE visit_inbox (
        message_id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        loan_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        received_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 150,
    name: "NCIP to the library's ILS: the durable queue of calls, and the item each request uses there",
    up: `
      -- One row per NCIP call a loan's transition asks for, written in the transition's own
      -- transaction (like the outbox): it survives a crash and is sent once the ILS answers. A
      -- request's calls go in order (AcceptItem before its CheckInItem).
      CREATE TABLE ncip_tasks (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        request_id TEXT NOT NULL,
        service TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'done', 'failed')),
        attempts INTEGER NOT NULL DEFAULT 0,
        due_at TEXT NOT NULL,
        last_error TEXT,
        created_at TEXT NOT NULL,
        finished_at TEXT
      );
      CREATE INDEX ncip_tasks_due ON ncip_tasks (state, due_at);
      CREATE INDEX ncip_tasks_request ON ncip_tasks (request_id, id);
      -- Lender: the copy LookupItem chose (checked out and in). Borrower: the temporary item
      -- AcceptItem made, and the id the ILS gave it when it chose its own.
      CREATE TABLE ncip_items (
        request_id TEXT PRIMARY KEY,
        barcode TEXT NOT NULL,
        ils_item_id TEXT
      );
    `,
  },
  {
    version: 160,
    name: "acquisitions: orders, on-order holdings, shared retention commitments",
    up: `
      -- An item row can be an order instead of a copy: status 'on_order', barcode 'order:<id>',
      -- copies ordered and the expected date. It travels up with the record's other items, so that
      -- the union catalogs show the title on order here. retained_until: a shared retention
      -- commitment (the copy is kept for the region through the end of that year).
      ALTER TABLE catalog_items ADD COLUMN copies INTEGER;
      ALTER TABLE catalog_items ADD COLUMN expected_date TEXT;
      ALTER TABLE catalog_items ADD COLUMN retained_until INTEGER;

      -- One order as the library placed it. record_id: the catalog record its on-order holding is
      -- on (an existing record with the ISBN/ISSN, or a brief record made for the order, brief = 1).
      CREATE TABLE acq_orders (
        id TEXT PRIMARY KEY,
        isbn TEXT NOT NULL DEFAULT '',
        issn TEXT NOT NULL DEFAULT '',
        title TEXT NOT NULL DEFAULT '',
        author TEXT NOT NULL DEFAULT '',
        copies INTEGER NOT NULL CHECK (copies > 0),
        expected_date TEXT,
        fund TEXT NOT NULL DEFAULT '',
        vendor_ref TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL CHECK (state IN ('open', 'received', 'cancelled')),
        record_id TEXT NOT NULL,
        brief INTEGER NOT NULL,
        source TEXT NOT NULL,
        created_at TEXT NOT NULL,
        closed_at TEXT
      );
      CREATE INDEX acq_orders_state ON acq_orders (state, created_at);
      CREATE UNIQUE INDEX acq_orders_vendor_ref ON acq_orders (vendor_ref) WHERE vendor_ref <> '';
    `,
  },
  {
    version: 170,
    name: "visiting readers: loans held at home while a visited library lends; the key of each credential",
    up: `
      -- At the home library: a slot of a reader's loan limit held for a loan a visited library is
      -- about to make (CheckVisitor with reserve_for_loan_id). Counted like a loan until the loan's
      -- notice arrives (the row is deleted then) or expires_at passes.
      CREATE TABLE visit_holds (
        loan_id TEXT PRIMARY KEY,
        credential_id TEXT NOT NULL,
        reader_id TEXT NOT NULL,
        visited_agency_id TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL
      );
      CREATE INDEX visit_holds_reader ON visit_holds (reader_id, expires_at);
      -- The key that signed each credential (key rotation: an older key stays published while
      -- credentials it signed are unexpired). Before: the newest key made at or before the issue.
      ALTER TABLE visit_credentials ADD COLUMN key_id TEXT;
      UPDATE visit_credentials SET key_id = (
        SELECT k.key_id FROM visit_keys k WHERE k.created_at <= visit_credentials.issued_at
        ORDER BY k.created_at DESC LIMIT 1);
    `,
  },
  {
    version: 175,
    name: "The catalog's loads: each import and harvest, how it ended, its first rejections",
    up: `
      -- One row per import (lrs-member import) or harvest (scheduled or lrs-member harvest), for
      -- the staff's catalog status; the latest 200 are kept. rejections: a JSON array of the first
      -- ones, each naming its record and the reason.
      CREATE TABLE catalog_loads (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL CHECK (kind IN ('import', 'harvest')),
        source TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT NOT NULL,
        added INTEGER NOT NULL,
        updated INTEGER NOT NULL,
        unchanged INTEGER NOT NULL,
        deleted INTEGER NOT NULL,
        rejected INTEGER NOT NULL,
        outcome TEXT NOT NULL,
        rejections TEXT NOT NULL
      );
    `,
  },
];
