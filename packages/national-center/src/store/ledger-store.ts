// The federation's ledger at the national center, double-entry: every posting is stored with one
// line for each side — a debit (negative) for the payer, a credit (positive) for the payee; a
// reversal the opposite — so that the lines of every posting, of every period and of the whole
// ledger sum to zero per currency. Settling a period stores its statements, next to the settled
// flag, in one transaction; a settled period never changes again.

import { create } from "@bufbuild/protobuf";
import type { Database, PostingRow as SharedPostingRow, Sqlite, ValidPosting } from "@lrs/shared";

type Statement = ReturnType<Sqlite["prepare"]>;

import { ledgerPb, nextPeriod, periodEnd, periodStart, postingOfRow } from "@lrs/shared";
import {
  LedgerConflictError,
  LedgerInputError,
  LedgerIntegrityError,
  LedgerStateError,
} from "../ledger/errors.js";
import {
  buildStatements,
  type LineSum,
  PAYEE,
  PAYER,
  type Role,
  regionBalances,
  type Settlement,
  settlementDigest,
  unbalancedCurrencies,
} from "../ledger/settlement.js";

/** What one PostEntries batch did. */
export interface PostResult {
  /** Stored now (booked, carried or held). */
  accepted: number;
  /** Already there under the same entry id, with the same content. */
  duplicates: number;
  /** Of the accepted: for a period already settled, counted in a later open period instead. */
  carried: number;
  /** Of the accepted: reversals waiting for the posting they reverse. */
  held: number;
}

/** A posting that is in no statement, and why. */
export interface HeldEntry {
  posting: ValidPosting;
  reason: string;
}

/** How far a settlement is (for logs and the CLI). */
export interface SettleProgress {
  phase: "aggregating" | "storing" | "done";
  /** Institutions aggregated so far, of `total` institutions known to the ledger. */
  done: number;
  total: number;
}

export interface SettleOptions {
  /** Compute, store nothing. */
  dryRun?: boolean;
  /** Settle a period whose month has not ended yet. */
  allowOpenPeriod?: boolean;
  now?: Date;
  onProgress?: (p: SettleProgress) => void;
}

/** A period's settlement as stored (or as it would be, for a dry run). */
export interface SettleOutcome extends Settlement {
  alreadySettled: boolean;
  dryRun: boolean;
  /** When it was settled; undefined for a dry run. */
  settledAt: Date | undefined;
  /** The postings carried in from settled periods (their ids are `carriedIn`). */
  carriedInPostings: ValidPosting[];
  /** Postings of this period or earlier in no statement. */
  held: HeldEntry[];
}

/** Net positions, for the dashboard: per institution and per region, in each currency. */
export interface LedgerPositions {
  period: string;
  settled: boolean;
  institutions: Array<{
    institutionId: string;
    region: string;
    currency: string;
    payableMinor: bigint;
    receivableMinor: bigint;
    netMinor: bigint;
  }>;
  regions: Array<{ region: string; currency: string; netMinor: bigint }>;
}

/** The result of `verify()`: empty lists for a sound ledger. */
export interface LedgerCheck {
  /** Currencies whose lines do not sum to zero, over the whole ledger. */
  unbalancedCurrencies: Array<{ currency: string; sumMinor: bigint }>;
  /** Entries whose lines are not exactly one debit and one equal credit (first 100). */
  unbalancedEntries: string[];
  /** Booked postings × 2 − lines: 0 when every booked posting has its two lines. */
  missingLines: number;
  lines: number;
  postings: number;
}

interface PostingRow extends SharedPostingRow {
  effective_period: string | null;
  held_reason: string | null;
}

/** The proto field names of ValidPosting's fields, for error messages. */
const WIRE_NAMES: Record<keyof ValidPosting, string> = {
  entryId: "entry_id",
  transactionId: "transaction_id",
  kind: "kind",
  payerId: "payer_id",
  payeeId: "payee_id",
  currency: "currency",
  amountMinor: "amount_minor",
  postedAt: "posted_at",
  period: "period",
  reversesEntryId: "reverses_entry_id",
  note: "note",
};

/**
 * The fields in which two postings under one entry id differ ([] when they are the same posting
 * sent again).
 */
