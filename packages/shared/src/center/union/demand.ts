/**
 * ILL demand by title at a regional center: which titles its members asked for through ILL, kept
 * by the keys a title is found by (ISBN, ISSN, normalised title) so that `acquire check` and the
 * collection reports can count requests for a title in the last year. Written by the broker
 * (ill-broker/broker.ts) when it builds a request's rota; a request counts once.
 */
import { randomUUID } from "node:crypto";
import type { Database } from "../../db.js";
import { normalizeIsbn, normalizeIssn } from "../../match/identifiers.js";
import { normalizeTitle } from "../../match/normalize.js";

/** A title as demand is counted by it. */
export interface DemandTitle {
  isbns: readonly string[];
  issns: readonly string[];
  title: string;
}

/** The keys a title is counted and found by: identifiers when it has any, else its normalised title. */
export function demandKeys(t: DemandTitle): string[] {
  const keys = new Set<string>();
  for (const i of t.isbns) {
    const n = normalizeIsbn(i);
    if (n) keys.add(`isbn:${n}`);
  }
  for (const i of t.issns) {
    const n = normalizeIssn(i);
    if (n) keys.add(`issn:${n}`);
  }
  const title = normalizeTitle(t.title);
  if (title) keys.add(`title:${title}`);
  return [...keys];
}

/** A year before `now`: the window acquisitions counts demand in. */
export function yearBefore(now: Date): Date {
  const d = new Date(now);
  d.setUTCFullYear(d.getUTCFullYear() - 1);
  return d;
}

export class DemandLog {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** Records one ILL request for a title (idempotent by requester and request id). */
  record(o: { requester: string; requestId: string; title: DemandTitle; held: boolean; at: Date }): void {
    const keys = demandKeys(o.title);
    if (keys.length === 0) return;
    const id = o.requestId || `call:${randomUUID()}`;
    const insert = this.#db.sqlite.prepare(
      `INSERT OR IGNORE INTO union_demand (key, requester, request_id, requested_at, held, title)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    this.#db.transaction(() => {
      for (const k of keys)
        insert.run(k, o.requester, id, o.at.toISOString(), o.held ? 1 : 0, o.title.title.slice(0, 500));
    });
  }

  /**
   * Requests for a title since `since`, counted once each whichever of its keys matched; `own`
   * counts those of one requester. Identifiers decide when the title has any; the title only
   * when it has none.
   */
  count(t: DemandTitle, since: Date, requester = ""): { requests: number; own: number } {
    const all = demandKeys(t);
    const ids = all.filter((k) => !k.startsWith("title:"));
    const keys = ids.length > 0 ? ids : all;
    if (keys.length === 0) return { requests: 0, own: 0 };
    const row = this.#db.sqlite
      .prepare(
        `SELECT COUNT(*) AS requests, COALESCE(SUM(requester = ?), 0) AS own FROM (
           SELECT DISTINCT requester, request_id FROM union_demand
           WHERE key IN (SELECT value FROM json_each(?)) AND requested_at >= ?)`,
      )
      .get(requester, JSON.stringify(keys), since.toISOString()) as { requests: number; own: number };
    return row;
  }
}
