#!/usr/bin/env node
// How fast a center applies catalog changes: UnionCatalog.apply in the benchmark's own process, as
// catalogSyncReceiver applies PushChanges batches (one transaction per batch), with no network.
//
//   node bench/apply.mjs [--records 100000] [--batch 250] [--second 0.3] [--threads N] [--db FILE] [--keep] [--digest]
//   node bench/apply.mjs --export --db FILE     (CatalogService.Export of a catalog kept by --keep)
//
// Input: bench/search-records.mjs benchRecord 0..N-1 from institution "lib-a" (copies of the real
// sample records, each with an ISBN of its own where the sample had one, so most are clusters of
// their own), then the first `--second` × N of the same records again from "lib-b" with other record
// ids and items: the same books from a second library, which join lib-a's clusters (by ISBN, or by
// the fuzzy title key). All records are encoded before the clock starts. Prints JSON: records/s
// for each library's part, peak RSS, CPU seconds; with --digest, a hash of the resulting union
// catalog (clusters, their records, holdings and summaries, the change log) to compare versions;
// applyCpuSeconds and cpuMsPerChange: the CPU of applying alone (all threads), the figure to compare.
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { Database, sharedMigrations, toIso2709 } from "@lrs/shared";
import * as center from "@lrs/shared/center";
import { loadSamples } from "./records.mjs";
import { benchRecord } from "./search-records.mjs";

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}
const n = Number(arg("--records", "100000"));
const batch = Number(arg("--batch", "250"));
const second = Number(arg("--second", "0.3"));
const file = arg("--db", `/tmp/bench-apply-${process.pid}.db`);
const threads = arg("--threads", undefined);
const { catalogService, UnionCatalog, unionCatalogMigrations } = center;

