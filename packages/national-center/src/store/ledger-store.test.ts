import { Database, sharedMigrations, type ValidPosting } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import {
  LedgerConflictError,
  LedgerInputError,
  LedgerIntegrityError,
  LedgerStateError,
} from "../ledger/errors.js";
import { LedgerStore } from "./ledger-store.js";
import { nationalMigrations } from "./migrations.js";

const REGIONS: Record<string, string> = { "north-a": "north", "north-b": "north", "south-a": "south" };
const NOW = new Date("2026-12-15T12:00:00Z");

function open() {
  const db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]);
  const ledger = new LedgerStore(db);
  const post = (ps: ValidPosting[]) =>
    ledger.post(ps, { receivedFrom: "north-rc", regionOf: (id) => REGIONS[id] ?? "", now: NOW });
  return { db, ledger, post };
}

function charge(
  entryId: string,
  payer: string,
  payee: string,
  amount: number,
  postedAt = "2026-10-10T10:00:00.000Z",
): ValidPosting {
  return {
    entryId,
    transactionId: `tx-${entryId}`,
    kind: "loan",
    payerId: payer,
    payeeId: payee,
    currency: "EUR",
    amountMinor: BigInt(amount),
    postedAt,
    period: postedAt.slice(0, 7),
    reversesEntryId: "",
    note: "",
  };
}

function reversal(entryId: string, of: ValidPosting, postedAt = of.postedAt): ValidPosting {
  return {
    ...of,
    entryId,
    kind: "reversal",
    reversesEntryId: of.entryId,
    postedAt,
    period: postedAt.slice(0, 7),
  };
}

function net(ledger: LedgerStore, id: string, period = "2026-10"): bigint {
  return ledger.statement(id, period).statement.netMinor;
}

describe("LedgerStore postings", () => {
  it("stores a posting as a debit of the payer and a credit of the payee, and takes it once", () => {
    const { ledger, post } = open();
    const c = charge("e1", "north-a", "south-a", 850);
    expect(post([c])).toEqual({ accepted: 1, duplicates: 0, carried: 0, held: 0 });
    expect(post([c, c])).toEqual({ accepted: 0, duplicates: 2, carried: 0, held: 0 });
    expect(net(ledger, "north-a")).toBe(-850n);
    expect(net(ledger, "south-a")).toBe(850n);
    const check = ledger.verify();
    expect(check).toMatchObject({
      unbalancedCurrencies: [],
      unbalancedEntries: [],
      missingLines: 0,
      lines: 2,
      postings: 1,
    });
  });

  it("refuses another posting under a used entry id, naming the fields, and stores nothing of the batch", () => {
    const { ledger, post } = open();
    post([charge("e1", "north-a", "south-a", 850)]);
    const changed = { ...charge("e1", "north-a", "south-a", 900), note: "x" };
    expect(() => post([charge("e2", "north-a", "north-b", 100), changed])).toThrow(LedgerConflictError);
    expect(() => post([changed])).toThrow(
      /entry "e1" is already in the ledger with other content \(amount_minor, note differ\)/,
    );
    expect(ledger.entry("e2")).toBeUndefined();
    expect(ledger.verify().postings).toBe(1);
  });

  it("nets a reversal against its charge; refuses one that does not match, and a second reversal", () => {
    const { ledger, post } = open();
    const c = charge("e1", "north-a", "south-a", 850);
    post([c, charge("e2", "north-a", "south-a", 100)]);
    expect(() => post([{ ...reversal("r1", c), amountMinor: 800n }])).toThrow(
      /reversal "r1": it does not match entry "e1", which it reverses \(amount_minor 800 ≠ 850\)/,
    );
    post([reversal("r1", c)]);
    expect(net(ledger, "north-a")).toBe(-100n);
    const line = ledger.statement("north-a", "2026-10").statement.lines[0]!;
    expect(line).toMatchObject({
      counterpartyId: "south-a",
      payableMinor: 100n,
      receivableMinor: 0n,
      entries: 3,
    });
    expect(() => post([reversal("r2", c)])).toThrow(/entry "e1" is already reversed by "r1"/);
    expect(() => post([reversal("r3", reversal("r1", c))])).toThrow(LedgerInputError);
    expect(ledger.verify().unbalancedCurrencies).toEqual([]);
  });

  it("holds a reversal that arrives before its charge, and books it when the charge comes", () => {
    const { ledger, post } = open();
    const c = charge("e1", "north-a", "south-a", 850);
    expect(post([reversal("r1", c)])).toMatchObject({ accepted: 1, held: 1 });
    expect(ledger.held("2026-10")).toEqual([
      {
        posting: expect.objectContaining({ entryId: "r1" }),
        reason: 'waiting for entry "e1", which it reverses',
      },
    ]);
    expect(net(ledger, "north-a")).toBe(0n);
    post([c]);
    expect(ledger.held("2026-10")).toEqual([]);
    expect(ledger.entry("r1")?.effectivePeriod).toBe("2026-10");
    expect(ledger.statement("north-a", "2026-10").statement.lines[0]).toMatchObject({
      payableMinor: 0n,
      entries: 2,
    });
  });

  it("of two held reversals of one charge books the first by entry id; the other stays held, saying why", () => {
    const { ledger, post } = open();
    const c = charge("e1", "north-a", "south-a", 850);
    post([reversal("rb", c), reversal("ra", c)]);
    post([c]);
    expect(ledger.entry("ra")?.effectivePeriod).toBe("2026-10");
    expect(ledger.held("2026-12")).toEqual([
      {
        posting: expect.objectContaining({ entryId: "rb" }),
        reason: 'entry "e1" is already reversed by "ra"',
      },
    ]);
    expect(net(ledger, "south-a")).toBe(0n);
  });
});

