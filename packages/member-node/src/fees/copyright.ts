// The copyright rule for the copies this member borrows. By default the CONTU guidelines ("rule
// of five"): in one calendar year, at most five copies of articles from one periodical's issues
// published within the five years before the request; older articles do not count. A copy that
// would go over the rule stops for staff review (the requester machine's over_copyright_limit
// guard), or goes out carrying a configured fee, posted to the ledger when the copy arrives.
//
// A copy is counted per request: pending once validated (so that requests made in a burst, whose
// rotas are still being built, already count against each other), counted once it goes out,
// released when it ends cancelled or unfilled (end of rota), or when a copy-or-loan request is
// filled with a loan (no copy was made).
import { type CopyrightConfig, type Database, illPb, type Money, normalizeIssn } from "@lrs/shared";
import { type IllRequest, normaliseTitle, type TransitionChange } from "../ill/store.js";

export interface CopyrightCounterOptions {
  readonly db: Database;
  readonly rule: CopyrightConfig;
}

/** The counts of one journal in one year. */
export interface CopyrightCount {
  readonly journalKey: string;
  readonly issn: string;
  readonly title: string;
  readonly year: number;
  /** Copies that went out and still count. */
  readonly count: number;
  /** Validated, about to go out. */
  readonly pending: number;
  /** Of count and pending: beyond the limit (let go by staff, or with the fee). */
  readonly overLimit: number;
}

/** Where a request stands with the rule. */
export interface CopyrightUse {
  readonly requestId: string;
  readonly journalKey: string;
  readonly year: number;
  readonly state: "pending" | "counted" | "released";
  readonly overLimit: boolean;
  /** The copyright fee it carries (over_limit = "fee"). */
  readonly fee: Money | undefined;
}

interface UseRow {
  request_id: string;
  journal_key: string;
  issn: string;
  title: string;
  year: number;
  state: "pending" | "counted" | "released";
  over_limit: number;
  fee_currency: string | null;
  fee_minor: number | null;
}

/** The journal a copy is counted against and the year it is counted in; undefined: not counted. */
interface Counted {
  journalKey: string;
  issn: string;
  title: string;
  year: number;
}

/**
 * A publication date as a request gives it: "2024", "2024-05" or "2024-05-01". Undefined when it
 * is none of those (validateBorrow refuses such a date before it gets here).
 */
export function parsePublicationDate(text: string): { year: number; month: number; day: number } | undefined {
  const m = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(text.trim());
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = m[2] === undefined ? 1 : Number(m[2]);
  const day = m[3] === undefined ? 1 : Number(m[3]);
  const d = new Date(Date.UTC(year, month - 1, day));
  if (d.getUTCFullYear() !== year || d.getUTCMonth() !== month - 1 || d.getUTCDate() !== day)
    return undefined;
  return { year, month, day };
}

/**
 * Whether an article published on `published` is within the `years` before `requested`: with a
 * year only, its year is at least the request's year less `years`; with a date, it is on or after
 * the same day `years` earlier. A date not given counts (the rule cannot tell it is old).
 */
export function isRecent(published: string, requested: Date, years: number): boolean {
  if (published.trim() === "") return true;
  const p = parsePublicationDate(published);
  if (!p) return true;
  const y = requested.getUTCFullYear();
  if (/^\d{4}$/.test(published.trim())) return p.year >= y - years;
  const since = Date.UTC(y - years, requested.getUTCMonth(), requested.getUTCDate());
  return Date.UTC(p.year, p.month - 1, p.day) >= since;
}

/** "a 6th copy", the English ordinal of n. */
function ordinal(n: number): string {
  const tens = n % 100;
  const suffix =
    tens >= 11 && tens <= 13 ? "th" : n % 10 === 1 ? "st" : n % 10 === 2 ? "nd" : n % 10 === 3 ? "rd" : "th";
  return `${n}${suffix}`;
}

/** The counter over the member's database; its hooks run inside the ILL store's transactions. */
export class CopyrightCounter {
  readonly #db: Database;
  readonly #rule: CopyrightConfig;

  constructor(o: CopyrightCounterOptions) {
    this.#db = o.db;
    this.#rule = o.rule;
  }

  get rule(): CopyrightConfig {
    return this.#rule;
  }

  /** The rule in words. */
  describe(): string {
    const r = this.#rule;
    return `at most ${r.maxPerTitle} article${r.maxPerTitle === 1 ? "" : "s"} a year from one journal's issues of the last ${r.recentYears} year${r.recentYears === 1 ? "" : "s"} (${r.compliance})`;
  }

