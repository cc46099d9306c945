#!/usr/bin/env node
// Complete cross-region interlibrary loans through the tiers: lifecycles per second and latency
// per hop (DESIGN.md flow 6), on a federation shaped like the demo.
//
//   npx tsc -b && node bench/ill.mjs [--loans 300] [--concurrency 20] [--titles 100] [--keep]
//
// 1. Starts a federation of real node processes with packages/dev-env, shaped like `npm start`'s
//    (national; north-center with north-univ, north-city, north-med; south-center with south-univ,
//    south-tech, south-arts), through the real enrollment flow. Every member's automatic responder
//    runs in scenario mode: a lender answers "scenario:loaned" by WillSupply and Loaned at once, and
//    checks the item in when its ShippedReturn arrives.
// 2. Each member imports `--titles` titles of its own (copies of the real sample records without
//    their identifiers, each given an ISBN of its own and two items), so every title has exactly one
//    holder; waits until the national union catalog has them all.
// 3. `--loans` loans, `--concurrency` at a time: a north member borrows a south member's title or the
//    other way round (alternating), each through IllStaffService at the borrowing node, the way
//    `lrs-member ill` does: Borrow (the regional center builds the rota, asking the national center
//    for the other region), wait for Loaned, Receive, Return, wait for LoanCompleted (polled every
//    100 ms). A lifecycle is from the Borrow call to the borrower's own timestamp of LoanCompleted;
//    lifecycles per second = loans / (last completion − start).
// 4. Per hop, from the nodes' own records (one machine, one clock): for every message of every loan,
//    Trace with follow at the borrower's regional center gives the time each center stored it and
//    when the next hop confirmed it; the borrower's and lender's message logs give the time the
//    message was written. Hops: member → its regional center, regional → national, national → the
//    other regional center, regional center → member (stored there: Deliver answered).
//
// The federation lives in bench/out/ill (deleted at the end unless --keep).
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Federation } from "@lrs/dev-env";
import { illServicePb } from "@lrs/shared";
import { createLoanRunner, importOwnTitles, scenarioLender } from "./loans.mjs";
import { ROOT } from "./records.mjs";
import { arg, dist, say, twoRegionSpec } from "./util.mjs";

const loans = Number(arg("--loans", "300"));
const concurrency = Number(arg("--concurrency", "20"));
const titles = Number(arg("--titles", "100"));
const keep = process.argv.includes("--keep");

const DIR = join(ROOT, "bench/out/ill");
const NORTH = ["north-univ", "north-city", "north-med"];
const SOUTH = ["south-univ", "south-tech", "south-arts"];
const SPEC = twoRegionSpec(NORTH.map(scenarioLender), SOUTH.map(scenarioLender));

const ms = (v) => (v === undefined ? "–" : `${v.toFixed(v < 10 ? 1 : 0)} ms`);

async function main() {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, "catalogs"), { recursive: true });
  say(`starting a federation of ${2 + NORTH.length + SOUTH.length + 1} nodes in ${DIR}`);
  const fed = await Federation.create(SPEC, { dir: DIR, logLevel: "warn" });
  const results = {};
  try {
    const holdings = await importOwnTitles(fed, [...NORTH, ...SOUTH], titles, join(DIR, "catalogs"));
    say(`imported ${holdings.size} titles; waiting for the national union catalog`);
    await fed.waitSynced(180_000);

    const runner = createLoanRunner(fed, { north: NORTH, south: SOUTH, holdings });
    const { staff } = runner;
    const { done, failures, started } = await runner.run({ loans, concurrency, progressEvery: 50 });
    const seconds = (Math.max(...done.map((d) => d.end)) - started) / 1000;
    say(`${done.length} loans in ${seconds.toFixed(1)} s (${failures.length} failed)`);
    if (failures.length) console.log(failures.slice(0, 10).join("\n"));

    // Per hop, from the nodes' records.
    const hops = {
      "member → regional": [],
      "regional → national": [],
      "national → regional": [],
      "regional → member": [],
    };
    const rcOf = (m) => (NORTH.includes(m) ? "north-center" : "south-center");
    for (const loan of done) {
      const trace = await fed.withClient(rcOf(loan.borrower), illServicePb.IllService, (c) =>
        c.trace({ requestId: loan.id, follow: true }),
      );
      const borrowerView = (await staff(loan.borrower).showRequest({ id: loan.id })).request;
      const written = new Map();
      for (const m of borrowerView.messages) if (m.direction === "out") written.set(m.messageId, m.at);
      const lenderId = (await staff(loan.lender).listRequests({ role: "lender" })).requests.find((r) =>
        r.requestingAgencyRequestId.startsWith(`${loan.id}/`),
      )?.id;
      if (lenderId) {
        const lenderView = (await staff(loan.lender).showRequest({ id: lenderId })).request;
        for (const m of lenderView.messages) if (m.direction === "out") written.set(m.messageId, m.at);
      }
      const byMessage = new Map();
      for (const h of trace.hops) {
        if (!byMessage.has(h.messageId)) byMessage.set(h.messageId, []);
        byMessage.get(h.messageId).push(h);
      }
      for (const [messageId, rows] of byMessage) {
        const at = (h) => timestampDate(h.receivedAt).getTime();
        const origin = rows.find((h) => h.receivedFrom === h.originAgencyId);
        const nat = rows.find((h) => h.nodeId === "national");
        const last = rows.find((h) => h.nextHop === h.destinationAgencyId);
        const w = written.get(messageId);
        if (origin && w) hops["member → regional"].push(at(origin) - timestampDate(w).getTime());
        if (origin && nat) hops["regional → national"].push(at(nat) - at(origin));
        const far = rows.find((h) => h !== origin && h.nodeId !== "national");
        if (nat && far) hops["national → regional"].push(at(far) - at(nat));
        if (last?.forwardedAt)
          hops["regional → member"].push(timestampDate(last.forwardedAt).getTime() - at(last));
      }
    }
    runner.close();
    results.lifecycles = dist(done.map((d) => d.ms));
    results.throughput = done.length / seconds;
    results.hops = Object.fromEntries(Object.entries(hops).map(([k, v]) => [k, dist(v)]));
    console.log(
      `\n${loans} cross-region loans, ${concurrency} at a time, ${cpus().length} cores: ${results.throughput.toFixed(1)} complete lifecycles/s`,
    );
    console.log("| | n | p50 | p95 | p99 | max | mean |\n|---|---:|---:|---:|---:|---:|---:|");
    const row = (name, d) =>
      d &&
      console.log(
        `| ${name} | ${d.n} | ${ms(d.p50)} | ${ms(d.p95)} | ${ms(d.p99)} | ${ms(d.max)} | ${ms(d.mean)} |`,
      );
    row("whole lifecycle (borrow → completed)", results.lifecycles);
    for (const [k, d] of Object.entries(results.hops)) row(`hop: ${k}`, d);
    writeFileSync(join(ROOT, "bench/out/ill.json"), JSON.stringify(results, null, 2));
  } finally {
    await fed.stopAll();
    if (!keep) rmSync(DIR, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
