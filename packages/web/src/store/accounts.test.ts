import { Database, sharedMigrations } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { Accounts, LOCK_AFTER, LOCK_MS } from "./accounts.js";
import { webMigrations } from "./migrations.js";
import { IDLE_MS, Sessions } from "./sessions.js";

function setup() {
  let now = Date.parse("2026-12-05T10:00:00Z");
  const db = Database.open(":memory:", [...sharedMigrations, ...webMigrations]);
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  return {
    db,
    clock, // A cheaper scrypt than the default (2^17): the rules under test do not depend on the cost.
    accounts: new Accounts(db, clock.now, { N: 2 ** 12, r: 8, p: 1 }),
    sessions: new Sessions(db, clock.now),
  };
}

describe("staff accounts", () => {
  it("sets the password once through the link, and refuses the link a second time", async () => {
    const { accounts } = setup();
    const token = accounts.add("alice", "admin");
    expect(accounts.linkUser(token)).toBe("alice");
    await expect(accounts.setPasswordWithLink(token, "short")).rejects.toThrow(/at least 10 characters/);
    await expect(accounts.setPasswordWithLink(token, "alice-is-my-password")).rejects.toThrow(/user name/);
    expect(await accounts.setPasswordWithLink(token, "correct horse battery")).toBe("alice");
    await expect(accounts.setPasswordWithLink(token, "another good password")).rejects.toThrow(
      /used already/,
    );
    expect((await accounts.login("alice", "correct horse battery")).ok).toBe(true);
    expect(() => accounts.add("alice", "staff")).toThrow(/exists already/);
    expect(() => accounts.add("bad name!", "staff")).toThrow(/letters, digits/);
  });

  it(`locks the account at the ${LOCK_AFTER}th wrong password, refuses the right one while locked, and lets it in after`, async () => {
    const { accounts, clock } = setup();
    accounts.add("bob", "staff");
    await accounts.setPassword("bob", "the right password");
    for (let i = 1; i < LOCK_AFTER; i++)
      expect(await accounts.login("bob", "wrong")).toEqual({ ok: false, reason: "wrong" });
    const locked = await accounts.login("bob", "wrong");
    expect(locked).toMatchObject({ ok: false, reason: "locked" });
    expect(await accounts.login("bob", "the right password")).toMatchObject({ ok: false, reason: "locked" });
    clock.advance(LOCK_MS + 1);
    expect(await accounts.login("bob", "the right password")).toMatchObject({ ok: true });
    // The count starts again after a success.
    expect(await accounts.login("bob", "wrong")).toEqual({ ok: false, reason: "wrong" });
    expect(accounts.get("bob")?.failedLogins).toBe(1);
  });

  it("keeps one admin, and ends a disabled user's sessions", async () => {
    const { accounts, sessions } = setup();
    accounts.add("root", "admin");
    expect(() => accounts.setRole("root", "staff")).toThrow(/last admin/);
    expect(() => accounts.setDisabled("root", true)).toThrow(/last admin/);
    accounts.add("carol", "staff");
    const { id } = sessions.create("carol");
    expect(sessions.get(id)?.role).toBe("staff");
    accounts.setDisabled("carol", true);
    expect(sessions.get(id)).toBeUndefined();
    expect(await accounts.login("carol", "anything at all")).toMatchObject({ ok: false });
  });

  it("ends a session after the idle time, and keeps only its hash", () => {
    const { db, accounts, sessions, clock } = setup();
    accounts.add("dave", "viewer");
    const { id, session } = sessions.create("dave");
    expect(session.csrf).toHaveLength(43);
    const stored = db.sqlite.prepare("SELECT id_hash FROM web_sessions").pluck().all() as string[];
    expect(stored).not.toContain(id);
    clock.advance(IDLE_MS - 1000);
    expect(sessions.get(id)?.user).toBe("dave");
    clock.advance(IDLE_MS + 1);
    expect(sessions.get(id)).toBeUndefined();
  });
});
