#!/usr/bin/env node
// A popular book held by many libraries (issue 17): how long a regional center takes to know
// every holder's availability, how many calls it keeps open at once, and what it costs in memory.
//
//   npx tsc -b && node bench/availability.mjs [--holders 500] [--lookup-ms 0,50,300] [--rounds 5]
//
// The asking side is this process, running the regional center's own code: `askMembers` (what
// SearchService.CheckAvailability and a search's availability call at a regional center) over
// `PeerClients` (the connections a center keeps to its members), with the default deadline of a
// call (DEFAULT_DEADLINE_MS). The holders are another process (`holders` below): one mutual-TLS
// gRPC listener per simulated library, each with its own certificate from a CA made for the run,
// each answering CheckAvailability through LRS's RpcServer (authorization, limits) after
// `--lookup-ms` (a library answering from its imported item status: 0; asking its ILS over NCIP:
// tens to hundreds of ms), ±50% jitter. The holders count calls in progress across all
// listeners: the peak is the number of calls the center had open at once.
//
// Each lookup time is run twice: with the fan-out's bound (AVAILABILITY_CONCURRENCY, what the center
// does) and unbounded (every holder at once, what the code did before the bound), for comparison.
// The first round of each opens the TLS connections (cold); the others reuse them (warm).
import { fork } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import {
  AVAILABILITY_CONCURRENCY,
  createCertificateAuthority,
  createLogger,
  DEFAULT_DEADLINE_MS,
  describeCertificate,
  directoryPb,
  fanOut,
  federation,
  issueCertificate,
  RpcServer,
  searchPb,
  Tier,
} from "@lrs/shared";
import { askMembers, heldRecords, PeerClients } from "@lrs/shared/center";
import { ROOT } from "./records.mjs";
import { arg, dist, say } from "./util.mjs";

const OUT = join(ROOT, "bench/out");
const REGION = "bench";

if (process.argv[2] === "holders") await holders();
else await main();

/** The simulated libraries: one listener each, answering after the lookup time. */
async function holders() {
  const { caPem, holders: list } = JSON.parse(readFileSync(arg("--file"), "utf8"));
  let lookupMs = 0;
  let inFlight = 0;
  let peak = 0;
  let calls = 0;
  const log = createLogger({ name: "holders", level: "warn" });
  const servers = [];
  const endpoints = {};
  for (const h of list) {
    const identity = { id: h.id, tier: Tier.MEMBER, region: REGION };
    const server = new RpcServer({
      listen: "127.0.0.1:0",
      tls: { identity, keyPem: h.keyPem, certPem: h.certPem, caPem, cert: describeCertificate(h.certPem) },
      policy: {
        rules: Object.fromEntries(
          [
            "lrs.v1.SearchService/CheckAvailability",
            ...["Check", "List", "Watch"].map((m) => `grpc.health.v1.Health/${m}`),
          ].map((m) => [m, federation]),
        ),
        open: new Set(),
      },
      isRevoked: () => false,
      log,
      serviceNames: [],
      routes: (router) =>
        router.rpc(searchPb.SearchService.method.checkAvailability, async (req) => {
          calls++;
          peak = Math.max(peak, ++inFlight);
          try {
            if (lookupMs > 0) await new Promise((r) => setTimeout(r, lookupMs * (0.5 + Math.random())));
            return create(searchPb.CheckAvailabilityResponseSchema, {
              institutions: [
                {
                  institutionId: h.id,
                  state: searchPb.Availability.AVAILABLE,
                  items: req.records.map((r) => ({
                    barcode: `${r.recordId}/1`,
                    callNumber: "BENCH",
                    location: "MAIN",
                    state: searchPb.Availability.AVAILABLE,
                  })),
                },
              ],
            });
          } finally {
            inFlight--;
          }
        }),
    });
    endpoints[h.id] = await server.listen();
    servers.push(server);
  }
  process.on("message", async (m) => {
    if (m.cmd === "set") {
      lookupMs = m.lookupMs;
      peak = 0;
      calls = 0;
      process.send({ ok: true });
    } else if (m.cmd === "stats") process.send({ peak, calls, rssMb: process.memoryUsage.rss() / 1048576 });
    else if (m.cmd === "stop") {
      await Promise.all(servers.map((s) => s.close(1000)));
      process.exit(0);
    }
  });
  process.send({ endpoints });
}

