/**
 * ILL demand by title at a regional center: which titles its members asked for through ILL, kept
 * by the keys a title is found by (ISBN, ISSN, normalised title) so that `acquire check` and the
 * collection reports can count requests for a title in the last year. Written by the broker
 * (ill-broker/broker.ts) when it builds a request's rota; a request counts once.
 *
 * The national center holds the federation's demand: each request a regional center counts is
 * queued for it in the same transaction (the outbox, DEMAND_DESTINATION) and stored there once by
 * (key, requester, request id) however often it arrives, so its reports are whole even while a
 * region is down, and say which regions never reported and since when each counts.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Database } from "../../db.js";
import {
  type DemandRecord,
  DemandRecordSchema,
  PostDemandRequestSchema,
} from "../../gen/lrs/v1/acquisitions_pb.js";
import { normalizeIsbn, normalizeIssn } from "../../match/identifiers.js";
import { normalizeTitle } from "../../match/normalize.js";
import type { Outbox } from "../../outbox.js";

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

/** The outbox queue of a regional center's demand, to the national center's PostDemand. */
export const DEMAND_DESTINATION = "parent:demand";
export const DEMAND_POST_KIND = "demand.post";
/** The union migration that began counting demand: a node counts since it was applied. */
const DEMAND_MIGRATION = 23;

/** A region that sent its demand to the national center. */
export interface DemandSource {
  region: string;
  center: string;
  countingSince: Date;
  lastReceivedAt: Date;
}

/** At a regional center: where counted requests go up (the national center, through the outbox). */
export interface DemandUpstream {
  outbox: Outbox;
  region: string;
}

export class DemandLog {
  readonly #db: Database;
  readonly #up: DemandUpstream | undefined;

  constructor(db: Database, up?: DemandUpstream) {
    this.#db = db;
    this.#up = up;
  }

  /**
   * Since when this node counts demand: when the migration that began counting was applied
   * (requests before it were never counted anywhere).
   */
  countingSince(): Date {
    const row = this.#db.sqlite
      .prepare("SELECT applied_at FROM schema_migrations WHERE version = ?")
      .get(DEMAND_MIGRATION) as { applied_at: string } | undefined;
    return row ? new Date(row.applied_at) : new Date();
  }

  /**
   * Records one ILL request for a title (idempotent by requester and request id); at a regional
   * center, queues it for the national center in the same transaction.
   */
  record(o: { requester: string; requestId: string; title: DemandTitle; held: boolean; at: Date }): void {
    const keys = demandKeys(o.title);
    if (keys.length === 0) return;
    const id = o.requestId || `call:${randomUUID()}`;
    const insert = this.#db.sqlite.prepare(
      `INSERT OR IGNORE INTO union_demand (key, requester, request_id, requested_at, held, title)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const title = o.title.title.slice(0, 500);
    this.#db.transaction(() => {
      let added = 0;
      for (const k of keys)
        added += insert.run(k, o.requester, id, o.at.toISOString(), o.held ? 1 : 0, title).changes;
      if (added === 0 || !this.#up) return;
      const record = create(DemandRecordSchema, {
        requester: o.requester,
        requestId: id,
        requestedAt: timestampFromDate(o.at),
        held: o.held,
        title,
        keys,
      });
      this.#up.outbox.enqueue(
        DEMAND_DESTINATION,
        DEMAND_POST_KIND,
        this.#payload([record]),
        `demand:${o.requester}:${id}`,
      );
    });
  }

  /**
   * At a regional center's start: tells the national center that this region counts demand, and
   * since when, before any request is counted (a region that never reported is named in the
   * national report).
   */
  announce(at: Date = new Date()): void {
    if (!this.#up) return;
    this.#up.outbox.enqueue(
      DEMAND_DESTINATION,
      DEMAND_POST_KIND,
      this.#payload([]),
      `demand:start:${this.#up.region}:${at.toISOString()}`,
    );
  }

  #payload(records: DemandRecord[]): Uint8Array {
    return toBinary(
      PostDemandRequestSchema,
      create(PostDemandRequestSchema, {
        region: this.#up?.region ?? "",
        countingSince: timestampFromDate(this.countingSince()),
        records,
      }),
    );
  }

  /**
   * At the national center: a regional center's counted requests, stored once each (by key,
   * requester and request id); the region's counting date and last contact kept for the reports.
   */
  receive(
    from: { region: string; center: string },
    countingSince: Date,
    records: readonly DemandRecord[],
    at: Date = new Date(),
  ): { accepted: number; duplicates: number } {
    const insert = this.#db.sqlite.prepare(
      `INSERT OR IGNORE INTO union_demand (key, requester, request_id, requested_at, held, title)
       VALUES (?, ?, ?, ?, ?, ?)`,
    );
    const source = this.#db.sqlite.prepare(
      `INSERT INTO union_demand_sources (region, center, counting_since, last_received_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (region) DO UPDATE SET center = excluded.center,
         counting_since = MIN(counting_since, excluded.counting_since), last_received_at = excluded.last_received_at`,
    );
    return this.#db.transaction(() => {
      let accepted = 0;
      for (const r of records) {
        const when = r.requestedAt ? timestampDate(r.requestedAt).toISOString() : at.toISOString();
        let added = 0;
        for (const k of r.keys)
          added += insert.run(k, r.requester, r.requestId, when, r.held ? 1 : 0, r.title).changes;
        if (added > 0) accepted++;
      }
      source.run(from.region, from.center, countingSince.toISOString(), at.toISOString());
      return { accepted, duplicates: records.length - accepted };
    });
  }

  /** The regions that sent their demand (national center), by region. */
  sources(): DemandSource[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM union_demand_sources ORDER BY region")
      .all() as Array<{ region: string; center: string; counting_since: string; last_received_at: string }>;
    return rows.map((r) => ({
      region: r.region,
      center: r.center,
      countingSince: new Date(r.counting_since),
      lastReceivedAt: new Date(r.last_received_at),
    }));
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
