// Properties of the ledger over random histories: charges between institutions in several regions
// and currencies, some cancelled (reversed), resent (duplicates) and arriving in any order —
// reversals before their charges included — in batches of any size.
import { Database, type PostingKind, sharedMigrations, type ValidPosting } from "@lrs/shared";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { LedgerStore } from "../store/ledger-store.js";
import { nationalMigrations } from "../store/migrations.js";

const REGION: Record<string, string> = { a1: "ra", a2: "ra", b1: "rb", b2: "rb", c1: "rc" };
const IDS = Object.keys(REGION);
const NOW = new Date("2027-02-01T00:00:00Z");

interface Charge {
  payer: string;
  payee: string;
  currency: string;
  amount: number;
  kind: Exclude<PostingKind, "reversal">;
  day: number;
  /** Day of the month the charge is cancelled on, if it is. */
  reversedOn: number | null;
}

const chargeArb: fc.Arbitrary<Charge> = fc
  .record({
    payer: fc.constantFrom(...IDS),
    payeeOffset: fc.integer({ min: 1, max: IDS.length - 1 }),
    currency: fc.constantFrom("EUR", "JPY"),
    amount: fc.integer({ min: 1, max: 1_000_000 }),
    kind: fc.constantFrom("loan" as const, "copy" as const, "copyright" as const),
    day: fc.integer({ min: 1, max: 28 }),
    reversedOn: fc.option(fc.integer({ min: 1, max: 28 }), { nil: null }),
  })
  .map(({ payeeOffset, ...c }) => ({ ...c, payee: IDS[(IDS.indexOf(c.payer) + payeeOffset) % IDS.length]! }));

/** The postings of a history: every charge, and a reversal for each cancelled one. */
function postingsOf(charges: readonly Charge[], period = "2026-10"): ValidPosting[] {
  const out: ValidPosting[] = [];
  charges.forEach((c, i) => {
    const at = (day: number) => `${period}-${String(day).padStart(2, "0")}T12:00:00.000Z`;
    const charge: ValidPosting = {
      entryId: `${c.payer}:t${i}/charge`,
      transactionId: `t${i}`,
      kind: c.kind,
      payerId: c.payer,
      payeeId: c.payee,
      currency: c.currency,
      amountMinor: BigInt(c.amount),
      postedAt: at(c.day),
      period,
      reversesEntryId: "",
      note: "",
    };
    out.push(charge);
    if (c.reversedOn !== null)
      out.push({
        ...charge,
        entryId: `${charge.entryId}/reversal`,
        kind: "reversal",
        reversesEntryId: charge.entryId,
        postedAt: at(c.reversedOn),
      });
  });
  return out;
}

/** An arrival: the postings (some twice) in an order and cut into batches, from random keys. */
const arrivalArb = (n: number) =>
  fc.record({
    keys: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: n, maxLength: n }),
    resend: fc.array(fc.record({ index: fc.nat(), key: fc.double({ min: 0, max: 1, noNaN: true }) }), {
      maxLength: 5,
    }),
    cuts: fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }),
  });

type Arrival = { keys: number[]; resend: Array<{ index: number; key: number }>; cuts: number[] };

function batchesOf(postings: readonly ValidPosting[], a: Arrival): ValidPosting[][] {
  const keyed = postings.map((p, i) => ({ p, key: a.keys[i]! }));
  if (postings.length > 0)
    for (const r of a.resend) keyed.push({ p: postings[r.index % postings.length]!, key: r.key });
  const ordered = keyed.sort((x, y) => x.key - y.key).map((x) => x.p);
  const out: ValidPosting[][] = [];
  for (let i = 0, c = 0; i < ordered.length; c++) {
    const size = a.cuts[c % a.cuts.length]!;
    out.push(ordered.slice(i, i + size));
    i += size;
  }
  return out;
}

function open(): LedgerStore {
  return new LedgerStore(Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]));
}

function load(ledger: LedgerStore, batches: ValidPosting[][], afterEach?: () => void): void {
  for (const b of batches) {
    ledger.post(b, { receivedFrom: "rc", regionOf: (id) => REGION[id]!, now: NOW });
    afterEach?.();
  }
}

function expectBalanced(ledger: LedgerStore): void {
  const check = ledger.verify();
  expect(check.unbalancedCurrencies).toEqual([]);
  expect(check.unbalancedEntries).toEqual([]);
  expect(check.missingLines).toBe(0);
}

/**
 * Statements computed the obvious way, straight from the postings, independently of the store's
 * lines and SQL: for each institution, currency and counterparty, what it owes as payer and is
 * owed as payee, reversals subtracted.
 */
