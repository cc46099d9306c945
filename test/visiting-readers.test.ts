// Reciprocal borrowing through real processes: a reader of north-a (home) borrows in person at
// south-a (another region) with a credential checked online (through north-rc, the national
// center and south-rc to north-a) and offline (against the keys the directory publishes); north-a
// sees the loan and is charged south-a's fee; a block at north-a stops the next loan, online at
// once and offline once the directory carries the block list; the book is returned at north-b (a
// third library) and goes back to south-a as a shipment whose state all three see.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, type FederationSpec, REPO_ROOT } from "@lrs/dev-env";
import { recordIdOf } from "@lrs/member-node";
import { formatOfLeader, readMarcFile } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startFederation } from "./harness.js";

const SERVES_ALL = "[lending_policy.visiting]\nserves_visitors = true\nfederation = true\n";
const SPEC: FederationSpec = {
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [
        { id: "north-a", name: "North Library A", extraConfig: SERVES_ALL },
        { id: "north-b", name: "North Library B", extraConfig: SERVES_ALL },
      ],
    },
    {
      region: "south",
      id: "south-rc",
      name: "South Test Center",
      members: [
        {
          id: "south-a",
          name: "South Library A",
          extraConfig: `[lending_policy.visiting]\nserves_visitors = true\nfederation = true\nmaterial_types = ["book"]\nmax_loans = 3\nloan_period_days = 14\nfee_per_loan = "1.50 EUR"\n`,
        },
      ],
    },
  ],
};
const LOC = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/loc_general.xml");
const NLM = join(REPO_ROOT, "data/marc/lc-marc2bibframe2/nlm.xml");

