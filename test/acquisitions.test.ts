// Acquisitions coordinated before buying, across real processes: an order placed at one member is
// on order at the national center and changes `acquire check`'s advice at another member; ILL
// demand counted at the regional center feeds the advice and reaches the national center's report;
// a retention commitment moves a holder to the back of its part of the rota.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type { Federation } from "@lrs/dev-env";
import { illPb, illServicePb, searchPb } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BORROWER, eventually, nodeCli, startFederation, testFederation } from "./harness.js";
import { BOTH_REGIONS_ISBNS, borrow, importCatalog, isbn, LENDER, NLM } from "./ill-harness.js";

const { Scope } = searchPb;
const run = promisify(execFile);
/** Introduction to algorithms: in none of the test catalogs. */
const NEW_TITLE = "9780262033848";

const SPEC = testFederation({
  north: [
    { id: "north-a", name: "North Library A", extraConfig: BORROWER },
    { id: "north-b", name: "North Library B", extraConfig: LENDER("3s") },
    { id: "north-c", name: "North Library C", extraConfig: LENDER("3s") },
  ],
  south: [{ id: "south-a", name: "South Library A", extraConfig: LENDER("3s") }],
});

let fed: Federation;
let destroy: (() => Promise<void>) | undefined;

async function cliJson<T>(member: string, args: string[]): Promise<T> {
  return JSON.parse(await nodeCli(fed, member, [...args, "--json"])) as T;
}

interface Check {
  verdict: string;
  summary: string;
  illRequests?: string;
  ownIllRequests?: string;
  holders?: Array<{ institutionId: string; copies?: number; onOrder?: number }>;
}

const check = (member: string, isbn13: string) => cliJson<Check>(member, ["acquire", "check", isbn13]);

/** The rota north-rc builds for north-a's loan of an ISBN (asked as north-a, as its node does). */
async function rotaFor(value: string) {
  return fed.withClient(
    "north-rc",
    illServicePb.IllService,
    (c) => c.buildRota({ itemIds: isbn(value), serviceType: illPb.ServiceType.LOAN }, { timeoutMs: 20_000 }),
    "north-a",
  );
}

beforeAll(async () => {
  ({ fed, destroy } = await startFederation(SPEC));
  await Promise.all(["north-b", "north-c", "south-a"].map((id) => importCatalog(fed, id, NLM)));
  await fed.waitSynced(120_000);
}, 600_000);
afterAll(async () => {
  await destroy?.();
});

