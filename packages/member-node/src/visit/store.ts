// Reciprocal borrowing at a member, in SQL: its visit keys, its readers' pseudonyms and
// credentials, and loans to and of visiting readers (visit_loans, one row per role).
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Database, visit, visitPb } from "@lrs/shared";

export type LoanRole = "lent" | "borrowed" | "shipment";

/** A visit_loans row as the code reads it. */
export interface LoanRow {
  loan_id: string;
  role: LoanRole;
  home_agency_id: string;
  owner_agency_id: string;
  credential_id: string;
  reader_id: string;
  item_barcode: string;
  record_id: string;
  title: string;
  lent_at: string | null;
  due_at: string | null;
  returned_at: string | null;
  returned_at_agency_id: string;
  shipment_id: string;
  tracking: string;
  received_at: string | null;
  overdue_at: string | null;
  fee_currency: string;
  fee_minor: number;
}

export interface CredentialRow {
  credential_id: string;
  reader_id: string;
  token: string;
  max_loans: number;
  issued_at: string;
  expires_at: string;
  /** The signing key's id (null: issued before keys were recorded per credential). */
  key_id: string | null;
  block_reason: string | null;
  blocked_at: string | null;
}

const LOAN_COLUMNS = [
  "loan_id",
  "role",
  "home_agency_id",
  "owner_agency_id",
  "credential_id",
  "reader_id",
  "item_barcode",
  "record_id",
  "title",
  "lent_at",
  "due_at",
  "returned_at",
  "returned_at_agency_id",
  "shipment_id",
  "tracking",
  "received_at",
  "overdue_at",
  "fee_currency",
  "fee_minor",
] as const;

/** What a loan row says, for people: on-loan, overdue, returned, in-transit, received. */
export function loanState(r: LoanRow, now: Date): string {
  if (r.returned_at) {
    if (r.shipment_id === "") return "returned";
    return r.received_at ? "received" : "in-transit";
  }
  if (r.overdue_at || (r.due_at && r.due_at < now.toISOString())) return "overdue";
  return "on-loan";
}

const ts = (s: string | null) => (s ? timestampFromDate(new Date(s)) : undefined);

/** The fields a VisitLoan and a VisitNotice share, from a loan row. */
export function loanFields(r: LoanRow) {
  return {
    loanId: r.loan_id,
    homeAgencyId: r.home_agency_id,
    ownerAgencyId: r.owner_agency_id,
    credentialId: r.credential_id,
    readerId: r.reader_id,
    itemBarcode: r.item_barcode,
    title: r.title,
    lentAt: ts(r.lent_at),
    dueAt: ts(r.due_at),
    returnedAtAgencyId: r.returned_at_agency_id,
    shipmentId: r.shipment_id,
    tracking: r.tracking,
  };
}

export function loanMessage(r: LoanRow, now: Date): visitPb.VisitLoan {
  return create(visitPb.VisitLoanSchema, {
    ...loanFields(r),
    returnedAt: ts(r.returned_at),
    state: loanState(r, now),
  });
}

export class VisitStore {
  constructor(readonly db: Database) {}

  /** This library's signing key, made on first use. */
  signingKey(now: Date): visit.VisitKeyPair & { createdAt: Date } {
    return this.db.transaction(() => {
      const row = this.db.sqlite
        .prepare(
          "SELECT key_id, public_key, private_key, created_at FROM visit_keys ORDER BY created_at DESC, rowid DESC LIMIT 1",
        )
        .get() as { key_id: string; public_key: Buffer; private_key: Buffer; created_at: string } | undefined;
      if (row)
        return {
          keyId: row.key_id,
          publicKey: new Uint8Array(row.public_key),
          privateKey: new Uint8Array(row.private_key),
          createdAt: new Date(row.created_at),
        };
      const k = visit.generateVisitKey();
      this.db.sqlite
        .prepare("INSERT INTO visit_keys (key_id, public_key, private_key, created_at) VALUES (?, ?, ?, ?)")
        .run(k.keyId, Buffer.from(k.publicKey), Buffer.from(k.privateKey), now.toISOString());
      return { ...k, createdAt: now };
    });
  }