/** Barcodes of books on the shelf that circulate at a member (from its import's items file), from the `skip`th. */
async function books(member: string, files: string[], skip: number): Promise<string[]> {
  const ids = new Set<string>();
  for (const file of files)
    for await (const r of readMarcFile(file)) {
      if (!r.ok) continue;
      if (formatOfLeader(r.record.leader[6] ?? "", r.record.leader[7] ?? "") === "book")
        ids.add(recordIdOf(r.record));
    }
  return readFileSync(join(fed.dir, "items", `${member}.csv`), "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .filter((c) => ids.has(c[0]!) && c[4] === "available" && c[5] === "standard")
    .map((c) => c[1]!)
    .slice(skip);
}

let fed: Federation;
let destroy: () => Promise<void>;
let lendable: string[] = [];

// Starting five nodes and importing a catalog: more than the usual 240 s on a busy machine.
beforeAll(async () => {
  // Every node writes and reports its traffic figures each second (the default is a minute).
  ({ fed, destroy } = await startFederation(SPEC, {
    env: {
      MEMBER_TRAFFIC_FLUSH_INTERVAL: "1s",
      REGIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
      NATIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
    },
  }));
  await fed.importCatalog("south-a", [LOC]);
  // Items on the shelf that circulate, from the items file the import read.
  lendable = readFileSync(join(fed.dir, "items", "south-a.csv"), "utf8")
    .split("\n")
    .slice(1)
    .map((l) => l.split(","))
    .filter((c) => c[4] === "available" && c[5] === "standard")
    .map((c) => c[1]!);
}, 420_000);
afterAll(async () => {
  await destroy?.();
});

/** Runs `lrs-member visit …` at a member with --json and parses what it prints. */
async function visit<T = Record<string, unknown>>(member: string, args: string[]): Promise<T> {
  const n = fed.node(member);
  return JSON.parse(await fed.cli(n, ["visit", ...args, "--config", n.config, "--json"])) as T;
}

/** The same command expected to fail (non-zero exit); returns its error text. */
async function visitFails(member: string, args: string[]): Promise<string> {
  try {
    await visit(member, args);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error(`visit ${args.join(" ")} at ${member} succeeded`);
}

interface Loan {
  loanId: string;
  state: string;
  ownerAgencyId: string;
  homeAgencyId?: string;
  returnedAtAgencyId?: string;
  shipmentId?: string;
  itemBarcode?: string;
}
interface Listing {
  lent?: Loan[];
  borrowed?: Loan[];
  shipments?: Loan[];
  counts?: Array<{ institutionId: string; lentTo?: string; visits?: string }>;
}
interface Check {
  mayBorrow: boolean;
  online: boolean;
  signatureValid: boolean;
  standing: string;
  reasons: string[];
}

const find = (loans: Loan[] | undefined, id: string) => loans?.find((l) => l.loanId === id);

describe("visiting readers", () => {
  let token = "";
  let code = "";
  let loanId = "";

  it("the home library issues a credential: a signed token, a short code and a QR code", async () => {
    const svg = join(fed.dir, "card.svg");
    const c = await visit<{
      token: string;
      shortCode: string;
      readerId: string;
      body: { homeAgencyId: string };
    }>("north-a", ["issue", "--reader", "P-0001", "--max-loans", "4", "--qr", "svg", "--out", svg]);
    token = c.token;
    code = c.shortCode;
    expect(token).toMatch(/^LRSV1\./);
    expect(code).toMatch(/^NORTH-A-[0-9A-Z]{5}-[0-9A-Z]{5}$/);
    // The pseudonym, never the library's own reference for the reader.
    expect(c.readerId).toMatch(/^r-/);
    expect(JSON.stringify(c)).not.toContain("P-0001");
    expect(existsSync(svg) && readFileSync(svg, "utf8")).toMatch(/<svg/);
  });

  it("south-a checks it offline against the key the directory publishes, and online with the home library", async () => {
    // The key reaches south-a's directory replica through north-rc, the national center and south-rc.
    const offline = await eventually(
      () => visit<Check>("south-a", ["check", token, "--offline"]),
      (c) => c.mayBorrow,
      60_000,
    );
    expect(offline).toMatchObject({ online: false, signatureValid: true });
    const online = await visit<Check>("south-a", ["check", code]);
    expect(online).toMatchObject({
      mayBorrow: true,
      online: true,
      signatureValid: true,
      standing: "VISIT_STANDING_GOOD",
    });
    // A tampered token is refused with the reason.
    const parts = token.split(".");
    const body = Buffer.from(parts[1]!, "base64url");
    body[body.length - 20] = body[body.length - 20]! ^ 1;
    const bad = await visitFails("south-a", [
      "check",
      `${parts[0]}.${body.toString("base64url")}.${parts[2]}`,
      "--offline",
    ]);
    expect(bad).toMatch(/signature|credential/);
  });

  it("south-a lends to the visitor (online), and north-a sees the loan and the fee", async () => {
    let lent: { loan: Loan } | undefined;
    for (const barcode of lendable.slice(0, 20)) {
      try {
        lent = await visit<{ loan: Loan }>("south-a", ["lend", "--credential", token, "--item", barcode]);
        break;
      } catch (err) {
        // Not a book (the policy lends visitors books only): try the next item.
        if (!/not lent|lends visitors/.test((err as Error).message)) throw err;
      }
    }
    expect(lent?.loan.state).toBe("on-loan");
    loanId = lent!.loan.loanId;
    expect(loanId).toMatch(/^south-a:/);
    const home = await eventually(
      () => visit<Listing>("north-a", ["list", "--view", "borrowed"]),
      (l) => find(l.borrowed, loanId) !== undefined,
      60_000,
    );
    expect(find(home.borrowed, loanId)).toMatchObject({ ownerAgencyId: "south-a", state: "on-loan" });
    // The online check now counts it at home.
    const again = await visit<{ loansOut?: number }>("south-a", ["check", code]);
    expect(again.loansOut).toBe(1);
  });

  it("lends on an offline check too", async () => {
    let ok = false;
    for (const barcode of lendable.slice(20, 60)) {
      try {
        await visit("south-a", ["lend", "--credential", token, "--item", barcode, "--offline"]);
        ok = true;
        break;
      } catch (err) {
        if (!/lends visitors/.test((err as Error).message)) throw err;
      }
    }
    expect(ok).toBe(true);
  });

  it("a block at home stops the next loan: online at once, offline once the directory carries it", async () => {
    await visit("north-a", ["block", "--reader", "P-0001", "--reason", "overdue"]);
    const online = await visitFails("south-a", ["lend", "--credential", code, "--item", lendable[70]!]);
    expect(online).toMatch(/blocked at north-a: overdue/);
    const offline = await eventually(
      () => visit<Check>("south-a", ["check", token, "--offline"]).catch((e: Error) => e.message),
      (r) => typeof r === "string" && /block list/.test(r),
      60_000,
    );
    expect(offline).toMatch(/blocked at north-a/);
  });

  it("returned at north-b, the book goes back to south-a as a shipment, its state seen at all three", async () => {
    const ret = await visit<{ loan: Loan }>("north-b", ["return", loanId, "--tracking", "TRK-42"]);
    expect(ret.loan).toMatchObject({ state: "in-transit", ownerAgencyId: "south-a" });
    const shipmentId = ret.loan.shipmentId!;
    const owner = await eventually(
      () => visit<Listing>("south-a", ["list", "--view", "lent"]),
      (l) => find(l.lent, loanId)?.state === "in-transit",
      60_000,
    );
    expect(find(owner.lent, loanId)).toMatchObject({ returnedAtAgencyId: "north-b", shipmentId });
    await eventually(
      () => visit<Listing>("north-a", ["list", "--view", "borrowed"]),
      (l) => find(l.borrowed, loanId)?.state === "in-transit",
      60_000,
    );
    const received = await visit<{ loan: Loan }>("south-a", ["receive", shipmentId]);
    expect(received.loan.state).toBe("received");
    await eventually(
      () => visit<Listing>("north-b", ["list", "--view", "shipments"]),
      (l) => find(l.shipments, loanId)?.state === "received",
      60_000,
    );
    await eventually(
      () => visit<Listing>("north-a", ["list", "--view", "borrowed"]),
      (l) => find(l.borrowed, loanId)?.state === "received",
      60_000,
    );
  });

  it("counts visits and loans per home institution, and north-a's statement owes south-a the fee", async () => {
    const l = await visit<Listing>("south-a", ["list"]);
    const north = l.counts?.find((c) => c.institutionId === "north-a");
    expect(Number(north?.lentTo)).toBe(2);
    expect(Number(north?.visits)).toBeGreaterThanOrEqual(4);
    const n = fed.node("north-a");
    const period = new Date().toISOString().slice(0, 7);
    const statement = await eventually(
      () => fed.cli(n, ["ledger", "--config", n.config, "--period", period, "--json"]),
      (s) => s.includes("south-a"),
      90_000,
    );
    expect(statement).toMatch(/3\.00|"-3\.00"|300/);
  });

  it("reports them upward: the national dashboard shows visits and in-person loans per institution and region", async () => {
    const url = fed.node("nat").dashboard!;
    const summary = await eventually(
      async () =>
        (await (await fetch(`${url}api/summary?window=1h`)).json()) as {
          visits: {
            loans: number;
            institutions: Array<{ id: string; lent: number; borrowed: number; visits: number }>;
            regions: Array<{ id: string; lent: number; borrowed: number }>;
          };
        },
      (x) => x.visits?.loans >= 2,
      90_000,
    );
    const inst = new Map(summary.visits.institutions.map((i) => [i.id, i]));
    expect(inst.get("south-a")).toMatchObject({ lent: 2 });
    expect(inst.get("south-a")!.visits).toBeGreaterThanOrEqual(4);
    expect(inst.get("north-a")).toMatchObject({ borrowed: 2 });
    const regions = new Map(summary.visits.regions.map((r) => [r.id, r]));
    expect(regions.get("south")).toMatchObject({ lent: 2 });
    expect(regions.get("north")).toMatchObject({ borrowed: 2 });
  });

  it("two libraries lending at once to a reader with one loan left: the home library's hold lets one through", async () => {
    await fed.importCatalog("north-b", [NLM]);
    const [southBook] = await books("south-a", [LOC], 80);
    const [northBook] = await books("north-b", [NLM], 0);
    const race = await visit<{ token: string }>("north-a", [
      "issue",
      "--reader",
      "P-0002",
      "--max-loans",
      "1",
    ]);
    // Both desks check online at the same moment; the loan notices travel later.
    const [south, north] = await Promise.allSettled([
      visit<{ loan: Loan }>("south-a", ["lend", "--credential", race.token, "--item", southBook!]),
      visit<{ loan: Loan }>("north-b", ["lend", "--credential", race.token, "--item", northBook!]),
    ]);
    const won = [south, north].filter((r) => r.status === "fulfilled");
    const lost = [south, north].filter((r) => r.status === "rejected");
    expect(won).toHaveLength(1);
    expect(String((lost[0] as PromiseRejectedResult).reason)).toMatch(
      /the reader has 1 items on loan, the most north-a allows/,
    );
    // The winner's notice turns the hold into the loan at home: still one.
    const winner = (won[0] as PromiseFulfilledResult<{ loan: Loan }>).value.loan.loanId;
    await eventually(
      () => visit<Listing>("north-a", ["list", "--view", "borrowed"]),
      (l) => find(l.borrowed, winner) !== undefined,
      60_000,
    );
    const after = await visitFails(winner.startsWith("south-a") ? "north-b" : "south-a", [
      "lend",
      "--credential",
      race.token,
      "--item",
      winner.startsWith("south-a") ? northBook! : southBook!,
    ]);
    expect(after).toMatch(/the reader has 1 items on loan/);
  }, 300_000);
});
