// ILL demand on its way up: a regional center queues each counted request for the national center
// in the transaction that counts it; the national center stores it once however often it comes,
// and knows each region's counting date and last contact (demand.ts).
import { fromBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { Database } from "../../db.js";
import { PostDemandRequestSchema } from "../../gen/lrs/v1/acquisitions_pb.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { sharedMigrations } from "../../migrations.js";
import { Outbox } from "../../outbox.js";
import { demandCoverage } from "../report-cli.js";
import { DEMAND_DESTINATION, DemandLog } from "./demand.js";
import { unionCatalogMigrations } from "./migrations.js";

const open = () => Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
const title = { isbns: ["978-0-262-03384-8"], issns: [], title: "Introduction to algorithms" };

describe("DemandLog up the tiers", () => {
  it("queues each new request once for the national center, which stores it once", () => {
    const regional = open();
    const outbox = new Outbox(regional);
    const log = new DemandLog(regional, { outbox, region: "north" });
    const at = new Date("2026-12-01T10:00:00Z");
    log.announce(new Date("2026-12-01T09:00:00Z"));
    log.record({ requester: "north-a", requestId: "r1", title, held: false, at });
    // The same request's rota built again: counted once, queued once.
    log.record({ requester: "north-a", requestId: "r1", title, held: false, at });
    log.record({ requester: "north-b", requestId: "r7", title, held: true, at });

    const sent: Uint8Array[] = [];
    for (;;) {
      const m = outbox.nextDue(DEMAND_DESTINATION);
      if (!m || "waitMs" in m) break;
      sent.push(m.payload);
      outbox.markDelivered(m.seq);
    }
    expect(sent).toHaveLength(3);
    const posts = sent.map((p) => fromBinary(PostDemandRequestSchema, p));
    expect(posts[0]!.records).toEqual([]);
    expect(posts.every((p) => p.region === "north")).toBe(true);
    expect(timestampDate(posts[0]!.countingSince!).getTime()).toBe(log.countingSince().getTime());
    expect(posts[1]!.records[0]).toMatchObject({
      requester: "north-a",
      requestId: "r1",
      held: false,
      keys: ["isbn:9780262033848", "title:introduction to algorithms"],
    });

    const national = open();
    const nat = new DemandLog(national);
    const since = new Date("2026-11-01T00:00:00Z");
    const from = { region: "north", center: "north-rc" };
    const received = new Date("2026-12-01T11:00:00Z");
    expect(nat.receive(from, since, posts[0]!.records, received)).toEqual({ accepted: 0, duplicates: 0 });
    expect(nat.receive(from, since, posts[1]!.records, received)).toEqual({ accepted: 1, duplicates: 0 });
    // A retry after a lost answer changes nothing.
    expect(nat.receive(from, since, posts[1]!.records, received)).toEqual({ accepted: 0, duplicates: 1 });
    nat.receive(from, since, posts[2]!.records, new Date("2026-12-01T12:00:00Z"));
    expect(nat.count(title, new Date(0))).toEqual({ requests: 2, own: 0 });
    expect(nat.sources()).toEqual([
      {
        region: "north",
        center: "north-rc",
        countingSince: since,
        lastReceivedAt: new Date("2026-12-01T12:00:00Z"),
      },
    ]);
  });

  it("counts since the migration that began counting", () => {
    const db = open();
    const applied = db.sqlite
      .prepare("SELECT applied_at FROM schema_migrations WHERE version = 23")
      .get() as {
      applied_at: string;
    };
    expect(new DemandLog(db).countingSince().toISOString()).toBe(new Date(applied.applied_at).toISOString());
  });

  it("the national demand report says since when each region counts and which never reported", () => {
    const national = open();
    const nat = new DemandLog(national);
    nat.receive(
      { region: "north", center: "north-rc" },
      new Date("2026-12-01T00:00:00Z"),
      [],
      new Date("2026-12-05T10:00:00Z"),
    );
    const lines = demandCoverage(national, Tier.NATIONAL, new Date("2025-12-05T00:00:00Z"), () => [
      "east",
      "north",
    ]);
    expect(lines).toEqual([
      "north (north-rc): counted since 2026-12-01, last heard from 2026-12-05T10:00:00.000Z",
      "not every region counted since 2025-12-05: the report is whole from 2026-12-01 only",
      "regions that never sent their demand (their members' requests are missing): east",
    ]);
    // A regional center: its own counting day.
    const regional = open();
    const day = new DemandLog(regional).countingSince().toISOString().slice(0, 10);
    expect(demandCoverage(regional, Tier.REGIONAL, new Date("2025-12-05T00:00:00Z"), undefined)).toEqual([
      `ILL demand is counted since ${day} (when this center began counting), not since 2025-12-05: earlier requests are not in the report`,
    ]);
  });
});
