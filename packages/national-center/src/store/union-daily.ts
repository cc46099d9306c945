// The national union catalog's size through the days, sampled (the dashboard's per-day bars:
// records added, records downloaded for copy cataloging, clusters merged). Counting the union
// tables directly each time would scan them; a sample a minute costs four counts.
import type { Database } from "@lrs/shared";

export interface UnionSize {
  records: number;
  clusters: number;
  merges: number;
  downloads: number;
}

export interface UnionDay {
  day: string;
  added: number;
  downloaded: number;
  merges: number;
}

export class UnionDaily {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  /** The union catalog's size now. */
  size(): UnionSize {
    const n = (sql: string) => (this.#db.sqlite.prepare(sql).get() as { n: number | null }).n ?? 0;
    return {
      records: n("SELECT count(*) AS n FROM union_records"),
      clusters: n("SELECT count(*) AS n FROM union_clusters"),
      merges: n("SELECT count(*) AS n FROM union_merges"),
      downloads: n("SELECT sum(count) AS n FROM union_downloads"),
    };
  }

  /** Records the size now as today's latest (the day's first sample is kept as its start). */
  sample(now = new Date()): UnionSize {
    const s = this.size();
    this.#db.sqlite
      .prepare(
        `INSERT INTO traffic_union_daily (day, records, clusters, merges, downloads,
           first_records, first_merges, first_downloads, sampled_at)
         VALUES (@day, @records, @clusters, @merges, @downloads, @records, @merges, @downloads, @at)
         ON CONFLICT (day) DO UPDATE SET records = excluded.records, clusters = excluded.clusters,
           merges = excluded.merges, downloads = excluded.downloads, sampled_at = excluded.sampled_at`,
      )
      .run({ day: now.toISOString().slice(0, 10), ...s, at: now.toISOString() });
    return s;
  }

  /**
   * The last `n` sampled days, oldest first: what changed each day (from the previous day's last
   * sample, or for the first day sampled, from that day's first sample). `today`, when given, is
   * the size now: today's figures count up to it rather than to the last sample.
   */
  days(n: number, today?: { size: UnionSize; day: string }): UnionDay[] {
    const rows = (
      this.#db.sqlite
        .prepare("SELECT * FROM traffic_union_daily ORDER BY day DESC LIMIT ?")
        .all(n + 1) as Array<{
        day: string;
        records: number;
        merges: number;
        downloads: number;
        first_records: number;
        first_merges: number;
        first_downloads: number;
      }>
    ).reverse();
    const last = rows.at(-1);
    if (today && last?.day === today.day) Object.assign(last, today.size);
    const out: UnionDay[] = [];
    rows.forEach((r, i) => {
      const prev = rows[i - 1];
      if (rows.length > n && i === 0) return; // only the baseline of the first day shown
      out.push({
        day: r.day,
        added: Math.max(0, r.records - (prev ? prev.records : r.first_records)),
        downloaded: Math.max(0, r.downloads - (prev ? prev.downloads : r.first_downloads)),
        merges: Math.max(0, r.merges - (prev ? prev.merges : r.first_merges)),
      });
    });
    return out;
  }

  /** Forgets days older than `keepDays`. */
  prune(keepDays: number, now = new Date()): void {
    const oldest = new Date(now.getTime() - keepDays * 86_400_000).toISOString().slice(0, 10);
    this.#db.sqlite.prepare("DELETE FROM traffic_union_daily WHERE day < ?").run(oldest);
  }
}
