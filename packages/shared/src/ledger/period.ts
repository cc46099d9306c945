// Settlement periods: calendar months in UTC, written "2026-11". A posting falls in the period of
// its posted_at; the national center settles one period at a time.
import { ValidationError } from "../rpc/errors.js";

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** The period given checked ("2026-11"); throws ValidationError naming `what` when it is not one. */
export function parsePeriod(text: string, what = "period"): string {
  const t = text.trim();
  const m = PERIOD.exec(t);
  if (!m || Number(m[1]) < 1970)
    throw new ValidationError(`${what} "${text}" is not a period: a month written YYYY-MM, e.g. "2026-11"`);
  return t;
}

/** Whether `text` is a period as written ("2026-11"). */
export function isPeriod(text: string): boolean {
  const m = PERIOD.exec(text);
  return m !== null && Number(m[1]) >= 1970;
}

/** The period a moment falls in, in UTC. */
export function periodOf(at: Date): string {
  return at.toISOString().slice(0, 7);
}

/** The first moment of a period (UTC). */
export function periodStart(period: string): Date {
  const [y, m] = period.split("-").map(Number);
  return new Date(Date.UTC(y!, m! - 1, 1));
}

/** The first moment after a period: the start of the next month (UTC). */
export function periodEnd(period: string): Date {
  const [y, m] = period.split("-").map(Number);
  return new Date(Date.UTC(y!, m!, 1));
}

/** The month after `period`: "2026-12" → "2027-01". */
export function nextPeriod(period: string): string {
  return periodOf(periodEnd(period));
}
