#!/usr/bin/env node
// Time for a change at a member to be visible at the national center, under a steady stream of
// changes (DESIGN.md flow 2: member change log → regional union catalog → national union catalog).
//
//   npx tsc -b && node bench/sync-latency.mjs [--rate 20] [--seconds 60] [--sample 10] [--poll-ms 10]
//                                             [--initial 20000] [--keep] [--dump FILE.csv]
//
// 1. Starts a federation of real node processes with packages/dev-env (national "nat", regional
//    "bench-rc", members "lib-a" and "lib-b"), through the real enrollment flow.
// 2. Initial load with the real `lrs-member import`: lib-a gets every sample record of data/marc,
//    lib-b the UVA and LC sets (so that the same books from two libraries merge), and lib-a also
//    `--initial` generated copies (bench/records.mjs, without 010/020/022/035 so that copies of one
//    book do not all merge); waits until the national union catalog holds every member record.
// 3. The stream: `--rate` changes per second for `--seconds` at lib-a, each a new record with an id of
//    its own ("live-…", a copy of a sample record without strong keys, title varied), written by
//    this process through MemberCatalog straight into lib-a's SQLite database (WAL; the node's
//    sync pusher, in the node's process, finds the change when it next polls its change log, every
//    500 ms when idle). Every `--sample`-th change is then looked up with CatalogService.LocateRecord
//    at the national center every `--poll-ms` until it returns a cluster; the latency is from the
//    commit of the change to the first answer with a cluster.
// 4. Per hop, for every change of the stream, from the nodes' own timestamps (one machine, one
//    clock; millisecond resolution): the member's commit → received_at of the record in the
//    regional union catalog → received_at in the national union catalog.
//
// The federation lives in bench/out/sync-latency (deleted at the end unless --keep). --dump writes
// the timestamps of every change of the stream as CSV.
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { BIN, Federation, sleep } from "@lrs/dev-env";
import { MemberCatalog, memberMigrations } from "@lrs/member-node";
import { catalogPb, Database, sharedMigrations, toIso2709 } from "@lrs/shared";
import BetterSqlite3 from "better-sqlite3";
import { copyOf, loadSamples, ROOT, sampleFiles } from "./records.mjs";
import { arg, benchSpec, dist, say } from "./util.mjs";

const rate = Number(arg("--rate", "20"));
const seconds = Number(arg("--seconds", "60"));
const sampleEvery = Number(arg("--sample", "10"));
const pollMs = Number(arg("--poll-ms", "10"));
const initial = Number(arg("--initial", "20000"));
const keep = process.argv.includes("--keep");
const dump = arg("--dump", undefined);

const DIR = join(ROOT, "bench/out/sync-latency");
const SPEC = benchSpec([
  { id: "lib-a", name: "Benchmark Library A" },
  { id: "lib-b", name: "Benchmark Library B" },
]);

const ms = (v) => (v === undefined ? "–" : `${Math.round(v)} ms`);

