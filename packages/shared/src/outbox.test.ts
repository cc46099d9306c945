import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Database } from "./db.js";
import { createLogger } from "./log.js";
import { sharedMigrations } from "./migrations.js";
import { outboxAdmin } from "./node/outbox-admin.js";
import { DEAD_AFTER_REFUSALS, Outbox, type OutboxMessage, runOutboxWorker } from "./outbox.js";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

describe("outbox", () => {
  it("stores a message once per id and hands them out in order, per destination", () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    box.enqueue("parent", "k", enc("one"), "m1");
    box.enqueue("parent", "k", enc("one again"), "m1");
    box.enqueue("other", "k", enc("elsewhere"), "m2");
    box.enqueue("parent", "k", enc("two"), "m3");
    expect(box.pendingCount()).toBe(3);
    const first = box.nextDue("parent") as OutboxMessage;
    expect(dec(first.payload)).toBe("one");
    box.markDelivered(first.seq);
    expect(dec((box.nextDue("parent") as OutboxMessage).payload)).toBe("two");
    expect(box.pendingCount("parent")).toBe(1);
  });

  it("backs off after a failure and keeps the schedule in the database", () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    box.enqueue("parent", "k", enc("x"), "m1");
    const msg = box.nextDue("parent", 1000) as OutboxMessage;
    const delay = box.markFailed(msg.seq, msg.attempts, "unreachable", 1000);
    expect(delay).toBeGreaterThanOrEqual(125);
    expect(box.nextDue("parent", 1000)).toEqual({ waitMs: delay });
    const again = box.nextDue("parent", 1000 + delay) as OutboxMessage;
    expect(again.attempts).toBe(1);
    // Later failures wait longer, up to a minute.
    expect(box.markFailed(again.seq, 20, "still", 0)).toBeLessThanOrEqual(60_000);
  });

  it("delivers in order through failures, until stopped", async () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    const got: string[] = [];
    let failOnce = true;
    const ac = new AbortController();
    const worker = runOutboxWorker({
      outbox: box,
      destination: "parent",
      log: createLogger("test"),
      signal: ac.signal,
      send: async (m) => {
        if (dec(m.payload) === "b" && failOnce) {
          failOnce = false;
          throw new Error("peer down");
        }
        got.push(dec(m.payload));
      },
    });
    for (const p of ["a", "b", "c"]) box.enqueue("parent", "k", enc(p));
    const deadline = Date.now() + 5000;
    while (got.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await worker;
    expect(got).toEqual(["a", "b", "c"]);
    expect(box.pendingCount()).toBe(0);
  });

  it("sets aside a message the receiver keeps refusing as wrong, and goes on with the next", async () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    box.enqueue("parent", "k", enc("bad"), "m1");
    box.enqueue("parent", "k", enc("good"), "m2");
    // As if it had been refused all but once already.
    db.sqlite.prepare("UPDATE outbox SET attempts = ? WHERE message_id = 'm1'").run(DEAD_AFTER_REFUSALS - 1);
    const got: string[] = [];
    const ac = new AbortController();
    const worker = runOutboxWorker({
      outbox: box,
      destination: "parent",
      log: createLogger("test"),
      signal: ac.signal,
      send: async (m) => {
        if (dec(m.payload) === "bad") throw new ConnectError("no such destination", Code.NotFound);
        got.push(dec(m.payload));
      },
    });
    const deadline = Date.now() + 5000;
    while (got.length < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await worker;
    expect(got).toEqual(["good"]);
    expect(box.deadCount()).toBe(1);
    expect(box.pendingCount()).toBe(0);
  });

  it("keeps retrying a message whose receiver cannot be reached", async () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    box.enqueue("parent", "k", enc("x"), "m1");
    db.sqlite.prepare("UPDATE outbox SET attempts = ?").run(DEAD_AFTER_REFUSALS + 5);
    const ac = new AbortController();
    let tries = 0;
    const worker = runOutboxWorker({
      outbox: box,
      destination: "parent",
      log: createLogger("test"),
      signal: ac.signal,
      send: async () => {
        tries++;
        throw new ConnectError("connect ECONNREFUSED", Code.Unavailable);
      },
    });
    while (tries < 1) await new Promise((r) => setTimeout(r, 10));
    ac.abort();
    await worker;
    expect(box.deadCount()).toBe(0);
    expect(box.pendingCount()).toBe(1);
  });
});

