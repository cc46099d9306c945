import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { Database, type HarvestConfig, sharedMigrations } from "@lrs/shared";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemberCatalog } from "../store/catalog.js";
import { HarvestBusyError, HarvestLock } from "../store/harvest-lock.js";
import { HarvestState } from "../store/harvest-state.js";
import { memberMigrations } from "../store/migrations.js";
import { HarvestError, harvestCatalog, harvestSource } from "./harvest.js";

const fixture = (name: string) => readFileSync(new URL(`./fixtures/oai/${name}`, import.meta.url), "utf8");
const KOHA_TOKEN = "marc21/2/1970-01-01T00:00:00Z/2026-11-30T09:15:02Z//0/0";

/** A mock ILS: `answer` decides each response from the request's arguments; every request is logged. */
let answer: (args: URLSearchParams) => { status?: number; body: string };
let requests: URLSearchParams[];
let server: http.Server;
let url: string;
let db: Database;
let catalog: MemberCatalog;

beforeEach(async () => {
  requests = [];
  server = http.createServer((req, res) => {
    const args = new URL(req.url ?? "/", "http://x").searchParams;
    requests.push(args);
    const a = answer(args);
    res.writeHead(a.status ?? 200, {
      "content-type": a.body.startsWith("<!DOCTYPE") ? "text/html" : "text/xml",
    });
    res.end(a.body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cgi-bin/koha/oai.pl`;
  db = Database.open(":memory:", [...sharedMigrations, ...memberMigrations]);
  catalog = new MemberCatalog(db, "north-a");
});

afterEach(async () => {
  db.close();
  await new Promise<void>((r) => server.close(() => r()));
});

const config = (over: Partial<HarvestConfig> = {}): HarvestConfig => ({
  url,
  metadata_prefix: "marc21",
  holdings_map: "koha",
  attempts: 3,
  retry_delay: 10,
  timeout: 5000,
  ...over,
});
const noWait = { sleep: async () => {} };

/** Koha's two pages, then noRecordsMatch for an incremental harvest. */
const koha = (args: URLSearchParams) => {
  if (args.get("resumptionToken") === KOHA_TOKEN) return { body: fixture("koha-page2.xml") };
  if (args.get("resumptionToken")) return { body: fixture("koha-bad-token.xml") };
  if (args.get("from")) return { body: fixture("koha-no-records.xml") };
  return { body: fixture("koha-page1.xml") };
};

describe("harvesting an ILS over OAI-PMH", () => {
  it("harvests Koha's records and 952 items page by page, skipping and naming a record that does not read", async () => {
    answer = koha;
    const s = await harvestCatalog(db, catalog, config(), noWait);
    expect(s).toMatchObject({
      pages: 2,
      added: 3,
      deleted: 0,
      unchanged: 1,
      rejected: 1,
      items: 4,
      resumed: false,
    });
    expect(s.rejections).toEqual([
      {
        identifier: "oai:KOHA-EXAMPLE:104",
        reason: expect.stringMatching(/tag "0001" is not three characters/),
      },
    ]);
    expect(catalog.get("101")!.holdings.map((h) => h.barcode)).toEqual(["39020001001234", "39020001001235"]);
    expect(catalog.get("101")!.record.fields.some((f) => f.tag === "952")).toBe(false);
    expect(s.nextFrom).toBe("2026-11-30T09:15:02Z");
    expect(requests[0]!.get("metadataPrefix")).toBe("marc21");
    expect(requests[1]!.get("resumptionToken")).toBe(KOHA_TOKEN);

    // The next harvest asks from the first response's date; nothing changed at the ILS.
    const again = await harvestCatalog(db, catalog, config(), noWait);
    expect(requests.at(-1)!.get("from")).toBe("2026-11-30T09:15:02Z");
    expect(again).toMatchObject({ pages: 0, added: 0, from: "2026-11-30T09:15:02Z" });
    // Every change went into the change log, as an import's do.
    expect(catalog.headSeq()).toBe(3n);
  });

  it("turns a deleted record into a delete, found by the identifier it was harvested under", async () => {
    answer = koha;
    await harvestCatalog(db, catalog, config(), noWait);
    answer = (args) =>
      args.get("resumptionToken") === KOHA_TOKEN
        ? { body: fixture("koha-page2.xml").replace("oai:KOHA-EXAMPLE:99", "oai:KOHA-EXAMPLE:101") }
        : { body: fixture("koha-page1.xml") };
    const s = await harvestCatalog(db, catalog, config(), { ...noWait, full: true });
    expect(s.deleted).toBe(1);
    expect(catalog.get("101")).toBeUndefined();
  });

  it("retries an ILS that is down, and resumes a failed harvest where it stopped without doubling", async () => {
    let down = true;
    answer = (args) => (args.get("resumptionToken") && down ? { status: 503, body: "busy" } : koha(args));
    const retries: number[] = [];
    await expect(
      harvestCatalog(db, catalog, config(), { ...noWait, onRetry: (_e, attempt) => retries.push(attempt) }),
    ).rejects.toThrow(/answered HTTP 503; gave up after 3 tries/);
    expect(retries).toEqual([1, 2]);
    // Page 1 is in, with the token of page 2.
    expect(catalog.count()).toBe(2);
    expect(new HarvestState(db).get(harvestSource(config())).run?.token).toBe(KOHA_TOKEN);
    down = false;
    const s = await harvestCatalog(db, catalog, config(), noWait);
    expect(s).toMatchObject({ resumed: true, pages: 1, added: 1, rejected: 1 });
    expect(requests.at(-1)!.get("resumptionToken")).toBe(KOHA_TOKEN);
    expect(catalog.count()).toBe(3);
    expect(s.nextFrom).toBe("2026-11-30T09:15:02Z");
  });

  it("asks for the list again when the ILS refuses the token it saved (badResumptionToken)", async () => {
    answer = (args) => (args.get("resumptionToken") ? { status: 500, body: "" } : koha(args));
    await expect(harvestCatalog(db, catalog, config({ attempts: 1 }), noWait)).rejects.toThrow(HarvestError);
    // Meanwhile the ILS restarted and forgot its tokens.
    answer = (args) =>
      args.get("resumptionToken") === KOHA_TOKEN &&
      requests.filter((r) => r.get("resumptionToken")).length < 3
        ? { body: fixture("koha-bad-token.xml") }
        : koha(args);
    const s = await harvestCatalog(db, catalog, config(), noWait);
    expect(s).toMatchObject({ resumed: true, restarted: true, added: 1, unchanged: 3 });
    expect(catalog.count()).toBe(3);
  });

  it("harvests Evergreen's marc: prefixed records with 852 holdings", async () => {
    answer = () => ({ body: fixture("evergreen-page1.xml") });
    const s = await harvestCatalog(db, catalog, config({ holdings_map: "852", set: "BR1" }), noWait);
    expect(s).toMatchObject({ pages: 1, added: 2, items: 3, rejected: 0 });
    expect(requests[0]!.get("set")).toBe("BR1");
    expect(catalog.get("2202")!.record.fields.find((f) => f.tag === "245")).toMatchObject({
      subfields: [{ value: "Bibliothèque et société :" }, { value: "mélanges." }],
    });
  });

  it("says what is wrong with an ILS that answers HTML, a cut-off document or nothing at all", async () => {
    answer = () => ({ body: fixture("not-oai.html") });
    await expect(harvestCatalog(db, catalog, config(), noWait)).rejects.toThrow(/HTML page, not OAI-PMH XML/);
    answer = () => ({ body: fixture("truncated.xml") });
    await expect(harvestCatalog(db, catalog, config(), noWait)).rejects.toThrow(
      /not well-formed OAI-PMH XML/,
    );
    answer = () => ({ body: "" });
    await expect(harvestCatalog(db, catalog, config(), noWait)).rejects.toThrow(/empty or not XML/);
    const closed = http.createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    await expect(
      harvestCatalog(db, catalog, config({ url: `http://127.0.0.1:${port}/oai` }), noWait),
    ).rejects.toThrow(/cannot be reached: ECONNREFUSED; gave up after 3 tries/);
    expect(catalog.count()).toBe(0);
  });

  it("runs one harvest at a time: a second one (the schedule, or lrs-member harvest) is refused, naming the first", async () => {
    answer = koha;
    const [a, b] = await Promise.allSettled([
      harvestCatalog(db, catalog, config(), { ...noWait, by: "scheduled" }),
      harvestCatalog(db, catalog, config(), noWait),
    ]);
    expect(a.status).toBe("fulfilled");
    expect(b.status).toBe("rejected");
    const err = (b as PromiseRejectedResult).reason as HarvestBusyError;
    expect(err).toBeInstanceOf(HarvestBusyError);
    expect(err.message).toMatch(/another harvest is running \(scheduled, pid \d+ on .+, since /);
    // Released when it finished: the next one runs (incrementally).
    expect(HarvestLock.holder(db)).toBeUndefined();
    const again = await harvestCatalog(db, catalog, config(), noWait);
    expect(again.from).toBeDefined();
  });

  it("takes over a lock left by a harvest whose process died", async () => {
    answer = koha;
    db.sqlite.prepare("INSERT INTO node_meta (key, value) VALUES ('harvest_lock', ?)").run(
      JSON.stringify({
        by: "lrs-member harvest",
        pid: 2 ** 22 + 7,
        host: (await import("node:os")).hostname(),
        since: "2026-01-01T00:00:00Z",
        renewedAt: "2026-01-01T00:00:00Z",
      }),
    );
    const s = await harvestCatalog(db, catalog, config(), noWait);
    expect(s.added).toBeGreaterThan(0);
    expect(HarvestLock.holder(db)).toBeUndefined();
  });
});
