// The charges this member owes as a borrower, posted where the service is taken: when staff mark
// a loan received, and when the borrower first downloads a copy. The charge is the one the broker
// put in the rota entry of the lender that supplied it (the price the request accepted under its
// maximum); a copy over the copyright rule with over_limit = "fee" also posts the copyright fee.
// A posting is written to the member's ledger table and its outbox queue in the transaction of the
// transition that causes it, under a stable entry id, so a retry or a replayed message posts it
// once. A cancellation after a charge was posted posts its reversal.
import {
  type Database,
  entryIdOf,
  formatMoney,
  LEDGER_DESTINATION,
  LEDGER_POST_KIND,
  type Logger,
  MAX_NOTE_LENGTH,
  type Money,
  type Outbox,
  type PostingKind,
  type PostingRow,
  parseAmount,
  periodOf,
  postingMessage,
  postingOfRow,
  postingPayload,
  reversalIdOf,
  type ValidPosting,
} from "@lrs/shared";
import type { IllRequest, TransitionChange } from "../ill/store.js";
import type { CopyrightCounter } from "./copyright.js";

export interface MemberLedgerOptions {
  readonly db: Database;
  readonly outbox: Outbox;
  /** This member: the payer of every posting it makes. */
  readonly agencyId: string;
  readonly copyright: CopyrightCounter;
  /** Who is paid the copyright fee: the configured rights holder, else the national center ("" while unknown). */
  readonly copyrightPayee: () => string;
  readonly log: Logger;
}

/** The title of a request for a posting's note, short. */
function titleOf(r: IllRequest): string {
  const bib = r.bibliographicInfo;
  const t = bib.titleOfComponent
    ? `${bib.titleOfComponent} (${bib.title})`
    : bib.title || r.clusterId || r.id;
  return t.length > 120 ? `${t.slice(0, 119)}…` : t;
}

export class MemberLedger {
  readonly #o: MemberLedgerOptions;

  constructor(o: MemberLedgerOptions) {
    this.#o = o;
  }

  /**
   * The IllStore's onTransition hook: a loan marked received is charged; a request that ends
   * cancelled after a charge gets its reversals.
   */
  onTransition = (change: TransitionChange): void => {
    const r = change.request;
    if (r.role !== "borrower") return;
    if (change.event === "receive" && change.to === "received") this.#charge(r, "loan", change.entry.at);
    else if (change.to === "cancelled" && change.from !== "cancelled")
      this.reverseAll(r.id, `request cancelled (${change.event})`, change.entry.at);
  };

  /**
   * The copy of a request was downloaded: post the lender's charge for it (and the copyright fee
   * it carries). Call inside the transaction that records the download; a second download posts
   * nothing. Returns the postings made now.
   */
  chargeCopy(request: IllRequest, at: Date): ValidPosting[] {
    return this.#o.db.transaction(() => this.#charge(request, "copy", at));
  }