export function differingFields(a: ValidPosting, b: ValidPosting): Array<keyof ValidPosting> {
  return (Object.keys(WIRE_NAMES) as Array<keyof ValidPosting>).filter((f) => a[f] !== b[f]);
}

/** Why a reversal cannot be booked against `original`, or undefined when it can. */
function reversalMismatch(rev: ValidPosting, original: ValidPosting): string | undefined {
  if (original.kind === "reversal")
    return `entry ${JSON.stringify(original.entryId)} is itself a reversal; a reversal cannot be reversed`;
  const diff: string[] = [];
  if (rev.payerId !== original.payerId) diff.push(`payer_id ${rev.payerId} ≠ ${original.payerId}`);
  if (rev.payeeId !== original.payeeId) diff.push(`payee_id ${rev.payeeId} ≠ ${original.payeeId}`);
  if (rev.currency !== original.currency) diff.push(`currency ${rev.currency} ≠ ${original.currency}`);
  if (rev.amountMinor !== original.amountMinor)
    diff.push(`amount_minor ${rev.amountMinor} ≠ ${original.amountMinor}`);
  return diff.length === 0
    ? undefined
    : `it does not match entry ${JSON.stringify(original.entryId)}, which it reverses (${diff.join(", ")})`;
}

/**
 * The ledger's tables (national migration 110). SQL stays in here; the service validates postings
 * (validatePostings in @lrs/shared) and checks who may post them before calling `post`.
 */
export class LedgerStore {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  #findPosting: Statement | undefined;

