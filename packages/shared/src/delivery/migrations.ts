import type { Migration } from "../db.js";

/**
 * Document delivery's table, at every tier (versions 40–49 of the shared range; the union
 * catalog uses 20–29, the ILL relay 30–39). One row per copy file that reached this node: the
 * lender's upload, a relay's stored copy, the borrower's delivered copy. The row is written in
 * the same transaction as the outbox message that forwards the file (lender, relays) or the
 * timer that deletes it (borrower); `path` is set while the file is on disk here.
 */
export const copyMigrations: Migration[] = [
  {
    version: 40,
    name: "document delivery: copy files stored and forwarded",
    up: `
      CREATE TABLE copy_transfers (
        transfer_id TEXT PRIMARY KEY,
        -- 'lender' (uploaded here), 'relay' (passing through), 'borrower' (delivered here).
        role TEXT NOT NULL CHECK (role IN ('lender', 'relay', 'borrower')),
        requesting_agency_request_id TEXT NOT NULL,
        -- The borrower's request: requesting_agency_request_id before its last "/".
        request_id TEXT NOT NULL,
        origin TEXT NOT NULL,
        destination TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        media_type TEXT NOT NULL,
        file_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        -- The node that pushed it here (this node itself for an upload), and when it was stored.
        received_from TEXT NOT NULL,
        received_at TEXT NOT NULL,
        -- The file under the data directory while it is kept here; NULL once deleted.
        path TEXT,
        -- Lender and relays: the node it goes to next, the outbox destination that takes it there,
        -- and when that node acknowledged it (the file is then deleted here).
        next_hop TEXT,
        outbox_destination TEXT,
        forwarded_at TEXT,
        deleted_at TEXT,
        deleted_reason TEXT,
        -- Members: their own request (the lender's or the borrower's) the copy belongs to.
        local_request_id TEXT,
        -- Borrower: when the retention period ends, the first download and how many there were.
        expires_at TEXT,
        first_downloaded_at TEXT,
        downloads INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX copy_transfers_request ON copy_transfers (request_id);
      CREATE INDEX copy_transfers_local ON copy_transfers (local_request_id, received_at);
    `,
  },
];
