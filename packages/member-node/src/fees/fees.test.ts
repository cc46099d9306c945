// The borrowing member's copyright rule and ledger postings, over an IllStore on :memory: with the
// hooks the node wires: counts per journal and year against the rule, review over it (or a fee),
// a charge posted once when a loan is received or a copy downloaded, and reversals on a cancel.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type CopyrightConfig,
  createLogger,
  illPb,
  LEDGER_DESTINATION,
  LEDGER_POST_KIND,
  Outbox,
  postingsOfPayload,
} from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { afterEach, describe, expect, it } from "vitest";
import { IllStore, type RotaEntry, type TransitionChange } from "../ill/store.js";
import { memberMigrations } from "../store/migrations.js";
import { CopyrightCounter, isRecent, parsePublicationDate } from "./copyright.js";
import { MemberLedger } from "./ledger.js";

const { ServiceType, Status } = illPb;
const log = createLogger("test");
const CONTU: CopyrightConfig = {
  compliance: "US:CCG",
  maxPerTitle: 5,
  recentYears: 5,
  overLimit: "review",
  keepYears: 3,
};
const NATURE = "0028-0836";
const SCIENCE = "0036-8075";

class Member {
  clock = Date.parse("2026-03-10T09:00:00Z");
  readonly db = memoryDatabase(memberMigrations);
  readonly outbox = new Outbox(this.db);
  readonly copyright: CopyrightCounter;
  readonly ledger: MemberLedger;
  readonly store: IllStore;
  #n = 0;

  constructor(rule: CopyrightConfig = CONTU, payee = "nat") {
    this.copyright = new CopyrightCounter({ db: this.db, rule });
    this.ledger = new MemberLedger({
      db: this.db,
      outbox: this.outbox,
      agencyId: "north-a",
      copyright: this.copyright,
      copyrightPayee: () => payee,
      log,
    });
    this.store = new IllStore({
      db: this.db,
      outbox: this.outbox,
      agencyId: "north-a",
      now: () => new Date(this.clock),
      newId: () => `r${++this.#n}`,
      copyrightCheck: this.copyright.check,
      onTransition: [this.copyright.onTransition, this.ledger.onTransition],
    });
  }

  /** A copy of an article from a journal, by a new patron each time (no duplicates). */
  copy(issn: string, o: { published?: string; title?: string; type?: illPb.ServiceType } = {}) {
    return this.store.createBorrowing({
      patronId: `p${this.#n + 1}`,
      serviceType: o.type ?? ServiceType.COPY,
      bibliographicInfo: {
        title: o.title ?? `Journal ${issn}`,
        titleOfComponent: `Article ${this.#n + 1}`,
        bibliographicItemId: [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: issn }],
      },
      copyrightCompliance: "US:CCG",
      ...(o.published ? { publicationDate: o.published } : {}),
    });
  }

  send(id: string, rota: RotaEntry[] = [lender("south-a", "8.50")]) {
    return this.store.applyAction(id, "send", { rota }).request;
  }

  /** The current lender's SupplyingAgencyMessage with `status`, applied. */
  lenderSays(
    id: string,
    event: "loaned" | "copy_completed" | "unfilled",
    status: illPb.Status,
    messageId: string,
  ) {
    const r = this.store.get(id)!;
    const msg = create(illPb.SupplyingAgencyMessageSchema, {
      header: {
        requestingAgencyRequestId: r.requestingAgencyRequestId ?? "",
        supplyingAgencyRequestId: "s1",
        messageId,
      },
      messageInfo: { reasonForMessage: illPb.ReasonForMessage.STATUS_CHANGE },
      statusInfo: { status, dueDate: timestampFromDate(new Date(this.clock + 28 * 86_400_000)) },
    });
    return this.store.applyIncoming(id, event, msg, messageId);
  }

  ledgerMessages() {
    const out: Array<{ messageId: string; entryIds: string[] }> = [];
    for (
      let m = this.outbox.nextDue(LEDGER_DESTINATION);
      m && !("waitMs" in m);
      m = this.outbox.nextDue(LEDGER_DESTINATION)
    ) {
      expect(m.kind).toBe(LEDGER_POST_KIND);
      out.push({
        messageId: m.messageId,
        entryIds: postingsOfPayload(m.payload).postings.map((p) => p.entryId),
      });
      this.outbox.markDelivered(m.seq);
    }
    return out;
  }
}