  /** A new signing key: credentials issued from now on are signed with it (key rotation). */
  rotateKey(now: Date): visit.VisitKeyPair & { createdAt: Date } {
    const k = visit.generateVisitKey();
    this.db.sqlite
      .prepare("INSERT INTO visit_keys (key_id, public_key, private_key, created_at) VALUES (?, ?, ?, ?)")
      .run(k.keyId, Buffer.from(k.publicKey), Buffer.from(k.privateKey), now.toISOString());
    return { ...k, createdAt: now };
  }

  /**
   * The keys (public parts) the directory publishes: the newest, which signs, and each older one
   * while a credential it signed is unexpired.
   */
  publishedKeys(now: Date): visitPb.VisitSigningKey[] {
    const rows = this.db.sqlite
      .prepare(
        `SELECT key_id, public_key, created_at FROM visit_keys k
         WHERE key_id = (SELECT key_id FROM visit_keys ORDER BY created_at DESC, rowid DESC LIMIT 1)
            OR EXISTS (SELECT 1 FROM visit_credentials c WHERE c.key_id = k.key_id AND c.expires_at > ?)
         ORDER BY created_at, rowid`,
      )
      .all(now.toISOString()) as Array<{ key_id: string; public_key: Buffer; created_at: string }>;
    return rows.map((r) =>
      create(visitPb.VisitSigningKeySchema, {
        keyId: r.key_id,
        publicKey: new Uint8Array(r.public_key),
        createdAt: timestampFromDate(new Date(r.created_at)),
      }),
    );
  }

  /** When the last unexpired credential signed with an older key than the newest expires. */
  olderKeysUntil(now: Date): Date | undefined {
    const row = this.db.sqlite
      .prepare(
        `SELECT MAX(expires_at) AS at FROM visit_credentials
         WHERE expires_at > ?
           AND key_id <> (SELECT key_id FROM visit_keys ORDER BY created_at DESC, rowid DESC LIMIT 1)`,
      )
      .get(now.toISOString()) as { at: string | null };
    return row.at ? new Date(row.at) : undefined;
  }

  /** The reader's pseudonym, made on first use. */
  readerId(readerRef: string): string {
    return this.db.transaction(() => {
      const row = this.db.sqlite
        .prepare("SELECT reader_id FROM visit_readers WHERE reader_ref = ?")
        .get(readerRef) as { reader_id: string } | undefined;
      if (row) return row.reader_id;
      const id = visit.newReaderId();
      this.db.sqlite
        .prepare("INSERT INTO visit_readers (reader_ref, reader_id) VALUES (?, ?)")
        .run(readerRef, id);
      return id;
    });
  }

  readerRefOf(readerId: string): string | undefined {
    return (
      this.db.sqlite.prepare("SELECT reader_ref FROM visit_readers WHERE reader_id = ?").get(readerId) as
        | { reader_ref: string }
        | undefined
    )?.reader_ref;
  }

