import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import type { ChangeFeed, FeedEntry, RecordChange } from "../../catalog-sync/change-feed.js";
import {
  batchLength,
  CatalogSyncPusher,
  fromWire,
  MAX_BATCH_BYTES,
  toWire,
} from "../../catalog-sync/pusher.js";
import { Database } from "../../db.js";
import { CatalogChangeSchema, CatalogSyncService } from "../../gen/lrs/v1/catalog_pb.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { createLogger } from "../../log.js";
import { sharedMigrations } from "../../migrations.js";
import { peerKey } from "../../rpc/peer.js";
import { type CatalogSink, catalogSyncReceiver } from "./receiver.js";

const log = createLogger("test");
const marc = (s: string) => new TextEncoder().encode(`00000nam a2200000 a 4500${s}`);

/** A member's catalog in memory: a log of record ids and the records' current state. */
class FakeFeed implements ChangeFeed {
  log: Array<{ seq: bigint; recordId: string; at: Date }> = [];
  now = () => new Date();
  state = new Map<string, RecordChange & { kind: "upsert" }>();
  #seq = 0n;
  upsert(id: string, body = id) {
    this.state.set(id, {
      kind: "upsert",
      institutionId: "m1",
      recordId: id,
      marc: marc(body),
      holdings: [],
      changedAt: new Date(),
    });
    this.log.push({ seq: ++this.#seq, recordId: id, at: this.now() });
  }
  delete(id: string) {
    this.state.delete(id);
    this.log.push({ seq: ++this.#seq, recordId: id, at: this.now() });
  }
  headSeq() {
    return this.#seq;
  }
  changesAfter(seq: bigint, limit: number): FeedEntry[] {
    return this.log
      .filter((e) => e.seq > seq)
      .slice(0, limit)
      .map((e) => ({
        seq: e.seq,
        change: this.state.get(e.recordId) ?? {
          kind: "delete",
          institutionId: "m1",
          recordId: e.recordId,
          changedAt: new Date(),
        },
      }));
  }
  loggedAfter(seq: bigint) {
    return this.log.find((e) => e.seq > seq)?.at;
  }
  snapshot() {
    return { seq: this.#seq, records: [...this.state.values()] };
  }
}

/** The regional side: what it holds from each source, and every call it got. */
class FakeSink implements CatalogSink {
  records = new Map<string, string>();
  seen = new Set<string>();
  calls: string[] = [];
  applyBatch(_source: string, changes: readonly RecordChange[]) {
    for (const c of changes) {
      this.calls.push(`${c.kind}:${c.recordId}`);
      this.seen.add(c.recordId);
      if (c.kind === "upsert") this.records.set(c.recordId, new TextDecoder().decode(c.marc).slice(24));
      else this.records.delete(c.recordId);
    }
  }
  beginResync() {
    this.calls.push("begin");
    this.seen.clear();
  }
  endResync() {
    let n = 0;
    for (const id of [...this.records.keys()]) {
      if (!this.seen.has(id)) {
        this.records.delete(id);
        n++;
      }
    }
    this.calls.push("end");
    return n;
  }
}

function setup(
  feed: FakeFeed,
  receiverDb = Database.open(":memory:", sharedMigrations),
  sink = new FakeSink(),
) {
  const transport = createRouterTransport(
    (router) =>
      router.service(
        CatalogSyncService,
        catalogSyncReceiver({
          db: receiverDb,
          sink,
          log,
          mayContribute: (s, inst) => inst === s.id || `not ${s.id}`,
        }),
      ),
    {
      router: {
        interceptors: [
          (next) => (req) => {
            req.contextValues.set(peerKey, {
              presented: true,
              authorized: true,
              identity: { id: "m1", tier: Tier.MEMBER, region: "r" },
              fingerprint256: "x",
            });
            return next(req);
          },
        ],
      },
    },
  );
  const senderDb = Database.open(":memory:", sharedMigrations);
  const client = createClient(CatalogSyncService, transport);
  const pusher = new CatalogSyncPusher({
    db: senderDb,
    feed,
    client,
    peerId: "rc",
    log,
    batchSize: 3,
    pollMs: 10,
  });
  return { pusher, sink, receiverDb, senderDb, client };
}

async function until(cond: () => boolean, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("catalog sync", () => {
  it("pushes the change log in batches and resumes from the acknowledged position", async () => {
    const feed = new FakeFeed();
    for (const id of ["a", "b", "c", "d", "e"]) feed.upsert(id);
    feed.delete("b");
    const { pusher, sink } = setup(feed);
    const ac = new AbortController();
    pusher.start(ac.signal);
    await until(() => pusher.ackedSeq === 6n);
    // b was deleted before it was sent: it goes as a delete in place of its upsert, and again as the delete.
    expect([...sink.records.keys()].sort()).toEqual(["a", "c", "d", "e"]);
    feed.upsert("a", "a2");
    pusher.notify();
    await until(() => pusher.ackedSeq === 7n);
    expect(sink.records.get("a")).toBe("a2");
    expect(pusher.status()).toMatchObject({ acknowledgedSeq: 7n, headSeq: 7n, lag: 0n });
    ac.abort();
    await pusher.stopped();
  });

  it("measures the sync lag in seconds from the oldest change not yet acknowledged", async () => {
    const feed = new FakeFeed();
    feed.now = () => new Date("2026-12-01T10:00:00Z");
    feed.upsert("a");
    feed.now = () => new Date("2026-12-01T10:05:00Z");
    feed.upsert("b");
    const { pusher } = setup(feed);
    expect(pusher.lagSeconds(new Date("2026-12-01T10:10:00Z"))).toBe(600);
    const ac = new AbortController();
    pusher.start(ac.signal);
    await until(() => pusher.ackedSeq === 2n);
    expect(pusher.lagSeconds(new Date("2026-12-01T10:10:00Z"))).toBe(0);
    ac.abort();
    await pusher.stopped();
  });

  it("carries records of any size, a few megabytes a batch at most", async () => {
    const feed = new FakeFeed();
    // Six records of 1.5 MB (a serial's MARCXML with its holdings), past the receiver's old 99,999.
    for (const id of ["a", "b", "c", "d", "e", "f"]) feed.upsert(id, `${id}${"x".repeat(1_500_000)}`);
    const { pusher, sink } = setup(feed);
    const ac = new AbortController();
    pusher.start(ac.signal);
    await until(() => pusher.ackedSeq === 6n);
    ac.abort();
    await pusher.stopped();
    expect(sink.records.get("f")).toHaveLength(1_500_001);
    expect(batchLength([1_500_000, 1_500_000, 1_500_000, 1_500_000])).toBe(3);
    expect(batchLength([10, 10])).toBe(2);
    expect(batchLength([MAX_BATCH_BYTES * 2, 10])).toBe(1);
  });

  it("skips what was already applied when a batch is sent again", async () => {
    const feed = new FakeFeed();
    for (const id of ["a", "b", "c"]) feed.upsert(id);
    const { pusher, sink, senderDb, client } = setup(feed);
    const ac = new AbortController();
    pusher.start(ac.signal);
    await until(() => pusher.ackedSeq === 3n);
    ac.abort();
    await pusher.stopped();
    const applied = sink.calls.length;
    // The acknowledgement was lost: the sender goes back to 0 and sends the same entries again.
    senderDb.sqlite.prepare("UPDATE node_meta SET value = '0' WHERE key = 'catalog_sync_acked_seq'").run();
    const again = new CatalogSyncPusher({ db: senderDb, feed, client, peerId: "rc", log, pollMs: 10 });
    const ac2 = new AbortController();
    again.start(ac2.signal);
    await until(() => again.ackedSeq === 3n);
    ac2.abort();
    await again.stopped();
    expect(sink.calls.length).toBe(applied);
  });

  it("resyncs the whole catalog when the receiver lost its position, deleting what is gone", async () => {
    const feed = new FakeFeed();
    for (const id of ["a", "b", "c", "d"]) feed.upsert(id);
    const first = setup(feed);
    const ac = new AbortController();
    first.pusher.start(ac.signal);
    await until(() => first.pusher.ackedSeq === 4n);
    ac.abort();
    await first.pusher.stopped();

    // The receiver comes back from an old backup: it holds a record the member has since deleted, and no position.
    const sink = new FakeSink();
    sink.records.set("zombie", "old");
    feed.delete("c");
    const restoredDb = Database.open(":memory:", sharedMigrations);
    const second = setup(feed, restoredDb, sink);
    second.senderDb.sqlite
      .prepare("INSERT INTO node_meta (key, value) VALUES ('catalog_sync_acked_seq', '4')")
      .run();
    const ac2 = new AbortController();
    second.pusher.start(ac2.signal);
    await until(
      () =>
        second.pusher.status().resyncs === 1n &&
        !second.pusher.status().resyncing &&
        second.pusher.ackedSeq === 5n,
    );
    expect([...sink.records.keys()].sort()).toEqual(["a", "b", "d"]);
    expect(sink.calls[0]).toBe("begin");
    expect(sink.calls).toContain("end");
    feed.upsert("e");
    second.pusher.notify();
    await until(() => second.pusher.ackedSeq === 6n);
    expect(sink.records.has("e")).toBe(true);
    ac2.abort();
    await second.pusher.stopped();
  });

  it("asks for a resync when the sender's log went back behind the acknowledged position", async () => {
    const feed = new FakeFeed();
    for (const id of ["a", "b", "c", "d"]) feed.upsert(id);
    const receiverDb = Database.open(":memory:", sharedMigrations);
    const sink = new FakeSink();
    const first = setup(feed, receiverDb, sink);
    const ac = new AbortController();
    first.pusher.start(ac.signal);
    await until(() => first.pusher.ackedSeq === 4n);
    ac.abort();
    await first.pusher.stopped();
    // The member is restored from a backup taken after two changes: its log ends at 2 and goes on from there.
    const restored = new FakeFeed();
    restored.upsert("a");
    restored.upsert("b");
    restored.upsert("x");
    const second = setup(restored, receiverDb, sink);
    second.senderDb.sqlite
      .prepare("INSERT INTO node_meta (key, value) VALUES ('catalog_sync_acked_seq', '2')")
      .run();
    const ac2 = new AbortController();
    second.pusher.start(ac2.signal);
    await until(() => second.pusher.status().resyncs === 1n && !second.pusher.status().resyncing);
    // c and d exist no more at the member; x does. Nothing was skipped as "already applied".
    expect([...sink.records.keys()].sort()).toEqual(["a", "b", "x"]);
    ac2.abort();
    await second.pusher.stopped();
  });

  it("refuses a batch with records of another institution, naming the change", async () => {
    const feed = new FakeFeed();
    feed.upsert("a");
    feed.state.set("a", { ...feed.state.get("a")!, institutionId: "m2" });
    const { pusher } = setup(feed);
    const ac = new AbortController();
    pusher.start(ac.signal);
    await until(() => pusher.status().lastError !== "");
    expect(pusher.status().lastError).toContain("change 1 (seq 1): not m1");
    expect(pusher.ackedSeq).toBe(0n);
    ac.abort();
    await pusher.stopped();
  });
});

describe("wire form", () => {
  it("carries holdings, due dates included, through toWire, the bytes and fromWire", () => {
    const change: RecordChange = {
      kind: "upsert",
      institutionId: "m1",
      recordId: "r1",
      marc: marc("r1"),
      holdings: [
        {
          barcode: "B1",
          callNumber: "QA 1",
          location: "MAIN",
          status: "on_loan",
          loanRule: "standard",
          dueDate: "2026-12-14",
        },
        { barcode: "B2", callNumber: "QA 1", location: "MAIN", status: "available", loanRule: "standard" },
      ],
      changedAt: new Date("2026-11-27T10:00:00Z"),
    };
    const wire = toWire(7n, change);
    expect(wire.change.case === "upsert" && wire.change.value.holdings.map((h) => h.dueDate)).toEqual([
      "2026-12-14",
      "",
    ]);
    const back = fromWire(fromBinary(CatalogChangeSchema, toBinary(CatalogChangeSchema, wire)));
    expect(back).toEqual(change);
    // No due date: no key (not an empty string).
    expect(back?.kind === "upsert" && "dueDate" in back.holdings[1]!).toBe(false);
    // A sender's malformed due date is not passed on.
    if (wire.change.case === "upsert") wire.change.value.holdings[0]!.dueDate = "14/12/2026";
    const bad = fromWire(wire);
    expect(bad?.kind === "upsert" && bad.holdings[0]!.dueDate).toBeUndefined();
  });
});
