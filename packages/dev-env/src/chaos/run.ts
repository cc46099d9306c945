// The chaos harness: a federation of real node processes with a TCP proxy on every link, a steady
// mix of traffic (traffic.ts), faults from a seeded schedule (schedule.ts) — kill -9 and restart,
// SIGSTOP/SIGCONT, a link cut, reset or slowed, a clock minutes off (libfaketime), a full disk (a
// small tmpfs under one member's data) — then the faults stop, the federation settles and the
// invariants are checked (invariants.ts). Used by test/chaos.test.ts (short) and bench/chaos.mjs.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statfsSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { seededRandom } from "@lrs/shared";
import { Federation, type FederationSpec, sleep } from "../federation.js";
import { importTitles, isbnFor, numbersFrom } from "./catalogs.js";
import { type ProbeResult, probeHungNodes } from "./hung-probes.js";
import { checkInvariants, type InvariantReport, residentMiB } from "./invariants.js";
import { type Fault, type FaultKind, faultSchedule } from "./schedule.js";
import { ChaosTraffic, type TrafficCounts } from "./traffic.js";

export const REGION_NAMES = ["north", "south", "east"];

export interface ChaosOptions {
  /** Where the federation lives (emptied first). */
  dir: string;
  seed: number;
  regions: number;
  membersPerRegion: number;
  /** Titles each member holds. */
  titles: number;
  loans: number;
  concurrency: number;
  /** Faults are drawn for this long (the loans go on after it until they all have ended). */
  faultMs: number;
  meanGapMs: number;
  maxHoldMs: number;
  /**
   * How long the federation may go without progress (a loan moving on, an outbox shrinking, the
   * catalogs catching up) after the last fault before it counts as not settled.
   */
  stallMs: number;
  /** How long settling may take at most, whatever the progress. */
  settleMs: number;
  /**
   * How long a node may stay unreachable before what the traffic asked of it counts as failed
   * (a borrow): a killed node's restart on a loaded machine takes a while.
   */
  patienceMs?: number;
  /** Run the hung-node probes first (probes.ts). */
  probes?: boolean;
  /**
   * How much slower than a quiet machine this one is (LRS_TEST_TIMEOUT_SCALE): the probes' caller
   * deadline (8 s) and slack (2 s) are stretched by it; the budget stays the deadline's share.
   */
  timeScale?: number;
  say?: (line: string) => void;
}

export interface ChaosReport {
  seed: number;
  nodes: number;
  faults: Fault[];
  faultsByKind: Partial<Record<FaultKind, number>>;
  /** Kinds this machine cannot inject, with why. */
  unavailable: string[];
  traffic: TrafficCounts;
  probes: ProbeResult[];
  invariants: InvariantReport;
  /** From the end of the last fault to a settled federation. */
  recoveryMs: number;
  settled: boolean;
  wallMs: number;
  /** Faults that could not be applied or healed (a start that failed), with why. */
  faultErrors: string[];
  /** Why traffic failed (borrows given up, catalog changes refused), the first few. */
  problems: string[];
}

/** Where Debian's faketime package puts libfaketime (the multi-threaded flavour: Node has threads). */
const FAKETIME_LIBS = [
  "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1",
  "/usr/lib/aarch64-linux-gnu/faketime/libfaketimeMT.so.1",
];
const LOAN_FEE = "1.00";

function memberConfig(): string {
  return [
    "[ill]",
    'auto_respond = "scenario"',
    'timer_interval = "200ms"',
    'maximum_cost = "5.00 EUR"',
    "",
    "[lending_policy]",
    'response_time = "45s"',
    "",
    "[fees]",
    'currency = "EUR"',
    `loan = "${LOAN_FEE}"`,
    "",
  ].join("\n");
}

export function chaosSpec(regions: number, membersPerRegion: number): FederationSpec {
  return {
    national: { id: "nat", name: "Chaos National Center" },
    regions: REGION_NAMES.slice(0, regions).map((region) => ({
      region,
      id: `${region}-rc`,
      name: `Chaos ${region} center`,
      members: Array.from({ length: membersPerRegion }, (_, i) => ({
        id: `${region}-${i + 1}`,
        name: `Chaos ${region} library ${i + 1}`,
        extraConfig: memberConfig(),
      })),
    })),
  };
}

