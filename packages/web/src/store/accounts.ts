// Staff accounts of one node: who may sign in, with which role, and the lockout after wrong passwords.
import { createHash, randomBytes } from "node:crypto";
import type { Database } from "@lrs/shared";
import {
  DEFAULT_COST,
  hashPassword,
  passwordProblem,
  type ScryptCost,
  verifyPassword,
} from "../auth/password.js";
import { isLanguage, LANGUAGES, type Language } from "../messages/languages.js";

export const ROLES = ["admin", "staff", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Consecutive wrong passwords that lock an account, and for how long. */
export const LOCK_AFTER = 5;
export const LOCK_MS = 15 * 60_000;
/** A set-password link is good for this long, once. */
export const LINK_MS = 24 * 60 * 60_000;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export class AccountError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

export interface StaffUser {
  name: string;
  role: Role;
  hasPassword: boolean;
  disabled: boolean;
  lockedUntil: Date | null;
  failedLogins: number;
  createdAt: string;
  lastLoginAt: string | null;
}

interface Row {
  name: string;
  role: Role;
  password_hash: string | null;
  failed_logins: number;
  locked_until: number | null;
  disabled: number;
  created_at: string;
  last_login_at: string | null;
}

export type LoginResult =
  | { ok: true; user: StaffUser }
  | { ok: false; reason: "wrong" | "locked" | "disabled"; lockedUntil?: Date };

export const sha256 = (s: string) => createHash("sha256").update(s).digest("base64url");

function toUser(r: Row): StaffUser {
  return {
    name: r.name,
    role: r.role,
    hasPassword: r.password_hash !== null,
    disabled: r.disabled === 1,
    lockedUntil: r.locked_until && r.locked_until > Date.now() ? new Date(r.locked_until) : null,
    failedLogins: r.failed_logins,
    createdAt: r.created_at,
    lastLoginAt: r.last_login_at,
  };
}

export function parseRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role))
    throw new AccountError("role", `role "${role}" is not one of ${ROLES.join(", ")}`);
  return role as Role;
}

export class Accounts {
  /** A password check that costs as much as a real one, for names that do not exist. */
  #dummy: Promise<string> | undefined;

  constructor(
    private readonly db: Database,
    private readonly now: () => number = Date.now,
    /** The hashing cost of new passwords (tests use a cheaper one; stored hashes keep theirs). */
    private readonly cost: ScryptCost = DEFAULT_COST,
  ) {}

