// Settlement through real processes: members post charges and reversals at their regional
// centers (with their own certificates), the regional centers forward them to the national
// center's ledger; `lrs-national settle` nets them into statements, `lrs-member ledger` shows a
// member its own; a posting that comes late goes into the next open period; and a national
// center killed (SIGKILL) in the middle of settling 200,000 postings settles them, after a
// restart, exactly as an independent computation over the same postings says.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { open as openFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { BIN, Federation, sleep } from "@lrs/dev-env";
import { generatePostings, LedgerStore, nationalNodeMigrations } from "@lrs/national-center";
import { Database, ledgerPb, periodOf, sharedMigrations, type ValidPosting } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SMALL_SPEC } from "./harness.js";

let fed: Federation;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "lrs-settle-"));
  try {
    // Info logs: the crash test waits for the national center to say that it began settling.
    fed = await Federation.create(SMALL_SPEC, { dir, logLevel: "info", webUsers: false });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
});
afterAll(async () => {
  await fed?.stopAll("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const REGION: Record<string, string> = { "north-a": "north", "north-b": "north", "south-a": "south" };

interface Charge {
  entryId: string;
  payer: string;
  payee: string;
  amount: bigint;
  at: string;
  kind?: string;
  reverses?: string;
}

function posting(c: Charge): ledgerPb.LedgerPosting {
  return create(ledgerPb.LedgerPostingSchema, {
    entryId: c.entryId,
    transactionId: c.entryId.split(":")[1]!.split("/")[0]!,
    kind: c.kind ?? "loan",
    payerId: c.payer,
    payeeId: c.payee,
    currency: "EUR",
    amountMinor: c.amount,
    postedAt: timestampFromDate(new Date(c.at)),
    period: c.at.slice(0, 7),
    reversesEntryId: c.reverses ?? "",
    note: "test",
  });
}

/** Posts at the member's regional center, as the member (its own certificate). */
function postAsMember(member: string, charges: Charge[]): Promise<ledgerPb.PostEntriesResponse> {
  const center = member.startsWith("north") ? "north-rc" : "south-rc";
  return fed.withClient(
    center,
    ledgerPb.LedgerService,
    (c) => c.postEntries({ postings: charges.map(posting) }, { timeoutMs: 10_000 }),
    member,
  );
}

async function refusal(fn: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call was expected to be refused but succeeded");
}

type StatementJson = {
  institutionId: string;
  region?: string;
  currency?: string;
  lines?: Array<{
    counterpartyId: string;
    counterpartyRegion?: string;
    payableMinor?: string;
    receivableMinor?: string;
    netMinor?: string;
    entries?: number;
  }>;
  netMinor?: string;
};
type SettleJson = {
  period: string;
  statements?: StatementJson[];
  regions?: Array<{ region?: string; currency?: string; netMinor?: string }>;
  alreadySettled?: boolean;
  dryRun?: boolean;
  digest: string;
  entries?: string;
  carriedIn?: Array<{ entryId: string }>;
};

async function national(args: string[]): Promise<string> {
  const nat = fed.node("nat");
  return fed.cli(nat, [...args, "--config", nat.config]);
}

/**
 * The national CLI's JSON. Run here rather than through fed.cli: 200,000 postings make statements
 * of megabytes, more than execFile buffers.
 */
async function nationalJson(args: string[]): Promise<SettleJson> {
  const nat = fed.node("nat");
  const child = spawn(process.execPath, [BIN.national, ...args, "--config", nat.config, "--json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on("data", (b: Buffer) => out.push(b));
  child.stderr.on("data", (b: Buffer) => err.push(b));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  if (code !== 0) throw new Error(`lrs-national ${args[0]} failed: ${Buffer.concat(err).toString()}`);
  return JSON.parse(Buffer.concat(out).toString()) as SettleJson;
}

/**
 * Statements computed independently of the ledger's tables and SQL, straight from the postings:
 * per institution and counterparty what it owes as payer and is owed as payee, reversals
 * subtracted — in the shape of the CLI's JSON (proto JSON: int64 as strings, zeros left out).
 */
function reference(
  postings: Iterable<{ payerId: string; payeeId: string; amountMinor: bigint; kind: string }>,
  regionOf: (id: string) => string,
) {
  const lines = new Map<string, Map<string, { payable: bigint; receivable: bigint; entries: number }>>();
  const line = (inst: string, cp: string) => {
    const m = lines.get(inst) ?? new Map<string, { payable: bigint; receivable: bigint; entries: number }>();
    lines.set(inst, m);
    const l = m.get(cp) ?? { payable: 0n, receivable: 0n, entries: 0 };
    m.set(cp, l);
    return l;
  };
  for (const p of postings) {
    const sign = p.kind === "reversal" ? -1n : 1n;
    const a = line(p.payerId, p.payeeId);
    a.payable += sign * p.amountMinor;
    a.entries++;
    const b = line(p.payeeId, p.payerId);
    b.receivable += sign * p.amountMinor;
    b.entries++;
  }
  const big = (v: bigint) => (v === 0n ? undefined : v.toString());
  const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
  return sorted(lines).map(([inst, m]) => ({
    institutionId: inst,
    region: regionOf(inst),
    lines: sorted(m).map(([cp, l]) => ({
      counterpartyId: cp,
      counterpartyRegion: regionOf(cp),
      payableMinor: big(l.payable),
      receivableMinor: big(l.receivable),
      netMinor: big(l.receivable - l.payable),
      entries: l.entries,
    })),
    netMinor: big([...m.values()].reduce((n, l) => n + l.receivable - l.payable, 0n)),
  }));
}

/** The parts of the CLI's statements the reference computes, JSON's empty fields dropped. */
function comparable(statements: StatementJson[] | undefined) {
  const clean = <T extends object>(o: T) => JSON.parse(JSON.stringify(o)) as T;
  return (statements ?? []).map((s) =>
    clean({
      institutionId: s.institutionId,
      region: s.region,
      lines: (s.lines ?? []).map((l) => ({
        counterpartyId: l.counterpartyId,
        counterpartyRegion: l.counterpartyRegion,
        payableMinor: l.payableMinor,
        receivableMinor: l.receivableMinor,
        netMinor: l.netMinor,
        entries: l.entries,
      })),
      netMinor: s.netMinor,
    }),
  );
}

async function waitForEntries(period: string, n: number, timeoutMs = 20_000): Promise<SettleJson> {
  const deadline = Date.now() + timeoutMs;
  let last: SettleJson | undefined;
  while (Date.now() < deadline) {
    last = await nationalJson(["ledger", "--period", period]);
    if (Number(last.entries ?? 0) >= n) return last;
    await sleep(200);
  }
  throw new Error(`the national ledger has ${last?.entries ?? 0} of ${n} entries for ${period}`);
}

const OCTOBER: Charge[] = [
  {
    entryId: "north-a:r1/charge",
    payer: "north-a",
    payee: "south-a",
    amount: 850n,
    at: "2026-10-03T09:00:00Z",
  },
  {
    entryId: "north-a:r2/charge",
    payer: "north-a",
    payee: "north-b",
    amount: 300n,
    at: "2026-10-04T09:00:00Z",
    kind: "copy",
  },
  {
    entryId: "north-a:r3/charge",
    payer: "north-a",
    payee: "south-a",
    amount: 1200n,
    at: "2026-10-05T09:00:00Z",
  },
  {
    entryId: "north-a:r3/charge/reversal",
    payer: "north-a",
    payee: "south-a",
    amount: 1200n,
    at: "2026-10-06T09:00:00Z",
    kind: "reversal",
    reverses: "north-a:r3/charge",
  },
  {
    entryId: "north-b:r9/charge",
    payer: "north-b",
    payee: "south-a",
    amount: 475n,
    at: "2026-10-20T12:00:00Z",
  },
];
const SOUTH_OCTOBER: Charge[] = [
  {
    entryId: "south-a:s1/charge",
    payer: "south-a",
    payee: "north-b",
    amount: 990n,
    at: "2026-10-31T23:59:59Z",
  },
];

describe("settlement through the tiers", () => {
  it("takes members' postings through their regional centers into the national ledger, once each", async () => {
    const north = OCTOBER.filter((c) => c.payer === "north-a");
    expect(await postAsMember("north-a", north)).toMatchObject({ accepted: north.length, duplicates: 0 });
    expect(await postAsMember("north-a", north)).toMatchObject({ accepted: 0, duplicates: north.length });
    await postAsMember(
      "north-b",
      OCTOBER.filter((c) => c.payer === "north-b"),
    );
    await postAsMember("south-a", SOUTH_OCTOBER);
    const led = await waitForEntries("2026-10", OCTOBER.length + SOUTH_OCTOBER.length);
    expect(led.dryRun).toBe(true);
    expect(comparable(led.statements)).toEqual(
      reference(
        [...OCTOBER, ...SOUTH_OCTOBER].map((c) => ({
          payerId: c.payer,
          payeeId: c.payee,
          amountMinor: c.amount,
          kind: c.kind ?? "loan",
        })),
        (id) => REGION[id]!,
      ),
    );
  });

  it("refuses a regional center that posts for another region's member, naming the entry", async () => {
    const err = await refusal(() =>
      fed.withClient(
        "nat",
        ledgerPb.LedgerService,
        (c) =>
          c.postEntries(
            {
              postings: [
                posting({
                  entryId: "south-a:x1/charge",
                  payer: "south-a",
                  payee: "north-a",
                  amount: 5n,
                  at: "2026-10-09T00:00:00Z",
                }),
              ],
            },
            { timeoutMs: 5000 },
          ),
        "north-rc",
      ),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toMatch(
      /posting 1 \(entry "south-a:x1\/charge"\): payer south-a is not a member of region north/,
    );
    const bad = await refusal(() =>
      fed.withClient(
        "nat",
        ledgerPb.LedgerService,
        (c) =>
          c.postEntries(
            {
              postings: [
                posting({
                  entryId: "north-a:x2/charge",
                  payer: "north-a",
                  payee: "south-a",
                  amount: 5n,
                  at: "2026-10-09T00:00:00Z",
                }),
              ].map((p) => ({ ...p, period: "2026-11" })),
            },
            { timeoutMs: 5000 },
          ),
        "north-rc",
      ),
    );
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.rawMessage).toMatch(/period "2026-11" is not the month of posted_at/);
  });

  it("settles a period with `lrs-national settle`: statements, regions, CSV, digest; again: the same", async () => {
    const csv = join(dir, "october.csv");
    const text = await national(["settle", "--period", "2026-10", "--csv", csv]);
    expect(text).toMatch(/^2026-10: settled at \S+: 6 entries, 3 statements; digest [0-9a-f]{64}$/m);
    expect(text).toMatch(/north-a \(region north\), 2026-10, EUR: settled/);
    expect(text).toMatch(/^\s+south-a\s+south\s+8\.50\s+0\.00\s+-8\.50\s+3$/m);
    expect(text).toMatch(/^north\s+EUR\s+-3\.35$/m);
    expect(text).toMatch(/^south\s+EUR\s+3\.35$/m);
    const rows = readFileSync(csv, "utf8").trim().split("\r\n");
    expect(rows[0]).toBe(
      "period,institution_id,region,currency,counterparty_id,counterparty_region,payable_minor,receivable_minor,net_minor,entries,payable,receivable,net",
    );
    expect(rows).toContain("2026-10,north-a,north,EUR,south-a,south,850,0,-850,3,8.50,0.00,-8.50");
    expect(rows).toHaveLength(1 + 6);

    const again = await nationalJson(["settle", "--period", "2026-10"]);
    expect(again.alreadySettled).toBe(true);
    expect(text).toContain(again.digest);
    expect(again.regions).toEqual([
      { region: "north", currency: "EUR", netMinor: "-335" },
      { region: "south", currency: "EUR", netMinor: "335" },
    ]);
    await expect(national(["settle", "--period", "2099-01"])).rejects.toThrow(/has not begun yet/);
  });

  it("shows a member its own statement (`lrs-member ledger`), and no one else's", async () => {
    const a = fed.node("north-a");
    const json = JSON.parse(
      await fed.cli(a, ["ledger", "--config", a.config, "--period", "2026-10", "--json"]),
    ) as {
      settled: boolean;
      statements: StatementJson[];
    };
    expect(json.settled).toBe(true);
    expect(comparable(json.statements)).toEqual([
      {
        institutionId: "north-a",
        region: "north",
        lines: [
          {
            counterpartyId: "north-b",
            counterpartyRegion: "north",
            payableMinor: "300",
            netMinor: "-300",
            entries: 1,
          },
          {
            counterpartyId: "south-a",
            counterpartyRegion: "south",
            payableMinor: "850",
            netMinor: "-850",
            entries: 3,
          },
        ],
        netMinor: "-1150",
      },
    ]);
    const text = await fed.cli(a, ["ledger", "--config", a.config, "--period", "2026-10"]);
    expect(text).toMatch(/north-a \(region north\), 2026-10, EUR: settled/);
    expect(text).toMatch(/^\s+total\s+11\.50\s+0\.00\s+-11\.50\s+4$/m);
    const atNational = JSON.parse(
      await national(["ledger", "--period", "2026-10", "--institution", "north-a", "--json"]),
    ) as { settled: boolean; statements: StatementJson[] };
    expect(atNational.settled).toBe(true);
    expect(atNational.statements).toEqual(json.statements);
    const open = await fed.cli(a, ["ledger", "--config", a.config, "--period", "2026-09"]);
    expect(open).toMatch(/north-a \(region north\), 2026-09: open \(not settled yet\)\n\s+no entries/);

    const other = await refusal(() =>
      fed.withClient(
        "north-rc",
        ledgerPb.LedgerService,
        (c) => c.getStatement({ institutionId: "north-b", period: "2026-10" }, { timeoutMs: 5000 }),
        "north-a",
      ),
    );
    expect(other.code).toBe(Code.PermissionDenied);
    expect(other.rawMessage).toMatch(/north-a may read its own statement only/);
    const otherRegion = await refusal(() =>
      fed.withClient(
        "nat",
        ledgerPb.LedgerService,
        (c) => c.getStatement({ institutionId: "south-a", period: "2026-10" }, { timeoutMs: 5000 }),
        "north-rc",
      ),
    );
    expect(otherRegion.code).toBe(Code.PermissionDenied);
    const settle = await refusal(() =>
      fed.withClient(
        "nat",
        ledgerPb.LedgerService,
        (c) => c.settle({ period: "2026-10" }, { timeoutMs: 5000 }),
        "north-rc",
      ),
    );
    expect(settle.code).toBe(Code.PermissionDenied);
  });

  it("counts a posting that arrives after its period was settled in the next open period", async () => {
    const before = await nationalJson(["settle", "--period", "2026-10"]);
    const late: Charge = {
      entryId: "north-b:r10/charge",
      payer: "north-b",
      payee: "north-a",
      amount: 45n,
      at: "2026-10-31T20:00:00Z",
    };
    await postAsMember("north-b", [late]);
    const nov = await waitForEntries("2026-11", 1);
    expect(nov.carriedIn?.map((p) => p.entryId)).toEqual([late.entryId]);
    const after = await nationalJson(["settle", "--period", "2026-10"]);
    expect(after.digest).toBe(before.digest);
    expect(after.statements).toEqual(before.statements);
    const text = await national(["ledger", "--period", "2026-11"]);
    expect(text).toMatch(
      /carried in from periods settled before they arrived: 1\n\s+north-b:r10\/charge \(2026-10\) loan north-b → north-a 0\.45 EUR/,
    );
    // The month we are in has not ended: settling it needs --allow-open.
    const current = periodOf(new Date());
    await expect(national(["settle", "--period", current])).rejects.toThrow(`${current} has not ended`);
  });

  it("settles 200,000 postings after a kill -9 in the middle of settling them exactly as computed independently", async () => {
    const PERIOD = "2026-09";
    const gen = { count: 200_000, period: PERIOD, institutions: 200, regions: 10, seed: 7 };
    const regionOf = (id: string) => `gen-r${Number(id.slice(5)) % gen.regions}`;
    // Loaded straight into the national center's database while it is stopped, through the
    // ledger's own store (the PostEntries code, without 200 directory entries and the network).
    await fed.stop("nat");
    const db = Database.open(join(fed.node("nat").dataDir, "node.db"), [
      ...sharedMigrations,
      ...nationalNodeMigrations(),
    ]);
    try {
      const ledger = new LedgerStore(db);
      let batch: ValidPosting[] = [];
      for (const p of generatePostings(gen)) {
        batch.push(p);
        if (batch.length === 5000) {
          ledger.post(batch, { receivedFrom: "test", regionOf });
          batch = [];
        }
      }
      if (batch.length) ledger.post(batch, { receivedFrom: "test", regionOf });
    } finally {
      db.close();
    }
    await fed.start("nat");
    const expected = reference(generatePostings(gen), regionOf);

    // Settle, and kill the national center as soon as it says it has begun.
    const nat = fed.node("nat");
    const logFrom = statSync(nat.log).size;
    const cli = spawn(
      process.execPath,
      [BIN.national, "settle", "--config", nat.config, "--period", PERIOD],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const cliExit = new Promise<number | null>((resolve) => cli.once("exit", (code) => resolve(code)));
    const log = await openFile(nat.log, "r");
    try {
      const deadline = Date.now() + 30_000;
      let seen = "";
      let offset = logFrom;
      while (
        !/"period":"2026-09".*"settlement started"|"settlement started".*"period":"2026-09"/.test(seen)
      ) {
        if (Date.now() > deadline) throw new Error("the national center never said it began settling");
        const { buffer, bytesRead } = await log.read(Buffer.alloc(64 * 1024), 0, 64 * 1024, offset);
        offset += bytesRead;
        seen += buffer.subarray(0, bytesRead).toString("latin1");
        if (bytesRead === 0) await sleep(1);
      }
      await fed.stop("nat", "SIGKILL");
    } finally {
      await log.close();
    }
    // The CLI fails (its node died under it), or had its answer just before: either way it ends.
    await cliExit;
    await fed.start("nat");

    // Whether the kill came before the commit (the usual case) or after it, the period is settled
    // whole or not at all, and settling it now gives the independent computation's statements.
    const state = await nationalJson(["ledger", "--period", PERIOD]);
    console.info(
      `the kill came ${state.dryRun ? "before the settlement committed" : "after the settlement committed"}`,
    );
    const settled = await nationalJson(["settle", "--period", PERIOD]);
    expect(settled.alreadySettled ?? false).toBe(!state.dryRun);
    expect(settled.digest).toBe(state.digest);
    expect(Number(settled.entries)).toBe(gen.count);
    expect(comparable(settled.statements)).toEqual(expected);
    const again = await nationalJson(["settle", "--period", PERIOD]);
    expect(again.alreadySettled).toBe(true);
    expect(again.digest).toBe(settled.digest);
  });
});
