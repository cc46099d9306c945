// Postings on their way through the regional center: a member's charges (and reversals) are
// checked, stored and queued for the national center in one transaction, and applied once by
// entry id however often they arrive. The regional center keeps no ledger of its own; the
// national center's is the federation's (ledger.proto).
import { equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  type Database,
  LEDGER_DESTINATION,
  LEDGER_POST_KIND,
  LedgerConflictError,
  LedgerForbiddenError,
  type Logger,
  ledgerPb,
  type Outbox,
  postingLabel,
  postingPayload,
  validatePostings,
} from "@lrs/shared";

export interface LedgerRelayOptions {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly now?: () => Date;
}

/** One posting as this center received it. */
export interface RelayedPosting {
  readonly posting: ledgerPb.LedgerPosting;
  readonly receivedFrom: string;
  readonly receivedAt: Date;
  /** The national center has it (its PostEntries answered); undefined while it waits. */
  readonly forwardedAt: Date | undefined;
}

interface RelayRow {
  entry_id: string;
  received_from: string;
  posting: Uint8Array;
  received_at: string;
}

export class LedgerRelay {
  readonly #o: LedgerRelayOptions;

  constructor(o: LedgerRelayOptions) {
    this.#o = o;
  }

  /**
   * Takes a member's postings: every one checked (fields, and that the member is the payer and its
   * id begins the entry id) before any is stored; then, in one transaction, the new ones stored
   * and queued for the national center. An entry id seen before with the same contents is a
   * duplicate (a retry); with other contents it is refused.
   *
   * The checks are the national center's own (validatePostings), so that what this center takes and
   * forwards, the national center takes too.
   *
   * @throws LedgerInputError (a field), LedgerForbiddenError (another payer), LedgerConflictError.
   */
  post(
    postings: readonly ledgerPb.LedgerPosting[],
    member: string,
  ): { accepted: number; duplicates: number } {
    validatePostings(postings);
    postings.forEach((p, i) => {
      if (p.payerId !== member)
        throw new LedgerForbiddenError(
          `${postingLabel(i, p.entryId)}: payer is ${p.payerId}; ${member} may post its own charges only, as the payer`,
        );
      if (!p.entryId.startsWith(`${member}:`))
        throw new LedgerForbiddenError(
          `${postingLabel(i, p.entryId)}: ${member}'s entry ids begin with "${member}:"`,
        );
    });
    const receivedAt = (this.#o.now?.() ?? new Date()).toISOString();
    const sql = this.#o.db.sqlite;
    const find = sql.prepare("SELECT * FROM ledger_relay WHERE entry_id = ?");
    const insert = sql.prepare(
      `INSERT INTO ledger_relay (entry_id, transaction_id, received_from, posting, received_at)
       VALUES (?, ?, ?, ?, ?)`,
    );
    const result = this.#o.db.transaction(() => {
      let accepted = 0;
      let duplicates = 0;
      postings.forEach((p, i) => {
        const seen = find.get(p.entryId) as RelayRow | undefined;
        if (seen) {
          const before = fromBinary(ledgerPb.LedgerPostingSchema, new Uint8Array(seen.posting));
          if (!equals(ledgerPb.LedgerPostingSchema, before, p))
            throw new LedgerConflictError(
              `${postingLabel(i, p.entryId)}: was posted before with other contents`,
            );
          duplicates++;
          return;
        }
        insert.run(
          p.entryId,
          p.transactionId,
          member,
          Buffer.from(toBinary(ledgerPb.LedgerPostingSchema, p)),
          receivedAt,
        );
        this.#o.outbox.enqueue(
          LEDGER_DESTINATION,
          LEDGER_POST_KIND,
          postingPayload(p),
          `ledger:${p.entryId}`,
        );
        accepted++;
      });
      return { accepted, duplicates };
    });
    if (result.accepted > 0)
      this.#o.log.info({ member, ...result }, "postings stored for the national center");
    return result;
  }

  /** What this center received, oldest first (one transaction, or all); with whether the national center has it. */
  list(transactionId?: string): RelayedPosting[] {
    const rows = this.#o.db.sqlite
      .prepare(
        `SELECT r.*, o.delivered_at FROM ledger_relay r
         LEFT JOIN outbox o ON o.message_id = 'ledger:' || r.entry_id
         WHERE (? IS NULL OR r.transaction_id = ?)
         ORDER BY r.received_at, r.rowid`,
      )
      .all(transactionId ?? null, transactionId ?? null) as Array<RelayRow & { delivered_at: string | null }>;
    return rows.map((r) => ({
      posting: fromBinary(ledgerPb.LedgerPostingSchema, new Uint8Array(r.posting)),
      receivedFrom: r.received_from,
      receivedAt: new Date(r.received_at),
      forwardedAt: r.delivered_at ? new Date(r.delivered_at) : undefined,
    }));
  }
}
