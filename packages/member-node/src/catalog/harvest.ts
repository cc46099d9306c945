/**
 * `lrs-member harvest`: the library's own ILS, harvested over OAI-PMH into the local catalog, as
 * VuFind's and Koha's harvesters do it: ListRecords from the last successful harvest's start (the
 * first response's responseDate), every resumption token followed, deleted records turned into
 * deletes, items read from the records as an import reads them. Each page is written in one
 * transaction together with the token of the next page, so a harvest that fails half-way (the ILS
 * goes down, the process is killed) resumes at the page it had not written: nothing is lost and
 * nothing written twice. Every change goes into the change log, and up the tiers, as an import's do.
 */
import {
  type Database,
  fetchOaiPage,
  type HarvestConfig,
  type HarvestedRecord,
  type OaiPage,
  OaiResponseError,
  OaiUnavailableError,
} from "@lrs/shared";
import type { MemberCatalog } from "../store/catalog.js";
import { CatalogLoads, failedLoad } from "../store/catalog-loads.js";
import { HarvestLock } from "../store/harvest-lock.js";
import { HarvestState } from "../store/harvest-state.js";
import { CatalogRecordError, recordIdOf } from "./fields.js";
import { type HoldingsMap, resolveHoldingsMap } from "./holdings-map.js";
import { type ImportSummary, noneWritten } from "./import.js";

/** A record harvested but not written. */
export interface HarvestRejection {
  identifier: string;
  reason: string;
}

/** The counts a harvest shares with an import's summary. */
type CatalogCounts = Pick<
  ImportSummary,
  "added" | "updated" | "unchanged" | "deleted" | "rejected" | "items" | "elapsedMs" | "recordsPerSecond"
>;

export interface HarvestSummary extends CatalogCounts {
  source: string;
  full: boolean;
  /** The `from` the harvest asked with (undefined: everything). */
  from?: string;
  /** It went on from where a failed harvest stopped. */
  resumed: boolean;
  /** The ILS refused a resumption token, and the list was asked for again from the start. */
  restarted: boolean;
  pages: number;
  /** The first 1000 rejections. */
  rejections: HarvestRejection[];
  /** What the next harvest will ask from. */
  nextFrom?: string;
}

export interface HarvestProgress {
  pages: number;
  records: number;
  /** completeListSize, when the ILS says. */
  total?: number;
  elapsedMs: number;
}

export interface HarvestOptions {
  full?: boolean;
  onProgress?: (p: HarvestProgress) => void;
  onRejection?: (r: HarvestRejection) => void;
  /** Told of each failed try before the next one. */
  onRetry?: (err: Error, attempt: number, waitMs: number) => void;
  signal?: AbortSignal;
  /** Who harvests, named to another harvest that finds the lock taken. Default "lrs-member harvest". */
  by?: string;
  /** For tests: how to wait between tries. */
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
}

/** The harvest could not go on; what was written stays, and the next harvest resumes. */
export class HarvestError extends Error {
  override readonly name = "HarvestError";
}

const MAX_KEPT = 1000;
const MAX_WAIT_MS = 5 * 60_000;

/** The key a source's state is kept under. */
export function harvestSource(cfg: HarvestConfig): string {
  return `${cfg.url} ${cfg.metadata_prefix}${cfg.set ? ` ${cfg.set}` : ""}`;
}

async function fetchWithRetries(
  cfg: HarvestConfig,
  args: Record<string, string>,
  o: HarvestOptions,
): Promise<OaiPage> {
  const sleep = o.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let wait = cfg.retry_delay;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fetchOaiPage(cfg.url, args, {
        timeoutMs: cfg.timeout,
        ...(o.signal ? { signal: o.signal } : {}),
      });
    } catch (err) {
      if (!(err instanceof OaiUnavailableError) || attempt >= cfg.attempts) {
        if (err instanceof OaiUnavailableError) {
          throw new HarvestError(`${err.message}; gave up after ${attempt} tries`);
        }
        if (err instanceof OaiResponseError) throw new HarvestError(err.message);
        throw err;
      }
      const ms = Math.min(MAX_WAIT_MS, err.retryAfterSeconds ? err.retryAfterSeconds * 1000 : wait);
      o.onRetry?.(err, attempt, ms);
      await sleep(ms);
      wait = Math.min(MAX_WAIT_MS, wait * 2);
    }
  }
}

/**
 * Harvests once. Throws HarvestError when the ILS cannot be harvested (unreachable after every
 * try, an answer that is not OAI-PMH, an OAI-PMH error other than noRecordsMatch); the pages
 * written so far stay written and the next call resumes after them.
 */
export async function harvestCatalog(
  db: Database,
  catalog: MemberCatalog,
  cfg: HarvestConfig,
  o: HarvestOptions = {},
): Promise<HarvestSummary> {
  // One harvest at a time: the node's schedule and `lrs-member harvest` are two processes.
  const lock = HarvestLock.acquire(db, o.by ?? "lrs-member harvest", o.now);
  const loads = new CatalogLoads(db);
  const startedAt = new Date();
  try {
    const s = await harvestLocked(db, catalog, cfg, o, lock);
    loads.record({
      kind: "harvest",
      startedAt,
      finishedAt: new Date(),
      ...s,
      outcome: "ok",
      rejections: s.rejections.map((r) => `${r.identifier}: ${r.reason}`),
    });
    return s;
  } catch (err) {
    loads.record(failedLoad("harvest", harvestSource(cfg), startedAt, err));
    throw err;
  } finally {
    lock.release();
  }
}