describe("LedgerStore settlement", () => {
  it("settles a period once: statements, regions, digest; settling again gives the same", () => {
    const { ledger, post } = open();
    post([
      charge("e1", "north-a", "south-a", 850),
      charge("e2", "south-a", "north-b", 300),
      charge("e3", "north-a", "north-b", 120),
      charge("e4", "north-a", "south-a", 999, "2026-11-02T00:00:00.000Z"),
    ]);
    const s = ledger.settle("2026-10", { now: NOW });
    expect(s).toMatchObject({ alreadySettled: false, dryRun: false, entries: 3n, carriedIn: [], held: [] });
    expect(s.statements.map((x) => [x.institutionId, x.region, x.netMinor])).toEqual([
      ["north-a", "north", -970n],
      ["north-b", "north", 420n],
      ["south-a", "south", 550n],
    ]);
    expect(
      s.statements[0]!.lines.map((l) => [l.counterpartyId, l.counterpartyRegion, l.payableMinor]),
    ).toEqual([
      ["north-b", "north", 120n],
      ["south-a", "south", 850n],
    ]);
    expect(s.regions.map((r) => [r.region, r.currency, r.netMinor])).toEqual([
      ["north", "EUR", -550n],
      ["south", "EUR", 550n],
    ]);
    expect(s.digest).toMatch(/^[0-9a-f]{64}$/);
    const again = ledger.settle("2026-10", { now: new Date("2027-03-01T00:00:00Z") });
    expect(again.alreadySettled).toBe(true);
    expect(again.digest).toBe(s.digest);
    expect(again.statements).toEqual(s.statements);
    expect(again.regions).toEqual(s.regions);
    expect(again.settledAt).toEqual(NOW);
    expect(ledger.statement("north-a", "2026-10")).toMatchObject({ settled: true, currencies: ["EUR"] });
  });

  it("refuses a period that has not ended unless allowed, and one that has not begun", () => {
    const { ledger, post } = open();
    post([charge("e1", "north-a", "south-a", 850, "2026-12-01T00:00:00.000Z")]);
    expect(() => ledger.settle("2026-12", { now: NOW })).toThrow(LedgerStateError);
    expect(() => ledger.settle("2026-12", { now: NOW })).toThrow(
      /has not ended \(it ends 2027-01-01T00:00:00.000Z\)/,
    );
    expect(() => ledger.settle("2027-01", { now: NOW, allowOpenPeriod: true })).toThrow(/has not begun/);
    const dry = ledger.settle("2026-12", { now: NOW, dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, entries: 1n });
    expect(ledger.isSettled("2026-12")).toBe(false);
    const s = ledger.settle("2026-12", { now: NOW, allowOpenPeriod: true });
    expect(s.digest).toBe(dry.digest);
    expect(ledger.isSettled("2026-12")).toBe(true);
  });

  it("counts a posting for a settled period in the next open period, never in the settled one", () => {
    const { ledger, post } = open();
    const c = charge("e1", "north-a", "south-a", 850);
    post([c]);
    const oct = ledger.settle("2026-10", { now: NOW });
    const late = charge("late", "north-b", "south-a", 40, "2026-10-31T23:59:59.000Z");
    expect(post([late, reversal("r1", c, "2026-10-20T00:00:00.000Z")])).toMatchObject({
      accepted: 2,
      carried: 2,
    });
    expect(ledger.entry("late")?.effectivePeriod).toBe("2026-11");
    const octAgain = ledger.settle("2026-10", { now: NOW });
    expect(octAgain.digest).toBe(oct.digest);
    expect(octAgain.statements).toEqual(oct.statements);
    const nov = ledger.settle("2026-11", { now: NOW });
    expect(nov.carriedIn).toEqual(["late", "r1"]);
    expect(nov.statements.find((s) => s.institutionId === "north-a")!.netMinor).toBe(850n);
    expect(nov.statements.find((s) => s.institutionId === "south-a")!.netMinor).toBe(-810n);
    // October and November settled: the next late one goes to December.
    post([charge("later", "north-b", "south-a", 5, "2026-10-03T00:00:00.000Z")]);
    expect(ledger.entry("later")?.effectivePeriod).toBe("2026-12");
  });

  it("keeps every currency apart: a statement each, regions per currency", () => {
    const { ledger, post } = open();
    post([
      charge("e1", "north-a", "south-a", 850),
      { ...charge("e2", "north-a", "south-a", 7), currency: "USD" },
    ]);
    const st = ledger.statement("north-a", "2026-10");
    expect(st.currencies).toEqual(["EUR", "USD"]);
    expect(st.statement.currency).toBe("EUR");
    expect(ledger.statement("north-a", "2026-10", "USD").statement.netMinor).toBe(-7n);
    const s = ledger.settle("2026-10", { now: NOW });
    expect(s.statements.map((x) => `${x.institutionId}/${x.currency}`)).toEqual([
      "north-a/EUR",
      "north-a/USD",
      "south-a/EUR",
      "south-a/USD",
    ]);
    expect(s.regions.map((r) => `${r.region}/${r.currency}/${r.netMinor}`)).toEqual([
      "north/EUR/-850",
      "north/USD/-7",
      "south/EUR/850",
      "south/USD/7",
    ]);
  });

  it("gives an empty statement for an institution without entries (its region comes from the directory, in the service)", () => {
    const { ledger, post } = open();
    post([charge("e1", "north-a", "south-a", 850)]);
    expect(ledger.statement("north-b", "2026-10")).toMatchObject({
      settled: false,
      currencies: [],
      statement: { institutionId: "north-b", region: "", lines: [], netMinor: 0n },
    });
  });

  it("positions: per institution and region, live and as settled", () => {
    const { ledger, post } = open();
    post([charge("e1", "north-a", "south-a", 850), charge("e2", "north-b", "north-a", 50)]);
    const live = ledger.positions("2026-10");
    expect(live.settled).toBe(false);
    expect(live.regions).toEqual([
      { region: "north", currency: "EUR", netMinor: -850n },
      { region: "south", currency: "EUR", netMinor: 850n },
    ]);
    ledger.settle("2026-10", { now: NOW });
    expect(ledger.positions("2026-10")).toEqual({ ...live, settled: true });
  });

  it("refuses to hand out a stored settlement that no longer matches its digest", () => {
    const { db, ledger, post } = open();
    post([charge("e1", "north-a", "south-a", 850)]);
    ledger.settle("2026-10", { now: NOW });
    db.sqlite
      .prepare("UPDATE ledger_settled_lines SET payable_minor = 1 WHERE institution_id = 'north-a'")
      .run();
    expect(() => ledger.settle("2026-10", { now: NOW })).toThrow(LedgerIntegrityError);
  });

  it("refuses to settle unbalanced lines", () => {
    const { db, ledger, post } = open();
    post([charge("e1", "north-a", "south-a", 850)]);
    db.sqlite.prepare("UPDATE ledger_lines SET amount_minor = 800 WHERE institution_id = 'south-a'").run();
    expect(ledger.verify()).toMatchObject({
      unbalancedCurrencies: [{ currency: "EUR", sumMinor: -50n }],
      unbalancedEntries: ["e1"],
    });
    expect(() => ledger.settle("2026-10", { now: NOW })).toThrow(
      /do not sum to zero \(EUR -50\); nothing was settled/,
    );
    expect(ledger.isSettled("2026-10")).toBe(false);
  });
});
