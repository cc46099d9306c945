#!/usr/bin/env node
// Import throughput and peak memory of `lrs-member import` (packages/member-node/src/import.ts).
//
//   npx tsc -b && node bench/import.mjs [--records 100000,1000000] [--items N] [--strip-ids]
//                                       [--reimport] [--keep]
//
// For each size, writes bench/out/import-N.mrc (ISO 2709, UTF-8) by copying the 2,495 real records
// of data/marc (see bench/records.mjs for what a copy changes: 001, a word in 245 $a, one 949 item
// each by default), then runs the real CLI, `lrs-member import --config … FILE --json`, as its own
// process against a fresh member configuration and database (import opens the node's SQLite
// database directly and needs no enrolled identity). The process is timed by `/usr/bin/time -v`
// (peak RSS of the import process; wall, user and system time); without /usr/bin/time, a preloaded
// module reports `process.resourceUsage()` at exit instead. records/s is the import's own summary
// (wall time of importMarcFiles, without process start-up and migrations); the progress lines the
// CLI prints every 5 s give the rate at the start and at the end of the run.
//
// --reimport imports the same file a second time (every record unchanged: the idempotent path).
// Generated files and databases are deleted at the end unless --keep.
import { spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { cpus, totalmem } from "node:os";
import { join, relative } from "node:path";
import { toIso2709 } from "@lrs/shared";
import { copyOf, loadSamples, ROOT } from "./records.mjs";
import { arg } from "./util.mjs";

const OUT = join(ROOT, "bench/out");
const CLI = join(ROOT, "packages/member-node/bin/lrs-member.js");
const TIME = "/usr/bin/time";

const flag = (name) => process.argv.includes(name);

const sizes = arg("--records", "100000")
  .split(",")
  .map((s) => Number(s.replace(/_/g, "")));
const itemsPerRecord = Number(arg("--items", "1"));
const stripIds = flag("--strip-ids");
const keep = flag("--keep");
const reimport = flag("--reimport");

if (!existsSync(join(ROOT, "packages/member-node/dist/main.js"))) {
  console.error("packages/member-node/dist is missing: run npx tsc -b first");
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });

const { records: samples, skipped } = await loadSamples();

/** Writes `n` copies, cycling over the samples; returns the file's size. */
function generate(path, n) {
  const fd = openSync(path, "w");
  let bytes = 0;
  let chunk = [];
  for (let j = 0; j < n; j++) {
    const rec = copyOf(samples[j % samples.length], Math.floor(j / samples.length), {
      stripIds,
      items: itemsPerRecord,
    });
    const buf = toIso2709(rec);
    chunk.push(buf);
    bytes += buf.length;
    if (chunk.length === 2000) {
      writeSync(fd, Buffer.concat(chunk));
      chunk = [];
    }
  }
  if (chunk.length) writeSync(fd, Buffer.concat(chunk));
  closeSync(fd);
  return bytes;
}

/** Runs the import CLI in its own process, timed; resolves with its summary, resources and progress. */
function runImport(dir, config, file) {
  const timeFile = join(dir, "time.txt");
  const rssFile = join(dir, "rusage.json");
  const useTime = existsSync(TIME);
  const nodeArgs = [CLI, "import", "--config", config, file, "--json"];
  let cmd = process.execPath;
  let args = nodeArgs;
  const env = { ...process.env };
  if (useTime) {
    cmd = TIME;
    args = ["-v", "-o", timeFile, process.execPath, ...nodeArgs];
  } else {
    const probe = join(OUT, "rusage-probe.mjs");
    writeFileSync(
      probe,
      `import { writeFileSync } from "node:fs";\nprocess.on("exit", () => writeFileSync(${JSON.stringify(rssFile)}, JSON.stringify(process.resourceUsage())));\n`,
    );
    env.NODE_OPTIONS = `${env.NODE_OPTIONS ?? ""} --import ${probe}`;
  }
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderrRest = "";
    const progress = [];
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderrRest += d;
      let nl = stderrRest.indexOf("\n");
      while (nl >= 0) {
        const line = stderrRest.slice(0, nl);
        stderrRest = stderrRest.slice(nl + 1);
        const m = /^import: (\d+) records/.exec(line);
        if (m) progress.push({ ms: performance.now() - started, records: Number(m[1]) });
        else if (line.trim()) process.stderr.write(`  [import] ${line}\n`);
        nl = stderrRest.indexOf("\n");
      }
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = performance.now() - started;
      if (code !== 0 && code !== 2)
        return reject(new Error(`import exited with ${code}: ${stdout.slice(0, 2000)}`));
      const summary = JSON.parse(stdout);
      let maxRssKb;
      let userS;
      let sysS;
      if (useTime) {
        const t = readFileSync(timeFile, "utf8");
        maxRssKb = Number(/Maximum resident set size \(kbytes\): (\d+)/.exec(t)[1]);
        userS = Number(/User time \(seconds\): ([\d.]+)/.exec(t)[1]);
        sysS = Number(/System time \(seconds\): ([\d.]+)/.exec(t)[1]);
      } else {
        const u = JSON.parse(readFileSync(rssFile, "utf8"));
        maxRssKb = u.maxRSS;
        userS = u.userCPUTime / 1e6;
        sysS = u.systemCPUTime / 1e6;
      }
      resolve({
        summary,
        wallMs,
        maxRssKb,
        userS,
        sysS,
        progress,
        probe: useTime ? "/usr/bin/time -v" : "resourceUsage",
      });
    });
  });
}