/** CPU seconds (user + system) of a process so far, from /proc. */
function cpuSeconds(pid) {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
    return (Number(rest[11]) + Number(rest[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

rmSync(DIR, { recursive: true, force: true });
const { records: samples } = await loadSamples();
say(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}; ${samples.length} sample records`,
);

let fed;
let memberDb;
let natTransport;
try {
  const t0 = performance.now();
  fed = await Federation.create(SPEC, { dir: DIR, logLevel: "warn" });
  say(
    `federation up in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${fed.manifest.nodes.map((n) => n.id).join(", ")}`,
  );

  // --- initial load, through the real CLI ---------------------------------------------------
  const a = fed.node("lib-a");
  const b = fed.node("lib-b");
  const files = sampleFiles();
  const initialFiles = [...files];
  if (initial > 0) {
    const path = join(DIR, "initial.mrc");
    const bufs = [];
    for (let j = 0; j < initial; j++) {
      bufs.push(
        toIso2709(
          copyOf(samples[j % samples.length], 1 + Math.floor(j / samples.length), {
            stripIds: true,
            idPrefix: "init-",
          }),
        ),
      );
    }
    writeFileSync(path, Buffer.concat(bufs));
    initialFiles.push(path);
  }
  const l0 = performance.now();
  // The member CLI, as fed.cli runs it, but exit status 2 (some records rejected: the one sample
  // record over 99,999 bytes) is expected here, and its JSON summary is wanted.
  const importAt = (node, paths) =>
    new Promise((resolve, reject) =>
      execFile(
        process.execPath,
        [BIN.member, "import", "--config", node.config, "--json", ...paths],
        { maxBuffer: 64 << 20 },
        (err, stdout, stderr) => {
          if (err && err.code !== 2)
            reject(new Error(`import at ${node.id} failed: ${stderr || err.message}`));
          else resolve(stdout);
        },
      ),
    );
  const [outA, outB] = await Promise.all([
    importAt(a, initialFiles),
    importAt(
      b,
      files.filter((f) => /uva_|lc-marc2bibframe2/.test(f)),
    ),
  ]);
  const importedMs = performance.now() - l0;
  const summaryOf = (out) => {
    try {
      const s = JSON.parse(out);
      return `${s.added} added, ${s.rejected} rejected`;
    } catch {
      return out.slice(0, 300);
    }
  };
  say(
    `initial import: lib-a ${summaryOf(outA)}; lib-b ${summaryOf(outB)} (${(importedMs / 1000).toFixed(1)} s)`,
  );
  const synced = await fed.waitSynced(30 * 60_000);
  const syncMs = performance.now() - l0 - importedMs;
  say(
    `initial sync settled ${(syncMs / 1000).toFixed(1)} s after the imports: national holds ${synced.nationalRecords} records of ${synced.memberRecords}`,
  );
  const natStatus = await fed.status("nat");
  say(
    `national union catalog: ${JSON.stringify(natStatus.catalog, (_k, v) => (typeof v === "bigint" ? Number(v) : v))}`,
  );

  // --- the stream ---------------------------------------------------------------------------
  memberDb = Database.open(join(a.dataDir, "node.db"), [...sharedMigrations, ...memberMigrations]);
  const catalog = new MemberCatalog(memberDb, "lib-a");
  natTransport = fed.transport("nat");
  const nat = createClient(catalogPb.CatalogService, natTransport.transport);
  // One call first, so the TLS session is up before the first sample is timed.
  await nat.locateRecord({ institutionId: "lib-a", recordId: "none" });

  const pids = Object.fromEntries(["lib-a", "bench-rc", "nat"].map((id) => [id, fed.pid(id)]));
  const cpuBefore = Object.fromEntries(Object.entries(pids).map(([id, pid]) => [id, cpuSeconds(pid)]));
  const benchCpuBefore = process.cpuUsage();

  const total = Math.round(rate * seconds);
  const written = []; // { recordId, committedAt (epoch ms), t (perf ms) }
  const samplesOut = []; // { recordId, latencyMs, polls }
  const pollers = [];
  let writeMsTotal = 0;
  let lateWrites = 0;
  const poll = async (recordId, committed) => {
    let polls = 0;
    while (performance.now() - committed < 120_000) {
      polls++;
      const res = await nat.locateRecord({ institutionId: "lib-a", recordId });
      if (res.clusterId) {
        samplesOut.push({ recordId, latencyMs: performance.now() - committed, polls });
        return;
      }
      await sleep(pollMs);
    }
    samplesOut.push({ recordId, latencyMs: Number.POSITIVE_INFINITY, polls });
  };
  say(
    `stream: ${total} changes at ${rate}/s for ${seconds} s at lib-a; every ${sampleEvery}th located at nat every ${pollMs} ms`,
  );
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 0) await sleep(wait);
    else if (wait < -50) lateWrites++;
    // Copy numbers from 1,000,000: their title words are none of the initial copies' (1, 2, …).
    const rec = copyOf(samples[i % samples.length], 1_000_000 + i, { stripIds: true, idPrefix: "live-" });
    const w0 = performance.now();
    const r = catalog.upsert(rec, [
      { barcode: `live-${i}`, callNumber: "LIVE", location: "Stacks", status: "available", loanRule: "BOOK" },
    ]);
    const committed = performance.now();
    writeMsTotal += committed - w0;
    written.push({ recordId: r.recordId, committedAt: Date.now(), t: committed });
    if (i % sampleEvery === 0) pollers.push(poll(r.recordId, committed));
  }
  const streamS = (performance.now() - start) / 1000;
  await Promise.all(pollers);
  const cpuAfter = Object.fromEntries(Object.entries(pids).map(([id, pid]) => [id, cpuSeconds(pid)]));
  const benchCpu = process.cpuUsage(benchCpuBefore);
  say(
    `stream done in ${streamS.toFixed(1)} s (${lateWrites} writes more than 50 ms late; mean write ${(writeMsTotal / total).toFixed(1)} ms)`,
  );
  await fed.waitSynced(5 * 60_000);

  // --- per hop, from the nodes' own timestamps -------------------------------------------------
  const receivedAt = (id) => {
    const db = new BetterSqlite3(join(fed.node(id).dataDir, "node.db"), {
      readonly: true,
      fileMustExist: true,
    });
    try {
      const rows = db
        .prepare(
          "SELECT record_id, received_at FROM union_records WHERE institution_id = 'lib-a' AND record_id LIKE 'live-%'",
        )
        .all();
      return new Map(rows.map((r) => [r.record_id, Date.parse(r.received_at)]));
    } finally {
      db.close();
    }
  };
  const atRc = receivedAt("bench-rc");
  const atNat = receivedAt("nat");
  const hop1 = [];
  const hop2 = [];
  const hopAll = [];
  for (const w of written) {
    const r = atRc.get(w.recordId);
    const n = atNat.get(w.recordId);
    if (r !== undefined) hop1.push(r - w.committedAt);
    if (r !== undefined && n !== undefined) hop2.push(n - r);
    if (n !== undefined) hopAll.push(n - w.committedAt);
  }
  if (dump) {
    const found = new Map(samplesOut.map((s) => [s.recordId, s.latencyMs]));
    writeFileSync(
      dump,
      `record_id,committed_at_ms,rc_received_ms,nat_received_ms,located_ms\n${written
        .map((w) =>
          [
            w.recordId,
            w.committedAt,
            atRc.get(w.recordId) ?? "",
            atNat.get(w.recordId) ?? "",
            found.get(w.recordId)?.toFixed(1) ?? "",
          ].join(","),
        )
        .join("\n")}\n`,
    );
  }
  const located = dist(samplesOut.map((s) => s.latencyMs));
  const failed = samplesOut.filter((s) => !Number.isFinite(s.latencyMs)).length;
  const meanPolls = samplesOut.reduce((a, s) => a + s.polls, 0) / samplesOut.length;
  const cpu = Object.fromEntries(
    Object.keys(pids).map((id) => [id, ((cpuAfter[id] - cpuBefore[id]) / streamS) * 100]),
  );

  console.log(
    `\nchanges: ${total} written, ${atRc.size} at bench-rc, ${atNat.size} at nat; ${samplesOut.length} located (${failed} not within 120 s), ${meanPolls.toFixed(1)} LocateRecord calls per sample`,
  );
  console.log(
    `CPU during the stream (% of one core): lib-a ${cpu["lib-a"].toFixed(0)}%, bench-rc ${cpu["bench-rc"].toFixed(0)}%, nat ${cpu.nat.toFixed(0)}%, this process ${(((benchCpu.user + benchCpu.system) / 1e6 / streamS) * 100).toFixed(0)}%`,
  );
  console.log("\n| measured | changes | p50 | p95 | p99 | max | mean |");
  console.log("|---|---:|---:|---:|---:|---:|---:|");
  const line = (label, d) =>
    d &&
    console.log(
      `| ${label} | ${d.n} | ${ms(d.p50)} | ${ms(d.p95)} | ${ms(d.p99)} | ${ms(d.max)} | ${ms(d.mean)} |`,
    );
  line("**commit at lib-a → LocateRecord at nat finds it**", located);
  line("commit at lib-a → received at bench-rc", dist(hop1));
  line("received at bench-rc → received at nat", dist(hop2));
  line("commit at lib-a → received at nat", dist(hopAll));
} finally {
  natTransport?.close();
  memberDb?.close();
  await fed?.stopAll();
  if (!keep) rmSync(DIR, { recursive: true, force: true });
}
