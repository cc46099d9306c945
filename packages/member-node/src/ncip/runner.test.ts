// The NCIP runner against a small HTTP responder whose answers the test chooses: what each outcome
// leaves on the request (note, attention), when a call is tried again, and when it is given up.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Database, illPb, type NcipConfig, Outbox } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IllStore } from "../ill/store.js";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { NcipClient } from "./client.js";
import { NCIP_NAMESPACE } from "./messages.js";
import { NcipQueue } from "./queue.js";
import { NcipRunner } from "./runner.js";

const ok = `<NCIPMessage xmlns="${NCIP_NAMESPACE}"><AcceptItemResponse><RequestId><RequestIdentifierValue>x</RequestIdentifierValue></RequestId><ItemId><ItemIdentifierValue>TMP-9</ItemIdentifierValue></ItemId></AcceptItemResponse></NCIPMessage>`;
const problem = (type: string) =>
  `<NCIPMessage xmlns="${NCIP_NAMESPACE}"><AcceptItemResponse><Problem><ProblemType>${type}</ProblemType><ProblemElement>UserIdentifierValue</ProblemElement><ProblemValue>p1</ProblemValue></Problem></AcceptItemResponse></NCIPMessage>`;

let answer: () => { status: number; body: string };
let bodies: string[];
let server: http.Server;
let db: Database;
let clock: number;
let store: IllStore;
let queue: NcipQueue;
let runner: NcipRunner;
let requestId: string;

beforeEach(async () => {
  bodies = [];
  server = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => {
      body += c;
    });
    req.on("end", () => {
      bodies.push(body);
      const a = answer();
      res.writeHead(a.status, { "content-type": "application/xml" });
      res.end(a.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const cfg: NcipConfig = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/ncip`,
    agency_id: "CPL",
    messages: ["LookupItem", "CheckOutItem", "CheckInItem", "AcceptItem", "DeleteItem"],
    borrowing_library_patron: "ILL-{agency}",
    timeout: 5000,
    attempts: 3,
    retry_delay: 60_000,
  };
  db = memoryDatabase(memberMigrations);
  clock = Date.parse("2026-03-01T10:00:00Z");
  const now = () => new Date(clock);
  store = new IllStore({ db, outbox: new Outbox(db), agencyId: "north-a", now });
  queue = new NcipQueue(db);
  const client = new NcipClient(cfg, "north-a");
  runner = new NcipRunner({
    cfg,
    queue,
    store,
    call: { client, queue, catalog: new MemberCatalog(db, "north-a") },
    log: createLogger("ncip-test"),
    now,
  });
  requestId = store.createBorrowing({
    patronId: "p1",
    serviceType: illPb.ServiceType.LOAN,
    bibliographicInfo: { title: "Der Zauberberg", author: "Mann, Thomas" },
  }).id;
  queue.enqueue(requestId, "AcceptItem", now());
});

afterEach(async () => {
  db.close();
  await new Promise<void>((r) => server.close(() => r()));
});

const ncipNotes = () =>
  store
    .timeline(requestId)
    .filter((e) => e.event === "ncip")
    .map((e) => e.detail.note);

describe("the NCIP runner", () => {
  it("tries an unreachable ILS again later, shows it on the request, and clears that once it works", async () => {
    answer = () => ({ status: 503, body: "<html>maintenance</html>" });
    expect(await runner.runDue()).toBe(1);
    expect(store.get(requestId)!.attention).toMatch(
      /^ILS \(NCIP\): AcceptItem failed \(try 1 of 3\): .*HTTP 503; trying again at 10:01:00 UTC$/,
    );
    // Not due yet: nothing is sent.
    expect(await runner.runDue()).toBe(0);
    clock += 60_000;
    answer = () => ({ status: 200, body: ok });
    expect(await runner.runDue()).toBe(1);
    expect(store.get(requestId)!.attention).toBeUndefined();
    expect(ncipNotes().at(-1)).toMatch(/temporary item TMP-9 made and held for patron p1/);
    expect(queue.item(requestId)).toEqual({ barcode: expect.stringMatching(/^ILL-/), ilsItemId: "TMP-9" });
    expect(queue.forRequest(requestId).map((t) => [t.state, t.attempts])).toEqual([["done", 2]]);
    expect(bodies[0]).toContain("<UserIdentifierValue>p1</UserIdentifierValue>");
  });

  it("does not repeat a call the ILS refuses for good; staff can ask for it again", async () => {
    answer = () => ({ status: 200, body: problem("Unknown User") });
    await runner.runDue();
    expect(store.get(requestId)!.attention).toMatch(
      /^ILS refused AcceptItem: Unknown User \(UserIdentifierValue "p1"\)/,
    );
    expect(queue.unfinished().map((t) => t.state)).toEqual(["failed"]);
    clock += 3_600_000;
    expect(await runner.runDue()).toBe(0);
    expect(queue.retry(requestId, new Date(clock))).toBe(1);
    answer = () => ({ status: 200, body: ok });
    expect(await runner.runDue()).toBe(1);
    expect(store.get(requestId)!.attention).toBeUndefined();
  });

  it("retries a Temporary Processing Failure, and gives up after its tries, saying so", async () => {
    answer = () => ({ status: 200, body: problem("Temporary Processing Failure") });
    for (let i = 0; i < 3; i++) {
      await runner.runDue();
      clock += 10 * 60_000;
    }
    expect(bodies).toHaveLength(3);
    expect(store.get(requestId)!.attention).toMatch(
      /^ILS \(NCIP\): AcceptItem gave up after 3 tries: .*Temporary Processing Failure.*lrs-member ncip retry/,
    );
    expect(ncipNotes()).toHaveLength(3);
    expect(queue.unfinished()[0]).toMatchObject({ state: "failed", attempts: 3 });
  });
});