  #posting(entryId: string): PostingRow | undefined {
    // Prepared once: it runs for every posting of every batch.
    this.#findPosting ??= this.#db.sqlite
      .prepare("SELECT * FROM ledger_postings WHERE entry_id = ?")
      .safeIntegers(true);
    return this.#findPosting.get(entryId) as PostingRow | undefined;
  }

  #settledPeriods(): Set<string> {
    return new Set(
      (
        this.#db.sqlite.prepare("SELECT period FROM ledger_settlements").all() as Array<{ period: string }>
      ).map((r) => r.period),
    );
  }

  /** Whether a period has been settled. */
  isSettled(period: string): boolean {
    return (
      this.#db.sqlite.prepare("SELECT 1 FROM ledger_settlements WHERE period = ?").get(period) !== undefined
    );
  }

  /** The region the ledger knows an institution in ("" when it has no postings). */
  regionOf(institutionId: string): string | undefined {
    const r = this.#db.sqlite
      .prepare("SELECT region FROM ledger_institutions WHERE id = ?")
      .get(institutionId) as { region: string } | undefined;
    return r?.region;
  }

  /**
   * Stores a batch of checked postings in one transaction. The same entry id with the same content
   * is a duplicate; with other content the whole batch is refused (LedgerConflictError naming the
   * fields). A posting for a settled period is counted in the first open period after it; a
   * reversal whose original has not arrived is held until it does; a reversal that does not match
   * its original, or of a posting already reversed, refuses the batch.
   *
   * `regionOf` gives the region of each payer and payee, kept with the ledger's institutions at
   * their first posting (an id never changes region: the CA refuses that).
   */
  post(
    postings: readonly ValidPosting[],
    opts: { receivedFrom: string; regionOf: (institutionId: string) => string; now?: Date },
  ): PostResult {
    const sql = this.#db.sqlite;
    const insertPosting = sql.prepare(
      `INSERT INTO ledger_postings (entry_id, transaction_id, kind, payer_id, payee_id, currency, amount_minor,
         posted_at, period, reverses_entry_id, note, received_from, received_at, effective_period, held_reason)
       VALUES (@entryId, @transactionId, @kind, @payerId, @payeeId, @currency, @amountMinor,
         @postedAt, @period, @reverses, @note, @receivedFrom, @receivedAt, @effective, @heldReason)`,
    );
    const insertLine = sql.prepare(
      `INSERT INTO ledger_lines (period, institution_id, currency, counterparty_id, role, entry_id, amount_minor)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const insertInstitution = sql.prepare(
      "INSERT INTO ledger_institutions (id, region) VALUES (?, ?) ON CONFLICT (id) DO NOTHING",
    );
    const reversedBy = sql.prepare(
      "SELECT entry_id FROM ledger_postings WHERE reverses_entry_id = ? AND effective_period IS NOT NULL LIMIT 1",
    );
    const heldFor = sql
      .prepare(
        "SELECT * FROM ledger_postings WHERE reverses_entry_id = ? AND effective_period IS NULL ORDER BY entry_id",
      )
      .safeIntegers(true);
    const book = sql.prepare(
      "UPDATE ledger_postings SET effective_period = ?, held_reason = NULL WHERE entry_id = ?",
    );
    const rehold = sql.prepare("UPDATE ledger_postings SET held_reason = ? WHERE entry_id = ?");
    const receivedAt = (opts.now ?? new Date()).toISOString();
    const seen = new Set<string>();

    return this.#db.transaction(() => {
      const settled = this.#settledPeriods();
      const effectiveOf = (period: string): string => {
        let p = period;
        while (settled.has(p)) p = nextPeriod(p);
        return p;
      };
      const result: PostResult = { accepted: 0, duplicates: 0, carried: 0, held: 0 };
      const known = (id: string) => {
        if (seen.has(id)) return;
        insertInstitution.run(id, opts.regionOf(id));
        seen.add(id);
      };
      const writeLines = (p: ValidPosting, effective: string) => {
        // Reversal: the payer is credited and the payee debited, undoing the original's lines.
        const sign = p.kind === "reversal" ? 1n : -1n;
        insertLine.run(effective, p.payerId, p.currency, p.payeeId, PAYER, p.entryId, sign * p.amountMinor);
        insertLine.run(effective, p.payeeId, p.currency, p.payerId, PAYEE, p.entryId, -sign * p.amountMinor);
      };
      const insert = (p: ValidPosting, effective: string | null, heldReason: string | null) => {
        insertPosting.run({
          ...p,
          reverses: p.reversesEntryId || null,
          receivedFrom: opts.receivedFrom,
          receivedAt,
          effective,
          heldReason,
        });
        if (effective !== null) {
          writeLines(p, effective);
          if (effective !== p.period) result.carried++;
        } else result.held++;
      };

      for (const p of postings) {
        const existing = this.#posting(p.entryId);
        if (existing) {
          const diff = differingFields(postingOfRow(existing), p);
          if (diff.length > 0)
            throw new LedgerConflictError(
              `entry ${JSON.stringify(p.entryId)} is already in the ledger with other content (${diff.map((f) => WIRE_NAMES[f]).join(", ")} differ${diff.length === 1 ? "s" : ""}); an entry id names one posting for good`,
            );
          result.duplicates++;
          continue;
        }
        known(p.payerId);
        known(p.payeeId);
        result.accepted++;
        if (p.kind === "reversal") {
          const original = this.#posting(p.reversesEntryId);
          if (!original) {
            insert(p, null, `waiting for entry ${JSON.stringify(p.reversesEntryId)}, which it reverses`);
            continue;
          }
          // Only reversals are ever held, and a reversal of a reversal is a mismatch: a known
          // original that passes is booked.
          const mismatch = reversalMismatch(p, postingOfRow(original));
          if (mismatch) throw new LedgerInputError(`reversal ${JSON.stringify(p.entryId)}: ${mismatch}`);
          const other = reversedBy.get(p.reversesEntryId) as { entry_id: string } | undefined;
          if (other)
            throw new LedgerConflictError(
              `reversal ${JSON.stringify(p.entryId)}: entry ${JSON.stringify(p.reversesEntryId)} is already reversed by ${JSON.stringify(other.entry_id)}`,
            );
          insert(p, effectiveOf(p.period), null);
          continue;
        }
        insert(p, effectiveOf(p.period), null);
        // Reversals that came before their original: the first that matches is booked now (by
        // entry id, so the outcome does not depend on their order of arrival); the others stay
        // held, saying why.
        let bookedReversal: string | undefined;
        for (const row of heldFor.all(p.entryId) as PostingRow[]) {
          const rev = postingOfRow(row);
          const why = bookedReversal
            ? `entry ${JSON.stringify(p.entryId)} is already reversed by ${JSON.stringify(bookedReversal)}`
            : reversalMismatch(rev, p);
          if (why) {
            rehold.run(why, rev.entryId);
            continue;
          }
          const effective = effectiveOf(rev.period);
          book.run(effective, rev.entryId);
          writeLines(rev, effective);
          if (effective !== rev.period) result.carried++;
          bookedReversal = rev.entryId;
        }
      }
      return result;
    });
  }

  /** One posting by entry id, with where it is counted ("" while held). */
  entry(entryId: string): (ValidPosting & { effectivePeriod: string; heldReason: string }) | undefined {
    const r = this.#posting(entryId);
    return r
      ? { ...postingOfRow(r), effectivePeriod: r.effective_period ?? "", heldReason: r.held_reason ?? "" }
      : undefined;
  }

  /** Postings of `period` or earlier that are in no statement, oldest period first. */
  held(upToPeriod: string): HeldEntry[] {
    const rows = this.#db.sqlite
      .prepare(
        "SELECT * FROM ledger_postings WHERE effective_period IS NULL AND period <= ? ORDER BY period, entry_id",
      )
      .safeIntegers(true)
      .all(upToPeriod) as PostingRow[];
    return rows.map((r) => ({ posting: postingOfRow(r), reason: r.held_reason ?? "" }));
  }

  #carriedIn(period: string): ValidPosting[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM ledger_postings WHERE effective_period = ? AND period <> ? ORDER BY entry_id")
      .safeIntegers(true)
      .all(period, period) as PostingRow[];
    return rows.map(postingOfRow);
  }

  #entries(period: string): bigint {
    const r = this.#db.sqlite
      .prepare("SELECT COUNT(*) AS n FROM ledger_postings WHERE effective_period = ?")
      .safeIntegers(true)
      .get(period) as { n: bigint };
    return r.n;
  }

  #regions(): Map<string, string> {
    const rows = this.#db.sqlite.prepare("SELECT id, region FROM ledger_institutions").all() as Array<{
      id: string;
      region: string;
    }>;
    return new Map(rows.map((r) => [r.id, r.region]));
  }

  /**
   * The period's line sums per institution, currency, counterparty and role, straight off the
   * lines' primary key (no sorting: SQLite walks the index in this order). `onInstitution` is
   * called as each institution's rows are done.
   */
  *#lineSums(
    period: string,
    institutionId?: string,
    currency?: string,
    onInstitution?: () => void,
  ): Generator<LineSum> {
    const where = ["period = ?"];
    const args: string[] = [period];
    if (institutionId !== undefined) {
      where.push("institution_id = ?");
      args.push(institutionId);
    }
    if (currency !== undefined) {
      where.push("currency = ?");
      args.push(currency);
    }
    const rows = this.#db.sqlite
      .prepare(
        `SELECT institution_id, currency, counterparty_id, role, SUM(amount_minor) AS sum, COUNT(*) AS n
         FROM ledger_lines WHERE ${where.join(" AND ")}
         GROUP BY institution_id, currency, counterparty_id, role
         ORDER BY institution_id, currency, counterparty_id, role`,
      )
      .safeIntegers(true)
      .iterate(...args) as IterableIterator<{
      institution_id: string;
      currency: string;
      counterparty_id: string;
      role: bigint;
      sum: bigint;
      n: bigint;
    }>;
    let last: string | undefined;
    for (const r of rows) {
      if (last !== undefined && r.institution_id !== last) onInstitution?.();
      last = r.institution_id;
      yield {
        institutionId: r.institution_id,
        currency: r.currency,
        counterpartyId: r.counterparty_id,
        role: Number(r.role) as Role,
        sumMinor: r.sum,
        lines: Number(r.n),
      };
    }
    if (last !== undefined) onInstitution?.();
  }

  /** Statements of a period computed from its lines now (whether settled or not). */
  #compute(
    period: string,
    onProgress?: (p: SettleProgress) => void,
  ): Omit<Settlement, "digest"> & { carriedInPostings: ValidPosting[] } {
    const regions = this.#regions();
    const regionOf = (id: string) => regions.get(id) ?? "";
    const total = regions.size;
    let done = 0;
    onProgress?.({ phase: "aggregating", done, total });
    const built = buildStatements(
      period,
      this.#lineSums(period, undefined, undefined, () => {
        done++;
        onProgress?.({ phase: "aggregating", done, total });
      }),
      regionOf,
    );
    const unbalanced = unbalancedCurrencies(built.statements);
    if (unbalanced.length > 0)
      throw new LedgerIntegrityError(
        `the ledger's lines for ${period} do not sum to zero (${unbalanced.map((u) => `${u.currency} ${u.sumMinor}`).join(", ")}); nothing was settled`,
      );
    const carriedInPostings = this.#carriedIn(period);
    return {
      period,
      ...built,
      entries: this.#entries(period),
      carriedIn: carriedInPostings.map((p) => p.entryId),
      carriedInPostings,
    };
  }

  /** The stored settlement of a period, checked against its stored digest. */
  #stored(period: string): SettleOutcome | undefined {
    const sql = this.#db.sqlite;
    const head = sql
      .prepare("SELECT settled_at, digest, entries FROM ledger_settlements WHERE period = ?")
      .safeIntegers(true)
      .get(period) as { settled_at: string; digest: string; entries: bigint } | undefined;
    if (!head) return undefined;
    const statements = this.#storedStatements(period);
    const regions = (
      sql
        .prepare(
          "SELECT region, currency, net_minor FROM ledger_settled_regions WHERE period = ? ORDER BY region, currency",
        )
        .safeIntegers(true)
        .all(period) as Array<{ region: string; currency: string; net_minor: bigint }>
    ).map((r) =>
      create(ledgerPb.RegionBalanceSchema, { region: r.region, currency: r.currency, netMinor: r.net_minor }),
    );
    const carriedInPostings = this.#carriedIn(period);
    const s = {
      period,
      statements,
      regions,
      entries: head.entries,
      carriedIn: carriedInPostings.map((p) => p.entryId),
    };
    const digest = settlementDigest(s);
    if (digest !== head.digest)
      throw new LedgerIntegrityError(
        `the stored settlement of ${period} no longer matches its digest (stored ${head.digest}, now ${digest})`,
      );
    return {
      ...s,
      digest,
      alreadySettled: true,
      dryRun: false,
      settledAt: new Date(head.settled_at),
      carriedInPostings,
      held: this.held(period),
    };
  }

  #storedStatements(period: string, institutionId?: string, currency?: string): ledgerPb.Statement[] {
    const sql = this.#db.sqlite;
    const filter = `${institutionId === undefined ? "" : " AND institution_id = @institutionId"}${currency === undefined ? "" : " AND currency = @currency"}`;
    const args = {
      period,
      ...(institutionId === undefined ? {} : { institutionId }),
      ...(currency === undefined ? {} : { currency }),
    };
    const heads = sql
      .prepare(
        `SELECT institution_id, currency, region, total_payable_minor, total_receivable_minor, net_minor
         FROM ledger_settled_statements WHERE period = @period${filter} ORDER BY institution_id, currency`,
      )
      .safeIntegers(true)
      .all(args) as Array<{
      institution_id: string;
      currency: string;
      region: string;
      total_payable_minor: bigint;
      total_receivable_minor: bigint;
      net_minor: bigint;
    }>;
    const lines = sql
      .prepare(
        `SELECT institution_id, currency, counterparty_id, counterparty_region, payable_minor, receivable_minor, net_minor, entries
         FROM ledger_settled_lines WHERE period = @period${filter} ORDER BY institution_id, currency, counterparty_id`,
      )
      .safeIntegers(true)
      .all(args) as Array<{
      institution_id: string;
      currency: string;
      counterparty_id: string;
      counterparty_region: string;
      payable_minor: bigint;
      receivable_minor: bigint;
      net_minor: bigint;
      entries: bigint;
    }>;
    const byKey = new Map<string, ledgerPb.StatementLine[]>();
    for (const l of lines) {
      const key = `${l.institution_id}\u0000${l.currency}`;
      const list = byKey.get(key) ?? [];
      list.push(
        create(ledgerPb.StatementLineSchema, {
          counterpartyId: l.counterparty_id,
          counterpartyRegion: l.counterparty_region,
          payableMinor: l.payable_minor,
          receivableMinor: l.receivable_minor,
          netMinor: l.net_minor,
          entries: Number(l.entries),
        }),
      );
      byKey.set(key, list);
    }
    return heads.map((h) =>
      create(ledgerPb.StatementSchema, {
        institutionId: h.institution_id,
        region: h.region,
        period,
        currency: h.currency,
        lines: byKey.get(`${h.institution_id}\u0000${h.currency}`) ?? [],
        totalPayableMinor: h.total_payable_minor,
        totalReceivableMinor: h.total_receivable_minor,
        netMinor: h.net_minor,
      }),
    );
  }

  /**
   * Settles a period: nets every institution's lines per counterparty and currency, checks they
   * sum to zero, and stores the statements, the regions' balances and the settled flag in one
   * transaction (a crash leaves the period either settled whole or not at all). A settled period
   * is returned as stored, with `alreadySettled`; a dry run computes without storing. A period
   * that has not ended is refused unless `allowOpenPeriod`; one that has not begun always is.
   */
  settle(period: string, opts: SettleOptions = {}): SettleOutcome {
    const now = opts.now ?? new Date();
    if (periodStart(period) > now)
      throw new LedgerStateError(
        `period ${period} has not begun yet (today is ${now.toISOString().slice(0, 10)})`,
      );
    const run = () => {
      const stored = this.#stored(period);
      if (stored) return stored;
      if (!opts.dryRun && !opts.allowOpenPeriod && periodEnd(period) > now)
        throw new LedgerStateError(
          `period ${period} has not ended (it ends ${periodEnd(period).toISOString()}); settle it after that, or allow an open period (--allow-open): postings for ${period} that arrive afterwards are then counted in the next open period`,
        );
      const computed = this.#compute(period, opts.onProgress);
      const { carriedInPostings, ...settlement } = computed;
      const digest = settlementDigest(settlement);
      const held = this.held(period);
      if (opts.dryRun) {
        opts.onProgress?.({ phase: "done", done: 0, total: 0 });
        return {
          ...settlement,
          digest,
          alreadySettled: false,
          dryRun: true,
          settledAt: undefined,
          carriedInPostings,
          held,
        };
      }
      opts.onProgress?.({ phase: "storing", done: 0, total: settlement.statements.length });
      this.#store(settlement, digest, now);
      opts.onProgress?.({
        phase: "done",
        done: settlement.statements.length,
        total: settlement.statements.length,
      });
      return {
        ...settlement,
        digest,
        alreadySettled: false,
        dryRun: false,
        settledAt: now,
        carriedInPostings,
        held,
      };
    };
    // A dry run reads one consistent snapshot; a settlement holds the write lock from the first
    // read to the commit, so no posting can slip in between the sums and the settled flag.
    return opts.dryRun ? this.#db.sqlite.transaction(run).deferred() : this.#db.transaction(run);
  }

  #store(s: Omit<Settlement, "digest">, digest: string, at: Date): void {
    const sql = this.#db.sqlite;
    const st = sql.prepare(
      `INSERT INTO ledger_settled_statements (period, institution_id, currency, region, total_payable_minor, total_receivable_minor, net_minor)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const line = sql.prepare(
      `INSERT INTO ledger_settled_lines (period, institution_id, currency, counterparty_id, counterparty_region, payable_minor, receivable_minor, net_minor, entries)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const region = sql.prepare(
      "INSERT INTO ledger_settled_regions (period, region, currency, net_minor) VALUES (?, ?, ?, ?)",
    );
    sql
      .prepare("INSERT INTO ledger_settlements (period, settled_at, digest, entries) VALUES (?, ?, ?, ?)")
      .run(s.period, at.toISOString(), digest, s.entries);
    for (const x of s.statements) {
      st.run(
        s.period,
        x.institutionId,
        x.currency,
        x.region,
        x.totalPayableMinor,
        x.totalReceivableMinor,
        x.netMinor,
      );
      for (const l of x.lines)
        line.run(
          s.period,
          x.institutionId,
          x.currency,
          l.counterpartyId,
          l.counterpartyRegion,
          l.payableMinor,
          l.receivableMinor,
          l.netMinor,
          l.entries,
        );
    }
    for (const r of s.regions) region.run(s.period, r.region, r.currency, r.netMinor);
  }

  /**
   * One institution's statement for a period in one currency: as settled, or as it stands. Without
   * a currency, the first (alphabetically) of those it has entries in; `currencies` lists them all.
   */
  statement(
    institutionId: string,
    period: string,
    currency = "",
  ): { statement: ledgerPb.Statement; settled: boolean; currencies: string[] } {
    return this.#db.sqlite
      .transaction(() => {
        const settled = this.isSettled(period);
        const currencies = (
          this.#db.sqlite
            .prepare(
              settled
                ? "SELECT DISTINCT currency FROM ledger_settled_statements WHERE period = ? AND institution_id = ? ORDER BY currency"
                : "SELECT DISTINCT currency FROM ledger_lines WHERE period = ? AND institution_id = ? ORDER BY currency",
            )
            .all(period, institutionId) as Array<{ currency: string }>
        ).map((r) => r.currency);
        const cur = currency || currencies[0] || "";
        let statement: ledgerPb.Statement | undefined;
        if (cur && currencies.includes(cur)) {
          if (settled) statement = this.#storedStatements(period, institutionId, cur)[0];
          else {
            const regions = this.#regions();
            statement = buildStatements(
              period,
              this.#lineSums(period, institutionId, cur),
              (id) => regions.get(id) ?? "",
            ).statements[0];
          }
        }
        statement ??= create(ledgerPb.StatementSchema, {
          institutionId,
          region: this.regionOf(institutionId) ?? "",
          period,
          currency: cur,
        });
        return { statement, settled, currencies };
      })
      .deferred();
  }

  /**
   * Every institution's net position in a period, and each region's (for the dashboard): as
   * settled, or as the lines stand now (an aggregation over the period's lines, about a second per
   * million postings).
   */
  positions(period: string): LedgerPositions {
    return this.#db.sqlite
      .transaction((): LedgerPositions => {
        const settled = this.isSettled(period);
        let statements: ledgerPb.Statement[];
        if (settled) statements = this.#storedStatements(period);
        else {
          const regions = this.#regions();
          statements = buildStatements(
            period,
            this.#lineSums(period),
            (id) => regions.get(id) ?? "",
          ).statements;
        }
        return {
          period,
          settled,
          institutions: statements.map((s) => ({
            institutionId: s.institutionId,
            region: s.region,
            currency: s.currency,
            payableMinor: s.totalPayableMinor,
            receivableMinor: s.totalReceivableMinor,
            netMinor: s.netMinor,
          })),
          regions: regionBalances(statements).map((r) => ({
            region: r.region,
            currency: r.currency,
            netMinor: r.netMinor,
          })),
        };
      })
      .deferred();
  }

  /** The periods settled so far, newest first, with their digests. */
  settlements(): Array<{ period: string; settledAt: Date; digest: string; entries: bigint }> {
    return (
      this.#db.sqlite
        .prepare("SELECT period, settled_at, digest, entries FROM ledger_settlements ORDER BY period DESC")
        .safeIntegers(true)
        .all() as Array<{ period: string; settled_at: string; digest: string; entries: bigint }>
    ).map((r) => ({
      period: r.period,
      settledAt: new Date(r.settled_at),
      digest: r.digest,
      entries: r.entries,
    }));
  }

  /**
   * Checks the whole ledger: every currency's lines sum to zero, and every booked posting has
   * exactly one debit and one equal credit. Reads every line (seconds for millions).
   */
  verify(): LedgerCheck {
    const sql = this.#db.sqlite;
    const unbalanced = (
      sql
        .prepare(
          "SELECT currency, SUM(amount_minor) AS s FROM ledger_lines GROUP BY currency HAVING SUM(amount_minor) <> 0 ORDER BY currency",
        )
        .safeIntegers(true)
        .all() as Array<{ currency: string; s: bigint }>
    ).map((r) => ({ currency: r.currency, sumMinor: r.s }));
    const entries = (
      sql
        .prepare(
          `SELECT entry_id FROM ledger_lines GROUP BY entry_id
           HAVING COUNT(*) <> 2 OR SUM(amount_minor) <> 0 OR MIN(amount_minor) <> -MAX(amount_minor)
           ORDER BY entry_id LIMIT 100`,
        )
        .all() as Array<{ entry_id: string }>
    ).map((r) => r.entry_id);
    const counts = sql
      .prepare(
        `SELECT (SELECT COUNT(*) FROM ledger_lines) AS lines,
                (SELECT COUNT(*) FROM ledger_postings) AS postings,
                (SELECT COUNT(*) FROM ledger_postings WHERE effective_period IS NOT NULL) AS booked`,
      )
      .get() as { lines: number; postings: number; booked: number };
    return {
      unbalancedCurrencies: unbalanced,
      unbalancedEntries: entries,
      missingLines: counts.booked * 2 - counts.lines,
      lines: counts.lines,
      postings: counts.postings,
    };
  }
}
