#!/usr/bin/env node
// What traffic accounting costs on the hot path (issue 7: "search and ILL throughput within 5% with
// accounting on and off"): the same federation, the same load, with `[traffic] enabled` false and
// true (the default minute between writes, and one second, the busiest it gets).
//
//   npm run build && node bench/traffic.mjs [--rounds 6] [--seconds 15] [--clients 8] [--loans 90]
//                                          [--concurrency 10] [--titles 60] [--busy] [--keep]
//
// 0. In one process, no network: what counting costs per call — the recorder alone, with the
//    Prometheus metrics, and the interceptor around a unary and a server-streaming call over
//    Connect's in-memory router transport (a machine's background load hardly moves these).
// 1. A federation of real node processes (packages/dev-env, the real enrollment flow): national;
//    north-center with north-univ and north-city; south-center with south-univ. Every member's
//    automatic responder in scenario mode ("scenario:loaned": WillSupply and Loaned at once, check-in
//    when the item comes back), timers every 100 ms.
// 2. Each member imports `--titles` titles of its own (copies of the real sample records, each with
//    an ISBN of its own and two items), so every title has one holder; waits for the national union
//    catalog to have them all.
// 3. Rounds of the modes — off, and on as configured by default (counts written and reported every
//    minute); with --busy also on with writes every second (the demo writes every 5 s) — each round
//    in its own shuffled order so that the machine's drift does not fall on one mode; before each,
//    every node is restarted with the mode's environment (*_TRAFFIC_ENABLED,
//    *_TRAFFIC_FLUSH_INTERVAL):
//    - search: `--clients` clients searching back to back for `--seconds` seconds at north-univ
//      (LOCAL: one node, one interceptor) and then at north-city (REGION: member → regional center,
//      two nodes); throughput = searches answered / seconds;
//    - ILL: `--loans` cross-region loans, `--concurrency` at a time, each Borrow → Loaned → receive →
//      return → LoanCompleted through IllStaffService at the borrower (as bench/ill.mjs); throughput
//      = lifecycles / (last completion − start). Every message crosses five interceptors
//      (member → regional → national → regional → member) and back.
// Reported: the median of each mode over the rounds with its lowest and highest figure (the spread
// is the machine's noise), and the median of the rounds' ratios to "off" (each round's modes ran
// one after the other, so the ratio cancels the drift between rounds). The federation lives in
// bench/out/traffic (deleted unless --keep).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { createClient, createRouterTransport } from "@connectrpc/connect";
import { Federation } from "@lrs/dev-env";
import {
  createTrafficInterceptor,
  peerKey,
  searchPb,
  Tier,
  TrafficMetrics,
  TrafficRecorder,
} from "@lrs/shared";
import { createLoanRunner, importOwnTitles, scenarioLender } from "./loans.mjs";
import { ROOT } from "./records.mjs";
import { arg, median, say, twoRegionSpec } from "./util.mjs";

const rounds = Number(arg("--rounds", "6"));
const seconds = Number(arg("--seconds", "15"));
const clients = Number(arg("--clients", "8"));
const loans = Number(arg("--loans", "90"));
const concurrency = Number(arg("--concurrency", "10"));
const titles = Number(arg("--titles", "60"));
const keep = process.argv.includes("--keep");
const busy = process.argv.includes("--busy");

const DIR = join(ROOT, "bench/out/traffic");
const NORTH = ["north-univ", "north-city"];
const SOUTH = ["south-univ"];
const SPEC = twoRegionSpec(NORTH.map(scenarioLender), SOUTH.map(scenarioLender));

const envFor = (enabled, flush) =>
  Object.fromEntries(
    ["MEMBER", "REGIONAL", "NATIONAL"].flatMap((t) => [
      [`${t}_TRAFFIC_ENABLED`, String(enabled)],
      [`${t}_TRAFFIC_FLUSH_INTERVAL`, flush],
    ]),
  );