function reference(postings: readonly ValidPosting[]) {
  const lines = new Map<string, { payable: bigint; receivable: bigint; entries: number }>();
  const get = (inst: string, cur: string, cp: string) => {
    const k = `${inst}|${cur}|${cp}`;
    const l = lines.get(k) ?? { payable: 0n, receivable: 0n, entries: 0 };
    lines.set(k, l);
    return l;
  };
  const unique = new Map(postings.map((p) => [p.entryId, p]));
  for (const p of unique.values()) {
    const sign = p.kind === "reversal" ? -1n : 1n;
    const payer = get(p.payerId, p.currency, p.payeeId);
    payer.payable += sign * p.amountMinor;
    payer.entries++;
    const payee = get(p.payeeId, p.currency, p.payerId);
    payee.receivable += sign * p.amountMinor;
    payee.entries++;
  }
  const statements = new Map<string, Array<[string, string, bigint, bigint, bigint, number]>>();
  for (const [k, l] of [...lines.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const [inst, cur, cp] = k.split("|") as [string, string, string];
    const key = `${inst}|${cur}`;
    statements.set(key, [
      ...(statements.get(key) ?? []),
      [cp, REGION[cp]!, l.payable, l.receivable, l.receivable - l.payable, l.entries],
    ]);
  }
  const regionNets = new Map<string, bigint>();
  for (const [key, ls] of statements) {
    const [inst, cur] = key.split("|") as [string, string];
    const rk = `${REGION[inst]}|${cur}`;
    regionNets.set(rk, (regionNets.get(rk) ?? 0n) + ls.reduce((n, l) => n + l[4], 0n));
  }
  return {
    statements: [...statements.entries()].map(([k, ls]) => [k, ls]),
    regions: [...regionNets.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
  };
}

function shapeOf(s: ReturnType<LedgerStore["settle"]>) {
  return {
    statements: s.statements.map((st) => [
      `${st.institutionId}|${st.currency}`,
      st.lines.map((l) => [
        l.counterpartyId,
        l.counterpartyRegion,
        l.payableMinor,
        l.receivableMinor,
        l.netMinor,
        l.entries,
      ]),
    ]),
    regions: s.regions.map((r) => [`${r.region}|${r.currency}`, r.netMinor]),
  };
}

describe("ledger properties", () => {
  it("sums to zero per currency after every batch, whatever arrives in whatever order", () => {
    fc.assert(
      fc.property(
        fc.array(chargeArb, { maxLength: 25 }).chain((charges) => {
          const ps = postingsOf(charges);
          return fc.tuple(fc.constant(ps), arrivalArb(ps.length));
        }),
        ([postings, arrival]) => {
          const ledger = open();
          load(ledger, batchesOf(postings, arrival), () => expectBalanced(ledger));
          expect(ledger.held("2026-10")).toEqual([]);
          expect(ledger.verify().postings).toBe(postings.length);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("settles to the statements computed independently from the postings, and to the same digest in any arrival order", () => {
    fc.assert(
      fc.property(
        fc.array(chargeArb, { maxLength: 30 }).chain((charges) => {
          const ps = postingsOf(charges);
          return fc.tuple(fc.constant(ps), arrivalArb(ps.length), arrivalArb(ps.length));
        }),
        ([postings, one, two]) => {
          const a = open();
          const b = open();
          load(a, batchesOf(postings, one));
          load(b, batchesOf(postings, two));
          const sa = a.settle("2026-10", { now: NOW });
          const sb = b.settle("2026-10", { now: new Date("2027-06-01T00:00:00Z") });
          const ref = reference(postings);
          expect(shapeOf(sa).statements).toEqual(ref.statements);
          expect(shapeOf(sa).regions).toEqual(ref.regions);
          expect(sa.entries).toBe(BigInt(postings.length));
          expect(sb.digest).toBe(sa.digest);
          expect(sb.statements).toEqual(sa.statements);
          expect(sb.regions).toEqual(sa.regions);
          // Settling twice: the stored statements, the same digest.
          const again = a.settle("2026-10", { now: NOW });
          expect(again.alreadySettled).toBe(true);
          expect(again.digest).toBe(sa.digest);
          expect(again.statements).toEqual(sa.statements);
          expect(again.regions).toEqual(sa.regions);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("never changes a settled period: what arrives after settlement is counted once, in the next open period", () => {
    fc.assert(
      fc.property(
        fc.array(chargeArb, { minLength: 1, maxLength: 25 }).chain((charges) => {
          const ps = postingsOf(charges);
          return fc.tuple(fc.constant(ps), arrivalArb(ps.length), fc.double({ min: 0, max: 1, noNaN: true }));
        }),
        ([postings, arrival, when]) => {
          const ledger = open();
          const batches = batchesOf(postings, arrival);
          const at = Math.floor(when * batches.length);
          load(ledger, batches.slice(0, at));
          const oct = ledger.settle("2026-10", { now: NOW });
          load(ledger, batches.slice(at), () => expectBalanced(ledger));
          expect(ledger.settle("2026-10", { now: NOW }).digest).toBe(oct.digest);
          const nov = ledger.settle("2026-11", { now: NOW });
          // October as settled plus what November took in equals everything, counted once.
          const total = new Map<string, bigint>();
          for (const s of [...oct.statements, ...nov.statements])
            total.set(
              `${s.institutionId}|${s.currency}`,
              (total.get(`${s.institutionId}|${s.currency}`) ?? 0n) + s.netMinor,
            );
          const ref = reference(postings);
          for (const [key, lines] of ref.statements as Array<
            [string, Array<[string, string, bigint, bigint, bigint, number]>]
          >)
            expect(total.get(key) ?? 0n).toBe(lines.reduce((n, l) => n + l[4], 0n));
          expect(oct.entries + nov.entries).toBe(BigInt(postings.length));
          expect(nov.carriedIn.length).toBe(Number(nov.entries));
        },
      ),
      { numRuns: 100 },
    );
  });
});