async function harvestLocked(
  db: Database,
  catalog: MemberCatalog,
  cfg: HarvestConfig,
  o: HarvestOptions,
  lock: HarvestLock,
): Promise<HarvestSummary> {
  const started = performance.now();
  const now = o.now ?? (() => new Date());
  const state = new HarvestState(db);
  const source = harvestSource(cfg);
  const map: HoldingsMap = resolveHoldingsMap(cfg.holdings_map);
  if (o.full) state.dropRun(source);
  const before = state.get(source);
  const resumed = before.run !== undefined;
  let from = resumed ? before.run!.from : o.full ? undefined : before.lastDatestamp;
  let token = before.run?.token;
  const summary: HarvestSummary = {
    source,
    full: o.full ?? false,
    ...(from ? { from } : {}),
    resumed,
    restarted: false,
    pages: 0,
    ...noneWritten(),
    rejections: [],
    elapsedMs: 0,
    recordsPerSecond: 0,
  };
  const reject = (r: HarvestRejection) => {
    summary.rejected++;
    if (summary.rejections.length < MAX_KEPT) summary.rejections.push(r);
    o.onRejection?.(r);
  };
  let runStarted = resumed && before.run?.started !== undefined;

  for (;;) {
    if (o.signal?.aborted) throw new HarvestError("the harvest was interrupted; the next one resumes here");
    const args: Record<string, string> = token
      ? { verb: "ListRecords", resumptionToken: token }
      : {
          verb: "ListRecords",
          metadataPrefix: cfg.metadata_prefix,
          ...(cfg.set ? { set: cfg.set } : {}),
          ...(from ? { from } : {}),
        };
    const page = await fetchWithRetries(cfg, args, o);
    if (page.error) {
      const { code, message } = page.error;
      if (code === "badResumptionToken" && token && !summary.restarted) {
        // Expired or forgotten by the ILS: ask for the list again. What was written is written
        // again unchanged (an upsert of the same record changes nothing).
        summary.restarted = true;
        token = undefined;
        continue;
      }
      if (code === "badArgument" && !token && from?.includes("T")) {
        // An ILS that only knows days (YYYY-MM-DD granularity).
        from = from.slice(0, 10);
        summary.from = from;
        continue;
      }
      if (code === "noRecordsMatch" && !token) {
        if (!runStarted) state.startRun(source, from, page.responseDate || now().toISOString());
        state.finish(source, now());
        break;
      }
      throw new HarvestError(`the ILS answered ${code}${message ? `: ${message}` : ""}`);
    }
    if (!runStarted) {
      state.startRun(source, from, page.responseDate || now().toISOString());
      runStarted = true;
    }
    const next = page.resumptionToken ? page.resumptionToken : undefined;
    db.transaction(() => {
      for (const rec of page.records) applyRecord(db, catalog, state, source, map, rec, summary, reject);
      state.savePage(source, next, page.records.length);
    });
    summary.pages++;
    lock.renew();
    o.onProgress?.({
      pages: summary.pages,
      records: summary.added + summary.updated + summary.unchanged + summary.deleted + summary.rejected,
      ...(page.completeListSize !== undefined ? { total: page.completeListSize } : {}),
      elapsedMs: performance.now() - started,
    });
    if (!next) {
      state.finish(source, now());
      break;
    }
    token = next;
  }
  const after = state.get(source);
  if (after.lastDatestamp) summary.nextFrom = after.lastDatestamp;
  summary.elapsedMs = performance.now() - started;
  const n = summary.added + summary.updated + summary.unchanged + summary.deleted + summary.rejected;
  summary.recordsPerSecond = summary.elapsedMs > 0 ? (n * 1000) / summary.elapsedMs : 0;
  return summary;
}

function applyRecord(
  db: Database,
  catalog: MemberCatalog,
  state: HarvestState,
  source: string,
  map: HoldingsMap,
  rec: HarvestedRecord,
  summary: HarvestSummary,
  reject: (r: HarvestRejection) => void,
): void {
  if (!rec.identifier) {
    reject({ identifier: "(none)", reason: "the record's header has no identifier" });
    return;
  }
  if (rec.deleted) {
    // The ILS's identifier leads to the record id it was harvested under; an identifier never
    // harvested here ends in the ILS's own number (oai:koha:123), which is what 001 carries.
    const recordId =
      state.recordIdOf(source, rec.identifier) ?? rec.identifier.slice(rec.identifier.lastIndexOf(":") + 1);
    if (catalog.delete(recordId)) summary.deleted++;
    else summary.unchanged++;
    state.forget(source, rec.identifier);
    return;
  }
  if (!rec.record) {
    reject({ identifier: rec.identifier, reason: rec.problem ?? "the record has no metadata" });
    return;
  }
  try {
    // One savepoint per record: a record that cannot be written goes alone.
    db.transaction(() => {
      const { items, record } = map.extract(rec.record!);
      const recordId = recordIdOf(record);
      const r = catalog.upsert(record, items);
      state.remember(source, rec.identifier, recordId);
      summary[r.outcome]++;
      if (r.outcome !== "unchanged") summary.items += r.items;
    });
  } catch (err) {
    if (!(err instanceof CatalogRecordError)) throw err;
    reject({ identifier: rec.identifier, reason: err.message });
  }
}