function lender(agencyId: string, amount?: string, currency = "EUR"): RotaEntry {
  return {
    agencyId,
    reason: "test",
    region: "south",
    ...(amount !== undefined ? { charge: { currency, amount } } : {}),
  };
}

let m: Member;
afterEach(() => m?.db.close());

describe("the copyright rule (CONTU: five a year from one journal's last five years)", () => {
  it("sends five copies from one journal and stops the sixth for review, saying why", () => {
    m = new Member();
    for (let i = 0; i < 5; i++) {
      const r = m.copy(NATURE);
      expect(r.state).toBe("validated");
      expect(m.send(r.id).state).toBe("sent_to_supplier");
    }
    const sixth = m.copy(NATURE);
    expect(sixth.state).toBe("review");
    expect(sixth.attention).toMatch(
      /^copyright: a 6th copy from ISSN 0028-0836 in 2026: the rule allows at most 5 articles a year/,
    );
    const last = m.store.timeline(sixth.id).at(-1)!;
    expect(last.detail.effects).toEqual(["notify_staff_copyright"]);
    expect(last.detail.note).toMatch(/6th copy from ISSN 0028-0836/);
    expect(m.copyright.list(2026, new Date(m.clock))).toEqual([
      {
        journalKey: NATURE,
        issn: NATURE,
        title: `Journal ${NATURE}`,
        year: 2026,
        count: 5,
        pending: 0,
        overLimit: 0,
      },
    ]);
    // Staff let it go: it is counted, over the limit, and the attention is cleared.
    const approved = m.store.applyAction(sixth.id, "approve").request;
    expect(approved.state).toBe("validated");
    expect(approved.attention).toBeUndefined();
    m.send(sixth.id);
    expect(m.copyright.list(2026, new Date(m.clock))[0]).toMatchObject({
      count: 6,
      pending: 0,
      overLimit: 1,
    });
  });

  it("a duplicate that is also over the rule says both in review", () => {
    m = new Member();
    for (let i = 0; i < 5; i++) m.send(m.copy(NATURE).id);
    const first = m.store.createBorrowing({
      patronId: "same-patron",
      serviceType: ServiceType.COPY,
      bibliographicInfo: {
        title: `Journal ${NATURE}`,
        titleOfComponent: "The same article",
        bibliographicItemId: [
          { bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: NATURE },
        ],
      },
      copyrightCompliance: "US:CCG",
    });
    expect(first.state).toBe("review");
    const again = m.store.createBorrowing({
      patronId: "same-patron",
      serviceType: ServiceType.COPY,
      bibliographicInfo: {
        title: `Journal ${NATURE}`,
        titleOfComponent: "The same article",
        bibliographicItemId: [
          { bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: NATURE },
        ],
      },
      copyrightCompliance: "US:CCG",
    });
    expect(again.state).toBe("review");
    expect(again.duplicateOf).toBe(first.id);
    expect(m.store.timeline(again.id).at(-1)!.detail.effects).toEqual(["notify_staff_duplicate"]);
    expect(again.attention).toMatch(/^copyright: a 6th copy from ISSN 0028-0836/);
  });

  it("does not count another journal, another year, an old article or a loan", () => {
    m = new Member();
    for (let i = 0; i < 5; i++) m.send(m.copy(NATURE).id);
    expect(m.copy(SCIENCE).state).toBe("validated");
    // Published more than five years before the request: not counted.
    expect(m.copy(NATURE, { published: "2020" }).state).toBe("validated");
    expect(m.copy(NATURE, { published: "2021-03-09" }).state).toBe("validated");
    expect(m.copy(NATURE, { published: "2021" }).state).toBe("review");
    expect(
      m.store.createBorrowing({
        patronId: "p-loan",
        serviceType: ServiceType.LOAN,
        bibliographicInfo: {
          title: "Nature",
          bibliographicItemId: [
            { bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: NATURE },
          ],
        },
      }).state,
    ).toBe("validated");
    // A new calendar year starts a new count.
    m.clock = Date.parse("2027-01-02T09:00:00Z");
    expect(m.copy(NATURE).state).toBe("validated");
  });

  it("counts requests still waiting for their rota, and releases one that ends cancelled or unfilled", () => {
    m = new Member();
    const waiting = Array.from({ length: 5 }, () => m.copy(NATURE));
    expect(m.copyright.list(undefined, new Date(m.clock))[0]).toMatchObject({ count: 0, pending: 5 });
    expect(m.copy(NATURE).state).toBe("review");
    m.store.applyAction(waiting[0]!.id, "cancel");
    const sent = m.send(waiting[1]!.id);
    m.lenderSays(sent.id, "unfilled", Status.UNFILLED, "m-unfilled");
    expect(m.store.get(sent.id)!.state).toBe("end_of_rota");
    expect(m.copyright.list(undefined, new Date(m.clock))[0]).toMatchObject({ count: 0, pending: 3 });
    expect(m.copy(NATURE).state).toBe("validated");
  });

  it("with over_limit = fee lets the sixth copy go, carrying the fee, posted when the copy is downloaded", () => {
    m = new Member({ ...CONTU, overLimit: "fee", fee: { currency: "EUR", minor: 1000n } });
    for (let i = 0; i < 5; i++) m.send(m.copy(NATURE).id);
    const sixth = m.copy(NATURE);
    expect(sixth.state).toBe("validated");
    expect(m.copyright.use(sixth.id)).toMatchObject({
      overLimit: true,
      fee: { currency: "EUR", minor: 1000n },
    });
    m.send(sixth.id);
    m.lenderSays(sixth.id, "copy_completed", Status.COPY_COMPLETED, "m-copy");
    expect(m.ledger.postings(sixth.id)).toEqual([]);
    const made = m.ledger.chargeCopy(m.store.get(sixth.id)!, new Date(m.clock));
    expect(made.map((p) => [p.entryId, p.kind, p.payeeId, p.amountMinor])).toEqual([
      [`north-a:${sixth.id}/charge`, "copy", "south-a", 850n],
      [`north-a:${sixth.id}/copyright`, "copyright", "nat", 1000n],
    ]);
    // A second download posts nothing.
    expect(m.ledger.chargeCopy(m.store.get(sixth.id)!, new Date(m.clock))).toEqual([]);
    expect(m.ledger.postings(sixth.id)).toHaveLength(2);
  });

  it("keeps three years of counts", () => {
    m = new Member();
    m.clock = Date.parse("2024-05-01T09:00:00Z");
    m.send(m.copy(NATURE).id);
    m.clock = Date.parse("2026-05-01T09:00:00Z");
    m.send(m.copy(NATURE).id);
    expect(m.copyright.list(undefined, new Date(m.clock)).map((c) => c.year)).toEqual([2026, 2024]);
    expect(m.copyright.list(undefined, new Date("2027-01-01T00:00:00Z")).map((c) => c.year)).toEqual([2026]);
  });

  it("reads publication dates and the recent window", () => {
    expect(parsePublicationDate("2024")).toEqual({ year: 2024, month: 1, day: 1 });
    expect(parsePublicationDate("2024-02-30")).toBeUndefined();
    expect(parsePublicationDate("May 2024")).toBeUndefined();
    const at = new Date("2026-03-10T00:00:00Z");
    expect(isRecent("2021", at, 5)).toBe(true);
    expect(isRecent("2020", at, 5)).toBe(false);
    expect(isRecent("2021-03-10", at, 5)).toBe(true);
    expect(isRecent("2021-03-09", at, 5)).toBe(false);
    expect(isRecent("", at, 5)).toBe(true);
  });
});