/** Mounts a small tmpfs (root only) at `path`; false when this machine cannot. */
function mountSmallDisk(path: string, sizeMiB: number): boolean {
  mkdirSync(path, { recursive: true });
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", `size=${sizeMiB}m`, "tmpfs", path], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

function unmount(path: string): void {
  try {
    execFileSync("umount", ["-l", path], { stdio: "ignore" });
  } catch {
    // Not mounted.
  }
}

export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const say = o.say ?? (() => {});
  const began = Date.now();
  const spec = chaosSpec(o.regions, o.membersPerRegion);
  const regions = new Map(spec.regions.map((r) => [r.region, r.members.map((m) => m.id)]));
  const centers = new Map(spec.regions.map((r) => [r.region, r.id]));
  const members = [...regions.values()].flat();
  const unavailable: string[] = [];

  removeChaosDir(o.dir);
  // The last member's data directory is a small filesystem of its own, filled up by a fault.
  const diskMember = members.at(-1)!;
  const diskPath = join(o.dir, "data", diskMember);
  const disk = mountSmallDisk(diskPath, 256);
  if (!disk) unavailable.push("disk-full: cannot mount a small tmpfs here (needs root)");
  const faketime = FAKETIME_LIBS.find((p) => existsSync(p));
  const clock = faketime !== undefined;
  if (!clock)
    unavailable.push(`clock: libfaketime is not installed (Debian package faketime: ${FAKETIME_LIBS[0]})`);
  for (const u of unavailable) say(`fault kind not injected on this machine — ${u}`);

  say(`seed ${o.seed}: starting ${1 + o.regions + members.length} nodes with a proxy on every link`);
  const fed = await Federation.create(spec, {
    dir: o.dir,
    logLevel: process.env.LRS_TEST_LOG_LEVEL ?? "warn",
    proxied: true,
    webUsers: false,
    onProgress: say,
    // Traffic figures reported every second, so that the tiers' totals can be compared at the end.
    env: {
      MEMBER_TRAFFIC_FLUSH_INTERVAL: "1s",
      REGIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
      NATIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
    },
  });
  const traffic: { t?: ChaosTraffic } = {};
  try {
    // Catalogs: titles of their own at every member; one title held in two regions for the probes.
    const catalogDir = join(o.dir, "catalogs");
    mkdirSync(catalogDir, { recursive: true });
    const [ra, rb] = [...regions.keys()];
    const a = { center: centers.get(ra!)!, asker: regions.get(ra!)![0]!, holder: regions.get(ra!)![1]! };
    const b = { center: centers.get(rb!)!, holder: regions.get(rb!)![0]! };
    const sharedN = 800_000;
    const titles = new Map<string, string>();
    await Promise.all(
      members.map(async (m, i) => {
        const own = numbersFrom(1 + i * o.titles, o.titles);
        const got = await importTitles(
          fed,
          m,
          m === a.holder || m === b.holder ? [...own, sharedN] : own,
          catalogDir,
        );
        for (const isbn of got.keys()) if (isbn !== isbnFor(sharedN)) titles.set(isbn, m);
      }),
    );
    await fed.waitSynced(180_000);
    say(`catalogs synced: ${titles.size} titles`);

    const probes = o.probes
      ? await probeHungNodes({
          fed,
          national: "nat",
          a,
          b,
          sharedIsbn: isbnFor(sharedN),
          term: "study",
          deadlineMs: 8_000 * (o.timeScale ?? 1),
          slackMs: 2_000 * (o.timeScale ?? 1),
        })
      : [];
    for (const p of probes)
      say(
        `probe ${p.name} with ${p.hung} hung: ${p.elapsedMs} ms (budget ${p.budgetMs} ms)${p.ok ? "" : ` — FAILED: ${p.detail}`}`,
      );

    const random = seededRandom(o.seed ^ 0x5eed);
    const t = new ChaosTraffic({
      fed,
      seed: o.seed,
      regions,
      titles,
      dir: catalogDir,
      loans: o.loans,
      concurrency: o.concurrency,
      searchEveryMs: 1_500,
      catalogEveryMs: 6_000,
      random,
      patienceMs: o.patienceMs ?? 90_000,
    });
    traffic.t = t;
    const side = t.runSide();
    let giveUp = false;
    const loans = t.runLoans(() => giveUp);
    // The steady level of memory: a little traffic first.
    await sleep(5_000);
    const steadyMiB = new Map<string, number>();
    for (const n of fed.manifest.nodes) {
      const m = residentMiB(fed.pid(n.id));
      if (m !== undefined) steadyMiB.set(n.id, m);
    }

    const kinds = (
      ["kill", "hang", "link-drop", "link-reset", "link-slow", "clock", "disk-full"] as const
    ).filter((k) => (k !== "clock" || clock) && (k !== "disk-full" || disk));
    const faults = faultSchedule({
      seed: o.seed,
      nodes: fed.manifest.nodes.map((n) => n.id),
      linked: fed.manifest.nodes.filter((n) => n.proxy?.uplink).map((n) => n.id),
      diskNode: disk ? diskMember : undefined,
      members,
      durationMs: o.faultMs,
      meanGapMs: o.meanGapMs,
      maxHoldMs: o.maxHoldMs,
      kinds,
    });
    say(`${faults.length} faults over ${Math.round(o.faultMs / 1000)} s`);
    const faultErrors: string[] = [];
    const faultsStarted = Date.now();
    let lastHealed = faultsStarted;
    await Promise.all(
      faults.map(async (f) => {
        await sleep(Math.max(0, faultsStarted + f.atMs - Date.now()));
        const t0 = Date.now();
        try {
          await inject(fed, f, diskPath, faketime);
          say(`${f.kind} at ${f.node} for ${f.holdMs} ms: healed after ${Date.now() - t0} ms`);
        } catch (err) {
          faultErrors.push(`${f.kind} at ${f.node}: ${(err as Error).message.split("\n")[0]}`);
          say(`${f.kind} at ${f.node}: ${(err as Error).message.split("\n")[0]}`);
        }
        lastHealed = Math.max(lastHealed, Date.now());
      }),
    );
    say(
      `faults over; ${t.counts.loansStarted} loans started, ${t.counts.loansCompleted + t.counts.copiesCompleted} done`,
    );

    // Settle: every node up, the loans ended, nothing waiting in an outbox, the catalogs equal —
    // waited for as long as something moves (up to settleMs).
    const settleBy = Date.now() + o.settleMs;
    for (const n of fed.manifest.nodes)
      if (!fed.isRunning(n.id))
        await startAgain(fed, n.id).catch((err: Error) =>
          faultErrors.push(`${n.id} not restarted: ${err.message}`),
        );
    let loansEnded = false;
    void loans.then(() => {
      loansEnded = true;
    });
    while (!loansEnded) {
      const quietMs = Date.now() - Math.max(t.lastProgressAt, lastHealed);
      if (quietMs > o.stallMs || Date.now() > settleBy) break;
      await Promise.race([loans, sleep(1_000)]);
    }
    const stuck = t.loans.filter((l) => !l.done);
    if (!loansEnded)
      faultErrors.push(
        `not settled: ${stuck.length} loan(s) did not end (${stuck
          .slice(0, 5)
          .map((l) => `${l.borrower} ${l.id}`)
          .join(", ")}); no loan moved for ${Math.round((Date.now() - t.lastProgressAt) / 1000)} s`,
      );
    giveUp = true;
    t.stopSide();
    await Promise.all([side, loans]);
    let settled = loansEnded;
    try {
      await waitQuiet(fed, o.stallMs, settleBy);
      await fed.waitSynced(Math.max(o.stallMs, settleBy - Date.now()));
    } catch (err) {
      settled = false;
      faultErrors.push(`not settled: ${(err as Error).message}`);
    }
    const recoveryMs = Date.now() - lastHealed;
    say(
      `settled in ${Math.round(recoveryMs / 1000)} s after the last fault${settled ? "" : " (NOT settled)"}`,
    );
    const invariants = await checkInvariants({
      fed,
      regions,
      centers,
      national: "nat",
      loanFeeMinor: BigInt(Math.round(Number(LOAN_FEE) * 100)),
      currency: "EUR",
      steadyMiB,
      sinceMs: began - 60_000,
      trafficWaitMs: Math.min(o.stallMs, 120_000),
    });
    const faultsByKind: ChaosReport["faultsByKind"] = {};
    for (const f of faults) faultsByKind[f.kind] = (faultsByKind[f.kind] ?? 0) + 1;
    return {
      seed: o.seed,
      nodes: fed.manifest.nodes.length,
      faults,
      faultsByKind,
      unavailable,
      traffic: t.counts,
      probes,
      invariants,
      recoveryMs,
      settled,
      wallMs: Date.now() - began,
      faultErrors,
      problems: t.problems,
    };
  } finally {
    traffic.t?.close();
    for (const n of fed.manifest.nodes) {
      const pid = fed.pid(n.id);
      if (pid) process.kill(pid, "SIGCONT");
    }
    await fed.stopAll("SIGKILL");
    await fed.closeProxies();
    if (disk) unmount(diskPath);
  }
}

