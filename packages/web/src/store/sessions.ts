// Server-side sessions: the cookie carries a random id, the database its hash, the user, the CSRF
// token, and when the session ends (idle or absolute, whichever is first).
import { randomBytes } from "node:crypto";
import type { Database } from "@lrs/shared";
import { type Role, sha256 } from "./accounts.js";

/** A session ends after this long without a request, and after ABSOLUTE_MS in any case. */
export const IDLE_MS = 2 * 60 * 60_000;
export const ABSOLUTE_MS = 12 * 60 * 60_000;

export interface Session {
  user: string;
  role: Role;
  csrf: string;
  expiresAt: number;
}

export class Sessions {
  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * A new session; returns the cookie value (never stored). `idToken`: the identity provider's ID
   * token of a single sign-on, kept to end the provider's session on sign-out.
   */
  create(user: string, idToken?: string): { id: string; session: Session } {
    const id = randomBytes(32).toString("base64url");
    const csrf = randomBytes(32).toString("base64url");
    const t = this.now();
    this.db.sqlite
      .prepare("DELETE FROM web_sessions WHERE expires_at <= ? OR last_seen_at <= ?")
      .run(t, t - IDLE_MS);
    this.db.sqlite
      .prepare(
        "INSERT INTO web_sessions (id_hash, user_name, csrf, created_at, last_seen_at, expires_at, id_token) VALUES (?, ?, ?, ?, ?, ?, ?)",
      )
      .run(sha256(id), user, csrf, t, t, t + ABSOLUTE_MS, idToken ?? null);
    const role = (
      this.db.sqlite.prepare("SELECT role FROM web_users WHERE name = ?").get(user) as { role: Role }
    ).role;
    return { id, session: { user, role, csrf, expiresAt: t + ABSOLUTE_MS } };
  }

  /** The live session of a cookie value (its idle clock restarted), or undefined. */
  get(id: string): Session | undefined {
    const t = this.now();
    const r = this.db.sqlite
      .prepare(
        `SELECT s.user_name, s.csrf, s.expires_at, s.last_seen_at, u.role, u.disabled
           FROM web_sessions s JOIN web_users u ON u.name = s.user_name WHERE s.id_hash = ?`,
      )
      .get(sha256(id)) as
      | {
          user_name: string;
          csrf: string;
          expires_at: number;
          last_seen_at: number;
          role: Role;
          disabled: number;
        }
      | undefined;
    if (!r || r.disabled || r.expires_at <= t || r.last_seen_at <= t - IDLE_MS) return undefined;
    // Written at most once a minute: a page polls often.
    if (t - r.last_seen_at > 60_000)
      this.db.sqlite.prepare("UPDATE web_sessions SET last_seen_at = ? WHERE id_hash = ?").run(t, sha256(id));
    return { user: r.user_name, role: r.role, csrf: r.csrf, expiresAt: r.expires_at };
  }

  /** Ends a session; returns its single sign-on ID token, if it had one. */
  end(id: string): string | undefined {
    const r = this.db.sqlite
      .prepare("DELETE FROM web_sessions WHERE id_hash = ? RETURNING id_token")
      .get(sha256(id)) as { id_token: string | null } | undefined;
    return r?.id_token ?? undefined;
  }
}