describe("ledger postings at the borrower", () => {
  let patrons = 0;
  function loan(charge?: string) {
    const r = m.store.createBorrowing({
      patronId: `loan-${++patrons}`,
      serviceType: ServiceType.LOAN,
      bibliographicInfo: { title: "Middlemarch" },
    });
    m.send(r.id, [lender("north-b", "12.00"), lender("south-a", charge)]);
    return r.id;
  }

  it("posts the charge of the lender that supplied the loan when it is received, once", () => {
    m = new Member();
    const id = loan("8.50");
    // north-b has no copy: the second lender supplies it.
    m.lenderSays(id, "unfilled", Status.UNFILLED, "m1");
    m.lenderSays(id, "loaned", Status.LOANED, "m2");
    expect(m.ledger.postings(id)).toEqual([]);
    const received = m.store.applyAction(id, "receive");
    const [p, ...more] = m.ledger.postings(id);
    expect(more).toEqual([]);
    expect(p).toMatchObject({
      entryId: `north-a:${id}/charge`,
      transactionId: id,
      kind: "loan",
      payerId: "north-a",
      payeeId: "south-a",
      currency: "EUR",
      amountMinor: 850n,
      period: "2026-03",
    });
    expect(p!.postedAt).toBe(received.entry.at.toISOString());
    expect(p!.note).toMatch(/loan of Middlemarch supplied by south-a/);
    // The same transition seen again (a replay) posts nothing more; the outbox has it once.
    const change: TransitionChange = {
      request: received.request,
      from: "shipped",
      to: "received",
      event: "receive",
      entry: received.entry,
    };
    m.ledger.onTransition(change);
    expect(m.ledger.postings(id)).toHaveLength(1);
    expect(m.ledgerMessages()).toEqual([
      { messageId: `ledger:north-a:${id}/charge`, entryIds: [`north-a:${id}/charge`] },
    ]);
    expect(m.store.applyAction(id, "return").request.state).toBe("returned");
    expect(m.ledger.postings(id)).toHaveLength(1);
  });

  it("posts nothing for a free loan or a lender without fees", () => {
    m = new Member();
    for (const charge of ["0.00", undefined]) {
      const id = loan(charge);
      m.lenderSays(id, "unfilled", Status.UNFILLED, `u-${id}`);
      m.lenderSays(id, "loaned", Status.LOANED, `l-${id}`);
      m.store.applyAction(id, "receive");
      expect(m.ledger.postings(id)).toEqual([]);
    }
    expect(m.ledgerMessages()).toEqual([]);
  });

  it("reverses what was posted when the request ends cancelled, once", () => {
    m = new Member();
    const id = loan("8.50");
    m.lenderSays(id, "unfilled", Status.UNFILLED, "m1");
    m.lenderSays(id, "loaned", Status.LOANED, "m2");
    const received = m.store.applyAction(id, "receive");
    const cancelled: TransitionChange = {
      request: { ...received.request, state: "cancelled" },
      from: "received",
      to: "cancelled",
      event: "cancel",
      entry: { ...received.entry, at: new Date(m.clock + 86_400_000) },
    };
    m.ledger.onTransition(cancelled);
    m.ledger.onTransition(cancelled);
    expect(m.ledger.reverseAll(id, "again", new Date(m.clock))).toEqual([]);
    const postings = m.ledger.postings(id);
    expect(postings.map((p) => [p.entryId, p.kind, p.reversesEntryId, p.payeeId, p.amountMinor])).toEqual([
      [`north-a:${id}/charge`, "loan", "", "south-a", 850n],
      [`north-a:${id}/charge/reversal`, "reversal", `north-a:${id}/charge`, "south-a", 850n],
    ]);
    expect(postings[1]!.note).toMatch(/^reverses loan 8.50 EUR: request cancelled \(cancel\)/);
    expect(m.ledgerMessages().map((x) => x.entryIds[0])).toEqual([
      `north-a:${id}/charge`,
      `north-a:${id}/charge/reversal`,
    ]);
  });

  it("cancelling a request nothing was posted for posts nothing", () => {
    m = new Member();
    const id = loan("8.50");
    m.store.applyAction(id, "cancel");
    expect(m.ledger.postings()).toEqual([]);
  });

  it("rolls the transition back when a posting cannot be made", () => {
    m = new Member();
    const id = loan("8.50");
    m.lenderSays(id, "unfilled", Status.UNFILLED, "m1");
    m.lenderSays(id, "loaned", Status.LOANED, "m2");
    m.db.sqlite.exec("DROP TABLE ledger_postings");
    expect(() => m.store.applyAction(id, "receive")).toThrow(/ledger_postings/);
    expect(m.store.get(id)!.state).toBe("shipped");
  });
});
