// What a supplier charges for one request, from the fee schedule it publishes in the directory:
// the service (a loan, or a copy plus its pages), a rush surcharge, nothing for reciprocal
// partners, less a discount agreed with the requester. Pure and exact (integer minor units):
// the broker puts the result in every rota entry, and the borrower posts that same amount.
import { create } from "@bufbuild/protobuf";
import { type FeeSchedule, FeeScheduleSchema } from "../gen/lrs/v1/directory_pb.js";
import { formatAmount, formatMoney, type Money } from "./money.js";

/** ISO 18626 service levels that cost the lender's rush surcharge (compared without case). */
export const RUSH_LEVELS: readonly string[] = ["rush", "express", "urgent"];

export function isRush(serviceLevel: string): boolean {
  return RUSH_LEVELS.includes(serviceLevel.trim().toLowerCase());
}

/** What the lender would supply: a loan, a copy, or either (copy-or-loan requests). */
export type SupplyMode = "loan" | "copy" | "copy or loan";

export interface ChargeInput {
  /** The borrowing member (reciprocal partners and discounts are per institution). */
  requesterId: string;
  mode: SupplyMode;
  /** Pages of a copy, for the per-page charge; 0 when not known. */
  pages: number;
  /** ISO 18626 service level ("Normal", "Rush", ...). */
  serviceLevel: string;
}

export interface Charge {
  /** ISO 4217; "" when the lender publishes no fees (it charges nothing). */
  currency: string;
  /** In the currency's minor unit; 0 for free. */
  minor: bigint;
  /** How it was reached, for people: "copy 5.00 + 12 pages × 0.10 + rush 3.00, less 20% by agreement". */
  detail: string;
  /** Free because the requester is a reciprocal partner. */
  reciprocal: boolean;
}

/** The fee config of a member as its directory entry publishes it (amounts in minor units). */
export interface FeesInput {
  currency: string;
  loan: bigint;
  copy: bigint;
  perPage: bigint;
  rushSurcharge: bigint;
  reciprocalPartners: readonly string[];
  discounts: ReadonlyArray<{ institution: string; percent: number }>;
}

/** The FeeSchedule of a member's `[fees]`; undefined when it charges nothing (no currency). */
export function feeScheduleOf(fees: FeesInput | undefined): FeeSchedule | undefined {
  if (!fees || fees.currency === "") return undefined;
  return create(FeeScheduleSchema, {
    currency: fees.currency,
    loanMinor: fees.loan,
    copyMinor: fees.copy,
    perPageMinor: fees.perPage,
    rushSurchargeMinor: fees.rushSurcharge,
    reciprocalPartners: [...fees.reciprocalPartners],
    discounts: fees.discounts.map((d) => ({ institutionId: d.institution, percent: d.percent })),
  });
}

/** `amount` less `percent` per cent, to the nearest minor unit (half up): 1080 less 20% is 864. */
export function discounted(amount: bigint, percent: number): bigint {
  const p = BigInt(Math.min(100, Math.max(0, Math.trunc(percent))));
  return (amount * (100n - p) + 50n) / 100n;
}

function serviceCharge(
  s: FeeSchedule,
  mode: "loan" | "copy",
  pages: number,
): { minor: bigint; detail: string } {
  if (mode === "loan") return { minor: s.loanMinor, detail: `loan ${formatAmount(s.loanMinor, s.currency)}` };
  const n = BigInt(Math.max(0, Math.trunc(pages)));
  const perPage = s.perPageMinor * n;
  const pagesText =
    s.perPageMinor > 0n && n > 0n
      ? ` + ${n} page${n === 1n ? "" : "s"} × ${formatAmount(s.perPageMinor, s.currency)}`
      : "";
  return {
    minor: s.copyMinor + perPage,
    detail: `copy ${formatAmount(s.copyMinor, s.currency)}${pagesText}`,
  };
}

/**
 * The charge of a lender publishing `schedule` for one request. No schedule (or one without a
 * currency): nothing. A reciprocal partner: nothing. Otherwise the service (for "copy or loan"
 * the dearer of the two, the most the lender may charge whichever it sends), plus the rush
 * surcharge for a rush service level, less the requester's discount.
 */
export function computeCharge(schedule: FeeSchedule | undefined, input: ChargeInput): Charge {
  if (!schedule || schedule.currency === "")
    return { currency: "", minor: 0n, detail: "publishes no fees", reciprocal: false };
  const currency = schedule.currency;
  if (schedule.reciprocalPartners.includes(input.requesterId))
    return { currency, minor: 0n, detail: "free for a reciprocal partner", reciprocal: true };
  let base: { minor: bigint; detail: string };
  if (input.mode === "copy or loan") {
    const loan = serviceCharge(schedule, "loan", input.pages);
    const copy = serviceCharge(schedule, "copy", input.pages);
    base = loan.minor >= copy.minor ? loan : copy;
    base = { ...base, detail: `up to ${base.detail} (copy or loan)` };
  } else base = serviceCharge(schedule, input.mode, input.pages);
  let minor = base.minor;
  let detail = base.detail;
  if (isRush(input.serviceLevel) && schedule.rushSurchargeMinor > 0n) {
    minor += schedule.rushSurchargeMinor;
    detail += ` + rush ${formatAmount(schedule.rushSurchargeMinor, currency)}`;
  }
  const discount = schedule.discounts.find((d) => d.institutionId === input.requesterId);
  if (discount && discount.percent > 0 && minor > 0n) {
    minor = discounted(minor, discount.percent);
    detail += `, less ${Math.min(100, discount.percent)}% by agreement`;
  }
  return { currency, minor, detail, reciprocal: false };
}

/** The charge as a rota reason says it: "charges 8.50 EUR", "free (reciprocal partner)", "charges nothing". */
export function chargeText(c: Charge): string {
  if (c.reciprocal) return "free (reciprocal partner)";
  if (c.minor === 0n) return "charges nothing";
  return `charges ${formatMoney({ currency: c.currency, minor: c.minor })}`;
}

/**
 * Why a charge is over the requester's maximum cost, or undefined when it is within it (or
 * free). A charge in another currency than the maximum's cannot be compared: it is over.
 */
export function overMaximum(c: Charge, maximum: Money | undefined): string | undefined {
  if (!maximum || c.minor === 0n) return undefined;
  const charge = formatMoney({ currency: c.currency, minor: c.minor });
  if (c.currency !== maximum.currency)
    return `charges ${charge}, not in the maximum's currency (${formatMoney(maximum)})`;
  if (c.minor > maximum.minor) return `charges ${charge}, over the maximum ${formatMoney(maximum)}`;
  return undefined;
}

/**
 * Pages in a page range as a request writes it: "12-34" is 23, "5" is 1, "12-14, 20-21" is 5,
 * "S12-S15" is 4. Undefined when the text is not page ranges (the per-page charge then cannot
 * be computed: the caller refuses it, naming the field).
 */
export function countPages(text: string): number | undefined {
  const t = text.trim();
  if (t === "") return 0;
  let total = 0;
  for (const part of t.split(/\s*[,;]\s*/)) {
    const m = /^([A-Za-z]*)(\d+)(?:\s*[-–]\s*([A-Za-z]*)(\d+))?$/.exec(part);
    if (!m) return undefined;
    const first = Number(m[2]);
    if (m[4] === undefined) {
      total += 1;
      continue;
    }
    if (m[3] !== "" && m[3] !== m[1]) return undefined;
    const last = Number(m[4]);
    if (last < first) return undefined;
    total += last - first + 1;
  }
  return total;
}