/** records/s over the first and the last ~10% of the run, from the progress lines. */
function phaseRates(progress, total) {
  if (progress.length < 3) return undefined;
  const tenth = total / 10;
  const first = progress.find((p) => p.records >= tenth) ?? progress[0];
  const a = progress.findLast((p) => p.records <= total - tenth) ?? progress.at(-2);
  const b = progress.at(-1);
  return {
    start: Math.round((first.records * 1000) / first.ms),
    end: b.records > a.records ? Math.round(((b.records - a.records) * 1000) / (b.ms - a.ms)) : undefined,
    endAt: `${Math.round(a.records / 1000)}k–${Math.round(b.records / 1000)}k`,
  };
}

const fmt = (n) => Math.round(n).toLocaleString("en-US");
const mb = (b) => `${(b / 1e6).toFixed(0)} MB`;
const rows = [];

for (const s of skipped) console.log(`left out: ${s}`);
console.log(
  `samples: ${samples.length} real records; copies ${stripIds ? "without" : "with"} 010/020/022/035, ${itemsPerRecord} item(s) each`,
);
console.log(
  `node ${process.version}, ${process.platform}/${process.arch}, ${cpus().length} × ${cpus()[0]?.model ?? "?"}, ${Math.round(totalmem() / 2 ** 30)} GiB`,
);

for (const n of sizes) {
  const file = join(OUT, `import-${n}.mrc`);
  const dir = join(OUT, `import-${n}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const g0 = performance.now();
  const bytes = generate(file, n);
  console.log(
    `\n${relative(ROOT, file)}: ${n} records, ${mb(bytes)} (${(bytes / n).toFixed(0)} bytes/record), generated in ${((performance.now() - g0) / 1000).toFixed(1)} s`,
  );
  const config = join(dir, "member.toml");
  writeFileSync(
    config,
    [
      'id = "bench-member"',
      'name = "Import benchmark member"',
      'region = "bench"',
      'listen = "127.0.0.1:7999"',
      'parent = "127.0.0.1:7998"',
      'data_dir = "data"',
      "",
    ].join("\n"),
  );
  const runs = [["import", file]];
  if (reimport) runs.push(["re-import (unchanged)", file]);
  for (const [label, path] of runs) {
    const r = await runImport(dir, config, path);
    const s = r.summary;
    const dbBytes = ["node.db", "node.db-wal"]
      .map((f) => join(dir, "data", f))
      .filter(existsSync)
      .reduce((sum, f) => sum + statSync(f).size, 0);
    const phases = phaseRates(r.progress, n);
    const row = {
      label,
      records: n,
      added: s.added,
      unchanged: s.unchanged,
      rejected: s.rejected,
      items: s.items,
      importS: s.elapsedMs / 1000,
      rps: s.recordsPerSecond,
      wallS: r.wallMs / 1000,
      cpuS: r.userS + r.sysS,
      rssMb: r.maxRssKb / 1024,
      dbBytes,
      phases,
    };
    rows.push(row);
    console.log(
      `${label}: ${fmt(row.rps)} records/s (${row.importS.toFixed(1)} s; process ${row.wallS.toFixed(1)} s wall, ${row.cpuS.toFixed(1)} s CPU), peak RSS ${row.rssMb.toFixed(0)} MB [${r.probe}], ` +
        `added ${s.added}, unchanged ${s.unchanged}, rejected ${s.rejected}, items ${s.items}; database ${mb(dbBytes)}` +
        (phases
          ? `; first 10%: ${fmt(phases.start)} records/s, ${phases.endAt}: ${phases.end ? fmt(phases.end) : "?"} records/s`
          : ""),
    );
  }
  if (!keep) {
    rmSync(file, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  "\n| run | records | seconds | records/s | first 10% → last 10% records/s | CPU s | peak RSS | database |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
for (const r of rows) {
  const ph = r.phases ? `${fmt(r.phases.start)} → ${r.phases.end ? fmt(r.phases.end) : "?"}` : "–";
  console.log(
    `| ${r.label} | ${fmt(r.records)} | ${r.importS.toFixed(1)} | ${fmt(r.rps)} | ${ph} | ${r.cpuS.toFixed(1)} | ${r.rssMb.toFixed(0)} MB | ${mb(r.dbBytes)} |`,
  );
}
