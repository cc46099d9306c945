import { createHash } from "node:crypto";
import type { Statement } from "better-sqlite3";
import type { ChangeFeed, FeedEntry, HoldingData, RecordChange } from "../catalog/change-feed.js";
import type { Database, Sqlite } from "../db.js";
import { MARCXML_NAMESPACE, toMarcXml } from "../marc/marcxml.js";
import { type ClusterInput, clusterRecords, type SplitSide } from "./clustering.js";
import {
  describeRecord,
  type RecordSummary,
  readMarcBlob,
  SEARCH_COLUMNS,
  type SearchText,
} from "./describe.js";
import { InvalidSplitError, ResyncStateError, UnknownClusterError } from "./errors.js";
import { exportRecord, type InstitutionHoldings } from "./export-record.js";

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
}

interface Derived {
  summary: RecordSummary;
  search: SearchText;
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

/** Holdings in a canonical form (fixed key order), as stored and as digested. */
function holdingsJson(holdings: readonly HoldingData[]): string {
  return JSON.stringify(
    holdings.map((h) => ({
      barcode: h.barcode,
      callNumber: h.callNumber,
      location: h.location,
      status: h.status,
      loanRule: h.loanRule,
    })),
  );
}

function prepareStatements(db: Sqlite) {
  const p = (sql: string) => db.prepare(sql);
  return {
    record: p(
      "SELECT rid, institution_id, record_id, source, cluster_id, digest, seen_epoch FROM union_records WHERE institution_id = ? AND record_id = ?",
    ),
    touch: p("UPDATE union_records SET source = ?, seen_epoch = ? WHERE rid = ?"),
    insertRecord: p(
      `INSERT INTO union_records (institution_id, record_id, source, cluster_id, marc, holdings, digest, changed_at,
         received_at, updated_at, seen_epoch, completeness, readable, derived)
       VALUES (@institutionId, @recordId, @source, 0, @marc, @holdings, @digest, @changedAt, @now, @now, @epoch,
         @completeness, @readable, @derived)`,
    ),
    updateRecord: p(
      `UPDATE union_records SET source = @source, marc = @marc, holdings = @holdings, digest = @digest,
         changed_at = @changedAt, updated_at = @now, seen_epoch = @epoch, completeness = @completeness,
         readable = @readable, derived = @derived
       WHERE rid = @rid`,
    ),
    deleteRecord: p("DELETE FROM union_records WHERE rid = ?"),
    keysOf: p("SELECT key FROM union_record_keys WHERE rid = ? ORDER BY key"),
    insertKey: p("INSERT OR IGNORE INTO union_record_keys (key, rid, strong) VALUES (?, ?, ?)"),
    deleteKeys: p("DELETE FROM union_record_keys WHERE rid = ?"),
    ridsInCluster: p("SELECT rid FROM union_records WHERE cluster_id = ?"),
    setCluster: p("UPDATE union_records SET cluster_id = ? WHERE rid = ?"),
    activeEpoch: p("SELECT active_epoch, last_epoch FROM union_resyncs WHERE source = ?"),
    beginResync: p(
      `INSERT INTO union_resyncs (source, active_epoch) VALUES (?, ?)
       ON CONFLICT (source) DO UPDATE SET active_epoch = excluded.active_epoch`,
    ),
    endResync: p("UPDATE union_resyncs SET active_epoch = NULL, last_epoch = ? WHERE source = ?"),
    stale: p(
      `SELECT rid, institution_id, record_id, source, cluster_id, digest, seen_epoch FROM union_records
       WHERE source = ? AND (seen_epoch IS NULL OR seen_epoch <> ?) ORDER BY rid`,
    ),
    dropOldChanges: p("DELETE FROM union_changes WHERE institution_id = ? AND record_id = ?"),
    logChange: p("INSERT INTO union_changes (institution_id, record_id, changed_at) VALUES (?, ?, ?)"),
    headSeq: p("SELECT seq FROM sqlite_sequence WHERE name = 'union_changes'"),
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
         title_vernacular, author, year, isbns, issns, language, format)
       VALUES (?, ?, 0, 0, 0, '', '', '', '', '', '', '', '')`,
    ),
    cluster: p("SELECT * FROM union_clusters WHERE id = ?"),
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
    clusterMembers: p(
      `SELECT rid, institution_id, record_id, source, received_at, updated_at, changed_at, completeness, holdings, derived
       FROM union_records WHERE cluster_id = ? ORDER BY institution_id, record_id`,
    ),
    clusterStrongKeys: p(
      `SELECT DISTINCT k.key FROM union_records r JOIN union_record_keys k ON k.rid = r.rid
       WHERE r.cluster_id = ? AND k.strong = 1 AND (k.key LIKE 'isbn:%' OR k.key LIKE 'issn:%') ORDER BY k.key`,
    ),
    updateCluster: p(
      `UPDATE union_clusters SET updated_at = @now, preferred_rid = @preferred, record_count = @records,
         institution_count = @institutions, title = @title, title_vernacular = @titleVernacular, author = @author,
         year = @year, isbns = @isbns, issns = @issns, language = @language, format = @format
       WHERE id = @id`,
    ),
    deleteFts: p("DELETE FROM union_fts WHERE rowid = ?"),
    insertFts: p(
      `INSERT INTO union_fts (rowid, ${SEARCH_COLUMNS.join(", ")}) VALUES (?, ${SEARCH_COLUMNS.map(() => "?").join(", ")})`,
    ),
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
    search: p(
      `SELECT c.* , bm25(union_fts) AS score FROM union_fts JOIN union_clusters c ON c.id = union_fts.rowid
       WHERE union_fts MATCH ? ORDER BY score LIMIT ?`,
    ),
  };
}

/**
 * The union catalog of a regional or national center: every record its members (or regions) send,
 * clustered into manifestations (rules in clustering.ts), with holdings by institution, a search
 * index over clusters, and its own change log so that a regional center forwards what it holds to
 * the national center exactly as a member forwards its catalog (ChangeFeed).
 *
 * All methods are synchronous and expect to run inside `db.transaction` (the sync receiver calls
 * `apply` for every change of a batch in one transaction); none of them opens one itself, except
 * that each statement is atomic on its own.
 */
export class UnionCatalog implements ChangeFeed {
  readonly nodeId: string;
  readonly #db: Sqlite;
  readonly #now: () => Date;
  readonly #idPrefix: string;
  readonly #q: ReturnType<typeof prepareStatements>;
  readonly #cache = new Map<string, Statement>();

  constructor(db: Database, opts: UnionCatalogOptions) {
    this.nodeId = opts.nodeId;
    this.#db = db.sqlite;
    this.#now = opts.now ?? (() => new Date());
    this.#idPrefix = `${opts.nodeId}:c`;
    this.#q = prepareStatements(this.#db);
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
    const existing = this.#q.record.get(change.institutionId, change.recordId) as RecordRow | undefined;
    const cause = { institutionId: change.institutionId, recordId: change.recordId };
    if (change.kind === "delete") {
      if (!existing) return;
      this.#remove(existing, change.changedAt);
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
    const d = describeRecord(change.marc);
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
      derived: JSON.stringify({ summary: d.summary, search: d.search } satisfies Derived),
    };
    const keys = [...d.strong.map((k) => ({ key: k, strong: 1 }))];
    if (d.fuzzy !== undefined) keys.push({ key: FUZZY_PREFIX + d.fuzzy, strong: 0 });
    const newKeys = keys.map((k) => k.key).sort();

    if (existing) {
      this.#q.updateRecord.run({ ...params, rid: existing.rid });
      const oldKeys = (this.#q.keysOf.all(existing.rid) as Array<{ key: string }>).map((r) => r.key);
      if (oldKeys.length === newKeys.length && oldKeys.every((k, i) => k === newKeys[i])) {
        // Same keys: the clusters cannot change, only what the record's cluster shows.
        this.#refreshCluster(existing.cluster_id);
      } else {
        this.#q.deleteKeys.run(existing.rid);
        for (const k of keys) this.#q.insertKey.run(k.key, existing.rid, k.strong);
        this.#recluster({ seeds: [existing.rid], oldKeys, cause, touched: existing.rid });
      }
    } else {
      const rid = Number(this.#q.insertRecord.run(params).lastInsertRowid);
      for (const k of keys) this.#q.insertKey.run(k.key, rid, k.strong);
      this.#recluster({ seeds: [rid], cause, touched: rid });
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
    const e = epoch.toString();
    const row = this.#q.activeEpoch.get(source) as
      | { active_epoch: string | null; last_epoch: string | null }
      | undefined;
    if (row?.active_epoch !== e) {
      if (row?.last_epoch === e && row.active_epoch === null) return 0;
      throw new ResyncStateError(source, epoch, row?.active_epoch ?? undefined);
    }
    const stale = this.#q.stale.all(source, e) as RecordRow[];
    const now = this.#now();
    for (const r of stale) {
      // Removing one record may have moved others to other clusters: read each afresh.
      const row = this.#q.record.get(r.institution_id, r.record_id) as RecordRow;
      this.#remove(row, now);
    }
    this.#q.endResync.run(e, source);
    return stale.length;
  }

  // ---------------------------------------------------------------- ChangeFeed

  headSeq(): bigint {
    const row = this.#q.headSeq.get() as { seq: number } | undefined;
    return BigInt(row?.seq ?? 0);
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
   * time (no statement stays open while the caller awaits between pages, so the connection stays
   * free for writes). A record changed meanwhile may be read in its new state or missed; either
   * way its change is in the log after `seq` and is sent after the resync, which the ChangeFeed
   * contract makes harmless.
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
    const pref = this.#q.marcOf.get(row.preferred_rid) as {
      institution_id: string;
      record_id: string;
      marc: Buffer;
    };
    return {
      id: this.#externalId(n),
      preferred: {
        institutionId: pref.institution_id,
        recordId: pref.record_id,
        marc: new Uint8Array(pref.marc),
      },
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
   * Clusters matching an FTS5 MATCH expression over the columns title, author, subject, isbn, issn,
   * publisher, year and any (build it with match/cjk.ts toFtsQuery; ISBNs are indexed as ISBN-13,
   * ISSNs as eight characters without the hyphen), best first.
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
    const row = this.#q.cluster.get(n) as ClusterRow;
    const pref = this.#q.marcOf.get(row.preferred_rid) as {
      institution_id: string;
      record_id: string;
      marc: Buffer;
    };
    return {
      clusterId: this.#externalId(n),
      institutionId: pref.institution_id,
      recordId: pref.record_id,
      marc: new Uint8Array(pref.marc),
    };
  }

  /** Downloads per downloading institution, over all clusters (also those since removed). */
  downloadCounts(): Array<{ institutionId: string; downloads: number }> {
    return (this.#q.downloadCounts.all() as Array<{ institution_id: string; n: number }>).map((r) => ({
      institutionId: r.institution_id,
      downloads: r.n,
    }));
  }

  /**
   * Writes the whole union catalog as one MARCXML collection, one record per cluster in cluster
   * order: the preferred record with one 852 per holding institution (export-record.ts). `write`
   * is called synchronously with pieces of the document; call this inside a transaction for a
   * consistent export. Clusters whose preferred record cannot be read are left out and counted.
   */
  exportMarcXml(write: (chunk: string) => void): { records: number; skipped: number } {
    write(`<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="${MARCXML_NAMESPACE}">\n`);
    let records = 0;
    let skipped = 0;
    let after = 0;
    for (;;) {
      const page = this.#q.clusterPage.all(after, PAGE) as Array<{ id: number; preferred_rid: number }>;
      for (const c of page) {
        const pref = this.#q.marcOf.get(c.preferred_rid) as { marc: Buffer };
        const rec = readMarcBlob(pref.marc);
        if (!rec) {
          skipped++;
          continue;
        }
        write(toMarcXml(exportRecord(rec, this.#externalId(c.id), groupHoldings(this.#members(c.id)))));
        records++;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.id;
    }
    write("</collection>\n");
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

  /** Runs `sql` followed by "(?, ?, …)" for `values`; statements are kept per placeholder count. */
  #in(sql: string, values: readonly (string | number)[]): unknown[] {
    const text = `${sql} (${placeholders(values.length)})`;
    let stmt = this.#cache.get(text);
    if (!stmt) {
      stmt = this.#db.prepare(text);
      this.#cache.set(text, stmt);
    }
    return stmt.all(...values);
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

  #activeEpoch(source: string): string | null {
    const row = this.#q.activeEpoch.get(source) as { active_epoch: string | null } | undefined;
    return row?.active_epoch ?? null;
  }

  #log(institutionId: string, recordId: string, changedAt: Date): void {
    this.#q.dropOldChanges.run(institutionId, recordId);
    this.#q.logChange.run(institutionId, recordId, changedAt.toISOString());
  }

  #members(cluster: number) {
    return this.#q.clusterMembers.all(cluster) as Array<{
      rid: number;
      institution_id: string;
      record_id: string;
      source: string;
      received_at: string;
      updated_at: string;
      changed_at: string;
      completeness: number;
      holdings: string;
      derived: string;
    }>;
  }

  #remove(row: RecordRow, changedAt: Date): void {
    const oldKeys = (this.#q.keysOf.all(row.rid) as Array<{ key: string }>).map((r) => r.key);
    const mates = (this.#q.ridsInCluster.all(row.cluster_id) as Array<{ rid: number }>)
      .map((r) => r.rid)
      .filter((rid) => rid !== row.rid);
    this.#q.deleteKeys.run(row.rid);
    this.#q.deleteRecord.run(row.rid);
    this.#recluster({
      seeds: mates,
      oldKeys,
      emptied: [row.cluster_id],
      cause: { institutionId: row.institution_id, recordId: row.record_id },
    });
    this.#log(row.institution_id, row.record_id, changedAt);
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
        for (const row of this.#in("SELECT rid FROM union_record_keys WHERE key IN", part) as Array<{
          rid: number;
        }>) {
          found.add(row.rid);
        }
      }
      for (const part of chunks(clusters)) {
        for (const row of this.#in("SELECT rid FROM union_records WHERE cluster_id IN", part) as Array<{
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
          "SELECT rid, institution_id, record_id, cluster_id FROM union_records WHERE rid IN",
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
        const keyRows = this.#in("SELECT rid, key FROM union_record_keys WHERE rid IN", part) as Array<{
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
    const groups = clusterRecords(inputs, this.#splitSides([...info.keys()])).map((g) =>
      g.map((ref) => ridOf.get(ref)!),
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
    for (const old of oldIds) {
      if (kept.has(old)) continue;
      if (inherited.some((ids) => ids.includes(old))) continue; // merged: already handled
      this.#dropCluster(old);
      dirty.delete(old);
    }
    for (const c of dirty) if (kept.has(c)) this.#refreshCluster(c);
  }

  /** Split sides of the given records, keyed like clustering inputs. */
  #splitSides(rids: number[]): Map<string, SplitSide[]> {
    const out = new Map<string, SplitSide[]>();
    for (const part of chunks(rids)) {
      const rows = this.#in(
        `SELECT m.split_id, m.side, r.institution_id, r.record_id
         FROM union_records r JOIN union_split_members m
           ON m.institution_id = r.institution_id AND m.record_id = r.record_id
         WHERE r.rid IN`,
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
    this.#q.deleteFts.run(retired);
  }

  /** Removes a cluster no record is in. Its download counts stay (they count institutions' downloads). */
  #dropCluster(id: number): void {
    this.#q.deleteCluster.run(id);
    this.#q.deleteFts.run(id);
    this.#q.dropAliases.run(id);
  }

  /** Recomputes what a cluster shows: preferred record, summary, search text. */
  #refreshCluster(id: number): void {
    const members = this.#members(id);
    if (members.length === 0) {
      this.#dropCluster(id);
      return;
    }
    // Highest completeness; ties go to the record received first, then to the smaller reference.
    const preferred = [...members].sort(
      (a, b) =>
        b.completeness - a.completeness ||
        (a.received_at < b.received_at ? -1 : a.received_at > b.received_at ? 1 : 0) ||
        (a.institution_id < b.institution_id ? -1 : a.institution_id > b.institution_id ? 1 : 0) ||
        (a.record_id < b.record_id ? -1 : a.record_id > b.record_id ? 1 : 0),
    )[0]!;
    const derived = members.map((m) => JSON.parse(m.derived) as Derived);
    const summary = derived[members.indexOf(preferred)]!.summary;
    const ids = (this.#q.clusterStrongKeys.all(id) as Array<{ key: string }>).map((k) => k.key);
    this.#q.updateCluster.run({
      id,
      now: this.#now().toISOString(),
      preferred: preferred.rid,
      records: members.length,
      institutions: new Set(members.map((m) => m.institution_id)).size,
      ...summary,
      isbns: ids
        .filter((k) => k.startsWith("isbn:"))
        .map((k) => k.slice(5))
        .join(" "),
      issns: ids
        .filter((k) => k.startsWith("issn:"))
        .map((k) => k.slice(5))
        .join(" "),
    });
    // Each column holds the distinct texts of the cluster's records: ten libraries with the same
    // record do not make it rank ten times higher.
    const columns = SEARCH_COLUMNS.map((col) =>
      [...new Set(derived.map((d) => d.search[col]).filter(Boolean))].join(" \n "),
    );
    this.#q.deleteFts.run(id);
    this.#q.insertFts.run(id, ...columns);
  }
}

function toSummary(row: ClusterRow): ClusterSummary {
  const split = (s: string) => (s === "" ? [] : s.split(" "));
  return {
    title: row.title,
    titleVernacular: row.title_vernacular,
    author: row.author,
    year: row.year,
    language: row.language,
    format: row.format,
    isbns: split(row.isbns),
    issns: split(row.issns),
    recordCount: row.record_count,
    institutionCount: row.institution_count,
  };
}

function groupHoldings(
  members: ReadonlyArray<{ institution_id: string; record_id: string; holdings: string }>,
): InstitutionHoldings[] {
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
  return [...by.values()].sort((a, b) =>
    a.institutionId < b.institutionId ? -1 : a.institutionId > b.institutionId ? 1 : 0,
  );
}
