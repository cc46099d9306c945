import { createHash } from "node:crypto";
import type { Statement } from "better-sqlite3";
import { INDEX_COLUMNS, type IndexDocument } from "../../catalog-index/columns.js";
import {
  acquisitionFields,
  type ChangeFeed,
  type FeedEntry,
  type HoldingData,
  type RecordChange,
} from "../../catalog-sync/change-feed.js";
import type { Database, Sqlite } from "../../db.js";
import { readMarcBlob } from "../../marc/blob.js";
import { MARCXML_NAMESPACE, toMarcXml } from "../../marc/marcxml.js";
import { type ClusterInput, clusterRecords, type SplitSide } from "./clustering.js";
import { describeRecord, type RecordDescription, type RecordSummary } from "./describe.js";
import type { RecordDescriptions } from "./describe-pool.js";
import { InvalidSplitError, ResyncStateError, UnknownClusterError } from "./errors.js";
import { exportRecord, type InstitutionHoldings } from "./export-record.js";

export type { RecordSummary } from "./describe.js";
export type { InstitutionHoldings } from "./export-record.js";

export interface UnionCatalogOptions {
  /** This node's id; cluster ids are "<nodeId>:c<number>", so a member can tell whose cluster it is. */
  nodeId: string;
  /** Clock, for tests. */
  now?: () => Date;
}

/** A record, by the institution it belongs to and its id there. */
export interface RecordRef {
  institutionId: string;
  recordId: string;
}

/** A contributed record, as a cluster lists it. */
export interface ClusterRecord extends RecordRef {
  /** The node that sent it here (a member at a regional center, a regional center at the national one). */
  source: string;
  /** When this catalog first received the record. */
  receivedAt: Date;
  /** When its content (MARC or holdings) last changed here. */
  updatedAt: Date;
  /** When it changed at its institution, as the change said. */
  changedAt: Date;
  completeness: number;
}

/** What a cluster shows: the preferred record's description plus every record's identifiers. */
export interface ClusterSummary extends RecordSummary {
  /** ISBN-13s of all records of the cluster. */
  isbns: string[];
  /** ISSNs of all records of the cluster. */
  issns: string[];
  recordCount: number;
  institutionCount: number;
}

export interface PreferredRecord extends RecordRef {
  /** ISO 2709, UTF-8, as the institution sent it. */
  marc: Uint8Array;
}

export interface ClusterView {
  id: string;
  preferred: PreferredRecord;
  records: ClusterRecord[];
  holdings: InstitutionHoldings[];
  summary: ClusterSummary;
  /** Ids of clusters merged into this one (they resolve to it). */
  aliases: string[];
  downloads: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface SplitInfo {
  id: number;
  createdAt: Date;
  /** The cluster that was split (it kept the records not named). */
  fromCluster: string;
  /** The cluster the named records went to. */
  newCluster: string;
  reason: string;
  /** The records split off. */
  records: RecordRef[];
  /** The rest of the cluster at the time of the split, kept apart from `records` from then on. */
  rest: RecordRef[];
}

export interface UnionStats {
  records: number;
  clusters: number;
  /** Merges of two clusters into one, ever (a record bridging two clusters). */
  merges: number;
  splits: number;
  /** Records whose bytes could not be read as MARC (kept and forwarded, but unmatched). */
  unreadable: number;
  institutions: Array<{ institutionId: string; records: number; holdings: number; clusters: number }>;
}

export interface SearchHit {
  id: string;
  /** FTS5 bm25: lower is better. */
  score: number;
  summary: ClusterSummary;
}

interface RecordRow {
  rid: number;
  institution_id: string;
  record_id: string;
  source: string;
  cluster_id: number;
  digest: string;
  seen_epoch: string | null;
}

interface ClusterRow {
  id: number;
  created_at: string;
  updated_at: string;
  preferred_rid: number;
  record_count: number;
  institution_count: number;
  title: string;
  title_vernacular: string;
  author: string;
  year: string;
  isbns: string;
  issns: string;
  language: string;
  format: string;
  simple: number;
}

interface MemberRow {
  rid: number;
  institution_id: string;
  record_id: string;
  source: string;
  received_at: string;
  updated_at: string;
  changed_at: string;
  completeness: number;
  holdings: string;
}

/** What a recomputation starts from. */
interface Recluster {
  /** Records whose cluster may change. */
  seeds: number[];
  /** Keys that records may have been joined by and no longer are (a deleted or changed record's). */
  oldKeys?: string[];
  /** Clusters that lost a record. */
  emptied?: number[];
  /** Records that must not keep their cluster's id (an operator's split: they go to a new cluster). */
  leaving?: ReadonlySet<number>;
  /** The record that caused the change, for the merge history. */
  cause?: RecordRef;
  /** A record whose content changed: its cluster is refreshed even when its members did not change. */
  touched?: number;
}

/**
 * What one atomic step (#atomic: a change, a batch, a resync's end, a split) keeps in memory until
 * it ends, instead of reading or writing it once per record.
 */
interface Work {
  /** Change-log entries by record, in the order of each record's last change (written at the end). */
  log: Map<string, [institutionId: string, recordId: string, changedAt: string]>;
  /** The newest OAI-PMH log position and datestamp ({0, ""} for none), once read. */
  oai?: { seq: number; at: string };
  /** Each source's resync epoch, once read. */
  epochs: Map<string, string | null>;
}

/**
 * What a cluster's change does to its OAI-PMH holders: recompute them from its records, nothing
 * (its records are the same), a new cluster's first holder, or one more holder (a record joined).
 */
type OaiHolders = "recompute" | "unchanged" | { first: string } | { joined: string };

const FUZZY_PREFIX = "fuzzy:";
const CHUNK = 500;
const PAGE = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => "?").join(",");
}

