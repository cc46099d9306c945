#!/usr/bin/env node
// Settling a period at the national center: time and peak memory to settle `--entries` ledger
// postings (DESIGN.md flow 6, "the national center settles net balances").
//
//   npx tsc -b && node bench/settle.mjs [--entries 1000000] [--institutions 200] [--regions 10]
//                                       [--batch 5000] [--keep]
//
// 1. Generates `--entries` postings in one month (packages/national-center ledger/generate.ts:
//    charges between `--institutions` members spread over `--regions` regions, 5% of them reversals
//    of earlier charges), seeded, so every run settles the same ledger.
// 2. Loads them through LedgerStore.post — the code PostEntries runs, with the same checks and the
//    same double-entry lines — into a fresh national database (all the national center's
//    migrations, the node's pragmas: WAL, synchronous = FULL), `--batch` postings per transaction.
// 3. In a fresh process (so that its peak RSS is the settlement's, not the loader's): a dry run
//    (what `lrs-national ledger` computes), the settlement (LedgerStore.settle: aggregation,
//    statements, storing them with the settled flag, one transaction), settling again (the stored
//    statements, digest checked) — each timed; the process's peak RSS (getrusage maxrss) after each.
// 4. Checks the ledger: every currency sums to zero, every posting has one debit and one equal credit.
//
// The database lives in bench/out/settle (deleted at the end unless --keep).
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { generatePostings, LedgerStore, nationalNodeMigrations } from "@lrs/national-center";
import { Database, sharedMigrations } from "@lrs/shared";
import { ROOT } from "./records.mjs";
import { arg, say } from "./util.mjs";

const PERIOD = "2026-10";
const mb = (kb) => Math.round(kb / 1024);
/** Peak resident set size of this process so far, in kB. */
const peakKb = () => process.resourceUsage().maxRSS;

if (arg("--phase", "") === "settle") settlePhase(arg("--db", ""));
else loadPhase();

function loadPhase() {
  const entries = Number(arg("--entries", "1000000"));
  const institutions = Number(arg("--institutions", "200"));
  const regions = Number(arg("--regions", "10"));
  const batch = Number(arg("--batch", "5000"));
  const keep = process.argv.includes("--keep");
  const DIR = join(ROOT, "bench/out/settle");
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(DIR, { recursive: true });
  const dbPath = join(DIR, "node.db");

  const db = Database.open(dbPath, [...sharedMigrations, ...nationalNodeMigrations()]);
  const ledger = new LedgerStore(db);
  const regionOf = (id) => `gen-r${Number(id.slice(5)) % regions}`;
  say(`loading ${entries} postings among ${institutions} institutions in ${regions} regions into ${dbPath}`);
  const t0 = performance.now();
  let pending = [];
  let loaded = 0;
  let lastSay = t0;
  for (const p of generatePostings({ count: entries, period: PERIOD, institutions, regions, seed: 42 })) {
    pending.push(p);
    if (pending.length === batch) {
      ledger.post(pending, { receivedFrom: "bench", regionOf });
      loaded += pending.length;
      pending = [];
      if (performance.now() - lastSay > 5000) {
        lastSay = performance.now();
        say(`  ${loaded} loaded (${Math.round(loaded / ((lastSay - t0) / 1000))}/s)`);
      }
    }
  }
  if (pending.length) ledger.post(pending, { receivedFrom: "bench", regionOf });
  const loadMs = performance.now() - t0;
  db.sqlite.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  const size = statSync(dbPath).size;
  say(
    `loaded ${entries} postings in ${(loadMs / 1000).toFixed(1)} s (${Math.round(entries / (loadMs / 1000))}/s); database ${Math.round(size / 1024 / 1024)} MB`,
  );

  const child = spawnSync(
    process.execPath,
    [fileURLToPath(import.meta.url), "--phase", "settle", "--db", dbPath],
    {
      stdio: ["ignore", "pipe", "inherit"],
      encoding: "utf8",
    },
  );
  if (child.status !== 0) throw new Error(`the settlement process failed (exit ${child.status})`);
  const settled = JSON.parse(child.stdout);
  if (!keep) rmSync(DIR, { recursive: true, force: true });
  console.log(
    JSON.stringify(
      {
        entries,
        institutions,
        regions,
        loadSeconds: +(loadMs / 1000).toFixed(1),
        postingsPerSecond: Math.round(entries / (loadMs / 1000)),
        dbMB: Math.round(size / 1024 / 1024),
        ...settled,
      },
      null,
      2,
    ),
  );
}

function settlePhase(dbPath) {
  const timed = (what, fn) => {
    const t0 = performance.now();
    const result = fn();
    const s = (performance.now() - t0) / 1000;
    say(`${what}: ${s.toFixed(2)} s; peak RSS so far ${mb(peakKb())} MB`, process.stderr);
    return { result, s };
  };
  const db = Database.open(dbPath, [...sharedMigrations, ...nationalNodeMigrations()]);
  const ledger = new LedgerStore(db);
  const baseKb = peakKb();
  say(`settlement process: database open, peak RSS ${mb(baseKb)} MB`, process.stderr);
  const dry = timed("dry run (lrs-national ledger)", () => ledger.settle(PERIOD, { dryRun: true }));
  const dryKb = peakKb();
  const first = timed("settle", () => ledger.settle(PERIOD));
  const settleKb = peakKb();
  const again = timed("settle again (stored statements, digest checked)", () => ledger.settle(PERIOD));
  if (
    !again.result.alreadySettled ||
    again.result.digest !== first.result.digest ||
    dry.result.digest !== first.result.digest
  )
    throw new Error("settling again gave something else");
  const check = timed("verify (sums to zero; one debit + one equal credit per posting)", () =>
    ledger.verify(),
  );
  const c = check.result;
  if (c.unbalancedCurrencies.length || c.unbalancedEntries.length || c.missingLines)
    throw new Error("the ledger does not balance");
  const r = first.result;
  say(
    `${r.entries} entries → ${r.statements.length} statements, ${r.statements.reduce((n, s) => n + s.lines.length, 0)} statement lines, ${r.regions.length} regions; digest ${r.digest}`,
    process.stderr,
  );
  db.close();
  process.stdout.write(
    JSON.stringify({
      statements: r.statements.length,
      statementLines: r.statements.reduce((n, s) => n + s.lines.length, 0),
      digest: r.digest,
      baselineRssMB: mb(baseKb),
      dryRunSeconds: +dry.s.toFixed(2),
      dryRunPeakRssMB: mb(dryKb),
      settleSeconds: +first.s.toFixed(2),
      settlePeakRssMB: mb(settleKb),
      settleAgainSeconds: +again.s.toFixed(2),
      verifySeconds: +check.s.toFixed(2),
    }),
  );
}
