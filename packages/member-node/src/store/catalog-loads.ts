// The catalog's loads: every import and harvest with its counts, how it ended and its first
// rejections (migration 175), for the staff's catalog status (AdminService.GetStatus → web app).
import type { Database } from "@lrs/shared";

/** Rows kept; older ones are dropped as new ones come. */
const KEEP = 200;
/** Rejections kept per load (each names its record and the reason). */
export const KEPT_REJECTIONS = 20;

export interface CatalogLoad {
  kind: "import" | "harvest";
  /** The files imported, or the harvested source. */
  source: string;
  startedAt: Date;
  finishedAt: Date;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  /** "ok", "interrupted", or why it failed. */
  outcome: string;
  rejections: string[];
}

interface Row {
  kind: "import" | "harvest";
  source: string;
  started_at: string;
  finished_at: string;
  added: number;
  updated: number;
  unchanged: number;
  deleted: number;
  rejected: number;
  outcome: string;
  rejections: string;
}

export class CatalogLoads {
  constructor(private readonly db: Database) {}

  record(load: CatalogLoad): void {
    this.db.transaction(() => {
      this.db.sqlite
        .prepare(
          `INSERT INTO catalog_loads (kind, source, started_at, finished_at, added, updated, unchanged,
             deleted, rejected, outcome, rejections) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          load.kind,
          load.source,
          load.startedAt.toISOString(),
          load.finishedAt.toISOString(),
          load.added,
          load.updated,
          load.unchanged,
          load.deleted,
          load.rejected,
          load.outcome,
          JSON.stringify(load.rejections.slice(0, KEPT_REJECTIONS)),
        );
      this.db.sqlite
        .prepare("DELETE FROM catalog_loads WHERE id <= (SELECT MAX(id) FROM catalog_loads) - ?")
        .run(KEEP);
    });
  }

  /** The latest loads, newest first. */
  recent(limit = 10): CatalogLoad[] {
    const rows = this.db.sqlite
      .prepare("SELECT * FROM catalog_loads ORDER BY id DESC LIMIT ?")
      .all(limit) as Row[];
    return rows.map((r) => ({
      kind: r.kind,
      source: r.source,
      startedAt: new Date(r.started_at),
      finishedAt: new Date(r.finished_at),
      added: r.added,
      updated: r.updated,
      unchanged: r.unchanged,
      deleted: r.deleted,
      rejected: r.rejected,
      outcome: r.outcome,
      rejections: JSON.parse(r.rejections) as string[],
    }));
  }
}

/** A load that could not go on: no counts, the reason as its outcome. */
export function failedLoad(
  kind: CatalogLoad["kind"],
  source: string,
  startedAt: Date,
  err: unknown,
): CatalogLoad {
  return {
    kind,
    source,
    startedAt,
    finishedAt: new Date(),
    added: 0,
    updated: 0,
    unchanged: 0,
    deleted: 0,
    rejected: 0,
    outcome: `failed: ${err instanceof Error ? err.message : String(err)}`,
    rejections: [],
  };
}
