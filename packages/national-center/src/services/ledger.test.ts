// LedgerService at the national center through an in-memory router: who may post and read what,
// how refusals read on the wire, and the settlement as the CLI prints it.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, createRouterTransport } from "@connectrpc/connect";
import { createLogger, Database, ledgerPb, peerKey, sharedMigrations, Tier } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import type { NationalContext } from "../context.js";
import { settlementText } from "../ledger-cli.js";
import { LedgerStore } from "../store/ledger-store.js";
import { nationalMigrations } from "../store/migrations.js";
import { ledgerService } from "./ledger.js";

const ENROLLED: Record<string, { tier: Tier; region: string }> = {
  nat: { tier: Tier.NATIONAL, region: "" },
  "north-rc": { tier: Tier.REGIONAL, region: "north" },
  "north-a": { tier: Tier.MEMBER, region: "north" },
  "north-b": { tier: Tier.MEMBER, region: "north" },
  "south-a": { tier: Tier.MEMBER, region: "south" },
};

function setup() {
  const db = Database.open(":memory:", [...sharedMigrations, ...nationalMigrations]);
  const ledger = new LedgerStore(db);
  const ctx = {
    cfg: { id: "nat" },
    log: createLogger("test"),
    ledger,
    directory: { enrollment: (id: string) => ENROLLED[id] },
  } as unknown as NationalContext;
  const as = (id: string) => {
    const e = ENROLLED[id]!;
    const transport = createRouterTransport(
      (router) => router.service(ledgerPb.LedgerService, ledgerService(ctx)),
      {
        router: {
          interceptors: [
            (next) => (req) => {
              req.contextValues.set(peerKey, {
                presented: true,
                authorized: true,
                identity: { id, tier: e.tier, region: e.region },
              });
              return next(req);
            },
          ],
        },
      },
    );
    return createClient(ledgerPb.LedgerService, transport);
  };
  return { ledger, as };
}

function posting(entryId: string, payer: string, payee: string, amount: bigint, at = "2026-10-05T10:00:00Z") {
  return create(ledgerPb.LedgerPostingSchema, {
    entryId,
    transactionId: entryId,
    kind: "loan",
    payerId: payer,
    payeeId: payee,
    currency: "EUR",
    amountMinor: amount,
    postedAt: timestampFromDate(new Date(at)),
    period: at.slice(0, 7),
  });
}

