/**
 * Rebuilding a catalog's search index and display fields when the rules of this module change:
 * on start (a node whose index was built by older rules rebuilds it before it serves) and by
 * command (`lrs-<tier> reindex --config F`). The catalog says how to rebuild its own rows (member:
 * member-node's catalog store; union: the union catalog); this file drives it in batches of one
 * transaction each, logs progress, and records the rules the index now follows in `node_meta`.
 *
 * A rebuild that stops half way (a crash, a kill) leaves every row either rebuilt or as it was, and
 * the marker unchanged: the next start does it again from the beginning.
 */
import type { Database } from "../db.js";
import type { Logger } from "../log.js";

/**
 * The version of the index rules. 1: the member and the union catalog each had their own; 2: one
 * set (document.ts, display.ts). Raise it whenever a rule changes what a record puts in the index
 * or shows, so that existing catalogs are rebuilt.
 */
export const INDEX_RULES_VERSION = 2;

const META_KEY = "search_index_rules";
const BATCH = 2000;
const PROGRESS_EVERY_MS = 5000;

/** How one catalog rebuilds its rows. */
export interface IndexRebuildTarget {
  /** What is rebuilt, for the log ("local catalog", "union catalog"). */
  what: string;
  /** How many records there are. */
  count(): number;
  /**
   * Rebuilds the index rows and display fields of up to `limit` records whose rowid is greater
   * than `after`, in rowid order; returns the last rowid done and how many, or undefined when none
   * are left. Called inside a transaction.
   */
  batch(after: number, limit: number): { last: number; done: number } | undefined;
  /** What follows the records (a union catalog's cluster summaries); inside one transaction per call of `step`. */
  finish?(step: (fn: () => boolean) => void): void;
}

export interface IndexRebuildResult {
  /** False when the index already followed these rules (and no rebuild was forced). */
  rebuilt: boolean;
  records: number;
  ms: number;
  /** The rules version found before. */
  from: number;
}

/** The rules version the catalog's index was built with (1 when never recorded). */
export function indexRulesOf(db: Database): number {
  const row = db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(META_KEY) as
    | { value: string }
    | undefined;
  return row ? Number(row.value) : 1;
}

/**
 * Rebuilds the index of `target` when it was built by older rules (or always, with `force`), with
 * a log line at the start, every few seconds and at the end.
 */
export function rebuildSearchIndex(
  db: Database,
  target: IndexRebuildTarget,
  log: Logger,
  opts: { force?: boolean; batchSize?: number } = {},
): IndexRebuildResult {
  const from = indexRulesOf(db);
  if (from === INDEX_RULES_VERSION && !opts.force) return { rebuilt: false, records: 0, ms: 0, from };
  const started = Date.now();
  const total = target.count();
  if (total > 0) {
    log.info(
      { what: target.what, records: total, fromRules: from, toRules: INDEX_RULES_VERSION },
      "rebuilding the search index",
    );
  }
  let after = 0;
  let done = 0;
  let lastLog = started;
  for (;;) {
    const step = db.transaction(() => target.batch(after, opts.batchSize ?? BATCH));
    if (!step) break;
    after = step.last;
    done += step.done;
    const now = Date.now();
    if (now - lastLog >= PROGRESS_EVERY_MS) {
      lastLog = now;
      log.info(
        {
          what: target.what,
          done,
          records: total,
          percent: total === 0 ? 100 : Math.round((1000 * done) / total) / 10,
          perSecond: Math.round((1000 * done) / Math.max(1, now - started)),
        },
        "rebuilding the search index",
      );
    }
  }
  target.finish?.((fn) => {
    while (db.transaction(fn)) {}
  });
  db.sqlite
    .prepare(
      "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .run(META_KEY, String(INDEX_RULES_VERSION));
  const ms = Date.now() - started;
  if (total > 0) log.info({ what: target.what, records: done, ms }, "search index rebuilt");
  return { rebuilt: true, records: done, ms, from };
}