if (process.argv.includes("--export")) {
  // CatalogService.Export of the union catalog in `--db` (built by an earlier run with --keep), in
  // this process: the service's stream is read to the end, as a client would, counting bytes;
  // the process's peak RSS is the figure.
  const db = Database.open(file, [...sharedMigrations, ...unionCatalogMigrations]);
  const union = new UnionCatalog(db, { nodeId: "bench-center" });
  const quiet = { info() {}, warn() {}, error() {}, debug() {} };
  const service = catalogService({ union, nodeId: "bench-center", log: quiet });
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let bytes = 0;
  let messages = 0;
  let rssMax = rss0;
  for await (const m of service.export({}, {})) {
    bytes += m.marcxml.length;
    if (++messages % 20 === 0) rssMax = Math.max(rssMax, process.memoryUsage().rss);
  }
  const out = {
    clusters: union.stats().clusters,
    seconds: +((performance.now() - t0) / 1000).toFixed(1),
    megabytes: Math.round(bytes / 1e6),
    messages,
    rssBeforeMb: Math.round(rss0 / 1048576),
    rssMaxSampledMb: Math.round(rssMax / 1048576),
    maxRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    load: (await import("node:os")).loadavg().map((x) => +x.toFixed(2)),
  };
  db.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
  process.exit(0);
}
const { records: samples } = await loadSamples();
const changedAt = new Date("2026-12-01T00:00:00Z");
function change(institutionId, j) {
  const { record } = benchRecord(samples, j);
  const recordId = `${institutionId === "lib-a" ? "" : "b"}${record.fields[0].value}`;
  record.fields[0] = { tag: "001", value: recordId };
  return {
    kind: "upsert",
    institutionId,
    recordId,
    marc: toIso2709(record),
    holdings: [
      {
        barcode: `${institutionId}/${recordId}/1`,
        callNumber: "BENCH",
        location: "MAIN",
        status: "",
        loanRule: "BOOK",
      },
    ],
    changedAt,
  };
}
const parts = [
  { source: "lib-a", changes: Array.from({ length: n }, (_, j) => change("lib-a", j)) },
  { source: "lib-b", changes: Array.from({ length: Math.floor(n * second) }, (_, j) => change("lib-b", j)) },
];
rmSync(file, { force: true });
const db = Database.open(file, [...sharedMigrations, ...unionCatalogMigrations]);
const union = new UnionCatalog(db, { nodeId: "bench-center" });
// As a center's receiver: each batch's records described on worker threads before its transaction
// (--threads 0: none, every record described as it is applied; a version without the pool: the same).
const describer = threads === "0" ? undefined : center.describePool?.(threads ? Number(threads) : undefined);
const out = {
  records: n,
  second: parts[1].changes.length,
  batch,
  threads: describer ? (threads ?? "cores") : 0,
  parts: [],
};
let describing = 0;
const t0 = performance.now();
const cpu0 = process.cpuUsage();
for (const p of parts) {
  const ts = performance.now();
  const cpu = process.cpuUsage();
  for (let i = 0; i < p.changes.length; i += batch) {
    const slice = p.changes.slice(i, i + batch);
    const td = performance.now();
    const described = describer ? await describer.describe(slice) : undefined;
    describing += performance.now() - td;
    db.transaction(() => {
      // As the sync receiver applies a PushChanges batch (a version without applyBatch: one by one).
      if (union.applyBatch) union.applyBatch(p.source, slice, described);
      else for (const c of slice) union.apply(p.source, c);
    });
  }
  const s = (performance.now() - ts) / 1000;
  out.parts.push({
    source: p.source,
    changes: p.changes.length,
    seconds: +s.toFixed(2),
    perSecond: Math.round(p.changes.length / s),
    cpuMsPerChange: +(
      (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) /
      1e3 /
      p.changes.length
    ).toFixed(3),
  });
  process.stderr.write(
    `${p.source}: ${p.changes.length} in ${s.toFixed(1)} s (${Math.round(p.changes.length / s)}/s)\n`,
  );
}
const total = (performance.now() - t0) / 1000;
// The process's CPU while applying (every thread), without reading and encoding the records before.
const applyCpu = process.cpuUsage(cpu0);
out.applyCpuSeconds = +((applyCpu.user + applyCpu.system) / 1e6).toFixed(1);
out.cpuMsPerChange = +((applyCpu.user + applyCpu.system) / 1e3 / (n + parts[1].changes.length)).toFixed(3);
out.seconds = +total.toFixed(2);
out.describingSeconds = +(describing / 1000).toFixed(2);
await describer?.close();
out.perSecond = Math.round((n + parts[1].changes.length) / total);
out.stats = (({ records, clusters, merges }) => ({ records, clusters, merges }))(union.stats());
out.maxRssMb = Math.round(process.resourceUsage().maxRSS / 1024);
out.cpuSeconds = +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1);
out.load = (await import("node:os")).loadavg().map((x) => +x.toFixed(2));
if (process.argv.includes("--digest")) {
  const h = createHash("sha256");
  const q = (sql) => db.sqlite.prepare(sql).iterate();
  for (const r of q(`SELECT c.id, c.preferred_rid, c.record_count, c.institution_count, c.title, c.title_vernacular,
      c.author, c.year, c.isbns, c.issns, c.language, c.format, c.simple FROM union_clusters c ORDER BY id`))
    h.update(JSON.stringify(r));
  for (const r of q(`SELECT rid, institution_id, record_id, source, cluster_id, digest, completeness, readable, summary
      FROM union_records ORDER BY rid`))
    h.update(JSON.stringify(r));
  for (const r of q("SELECT key, rid, strong FROM union_record_keys ORDER BY key, rid"))
    h.update(JSON.stringify(r));
  for (const r of q("SELECT seq, institution_id, record_id, changed_at FROM union_changes ORDER BY seq"))
    h.update(JSON.stringify(r));
  for (const r of q("SELECT cluster_id, seq, deleted FROM union_oai ORDER BY cluster_id"))
    h.update(JSON.stringify(r));
  for (const r of q("SELECT institution_id, cluster_id, current FROM union_oai_holders ORDER BY 1, 2"))
    h.update(JSON.stringify(r));
  for (const r of q("SELECT * FROM union_cluster_aliases ORDER BY alias")) h.update(JSON.stringify(r));
  for (const r of q("SELECT rowid, * FROM union_fts ORDER BY rowid")) h.update(JSON.stringify(r));
  out.digest = h.digest("hex");
}
db.close();
if (!process.argv.includes("--keep")) for (const s of ["", "-wal", "-shm"]) rmSync(file + s, { force: true });
process.stdout.write(`${JSON.stringify(out)}\n`);
