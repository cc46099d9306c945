#!/usr/bin/env node
// Collection reports over a large union catalog: time and peak memory of `report unique`,
// `report shared` and `report overlap` (packages/shared/src/center/union/collection-report.ts),
// which stream the clusters rather than load them.
//
//   node bench/collection-report.mjs [--clusters 1000000] [--dir /tmp/lrs-report-bench] [--keep]
//
// Fills a union catalog's tables directly with SQL (the reports read union_clusters and
// union_records only; UnionCatalog.apply's clustering is what bench/search.mjs measures): N
// clusters over 40 libraries in 4 regions, 1–6 holding libraries per cluster (skewed: most titles
// have one or two), 1–3 copies each, 2% of holdings an order, 1% of copies retained. Then runs each
// report in a child process of its own and reads that process's peak RSS (process.resourceUsage).
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { Database, sharedMigrations } from "@lrs/shared";
import { unionCatalogMigrations } from "@lrs/shared/center";
import { arg, say } from "./util.mjs";

const mode = process.argv[2];

if (mode === "run") {
  // Child: one report, rows counted, peak RSS printed as JSON.
  const { overlap, sharedHoldings, uniqueHoldings } = await import(
    "../packages/shared/dist/center/union/collection-report.js"
  );
  const { csvLine } = await import("../packages/shared/dist/util/csv.js");
  const db = Database.open(arg("--db"), [...sharedMigrations, ...unionCatalogMigrations]);
  const id = (n) => `bench:c${n}`;
  const which = arg("--report");
  const t0 = performance.now();
  let rows = 0;
  let bytes = 0;
  const emit = (row) => {
    rows++;
    bytes += csvLine(row).length;
  };
  if (which === "unique") for (const r of uniqueHoldings(db, id)) emit(r);
  else if (which === "shared") for (const r of sharedHoldings(db, id, 4)) emit(r);
  else overlap(db, id, "lib-00", "lib-01", emit);
  const ms = performance.now() - t0;
  process.stdout.write(
    `${JSON.stringify({ report: which, rows, csvBytes: bytes, seconds: ms / 1000, peakRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
  );
  db.close();
  process.exit(0);
}

const clusters = Number(arg("--clusters", "1000000"));
const dir = arg("--dir", "/tmp/lrs-report-bench");
mkdirSync(dir, { recursive: true });
const path = join(dir, `union-${clusters}.db`);
rmSync(path, { force: true });
rmSync(`${path}-wal`, { force: true });

say(`filling ${clusters} clusters into ${path}`);
const db = Database.open(path, [...sharedMigrations, ...unionCatalogMigrations]);
const LIBS = Array.from({ length: 40 }, (_, i) => `lib-${String(i).padStart(2, "0")}`);
// A deterministic generator, so that two runs fill the same catalog.
let seed = 42;
const rand = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const now = "2026-12-01T00:00:00.000Z";
const insCluster = db.sqlite.prepare(
  `INSERT INTO union_clusters (id, created_at, updated_at, preferred_rid, record_count, institution_count, title,
     title_vernacular, author, year, isbns, issns, language, format)
   VALUES (?, ?, ?, ?, ?, ?, ?, '', ?, ?, ?, '', 'eng', 'book')`,
);
const insRecord = db.sqlite.prepare(
  `INSERT INTO union_records (rid, institution_id, record_id, source, cluster_id, marc, holdings, digest, changed_at,
     received_at, updated_at, completeness, readable, summary)
   VALUES (?, ?, ?, 'bench', ?, x'', ?, '', ?, ?, ?, 0, 1, '{}')`,
);
const t0 = performance.now();
let rid = 0;
const BATCH = 20_000;
for (let start = 1; start <= clusters; start += BATCH) {
  db.transaction(() => {
    for (let c = start; c < Math.min(start + BATCH, clusters + 1); c++) {
      const r = rand();
      const holders = r < 0.45 ? 1 : r < 0.75 ? 2 : r < 0.88 ? 3 : r < 0.95 ? 4 : r < 0.98 ? 5 : 6;
      const libs = new Set();
      while (libs.size < holders) libs.add(LIBS[Math.floor(rand() * LIBS.length)]);
      const first = rid + 1;
      for (const lib of libs) {
        rid++;
        const holdings = [];
        const copies = 1 + Math.floor(rand() * 3);
        for (let k = 0; k < copies; k++) {
          const order = rand() < 0.02;
          holdings.push(
            order
              ? {
                  barcode: `order:${rid}-${k}`,
                  callNumber: "",
                  location: "on order",
                  status: "on_order",
                  loanRule: "",
                  copies: 2,
                }
              : {
                  barcode: `${lib}-${rid}-${k}`,
                  callNumber: `QA${c % 1000}.${k}`,
                  location: "stacks",
                  status: "available",
                  loanRule: "standard",
                  ...(rand() < 0.01 ? { retainedUntil: 2035 } : {}),
                },
          );
        }
        insRecord.run(rid, lib, `r${c}`, c, JSON.stringify(holdings), now, now, now);
      }
      const isbn = `978${String(1_000_000_000 + c).slice(-9)}0`;
      insCluster.run(
        c,
        now,
        now,
        first,
        holders,
        holders,
        `Title number ${c}`,
        `Author ${c % 5000}`,
        String(1950 + (c % 75)),
        isbn,
      );
    }
  });
  if ((start - 1) % 200_000 === 0) say(`${start - 1 + BATCH} clusters`);
}
db.sqlite.pragma("wal_checkpoint(TRUNCATE)");
db.close();
const fillSeconds = (performance.now() - t0) / 1000;
const size = statSync(path).size;
say(`filled in ${fillSeconds.toFixed(1)} s: ${rid} records, ${(size / 2 ** 20).toFixed(0)} MiB`);

const results = [];
for (const report of ["unique", "shared", "overlap"]) {
  const out = execFileSync(
    process.execPath,
    [new URL(import.meta.url).pathname, "run", "--db", path, "--report", report],
    {
      encoding: "utf8",
      maxBuffer: 1 << 20,
    },
  );
  const r = JSON.parse(out.trim());
  results.push(r);
  say(
    `${report}: ${r.rows} rows (${(r.csvBytes / 2 ** 20).toFixed(1)} MiB CSV) in ${r.seconds.toFixed(1)} s, peak RSS ${r.peakRssMiB.toFixed(0)} MiB`,
  );
}
process.stdout.write(
  `${JSON.stringify({ clusters, records: rid, dbMiB: Math.round(size / 2 ** 20), fillSeconds, results, cpus: cpus().length, cpu: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), loadavg: loadavg() })}\n`,
);
if (!process.argv.includes("--keep")) rmSync(path, { force: true });