async function refusal(p: Promise<unknown>): Promise<ConnectError> {
  try {
    await p;
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("expected a refusal");
}

describe("LedgerService (national)", () => {
  it("takes a regional center's postings for its own members, once", async () => {
    const { as } = setup();
    const rc = as("north-rc");
    const ps = [posting("e1", "north-a", "south-a", 850n), posting("e2", "north-b", "nat", 100n)];
    expect(await rc.postEntries({ postings: ps })).toMatchObject({ accepted: 2, duplicates: 0 });
    expect(await rc.postEntries({ postings: ps })).toMatchObject({ accepted: 0, duplicates: 2 });
  });

  it("refuses postings for another region's member, to unknown payees, malformed, or conflicting", async () => {
    const { as } = setup();
    const rc = as("north-rc");
    const other = await refusal(rc.postEntries({ postings: [posting("e1", "south-a", "north-a", 5n)] }));
    expect(other.code).toBe(Code.PermissionDenied);
    expect(other.rawMessage).toBe(
      'posting 1 (entry "e1"): payer south-a is not a member of region north; north-rc may post for its own members only',
    );
    const unknown = await refusal(rc.postEntries({ postings: [posting("e1", "north-a", "nowhere", 5n)] }));
    expect(unknown.code).toBe(Code.InvalidArgument);
    expect(unknown.rawMessage).toMatch(/payee nowhere is not an institution of the federation/);
    const bad = await refusal(
      rc.postEntries({ postings: [{ ...posting("e1", "north-a", "south-a", 5n), currency: "EURO" }] }),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    await rc.postEntries({ postings: [posting("e1", "north-a", "south-a", 5n)] });
    const conflict = await refusal(rc.postEntries({ postings: [posting("e1", "north-a", "south-a", 6n)] }));
    expect(conflict.code).toBe(Code.AlreadyExists);
    expect(conflict.rawMessage).toMatch(/amount_minor differs/);
  });

  it("gives a regional center its members' statements only; the node itself any", async () => {
    const { as } = setup();
    await as("north-rc").postEntries({ postings: [posting("e1", "north-a", "south-a", 850n)] });
    const mine = await as("north-rc").getStatement({ institutionId: "north-a", period: "2026-10" });
    expect(mine).toMatchObject({
      settled: false,
      currencies: ["EUR"],
      statement: { netMinor: -850n, region: "north" },
    });
    const refused = await refusal(
      as("north-rc").getStatement({ institutionId: "south-a", period: "2026-10" }),
    );
    expect(refused.code).toBe(Code.PermissionDenied);
    expect(refused.rawMessage).toBe(
      "north-rc may read the statements of members of region north only, not of south-a",
    );
    expect(
      (await as("nat").getStatement({ institutionId: "south-a", period: "2026-10" })).statement?.netMinor,
    ).toBe(850n);
    const empty = await as("nat").getStatement({ institutionId: "north-b", period: "2026-10" });
    expect(empty.statement).toMatchObject({ institutionId: "north-b", region: "north", lines: [] });
    expect((await refusal(as("nat").getStatement({ period: "2026-13" }))).code).toBe(Code.InvalidArgument);
    expect(
      (await refusal(as("nat").getStatement({ period: "2026-10", currency: "eur" }))).rawMessage,
    ).toMatch(/not an ISO 4217 code/);
  });

  it("settles once and says so the second time; a dry run stores nothing; an open period needs permission", async () => {
    const { as, ledger } = setup();
    await as("north-rc").postEntries({
      postings: [posting("e1", "north-a", "south-a", 850n), posting("e2", "north-b", "north-a", 120n)],
    });
    const nat = as("nat");
    const dry = await nat.settle({ period: "2026-10", dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, alreadySettled: false, entries: 2n });
    expect(dry.settledAt).toBeUndefined();
    expect(ledger.isSettled("2026-10")).toBe(false);
    const first = await nat.settle({ period: "2026-10" });
    expect(first).toMatchObject({ dryRun: false, alreadySettled: false, digest: dry.digest });
    const second = await nat.settle({ period: "2026-10" });
    expect(second).toMatchObject({ alreadySettled: true, digest: first.digest, settledAt: first.settledAt });
    const current = new Date().toISOString().slice(0, 7);
    const open = await refusal(nat.settle({ period: current }));
    expect(open.code).toBe(Code.FailedPrecondition);
    expect(open.rawMessage).toMatch(/has not ended/);

    const text = settlementText(first);
    expect(text).toMatch(/^2026-10: settled at \S+: 2 entries, 3 statements; digest [0-9a-f]{64}\n/);
    expect(text).toContain(
      [
        "north-a (region north), 2026-10, EUR: settled",
        "  COUNTERPARTY  REGION  PAYABLE  RECEIVABLE    NET  ENTRIES",
        "  north-b       north      0.00        1.20   1.20        1",
        "  south-a       south      8.50        0.00  -8.50        1",
        "  total                    8.50        1.20  -7.30        2",
      ].join("\n"),
    );
    expect(text).toContain(
      ["REGION  CURRENCY    NET", "north   EUR       -8.50", "south   EUR        8.50"].join("\n"),
    );
  });

  it("lists what was carried in and what is held", async () => {
    const { as } = setup();
    const rc = as("north-rc");
    await rc.postEntries({ postings: [posting("e1", "north-a", "south-a", 850n)] });
    await as("nat").settle({ period: "2026-10" });
    await rc.postEntries({
      postings: [
        posting("late", "north-a", "south-a", 5n, "2026-10-30T00:00:00Z"),
        {
          ...posting("r9", "north-a", "south-a", 7n, "2026-11-02T00:00:00Z"),
          kind: "reversal",
          reversesEntryId: "e9",
        },
      ],
    });
    const nov = await as("nat").settle({ period: "2026-11", dryRun: true });
    expect(nov.carriedIn.map((p) => p.entryId)).toEqual(["late"]);
    expect(nov.held.map((h) => [h.posting?.entryId, h.reason])).toEqual([
      ["r9", 'waiting for entry "e9", which it reverses'],
    ]);
    expect(settlementText(nov)).toMatch(
      /carried in from periods settled before they arrived: 1\n {2}late \(2026-10\) loan north-a → south-a 0\.05 EUR\n/,
    );
    expect(settlementText(nov)).toMatch(
      /held, in no statement: 1\n {2}r9 \(2026-11\): waiting for entry "e9"/,
    );
  });
});
