// Fees and copyright through real processes: lenders publish fee schedules in the directory, the
// brokers price every rota entry and leave out lenders over the borrower's maximum cost; a loan
// received (and a copy downloaded) posts the lender's charge, which travels member → regional
// center → national center once; the sixth copy of one journal in a year waits for staff review.
import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Federation, FederationSpec } from "@lrs/dev-env";
import { copyPb, illPb, ledgerPb } from "@lrs/shared";
import BetterSqlite3 from "better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  act,
  BOTH_REGIONS_ISBNS,
  ILL_SPEC,
  isbn,
  lenderConfig,
  staff,
  startIllFederation,
  waitFor,
} from "./ill-harness.js";

/** Acta cytologica and Acta anatomica (NLM): serials held by north-b and south-a. */
const JOURNAL = "0001-5547";
const OTHER_JOURNAL = "0001-5180";

const FEES_SPEC: FederationSpec = {
  ...ILL_SPEC,
  regions: ILL_SPEC.regions.map((r) => ({
    ...r,
    members: r.members.map((m) => {
      switch (m.id) {
        case "north-a":
          return {
            ...m,
            extraConfig: `[ill]\ntimer_interval = "200ms"\nmaximum_cost = "10.00 EUR"\n`,
          };
        case "north-b":
          return {
            ...m,
            extraConfig: `${lenderConfig("3s")}\n[fees]\ncurrency = "EUR"\nloan = "12.00"\ncopy = "11.00"\n`,
          };
        case "south-a":
          return {
            ...m,
            extraConfig: `${lenderConfig("3s")}\n[fees]\ncurrency = "EUR"\nloan = "8.50"\ncopy = "3.00"\nper_page = "0.10"\nrush_surcharge = "5.00"\n`,
          };
        default:
          return m;
      }
    }),
  })),
};

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startIllFederation(FEES_SPEC));
});
afterAll(async () => {
  await destroy?.();
});

/** Rows of a node's database, read while it runs (WAL lets a reader in beside the writer). */
function rows<T>(node: string, sql: string, ...params: unknown[]): T[] {
  const db = new BetterSqlite3(join(fed.node(node).dataDir, "node.db"), {
    readonly: true,
    fileMustExist: true,
  });
  try {
    return db.prepare(sql).all(...params) as T[];
  } finally {
    db.close();
  }
}

