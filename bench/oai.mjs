#!/usr/bin/env node
// OAI-PMH in both directions (issue 15):
//
//   npx tsc -b && node bench/oai.mjs harvest --records 100000 [--page-size 100]
//     A member harvests N records from an OAI-PMH data provider: the provider is a process of its
//     own (`provider` below: LRS's OaiProvider over HTTP, serving copies of the real sample records
//     of data/marc made by bench/records.mjs, each with one 949 item), and this process runs the
//     member's harvester, `harvestCatalog` (what `lrs-member harvest` runs), into a fresh member
//     database: ListRecords page by page, every record parsed, items extracted, upserted, indexed
//     and logged for sync. records/s is the harvest's own summary; peak RSS is this process's (the
//     harvester alone; the provider is another process).
//
//   npx tsc -b && node bench/oai.mjs serve --clusters 100000,300000 [--page-size 100]
//     A center serves N clusters over OAI-PMH to a harvester: a union catalog of N clusters is
//     built first (UnionCatalog.apply of each copy, as the sync receiver applies a member's
//     changes; one institution), then a process of its own serves it (`center` below: the
//     center's OAI-PMH handler, provider and union repository exactly as union-center.ts wires
//     them) and this process harvests everything with ListRecords (metadataPrefix marc21),
//     counting records. The center's RSS is read from /proc every second: printed at each tenth
//     of the list and its peak, to show it stays flat while the list is served. With --gc the
//     center collects garbage fully after every 20th response (RSS then shows what it keeps).
//
// Both print the 1-minute load average before and after (the machine may be shared). Databases
// are under bench/out and deleted unless --keep.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from "node:fs";
import http from "node:http";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { fixedOaiRepository } from "@lrs/dev-env";
import { harvestCatalog, MemberCatalog, memberMigrations } from "@lrs/member-node";
import { createLogger, Database, fetchOaiPage, sharedMigrations, toIso2709 } from "@lrs/shared";
import {
  OaiProvider,
  oaiHttpHandler,
  UnionCatalog,
  UnionOaiLog,
  unionCatalogMigrations,
  unionOaiRepository,
} from "@lrs/shared/center";
import { copyOf, loadSamples, ROOT } from "./records.mjs";
import { arg } from "./util.mjs";

const OUT = join(ROOT, "bench/out");
const mode = process.argv[2];
const pageSize = Number(arg("--page-size", "100"));
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(" ");
const mb = (bytes) => Math.round(bytes / 1048576);

function listen(handler) {
  const server = http.createServer((req, res) => {
    if ((req.url ?? "/").split("?")[0] === "/oai") void handler(req, res);
    else {
      res.writeHead(404);
      res.end();
    }
  });
  server.listen(0, "127.0.0.1", () => {
    process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${server.address().port}/oai` })}\n`);
  });
}

/** Starts `node bench/oai.mjs <args>` and resolves with it and the URL it prints. */
function child(args) {
  const p = spawn(process.execPath, [join(ROOT, "bench/oai.mjs"), ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let buf = "";
    p.stdout.on("data", (d) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl >= 0) resolve({ proc: p, url: JSON.parse(buf.slice(0, nl)).url });
    });
    p.once("exit", (code) => reject(new Error(`bench/oai.mjs ${args[0]} exited ${code}`)));
  });
}

function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

