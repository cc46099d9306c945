import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Database } from "../db.js";
import { EnrollmentTokenSchema, type EnrollmentToken as TokenRow } from "../gen/lrs/v1/admin_pb.js";
import type { Tier } from "../gen/lrs/v1/common_pb.js";
import {
  createEnrollmentToken,
  formatToken,
  hashSecret,
  parseToken,
  secretMatches,
  TokenFormatError,
} from "../tls/token.js";

/** Why an enrollment was refused; the message is safe to send to the caller. */
export class EnrollmentError extends Error {
  override readonly name = "EnrollmentError";
}

export interface TokenGrant {
  tokenId: string;
  institutionId: string;
  tier: Tier;
  region: string;
}

const DEFAULT_TTL_S = 24 * 3600;

/** One-time enrollment tokens issued by this node for the tier below. */
export class EnrollmentTokens {
  readonly #db: Database;

  constructor(db: Database) {
    this.#db = db;
  }

  issue(
    caPin: string,
    institutionId: string,
    tier: Tier,
    region: string,
    ttlSeconds = 0,
  ): { token: string; expiresAt: Date } {
    const t = createEnrollmentToken(caPin);
    const now = new Date();
    const expiresAt = new Date(now.getTime() + (ttlSeconds || DEFAULT_TTL_S) * 1000);
    this.#db.sqlite
      .prepare(
        `INSERT INTO enrollment_tokens (token_id, secret_hash, institution_id, tier, region, created_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        t.tokenId,
        hashSecret(t.secret),
        institutionId,
        tier,
        region,
        now.toISOString(),
        expiresAt.toISOString(),
      );
    return { token: formatToken(t), expiresAt };
  }

  /** Checks a presented token without using it up. */
  check(tokenText: string, institutionId: string, now = new Date()): TokenGrant {
    let t: ReturnType<typeof parseToken>;
    try {
      t = parseToken(tokenText);
    } catch (err) {
      if (err instanceof TokenFormatError) throw new EnrollmentError(err.message);
      throw err;
    }
    const row = this.#db.sqlite
      .prepare("SELECT * FROM enrollment_tokens WHERE token_id = ?")
      .get(t.tokenId) as
      | {
          secret_hash: string;
          institution_id: string;
          tier: number;
          region: string;
          expires_at: string;
          used_at: string | null;
        }
      | undefined;
    if (!row || !secretMatches(t.secret, row.secret_hash))
      throw new EnrollmentError("enrollment token is not known here");
    if (row.used_at)
      throw new EnrollmentError(`enrollment token was already used (at ${row.used_at}); ask for a new one`);
    if (new Date(row.expires_at) <= now)
      throw new EnrollmentError(`enrollment token expired at ${row.expires_at}`);
    if (row.institution_id !== institutionId) {
      throw new EnrollmentError(
        `enrollment token was issued for "${row.institution_id}", not for "${institutionId}"`,
      );
    }
    return {
      tokenId: t.tokenId,
      institutionId: row.institution_id,
      tier: row.tier as Tier,
      region: row.region,
    };
  }

  /** Uses the token up; false when another enrollment got there first. Call inside a transaction. */
  consume(tokenId: string, fingerprint: string): boolean {
    const res = this.#db.sqlite
      .prepare(
        "UPDATE enrollment_tokens SET used_at = ?, used_by_fingerprint = ? WHERE token_id = ? AND used_at IS NULL",
      )
      .run(new Date().toISOString(), fingerprint, tokenId);
    return res.changes === 1;
  }

  list(): TokenRow[] {
    const rows = this.#db.sqlite
      .prepare("SELECT * FROM enrollment_tokens ORDER BY created_at")
      .all() as Array<{
      token_id: string;
      institution_id: string;
      tier: number;
      region: string;
      created_at: string;
      expires_at: string;
      used_at: string | null;
    }>;
    return rows.map((r) =>
      create(EnrollmentTokenSchema, {
        tokenId: r.token_id,
        institutionId: r.institution_id,
        tier: r.tier as Tier,
        region: r.region,
        createdAt: timestampFromDate(new Date(r.created_at)),
        expiresAt: timestampFromDate(new Date(r.expires_at)),
        ...(r.used_at ? { usedAt: timestampFromDate(new Date(r.used_at)) } : {}),
      }),
    );
  }
}