  /**
   * What the rule counts a borrowing request as: copies (and copy-or-loan requests, which may be
   * filled with one) of an article recent enough, against the journal's ISSN (or its title when
   * the request names none) in the calendar year of the request.
   */
  counted(r: IllRequest): Counted | undefined {
    if (r.role !== "borrower") return undefined;
    if (r.serviceType !== illPb.ServiceType.COPY && r.serviceType !== illPb.ServiceType.COPY_OR_LOAN)
      return undefined;
    if (!isRecent(r.publicationDate, r.createdAt, this.#rule.recentYears)) return undefined;
    const bib = r.bibliographicInfo;
    const issn = bib.bibliographicItemId
      .filter((i) => i.bibliographicItemIdentifierCode.trim().toUpperCase() === "ISSN")
      .map((i) => normalizeIssn(i.bibliographicItemIdentifier))
      .find((v): v is string => v !== undefined);
    const title = normaliseTitle(bib.title);
    const journalKey = issn ?? (title ? `title:${title}` : r.clusterId ? `cluster:${r.clusterId}` : "");
    if (journalKey === "") return undefined;
    return { journalKey, issn: issn ?? "", title: bib.title, year: r.createdAt.getUTCFullYear() };
  }

  /** Copies of the journal that count this year, without the request itself. */
  #countOthers(c: Counted, requestId: string): number {
    const row = this.#db.sqlite
      .prepare(
        `SELECT count(*) AS n FROM copyright_uses
         WHERE journal_key = ? AND year = ? AND state IN ('pending', 'counted') AND request_id != ?`,
      )
      .get(c.journalKey, c.year, requestId) as { n: number };
    return row.n;
  }

  /** Why the request would go over the rule (whatever over_limit says), or undefined. */
  overLimit(r: IllRequest): string | undefined {
    const c = this.counted(r);
    if (!c) return undefined;
    const n = this.#countOthers(c, r.id);
    if (n < this.#rule.maxPerTitle) return undefined;
    const journal = c.issn ? `ISSN ${c.issn}` : `"${c.title || c.journalKey}"`;
    return `a ${ordinal(n + 1)} copy from ${journal} in ${c.year}: the rule allows ${this.describe()}`;
  }

  /**
   * The IllStore's copyrightCheck: the reason a request must wait for staff, with over_limit =
   * "review"; with "fee" it goes out (and carries the fee) instead.
   */
  check = (r: IllRequest): string | undefined =>
    this.#rule.overLimit === "review" ? this.overLimit(r) : undefined;

  /** The IllStore's onTransition hook: counts, confirms and releases as the request moves. */
  onTransition = (change: TransitionChange): void => {
    const r = change.request;
    if (r.role !== "borrower") return;
    const at = change.entry.at.toISOString();
    if (change.to === "validated" && change.from !== "validated") {
      const c = this.counted(r);
      if (!c) return;
      const over = this.#countOthers(c, r.id) >= this.#rule.maxPerTitle;
      const fee = over && this.#rule.overLimit === "fee" ? this.#rule.fee : undefined;
      this.#db.sqlite
        .prepare(
          `INSERT INTO copyright_uses (request_id, journal_key, issn, title, year, state, over_limit,
             fee_currency, fee_minor, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)
           ON CONFLICT (request_id) DO UPDATE SET state = 'pending', over_limit = excluded.over_limit,
             fee_currency = excluded.fee_currency, fee_minor = excluded.fee_minor, updated_at = excluded.updated_at`,
        )
        .run(
          r.id,
          c.journalKey,
          c.issn,
          c.title,
          c.year,
          over ? 1 : 0,
          fee?.currency ?? null,
          fee?.minor ?? null,
          at,
          at,
        );
      this.purge(change.entry.at);
      return;
    }
    if (change.from === "validated" && change.to === "sent_to_supplier") {
      this.#setState(r.id, "counted", "pending", at);
      return;
    }
    // Unfilled or cancelled: no copy. A copy-or-loan request filled with a loan: no copy either.
    if (change.to === "cancelled" || change.to === "end_of_rota" || change.to === "received")
      this.#setState(r.id, "released", undefined, at);
  };

  #setState(requestId: string, state: UseRow["state"], from: UseRow["state"] | undefined, at: string): void {
    this.#db.sqlite
      .prepare(
        `UPDATE copyright_uses SET state = ?, updated_at = ?
         WHERE request_id = ? AND state != 'released' AND (? IS NULL OR state = ?)`,
      )
      .run(state, at, requestId, from ?? null, from ?? null);
  }

  /** Where a request stands with the rule; undefined when it is not counted. */
  use(requestId: string): CopyrightUse | undefined {
    const row = this.#db.sqlite.prepare("SELECT * FROM copyright_uses WHERE request_id = ?").get(requestId) as
      | UseRow
      | undefined;
    if (!row) return undefined;
    return {
      requestId: row.request_id,
      journalKey: row.journal_key,
      year: row.year,
      state: row.state,
      overLimit: row.over_limit === 1,
      fee:
        row.fee_currency !== null && row.fee_minor !== null
          ? { currency: row.fee_currency, minor: BigInt(row.fee_minor) }
          : undefined,
    };
  }

  /** Drops the counts of years before the `keep_years` kept (the current one included). Returns how many rows went. */
  purge(now: Date): number {
    const oldest = now.getUTCFullYear() - this.#rule.keepYears + 1;
    return this.#db.sqlite.prepare("DELETE FROM copyright_uses WHERE year < ?").run(oldest).changes;
  }

  /** Counts per journal and year (one year, or every year kept), latest year first. */
  list(year?: number, now: Date = new Date()): CopyrightCount[] {
    this.#db.transaction(() => this.purge(now));
    const rows = this.#db.sqlite
      .prepare(
        `SELECT journal_key, max(issn) AS issn, max(title) AS title, year,
           sum(state = 'counted') AS count, sum(state = 'pending') AS pending, sum(over_limit) AS over_limit
         FROM copyright_uses WHERE state != 'released' AND (? IS NULL OR year = ?)
         GROUP BY journal_key, year ORDER BY year DESC, journal_key`,
      )
      .all(year ?? null, year ?? null) as Array<{
      journal_key: string;
      issn: string;
      title: string;
      year: number;
      count: number;
      pending: number;
      over_limit: number;
    }>;
    return rows.map((r) => ({
      journalKey: r.journal_key,
      issn: r.issn,
      title: r.title,
      year: r.year,
      count: r.count,
      pending: r.pending,
      overLimit: r.over_limit,
    }));
  }
}