function refKey(institutionId: string, recordId: string): string {
  return `${institutionId}\u0000${recordId}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Holdings in a canonical form (fixed key order), as stored and as digested. A due date is a key
 * only when there is one, so that holdings without one keep the digest they had before due dates
 * were carried, and a changed due date is a changed record.
 */
function holdingsJson(holdings: readonly HoldingData[]): string {
  return JSON.stringify(
    holdings.map((h) => ({
      barcode: h.barcode,
      callNumber: h.callNumber,
      location: h.location,
      status: h.status,
      loanRule: h.loanRule,
      ...(h.dueDate ? { dueDate: h.dueDate } : {}),
      ...acquisitionFields(h),
    })),
  );
}

function identifiersOf(keys: readonly string[], kind: "isbn" | "issn"): string[] {
  const prefix = `${kind}:`;
  return keys.filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length));
}

/** The distinct identifiers of a kind among keys, in the order of the cluster's (SQLite's BINARY: the keys are ASCII). */
function sortedIdentifiers(keys: readonly string[], kind: "isbn" | "issn"): string[] {
  return [...new Set(identifiersOf(keys, kind))].sort(compare);
}

function prepareStatements(db: Sqlite) {
  const p = (sql: string) => db.prepare(sql);
  return {
    record: p(
      "SELECT rid, institution_id, record_id, source, cluster_id, digest, seen_epoch FROM union_records WHERE institution_id = ? AND record_id = ?",
    ),
    recordByRid: p(
      "SELECT rid, institution_id, record_id, source, cluster_id, digest, seen_epoch FROM union_records WHERE rid = ?",
    ),
    touch: p("UPDATE union_records SET source = ?, seen_epoch = ? WHERE rid = ?"),
    // With its cluster when that is known before (#placement), so that the wide row (MARC inline)
    // is written once; a null rid is the next one.
    insertRecord: p(
      `INSERT INTO union_records (rid, institution_id, record_id, source, cluster_id, marc, holdings, digest,
         changed_at, received_at, updated_at, seen_epoch, completeness, readable, summary)
       VALUES (@rid, @institutionId, @recordId, @source, @cluster, @marc, @holdings, @digest, @changedAt, @now,
         @now, @epoch, @completeness, @readable, @summary)`,
    ),
    // The rid the next record gets (an INTEGER PRIMARY KEY without AUTOINCREMENT takes the largest + 1).
    nextRid: p("SELECT COALESCE(MAX(rid), 0) + 1 AS rid FROM union_records"),
    updateRecord: p(
      `UPDATE union_records SET source = @source, marc = @marc, holdings = @holdings, digest = @digest,
         changed_at = @changedAt, updated_at = @now, seen_epoch = @epoch, completeness = @completeness,
         readable = @readable, summary = @summary
       WHERE rid = @rid`,
    ),
    deleteRecord: p("DELETE FROM union_records WHERE rid = ?"),
    keysOf: p("SELECT key FROM union_record_keys WHERE rid = ? ORDER BY key"),
    insertKey: p("INSERT OR IGNORE INTO union_record_keys (key, rid, strong) VALUES (?, ?, ?)"),
    deleteKeys: p("DELETE FROM union_record_keys WHERE rid = ?"),
    insertFts: p(
      `INSERT INTO union_fts (rowid, ${INDEX_COLUMNS.join(", ")}) VALUES (?, ${INDEX_COLUMNS.map(() => "?").join(", ")})`,
    ),
    deleteFts: p("DELETE FROM union_fts WHERE rowid = ?"),
    ridsInCluster: p("SELECT rid FROM union_records WHERE cluster_id = ?"),
    setCluster: p("UPDATE union_records SET cluster_id = ? WHERE rid = ?"),
    inSplit: p("SELECT 1 FROM union_split_members WHERE institution_id = ? AND record_id = ? LIMIT 1"),
    activeEpoch: p("SELECT active_epoch, last_epoch FROM union_resyncs WHERE source = ?"),
    beginResync: p(
      `INSERT INTO union_resyncs (source, active_epoch) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET active_epoch = excluded.active_epoch`,
    ),
    endResync: p("UPDATE union_resyncs SET active_epoch = NULL, last_epoch = ? WHERE source = ?"),
    stale: p(
      `SELECT institution_id, record_id FROM union_records
       WHERE source = ? AND (seen_epoch IS NULL OR seen_epoch <> ?) ORDER BY rid`,
    ),
    // The change log of one atomic step, written at its end: a JSON array of [institution, record,
    // changedAt], one per record in the order of their last change (each record keeps one entry).
    dropOldChanges: p(
      `DELETE FROM union_changes WHERE seq IN (
         SELECT c.seq FROM json_each(?) j
         JOIN union_changes c ON c.institution_id = j.value ->> 0 AND c.record_id = j.value ->> 1)`,
    ),
    logChanges: p(
      `INSERT INTO union_changes (institution_id, record_id, changed_at)
         SELECT value ->> 0, value ->> 1, value ->> 2 FROM json_each(?) ORDER BY key`,
    ),
    headSeq: p("SELECT seq FROM sqlite_sequence WHERE name = 'union_changes'"),
    loggedAfter: p("SELECT changed_at FROM union_changes WHERE seq > ? ORDER BY seq LIMIT 1"),
    changesAfter: p(
      `SELECT c.seq, c.institution_id, c.record_id, c.changed_at AS logged_at, r.marc, r.holdings, r.changed_at
       FROM union_changes c
       LEFT JOIN union_records r ON r.institution_id = c.institution_id AND r.record_id = c.record_id
       WHERE c.seq > ? ORDER BY c.seq LIMIT ?`,
    ),
    snapshotPage: p(
      `SELECT rid, institution_id, record_id, marc, holdings, changed_at FROM union_records
       WHERE rid > ? ORDER BY rid LIMIT ?`,
    ),
    newCluster: p(
      `INSERT INTO union_clusters (created_at, updated_at, preferred_rid, record_count, institution_count, title,
         title_vernacular, author, year, isbns, issns, language, format, simple)
       VALUES (?, ?, 0, 0, 0, '', '', '', '', '', '', '', '', 0)`,
    ),
    // A cluster of one new record, complete: what #refreshCluster would write for it.
    singleCluster: p(
      `INSERT INTO union_clusters (created_at, updated_at, preferred_rid, record_count, institution_count, title,
         title_vernacular, author, year, isbns, issns, language, format, simple)
       VALUES (@now, @now, @rid, 1, 1, @title, @titleVernacular, @author, @year, @isbns, @issns, @language,
         @format, 1)`,
    ),
    cluster: p("SELECT * FROM union_clusters WHERE id = ?"),
    setSimple: p("UPDATE union_clusters SET simple = ? WHERE id = ?"),
    alias: p("SELECT cluster_id FROM union_cluster_aliases WHERE alias = ?"),
    aliasesOf: p("SELECT alias FROM union_cluster_aliases WHERE cluster_id = ? ORDER BY alias"),
    addAlias: p("INSERT OR REPLACE INTO union_cluster_aliases (alias, cluster_id) VALUES (?, ?)"),
    moveAliases: p("UPDATE union_cluster_aliases SET cluster_id = ? WHERE cluster_id = ?"),
    dropAliases: p("DELETE FROM union_cluster_aliases WHERE cluster_id = ?"),
    logMerge: p(
      "INSERT INTO union_merges (merged_at, survivor, retired, institution_id, record_id) VALUES (?, ?, ?, ?, ?)",
    ),
    moveDownloads: p(
      `INSERT INTO union_downloads (cluster_id, institution_id, count, last_at)
         SELECT ?, institution_id, count, last_at FROM union_downloads WHERE cluster_id = ?
       ON CONFLICT (cluster_id, institution_id) DO UPDATE SET count = count + excluded.count,
         last_at = max(last_at, excluded.last_at)`,
    ),
    dropDownloads: p("DELETE FROM union_downloads WHERE cluster_id = ?"),
    deleteCluster: p("DELETE FROM union_clusters WHERE id = ?"),
    oaiLast: p("SELECT seq, changed_at FROM union_oai ORDER BY seq DESC LIMIT 1"),
    oaiSet: p(
      `INSERT INTO union_oai (cluster_id, seq, changed_at, deleted) VALUES (?, ?, ?, ?)
       ON CONFLICT (cluster_id) DO UPDATE SET seq = excluded.seq, changed_at = excluded.changed_at,
         deleted = excluded.deleted`,
    ),
    // Holders are marked former or current only where that changes (most changes change no holder).
    oaiFormerHolders: p(
      `UPDATE union_oai_holders SET current = 0 WHERE cluster_id = @id AND current = 1
         AND institution_id NOT IN (SELECT institution_id FROM union_records WHERE cluster_id = @id)`,
    ),
    oaiAddHolders: p(
      `INSERT INTO union_oai_holders (institution_id, cluster_id, current)
         SELECT DISTINCT institution_id, @id, 1 FROM union_records WHERE cluster_id = @id
       ON CONFLICT (institution_id, cluster_id) DO UPDATE SET current = 1 WHERE current = 0`,
    ),
    oaiFirstHolder: p("INSERT INTO union_oai_holders (institution_id, cluster_id, current) VALUES (?, ?, 1)"),
    oaiJoinedHolder: p(
      `INSERT INTO union_oai_holders (institution_id, cluster_id, current) VALUES (?, ?, 1)
       ON CONFLICT (institution_id, cluster_id) DO UPDATE SET current = 1 WHERE current = 0`,
    ),
    members: p(
      `SELECT rid, institution_id, record_id, source, received_at, updated_at, changed_at, completeness, holdings
       FROM union_records WHERE cluster_id = ? ORDER BY institution_id, record_id`,
    ),
    // The index union_records_cluster has the records of a cluster in this order.
    preferred: p(
      `SELECT rid, summary FROM union_records WHERE cluster_id = ?
       ORDER BY completeness DESC, received_at, institution_id, record_id LIMIT 1`,
    ),
    counts: p(
      "SELECT COUNT(*) AS records, COUNT(DISTINCT institution_id) AS institutions FROM union_records WHERE cluster_id = ?",
    ),
    clusterIdentifiers: p(
      `SELECT DISTINCT k.key FROM union_records r JOIN union_record_keys k ON k.rid = r.rid
       WHERE r.cluster_id = ? AND k.strong = 1 AND (k.key LIKE 'isbn:%' OR k.key LIKE 'issn:%') ORDER BY k.key`,
    ),
    updateCluster: p(
      `UPDATE union_clusters SET updated_at = @now, preferred_rid = @preferred, record_count = @records,
         institution_count = @institutions, title = @title, title_vernacular = @titleVernacular, author = @author,
         year = @year, language = @language, format = @format
       WHERE id = @id`,
    ),
    sharedByAllOthers: p(
      `SELECT 1 FROM union_record_keys k JOIN union_records r ON r.rid = k.rid
       WHERE r.cluster_id = ? AND k.strong = 1 AND k.rid <> ?
       GROUP BY k.key HAVING COUNT(*) = ? LIMIT 1`,
    ),
    updateIdentifiers: p("UPDATE union_clusters SET isbns = ?, issns = ? WHERE id = ?"),
    marcOf: p("SELECT institution_id, record_id, marc FROM union_records WHERE rid = ?"),
    countDownload: p(
      `INSERT INTO union_downloads (cluster_id, institution_id, count, last_at) VALUES (?, ?, 1, ?)
       ON CONFLICT (cluster_id, institution_id) DO UPDATE SET count = count + 1, last_at = excluded.last_at`,
    ),
    clusterDownloads: p("SELECT COALESCE(SUM(count), 0) AS n FROM union_downloads WHERE cluster_id = ?"),
    downloadCounts: p(
      "SELECT institution_id, SUM(count) AS n FROM union_downloads GROUP BY institution_id ORDER BY institution_id",
    ),
    insertSplit: p(
      "INSERT INTO union_splits (created_at, from_cluster, new_cluster, reason) VALUES (?, ?, 0, ?)",
    ),
    setSplitTarget: p("UPDATE union_splits SET new_cluster = ? WHERE id = ?"),
    insertSplitMember: p(
      "INSERT OR IGNORE INTO union_split_members (split_id, institution_id, record_id, side) VALUES (?, ?, ?, ?)",
    ),
    splits: p("SELECT * FROM union_splits ORDER BY id"),
    splitMembers: p(
      "SELECT institution_id, record_id, side FROM union_split_members WHERE split_id = ? ORDER BY institution_id, record_id",
    ),
    deleteSplit: p("DELETE FROM union_splits WHERE id = ?"),
    deleteSplitMembers: p("DELETE FROM union_split_members WHERE split_id = ?"),
    clusterPage: p("SELECT id, preferred_rid FROM union_clusters WHERE id > ? ORDER BY id LIMIT ?"),
    // Records match; clusters are ranked by their best record. MATERIALIZED keeps bm25() in the
    // full-text query, where FTS5 allows it.
    search: p(
      `WITH f AS MATERIALIZED (
         SELECT rowid AS rid, bm25(union_fts) AS score FROM union_fts WHERE union_fts MATCH ?
       ),
       m AS (
         SELECT r.cluster_id AS cid, MIN(f.score) AS score FROM f JOIN union_records r ON r.rid = f.rid
         GROUP BY r.cluster_id ORDER BY score, r.cluster_id LIMIT ?
       )
       SELECT c.*, m.score FROM m JOIN union_clusters c ON c.id = m.cid ORDER BY m.score, c.id`,
    ),
  };
}

/**
 * The union catalog of a regional or national center: every record its members (or regions) send,
 * clustered into manifestations (rules in clustering.ts), with holdings by institution, a search
 * index, and its own change log, so that a regional center forwards what it holds to the national
 * center exactly as a member forwards its catalog (ChangeFeed; the institution of each change is
 * the member whose record it is).
 *
 * All methods are synchronous. The ones that write are atomic on their own (a savepoint inside the
 * caller's transaction); the sync receiver calls `apply` for every change of a batch inside one
 * `db.transaction`, so that the batch and its acknowledged position commit together.
 *
 * Cost of a change: a record that matches nothing, or matches one cluster held together by strong
 * keys alone (the common case: the same book from one more library), is placed directly —
 * independent of the cluster's size. Anything else (a fuzzy match, a bridge between clusters, a
 * delete, changed keys, a split) recomputes the neighbourhood of the change, which costs in
 * proportion to the records of the clusters involved.
 */
export class UnionCatalog implements ChangeFeed {
  readonly nodeId: string;
  readonly #db: Sqlite;
  readonly #now: () => Date;
  readonly #idPrefix: string;
  readonly #q: ReturnType<typeof prepareStatements>;
  readonly #cache = new Map<string, Statement>();
  readonly #tx: ReturnType<Sqlite["transaction"]>;
  #work: Work | undefined;

  constructor(db: Database, opts: UnionCatalogOptions) {
    this.nodeId = opts.nodeId;
    this.#db = db.sqlite;
    this.#now = opts.now ?? (() => new Date());
    this.#idPrefix = `${opts.nodeId}:c`;
    this.#q = prepareStatements(this.#db);
    this.#tx = this.#db.transaction((fn: () => unknown) => fn());
  }

  // ---------------------------------------------------------------- receiving (CatalogSink)

  /**
   * Upserts or deletes one record sent by `source`, re-clusters what the change touches and
   * appends it to this catalog's change log. An upsert identical to what is held (same MARC bytes
   * and holdings) and a delete of a record not held change nothing and log nothing — only the
   * resync bookkeeping notes that the record was seen. Changes are taken in the order given (the
   * sender's sequence), not by their `changedAt`, which comes from another node's clock.
   *
   * The caller (the sync receiver) has already checked that `source` may speak for
   * `change.institutionId`.
   */
  apply(source: string, change: RecordChange): void {
    this.applyBatch(source, [change]);
  }

  /**
   * Applies `changes` from `source` in order, as {@link apply} applies each, in one atomic step: all
   * or none (the sync receiver applies a PushChanges batch so, inside its transaction). One step
   * for the batch rather than one per change lets the full-text index gather the batch's rows and
   * write them once (SQLite's FTS5 writes out what it gathered at every savepoint), and writes the
   * change log with one statement. `described`: records described beforehand (describe-pool.ts,
   * on worker threads); the others are described here.
   */
  applyBatch(source: string, changes: readonly RecordChange[], described?: RecordDescriptions): void {
    if (changes.length === 0) return;
    this.#atomic(() => {
      for (const change of changes) {
        this.#apply(source, change, change.kind === "upsert" ? described?.get(change.marc) : undefined);
      }
    });
  }

  #apply(source: string, change: RecordChange, described?: RecordDescription): void {
    const existing = this.#q.record.get(change.institutionId, change.recordId) as RecordRow | undefined;
    if (change.kind === "delete") {
      if (existing) this.#remove(existing, change.changedAt);
      return;
    }
    const epoch = this.#activeEpoch(source);
    const holdings = holdingsJson(change.holdings);
    const digest = createHash("sha256")
      .update(change.marc)
      .update("\u0000")
      .update(holdings)
      .digest("base64url");
    if (existing && existing.digest === digest) {
      if (existing.source !== source || existing.seen_epoch !== epoch)
        this.#q.touch.run(source, epoch, existing.rid);
      return;
    }
    const d = described ?? describeRecord(change.marc);
    const params = {
      institutionId: change.institutionId,
      recordId: change.recordId,
      source,
      marc: change.marc,
      holdings,
      digest,
      changedAt: change.changedAt.toISOString(),
      now: this.#now().toISOString(),
      epoch,
      completeness: d.completeness,
      readable: d.readable ? 1 : 0,
      summary: JSON.stringify(d.summary),
    };
    const keys = d.strong.map((key) => ({ key, strong: 1 }));
    if (d.fuzzy !== undefined) keys.push({ key: FUZZY_PREFIX + d.fuzzy, strong: 0 });
    const newKeys = keys.map((k) => k.key).sort(compare);
    const cause = { institutionId: change.institutionId, recordId: change.recordId };

    if (existing) {
      const { institutionId: _i, recordId: _r, ...update } = params;
      this.#q.updateRecord.run({ ...update, rid: existing.rid });
      this.#index(existing.rid, d.search, true);
      const oldKeys = (this.#q.keysOf.all(existing.rid) as Array<{ key: string }>).map((r) => r.key);
      if (oldKeys.length === newKeys.length && oldKeys.every((k, i) => k === newKeys[i])) {
        // Same keys, same clusters: only what the record's cluster shows may change.
        this.#refreshCluster(existing.cluster_id, "unchanged");
      } else {
        this.#q.deleteKeys.run(existing.rid);
        for (const k of keys) this.#q.insertKey.run(k.key, existing.rid, k.strong);
        this.#recluster({ seeds: [existing.rid], oldKeys, cause, touched: existing.rid });
      }
    } else {
      const place = this.#placement(cause, d.strong, d.fuzzy);
      let rid: number;
      if (place === "alone") {
        rid = (this.#q.nextRid.get() as { rid: number }).rid;
        const cluster = Number(
          this.#q.singleCluster.run({
            now: params.now,
            rid,
            title: d.summary.title,
            titleVernacular: d.summary.titleVernacular,
            author: d.summary.author,
            year: d.summary.year,
            language: d.summary.language,
            format: d.summary.format,
            isbns: sortedIdentifiers(d.strong, "isbn").join(" "),
            issns: sortedIdentifiers(d.strong, "issn").join(" "),
          }).lastInsertRowid,
        );
        this.#q.insertRecord.run({ ...params, rid, cluster });
        this.#oaiChanged(cluster, false, { first: change.institutionId });
      } else {
        const cluster = place?.id ?? 0;
        rid = Number(this.#q.insertRecord.run({ ...params, rid: null, cluster }).lastInsertRowid);
      }
      for (const k of keys) this.#q.insertKey.run(k.key, rid, k.strong);
      this.#index(rid, d.search, false);
      if (place === undefined) this.#recluster({ seeds: [rid], cause, touched: rid });
      else if (place !== "alone")
        this.#refreshCluster(place.id, { added: d.strong, row: place, institution: change.institutionId });
    }
    this.#log(change.institutionId, change.recordId, change.changedAt);
  }

  /** Starts a full resync of `source`: from now on, records it sends are marked as seen in `epoch`. */
  beginResync(source: string, epoch: bigint): void {
    this.#q.beginResync.run(source, epoch.toString());
  }

  /**
   * Ends the resync `epoch` of `source`: every record from `source` that was not applied during
   * the epoch is deleted (and logged as a delete). Returns how many. Ending an epoch that already
   * ended is a no-op returning 0; ending one that is not in progress throws ResyncStateError.
   */
  endResync(source: string, epoch: bigint): number {
    return this.#atomic(() => this.#endResync(source, epoch));
  }

  #endResync(source: string, epoch: bigint): number {
    const e = epoch.toString();
    const row = this.#q.activeEpoch.get(source) as
      | { active_epoch: string | null; last_epoch: string | null }
      | undefined;
    if (row?.active_epoch !== e) {
      if (row?.last_epoch === e && row.active_epoch === null) return 0;
      throw new ResyncStateError(source, epoch, row?.active_epoch ?? undefined);
    }
    const stale = this.#q.stale.all(source, e) as Array<{ institution_id: string; record_id: string }>;
    const now = this.#now();
    for (const r of stale) {
      // Removing one record may have moved others to other clusters: read each afresh.
      this.#remove(this.#q.record.get(r.institution_id, r.record_id) as RecordRow, now);
    }
    this.#q.endResync.run(e, source);
    return stale.length;
  }

  // ---------------------------------------------------------------- ChangeFeed

  headSeq(): bigint {
    const row = this.#q.headSeq.get() as { seq: number } | undefined;
    return BigInt(row?.seq ?? 0);
  }

  loggedAfter(seq: bigint): Date | undefined {
    const row = this.#q.loggedAfter.get(seq) as { changed_at: string } | undefined;
    return row ? new Date(row.changed_at) : undefined;
  }

  changesAfter(seq: bigint, limit: number): FeedEntry[] {
    const rows = this.#q.changesAfter.all(seq, limit) as Array<{
      seq: number;
      institution_id: string;
      record_id: string;
      logged_at: string;
      marc: Buffer | null;
      holdings: string | null;
      changed_at: string | null;
    }>;
    return rows.map((r) => ({
      seq: BigInt(r.seq),
      change:
        r.marc === null
          ? {
              kind: "delete",
              institutionId: r.institution_id,
              recordId: r.record_id,
              changedAt: new Date(r.logged_at),
            }
          : {
              kind: "upsert",
              institutionId: r.institution_id,
              recordId: r.record_id,
              marc: new Uint8Array(r.marc),
              holdings: JSON.parse(r.holdings ?? "[]") as HoldingData[],
              changedAt: new Date(r.changed_at ?? r.logged_at),
            },
    }));
  }

  /**
   * Every record held, with the log position they stand for. The records are read a page at a
   * time, so no statement stays open while the caller awaits between pages and the connection
   * stays free for writes. A record changed meanwhile may be read in its new state or missed;
   * either way its change is in the log after `seq` and is sent after the resync, which the
   * ChangeFeed contract makes harmless.
   */
  snapshot(): { seq: bigint; records: Iterable<Extract<RecordChange, { kind: "upsert" }>> } {
    const seq = this.headSeq();
    const page = this.#q.snapshotPage;
    function* records(): Generator<Extract<RecordChange, { kind: "upsert" }>> {
      let after = 0;
      for (;;) {
        const rows = page.all(after, PAGE) as Array<{
          rid: number;
          institution_id: string;
          record_id: string;
          marc: Buffer;
          holdings: string;
          changed_at: string;
        }>;
        for (const r of rows) {
          yield {
            kind: "upsert",
            institutionId: r.institution_id,
            recordId: r.record_id,
            marc: new Uint8Array(r.marc),
            holdings: JSON.parse(r.holdings) as HoldingData[],
            changedAt: new Date(r.changed_at),
          };
        }
        if (rows.length < PAGE) return;
        after = rows[rows.length - 1]!.rid;
      }
    }
    return { seq, records: records() };
  }

  // ---------------------------------------------------------------- reading

  /** The cluster with this id, or the one it was merged into; undefined when there is none. */
  getCluster(id: string): ClusterView | undefined {
    const n = this.#resolve(id);
    if (n === undefined) return undefined;
    const row = this.#q.cluster.get(n) as ClusterRow;
    const members = this.#members(n);
    return {
      id: this.#externalId(n),
      preferred: this.#preferredRecord(row),
      records: members.map((m) => ({
        institutionId: m.institution_id,
        recordId: m.record_id,
        source: m.source,
        receivedAt: new Date(m.received_at),
        updatedAt: new Date(m.updated_at),
        changedAt: new Date(m.changed_at),
        completeness: m.completeness,
      })),
      holdings: groupHoldings(members),
      summary: toSummary(row),
      aliases: (this.#q.aliasesOf.all(n) as Array<{ alias: number }>).map((a) => this.#externalId(a.alias)),
      downloads: (this.#q.clusterDownloads.get(n) as { n: number }).n,
      createdAt: new Date(row.created_at),
      updatedAt: new Date(row.updated_at),
    };
  }

  /** The id of the cluster a record is in, or undefined when the record is not held. */
  clusterOf(institutionId: string, recordId: string): string | undefined {
    const row = this.#q.record.get(institutionId, recordId) as RecordRow | undefined;
    return row ? this.#externalId(row.cluster_id) : undefined;
  }

  stats(): UnionStats {
    const one = (sql: string) => (this.#db.prepare(sql).get() as { n: number }).n;
    const perInstitution = this.#db
      .prepare(
        `SELECT institution_id, COUNT(*) AS records, SUM(json_array_length(holdings)) AS holdings,
           COUNT(DISTINCT cluster_id) AS clusters
         FROM union_records GROUP BY institution_id ORDER BY institution_id`,
      )
      .all() as Array<{ institution_id: string; records: number; holdings: number; clusters: number }>;
    return {
      records: one("SELECT COUNT(*) AS n FROM union_records"),
      clusters: one("SELECT COUNT(*) AS n FROM union_clusters"),
      merges: one("SELECT COUNT(*) AS n FROM union_merges"),
      splits: one("SELECT COUNT(*) AS n FROM union_splits"),
      unreadable: one("SELECT COUNT(*) AS n FROM union_records WHERE readable = 0"),
      institutions: perInstitution.map((r) => ({
        institutionId: r.institution_id,
        records: r.records,
        holdings: r.holdings,
        clusters: r.clusters,
      })),
    };
  }

  /**
   * Clusters matching an FTS5 MATCH expression, best first. The index has a row per record with
   * the columns title, author, subject, isbn, issn, publisher, year and any (describe.ts says what
   * goes where; build the expression with match/cjk.ts toFtsQuery, normalise ISBNs to ISBN-13 and
   * write ISSNs as eight characters without the hyphen). A cluster matches when one of its records
   * matches the whole expression, and ranks by its best record (bm25).
   */
  searchClusters(ftsMatch: string, limit: number): SearchHit[] {
    const rows = this.#q.search.all(ftsMatch, limit) as Array<ClusterRow & { score: number }>;
    return rows.map((r) => ({ id: this.#externalId(r.id), score: r.score, summary: toSummary(r) }));
  }

  // ---------------------------------------------------------------- copy cataloging

  /**
   * Counts a copy-cataloging download of a cluster's preferred record by `byInstitution` and
   * returns that record. Throws UnknownClusterError for an unknown id.
   */
  recordDownload(clusterId: string, byInstitution: string): PreferredRecord & { clusterId: string } {
    const n = this.#resolve(clusterId);
    if (n === undefined) throw new UnknownClusterError(clusterId);
    this.#q.countDownload.run(n, byInstitution, this.#now().toISOString());
    return { clusterId: this.#externalId(n), ...this.#preferredRecord(this.#q.cluster.get(n) as ClusterRow) };
  }

  /** Downloads per downloading institution, over all clusters (also those since removed). */
  downloadCounts(): Array<{ institutionId: string; downloads: number }> {
    return (this.#q.downloadCounts.all() as Array<{ institution_id: string; n: number }>).map((r) => ({
      institutionId: r.institution_id,
      downloads: r.n,
    }));
  }

  /**
   * Writes the whole union catalog as one MARCXML collection (see {@link exportMarcXmlPages}).
   * `write` is called synchronously with pieces of the document; call this inside a transaction
   * for a consistent export.
   */
  exportMarcXml(write: (chunk: string) => void): { records: number; skipped: number } {
    const pages = this.exportMarcXmlPages();
    for (;;) {
      const next = pages.next();
      if (next.done) return next.value;
      write(next.value);
    }
  }

  /**
   * The whole union catalog as one MARCXML collection, one record per cluster in cluster order:
   * the preferred record with one 852 per holding institution (export-record.ts). Yields the
   * document's head, then the records of `pageSize` clusters at a time, then its end; returns how
   * many records were written and how many clusters were left out because their preferred record
   * cannot be read. Each step reads one page (keyset by cluster number) and keeps no statement
   * open, so a caller may await between steps (CatalogService.Export sends each piece before it
   * asks for the next) and memory stays that of one page however large the catalog. Pages read at
   * different times: outside one transaction, a cluster changed meanwhile is written as it was when
   * its page was read, one created meanwhile is written when its number is past the page read last,
   * and none is written twice.
   */
  *exportMarcXmlPages(pageSize = PAGE): Generator<string, { records: number; skipped: number }> {
    yield `<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="${MARCXML_NAMESPACE}">\n`;
    let records = 0;
    let skipped = 0;
    let after = 0;
    for (;;) {
      const page = this.#q.clusterPage.all(after, pageSize) as Array<{ id: number; preferred_rid: number }>;
      const parts: string[] = [];
      for (const c of page) {
        const pref = this.#q.marcOf.get(c.preferred_rid) as { marc: Buffer };
        const rec = readMarcBlob(pref.marc);
        if (!rec) {
          skipped++;
          continue;
        }
        parts.push(toMarcXml(exportRecord(rec, this.#externalId(c.id), groupHoldings(this.#members(c.id)))));
        records++;
      }
      if (parts.length > 0) yield parts.join("");
      if (page.length < pageSize) break;
      after = page[page.length - 1]!.id;
    }
    yield "</collection>\n";
    return { records, skipped };
  }

  // ---------------------------------------------------------------- operator

  /**
   * An operator's split: `records` (all in cluster `clusterId`) go to a new cluster, and are kept
   * apart from the rest of the cluster from now on, whatever keys they share (clustering.ts rule
   * 4). The rest keeps the cluster id. Returns the new cluster's id (that of the first record
   * named; records split off that share no key with each other end up in clusters of their own).
   */
  split(clusterId: string, records: readonly RecordRef[], reason = ""): string {
    return this.#atomic(() => this.#split(clusterId, records, reason));
  }

  #split(clusterId: string, records: readonly RecordRef[], reason: string): string {
    const n = this.#resolve(clusterId);
    if (n === undefined) throw new UnknownClusterError(clusterId);
    const members = this.#members(n);
    const byRef = new Map(members.map((m) => [refKey(m.institution_id, m.record_id), m.rid]));
    const leaving = new Set<number>();
    for (const r of records) {
      const rid = byRef.get(refKey(r.institutionId, r.recordId));
      if (rid === undefined) {
        throw new InvalidSplitError(
          clusterId,
          `record ${r.institutionId}/${r.recordId} is not in the cluster`,
        );
      }
      leaving.add(rid);
    }
    if (leaving.size === 0) throw new InvalidSplitError(clusterId, "no records named");
    if (leaving.size === members.length) {
      throw new InvalidSplitError(clusterId, "every record of the cluster is named; at least one must stay");
    }
    const now = this.#now().toISOString();
    const splitId = Number(this.#q.insertSplit.run(now, n, reason).lastInsertRowid);
    for (const m of members) {
      this.#q.insertSplitMember.run(splitId, m.institution_id, m.record_id, leaving.has(m.rid) ? 1 : 0);
    }
    this.#recluster({ seeds: members.map((m) => m.rid), leaving });
    const first = records[0]!;
    const row = this.#q.record.get(first.institutionId, first.recordId) as RecordRow;
    this.#q.setSplitTarget.run(row.cluster_id, splitId);
    return this.#externalId(row.cluster_id);
  }

  /** Every operator split, oldest first. */
  listSplits(): SplitInfo[] {
    const rows = this.#q.splits.all() as Array<{
      id: number;
      created_at: string;
      from_cluster: number;
      new_cluster: number;
      reason: string;
    }>;
    return rows.map((s) => {
      const members = this.#q.splitMembers.all(s.id) as Array<{
        institution_id: string;
        record_id: string;
        side: number;
      }>;
      const ref = (m: { institution_id: string; record_id: string }) => ({
        institutionId: m.institution_id,
        recordId: m.record_id,
      });
      return {
        id: s.id,
        createdAt: new Date(s.created_at),
        fromCluster: this.#externalId(s.from_cluster),
        newCluster: this.#externalId(s.new_cluster),
        reason: s.reason,
        records: members.filter((m) => m.side === 1).map(ref),
        rest: members.filter((m) => m.side === 0).map(ref),
      };
    });
  }

  /** Forgets an operator's split, letting the keys decide again. Returns false when there is no such split. */
  removeSplit(splitId: number): boolean {
    return this.#atomic(() => this.#removeSplit(splitId));
  }

  #removeSplit(splitId: number): boolean {
    const members = this.#q.splitMembers.all(splitId) as Array<{ institution_id: string; record_id: string }>;
    const existed = this.#q.deleteSplit.run(splitId).changes > 0;
    this.#q.deleteSplitMembers.run(splitId);
    const seeds: number[] = [];
    for (const m of members) {
      const row = this.#q.record.get(m.institution_id, m.record_id) as RecordRow | undefined;
      if (row) seeds.push(row.rid);
    }
    if (seeds.length > 0) this.#recluster({ seeds });
    return existed;
  }

  // ---------------------------------------------------------------- internals

  /**
   * Runs `fn` in a transaction of its own, or in a savepoint of the caller's: a change is whole or
   * absent. The change log gathered meanwhile is written at the end, inside it.
   */
  #atomic<T>(fn: () => T): T {
    if (this.#work) return fn();
    return this.#tx.immediate(() => {
      const work: Work = { log: new Map(), epochs: new Map() };
      this.#work = work;
      try {
        const out = fn();
        this.#writeLog(work);
        return out;
      } finally {
        this.#work = undefined;
      }
    }) as T;
  }

  /** Runs `sql` with its "(#)" replaced by placeholders for `values`, then `extra` parameters. */
  #in(sql: string, values: readonly (string | number)[], ...extra: Array<string | number>): unknown[] {
    const text = sql.replace("(#)", `(${placeholders(values.length)})`);
    let stmt = this.#cache.get(text);
    if (!stmt) {
      stmt = this.#db.prepare(text);
      this.#cache.set(text, stmt);
    }
    return stmt.all(...values, ...extra);
  }

  #externalId(n: number): string {
    return `${this.#idPrefix}${n}`;
  }

  /** The internal number of a live cluster, following an alias; undefined when unknown. */
  #resolve(id: string): number | undefined {
    if (!id.startsWith(this.#idPrefix)) return undefined;
    const digits = id.slice(this.#idPrefix.length);
    if (!/^[1-9]\d{0,15}$/.test(digits)) return undefined;
    const n = Number(digits);
    if (this.#q.cluster.get(n)) return n;
    const alias = this.#q.alias.get(n) as { cluster_id: number } | undefined;
    return alias?.cluster_id;
  }

  #preferredRecord(row: ClusterRow): PreferredRecord {
    const pref = this.#q.marcOf.get(row.preferred_rid) as {
      institution_id: string;
      record_id: string;
      marc: Buffer;
    };
    return { institutionId: pref.institution_id, recordId: pref.record_id, marc: new Uint8Array(pref.marc) };
  }

  #activeEpoch(source: string): string | null {
    const epochs = this.#work!.epochs;
    let epoch = epochs.get(source);
    if (epoch === undefined) {
      const row = this.#q.activeEpoch.get(source) as { active_epoch: string | null } | undefined;
      epoch = row?.active_epoch ?? null;
      epochs.set(source, epoch);
    }
    return epoch;
  }

  /** Notes a change for the log (one live entry per record, the newest last), written by #atomic. */
  #log(institutionId: string, recordId: string, changedAt: Date): void {
    const log = this.#work!.log;
    const key = refKey(institutionId, recordId);
    log.delete(key);
    log.set(key, [institutionId, recordId, changedAt.toISOString()]);
  }

  #writeLog(work: Work): void {
    if (work.log.size === 0) return;
    const entries = JSON.stringify([...work.log.values()]);
    this.#q.dropOldChanges.run(entries);
    this.#q.logChanges.run(entries);
  }

  #index(rid: number, search: IndexDocument, replace: boolean): void {
    if (replace) this.#q.deleteFts.run(rid);
    this.#q.insertFts.run(rid, ...INDEX_COLUMNS.map((c) => search[c]));
  }

  #members(cluster: number): MemberRow[] {
    return this.#q.members.all(cluster) as MemberRow[];
  }

  #remove(row: RecordRow, changedAt: Date): void {
    const cause = { institutionId: row.institution_id, recordId: row.record_id };
    const oldKeys = (this.#q.keysOf.all(row.rid) as Array<{ key: string }>).map((r) => r.key);
    const cluster = this.#q.cluster.get(row.cluster_id) as ClusterRow | undefined;
    // A simple cluster whose other records all share one strong key stays one simple cluster
    // without this record (and nothing outside it is affected): no recomputation needed.
    const stays =
      cluster?.simple === 1 &&
      !this.#q.inSplit.get(row.institution_id, row.record_id) &&
      (cluster.record_count === 1 ||
        this.#q.sharedByAllOthers.get(row.cluster_id, row.rid, cluster.record_count - 1));
    this.#q.deleteKeys.run(row.rid);
    this.#q.deleteFts.run(row.rid);
    this.#q.deleteRecord.run(row.rid);
    if (stays) {
      this.#refreshCluster(row.cluster_id, "all");
    } else {
      const mates = (this.#q.ridsInCluster.all(row.cluster_id) as Array<{ rid: number }>).map((r) => r.rid);
      this.#recluster({ seeds: mates, oldKeys, emptied: [row.cluster_id], cause });
    }
    this.#log(row.institution_id, row.record_id, changedAt);
  }

  /**
   * Where a new record (not yet stored) goes without recomputing anything, where that provably
   * gives what {@link #recluster} would: the record is in no split, and either
   * - no other record shares any of its keys: it is a cluster of its own ("alone"); or
   * - every record sharing its strong keys, and every record sharing its fuzzy key, is in one
   *   cluster that is `simple` (strong keys alone hold it together, no split involves it, no record
   *   outside it shares a fuzzy key with it): the record joins it (that cluster's row). With one
   *   strong component and nothing outside to weigh against, the clustering rules can only add the
   *   record to it.
   * Undefined when the full computation is needed. Deciding before the record is stored lets it be
   * written once, with its cluster.
   */
  #placement(
    ref: RecordRef,
    strong: readonly string[],
    fuzzy: string | undefined,
  ): "alone" | ClusterRow | undefined {
    if (this.#q.inSplit.get(ref.institutionId, ref.recordId)) return undefined;
    const holders = (keys: readonly string[]) =>
      keys.length === 0
        ? []
        : (
            this.#in(
              `SELECT DISTINCT r.cluster_id AS id FROM union_record_keys k JOIN union_records r ON r.rid = k.rid
               WHERE k.key IN (#) LIMIT 2`,
              keys,
            ) as Array<{ id: number }>
          ).map((r) => r.id);
    if (strong.length > CHUNK) return undefined;
    const byStrong = holders(strong);
    const byFuzzy = holders(fuzzy === undefined ? [] : [FUZZY_PREFIX + fuzzy]);
    if (byStrong.length === 0) return byFuzzy.length > 0 ? undefined : "alone";
    const target = byStrong[0]!;
    if (byStrong.length > 1 || byFuzzy.some((c) => c !== target)) return undefined;
    const row = this.#q.cluster.get(target) as ClusterRow | undefined;
    return row?.simple === 1 ? row : undefined;
  }

  /**
   * Recomputes the clusters of every record reachable from the seeds through shared keys or
   * shared clusters (clustering.ts), then gives the resulting clusters ids: each old cluster goes
   * to the new cluster holding most of its records; a new cluster that receives several old ones
   * keeps the oldest (smallest) id and the others become its aliases (a merge); one that receives
   * none gets a new id; an old cluster that no record holds any more is removed.
   */
  #recluster(r: Recluster): void {
    // 1. The neighbourhood: breadth-first over keys and clusters.
    const info = new Map<number, { ref: string; institution: string; cluster: number; keys: string[] }>();
    const seenKeys = new Set<string>(r.oldKeys);
    const seenClusters = new Set<number>([0, ...(r.emptied ?? [])]);
    let rids = [...new Set(r.seeds)];
    let keys = [...seenKeys];
    let clusters = [...seenClusters].filter((c) => c !== 0);
    while (rids.length + keys.length + clusters.length > 0) {
      const found = new Set<number>(rids);
      for (const part of chunks(keys)) {
        for (const row of this.#in("SELECT rid FROM union_record_keys WHERE key IN (#)", part) as Array<{
          rid: number;
        }>) {
          found.add(row.rid);
        }
      }
      for (const part of chunks(clusters)) {
        for (const row of this.#in("SELECT rid FROM union_records WHERE cluster_id IN (#)", part) as Array<{
          rid: number;
        }>) {
          found.add(row.rid);
        }
      }
      const fresh = [...found].filter((rid) => !info.has(rid));
      rids = [];
      keys = [];
      clusters = [];
      for (const part of chunks(fresh)) {
        const rows = this.#in(
          "SELECT rid, institution_id, record_id, cluster_id FROM union_records WHERE rid IN (#)",
          part,
        ) as Array<{ rid: number; institution_id: string; record_id: string; cluster_id: number }>;
        for (const row of rows) {
          info.set(row.rid, {
            ref: refKey(row.institution_id, row.record_id),
            institution: row.institution_id,
            cluster: row.cluster_id,
            keys: [],
          });
          if (!seenClusters.has(row.cluster_id)) {
            seenClusters.add(row.cluster_id);
            clusters.push(row.cluster_id);
          }
        }
        const keyRows = this.#in("SELECT rid, key FROM union_record_keys WHERE rid IN (#)", part) as Array<{
          rid: number;
          key: string;
        }>;
        for (const kr of keyRows) {
          info.get(kr.rid)?.keys.push(kr.key);
          if (!seenKeys.has(kr.key)) {
            seenKeys.add(kr.key);
            keys.push(kr.key);
          }
        }
      }
    }

    // 2. Cluster them.
    const inputs: ClusterInput[] = [];
    const ridOf = new Map<string, number>();
    for (const [rid, x] of info) {
      ridOf.set(x.ref, rid);
      const fuzzy = x.keys.find((k) => k.startsWith(FUZZY_PREFIX));
      inputs.push({
        ref: x.ref,
        institution: x.institution,
        strong: x.keys.filter((k) => !k.startsWith(FUZZY_PREFIX)),
        fuzzy: fuzzy?.slice(FUZZY_PREFIX.length),
      });
    }
    const splitSides = this.#splitSides([...info.keys()]);
    const formed = clusterRecords(inputs, splitSides);
    const groups = formed.map((g) => g.refs.map((ref) => ridOf.get(ref)!));

    // A cluster is simple (see #place) when strong keys alone join it, no split names any of its
    // records, and no record of another cluster carries one of its fuzzy keys.
    const groupOf = new Map<number, number>();
    groups.forEach((g, i) => {
      for (const rid of g) groupOf.set(rid, i);
    });
    const fuzzyGroups = new Map<string, Set<number>>();
    for (const [rid, x] of info) {
      for (const k of x.keys) {
        if (!k.startsWith(FUZZY_PREFIX)) continue;
        const set = fuzzyGroups.get(k) ?? new Set<number>();
        set.add(groupOf.get(rid)!);
        fuzzyGroups.set(k, set);
      }
    }
    const simple = formed.map(
      (g, i) =>
        !g.fuzzyJoined &&
        g.refs.every((ref) => !splitSides.has(ref)) &&
        groups[i]!.every((rid) =>
          info.get(rid)!.keys.every((k) => !k.startsWith(FUZZY_PREFIX) || fuzzyGroups.get(k)!.size === 1),
        ),
    );

    // 3. Give the groups ids.
    const oldIds = [...new Set([...info.values()].map((x) => x.cluster).filter((c) => c !== 0))];
    for (const c of r.emptied ?? []) if (c !== 0 && !oldIds.includes(c)) oldIds.push(c);
    oldIds.sort((a, b) => a - b);
    const inherited: number[][] = groups.map(() => []);
    for (const old of oldIds) {
      let best = -1;
      let bestCount = 0;
      groups.forEach((g, i) => {
        const count = g.filter((rid) => info.get(rid)!.cluster === old && !r.leaving?.has(rid)).length;
        if (count > bestCount) {
          best = i;
          bestCount = count;
        }
      });
      if (best >= 0) inherited[best]!.push(old);
    }
    const now = this.#now().toISOString();
    const kept = new Set<number>();
    const dirty = new Set<number>();
    groups.forEach((g, i) => {
      const ids = inherited[i]!;
      let id: number;
      if (ids.length === 0) {
        id = Number(this.#q.newCluster.run(now, now).lastInsertRowid);
      } else {
        id = ids[0]!;
        for (const retired of ids.slice(1)) this.#merge(id, retired, now, r.cause);
      }
      kept.add(id);
      this.#q.setSimple.run(simple[i] ? 1 : 0, id);
      for (const rid of g) {
        const x = info.get(rid)!;
        if (x.cluster !== id) {
          this.#q.setCluster.run(id, rid);
          dirty.add(id);
          if (x.cluster !== 0) dirty.add(x.cluster);
        }
        if (rid === r.touched) dirty.add(id);
      }
    });
    for (const c of r.emptied ?? []) dirty.add(c);
    const merged = new Set(inherited.flatMap((ids) => ids.slice(1)));
    for (const old of oldIds) {
      if (!kept.has(old) && !merged.has(old)) this.#dropCluster(old);
    }
    for (const c of dirty) if (kept.has(c)) this.#refreshCluster(c, "all");
  }

  /** Split sides of the given records, keyed like clustering inputs. */
  #splitSides(rids: number[]): Map<string, SplitSide[]> {
    const out = new Map<string, SplitSide[]>();
    for (const part of chunks(rids)) {
      const rows = this.#in(
        `SELECT m.split_id, m.side, r.institution_id, r.record_id
         FROM union_records r JOIN union_split_members m
           ON m.institution_id = r.institution_id AND m.record_id = r.record_id
         WHERE r.rid IN (#)`,
        part,
      ) as Array<{ split_id: number; side: number; institution_id: string; record_id: string }>;
      for (const row of rows) {
        const ref = refKey(row.institution_id, row.record_id);
        const list = out.get(ref) ?? [];
        list.push({ splitId: row.split_id, side: row.side === 1 ? 1 : 0 });
        out.set(ref, list);
      }
    }
    return out;
  }

  #merge(survivor: number, retired: number, now: string, cause: RecordRef | undefined): void {
    this.#q.moveAliases.run(survivor, retired);
    this.#q.addAlias.run(retired, survivor);
    this.#q.logMerge.run(now, survivor, retired, cause?.institutionId ?? null, cause?.recordId ?? null);
    this.#q.moveDownloads.run(survivor, retired);
    this.#q.dropDownloads.run(retired);
    this.#q.deleteCluster.run(retired);
    this.#oaiChanged(retired, true);
  }

  /** Removes a cluster no record is in. Its download counts stay (they count institutions' downloads). */
  #dropCluster(id: number): void {
    this.#q.deleteCluster.run(id);
    this.#q.dropAliases.run(id);
    this.#oaiChanged(id, true);
  }

  /**
   * Notes in the OAI-PMH log (union_oai) that a cluster changed or went, in the transaction that
   * changed it: a new place in the order of changes, and a datestamp that never goes back (a
   * harvester asking "from" a time must see everything that changed after it).
   */
  #oaiChanged(id: number, deleted: boolean, holders: OaiHolders = "recompute"): void {
    const work = this.#work!;
    if (!work.oai) {
      const row = this.#q.oaiLast.get() as { seq: number; changed_at: string } | undefined;
      work.oai = { seq: row?.seq ?? 0, at: row?.changed_at ?? "" };
    }
    // The datestamp never goes back, whatever the clock does.
    const head = { seq: work.oai.seq + 1, at: this.#now().toISOString() };
    if (work.oai.at > head.at) head.at = work.oai.at;
    this.#q.oaiSet.run(id, head.seq, head.at, deleted ? 1 : 0);
    work.oai = head;
    if (deleted || holders === "unchanged") return;
    if (holders === "recompute") {
      this.#q.oaiFormerHolders.run({ id });
      this.#q.oaiAddHolders.run({ id });
    } else if ("first" in holders) {
      // A new cluster (its number was never used: AUTOINCREMENT) of one institution's record.
      this.#q.oaiFirstHolder.run(holders.first, id);
    } else {
      this.#q.oaiJoinedHolder.run(holders.joined, id);
    }
  }

  /**
   * Recomputes what a cluster shows: the preferred record (highest completeness, then the record
   * received first, then the smaller reference — the first in the cluster's index order), the
   * summary taken from it, counts, and the ISBNs/ISSNs of all its records — recomputed in full
   * ("all"), kept ("unchanged": no record's keys changed) or extended by a record that joined
   * (whose institution then holds the cluster; no other holder changes).
   */
  #refreshCluster(
    id: number,
    identifiers: "all" | "unchanged" | { added: readonly string[]; row: ClusterRow; institution: string },
  ): void {
    const pref = this.#q.preferred.get(id) as { rid: number; summary: string } | undefined;
    if (!pref) {
      this.#dropCluster(id);
      return;
    }
    const counts = this.#q.counts.get(id) as { records: number; institutions: number };
    const summary = JSON.parse(pref.summary) as RecordSummary;
    this.#q.updateCluster.run({
      id,
      now: this.#now().toISOString(),
      preferred: pref.rid,
      records: counts.records,
      institutions: counts.institutions,
      title: summary.title,
      titleVernacular: summary.titleVernacular,
      author: summary.author,
      year: summary.year,
      language: summary.language,
      format: summary.format,
    });
    const holders: OaiHolders =
      identifiers === "all"
        ? "recompute"
        : identifiers === "unchanged"
          ? "unchanged"
          : { joined: identifiers.institution };
    this.#oaiChanged(id, false, holders);
    if (identifiers === "unchanged") return;
    let isbns: string[];
    let issns: string[];
    if (identifiers === "all") {
      const keys = (this.#q.clusterIdentifiers.all(id) as Array<{ key: string }>).map((k) => k.key);
      isbns = identifiersOf(keys, "isbn");
      issns = identifiersOf(keys, "issn");
    } else {
      const merge = (old: string, add: string[]) =>
        [...new Set([...(old === "" ? [] : old.split(" ")), ...add])].sort(compare);
      isbns = merge(identifiers.row.isbns, identifiersOf(identifiers.added, "isbn"));
      issns = merge(identifiers.row.issns, identifiersOf(identifiers.added, "issn"));
    }
    this.#q.updateIdentifiers.run(isbns.join(" "), issns.join(" "), id);
  }
}

function toSummary(row: ClusterRow): ClusterSummary {
  const list = (s: string) => (s === "" ? [] : s.split(" "));
  return {
    title: row.title,
    titleVernacular: row.title_vernacular,
    author: row.author,
    year: row.year,
    language: row.language,
    format: row.format,
    isbns: list(row.isbns),
    issns: list(row.issns),
    recordCount: row.record_count,
    institutionCount: row.institution_count,
  };
}

function groupHoldings(members: readonly MemberRow[]): InstitutionHoldings[] {
  const by = new Map<string, InstitutionHoldings>();
  for (const m of members) {
    let h = by.get(m.institution_id);
    if (!h) {
      h = { institutionId: m.institution_id, recordIds: [], holdings: [] };
      by.set(m.institution_id, h);
    }
    h.recordIds.push(m.record_id);
    h.holdings.push(...(JSON.parse(m.holdings) as HoldingData[]));
  }
  return [...by.values()].sort((a, b) => compare(a.institutionId, b.institutionId));
}
