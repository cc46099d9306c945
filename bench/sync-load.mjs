#!/usr/bin/env node
// A member's first full sync, end to end, through the real sync path: how fast records go from a
// member's import to the national union catalog, hop by hop, and how much memory each node uses.
//
//   npx tsc -b && node bench/sync-load.mjs [--records 100000] [--keep]
//
// 1. Starts a federation of real node processes with packages/dev-env (national "nat", regional
//    "bench-rc", member "lib-a"), through the real enrollment flow.
// 2. Writes `--records` benchmark records (bench/search-records.mjs: copies of the sample records of
//    data/marc, each a cluster of its own, with an ISBN where the sample had one, one 949 item) to
//    an ISO 2709 file, then imports it with the real CLI, `lrs-member import`, while the nodes run:
//    lib-a's sync worker pushes its change log to bench-rc as the import writes it, bench-rc applies
//    each PushChanges batch to its union catalog and pushes its own change log on to nat.
// 3. Asks every node for its status (AdminService.GetStatus) once a second until nat holds every
//    record and nothing lags: the records at each tier over time give each hop's rate (records
//    over the time from the first record arriving there to the last). Peak RSS of each node is its
//    VmHWM from /proc at the end.
//
// Prints a Markdown summary; bench/out/sync-load-N.json has the timeline.
import { execFile } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { BIN, Federation, sleep } from "@lrs/dev-env";
import { toIso2709 } from "@lrs/shared";
import { loadSamples, ROOT } from "./records.mjs";
import { benchRecord } from "./search-records.mjs";
import { arg, benchSpec, say } from "./util.mjs";

const n = Number(arg("--records", "100000"));
const keep = process.argv.includes("--keep");
const DIR = join(ROOT, `bench/out/sync-load-${n}`);
const SPEC = benchSpec();
const NODES = ["lib-a", "bench-rc", "nat"];

/** A process's peak and current resident set (MB), and CPU seconds, from /proc. */
function proc(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (k) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? Number.NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return {
      peakMb: kb("VmHWM") / 1024,
      rssMb: kb("VmRSS") / 1024,
      cpu: (Number(rest[11]) + Number(rest[12])) / 100,
    };
  } catch {
    return undefined;
  }
}
const load = () => loadavg()[0].toFixed(1);

rmSync(DIR, { recursive: true, force: true });
const { records: samples } = await loadSamples();
say(`node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}; ${n} records; load ${load()}`);

let fed;
try {
  fed = await Federation.create(SPEC, { dir: DIR, logLevel: "warn" });
  const file = join(DIR, "records.mrc");
  const bufs = [];
  for (let j = 0; j < n; j++) bufs.push(toIso2709(benchRecord(samples, j).record));
  writeFileSync(file, Buffer.concat(bufs));
  say(`federation up; ${n} records written to ${file}; load ${load()}`);

  const pids = Object.fromEntries(NODES.map((id) => [id, fed.pid(id)]));
  const cpu0 = Object.fromEntries(NODES.map((id) => [id, proc(pids[id])?.cpu ?? 0]));
  const node = fed.node("lib-a");
  const t0 = performance.now();
  const loads = [loadavg()[0]];
  let importMs;
  let importOut = "";
  const importing = new Promise((resolve, reject) =>
    execFile(
      process.execPath,
      [BIN.member, "import", "--config", node.config, "--json", file],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        importMs = performance.now() - t0;
        importOut = stdout;
        if (err && err.code !== 2) reject(new Error(`import failed: ${stderr || err.message}`));
        else resolve();
      },
    ),
  );
  importing.catch(() => {});
  const timeline = []; // { t (s), records per node }
  const first = {};
  const last = {};
  let done = false;
  while (!done) {
    await sleep(1000);
    const t = (performance.now() - t0) / 1000;
    const row = { t };
    const sts = await Promise.all(NODES.map((id) => fed.status(id).catch(() => undefined)));
    NODES.forEach((id, i) => {
      const st = sts[i];
      if (!st) return;
      const records = Number(st.catalog?.records ?? 0n);
      row[id] = records;
      row[`${id}Lag`] = Number(st.upstreamSync?.lag ?? 0n);
      const prev = timeline.findLast((r) => r[id] !== undefined)?.[id] ?? 0;
      if (records > 0 && first[id] === undefined) first[id] = timeline.at(-1)?.t ?? 0;
      if (records > prev) last[id] = t;
    });
    timeline.push(row);
    loads.push(loadavg()[0]);
    if (timeline.length % 15 === 0)
      say(`${t.toFixed(0)} s: ${NODES.map((id) => `${id} ${row[id] ?? "?"}`).join(", ")}; load ${load()}`);
    done =
      importMs !== undefined &&
      row.nat === n &&
      row["lib-a"] === n &&
      NODES.every((id) => row[`${id}Lag`] === 0);
    if (t > 6 * 3600) throw new Error("not synced after 6 hours");
  }
  await importing;
  const total = (performance.now() - t0) / 1000;
  const procs = Object.fromEntries(NODES.map((id) => [id, proc(pids[id])]));
  let imported;
  try {
    imported = JSON.parse(importOut);
  } catch {
    imported = importOut.slice(0, 200);
  }
  const rate = (id) => {
    const secs = (last[id] ?? total) - (first[id] ?? 0);
    return { seconds: secs, perSecond: n / secs };
  };
  const out = {
    records: n,
    importSeconds: importMs / 1000,
    importPerSecond: n / (importMs / 1000),
    endToEndSeconds: total,
    endToEndPerSecond: n / total,
    hops: Object.fromEntries(NODES.map((id) => [id, { first: first[id], last: last[id], ...rate(id) }])),
    nodes: Object.fromEntries(
      NODES.map((id) => [id, { peakRssMb: procs[id]?.peakMb, cpuSeconds: (procs[id]?.cpu ?? 0) - cpu0[id] }]),
    ),
    load: {
      min: Math.min(...loads),
      max: Math.max(...loads),
      mean: loads.reduce((a, b) => a + b, 0) / loads.length,
    },
    imported:
      typeof imported === "object" ? { added: imported.added, rejected: imported.rejected } : imported,
    timeline,
  };
  writeFileSync(join(ROOT, `bench/out/sync-load-${n}.json`), JSON.stringify(out, null, 1));
  const f = (x, d = 0) => (x === undefined || Number.isNaN(x) ? "–" : x.toFixed(d));
  process.stdout.write(
    [
      "",
      `| ${n} records | seconds | records/s | peak RSS | CPU s |`,
      "|---|---:|---:|---:|---:|",
      `| import at lib-a (\`lrs-member import\`) | ${f(out.importSeconds, 1)} | ${f(out.importPerSecond)} | – | – |`,
      ...NODES.map(
        (id) =>
          `| ${id}: first → last record ${id === "lib-a" ? "(import)" : "applied"} | ${f(out.hops[id].seconds, 1)} | ${f(out.hops[id].perSecond)} | ${f(out.nodes[id].peakRssMb)} MB | ${f(out.nodes[id].cpuSeconds, 1)} |`,
      ),
      `| **end to end: import start → nat holds all** | ${f(total, 1)} | ${f(out.endToEndPerSecond)} | – | – |`,
      "",
      `load average (1 min) during the run: ${f(out.load.min, 1)}–${f(out.load.max, 1)}, mean ${f(out.load.mean, 1)}`,
      "",
    ].join("\n"),
  );
} finally {
  await fed?.stopAll();
  if (!keep) rmSync(DIR, { recursive: true, force: true });
}