if (mode === "provider") {
  // N copies of the samples as an OAI-PMH repository, made on demand (nothing held per record).
  const n = Number(arg("--records"));
  const { records: samples } = await loadSamples();
  const repository = fixedOaiRepository({
    name: "bench ILS",
    namespace: "bench",
    size: n,
    identifierOf: (seq) => `oai:bench:${seq}`,
    seqOf: (id) => (id.startsWith("oai:bench:") ? Number(id.slice("oai:bench:".length)) || 0 : 0),
    record: (seq) => copyOf(samples[(seq - 1) % samples.length], Math.floor((seq - 1) / samples.length) + 1),
  });
  listen(oaiHttpHandler(new OaiProvider({ repository, pageSize }), createLogger("bench-provider")));
} else if (mode === "center") {
  const db = Database.open(arg("--db"), [...sharedMigrations, ...unionCatalogMigrations]);
  const union = new UnionCatalog(db, { nodeId: "bench-center" });
  const repository = unionOaiRepository({
    log: new UnionOaiLog(db, union),
    nodeId: "bench-center",
    repositoryName: "bench center",
    adminEmails: ["bench@example.org"],
    regionOf: () => "north",
  });
  const handler = oaiHttpHandler(new OaiProvider({ repository, pageSize }), createLogger("bench-center"));
  // --gc: a full collection after every 20th response, so that RSS shows what is kept, not what
  // the collector has not got round to.
  let served = 0;
  listen(
    process.argv.includes("--gc") && globalThis.gc
      ? async (req, res) => {
          await handler(req, res);
          if (++served % 20 === 0) globalThis.gc();
        }
      : handler,
  );
} else if (mode === "harvest") {
  mkdirSync(OUT, { recursive: true });
  for (const n of arg("--records", "100000").split(",").map(Number)) {
    const file = join(OUT, `oai-harvest-${n}.db`);
    rmSync(file, { force: true });
    const { proc, url } = await child(["provider", "--records", String(n), "--page-size", String(pageSize)]);
    const loadBefore = load();
    const db = Database.open(file, [...sharedMigrations, ...memberMigrations]);
    const catalog = new MemberCatalog(db, "bench-member");
    let last = 0;
    const s = await harvestCatalog(
      db,
      catalog,
      {
        url,
        metadata_prefix: "marc21",
        holdings_map: "auto",
        attempts: 3,
        retry_delay: 1000,
        timeout: 120_000,
      },
      {
        onProgress: (p) => {
          if (p.records - last >= n / 10) {
            last = p.records;
            process.stderr.write(
              `  ${p.records}/${p.total ?? "?"} records, ${Math.round((p.records * 1000) / p.elapsedMs)}/s, RSS ${mb(process.memoryUsage().rss)} MB\n`,
            );
          }
        },
      },
    );
    proc.kill();
    const out = {
      records: n,
      added: s.added,
      rejected: s.rejected,
      items: s.items,
      pages: s.pages,
      seconds: +(s.elapsedMs / 1000).toFixed(1),
      recordsPerSecond: Math.round(s.recordsPerSecond),
      harvesterPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      cpuSeconds: +((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1),
      load: { before: loadBefore, after: load() },
      machine: `${cpus().length} × ${cpus()[0]?.model}, ${mb(totalmem())} MB, Node ${process.version}`,
    };
    db.close();
    if (!process.argv.includes("--keep")) rmSync(file, { force: true });
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
} else if (mode === "serve") {
  mkdirSync(OUT, { recursive: true });
  const { records: samples } = await loadSamples();
  for (const n of arg("--clusters", "100000").split(",").map(Number)) {
    const file = join(OUT, `oai-serve-${n}.db`);
    if (!existsSync(file) || !process.argv.includes("--keep")) {
      rmSync(file, { force: true });
      const t0 = performance.now();
      const db = Database.open(file, [...sharedMigrations, ...unionCatalogMigrations]);
      const union = new UnionCatalog(db, { nodeId: "bench-center" });
      // Identifiers stripped: every copy is a cluster of its own (as N distinct titles would be).
      const at = new Date();
      for (let i = 0; i < n; ) {
        db.transaction(() => {
          for (const end = Math.min(n, i + 500); i < end; i++) {
            const rec = copyOf(samples[i % samples.length], Math.floor(i / samples.length) + 1, {
              stripIds: true,
            });
            const recordId = rec.fields[0].value;
            union.apply("bench-member", {
              kind: "upsert",
              institutionId: "bench-member",
              recordId,
              marc: toIso2709(rec),
              holdings: [
                {
                  barcode: `${recordId}/1`,
                  callNumber: "BENCH",
                  location: "MAIN",
                  status: "",
                  loanRule: "BOOK",
                },
              ],
              changedAt: at,
            });
          }
        });
        if (i % 20000 === 0)
          process.stderr.write(
            `  built ${i} of ${n} (${Math.round((i * 1000) / (performance.now() - t0))}/s)\n`,
          );
      }
      const clusters = db.sqlite.prepare("SELECT count(*) AS n FROM union_oai").get().n;
      process.stderr.write(
        `  union catalog: ${clusters} clusters in ${Math.round((performance.now() - t0) / 1000)} s\n`,
      );
      db.sqlite.pragma("wal_checkpoint(TRUNCATE)");
      db.close();
    }
    const { proc, url } = await child([
      "center",
      "--db",
      file,
      "--page-size",
      String(pageSize),
      ...(process.argv.includes("--gc") ? ["--gc"] : []),
    ]);
    const startRss = rssOf(proc.pid);
    let peak = startRss;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssOf(proc.pid));
    }, 1000);
    const loadBefore = load();
    const t0 = performance.now();
    let records = 0;
    let total;
    let token;
    const points = [];
    for (;;) {
      const page = await fetchOaiPage(
        url,
        token
          ? { verb: "ListRecords", resumptionToken: token }
          : { verb: "ListRecords", metadataPrefix: "marc21" },
      );
      if (page.error) throw new Error(`${page.error.code}: ${page.error.message}`);
      records += page.records.filter((r) => r.record).length;
      total ??= page.completeListSize;
      if (records >= ((points.length + 1) * n) / 10 || !page.resumptionToken) {
        const rss = rssOf(proc.pid);
        peak = Math.max(peak, rss);
        points.push({
          records,
          centerRssMb: mb(rss),
          perSecond: Math.round((records * 1000) / (performance.now() - t0)),
        });
        process.stderr.write(`  ${records}/${total} records, center RSS ${mb(rss)} MB\n`);
      }
      if (!page.resumptionToken) break;
      token = page.resumptionToken;
    }
    clearInterval(sampler);
    const seconds = (performance.now() - t0) / 1000;
    proc.kill();
    const out = {
      clusters: n,
      harvested: records,
      completeListSize: total,
      seconds: +seconds.toFixed(1),
      recordsPerSecond: Math.round(records / seconds),
      centerRssMb: {
        beforeFirstRequest: mb(startRss),
        peak: mb(peak),
        atEachTenth: points.map((p) => p.centerRssMb),
      },
      harvesterPeakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      databaseMb: mb(statSync(file).size),
      load: { before: loadBefore, after: load() },
      machine: `${cpus().length} × ${cpus()[0]?.model}, ${mb(totalmem())} MB, Node ${process.version}`,
    };
    if (!process.argv.includes("--keep")) rmSync(file, { force: true });
    process.stdout.write(`${JSON.stringify(out)}\n`);
  }
} else {
  process.stderr.write("usage: node bench/oai.mjs harvest --records N | serve --clusters N[,M]\n");
  process.exit(2);
}
