#!/usr/bin/env node
// The search engine alone, this checkout against another one, interleaved (one call of each in
// turn, so a busy machine weighs on both alike), on the catalogs of a bench/search.mjs run:
//
//   node bench/search-engine-ab.mjs --before /path/to/other/checkout --dir bench/out/search-100000 \
//        [--pairs 15] [--check] [QUERY…]
//
// Both checkouts must be built (`npx tsc -b`). The databases are opened read-only; nat's must have
// this checkout's migrations (start the federation once, or run this checkout's node on it).
// Without QUERY: the 40 queries of bench/search-queries.mjs. Prints, per query, the median ms of
// searchUnion (nat, a page of 10), searchUnion with facets and searchMember (lib-a), before → after.
// --check: also compares every query's total and first-page ids (union, union with facets,
// member) and exits non-zero when any differs.
import { join, resolve } from "node:path";
import BetterSqlite3 from "better-sqlite3";
import { loadSamples, ROOT } from "./records.mjs";
import { queryMix } from "./search-queries.mjs";
import { recordHasIsbn } from "./search-records.mjs";
import { arg } from "./util.mjs";

const before = resolve(arg("--before", ""));
const dir = resolve(arg("--dir", join(ROOT, "bench/out/search-100000")));
const pairs = Number(arg("--pairs", "15"));
const check = process.argv.includes("--check");
const VALUED = new Set(["--before", "--dir", "--pairs"]);
const queries = process.argv.slice(2).filter((a, i, all) => !a.startsWith("--") && !VALUED.has(all[i - 1]));

const A = await import(join(ROOT, "packages/shared/dist/center/index.js"));
const B = await import(join(before, "packages/shared/dist/center/index.js"));
const AM = await import(join(ROOT, "packages/member-node/dist/index.js"));
const BM = await import(join(before, "packages/member-node/dist/index.js"));
const open = (id) => {
  const db = new BetterSqlite3(join(dir, "fed/data", id, "node.db"), { readonly: true, fileMustExist: true });
  db.pragma("cache_size = -65536");
  return db;
};
const nat = open("nat");
const liba = open("lib-a");
let mix = queries;
if (mix.length === 0) {
  const { records: samples } = await loadSamples();
  const n = nat.prepare("SELECT COUNT(*) AS n FROM union_records").get().n;
  mix = queryMix(n, (j) => recordHasIsbn(samples, j)).map((q) => q.cql);
}
const union = (m, facets) => (q) =>
  m.searchUnion({ db: nat, nodeId: "nat" }, q, { limit: 10, facets, regionOf: () => "bench" });
const member = (m) => (q) => m.searchMember({ db: liba, institutionId: "lib-a" }, q, { limit: 10 });
const sides = [
  ["union", union(B, false), union(A, false)],
  ["facets", union(B, true), union(A, true)],
  ["member", member(BM), member(AM)],
];
const time = (f, q) => {
  const t0 = process.hrtime.bigint();
  const r = f(q);
  return { ms: Number(process.hrtime.bigint() - t0) / 1e6, r };
};
const median = (t) => [...t].sort((x, y) => x - y)[Math.floor(t.length / 2)];
let differ = 0;
console.log("| query | union: before → after (ms) | with facets | member |");
console.log("|---|---:|---:|---:|");
for (const q of mix) {
  const cells = [];
  for (const [name, fb, fa] of sides) {
    const tb = [];
    const ta = [];
    let rb;
    let ra;
    for (let i = 0; i < (name === "facets" ? Math.ceil(pairs / 2) : pairs); i++) {
      const b = time(fb, q);
      const a = time(fa, q);
      tb.push(b.ms);
      ta.push(a.ms);
      rb = b.r;
      ra = a.r;
    }
    const same =
      rb.total === ra.total &&
      JSON.stringify(rb.hits.map((h) => h.id)) === JSON.stringify(ra.hits.map((h) => h.id));
    if (check && !same) {
      differ++;
      console.error(`${name} ${q}: ${rb.total} hits before, ${ra.total} after, or another first page`);
    }
    cells.push(`${median(tb).toFixed(1)} → ${median(ta).toFixed(1)}`);
  }
  console.log(`| \`${q}\` | ${cells.join(" | ")} |`);
}
if (check) console.error(`${mix.length} queries, ${differ} with other hits`);
process.exit(differ > 0 ? 1 : 0);
