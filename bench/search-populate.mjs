#!/usr/bin/env node
// Helper of bench/search.mjs, run as a process of its own (one per database, so that the regional
// and the national union catalogs fill on both cores at once). Never run against a node that is
// running: it writes the node's SQLite database directly.
//
//   node bench/search-populate.mjs union --db NODE.db --node ID --source SENDER \
//        --member-db MEMBER.db --institution MEMBER [--batch 250]
//     Applies every entry of the member's change log (MemberCatalog.changesAfter: the records and
//     items exactly as the member's sync worker would send them) to the union catalog of node ID
//     with UnionCatalog.apply(SENDER, change), `--batch` changes per transaction as the sync
//     receiver (catalogSyncReceiver) does for one PushChanges batch. Prints a JSON summary with the
//     member's and the union catalog's change-log heads, which bench/search.mjs then writes into
//     the sync bookkeeping (so that no node pushes or resyncs anything when it starts).
//
//   node bench/search-populate.mjs export --db NODE.db --node ID --out FILE.xml
//     Writes the union catalog as MARCXML with UnionCatalog.exportMarcXml (what CatalogService
//     Export serves): one record per cluster, the preferred record with one 852 per holding
//     institution — the records the node's SRU endpoint returns. Zebra indexes this file.
import { closeSync, openSync, writeSync } from "node:fs";
import { MemberCatalog, memberMigrations } from "@lrs/member-node";
import { Database, sharedMigrations } from "@lrs/shared";
import { UnionCatalog, unionCatalogMigrations } from "@lrs/shared/center";

const [mode] = process.argv.slice(2);
function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  if (i >= 0 && process.argv[i + 1] !== undefined) return process.argv[i + 1];
  if (fallback === undefined) throw new Error(`${name} is required`);
  return fallback;
}
const log = (s) => process.stderr.write(`[populate ${arg("--node")}] ${s}\n`);

if (mode === "union") {
  const batch = Number(arg("--batch", "250"));
  const source = arg("--source");
  const member = Database.open(arg("--member-db"), [...sharedMigrations, ...memberMigrations]);
  const feed = new MemberCatalog(member, arg("--institution"));
  const db = Database.open(arg("--db"), [...sharedMigrations, ...unionCatalogMigrations]);
  const union = new UnionCatalog(db, { nodeId: arg("--node") });
  const memberHead = feed.headSeq();
  const t0 = performance.now();
  let seq = 0n;
  let applied = 0;
  let lastSay = t0;
  let sinceSay = 0;
  for (;;) {
    const entries = feed.changesAfter(seq, batch);
    if (entries.length === 0) break;
    db.transaction(() => {
      for (const e of entries) union.apply(source, e.change);
    });
    seq = entries.at(-1).seq;
    applied += entries.length;
    sinceSay += entries.length;
    const now = performance.now();
    if (now - lastSay > 10_000) {
      log(
        `${applied} of ${memberHead} (${Math.round((sinceSay * 1000) / (now - lastSay))}/s now, ${Math.round((applied * 1000) / (now - t0))}/s overall)`,
      );
      lastSay = now;
      sinceSay = 0;
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  const stats = union.stats();
  const out = {
    node: arg("--node"),
    applied,
    seconds,
    perSecond: applied / seconds,
    memberHead: memberHead.toString(),
    unionHead: union.headSeq().toString(),
    stats: JSON.parse(JSON.stringify(stats, (_k, v) => (typeof v === "bigint" ? Number(v) : v))),
    cpu: process.cpuUsage(),
    maxRssMb: process.resourceUsage().maxRSS / 1024,
  };
  db.sqlite.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
  member.close();
  process.stdout.write(`${JSON.stringify(out)}\n`);
} else if (mode === "export") {
  const db = Database.open(arg("--db"), [...sharedMigrations, ...unionCatalogMigrations]);
  const union = new UnionCatalog(db, { nodeId: arg("--node") });
  const fd = openSync(arg("--out"), "w");
  const t0 = performance.now();
  let buf = [];
  let size = 0;
  let bytes = 0;
  const flush = () => {
    const b = Buffer.from(buf.join(""), "utf8");
    writeSync(fd, b);
    bytes += b.length;
    buf = [];
    size = 0;
  };
  // One read transaction, as exportMarcXml asks, for a consistent export.
  const r = db.sqlite
    .transaction(() =>
      union.exportMarcXml((chunk) => {
        buf.push(chunk);
        size += chunk.length;
        if (size > 4 << 20) flush();
      }),
    )
    .deferred();
  flush();
  closeSync(fd);
  db.close();
  process.stdout.write(
    `${JSON.stringify({ node: arg("--node"), ...r, bytes, seconds: (performance.now() - t0) / 1000 })}\n`,
  );
} else {
  console.error("usage: search-populate.mjs union|export …");
  process.exit(64);
}