describe("the outbox for operators", () => {
  it("hands a batch sender the queued run of its kinds, in order, and goes on after what it stored", async () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    for (const p of ["a", "b", "c", "d"]) box.enqueue("parent", "env", enc(p));
    box.enqueue("parent", "other", enc("alone"));
    box.enqueue("parent", "env", enc("e"));
    const calls: string[][] = [];
    const alone: string[] = [];
    let refuseC = true;
    const ac = new AbortController();
    const worker = runOutboxWorker({
      outbox: box,
      destination: "parent",
      log: createLogger("test"),
      signal: ac.signal,
      send: async (m) => {
        alone.push(dec(m.payload));
      },
      batch: {
        accepts: (kind) => kind === "env",
        max: 3,
        send: async (msgs) => {
          const payloads = msgs.map((m) => dec(m.payload));
          calls.push(payloads);
          // The receiver stores "a" and "b", then refuses "c" once (the rest of the call is not stored).
          const c = payloads.indexOf("c");
          if (c > 0 && refuseC) return c;
          if (c === 0 && refuseC) {
            refuseC = false;
            throw new ConnectError("not yet", Code.Unavailable);
          }
          return msgs.length;
        },
      },
    });
    const deadline = Date.now() + 5000;
    while (box.pendingCount() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    ac.abort();
    await worker;
    // At most `max` per call; a kind the batch sender does not take goes alone and keeps its place.
    expect(calls).toEqual([["a", "b", "c"], ["c", "d"], ["c", "d"], ["e"]]);
    expect(alone).toEqual(["alone"]);
    expect(box.pendingCount()).toBe(0);
    const c = db.sqlite.prepare("SELECT attempts FROM outbox WHERE payload = ?").get(Buffer.from("c"));
    expect(c).toEqual({ attempts: 1 });
  });

  it("takes no message that waits out a backoff into a run", () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    for (const p of ["a", "b", "c"]) box.enqueue("parent", "env", enc(p), p);
    db.sqlite.prepare("UPDATE outbox SET next_attempt_at = ? WHERE message_id = 'c'").run(5000);
    const head = box.nextDue("parent", 1000) as OutboxMessage;
    expect(box.nextRun(head, 10, () => true, 1000).map((m) => m.messageId)).toEqual(["a", "b"]);
    expect(box.nextRun(head, 10, () => true, 6000).map((m) => m.messageId)).toEqual(["a", "b", "c"]);
    expect(box.nextRun(head, 1, () => true, 6000).map((m) => m.messageId)).toEqual(["a"]);
    box.markAllDelivered([head.seq, head.seq + 1]);
    expect((box.nextDue("parent", 6000) as OutboxMessage).messageId).toBe("c");
  });

  it("lists what waits and what was set aside, and puts a dead letter back in its queue", async () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    box.enqueue("parent", "k", enc("one"), "m1");
    box.enqueue("child:x", "k", enc("two"), "m2");
    const first = box.nextDue("parent") as OutboxMessage;
    box.markDead(first.seq, "refused: no such destination");
    expect(box.list().map((r) => r.messageId)).toEqual(["m1", "m2"]);
    const dead = box.list({ deadOnly: true });
    expect(dead).toHaveLength(1);
    expect(dead[0]).toMatchObject({
      messageId: "m1",
      destination: "parent",
      lastError: "refused: no such destination",
    });
    expect(dead[0]!.deadAt).toBeInstanceOf(Date);
    expect(box.nextDue("parent")).toBeUndefined();

    // The enqueues above wake their workers on the next microtask; listen after that.
    await new Promise((r) => setTimeout(r, 0));
    const woken: string[] = [];
    box.onEnqueue((d) => woken.push(d));
    const admin = outboxAdmin(box, createLogger("test"));
    const call = { signal: new AbortController().signal } as never;
    const listed = await admin.listOutbox!({ deadOnly: true, limit: 10 } as never, call);
    expect(listed).toMatchObject({ pending: 1, dead: 1 });
    const back = await admin.retryOutbox!({ messageId: "m1" } as never, call);
    expect((back as { entry: { destination: string } }).entry.destination).toBe("parent");
    await new Promise((r) => setTimeout(r, 0));
    expect(woken).toEqual(["parent"]);
    expect(box.deadCount()).toBe(0);
    expect((box.nextDue("parent") as OutboxMessage).messageId).toBe("m1");
    await expect(async () => admin.retryOutbox!({ messageId: "nope" } as never, call)).rejects.toThrow(
      /no undelivered message nope/,
    );
  });
});

describe("database", () => {
  it("commits an unsynced transaction without waiting for the disk, and every other one as before", () => {
    const db = Database.open(":memory:", sharedMigrations);
    const box = new Outbox(db);
    box.enqueue("parent", "k", enc("a"), "m1");
    const seen: number[] = [];
    db.transactionUnsynced(() => {
      seen.push(db.sqlite.pragma("synchronous", { simple: true }) as number);
      box.markAllDelivered([(box.nextDue("parent") as OutboxMessage).seq]);
    });
    // NORMAL (1) for it alone, FULL (2) again after, and inside another transaction it is part of that one.
    expect(seen).toEqual([1]);
    expect(db.sqlite.pragma("synchronous", { simple: true })).toBe(2);
    db.transaction(() => {
      db.transactionUnsynced(() => seen.push(db.sqlite.pragma("synchronous", { simple: true }) as number));
    });
    expect(seen).toEqual([1, 2]);
    expect(box.pendingCount()).toBe(0);
  });

  it("runs each migration once and refuses duplicate versions", () => {
    const db = Database.open(":memory:", [
      ...sharedMigrations,
      { version: 100, name: "t", up: "CREATE TABLE t (x)" },
    ]);
    expect(db.sqlite.prepare("SELECT count(*) AS n FROM schema_migrations").get()).toEqual({
      n: sharedMigrations.length + 1,
    });
    expect(db.sqlite.pragma("foreign_keys", { simple: true })).toBe(1);
    expect(() =>
      Database.open(":memory:", [
        { version: 1, name: "a", up: "" },
        { version: 1, name: "b", up: "" },
      ]),
    ).toThrow(/appears twice/);
    db.close();
    db.close();
  });
});
