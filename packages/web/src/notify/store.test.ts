import { Database, sharedMigrations } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { Accounts } from "../store/accounts.js";
import { webMigrations } from "../store/migrations.js";
import type { NotifyEvent } from "./events.js";
import { NotifyStore, webhookUrlProblem } from "./store.js";

function setup() {
  let now = Date.parse("2026-12-05T10:00:00Z");
  const db = Database.open(":memory:", [...sharedMigrations, ...webMigrations]);
  const accounts = new Accounts(db, () => now);
  for (const name of ["ann", "ben"]) accounts.add(name, "staff");
  return { db, accounts, store: new NotifyStore(db, () => now), advance: (ms: number) => (now += ms) };
}

const event = (kind: NotifyEvent["kind"], requestId: string): NotifyEvent => ({
  kind,
  requestId,
  role: "lender",
  title: "A title",
  partner: "north-a",
  state: "new",
  text: "north-a asks to borrow this",
  at: "2026-12-05T10:00:00.000Z",
});

describe("notification store", () => {
  it("checks the settings, naming what is wrong", () => {
    const { store } = setup();
    const base = { email: "", webhookUrl: "", mode: "each", subscriptions: [] };
    expect(() => store.save("ann", { ...base, email: "ann at library" })).toThrow(/not an e-mail address/);
    expect(() => store.save("ann", { ...base, webhookUrl: "http://hooks.example.org/x" })).toThrow(
      /must be https/,
    );
    expect(() =>
      store.save("ann", { ...base, subscriptions: [{ kind: "lending_request", channel: "email" }] }),
    ).toThrow(/needs an e-mail address/);
    expect(() =>
      store.save("ann", { ...base, email: "a@x.org", subscriptions: [{ kind: "gossip", channel: "email" }] }),
    ).toThrow(/no event "gossip"/);
    expect(() => store.save("ann", { ...base, mode: "hourly" })).toThrow(/each or digest/);
    expect(webhookUrlProblem("http://127.0.0.1:9/x")).toBeUndefined();
  });

  it("queues for subscribers only, once, moving the cursor in the same transaction", () => {
    const { store, accounts } = setup();
    const saved = store.save("ann", {
      email: "ann@library.example.org",
      webhookUrl: "https://hooks.example.org/lrs",
      mode: "each",
      subscriptions: [
        { kind: "lending_request", channel: "email" },
        { kind: "lending_request", channel: "webhook" },
      ],
    });
    expect(saved.webhookSecret).toHaveLength(43);
    // The secret stays until rotated.
    const again = store.save("ann", { ...saved, mode: "each" });
    expect(again.webhookSecret).toBe(saved.webhookSecret);
    expect(store.save("ann", { ...saved }, { rotateSecret: true }).webhookSecret).not.toBe(
      saved.webhookSecret,
    );
    store.save("ben", {
      email: "ben@library.example.org",
      webhookUrl: "",
      mode: "each",
      subscriptions: [{ kind: "overdue", channel: "email" }],
    });
    expect(store.queue([event("lending_request", "r1")], "17")).toEqual({ deliveries: 2, digest: 0 });
    expect(store.cursor()).toBe("17");
    expect(store.due().map((d) => [d.user, d.channel, d.requestId])).toEqual([
      ["ann", "email", "r1"],
      ["ann", "webhook", "r1"],
    ]);
    // A disabled account is not written to.
    accounts.add("admin2", "admin");
    accounts.setDisabled("ann", true);
    expect(store.queue([event("lending_request", "r2")], "18")).toEqual({ deliveries: 0, digest: 0 });
  });

  it("retries with a doubling wait, then marks it failed; retry starts it again", () => {
    const { store, advance } = setup();
    store.save("ann", { email: "ann@library.example.org", webhookUrl: "", mode: "each", subscriptions: [] });
    const id = store.queueTest("ann", "email");
    expect(store.tryFailed(id, "451 busy", 3, 1000)).toBe("pending");
    expect(store.due()).toHaveLength(0);
    advance(1000);
    expect(store.due().map((d) => d.id)).toEqual([id]);
    expect(store.tryFailed(id, "451 busy", 3, 1000)).toBe("pending");
    advance(1999);
    expect(store.due()).toHaveLength(0);
    advance(1);
    expect(store.tryFailed(id, "451 still busy", 3, 1000)).toBe("failed");
    expect(store.list({ failing: true }).map((d) => [d.id, d.attempts, d.lastError])).toEqual([
      [id, 3, "451 still busy"],
    ]);
    expect(store.retry({ id })).toEqual([id]);
    expect(store.due().map((d) => [d.id, d.attempts])).toEqual([[id, 0]]);
    store.sent(id);
    expect(store.retry({ id })).toEqual([]);
    expect(store.get(id)?.status).toBe("sent");
  });

  it("collects a digest into one delivery per person and channel", () => {
    const { store } = setup();
    store.save("ann", {
      email: "ann@library.example.org",
      webhookUrl: "",
      mode: "digest",
      subscriptions: [
        { kind: "lending_request", channel: "email" },
        { kind: "overdue", channel: "email" },
      ],
    });
    store.queue([event("lending_request", "r1"), event("overdue", "r2"), event("arrived", "r3")], "3");
    expect(store.due()).toHaveLength(0);
    expect(store.waiting("ann")).toBe(2);
    const ids = store.collectDigests({ day: "2026-12-05" });
    expect(ids).toHaveLength(1);
    const d = store.get(ids[0]!)!;
    expect(d.kind).toBe("digest");
    expect(d.events.map((e) => e.requestId)).toEqual(["r1", "r2"]);
    expect(store.waiting()).toBe(0);
    expect(store.lastDigestDay()).toBe("2026-12-05");
  });
});
