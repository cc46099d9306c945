#!/usr/bin/env node
// The long chaos run: a federation of real node processes (the national center, three regional
// centers, three members each: 13 nodes, a TCP proxy on every link) under cross-region loans,
// article copies (every fifth request), searches at every scope and catalog changes, while a
// seeded schedule kills (-9) and restarts nodes, hangs them (SIGSTOP/SIGCONT), cuts, resets and
// slows links, sets a member's clock minutes off (libfaketime) and fills a member's disk (a small
// tmpfs: needs root). Then the faults stop, the federation settles, and the invariants are checked
// (packages/dev-env/src/chaos/invariants.ts). Prints loans completed, faults by kind, invariant
// violations and the recovery time after the last fault; exits 1 on a violation.
//
//   npx tsc -b && node bench/chaos.mjs --loans 300 --seed 1 [--minutes 10] [--regions 3]
//     [--members 3] [--concurrency 8] [--gap 3] [--hold 8] [--probes] [--json]
//
// --minutes: how long faults are injected; --gap: mean seconds between faults; --hold: the
// longest a fault lasts (s). The federation lives in bench/out/chaos (deleted at the end).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { runChaos } from "@lrs/dev-env";
import { handleStrayRejections, initLogging } from "@lrs/shared";
import { ROOT } from "./records.mjs";
import { arg, say } from "./util.mjs";

if (process.argv.includes("--help")) {
  console.log(
    "usage: node bench/chaos.mjs --loans N --seed S [--minutes M] [--regions 2|3] [--members N] [--concurrency C] [--gap S] [--hold S] [--probes] [--json]",
  );
  process.exit(0);
}
const json = process.argv.includes("--json");
// The harness's own clients meet nodes that are killed and restarted: connect-node's session
// manager can leave a refused connection attempt nobody awaits, which must not end the run.
handleStrayRejections(initLogging({ level: "warn", pretty: false }));
// The harness imports and deletes records through the members' CLIs while the machine is loaded.
process.env.LRS_CLI_TIMEOUT_MS ??= "180000";
const seed = Number(arg("--seed", String(Date.now() % 100_000)));
const loans = Number(arg("--loans", "300"));
const minutes = Number(arg("--minutes", "10"));
const opts = {
  dir: join(ROOT, "bench/out/chaos"),
  seed,
  regions: Number(arg("--regions", "3")),
  membersPerRegion: Number(arg("--members", "3")),
  titles: 40,
  loans,
  concurrency: Number(arg("--concurrency", "8")),
  faultMs: minutes * 60_000,
  meanGapMs: Number(arg("--gap", "3")) * 1000,
  maxHoldMs: Number(arg("--hold", "8")) * 1000,
  stallMs: 120_000,
  settleMs: 600_000,
  probes: process.argv.includes("--probes"),
  say: (line) => say(line, json ? process.stderr : process.stdout),
};
const report = await runChaos(opts);
writeFileSync(
  join(ROOT, "bench/out/chaos.json"),
  JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? String(v) : v), 2),
);
if (json) console.log(JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? String(v) : v)));
else {
  const t = report.traffic;
  console.log(`\nchaos run, seed ${seed}: ${report.nodes} nodes, ${Math.round(report.wallMs / 1000)} s`);
  console.log(
    `loans started ${t.loansStarted}, completed ${t.loansCompleted}, copies completed ${t.copiesCompleted}, unfilled ${t.loansUnfilled}, borrow failures ${t.borrowFailures}`,
  );
  console.log(
    `searches ${t.searches} (${t.searchFailures} failed), catalog changes ${t.catalogChanges} (${t.catalogFailures} failed)`,
  );
  console.log(
    `faults ${report.faults.length}: ${Object.entries(report.faultsByKind)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ")}${report.unavailable.length ? `; not injected: ${report.unavailable.join("; ")}` : ""}`,
  );
  for (const p of report.probes)
    console.log(
      `probe: ${p.name} with ${p.hung} hung: ${p.elapsedMs} ms (budget ${p.budgetMs} ms) ${p.ok ? "ok" : "FAILED"}`,
    );
  console.log(
    `recovery after the last fault: ${(report.recoveryMs / 1000).toFixed(1)} s${report.settled ? "" : " (NOT settled)"}`,
  );
  console.log(
    `requests checked: ${report.invariants.requests.borrower} borrower, ${report.invariants.requests.lender} lender, ${report.invariants.requests.moving} still moving`,
  );
  console.log(`invariant violations: ${report.invariants.violations.length}`);
  for (const v of report.invariants.violations.slice(0, 30)) console.log(`  ${v}`);
  for (const e of report.faultErrors) console.log(`  fault error: ${e}`);
  for (const p of report.problems) console.log(`  traffic problem: ${p}`);
}
process.exit(report.invariants.violations.length === 0 && report.settled ? 0 : 1);
