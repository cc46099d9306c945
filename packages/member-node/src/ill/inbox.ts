// What the member received of ILL traffic: every envelope the parent delivered (applied or
// refused, and the confirmation sent back), the confirmations partners sent for our own
// messages, and a read of the outbox for the message log. SQL only; the receiver decides.
import type { Database } from "@lrs/shared";

export type InboxOutcome = "applied" | "refused";

/** One envelope the parent delivered to this member. */
export interface InboxEntry {
  readonly messageId: string;
  /** What it carried, as `ill.describeEnvelope` says ("SupplyingAgencyMessage Loaned", …). */
  readonly kind: string;
  /** The agency that wrote it. */
  readonly origin: string;
  /** Our request it was for, when known. */
  readonly requestId: string | undefined;
  readonly receivedAt: Date;
  readonly outcome: InboxOutcome;
  /** Why it was refused: "<ISO error type>: <value>". */
  readonly error: string | undefined;
  /** The confirmation sent back (none for a confirmation). */
  readonly confirmationMessageId: string | undefined;
}

/** A partner's confirmation of one of our messages. */
export interface ReceivedConfirmation {
  readonly confirmedMessageId: string;
  readonly requestId: string | undefined;
  readonly ok: boolean;
  /** "OK" or "ERROR: <type>: <value>" (`ill.confirmationText`). */
  readonly status: string;
  readonly receivedAt: Date;
}

/** A message of ours as the outbox holds it. */
export interface SentMessage {
  readonly messageId: string;
  readonly kind: string;
  readonly payload: Uint8Array;
  readonly createdAt: Date;
  readonly deliveredAt: Date | undefined;
}

interface InboxRow {
  message_id: string;
  kind: string;
  origin: string;
  request_id: string | null;
  received_at: string;
  outcome: InboxOutcome;
  error: string | null;
  confirmation_message_id: string | null;
}

interface ConfirmationRow {
  confirmed_message_id: string;
  request_id: string | null;
  ok: number;
  status: string;
  received_at: string;
}

interface OutboxRow {
  message_id: string;
  kind: string;
  payload: Buffer;
  created_at: string;
  delivered_at: string | null;
}

export class IllInbox {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  get(messageId: string): InboxEntry | undefined {
    const row = this.#db.sqlite.prepare("SELECT * FROM ill_inbox WHERE message_id = ?").get(messageId) as
      | InboxRow
      | undefined;
    return row ? toEntry(row) : undefined;
  }

  /** Records a delivered envelope. Call inside the transaction that applies it. */
  record(entry: InboxEntry): void {
    this.#db.sqlite
      .prepare(
        `INSERT INTO ill_inbox (message_id, kind, origin, request_id, received_at, outcome, error, confirmation_message_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        entry.messageId,
        entry.kind,
        entry.origin,
        entry.requestId ?? null,
        entry.receivedAt.toISOString(),
        entry.outcome,
        entry.error ?? null,
        entry.confirmationMessageId ?? null,
      );
  }

  /** What arrived for one request, oldest first. */
  forRequest(requestId: string): InboxEntry[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM ill_inbox WHERE request_id = ? ORDER BY received_at, rowid")
      .all(requestId) as InboxRow[];
    return rows.map(toEntry);
  }

  /** Records a partner's confirmation; false when one for that message was recorded before. */
  recordConfirmation(c: ReceivedConfirmation): boolean {
    const info = this.#db.sqlite
      .prepare(
        `INSERT INTO ill_confirmations (confirmed_message_id, request_id, ok, status, received_at)
         VALUES (?, ?, ?, ?, ?) ON CONFLICT (confirmed_message_id) DO NOTHING`,
      )
      .run(c.confirmedMessageId, c.requestId ?? null, c.ok ? 1 : 0, c.status, c.receivedAt.toISOString());
    return info.changes > 0;
  }

  confirmation(messageId: string): ReceivedConfirmation | undefined {
    const row = this.#db.sqlite
      .prepare("SELECT * FROM ill_confirmations WHERE confirmed_message_id = ?")
      .get(messageId) as ConfirmationRow | undefined;
    return row ? toConfirmation(row) : undefined;
  }

  /** Our own messages, from the outbox, in the order given; ids not there are left out. */
  sent(messageIds: readonly string[]): SentMessage[] {
    const stmt = this.#db.sqlite.prepare(
      "SELECT message_id, kind, payload, created_at, delivered_at FROM outbox WHERE message_id = ?",
    );
    const out: SentMessage[] = [];
    for (const id of messageIds) {
      const row = stmt.get(id) as OutboxRow | undefined;
      if (!row) continue;
      out.push({
        messageId: row.message_id,
        kind: row.kind,
        payload: new Uint8Array(row.payload),
        createdAt: new Date(row.created_at),
        deliveredAt: row.delivered_at ? new Date(row.delivered_at) : undefined,
      });
    }
    return out;
  }
}

function toEntry(row: InboxRow): InboxEntry {
  return {
    messageId: row.message_id,
    kind: row.kind,
    origin: row.origin,
    requestId: row.request_id ?? undefined,
    receivedAt: new Date(row.received_at),
    outcome: row.outcome,
    error: row.error ?? undefined,
    confirmationMessageId: row.confirmation_message_id ?? undefined,
  };
}

function toConfirmation(row: ConfirmationRow): ReceivedConfirmation {
  return {
    confirmedMessageId: row.confirmed_message_id,
    requestId: row.request_id ?? undefined,
    ok: row.ok === 1,
    status: row.status,
    receivedAt: new Date(row.received_at),
  };
}
