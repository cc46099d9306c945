// The audit log: every staff action (who, what, which request, when, how it ended), read by admins.
import type { Database } from "@lrs/shared";

export interface AuditEntry {
  seq: number;
  at: string;
  user: string;
  action: string;
  requestId: string | null;
  detail: string | null;
  outcome: string;
  remote: string | null;
}

export interface AuditQuery {
  user?: string;
  requestId?: string;
  before?: number;
  limit?: number;
}

export class AuditLog {
  constructor(private readonly db: Database) {}

  record(e: Omit<AuditEntry, "seq" | "at"> & { at?: Date }): void {
    this.db.sqlite
      .prepare(
        "INSERT INTO web_audit (at, user_name, action, request_id, detail, outcome, remote) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run((e.at ?? new Date()).toISOString(), e.user, e.action, e.requestId, e.detail, e.outcome, e.remote);
  }

  /** Newest first. */
  list(q: AuditQuery = {}): AuditEntry[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (q.user) where.push("user_name = ?") && args.push(q.user);
    if (q.requestId) where.push("request_id = ?") && args.push(q.requestId);
    if (q.before) where.push("seq < ?") && args.push(q.before);
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const rows = this.db.sqlite
      .prepare(
        `SELECT seq, at, user_name AS user, action, request_id AS requestId, detail, outcome, remote
           FROM web_audit ${where.length ? `WHERE ${where.join(" AND ")}` : ""} ORDER BY seq DESC LIMIT ${limit}`,
      )
      .all(...args) as AuditEntry[];
    return rows;
  }
}
