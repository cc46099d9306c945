// `lrs-member ill copyright` and the fee options of `ill request`, in-process: the CLI over an
// in-memory transport to CopyrightService on a counter with known counts.
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { copyrightPb, type Database, illPb, Outbox } from "@lrs/shared";
import { memoryDatabase } from "@lrs/shared/testing";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { CopyrightCounter } from "../fees/copyright.js";
import { IllStore } from "../ill/store.js";
import { copyrightService } from "../services/copyright.js";
import { memberMigrations } from "../store/migrations.js";
import { addCopyrightCommand, type CopyrightJson } from "./copyright.js";
import { borrowRequest } from "./ill/arguments.js";

const NOW = new Date("2026-03-10T09:00:00Z");
let db: Database;
let counter: CopyrightCounter;

beforeEach(() => {
  db = memoryDatabase(memberMigrations);
  counter = new CopyrightCounter({
    db,
    rule: { compliance: "US:CCG", maxPerTitle: 5, recentYears: 5, overLimit: "review", keepYears: 3 },
  });
  let n = 0;
  const store = new IllStore({
    db,
    outbox: new Outbox(db),
    agencyId: "north-a",
    now: () => NOW,
    newId: () => `r${++n}`,
    copyrightCheck: counter.check,
    onTransition: [counter.onTransition],
  });
  for (let i = 0; i < 3; i++) {
    const r = store.createBorrowing({
      patronId: `p${i}`,
      serviceType: illPb.ServiceType.COPY,
      bibliographicInfo: {
        title: "Nature",
        bibliographicItemId: [
          { bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: "0028-0836" },
        ],
      },
    });
    if (i < 2) store.applyAction(r.id, "send", { rota: [{ agencyId: "south-a", reason: "test" }] });
  }
});
afterEach(() => db.close());

async function run(...args: string[]): Promise<{ out: string; error: unknown }> {
  const transport = createRouterTransport((router) =>
    router.service(
      copyrightPb.CopyrightService,
      copyrightService(counter, () => NOW),
    ),
  );
  const client = createClient(copyrightPb.CopyrightService, transport);
  let out = "";
  const program = new Command("lrs-member")
    .exitOverride()
    .configureOutput({ writeOut: (s) => (out += s), writeErr: () => {} });
  program.command("ill");
  addCopyrightCommand(program, { connect: () => ({ client, close: () => {} }) });
  const write = vi.spyOn(process.stdout, "write").mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(["ill", "copyright", "--config", "member.toml", ...args], { from: "user" });
    return { out, error: undefined };
  } catch (error) {
    return { out, error };
  } finally {
    write.mockRestore();
  }
}

describe("lrs-member ill copyright", () => {
  it("lists the counts per journal and year with the limit, as JSON", async () => {
    const r = await run("--year", "2026", "--json");
    expect(r.error).toBeUndefined();
    const j = JSON.parse(r.out) as CopyrightJson;
    expect(j).toMatchObject({
      compliance: "US:CCG",
      limit: 5,
      recentYears: 5,
      overLimit: "review",
      fee: null,
      keepYears: 3,
    });
    expect(j.rule).toMatch(/at most 5 articles a year/);
    expect(j.counts).toEqual([
      {
        journalKey: "0028-0836",
        issn: "0028-0836",
        title: "Nature",
        year: 2026,
        count: 2,
        pending: 1,
        limit: 5,
        overLimit: 0,
        left: 2,
      },
    ]);
  });

  it("prints a table for people, and says when a year has none", async () => {
    const r = await run();
    expect(r.out).toMatch(/^copyright rule: at most 5 articles/);
    expect(r.out).toMatch(/YEAR\s+ISSN\s+TITLE\s+COUNTED\s+PENDING\s+LIMIT\s+LEFT\s+OVER/);
    expect(r.out).toMatch(/2026\s+0028-0836\s+Nature\s+2\s+1\s+5\s+2\s+0/);
    expect((await run("--year", "2025")).out).toMatch(/no copies counted in 2025/);
  });

  it("refuses a year that is not one", async () => {
    expect(String((await run("--year", "26")).error)).toMatch(/--year: "26" is not a year/);
  });
});

describe("lrs-member ill request: maximum cost, rush, copyright terms", () => {
  const base = { cluster: "north-rc:c1", type: "loan" };
  it("sends the maximum cost as ISO Costs and Rush as the service level", () => {
    const req = borrowRequest({ ...base, maxCost: "10 EUR", rush: true }, NOW);
    expect(req.maximumCosts).toMatchObject({ currencyCode: "EUR", monetaryValue: "10.00" });
    expect(req.serviceLevel).toBe("Rush");
    expect(borrowRequest(base, NOW).maximumCosts).toBeUndefined();
  });

  it("takes a publication date and a compliance statement with a copy only", () => {
    const copy = borrowRequest({ ...base, type: "copy", published: "2024-05", compliance: "UK:CLA" }, NOW);
    expect([copy.publicationDate, copy.copyrightCompliance]).toEqual(["2024-05", "UK:CLA"]);
    expect(() => borrowRequest({ ...base, published: "2024" }, NOW)).toThrow(/--published goes with a copy/);
    expect(() => borrowRequest({ ...base, type: "copy", published: "May" }, NOW)).toThrow(
      /not a year or a date/,
    );
  });

  it("refuses a maximum cost that is not an amount with its currency", () => {
    expect(() => borrowRequest({ ...base, maxCost: "10" }, NOW)).toThrow(
      /^--max-cost: "10" is not an amount with its currency/,
    );
    expect(() => borrowRequest({ ...base, maxCost: "10.001 EUR" }, NOW)).toThrow(/more decimals than EUR/);
  });
});
