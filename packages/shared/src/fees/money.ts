// Money as the federation writes it: integers in the currency's minor unit (cents), never
// floating point. Fee schedules, maximum costs and ledger postings are read from decimal text
// ("8.50", ISO 18626 Costs.monetary_value is an xs:decimal) and written back the same way,
// exactly: "0.10" is 10 cents, not 0.1000000000000000055 of a euro.

/**
 * ISO 4217 currencies whose minor unit is not the usual hundredth. Every other valid code has
 * two decimals.
 */
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  BIF: 0,
  CLP: 0,
  DJF: 0,
  GNF: 0,
  ISK: 0,
  JPY: 0,
  KMF: 0,
  KRW: 0,
  PYG: 0,
  RWF: 0,
  UGX: 0,
  UYI: 0,
  VND: 0,
  VUV: 0,
  XAF: 0,
  XOF: 0,
  XPF: 0,
  BHD: 3,
  IQD: 3,
  JOD: 3,
  KWD: 3,
  LYD: 3,
  OMR: 3,
  TND: 3,
  CLF: 4,
  UYW: 4,
};

/**
 * The largest amount taken: a million million minor units, far above any fee, exact in a JS number
 * (SQLite reads), and the national ledger's limit per posting too, so that whatever a member or a
 * regional center takes is taken upstream.
 */
export const MAX_AMOUNT_MINOR = 10n ** 12n;

/** A currency code or an amount that cannot be read; the message names the value and why. */
export class MoneyError extends Error {
  override readonly name = "MoneyError";
}

let known: ReadonlySet<string> | undefined;

/** The ISO 4217 codes this runtime knows (Intl, from CLDR). */
function knownCurrencies(): ReadonlySet<string> {
  known ??= new Set(Intl.supportedValuesOf("currency"));
  return known;
}

/** Whether `code` is an ISO 4217 currency code ("EUR"), upper case. */
export function isCurrency(code: string): boolean {
  return /^[A-Z]{3}$/.test(code) && knownCurrencies().has(code);
}

/** The currency code checked; throws MoneyError naming it when it is not ISO 4217. */
export function checkCurrency(code: string): string {
  if (!isCurrency(code))
    throw new MoneyError(`"${code}" is not an ISO 4217 currency code (three capital letters, e.g. "EUR")`);
  return code;
}

/** Decimals of the currency's minor unit: 2 for EUR, 0 for JPY, 3 for KWD. */
export function minorDigits(currency: string): number {
  return MINOR_DIGITS[currency] ?? 2;
}

/**
 * "8.50" in `currency` → 850n minor units. Exact: digits, at most one point, no more decimals than
 * the currency has ("8.505" EUR is refused, not rounded), no sign, no exponent, at most
 * MAX_AMOUNT_MINOR.
 */
export function parseAmount(text: string, currency: string): bigint {
  checkCurrency(currency);
  const digits = minorDigits(currency);
  const t = text.trim();
  const m = /^(\d+)(?:\.(\d*))?$/.exec(t);
  if (!m)
    throw new MoneyError(`"${text}" is not an amount (digits with an optional decimal point, e.g. "8.50")`);
  const fraction = m[2] ?? "";
  if (fraction.replace(/0+$/, "").length > digits)
    throw new MoneyError(
      `"${text}" has more decimals than ${currency} has (${digits}${digits === 0 ? ": whole units only" : ""})`,
    );
  const minor =
    BigInt(m[1]!) * 10n ** BigInt(digits) + BigInt(fraction.padEnd(digits, "0").slice(0, digits) || "0");
  if (minor > MAX_AMOUNT_MINOR)
    throw new MoneyError(
      `"${text}" ${currency} is more than the largest amount taken (${formatAmount(MAX_AMOUNT_MINOR, currency)})`,
    );
  return minor;
}

/** 850n EUR → "8.50"; 1200n JPY → "1200". */
export function formatAmount(minor: bigint, currency: string): string {
  const digits = minorDigits(currency);
  const sign = minor < 0n ? "-" : "";
  const abs = minor < 0n ? -minor : minor;
  if (digits === 0) return `${sign}${abs}`;
  const s = abs.toString().padStart(digits + 1, "0");
  return `${sign}${s.slice(0, -digits)}.${s.slice(-digits)}`;
}

/** An amount in one currency. */
export interface Money {
  readonly currency: string;
  /** In the currency's minor unit. */
  readonly minor: bigint;
}

/** "8.50 EUR". */
export function formatMoney(m: Money): string {
  return `${formatAmount(m.minor, m.currency)} ${m.currency}`;
}

/**
 * "10.00 EUR" (or "EUR 10.00") → { currency: "EUR", minor: 1000n }. What `--max-cost` and
 * `[ill] maximum_cost` take.
 */
export function parseMoney(text: string): Money {
  const parts = text.trim().split(/\s+/);
  const [a, b] = parts;
  if (parts.length !== 2 || a === undefined || b === undefined)
    throw new MoneyError(`"${text}" is not an amount with its currency, e.g. "10.00 EUR"`);
  const [amount, currency] = /^[A-Za-z]{3}$/.test(a) && /^\d/.test(b) ? [b, a] : [a, b];
  const code = currency.toUpperCase();
  return { currency: checkCurrency(code), minor: parseAmount(amount, code) };
}

/** The ISO 18626 Costs fields (currency_code, monetary_value as decimal text) of an amount. */
export function costsOf(m: Money): { currencyCode: string; monetaryValue: string } {
  return { currencyCode: m.currency, monetaryValue: formatAmount(m.minor, m.currency) };
}

/**
 * An ISO 18626 Costs as an amount; undefined when it is empty (no currency and no value: no
 * limit, no charge). `field` names it in the error.
 */
export function moneyOfCosts(
  costs: { currencyCode: string; monetaryValue: string } | undefined,
  field: string,
): Money | undefined {
  if (!costs || (costs.currencyCode.trim() === "" && costs.monetaryValue.trim() === "")) return undefined;
  const currency = costs.currencyCode.trim().toUpperCase();
  try {
    return { currency: checkCurrency(currency), minor: parseAmount(costs.monetaryValue, currency) };
  } catch (err) {
    if (err instanceof MoneyError) throw new MoneyError(`${field}: ${err.message}`);
    throw err;
  }
}