describe("acquisitions across the federation", () => {
  it("counts ILL demand for a title nobody holds, and an order elsewhere turns 'buy' into 'borrow'", async () => {
    const before = await check("north-b", NEW_TITLE);
    expect(before.verdict).toBe("consider");

    // Two readers of north-a ask for it through ILL: no library holds it, the rota finds nobody.
    for (const patron of ["p1", "p2"]) await borrow(fed, "north-a", NEW_TITLE, "", patron);
    const wanted = await eventually(
      () => check("north-b", NEW_TITLE),
      (c) => c.illRequests === "2",
      30_000,
    );
    expect(wanted.verdict).toBe("buy");
    // Counting began when the centers were set up (today): the advice says so rather than "last year".
    const today = new Date().toISOString().slice(0, 10);
    expect(wanted.summary).toBe(
      `no copy in the nation, 2 ILL requests since ${today} (when counting began): buy`,
    );
    const byOwnReaders = await check("north-a", NEW_TITLE);
    expect(byOwnReaders.ownIllRequests).toBe("2");

    // South A orders two copies.
    const placed = await cliJson<{ id: string; recordId: string; state: string }>("south-a", [
      "order",
      "add",
      "--isbn",
      NEW_TITLE,
      "--copies",
      "2",
      "--expected",
      "2027-03-01",
      "--fund",
      "SCI",
    ]);
    expect(placed.state).toBe("open");

    // The national center's union catalog shows it on order at south-a, not as a copy.
    const nationalHit = await eventually(
      () =>
        fed.withClient("nat", searchPb.SearchService, async (c) => {
          let last: searchPb.SearchResponse | undefined;
          for await (const m of c.search(
            { query: `bath.isbn=${NEW_TITLE}`, scope: Scope.NATIONAL },
            { timeoutMs: 8000 },
          ))
            last = m;
          return last?.hits[0];
        }),
      (h) => h !== undefined,
      60_000,
    );
    expect(nationalHit!.holdings).toEqual([
      expect.objectContaining({ institutionId: "south-a", items: 0, onOrder: 2, expectedDate: "2027-03-01" }),
    ]);

    // Another member's advice changes: a copy is coming in the nation.
    const after = await eventually(
      () => check("north-b", NEW_TITLE),
      (c) => c.verdict !== "buy",
      60_000,
    );
    expect(after.verdict).toBe("borrow");
    expect(after.summary).toBe(
      `0 copies in the region, 0 copies in other regions (2 on order), 2 ILL requests since ${today} (when counting began): borrow, don't buy`,
    );

    // An order is never asked to lend.
    const rota = await rotaFor(NEW_TITLE);
    expect(rota.rota).toEqual([]);
    expect(rota.excluded).toEqual([
      expect.objectContaining({ agencyId: "south-a", reason: expect.stringContaining("on order only") }),
    ]);
  }, 240_000);

  it("asks a library whose last copies are retained for the region after the other holders", async () => {
    const title = BOTH_REGIONS_ISBNS[0]!;
    const first = await rotaFor(title);
    const own = (r: illServicePb.BuildRotaResponse) =>
      r.rota.filter((c) => c.region === "north").map((c) => c.agencyId);
    expect(own(first)).toEqual(["north-b", "north-c"]);

    // North B commits to keep both its copies for the region.
    const items = await fed.withClient("north-b", searchPb.SearchService, async (c) => {
      const res = await c.checkAvailability({
        records: [{ institutionId: "north-b", recordId: first.rota[0]!.recordId }],
      });
      return res.institutions[0]!.items.map((i) => i.barcode);
    });
    expect(items).toHaveLength(2);
    await cliJson("north-b", ["retain", ...items, "--until", "2040"]);

    const second = await eventually(
      () => rotaFor(title),
      (r) => own(r)[0] === "north-c",
      60_000,
    );
    expect(own(second)).toEqual(["north-c", "north-b"]);
    expect(second.rota.find((c) => c.agencyId === "north-b")!.reason).toContain(
      "last copies retained for the region until 2040",
    );
  }, 240_000);

  it("the national center reports the federation's ILL demand, also while a region is down", async () => {
    const report = async () => {
      const node = fed.node("nat");
      const { stdout, stderr } = await run(process.execPath, [
        fed.program(node),
        "report",
        "demand",
        "--config",
        node.config,
      ]);
      return { rows: stdout.trim().split(/\r?\n/), notes: stderr };
    };
    // North's requests reached the national center through north-rc's outbox.
    const first = await eventually(
      report,
      (r) => r.rows.some((l) => l.includes("isbn:9780262033848")),
      60_000,
    );
    expect(first.rows[0]).toBe("title,keys,requests,requesters,last_requested");
    // South A ordered it, but an order is not a copy: the title is still nobody's. Three requests
    // by north-a: its two readers' and the rota asked for in the first test (a BuildRota without a
    // request id counts as one call).
    expect(first.rows.find((l) => l.includes("isbn:9780262033848"))).toMatch(/,3,1,/);
    expect(first.notes).toMatch(/north \(north-rc\): counted since \d{4}-\d\d-\d\d, last heard from /);
    expect(first.notes).toMatch(/south \(south-rc\): counted since /);
    expect(first.notes).not.toContain("never sent");

    // North's center goes down: the national report is the same, from the national center's own copy.
    await fed.stop("north-rc");
    const down = await report();
    expect(down.rows).toEqual(first.rows);
  }, 240_000);
});