const MODES = [
  { name: "off", env: envFor(false, "60s") },
  { name: "on (writes every minute)", env: envFor(true, "60s") },
  ...(busy ? [{ name: "on (writes every second)", env: envFor(true, "1s") }] : []),
];
const TERMS = ["history", "science", "music", "law", "medicine", "war", "art", "water", "theory", "children"];

/** A deterministic shuffle (the order of modes in round r). */
function shuffled(xs, r) {
  const out = [...xs];
  let seed = 7 + r * 7919;
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 48271) % 2147483647;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** Part 0: microseconds per call, in one process. */
async function micro() {
  const perCall = async (n, fn) => {
    let best = Number.POSITIVE_INFINITY;
    for (let round = 0; round < 5; round++) {
      const t0 = performance.now();
      for (let i = 0; i < n; i++) await fn(i);
      best = Math.min(best, ((performance.now() - t0) * 1000) / n);
    }
    return best;
  };
  const metrics = new TrafficMetrics({ id: "n", tier: "member", region: "north", version: "bench" });
  const bare = new TrafficRecorder({ nodeId: "n" });
  const full = new TrafficRecorder({ nodeId: "n", sink: metrics });
  const count = (r) => (i) => {
    r.add("rpc", "lrs.v1.SearchService/Search", i & 1 ? "north-a" : "north-b", "n", 1.5);
    r.add("search", "local", i & 1 ? "north-a" : "north-b", "n", 1.5);
  };
  const recorderOnly = await perCall(200_000, count(bare));
  const withMetrics = await perCall(200_000, count(full));
  const peer = (next) => (req) => {
    req.contextValues.set(peerKey, {
      presented: true,
      authorized: true,
      identity: { id: "north-a", tier: Tier.MEMBER, region: "north" },
      fingerprint256: "x",
    });
    return next(req);
  };
  const routes = (router) =>
    router.service(searchPb.SearchService, {
      async *search() {
        yield create(searchPb.SearchResponseSchema, { final: true });
      },
      async checkAvailability() {
        return create(searchPb.CheckAvailabilityResponseSchema, {});
      },
    });
  const calls = {};
  for (const [name, interceptors] of [
    ["without", [peer]],
    ["with", [peer, createTrafficInterceptor(full, { id: "n", tier: Tier.MEMBER })]],
  ]) {
    const c = createClient(
      searchPb.SearchService,
      createRouterTransport(routes, { router: { interceptors } }),
    );
    calls[name] = {
      stream: await perCall(10_000, async () => {
        for await (const _ of c.search({ query: "x" })) void _;
      }),
      unary: await perCall(10_000, () => c.checkAvailability({})),
    };
    full.flush();
  }
  return { recorderOnly, withMetrics, calls };
}

async function searchLoad(fed, member, scope) {
  const t = fed.transport(member);
  const c = createClient(searchPb.SearchService, t.transport);
  let done = 0;
  let failed = 0;
  const until = Date.now() + seconds * 1000;
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, k) => {
        let i = k;
        while (Date.now() < until) {
          try {
            for await (const _page of c.search({ query: TERMS[i++ % TERMS.length], scope, pageSize: 10 }))
              void _page;
            done++;
          } catch {
            failed++;
          }
        }
      }),
    );
  } finally {
    t.close();
  }
  return { perSecond: done / ((Date.now() - started) / 1000), failed };
}

async function illLoad(fed, holdings) {
  const runner = createLoanRunner(fed, { north: NORTH, south: SOUTH, holdings });
  try {
    const { done, failures, started } = await runner.run({ loans, concurrency });
    return {
      perSecond: done.length / ((Math.max(...done.map((d) => d.end)) - started) / 1000),
      failed: failures.length,
    };
  } finally {
    runner.close();
  }
}

