import type { Database } from "@lrs/shared";

/** A harvest under way (or one that failed half-way, to be resumed). */
export interface HarvestRun {
  /** The `from` it asks with (undefined: everything). */
  from?: string;
  /** The responseDate of its first request: the next harvest's `from` once this one finishes. */
  started?: string;
  /** The token of the next page; undefined before the first page is in. */
  token?: string;
  /** Records written so far. */
  records: number;
}

export interface HarvestSourceState {
  lastDatestamp?: string;
  lastFinishedAt?: string;
  run?: HarvestRun;
}

interface Row {
  last_datestamp: string | null;
  last_finished_at: string | null;
  run_from: string | null;
  run_started: string | null;
  run_token: string | null;
  run_records: number;
  run: number;
}

/** Where each harvested source got to (harvest_sources) and its identifiers (harvest_identifiers). */
export class HarvestState {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  get(source: string): HarvestSourceState {
    const r = this.#db.sqlite
      .prepare(
        `SELECT last_datestamp, last_finished_at, run_from, run_started, run_token, run_records,
           run_started IS NOT NULL OR run_token IS NOT NULL OR run_records > 0 OR run_from IS NOT NULL AS run
         FROM harvest_sources WHERE source = ?`,
      )
      .get(source) as Row | undefined;
    if (!r) return {};
    return {
      ...(r.last_datestamp ? { lastDatestamp: r.last_datestamp } : {}),
      ...(r.last_finished_at ? { lastFinishedAt: r.last_finished_at } : {}),
      ...(r.run_started || r.run_token
        ? {
            run: {
              ...(r.run_from ? { from: r.run_from } : {}),
              ...(r.run_started ? { started: r.run_started } : {}),
              ...(r.run_token ? { token: r.run_token } : {}),
              records: r.run_records,
            },
          }
        : {}),
    };
  }

  /** Starts a run: `from` is what it asks with, `started` the first response's date. */
  startRun(source: string, from: string | undefined, started: string): void {
    this.#db.sqlite
      .prepare(
        `INSERT INTO harvest_sources (source, run_from, run_started, run_token, run_records) VALUES (?, ?, ?, NULL, 0)
         ON CONFLICT (source) DO UPDATE SET run_from = excluded.run_from, run_started = excluded.run_started,
           run_token = NULL, run_records = 0`,
      )
      .run(source, from ?? null, started);
  }

  /** Notes a page written (call in the page's transaction): the token of the next one. */
  savePage(source: string, token: string | undefined, records: number): void {
    this.#db.sqlite
      .prepare("UPDATE harvest_sources SET run_token = ?, run_records = run_records + ? WHERE source = ?")
      .run(token ?? null, records, source);
  }

  /** The run finished: the next harvest asks from its start. */
  finish(source: string, now: Date): void {
    this.#db.sqlite
      .prepare(
        `UPDATE harvest_sources SET last_datestamp = run_started, last_finished_at = ?, run_from = NULL,
           run_started = NULL, run_token = NULL, run_records = 0 WHERE source = ?`,
      )
      .run(now.toISOString(), source);
  }

  /** Forgets a run under way (a full harvest starts over). */
  dropRun(source: string): void {
    this.#db.sqlite
      .prepare(
        "UPDATE harvest_sources SET run_from = NULL, run_started = NULL, run_token = NULL, run_records = 0 WHERE source = ?",
      )
      .run(source);
  }

  remember(source: string, identifier: string, recordId: string): void {
    this.#db.sqlite
      .prepare(
        `INSERT INTO harvest_identifiers (source, identifier, record_id) VALUES (?, ?, ?)
         ON CONFLICT (source, identifier) DO UPDATE SET record_id = excluded.record_id`,
      )
      .run(source, identifier, recordId);
  }

  recordIdOf(source: string, identifier: string): string | undefined {
    const r = this.#db.sqlite
      .prepare("SELECT record_id FROM harvest_identifiers WHERE source = ? AND identifier = ?")
      .get(source, identifier) as { record_id: string } | undefined;
    return r?.record_id;
  }

  forget(source: string, identifier: string): void {
    this.#db.sqlite
      .prepare("DELETE FROM harvest_identifiers WHERE source = ? AND identifier = ?")
      .run(source, identifier);
  }
}
