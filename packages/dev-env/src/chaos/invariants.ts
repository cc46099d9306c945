// What must hold once the faults have stopped and the federation has settled: every request
// ended or still moving (a timer will move it), no message applied twice, every union catalog
// equal to what its members hold, the ledger balanced with one charge per received loan, and
// every node's memory back near its steady level. Each violation is a sentence naming where.
import { readFileSync } from "node:fs";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import { illServicePb, ledgerPb, trafficPb } from "@lrs/shared";
import { type Federation, sleep } from "../federation.js";
import { checkUnionCatalogs } from "./catalog-invariant.js";
import { TERMINAL } from "./traffic.js";

/**
 * Events that one incoming message (or one staff action) causes once: a request whose timeline
 * has one of them twice applied something twice.
 */
const ONCE = {
  borrower: ["loaned", "receive", "return", "loan_completed"],
  lender: ["ship", "received", "shipped_return", "check_in"],
} as const;

export interface InvariantReport {
  violations: string[];
  requests: { borrower: number; lender: number; moving: number };
  /** Per node: resident memory at the steady level and at the end, MiB. */
  memory: Record<string, { steadyMiB: number; endMiB: number }>;
}

/** A node process's resident memory in MiB (Linux), undefined when it is not running. */
export function residentMiB(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface InvariantOptions {
  fed: Federation;
  /** Members by region, and the regional center of each region. */
  regions: ReadonlyMap<string, readonly string[]>;
  centers: ReadonlyMap<string, string>;
  national: string;
  /** What every lender charges for a loan, in minor units of `currency`. */
  loanFeeMinor: bigint;
  currency: string;
  /** Resident memory per node at the steady level (before the faults), MiB. */
  steadyMiB: ReadonlyMap<string, number>;
  /** When the run began: traffic figures since then are compared. */
  sinceMs: number;
  /** How long a traffic figure still on its way is waited for (default 30 s). */
  trafficWaitMs?: number;
}

/** The calls `member` counted (all kinds), as `node` holds its figures. */
async function callsOf(fed: Federation, node: string, member: string, sinceMs: number): Promise<bigint> {
  const res = await fed.withClient(node, trafficPb.TrafficService, (c) =>
    c.getTraffic({ since: timestampFromMs(sinceMs) }, { timeoutMs: 10_000 }),
  );
  return res.blocks
    .filter((b) => b.nodeId === member)
    .flatMap((b) => b.cells)
    .reduce((n, c) => n + c.count, 0n);
}

/**
 * Traffic totals equal at every tier: each member's figures as it holds them, as its regional
 * center holds them and as the national center does (they report every second here; a figure
 * still on its way is waited for, up to `timeoutMs`).
 */
async function checkTraffic(o: InvariantOptions, timeoutMs = 30_000): Promise<string[]> {
  const out: string[] = [];
  for (const [region, ms] of o.regions) {
    for (const m of ms) {
      const until = Date.now() + timeoutMs;
      let last = "";
      for (;;) {
        const [own, center, nat] = await Promise.all(
          [m, o.centers.get(region)!, o.national].map((n) =>
            callsOf(o.fed, n, m, o.sinceMs).catch(() => -1n),
          ),
        );
        if (own === center && center === nat) break;
        last = `${m} counted ${own} calls, ${o.centers.get(region)} holds ${center} of them, ${o.national} ${nat}`;
        if (Date.now() > until) {
          out.push(last);
          break;
        }
        await sleep(1_000);
      }
    }
  }
  return out;
}

/** Every request of a role at a member, a page of ListRequests at a time. */
async function* everyRequest(
  c: Client<typeof illServicePb.IllStaffService>,
  role: "borrower" | "lender",
): AsyncGenerator<illServicePb.StaffRequest> {
  let pageToken = "";
  do {
    const page = await c.listRequests({ role, limit: 1000, pageToken }, { timeoutMs: 30_000 });
    yield* page.requests;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}

/** Memory may grow this much over the steady level before it counts as not back (caches fill). */
const MEMORY_SLACK = { factor: 1.5, plusMiB: 96 };

export async function checkInvariants(o: InvariantOptions): Promise<InvariantReport> {
  const { fed } = o;
  const violations: string[] = [];
  const requests = { borrower: 0, lender: 0, moving: 0 };
  const received = new Map<string, number>();
  const members = [...o.regions.values()].flat();

  // Traffic first: the checks below are calls the members count too.
  violations.push(...(await checkTraffic(o, o.trafficWaitMs)));

  // Requests: ended or moving, each message applied once.
  for (const member of members) {
    await fed.withClient(member, illServicePb.IllStaffService, async (c) => {
      for (const role of ["borrower", "lender"] as const) {
        for await (const summary of everyRequest(c, role)) {
          requests[role]++;
          const r = (await c.showRequest({ id: summary.id }, { timeoutMs: 10_000 })).request!;
          if (!TERMINAL.has(r.status)) {
            if (r.timers.length === 0)
              violations.push(`${member} ${role} request ${r.id} is stuck in ${r.status} with no timer`);
            else requests.moving++;
          }
          for (const event of ONCE[role]) {
            const n = r.timeline.filter((t) => t.event === event).length;
            if (n > 1) violations.push(`${member} ${role} request ${r.id}: "${event}" applied ${n} times`);
          }
          const ids = r.messages.filter((m) => m.direction === "in").map((m) => m.messageId);
          const twice = ids.filter((id, i) => ids.indexOf(id) !== i);
          if (twice.length > 0)
            violations.push(
              `${member} ${role} request ${r.id}: message(s) ${[...new Set(twice)].join(", ")} logged twice`,
            );
          if (role === "borrower" && r.timeline.some((t) => t.event === "receive"))
            received.set(member, (received.get(member) ?? 0) + 1);
        }
      }
    });
  }

  // Union catalogs: each regional center holds exactly its members' records and copies; the
  // national center every member's.
  violations.push(
    ...checkUnionCatalogs(
      fed,
      new Map([
        ...[...o.regions].map(([region, ms]) => [o.centers.get(region)!, ms] as const),
        [o.national, members],
      ]),
    ),
  );

  // The ledger at the national center: balanced, one charge per received loan.
  const period = new Date().toISOString().slice(0, 7);
  let net = 0n;
  await fed.withClient(o.national, ledgerPb.LedgerService, async (c) => {
    for (const member of members) {
      const res = await c.getStatement(
        { institutionId: member, period, currency: o.currency },
        { timeoutMs: 10_000 },
      );
      const s = res.statement;
      net += s?.netMinor ?? 0n;
      const want = BigInt(received.get(member) ?? 0) * o.loanFeeMinor;
      const got = s?.totalPayableMinor ?? 0n;
      if (got !== want)
        violations.push(
          `${member} owes ${got} minor units of ${o.currency} in ${period}, its ${received.get(member) ?? 0} received loan(s) make ${want}`,
        );
    }
  });
  if (net !== 0n) violations.push(`the ledger's balances of ${period} sum to ${net} ${o.currency}, not 0`);

  // Memory: back near the steady level.
  const memory: InvariantReport["memory"] = {};
  for (const n of fed.manifest.nodes) {
    const steady = o.steadyMiB.get(n.id);
    const end = residentMiB(fed.pid(n.id));
    if (steady === undefined || end === undefined) continue;
    memory[n.id] = { steadyMiB: Math.round(steady), endMiB: Math.round(end) };
    if (end > Math.max(steady * MEMORY_SLACK.factor, steady + MEMORY_SLACK.plusMiB))
      violations.push(
        `${n.id} uses ${Math.round(end)} MiB after the run, ${Math.round(steady)} MiB before the faults`,
      );
  }
  return { violations, requests, memory };
}