async function until<T>(what: string, fn: () => T | Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (err) {
      if (Date.now() > end) throw err;
    }
    if (Date.now() > end)
      throw new Error(`waited ${timeoutMs} ms for ${what}; last: ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

type Posting = { entry_id: string; kind: string; payee_id: string; currency: string; amount_minor: number };

const charge = (c: { charge?: { currencyCode: string; monetaryValue: string } | undefined }) =>
  c.charge ? `${c.charge.monetaryValue} ${c.charge.currencyCode}` : null;

describe("fees across the federation", () => {
  it("prices every lender and leaves out those over the maximum cost, saying so", async () => {
    // The maximum is north-a's [ill] maximum_cost: 10.00 EUR.
    const r = (
      await staff(fed, "north-a", (c) =>
        c.borrow(
          {
            itemIds: isbn(BOTH_REGIONS_ISBNS[0]!),
            serviceType: illPb.ServiceType.LOAN,
            note: "scenario:no-answer",
            patronId: "p-price",
          },
          { timeoutMs: 30_000 },
        ),
      )
    ).request!;
    expect(r.rota.map((c) => [c.agencyId, charge(c)])).toEqual([["south-a", "8.50 EUR"]]);
    expect(r.rota[0]!.reason).toMatch(/charges 8\.50 EUR/);
    const northB = r.excluded.find((c) => c.agencyId === "north-b");
    expect(northB?.reason).toBe("charges 12.00 EUR, over the maximum 10.00 EUR");
    expect(r.excluded.find((c) => c.agencyId === "north-c")?.reason).toMatch(/does not lend items/);

    // As staff see it: the CLI's JSON carries each entry's charge.
    const node = fed.node("north-a");
    const shown = JSON.parse(
      await fed.cli(node, ["ill", "show", r.id, "--json", "--config", node.config]),
    ) as {
      rota: Array<{ agencyId: string; charge: string | null }>;
      excluded: Array<{ agencyId: string; charge: string | null; reason: string }>;
    };
    expect(shown.rota).toEqual([expect.objectContaining({ agencyId: "south-a", charge: "8.50 EUR" })]);
    expect(shown.excluded).toEqual(
      expect.arrayContaining([expect.objectContaining({ agencyId: "north-b", charge: "12.00 EUR" })]),
    );
    await act(fed, "north-a", r.id, "cancel");

    // Rush costs south-a's surcharge: 13.50 is over 10.00, so nobody is left.
    const rush = (
      await staff(fed, "north-a", (c) =>
        c.borrow(
          {
            itemIds: isbn(BOTH_REGIONS_ISBNS[1]!),
            serviceType: illPb.ServiceType.LOAN,
            serviceLevel: "Rush",
            patronId: "p-rush",
          },
          { timeoutMs: 30_000 },
        ),
      )
    ).request!;
    expect(rush.status).toBe("end_of_rota");
    expect(rush.excluded.find((c) => c.agencyId === "south-a")?.reason).toBe(
      "charges 13.50 EUR, over the maximum 10.00 EUR",
    );

    // A request's own maximum overrides the default; another currency leaves every priced lender out.
    const dear = (
      await staff(fed, "north-a", (c) =>
        c.borrow(
          {
            itemIds: isbn(BOTH_REGIONS_ISBNS[2]!),
            serviceType: illPb.ServiceType.LOAN,
            serviceLevel: "Rush",
            maximumCosts: { currencyCode: "EUR", monetaryValue: "20.00" },
            note: "scenario:no-answer",
            patronId: "p-dear",
          },
          { timeoutMs: 30_000 },
        ),
      )
    ).request!;
    expect(dear.rota.map((c) => [c.agencyId, charge(c)])).toEqual([
      ["north-b", "12.00 EUR"],
      ["south-a", "13.50 EUR"],
    ]);
    await act(fed, "north-a", dear.id, "cancel");
    const usd = (
      await staff(fed, "north-a", (c) =>
        c.borrow(
          {
            itemIds: isbn(BOTH_REGIONS_ISBNS[3]!),
            serviceType: illPb.ServiceType.LOAN,
            maximumCosts: { currencyCode: "USD", monetaryValue: "100.00" },
            patronId: "p-usd",
          },
          { timeoutMs: 30_000 },
        ),
      )
    ).request!;
    expect(usd.status).toBe("end_of_rota");
    expect(usd.excluded.find((c) => c.agencyId === "south-a")?.reason).toBe(
      "charges 8.50 EUR, not in the maximum's currency (100.00 USD)",
    );
  });

  it("posts the lender's charge once when the loan is received, and it reaches the regional and national centers", async () => {
    const r = (
      await staff(fed, "north-a", (c) =>
        c.borrow(
          {
            itemIds: isbn(BOTH_REGIONS_ISBNS[4]!),
            serviceType: illPb.ServiceType.LOAN,
            note: "scenario:loaned",
            patronId: "p-loan",
          },
          { timeoutMs: 30_000 },
        ),
      )
    ).request!;
    await waitFor(fed, "north-a", r.id, "shipped");
    const entryId = `north-a:${r.id}/charge`;
    expect(rows<Posting>("north-a", "SELECT * FROM ledger_postings WHERE transaction_id = ?", r.id)).toEqual(
      [],
    );
    await act(fed, "north-a", r.id, "receive");
    const [posted, ...more] = rows<Posting & { period: string }>(
      "north-a",
      "SELECT * FROM ledger_postings WHERE transaction_id = ?",
      r.id,
    );
    expect(more).toEqual([]);
    expect(posted).toMatchObject({
      entry_id: entryId,
      kind: "loan",
      payee_id: "south-a",
      currency: "EUR",
      amount_minor: 850,
    });
    await act(fed, "north-a", r.id, "return");
    await waitFor(fed, "north-a", r.id, "completed");
    expect(rows("north-a", "SELECT * FROM ledger_postings WHERE transaction_id = ?", r.id)).toHaveLength(1);

    // The regional center has it (from north-a) and has passed it on.
    await until(
      "north-rc to forward the posting",
      () =>
        rows<{ received_from: string; delivered_at: string | null }>(
          "north-rc",
          `SELECT r.received_from, o.delivered_at FROM ledger_relay r
           JOIN outbox o ON o.message_id = 'ledger:' || r.entry_id WHERE r.entry_id = ?`,
          entryId,
        ),
      (x) => x.length === 1 && x[0]!.delivered_at !== null,
    );
    // The national center's statement of north-a counts it against south-a.
    const statement = await until(
      "the national center's statement",
      () =>
        fed.withClient("nat", ledgerPb.LedgerService, (c) =>
          c.getStatement({ institutionId: "north-a", period: posted!.period }),
        ),
      (s) => (s.statement?.lines ?? []).some((l) => l.counterpartyId === "south-a"),
    );
    const line = statement.statement!.lines.find((l) => l.counterpartyId === "south-a")!;
    expect(line.payableMinor).toBe(850n);
  });

  it("refuses a member posting for another payer, naming the entry", async () => {
    const posting = {
      entryId: "north-b:r-x/charge",
      transactionId: "r-x",
      kind: "loan",
      payerId: "north-b",
      payeeId: "north-a",
      currency: "EUR",
      amountMinor: 100n,
      postedAt: { seconds: BigInt(Math.floor(Date.now() / 1000)), nanos: 0 },
      period: new Date().toISOString().slice(0, 7),
    };
    const err = await fed
      .withClient(
        "north-rc",
        ledgerPb.LedgerService,
        (c) => c.postEntries({ postings: [posting] }),
        "north-a",
      )
      .then(
        () => undefined,
        (e: unknown) => ConnectError.from(e),
      );
    expect(err?.code).toBe(Code.PermissionDenied);
    expect(err?.rawMessage).toMatch(
      /entry "north-b:r-x\/charge"\): payer is north-b; north-a may post its own charges only/,
    );
  });

  it("sends five copies from one journal this year and holds the sixth for review; another journal goes", async () => {
    const year = String(new Date().getUTCFullYear());
    const copy = (issn: string, patron: string) =>
      staff(fed, "north-a", (c) =>
        c.borrow(
          {
            itemIds: [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: issn }],
            serviceType: illPb.ServiceType.COPY,
            titleOfComponent: `An article for ${patron}`,
            pages: "1-10",
            publicationDate: year,
            note: "scenario:copy",
            patronId: patron,
          },
          { timeoutMs: 30_000 },
        ),
      ).then((res) => res.request!);
    const five = [];
    for (let i = 1; i <= 5; i++) {
      const r = await copy(JOURNAL, `p-copy-${i}`);
      expect(r.status, r.attention).not.toBe("review");
      // north-b's copy (11.00) is over the maximum; south-a's is 3.00 + 10 pages × 0.10.
      expect(r.rota.map((c) => [c.agencyId, charge(c)])).toEqual([["south-a", "4.00 EUR"]]);
      five.push(r);
    }
    const sixth = await copy(JOURNAL, "p-copy-6");
    expect(sixth.status).toBe("review");
    expect(sixth.attention).toMatch(
      /^copyright: a 6th copy from ISSN 0001-5547 in \d{4}: the rule allows at most 5 articles a year/,
    );
    expect(sixth.timeline.at(-1)?.effects).toEqual(["notify_staff_copyright"]);
    const other = await copy(OTHER_JOURNAL, "p-copy-other");
    expect(other.status).not.toBe("review");

    const node = fed.node("north-a");
    const counts = JSON.parse(
      await fed.cli(node, ["ill", "copyright", "--year", year, "--json", "--config", node.config]),
    ) as { limit: number; counts: Array<{ issn: string; count: number; pending: number; left: number }> };
    expect(counts.limit).toBe(5);
    const journal = counts.counts.find((c) => c.issn === JOURNAL)!;
    expect(journal.count + journal.pending).toBe(5);
    expect(journal.left).toBe(0);
    expect(counts.counts.find((c) => c.issn === OTHER_JOURNAL)).toMatchObject({ left: 4 });

    // Staff let the sixth go: it goes out and counts over the limit.
    const approved = await act(fed, "north-a", sixth.id, "approve");
    expect(approved.status).not.toBe("review");
    expect(approved.attention).toBe("");

    // The first copy, downloaded, is charged once: 4.00 EUR to south-a.
    const first = await waitFor(fed, "north-a", five[0]!.id, "copy_completed", 30_000);
    const download = () =>
      fed.withClient("north-a", copyPb.CopyStaffService, async (c) => {
        let bytes = 0;
        for await (const part of c.downloadCopy({ requestId: first.id }))
          if (part.part.case === "chunk") bytes += part.part.value.length;
        return bytes;
      });
    expect(await until("the copy to be downloadable", download, (n) => n > 0)).toBeGreaterThan(0);
    await download();
    expect(
      rows<Posting>("north-a", "SELECT * FROM ledger_postings WHERE transaction_id = ?", first.id).map(
        (p) => [p.entry_id, p.kind, p.payee_id, p.amount_minor],
      ),
    ).toEqual([[`north-a:${first.id}/charge`, "copy", "south-a", 400]]);
  });
});