async function main() {
  const m = await micro();
  console.log("\ncost per call, in one process (best of 5 runs):");
  console.log("| | µs per call |\n|---|---:|");
  console.log(`| counting an RPC and its search figure (recorder) | ${m.recorderOnly.toFixed(2)} |`);
  console.log(`| the same, with the Prometheus metrics | ${m.withMetrics.toFixed(2)} |`);
  for (const k of ["unary", "stream"]) {
    const d = m.calls.with[k] - m.calls.without[k];
    console.log(
      `| a ${k === "unary" ? "unary" : "server-streaming"} call over the in-memory transport: ${m.calls.without[k].toFixed(1)} µs without the interceptor, ${m.calls.with[k].toFixed(1)} with | ${d >= 0 ? "+" : ""}${d.toFixed(1)} |`,
    );
  }
  console.log();
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, "catalogs"), { recursive: true });
  say(`starting a federation of ${3 + NORTH.length + SOUTH.length} nodes in ${DIR}`);
  let fed = await Federation.create(SPEC, { dir: DIR, logLevel: "warn", env: MODES[0].env });
  try {
    const holdings = await importOwnTitles(fed, [...NORTH, ...SOUTH], titles, join(DIR, "catalogs"));
    await fed.waitSynced(180_000);
    say(`imported ${holdings.size} titles`);

    const results = Object.fromEntries(MODES.map((m) => [m.name, { local: [], region: [], ill: [] }]));
    for (let r = 0; r < rounds; r++) {
      for (const mode of shuffled(MODES, r)) {
        await fed.stopAll();
        fed = Federation.open({ dir: DIR, logLevel: "warn", env: mode.env });
        await fed.startAll();
        await fed.waitSynced(60_000);
        const local = await searchLoad(fed, "north-univ", searchPb.Scope.LOCAL);
        const region = await searchLoad(fed, "north-city", searchPb.Scope.REGION);
        const ill = await illLoad(fed, holdings);
        const res = results[mode.name];
        res.local.push(local.perSecond);
        res.region.push(region.perSecond);
        res.ill.push(ill.perSecond);
        say(
          `round ${r + 1}, traffic ${mode.name}: LOCAL ${local.perSecond.toFixed(0)}/s, REGION ${region.perSecond.toFixed(0)}/s, ILL ${ill.perSecond.toFixed(2)} lifecycles/s` +
            (local.failed + region.failed + ill.failed
              ? ` (${local.failed + region.failed + ill.failed} failed)`
              : ""),
        );
      }
    }
    const off = results[MODES[0].name];
    const rel = (v, base) => `${v >= base ? "+" : ""}${(((v - base) / base) * 100).toFixed(1)}%`;
    console.log(
      `\n${rounds} rounds, ${seconds} s of search per target with ${clients} clients, ${loans} loans ${concurrency} at a time, ${cpus().length} cores; medians:`,
    );
    console.log(
      "| traffic accounting | LOCAL searches/s | REGION searches/s | ILL lifecycles/s |\n|---|---:|---:|---:|",
    );
    // The median of the rounds' ratios to "off" (same round: same state of the machine).
    const cell = (xs, base, digits) => {
      const v = median(xs);
      const spread = `${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)}`;
      const paired = base === undefined ? undefined : median(xs.map((x, i) => x / base[i]));
      return `${v.toFixed(digits)} [${spread}]${paired === undefined ? "" : ` ${rel(paired, 1)}`}`;
    };
    for (const mode of MODES) {
      const r = results[mode.name];
      const base = mode === MODES[0] ? {} : off;
      console.log(
        `| ${mode.name} | ${cell(r.local, base.local, 0)} | ${cell(r.region, base.region, 0)} | ${cell(r.ill, base.ill, 2)} |`,
      );
    }
    writeFileSync(join(ROOT, "bench/out/traffic.json"), JSON.stringify({ micro: m, results }, null, 2));
  } finally {
    await fed.stopAll();
    if (!keep) rmSync(DIR, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