/**
 * Removes a chaos run's directory, first unmounting a small filesystem a run cut short left under
 * it (a test whose hook timed out).
 */
export function removeChaosDir(dir: string): void {
  try {
    const mounts = readFileSync("/proc/mounts", "utf8")
      .split("\n")
      .map((l) => l.split(" ")[1] ?? "")
      .filter((m) => m.startsWith(`${dir}/`));
    for (const m of mounts) unmount(m);
  } catch {
    // No /proc: nothing was mounted.
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Applies one fault and heals it `holdMs` later. */
async function inject(fed: Federation, f: Fault, diskPath: string, faketime?: string): Promise<void> {
  switch (f.kind) {
    case "kill":
      await fed.stop(f.node, "SIGKILL");
      await sleep(f.holdMs);
      await startAgain(fed, f.node);
      return;
    case "hang": {
      const pid = fed.pid(f.node);
      if (!pid) return;
      process.kill(pid, "SIGSTOP");
      await sleep(f.holdMs);
      process.kill(pid, "SIGCONT");
      return;
    }
    case "link-drop":
    case "link-reset":
    case "link-slow": {
      const proxies = fed.linkProxies(f.node);
      const mode = f.kind === "link-drop" ? "drop" : f.kind === "link-reset" ? "reset" : "slow";
      for (const p of proxies) p.set(mode, f.amount);
      await sleep(f.holdMs);
      for (const p of proxies) p.set("pass");
      return;
    }
    case "clock":
      await fed.stop(f.node, "SIGTERM");
      await startAgain(fed, f.node, {
        LD_PRELOAD: faketime,
        FAKETIME: `+${f.amount}m`,
        FAKETIME_DONT_RESET: "1",
      });
      await sleep(f.holdMs);
      await fed.stop(f.node, "SIGTERM");
      await startAgain(fed, f.node);
      return;
    case "disk-full": {
      const filler = join(diskPath, "chaos-filler");
      const { bavail, bsize } = statfsSync(diskPath);
      const chunk = Buffer.alloc(1 << 20);
      try {
        writeFileSync(filler, "");
        for (let left = bavail * bsize; left > 0; left -= chunk.length)
          writeFileSync(filler, chunk, { flag: "a" });
      } catch {
        // ENOSPC: full, as meant.
      }
      await sleep(f.holdMs);
      unlinkSync(filler);
      return;
    }
  }
}

/** Starts a node again; a loaded machine may need a second try. */
async function startAgain(fed: Federation, id: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  let last: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fed.start(id, env);
      return;
    } catch (err) {
      last = err;
      await fed.stop(id, "SIGKILL");
      await sleep(1_000);
    }
  }
  throw last;
}

/**
 * Waits until no node has a message waiting in its outbox, for as long as the messages waiting
 * grow fewer (`stallMs` without that is a failure), and until `until` at most.
 */
async function waitQuiet(fed: Federation, stallMs: number, until: number): Promise<void> {
  let last = "";
  let fewest = Number.POSITIVE_INFINITY;
  let movedAt = Date.now();
  while (Date.now() - movedAt < stallMs && Date.now() < until) {
    try {
      const pending = await Promise.all(
        fed.manifest.nodes.map(async (n) => [n.id, (await fed.status(n.id)).outboxPending] as const),
      );
      const busy = pending.filter(([, p]) => p > 0);
      if (busy.length === 0) return;
      const total = busy.reduce((n, [, p]) => n + p, 0);
      if (total < fewest) {
        fewest = total;
        movedAt = Date.now();
      }
      last = busy.map(([id, p]) => `${id} ${p}`).join(", ");
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new Error(
    `outboxes not empty (${last}), none emptied for ${Math.round((Date.now() - movedAt) / 1000)} s`,
  );
}