  addCredential(r: Omit<CredentialRow, "block_reason" | "blocked_at">): void {
    this.db.sqlite
      .prepare(
        "INSERT INTO visit_credentials (credential_id, reader_id, token, max_loans, issued_at, expires_at, key_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(r.credential_id, r.reader_id, r.token, r.max_loans, r.issued_at, r.expires_at, r.key_id);
  }

  credential(id: string): CredentialRow | undefined {
    return this.db.sqlite.prepare("SELECT * FROM visit_credentials WHERE credential_id = ?").get(id) as
      | CredentialRow
      | undefined;
  }

  credentialsOfReader(readerId: string): CredentialRow[] {
    return this.db.sqlite
      .prepare("SELECT * FROM visit_credentials WHERE reader_id = ? ORDER BY issued_at")
      .all(readerId) as CredentialRow[];
  }

  credentials(): Array<CredentialRow & { reader_ref: string }> {
    return this.db.sqlite
      .prepare(
        "SELECT c.*, r.reader_ref FROM visit_credentials c JOIN visit_readers r USING (reader_id) ORDER BY c.issued_at DESC",
      )
      .all() as Array<CredentialRow & { reader_ref: string }>;
  }

  /** Blocks (reason) or unblocks (undefined) credentials; returns how many changed. */
  setBlock(ids: readonly string[], reason: string | undefined, now: Date): number {
    const stmt = this.db.sqlite.prepare(
      "UPDATE visit_credentials SET block_reason = ?, blocked_at = ? WHERE credential_id = ?",
    );
    return this.db.transaction(() =>
      ids.reduce((n, id) => n + stmt.run(reason ?? null, reason ? now.toISOString() : null, id).changes, 0),
    );
  }

  /** Blocked credentials not yet expired: what the directory publishes for offline checks. */
  blockedUnexpired(now: Date): string[] {
    return (
      this.db.sqlite
        .prepare(
          "SELECT credential_id FROM visit_credentials WHERE block_reason IS NOT NULL AND expires_at > ? ORDER BY credential_id",
        )
        .all(now.toISOString()) as Array<{ credential_id: string }>
    ).map((r) => r.credential_id);
  }

  loan(loanId: string, role: LoanRole): LoanRow | undefined {
    return this.db.sqlite
      .prepare("SELECT * FROM visit_loans WHERE loan_id = ? AND role = ?")
      .get(loanId, role) as LoanRow | undefined;
  }

  /** The open loan of an item of this library to a visiting reader. */
  openLoanOfItem(barcode: string): LoanRow | undefined {
    return this.db.sqlite
      .prepare("SELECT * FROM visit_loans WHERE role = 'lent' AND item_barcode = ? AND returned_at IS NULL")
      .get(barcode) as LoanRow | undefined;
  }

  shipment(shipmentId: string): LoanRow | undefined {
    return this.db.sqlite
      .prepare(
        "SELECT * FROM visit_loans WHERE shipment_id = ? AND role IN ('lent', 'shipment') ORDER BY role LIMIT 1",
      )
      .get(shipmentId) as LoanRow | undefined;
  }

  /** Inserts a loan row, or updates the given columns of an existing one (a notice's news). */
  upsertLoan(r: Partial<LoanRow> & Pick<LoanRow, "loan_id" | "role">): void {
    const cols = LOAN_COLUMNS.filter((c) => r[c] !== undefined);
    const updates = cols.filter((c) => c !== "loan_id" && c !== "role");
    this.db.sqlite
      .prepare(
        `INSERT INTO visit_loans (${cols.join(", ")}) VALUES (${cols.map((c) => `@${c}`).join(", ")})
         ON CONFLICT (loan_id, role) DO ${updates.length ? `UPDATE SET ${updates.map((c) => `${c} = excluded.${c}`).join(", ")}` : "NOTHING"}`,
      )
      .run(r);
  }

  loans(role: LoanRole, openOnly: boolean): LoanRow[] {
    const open = role === "shipment" ? "received_at IS NULL" : "returned_at IS NULL";
    return this.db.sqlite
      .prepare(
        `SELECT * FROM visit_loans WHERE role = ? ${openOnly ? `AND ${open}` : ""} ORDER BY lent_at DESC, loan_id`,
      )
      .all(role) as LoanRow[];
  }

  /** Open loans of the reader's credentials (at home: what its readers have out elsewhere). */
  openLoansOfReader(readerId: string): number {
    return (
      this.db.sqlite
        .prepare(
          "SELECT COUNT(*) AS n FROM visit_loans WHERE role = 'borrowed' AND reader_id = ? AND returned_at IS NULL",
        )
        .get(readerId) as { n: number }
    ).n;
  }

  /** Holds for loans being made elsewhere for a reader, not yet confirmed or lapsed (but `except`). */
  activeHolds(readerId: string, now: Date, except = ""): number {
    return (
      this.db.sqlite
        .prepare(
          "SELECT COUNT(*) AS n FROM visit_holds WHERE reader_id = ? AND expires_at > ? AND loan_id <> ?",
        )
        .get(readerId, now.toISOString(), except) as { n: number }
    ).n;
  }

  /** Holds a slot for a loan a visited library is making (again: the same hold, its time renewed). */
  hold(h: {
    loanId: string;
    credentialId: string;
    readerId: string;
    visited: string;
    now: Date;
    expires: Date;
  }): void {
    this.db.sqlite
      .prepare(
        `INSERT INTO visit_holds (loan_id, credential_id, reader_id, visited_agency_id, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (loan_id) DO UPDATE SET expires_at = excluded.expires_at`,
      )
      .run(h.loanId, h.credentialId, h.readerId, h.visited, h.now.toISOString(), h.expires.toISOString());
    // Lapsed holds are kept a day, for an operator to see, then dropped.
    this.db.sqlite
      .prepare("DELETE FROM visit_holds WHERE expires_at < ?")
      .run(new Date(h.now.getTime() - 86_400_000).toISOString());
  }

  /** The loan's notice arrived: its hold is the loan now. */
  releaseHold(loanId: string): void {
    this.db.sqlite.prepare("DELETE FROM visit_holds WHERE loan_id = ?").run(loanId);
  }

  /** Open loans here to one visiting reader. */
  openLoansHere(homeAgencyId: string, readerId: string): number {
    return (
      this.db.sqlite
        .prepare(
          "SELECT COUNT(*) AS n FROM visit_loans WHERE role = 'lent' AND home_agency_id = ? AND reader_id = ? AND returned_at IS NULL",
        )
        .get(homeAgencyId, readerId) as { n: number }
    ).n;
  }

  /** Loans here past due, not yet reported to the home library. */
  overdueUnreported(now: Date): LoanRow[] {
    return this.db.sqlite
      .prepare(
        "SELECT * FROM visit_loans WHERE role = 'lent' AND returned_at IS NULL AND overdue_at IS NULL AND due_at < ?",
      )
      .all(now.toISOString()) as LoanRow[];
  }

  recordCheck(
    homeAgencyId: string,
    credentialId: string,
    online: boolean,
    mayBorrow: boolean,
    now: Date,
  ): void {
    this.db.sqlite
      .prepare(
        "INSERT INTO visit_checks (home_agency_id, credential_id, checked_at, online, may_borrow) VALUES (?, ?, ?, ?, ?)",
      )
      .run(homeAgencyId, credentialId, now.toISOString(), online ? 1 : 0, mayBorrow ? 1 : 0);
  }

  /** A notice applied before (by message id), else recorded now. */
  seen(messageId: string, kind: string, loanId: string, origin: string, now: Date): boolean {
    const r = this.db.sqlite
      .prepare(
        "INSERT INTO visit_inbox (message_id, kind, loan_id, origin, received_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(messageId, kind, loanId, origin, now.toISOString());
    return r.changes === 0;
  }

  /** Loans to visitors by home institution, loans of own readers by owner, and visits (checks) by home institution. */
  counts(): visitPb.VisitCount[] {
    const by = new Map<string, visitPb.VisitCount>();
    const get = (id: string) => {
      let c = by.get(id);
      if (!c) {
        c = create(visitPb.VisitCountSchema, { institutionId: id });
        by.set(id, c);
      }
      return c;
    };
    const q = (sql: string) => this.db.sqlite.prepare(sql).all() as Array<{ id: string; n: number }>;
    for (const r of q(
      "SELECT home_agency_id AS id, COUNT(*) AS n FROM visit_loans WHERE role = 'lent' GROUP BY 1",
    ))
      get(r.id).lentTo = BigInt(r.n);
    for (const r of q(
      "SELECT owner_agency_id AS id, COUNT(*) AS n FROM visit_loans WHERE role = 'borrowed' GROUP BY 1",
    ))
      get(r.id).borrowedFrom = BigInt(r.n);
    for (const r of q("SELECT home_agency_id AS id, COUNT(*) AS n FROM visit_checks GROUP BY 1"))
      get(r.id).visits = BigInt(r.n);
    return [...by.values()].sort((a, b) => a.institutionId.localeCompare(b.institutionId));
  }

  /** The item of this library with a barcode: its record. */
  itemRecord(barcode: string): string | undefined {
    return (
      this.db.sqlite.prepare("SELECT record_id FROM catalog_items WHERE barcode = ?").get(barcode) as
        | { record_id: string }
        | undefined
    )?.record_id;
  }
}
