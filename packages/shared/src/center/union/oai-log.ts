/**
 * Reads the union catalog's OAI-PMH log (union_oai, written by UnionCatalog in the transaction of
 * every cluster change): clusters in the order they last changed, with their datestamps, whether
 * they are gone, and who held them.
 */
import type { Statement } from "better-sqlite3";
import type { Database, Sqlite } from "../../db.js";
import { readMarcBlob } from "../../marc/blob.js";
import type { MarcRecord } from "../../marc/record.js";
import { exportRecord } from "./export-record.js";
import type { UnionCatalog } from "./union-catalog.js";

/** One cluster in the log. */
export interface OaiLogEntry {
  /** The cluster's number (its id is `<node>:c<number>`). */
  cluster: number;
  /** Its place in the order of changes. */
  seq: number;
  /** When it last changed (ISO 8601, milliseconds, UTC). */
  changedAt: string;
  deleted: boolean;
}

interface Row {
  cluster_id: number;
  seq: number;
  changed_at: string;
  deleted: number;
}

const toEntry = (r: Row): OaiLogEntry => ({
  cluster: r.cluster_id,
  seq: r.seq,
  changedAt: r.changed_at,
  deleted: r.deleted === 1,
});

const placeholders = (n: number) => Array.from({ length: n }, () => "?").join(", ");

export class UnionOaiLog {
  readonly #db: Sqlite;
  readonly #union: UnionCatalog;
  readonly #q: Record<string, Statement>;
  readonly #cache = new Map<string, Statement>();

  constructor(db: Database, union: UnionCatalog) {
    this.#db = db.sqlite;
    this.#union = union;
    const p = (sql: string) => this.#db.prepare(sql);
    this.#q = {
      head: p("SELECT COALESCE(MAX(seq), 0) AS n FROM union_oai"),
      earliest: p("SELECT MIN(changed_at) AS at FROM union_oai"),
      firstFrom: p("SELECT MIN(seq) AS n FROM union_oai WHERE changed_at >= ?"),
      lastBefore: p("SELECT MAX(seq) AS n FROM union_oai WHERE changed_at < ?"),
      entry: p("SELECT cluster_id, seq, changed_at, deleted FROM union_oai WHERE cluster_id = ?"),
      holders: p(
        "SELECT institution_id, current FROM union_oai_holders WHERE cluster_id = ? ORDER BY institution_id",
      ),
      institutions: p("SELECT DISTINCT institution_id FROM union_oai_holders ORDER BY institution_id"),
    };
  }

  /** The position of the latest change (0 when nothing ever changed). */
  head(): number {
    return (this.#q.head!.get() as { n: number }).n;
  }

  /** The datestamp of the oldest entry, or undefined for an empty catalog. */
  earliest(): string | undefined {
    return (this.#q.earliest!.get() as { at: string | null }).at ?? undefined;
  }

  /**
   * The positions that bound the changes made at `from` or later and before `untilExclusive`:
   * entries with `after < seq <= upto`. Datestamps never go back as seq grows, so a time range is a
   * range of positions.
   */
  range(from: string | undefined, untilExclusive: string | undefined): { after: number; upto: number } {
    const head = this.head();
    const first = from === undefined ? 1 : (this.#q.firstFrom!.get(from) as { n: number | null }).n;
    const last =
      untilExclusive === undefined
        ? head
        : (this.#q.lastBefore!.get(untilExclusive) as { n: number | null }).n;
    if (first === null || last === null) return { after: 0, upto: 0 };
    return { after: first - 1, upto: Math.min(last, head) };
  }

  /** Entries with `after < seq <= upto` in order, held now or once by one of `institutions` when given. */
  list(
    after: number,
    upto: number,
    institutions: readonly string[] | undefined,
    limit: number,
  ): OaiLogEntry[] {
    if (!institutions) {
      return (
        this.#stmt(
          "SELECT cluster_id, seq, changed_at, deleted FROM union_oai WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
        ).all(after, upto, limit) as Row[]
      ).map(toEntry);
    }
    if (institutions.length === 0) return [];
    return (
      this.#stmt(
        `SELECT cluster_id, seq, changed_at, deleted FROM union_oai WHERE seq > ? AND seq <= ?
           AND cluster_id IN (SELECT cluster_id FROM union_oai_holders WHERE institution_id IN (${placeholders(institutions.length)}))
         ORDER BY seq LIMIT ?`,
      ).all(after, upto, ...institutions, limit) as Row[]
    ).map(toEntry);
  }

  /** How many entries {@link list} would give without a limit. */
  count(after: number, upto: number, institutions: readonly string[] | undefined): number {
    if (!institutions) {
      return (
        this.#stmt("SELECT COUNT(*) AS n FROM union_oai WHERE seq > ? AND seq <= ?").get(after, upto) as {
          n: number;
        }
      ).n;
    }
    if (institutions.length === 0) return 0;
    return (
      this.#stmt(
        `SELECT COUNT(*) AS n FROM union_oai WHERE seq > ? AND seq <= ?
           AND cluster_id IN (SELECT cluster_id FROM union_oai_holders WHERE institution_id IN (${placeholders(institutions.length)}))`,
      ).get(after, upto, ...institutions) as { n: number }
    ).n;
  }

  /** The entry of one cluster, live or deleted; undefined when there never was such a cluster. */
  entry(cluster: number): OaiLogEntry | undefined {
    const r = this.#q.entry!.get(cluster) as Row | undefined;
    return r ? toEntry(r) : undefined;
  }

  /** The institutions that hold the cluster (current), or held it once; a deleted cluster's last holders are current. */
  holders(cluster: number): Array<{ institutionId: string; current: boolean }> {
    return (this.#q.holders!.all(cluster) as Array<{ institution_id: string; current: number }>).map((r) => ({
      institutionId: r.institution_id,
      current: r.current === 1,
    }));
  }

  /** Every institution that holds or held a cluster. */
  institutions(): string[] {
    return (this.#q.institutions!.all() as Array<{ institution_id: string }>).map((r) => r.institution_id);
  }

  /**
   * The record a live cluster is served as: the same as the export and SRU give (preferred record
   * and one 852 per holding institution). Undefined for a deleted cluster or an unreadable record.
   */
  record(cluster: number): MarcRecord | undefined {
    const c = this.#union.getCluster(`${this.#union.nodeId}:c${cluster}`);
    // getCluster follows a merged cluster to its survivor: that is another record.
    if (!c || c.id !== `${this.#union.nodeId}:c${cluster}`) return undefined;
    const rec = readMarcBlob(c.preferred.marc);
    return rec ? exportRecord(rec, c.id, c.holdings) : undefined;
  }

  #stmt(sql: string): Statement {
    let s = this.#cache.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#cache.set(sql, s);
    }
    return s;
  }
}
