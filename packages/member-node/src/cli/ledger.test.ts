// `lrs-member ledger` against an in-memory LedgerService standing in for the regional center.
import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { ledgerPb } from "@lrs/shared";
import { Command } from "commander";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { addLedgerCommand } from "./ledger.js";

function statement(currency: string, net: bigint): ledgerPb.Statement {
  return create(ledgerPb.StatementSchema, {
    institutionId: "north-a",
    region: "north",
    period: "2026-10",
    currency,
    lines: [
      create(ledgerPb.StatementLineSchema, {
        counterpartyId: "south-a",
        counterpartyRegion: "south",
        payableMinor: -net,
        netMinor: net,
        entries: 2,
      }),
    ],
    totalPayableMinor: -net,
    netMinor: net,
  });
}

const asked: ledgerPb.GetStatementRequest[] = [];
let out = "";

function program(): Command {
  const transport = createRouterTransport((router) =>
    router.service(ledgerPb.LedgerService, {
      getStatement(req) {
        asked.push(req);
        const currency = req.currency || "EUR";
        return {
          statement: statement(currency, currency === "EUR" ? -850n : -1200n),
          settled: true,
          currencies: ["EUR", "JPY"],
        };
      },
    }),
  );
  const p = new Command().exitOverride();
  addLedgerCommand(p, {
    connect: () => ({ client: createClient(ledgerPb.LedgerService, transport), close: () => {} }),
  });
  return p;
}

const run = (...args: string[]) =>
  program().parseAsync(["node", "lrs-member", "ledger", "-c", "m.toml", ...args]);

beforeEach(() => {
  asked.length = 0;
  out = "";
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    out += String(s);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

describe("lrs-member ledger", () => {
  it("prints the statement in every currency the library has", async () => {
    await run("--period", "2026-10");
    expect(asked.map((r) => [r.institutionId, r.period, r.currency])).toEqual([
      ["", "2026-10", ""],
      ["", "2026-10", "JPY"],
    ]);
    expect(out).toContain("north-a (region north), 2026-10, EUR: settled\n");
    expect(out).toMatch(/ {2}south-a +south +8\.50 +0\.00 +-8\.50 +2\n/);
    expect(out).toContain("north-a (region north), 2026-10, JPY: settled\n");
    expect(out).toMatch(/ {2}south-a +south +1200 +0 +-1200 +2\n/);
  });

  it("as JSON, one currency when asked", async () => {
    await run("--period", "2026-10", "--currency", "jpy", "--json");
    expect(asked.map((r) => r.currency)).toEqual(["JPY"]);
    const json = JSON.parse(out) as {
      settled: boolean;
      statements: Array<{ currency: string; netMinor: string }>;
    };
    expect(json.settled).toBe(true);
    expect(json.statements.map((s) => [s.currency, s.netMinor])).toEqual([["JPY", "-1200"]]);
  });

  it("refuses a malformed period or currency before asking anyone", async () => {
    await expect(run("--period", "10/2026")).rejects.toThrow(/--period "10\/2026" is not a period/);
    await expect(run("--period", "2026-10", "--currency", "EURO")).rejects.toThrow(/not an ISO 4217 code/);
    expect(asked).toEqual([]);
  });
});
