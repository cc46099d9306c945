// Reproducible synthetic postings, for the settlement benchmark and the crash test: many charges
// among many institutions in several regions, with some reversals, from a seed.
import { periodStart, seededRandom, type ValidPosting } from "@lrs/shared";

export interface GenerateOptions {
  /** Postings to make (charges and reversals together). */
  count: number;
  /** The month they fall in. */
  period: string;
  institutions?: number;
  regions?: number;
  /** Share of postings that reverse an earlier charge (0–1). */
  reversalRate?: number;
  seed?: number;
  /** Prefix of the entry ids ("g" → "g-1-000123"). */
  idPrefix?: string;
  currency?: string;
}

/** Institution `i` of a generated federation ("gen-m007") and its region ("gen-r3"). */
export function generatedInstitution(i: number, regions = 10): { id: string; region: string } {
  return { id: `gen-m${String(i).padStart(3, "0")}`, region: `gen-r${i % regions}` };
}

/**
 * Postings among `institutions` members spread over `regions` regions (member i is in region
 * i mod regions), every one inside `period`. Yields lazily, so a million need no memory.
 */
export function* generatePostings(o: GenerateOptions): Generator<ValidPosting> {
  const n = o.institutions ?? 200;
  const regions = o.regions ?? 10;
  const rate = o.reversalRate ?? 0.05;
  const seed = o.seed ?? 1;
  const prefix = o.idPrefix ?? "g";
  const currency = o.currency ?? "EUR";
  const rand = seededRandom(seed);
  const start = periodStart(o.period).getTime();
  // Whole seconds inside the month (28 days: within every month).
  const span = 28 * 86_400;
  // Charges that can still be reversed, a bounded pool so that memory stays flat.
  const open: ValidPosting[] = [];
  for (let k = 0; k < o.count; k++) {
    const entryId = `${prefix}-${seed}-${String(k).padStart(7, "0")}`;
    const postedAt = new Date(start + Math.floor(rand() * span) * 1000).toISOString();
    if (open.length > 0 && rand() < rate) {
      const original = open.splice(Math.floor(rand() * open.length), 1)[0]!;
      yield {
        ...original,
        entryId,
        kind: "reversal",
        reversesEntryId: original.entryId,
        postedAt,
        note: `cancelled: ${original.transactionId}`,
      };
      continue;
    }
    const payer = Math.floor(rand() * n);
    const payee = (payer + 1 + Math.floor(rand() * (n - 1))) % n;
    const copy = rand() < 0.4;
    const p: ValidPosting = {
      entryId,
      transactionId: `${prefix}-tx-${seed}-${k}`,
      kind: copy ? "copy" : "loan",
      payerId: generatedInstitution(payer, regions).id,
      payeeId: generatedInstitution(payee, regions).id,
      currency,
      amountMinor: BigInt(100 + Math.floor(rand() * 4900)),
      postedAt,
      period: o.period,
      reversesEntryId: "",
      note: copy ? "copy" : "loan",
    };
    open.push(p);
    if (open.length > 10_000) open.shift();
    yield p;
  }
}