  #charge(r: IllRequest, kind: "loan" | "copy", at: Date): ValidPosting[] {
    const made: ValidPosting[] = [];
    const lender = r.rota[r.rotaPosition];
    const charge = lender?.charge;
    if (lender && charge) {
      const minor = parseAmount(charge.amount, charge.currency);
      if (minor > 0n) {
        const p = this.#post({
          entryId: entryIdOf(this.#o.agencyId, r.id, "charge"),
          transactionId: r.id,
          kind,
          payeeId: lender.agencyId,
          money: { currency: charge.currency, minor },
          at,
          note: `${kind} of ${titleOf(r)} supplied by ${lender.agencyId}`,
        });
        if (p) made.push(p);
      }
    }
    if (kind === "copy") {
      const use = this.#o.copyright.use(r.id);
      if (use?.fee && use.overLimit && use.state !== "released") {
        const payee = this.#o.copyrightPayee();
        if (payee === "" || payee === this.#o.agencyId)
          this.#o.log.error(
            { requestId: r.id, fee: formatMoney(use.fee) },
            "copyright fee not posted: no rights holder configured and the national center is not known yet",
          );
        else {
          const p = this.#post({
            entryId: entryIdOf(this.#o.agencyId, r.id, "copyright"),
            transactionId: r.id,
            kind: "copyright",
            payeeId: payee,
            money: use.fee,
            at,
            note: `copyright fee for ${titleOf(r)}: over the rule (${use.journalKey}, ${use.year})`,
          });
          if (p) made.push(p);
        }
      }
    }
    return made;
  }

  /**
   * Reverses every posting of a transaction not reversed yet (each reversal once, by its stable
   * id). Returns the reversals made now.
   */
  reverseAll(transactionId: string, why: string, at: Date): ValidPosting[] {
    return this.#o.db.transaction(() => {
      const made: ValidPosting[] = [];
      for (const p of this.postings(transactionId)) {
        if (p.kind === "reversal") continue;
        const r = this.#post({
          entryId: reversalIdOf(p.entryId),
          transactionId,
          kind: "reversal",
          payeeId: p.payeeId,
          money: { currency: p.currency, minor: p.amountMinor },
          at,
          reverses: p.entryId,
          note: `reverses ${p.kind} ${formatMoney({ currency: p.currency, minor: p.amountMinor })}: ${why}`,
        });
        if (r) made.push(r);
      }
      return made;
    });
  }

  /**
   * A loan to one of this library's readers at another library (reciprocal borrowing), charged
   * as that library's visiting-reader policy says. Call inside the transaction that records the
   * loan notice; the entry id is the loan's, so a notice applied twice posts once.
   */
  chargeVisitLoan(o: {
    loanId: string;
    ownerId: string;
    money: Money;
    at: Date;
    title: string;
  }): ValidPosting | undefined {
    if (o.money.minor <= 0n) return undefined;
    return this.#post({
      entryId: entryIdOf(this.#o.agencyId, o.loanId, "charge"),
      transactionId: o.loanId,
      kind: "loan",
      payeeId: o.ownerId,
      money: o.money,
      at: o.at,
      note: `visiting-reader loan of ${o.title || "an item"} at ${o.ownerId}`,
    });
  }

  /** Writes a posting and queues it for the regional center; undefined when its entry id is there already. */
  #post(o: {
    entryId: string;
    transactionId: string;
    kind: PostingKind;
    payeeId: string;
    money: Money;
    at: Date;
    reverses?: string;
    note: string;
  }): ValidPosting | undefined {
    const p: ValidPosting = {
      entryId: o.entryId,
      transactionId: o.transactionId,
      kind: o.kind,
      payerId: this.#o.agencyId,
      payeeId: o.payeeId,
      currency: o.money.currency,
      amountMinor: o.money.minor,
      postedAt: o.at.toISOString(),
      period: periodOf(o.at),
      reversesEntryId: o.reverses ?? "",
      // Every hop refuses a longer note (validatePosting); a title is not worth a lost charge.
      note: o.note.slice(0, MAX_NOTE_LENGTH),
    };
    const info = this.#o.db.sqlite
      .prepare(
        `INSERT INTO ledger_postings (entry_id, transaction_id, kind, payer_id, payee_id, currency, amount_minor,
           posted_at, period, reverses_entry_id, note)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (entry_id) DO NOTHING`,
      )
      .run(
        p.entryId,
        p.transactionId,
        p.kind,
        p.payerId,
        p.payeeId,
        p.currency,
        p.amountMinor,
        p.postedAt,
        p.period,
        p.reversesEntryId || null,
        p.note,
      );
    if (info.changes === 0) return undefined;
    this.#o.outbox.enqueue(
      LEDGER_DESTINATION,
      LEDGER_POST_KIND,
      postingPayload(postingMessage(p)),
      `ledger:${p.entryId}`,
    );
    this.#o.log.info(
      { entryId: p.entryId, kind: p.kind, payee: p.payeeId, amount: formatMoney(o.money) },
      "ledger posting made",
    );
    return p;
  }

  /** Postings of one transaction (a borrowing request), or all, oldest first. */
  postings(transactionId?: string): ValidPosting[] {
    const rows = this.#o.db.sqlite
      .prepare(
        "SELECT * FROM ledger_postings WHERE (? IS NULL OR transaction_id = ?) ORDER BY posted_at, rowid",
      )
      .all(transactionId ?? null, transactionId ?? null) as PostingRow[];
    return rows.map(postingOfRow);
  }
}
