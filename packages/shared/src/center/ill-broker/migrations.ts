import type { Migration } from "../../db.js";

/**
 * The ILL relay's table at regional and national centers (versions 30–39 of the shared range;
 * the union catalog uses 20–21). One row per envelope that passed through this node, written in
 * the same transaction as the outbox message that forwards it: the row is what Trace answers and
 * what the broker counts loans and requests from, the outbox row says whether the next hop has it.
 */
export const illRelayMigrations: Migration[] = [
  {
    version: 30,
    name: "ILL relay: envelopes stored and forwarded",
    up: `
      CREATE TABLE ill_relay (
        message_id TEXT PRIMARY KEY,
        -- describeEnvelope: "Request", "SupplyingAgencyMessage Loaned", "RequestConfirmation OK", ...
        kind TEXT NOT NULL,
        -- Which message the envelope carries (its oneof case: request, supplyingAgencyMessage, ...).
        message_type TEXT NOT NULL,
        -- ISO status of a SupplyingAgencyMessage ("Loaned", "CopyCompleted"), else "".
        status TEXT NOT NULL,
        -- ISO action of a RequestingAgencyMessage ("Received", "ShippedReturn"), else "".
        action TEXT NOT NULL,
        origin TEXT NOT NULL,
        destination TEXT NOT NULL,
        requesting_agency_request_id TEXT NOT NULL,
        -- The borrower's request: requesting_agency_request_id before its last "/" (the rota position).
        request_id TEXT NOT NULL,
        received_from TEXT NOT NULL,
        received_at TEXT NOT NULL,
        -- The node it goes to next, and the outbox destination that takes it there.
        next_hop TEXT NOT NULL,
        outbox_destination TEXT NOT NULL
      );
      CREATE INDEX ill_relay_request ON ill_relay (request_id);
      CREATE INDEX ill_relay_iso_request ON ill_relay (requesting_agency_request_id);
      CREATE INDEX ill_relay_origin ON ill_relay (origin, message_type, status);
    `,
  },
];