  #row(name: string): Row | undefined {
    return this.db.sqlite.prepare("SELECT * FROM web_users WHERE name = ?").get(name) as Row | undefined;
  }

  get(name: string): StaffUser | undefined {
    const r = this.#row(name);
    return r ? toUser(r) : undefined;
  }

  /** The language the user chose in the web application (its pages and their notifications), if any. */
  language(name: string): Language | undefined {
    const r = this.db.sqlite.prepare("SELECT language FROM web_users WHERE name = ?").get(name) as
      | { language: string | null }
      | undefined;
    return isLanguage(r?.language) ? r.language : undefined;
  }

  setLanguage(name: string, language: string): void {
    if (!isLanguage(language))
      throw new AccountError(
        "language",
        `no language "${language}" (one of ${LANGUAGES.map((l) => l.code).join(", ")})`,
      );
    this.db.sqlite.prepare("UPDATE web_users SET language = ? WHERE name = ?").run(language, name);
  }

  list(): StaffUser[] {
    return (this.db.sqlite.prepare("SELECT * FROM web_users ORDER BY name").all() as Row[]).map(toUser);
  }

  /** Adds an account without a password; returns the one-time token of its set-password link. */
  add(name: string, role: Role): string {
    if (!NAME.test(name))
      throw new AccountError("name", `user name "${name}": letters, digits and . _ @ - only, at most 64`);
    return this.db.transaction(() => {
      if (this.#row(name)) throw new AccountError("name", `user "${name}" exists already`);
      this.db.sqlite
        .prepare("INSERT INTO web_users (name, role, created_at) VALUES (?, ?, ?)")
        .run(name, role, new Date(this.now()).toISOString());
      return this.newPasswordLink(name);
    });
  }

  /** A new one-time link token for `name` (the old ones stop working). */
  newPasswordLink(name: string): string {
    const user = this.#row(name);
    if (!user) throw new AccountError("name", `no user "${name}"`);
    const token = randomBytes(32).toString("base64url");
    this.db.transaction(() => {
      this.db.sqlite.prepare("DELETE FROM web_password_links WHERE user_name = ?").run(user.name);
      this.db.sqlite
        .prepare(
          "INSERT INTO web_password_links (token_hash, user_name, created_at, expires_at) VALUES (?, ?, ?, ?)",
        )
        .run(sha256(token), user.name, this.now(), this.now() + LINK_MS);
    });
    return token;
  }

  /** The user a set-password link is for, while it is unused and unexpired. */
  linkUser(token: string): string | undefined {
    const r = this.db.sqlite
      .prepare(
        "SELECT user_name FROM web_password_links WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?",
      )
      .get(sha256(token), this.now()) as { user_name: string } | undefined;
    return r?.user_name;
  }

  /** Sets the password through a one-time link; the link is spent, the lock lifted, sessions ended. */
  async setPasswordWithLink(token: string, password: string): Promise<string> {
    const name = this.linkUser(token);
    if (!name) throw new AccountError("token", "this link is not valid: it was used already or has expired");
    const problem = passwordProblem(password, name);
    if (problem) throw new AccountError("password", `the password ${problem}`);
    const hash = await hashPassword(password, this.cost);
    this.db.transaction(() => {
      const spent = this.db.sqlite
        .prepare("UPDATE web_password_links SET used_at = ? WHERE token_hash = ? AND used_at IS NULL")
        .run(this.now(), sha256(token));
      if (spent.changes !== 1) throw new AccountError("token", "this link was used already");
      this.db.sqlite
        .prepare(
          "UPDATE web_users SET password_hash = ?, password_set_at = ?, failed_logins = 0, locked_until = NULL WHERE name = ?",
        )
        .run(hash, new Date(this.now()).toISOString(), name);
      this.db.sqlite.prepare("DELETE FROM web_sessions WHERE user_name = ?").run(name);
    });
    return name;
  }

  /** Sets a password directly (the demo and tests; staff use the link). */
  async setPassword(name: string, password: string): Promise<void> {
    const problem = passwordProblem(password, name);
    if (problem) throw new AccountError("password", `the password ${problem}`);
    const hash = await hashPassword(password, this.cost);
    const res = this.db.sqlite
      .prepare(
        "UPDATE web_users SET password_hash = ?, password_set_at = ?, failed_logins = 0, locked_until = NULL WHERE name = ?",
      )
      .run(hash, new Date(this.now()).toISOString(), name);
    if (res.changes !== 1) throw new AccountError("name", `no user "${name}"`);
  }

  /**
   * The account of a person signed in by single sign-on (`subject`: the provider's issuer and
   * subject): made the first time, its role set from the groups at every sign-in. A local account
   * of the same name, or one of another subject, is refused; so is a disabled one.
   */
  ssoSignIn(name: string, subject: string, role: Role): StaffUser {
    if (!NAME.test(name))
      throw new AccountError(
        "name",
        `the provider's user name "${name}" is not usable here (letters, digits, . _ @ -, at most 64)`,
      );
    return this.db.transaction(() => {
      const row = this.db.sqlite.prepare("SELECT *, sso_subject FROM web_users WHERE name = ?").get(name) as
        | (Row & { sso_subject: string | null })
        | undefined;
      const at = new Date(this.now()).toISOString();
      if (!row)
        this.db.sqlite
          .prepare(
            "INSERT INTO web_users (name, role, created_at, sso_subject, last_login_at) VALUES (?, ?, ?, ?, ?)",
          )
          .run(name, role, at, subject, at);
      else {
        if (row.sso_subject !== subject)
          throw new AccountError(
            "name",
            row.sso_subject === null
              ? `"${name}" is a local account of this node: single sign-on cannot use it`
              : `"${name}" belongs to another person of the identity provider`,
          );
        if (row.disabled) throw new AccountError("name", `the account "${name}" is disabled`);
        this.db.sqlite
          .prepare("UPDATE web_users SET role = ?, last_login_at = ? WHERE name = ?")
          .run(role, at, row.name);
      }
      return toUser(this.#row(name)!);
    });
  }

  setRole(name: string, role: Role): void {
    this.db.transaction(() => {
      const user = this.#row(name);
      if (!user) throw new AccountError("name", `no user "${name}"`);
      if (user.role === "admin" && role !== "admin") this.#keepOneAdmin(name);
      this.db.sqlite.prepare("UPDATE web_users SET role = ? WHERE name = ?").run(role, user.name);
    });
  }

  setDisabled(name: string, disabled: boolean): void {
    this.db.transaction(() => {
      const user = this.#row(name);
      if (!user) throw new AccountError("name", `no user "${name}"`);
      if (disabled && user.role === "admin") this.#keepOneAdmin(name);
      this.db.sqlite
        .prepare("UPDATE web_users SET disabled = ? WHERE name = ?")
        .run(disabled ? 1 : 0, user.name);
      if (disabled) this.db.sqlite.prepare("DELETE FROM web_sessions WHERE user_name = ?").run(user.name);
    });
  }

  /** Lifts a lockout (an admin, after checking with the person). */
  unlock(name: string): void {
    const res = this.db.sqlite
      .prepare("UPDATE web_users SET failed_logins = 0, locked_until = NULL WHERE name = ?")
      .run(name);
    if (res.changes !== 1) throw new AccountError("name", `no user "${name}"`);
  }

  #keepOneAdmin(name: string): void {
    const others = this.db.sqlite
      .prepare("SELECT count(*) AS n FROM web_users WHERE role = 'admin' AND disabled = 0 AND name <> ?")
      .get(name) as { n: number };
    if (others.n === 0)
      throw new AccountError("role", `"${name}" is the last admin: make another admin first`);
  }

  /**
   * Checks a password. The fifth consecutive wrong password locks the account for LOCK_MS; while
   * locked, even the right password is refused (and not checked).
   */
  async login(name: string, password: string): Promise<LoginResult> {
    const r = this.#row(name);
    if (!r || r.password_hash === null) {
      // As slow as a real check, so that the time does not tell which names exist.
      this.#dummy ??= hashPassword("not a password of anyone", this.cost);
      await verifyPassword(password, await this.#dummy);
      return { ok: false, reason: "wrong" };
    }
    if (r.disabled) return { ok: false, reason: "disabled" };
    if (r.locked_until && r.locked_until > this.now())
      return { ok: false, reason: "locked", lockedUntil: new Date(r.locked_until) };
    if (await verifyPassword(password, r.password_hash)) {
      this.db.sqlite
        .prepare(
          "UPDATE web_users SET failed_logins = 0, locked_until = NULL, last_login_at = ? WHERE name = ?",
        )
        .run(new Date(this.now()).toISOString(), r.name);
      return { ok: true, user: toUser({ ...r, failed_logins: 0, locked_until: null }) };
    }
    const failed = (this.#row(r.name)?.failed_logins ?? 0) + 1;
    const lockedUntil = failed >= LOCK_AFTER ? this.now() + LOCK_MS : null;
    this.db.sqlite
      .prepare("UPDATE web_users SET failed_logins = ?, locked_until = ? WHERE name = ?")
      .run(lockedUntil ? 0 : failed, lockedUntil, r.name);
    return lockedUntil
      ? { ok: false, reason: "locked", lockedUntil: new Date(lockedUntil) }
      : { ok: false, reason: "wrong" };
  }
}
