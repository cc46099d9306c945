// Statements from the ledger's lines, and the digest that makes two settlements comparable. Pure:
// the store feeds it aggregated lines, tests feed it their own.
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { ledgerPb } from "@lrs/shared";

/** The role an institution has in a posting (for a reversal: in the posting it reverses). */
export const PAYER = 0;
export const PAYEE = 1;
export type Role = typeof PAYER | typeof PAYEE;

/**
 * The sum of an institution's lines against one counterparty in one currency and role. A line's
 * amount is signed: a credit (the institution is owed) is positive, a debit negative.
 */
export interface LineSum {
  institutionId: string;
  currency: string;
  counterpartyId: string;
  role: Role;
  sumMinor: bigint;
  lines: number;
}

interface LineAcc {
  payable: bigint;
  receivable: bigint;
  entries: number;
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** What a period's settlement is made of, before it is stored. */
export interface Settlement {
  period: string;
  statements: ledgerPb.Statement[];
  regions: ledgerPb.RegionBalance[];
  entries: bigint;
  /** Entry ids of postings carried in from settled periods, sorted. */
  carriedIn: string[];
  digest: string;
}

/**
 * Builds one statement per institution and currency, and the regions' net positions, from the
 * period's line sums (any order). payable = what the institution owes as payer, less reversals;
 * receivable = what it is owed as payee, less reversals; net = receivable − payable. Statements,
 * lines and regions come sorted by id (code units, never locale), so equal input gives equal output.
 */
export function buildStatements(
  period: string,
  sums: Iterable<LineSum>,
  regionOf: (institutionId: string) => string,
): { statements: ledgerPb.Statement[]; regions: ledgerPb.RegionBalance[] } {
  const byStatement = new Map<
    string,
    { institutionId: string; currency: string; lines: Map<string, LineAcc> }
  >();
  for (const s of sums) {
    const key = `${s.institutionId}\u0000${s.currency}`;
    let st = byStatement.get(key);
    if (!st) {
      st = { institutionId: s.institutionId, currency: s.currency, lines: new Map() };
      byStatement.set(key, st);
    }
    let acc = st.lines.get(s.counterpartyId);
    if (!acc) {
      acc = { payable: 0n, receivable: 0n, entries: 0 };
      st.lines.set(s.counterpartyId, acc);
    }
    // The payer's lines are debits (negative): what it owes is their negation.
    if (s.role === PAYER) acc.payable -= s.sumMinor;
    else acc.receivable += s.sumMinor;
    acc.entries += s.lines;
  }
  const statements = [...byStatement.values()]
    .sort((a, b) => byCodeUnits(a.institutionId, b.institutionId) || byCodeUnits(a.currency, b.currency))
    .map((st) => {
      const lines = [...st.lines.entries()]
        .sort(([a], [b]) => byCodeUnits(a, b))
        .map(([counterpartyId, acc]) =>
          create(ledgerPb.StatementLineSchema, {
            counterpartyId,
            counterpartyRegion: regionOf(counterpartyId),
            payableMinor: acc.payable,
            receivableMinor: acc.receivable,
            netMinor: acc.receivable - acc.payable,
            entries: acc.entries,
          }),
        );
      const totalPayableMinor = lines.reduce((n, l) => n + l.payableMinor, 0n);
      const totalReceivableMinor = lines.reduce((n, l) => n + l.receivableMinor, 0n);
      return create(ledgerPb.StatementSchema, {
        institutionId: st.institutionId,
        region: regionOf(st.institutionId),
        period,
        currency: st.currency,
        lines,
        totalPayableMinor,
        totalReceivableMinor,
        netMinor: totalReceivableMinor - totalPayableMinor,
      });
    });
  return { statements, regions: regionBalances(statements) };
}

/** Each region's net position per currency: the sum of its institutions' nets (flows inside a region cancel). */
export function regionBalances(statements: readonly ledgerPb.Statement[]): ledgerPb.RegionBalance[] {
  const nets = new Map<string, { region: string; currency: string; net: bigint }>();
  for (const st of statements) {
    const key = `${st.region}\u0000${st.currency}`;
    const r = nets.get(key) ?? { region: st.region, currency: st.currency, net: 0n };
    r.net += st.netMinor;
    nets.set(key, r);
  }
  return [...nets.values()]
    .sort((a, b) => byCodeUnits(a.region, b.region) || byCodeUnits(a.currency, b.currency))
    .map((r) =>
      create(ledgerPb.RegionBalanceSchema, { region: r.region, currency: r.currency, netMinor: r.net }),
    );
}

/**
 * The currencies whose statements do not sum to zero, with their sum ([] for a sound ledger: every
 * posting is a debit and an equal credit, so all institutions' nets cancel).
 */
export function unbalancedCurrencies(
  statements: readonly ledgerPb.Statement[],
): Array<{ currency: string; sumMinor: bigint }> {
  const sums = new Map<string, bigint>();
  for (const st of statements) sums.set(st.currency, (sums.get(st.currency) ?? 0n) + st.netMinor);
  return [...sums.entries()]
    .filter(([, s]) => s !== 0n)
    .map(([currency, sumMinor]) => ({ currency, sumMinor }))
    .sort((a, b) => byCodeUnits(a.currency, b.currency));
}

/**
 * The canonical serialization a settlement's digest is taken of: JSON of arrays in a fixed order
 * (amounts as decimal strings, so no precision is lost), version-tagged. It covers everything that
 * makes up the settlement and nothing about when it was made, so settling the same postings again —
 * in another order, on another day, after a crash — gives the same digest.
 */
export function canonicalSettlement(s: Omit<Settlement, "digest">): string {
  return JSON.stringify([
    "lrs-settlement/1",
    s.period,
    s.entries.toString(),
    s.statements.map((st) => [
      st.institutionId,
      st.region,
      st.currency,
      st.totalPayableMinor.toString(),
      st.totalReceivableMinor.toString(),
      st.netMinor.toString(),
      st.lines.map((l) => [
        l.counterpartyId,
        l.counterpartyRegion,
        l.payableMinor.toString(),
        l.receivableMinor.toString(),
        l.netMinor.toString(),
        l.entries,
      ]),
    ]),
    s.regions.map((r) => [r.region, r.currency, r.netMinor.toString()]),
    s.carriedIn,
  ]);
}

/** SHA-256 (hex) of the canonical serialization. */
export function settlementDigest(s: Omit<Settlement, "digest">): string {
  return createHash("sha256").update(canonicalSettlement(s)).digest("hex");
}