async function main() {
  const n = Number(arg("--holders", "500"));
  const lookups = arg("--lookup-ms", "0,50,300").split(",").map(Number);
  const rounds = Number(arg("--rounds", "5"));
  mkdirSync(OUT, { recursive: true });
  say(`making a CA and ${n + 1} certificates`);
  const ca = await createCertificateAuthority("bench");
  const center = { id: "bench-rc", tier: Tier.REGIONAL, region: REGION };
  const centerCert = await issueCertificate(ca, ["127.0.0.1"], { identity: center });
  const list = [];
  for (let i = 0; i < n; i++) {
    const id = `lib-${String(i).padStart(4, "0")}`;
    list.push({
      id,
      ...(await issueCertificate(ca, ["127.0.0.1"], { identity: { id, tier: Tier.MEMBER, region: REGION } })),
    });
  }
  const file = join(OUT, "availability-holders.json");
  writeFileSync(file, JSON.stringify({ caPem: ca.certPem, holders: list }));
  const child = fork(join(ROOT, "bench/availability.mjs"), ["holders", "--file", file], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const replies = [];
  let waiting;
  child.on("message", (m) => {
    if (waiting) {
      const w = waiting;
      waiting = undefined;
      w(m);
    } else replies.push(m);
  });
  const ask = (m) =>
    new Promise((resolve) => {
      waiting = resolve;
      if (m) child.send(m);
    });
  const { endpoints } = await ask();
  rmSync(file);
  say(`${n} holders listening`);

  const directory = create(directoryPb.DirectorySchema, {
    version: 1n,
    institutions: list.map((h) => ({
      id: h.id,
      name: h.id,
      tier: Tier.MEMBER,
      region: REGION,
      endpoint: endpoints[h.id],
    })),
  });
  const source = { current: () => directory, onChange: () => () => {}, isRevoked: () => false };
  const tls = {
    identity: center,
    keyPem: centerCert.keyPem,
    certPem: centerCert.certPem,
    caPem: ca.certPem,
    cert: describeCertificate(centerCert.certPem),
  };
  const records = heldRecords(list.map((h) => ({ institutionId: h.id, recordId: `${h.id}-r1` })));

  // Unbounded: what the center did before the bound — every holder asked at the same moment.
  const askAll = async (peers) => {
    const { results, coverage } = await fanOut(
      list.map((h) => h.id),
      DEFAULT_DEADLINE_MS,
      (id, signal, timeoutMs) =>
        peers
          .client(searchPb.SearchService, id)
          .checkAvailability(
            { records: records.filter((r) => r.institutionId === id) },
            { signal, timeoutMs },
          ),
      (v) => v.institutions.length,
      false,
      n,
    );
    return { answered: results.length, coverage };
  };
  const askBounded = async (peers) => {
    const { institutions, coverage } = await askMembers(peers, records, DEFAULT_DEADLINE_MS);
    return {
      answered: institutions.filter((i) => i.state !== searchPb.Availability.UNKNOWN).length,
      coverage,
    };
  };

  const rows = [];
  for (const lookupMs of lookups) {
    for (const [mode, run] of [
      [`bounded (${AVAILABILITY_CONCURRENCY} at once)`, askBounded],
      ["unbounded", askAll],
    ]) {
      await ask({ cmd: "set", lookupMs });
      const peers = new PeerClients(source, tls);
      const times = [];
      let answered = 0;
      let notAsked = 0;
      let cold;
      let rssPeak = process.memoryUsage.rss();
      const sampler = setInterval(() => {
        rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
      }, 20);
      for (let r = 0; r < rounds; r++) {
        const t0 = performance.now();
        const res = await run(peers);
        const ms = performance.now() - t0;
        if (r === 0) cold = ms;
        else times.push(ms);
        answered = Math.min(r === 0 ? Infinity : answered, res.answered);
        notAsked = Math.max(notAsked, res.coverage.filter((c) => c.detail.startsWith("not asked")).length);
      }
      clearInterval(sampler);
      const stats = await ask({ cmd: "stats" });
      peers.close();
      const warm = dist(times);
      const row = {
        lookupMs,
        mode,
        coldMs: Math.round(cold),
        warmP50Ms: warm ? Math.round(warm.p50) : undefined,
        warmMaxMs: warm ? Math.round(warm.max) : undefined,
        answeredMin: answered,
        notAskedMax: notAsked,
        peakOpenCalls: stats.peak,
        calls: stats.calls,
        centerPeakRssMb: Math.round(rssPeak / 1048576),
      };
      rows.push(row);
      say(JSON.stringify(row));
    }
  }
  await ask({ cmd: "stop" }).catch(() => {});
  child.kill();
  console.log(
    "\n| lookup at each holder | fan-out | first round (connects) | later rounds p50 / max | holders answered (of " +
      `${n}) | not asked | peak calls open | center peak RSS |\n|---|---|---:|---:|---:|---:|---:|---:|`,
  );
  for (const r of rows)
    console.log(
      `| ${r.lookupMs} ms ±50% | ${r.mode} | ${r.coldMs} ms | ${r.warmP50Ms} / ${r.warmMaxMs} ms | ${r.answeredMin} | ${r.notAskedMax} | ${r.peakOpenCalls} | ${r.centerPeakRssMb} MB |`,
    );
}
