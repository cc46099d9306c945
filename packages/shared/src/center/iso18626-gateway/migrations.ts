import type { Migration } from "../../db.js";

/**
 * The ISO 18626 gateway's tables (versions 35–39 of the shared range, beside the relay's 30).
 * Every XML message a partner sends is stored, with the confirmation it was given, before that
 * confirmation is sent: the same message again (same partner, kind, ids, timestamp and
 * action/status) gets the stored confirmation and is not applied twice. Every message the
 * gateway sends a partner is logged with the partner's confirmation.
 */
export const gatewayMigrations: Migration[] = [
  {
    version: 35,
    name: "ISO 18626 gateway: messages exchanged with external partners",
    up: `
      CREATE TABLE iso18626_inbound (
        dedup_key TEXT PRIMARY KEY,
        partner_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        requesting_agency_request_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        received_at TEXT NOT NULL,
        xml TEXT NOT NULL,
        confirmation_xml TEXT NOT NULL,
        status TEXT NOT NULL,
        repeats INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE INDEX iso18626_inbound_request ON iso18626_inbound (requesting_agency_request_id);
      CREATE TABLE iso18626_outbound (
        message_id TEXT PRIMARY KEY,
        partner_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        requesting_agency_request_id TEXT NOT NULL,
        sent_at TEXT NOT NULL,
        xml TEXT NOT NULL,
        confirmation TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX iso18626_outbound_request ON iso18626_outbound (requesting_agency_request_id);
    `,
  },
  {
    version: 36,
    name: "ISO 18626 gateway: partners' requests brokered by the federation",
    up: `
      CREATE TABLE iso18626_brokered (
        partner_id TEXT NOT NULL,
        partner_request_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        request BLOB NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('rota', 'lending', 'done')),
        rota TEXT NOT NULL DEFAULT '[]',
        position INTEGER NOT NULL DEFAULT 0,
        last_status TEXT NOT NULL DEFAULT '',
        asked_at TEXT NOT NULL DEFAULT '',
        answered INTEGER NOT NULL DEFAULT 0,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (partner_id, partner_request_id)
      ) WITHOUT ROWID;
      CREATE INDEX iso18626_brokered_waiting ON iso18626_brokered (state, next_attempt_at);
    `,
  },
];
