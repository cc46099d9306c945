#!/usr/bin/env node
// Search latency and throughput at each scope (LOCAL, REGION, NATIONAL over gRPC from a member), the
// national center's SRU endpoint, and Index Data's Zebra on the same records answering the same CQL
// over SRU (DESIGN.md flow 4; issue 4, "Tests and figures").
//
//   npx tsc -b && node bench/search.mjs [--records 100000[,1000000]] [--rounds 5] [--clients 4]
//        [--load-queries 100000] [--load-seconds 60] [--load-passes 3] [--latency-seconds 600] [--page 10]
//        [--timeout-ms 30000] [--targets local,region,national,sru,zebra,zebra-ranked,engine,engine-local]
//        [--keep] [--no-zebra]
//
// For each size N, in bench/out/search-N (stages already done there are reused, so a run that was
// stopped continues; --keep keeps the directory at the end, otherwise its big files are deleted):
//
// 1. records.mrc: N records (bench/search-records.mjs: copies of the 2,494 real sample records of
//    data/marc, each with a made-up title word, one item, no 010/020/022/035 but an ISBN of its own
//    when the sample had one).
// 2. A federation of real node processes (packages/dev-env, the real enrollment flow): national
//    "nat", regional "bench-rc", member "lib-a"; then every node is stopped.
// 3. The catalogs, written straight into the stopped nodes' SQLite databases (real sync of 1M
//    records would take hours here):
//    - lib-a: the real CLI, `lrs-member import --config lib-a.toml --json records.mrc` (MemberCatalog,
//      its full-text index, items and change log, exactly as an import on a stopped node);
//    - bench-rc and nat at once (one process each, bench/search-populate.mjs): every entry of
//      lib-a's change log (MemberCatalog.changesAfter, what lib-a's sync worker would send) applied
//      with UnionCatalog.apply, 250 per transaction as the sync receiver applies a PushChanges batch;
//      at bench-rc as sent by lib-a, at nat as sent by bench-rc;
//    - the sync bookkeeping, as if those batches had been pushed and acknowledged: lib-a's
//      `catalog_sync_acked_seq` = its change-log head, bench-rc's `sync_sources` row for lib-a at that
//      head and its own acked position = its union change-log head, nat's `sync_sources` row for
//      bench-rc at that head. The nodes then start with nothing to push and nothing to resync
//      (checked: Federation.waitSynced, national records = member records, no lag).
// 4. export.xml: the national union catalog as MARCXML (UnionCatalog.exportMarcXml, the records the
//    SRU endpoint returns: preferred record + one 852 per holding library), indexed by zebraidx
//    (bench/zebra: DOM filter, lrs2index.xsl, ICU words) into bench/out/search-N/zebra and served by
//    zebrasrv on 127.0.0.1 (yazgfs.xml: one port translating CQL with cql2pqf.txt, unranked, one with
//    cql2pqf-ranked.txt, relevance-ranked with rank-1).
// 5. The measurements, with the 40 queries of bench/search-queries.mjs, 10 hits a page (MARCXML
//    records over SRU). The machine is shared, so the targets are interleaved (see measureAll):
//    - warm-up: every query once at every target (its hit count is the one reported);
//    - latency: one client per target; `--rounds` rounds over the mix, each in its own shuffled
//      order, each query sent to every target in turn before the next one (at most
//      `--latency-seconds` in all);
//    - throughput: `--clients` concurrent clients, each with its own connection, cycling over the
//      mix from different places, for `--load-seconds` / `--load-passes` seconds (or
//      `--load-queries` / `--load-passes` queries) per target and pass, the passes going round the
//      targets.
//    Targets: `local`, `region`, `national` — SearchService.Search sent to lib-a with lib-a's own
//    certificate (as `lrs-member search` does), scope LOCAL / REGION / NATIONAL, the time to the final
//    message of the stream; `sru` — HTTP GET searchRetrieve at nat's SRU URL; `zebra`, `zebra-ranked`
//    — the same GET at zebrasrv; `engine` — searchUnion called in this process on nat's database
//    (no network, no records: the search engine alone, one client); `engine-local` — searchMember
//    on lib-a's database, likewise.
//    During each throughput pass at local, region, national and sru, the gRPC health check
//    (grpc.health.v1.Health/Check) is sent every 25 ms to the node doing the searching (lib-a,
//    bench-rc, nat, nat) over its own connection: how long that node's other work waits.
//    CPU time of every node process and of zebrasrv (with its forked children) is read from /proc
//    around each throughput pass; the 1-minute load average is sampled every 5 s.
//
// Results: a Markdown report on stdout and bench/out/search-N.json (kept).
import { execFile, spawn } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { Agent, request as httpRequest } from "node:http";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { createClient } from "@connectrpc/connect";
import { BIN, Federation, freePort } from "@lrs/dev-env";
import { searchMember } from "@lrs/member-node";
import { healthPb, searchPb, toIso2709 } from "@lrs/shared";
import { searchUnion } from "@lrs/shared/center";
import BetterSqlite3 from "better-sqlite3";
import { loadSamples, ROOT } from "./records.mjs";
import { queryMix } from "./search-queries.mjs";
import { benchRecord, recordHasIsbn } from "./search-records.mjs";
import { arg, benchSpec, dist } from "./util.mjs";

// ------------------------------------------------------------------ options

const flag = (name) => process.argv.includes(name);
const sizes = arg("--records", "100000")
  .split(",")
  .map((s) => Number(s.replace(/_/g, "")));
const rounds = Number(arg("--rounds", "5"));
const clients = Number(arg("--clients", "4"));
const loadQueries = Number(arg("--load-queries", "100000"));
const loadSeconds = Number(arg("--load-seconds", "60"));
const loadPasses = Number(arg("--load-passes", "3"));
const latencySeconds = Number(arg("--latency-seconds", "600"));
const pageSize = Number(arg("--page", "10"));
const timeoutMs = Number(arg("--timeout-ms", "30000"));
const keep = flag("--keep");
const noZebra = flag("--no-zebra");
const targetNames = arg(
  "--targets",
  noZebra
    ? "local,region,national,sru,engine,engine-local"
    : "local,region,national,sru,zebra,zebra-ranked,engine,engine-local",
).split(",");

const OUT = join(ROOT, "bench/out");
const ZEBRA_CONF = join(ROOT, "bench/zebra");
const SPEC = benchSpec();

const say = (s) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ small helpers

const fmtMs = (v) =>
  v === undefined ? "–" : v >= 100 ? `${Math.round(v)}` : v >= 10 ? v.toFixed(1) : v.toFixed(2);
const fmtInt = (n) => (n === undefined ? "–" : Math.round(n).toLocaleString("en-US"));
const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** Deterministic shuffle (mulberry32), so every target sees the same order. */
function shuffled(list, seed) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = [...list];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/** CPU seconds (user + system) of a process, of its children it has waited for, and of its live descendants. */
function cpuTree(pid) {
  if (!pid) return Number.NaN;
  const stats = new Map(); // pid → {ppid, own, reaped}
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const f = readFileSync(`/proc/${d}/stat`, "utf8");
      const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
      stats.set(Number(d), {
        ppid: Number(rest[1]),
        own: (Number(rest[11]) + Number(rest[12])) / 100,
        reaped: (Number(rest[13]) + Number(rest[14])) / 100,
      });
    } catch {}
  }
  const root = stats.get(pid);
  if (!root) return Number.NaN;
  let total = root.own + root.reaped;
  const stack = [pid];
  while (stack.length) {
    const p = stack.pop();
    for (const [c, s] of stats) {
      if (s.ppid === p) {
        total += s.own;
        stack.push(c);
      }
    }
  }
  return total;
}

function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 << 20, ...opts }, (err, stdout, stderr) => {
      if (err && !(opts.okCodes ?? []).includes(err.code))
        reject(new Error(`${cmd} ${args.join(" ")} failed (${err.code}): ${stderr || err.message}`));
      else resolve({ stdout, stderr, code: err?.code ?? 0 });
    });
  });
}

/** Runs a command with its stderr passed through (progress lines), resolving with its stdout. */
function runLoud(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"], ...opts });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
    });
    child.on("error", reject);
    child.on("exit", (code) => {
      if (code === 0 || (opts.okCodes ?? []).includes(code)) resolve(out);
      else reject(new Error(`${cmd} ${args.join(" ")} exited with ${code}`));
    });
  });
}

function dirSize(path) {
  if (!existsSync(path)) return 0;
  const st = statSync(path);
  if (!st.isDirectory()) return st.size;
  return readdirSync(path).reduce((n, f) => n + dirSize(join(path, f)), 0);
}

// ------------------------------------------------------------------ clients

/**
 * While a target is under search load: the gRPC health check (grpc.health.v1.Health/Check, what
 * a load balancer or monitor asks) sent to the node that searches, every 25 ms over a connection
 * of its own, each answer's time kept — how long the node's other work waits behind its searches.
 */
function healthProbe(fed, id) {
  const t = fed.transport(id);
  const client = createClient(healthPb.Health, t.transport);
  const times = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        await client.check({ service: "" }, { timeoutMs });
        times.push(performance.now() - t0);
      } catch {
        times.push(Number.NaN);
      }
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      t.close();
      return times;
    },
  };
}

/** One gRPC client: its own connection to lib-a, authenticated as lib-a. */
function grpcClient(fed, scope) {
  const t = fed.transport("lib-a");
  const client = createClient(searchPb.SearchService, t.transport);
  return {
    async search(cql) {
      const t0 = performance.now();
      let first;
      let last;
      for await (const m of client.search({ query: cql, scope, pageSize }, { timeoutMs })) {
        first ??= performance.now() - t0;
        last = m;
      }
      const ms = performance.now() - t0;
      const partial = (last?.coverage ?? []).filter(
        (c) => c.status !== searchPb.NodeCoverage_Status.ANSWERED,
      ).length;
      return { ms, firstMs: first, total: Number(last?.total ?? 0n), hits: last?.hits.length ?? 0, partial };
    },
    close: () => t.close(),
  };
}

/** One SRU client: its own keep-alive HTTP connection. */
function sruClient(baseUrl) {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (url) =>
    new Promise((resolve, reject) => {
      const req = httpRequest(url, { agent, timeout: timeoutMs }, (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8") }),
        );
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.on("error", reject);
      req.end();
    });
  return {
    async search(cql) {
      const u = new URL(baseUrl);
      u.searchParams.set("version", "1.2");
      u.searchParams.set("operation", "searchRetrieve");
      u.searchParams.set("query", cql);
      u.searchParams.set("maximumRecords", String(pageSize));
      u.searchParams.set("recordSchema", "marcxml");
      const t0 = performance.now();
      const res = await get(u);
      const ms = performance.now() - t0;
      const total = /<(?:\w+:)?numberOfRecords>(\d+)</.exec(res.body);
      const diag = /<(?:\w+:)?message>([^<]*)</.exec(res.body);
      if (res.status !== 200 || !total)
        throw new Error(`HTTP ${res.status}: ${diag?.[1] ?? res.body.slice(0, 200)}`);
      const hits = (res.body.match(/<(?:\w+:)?recordData>/g) ?? []).length;
      const ids = [...res.body.matchAll(/<(?:\w+:)?controlfield tag="001">([^<]*)</g)].map((m) =>
        m[1].trim(),
      );
      return { ms, total: Number(total[1]), hits, partial: 0, bytes: res.body.length, diag: diag?.[1], ids };
    },
    close: () => agent.destroy(),
  };
}

/** The search engine alone, in this process, on a node's database (read-only): nat's union catalog or lib-a's. */
function engineClient(dbPath, member) {
  const db = new BetterSqlite3(dbPath, { readonly: true, fileMustExist: true });
  db.pragma("cache_size = -65536");
  return {
    async search(cql) {
      const t0 = performance.now();
      const r = member
        ? searchMember({ db, institutionId: "lib-a" }, cql, { limit: pageSize })
        : searchUnion({ db, nodeId: "nat" }, cql, { limit: pageSize, regionOf: () => "bench" });
      return { ms: performance.now() - t0, total: r.total, hits: r.hits.length, partial: 0 };
    },
    close: () => db.close(),
  };
}

// ------------------------------------------------------------------ measuring

/**
 * Measures every target on the same terms. The machine is shared (other engineers' tests and builds
 * run on its two cores), so targets are interleaved rather than measured one after the other: the
 * latency pass sends each query of a shuffled round to every target in turn (one client each, in a
 * rotating order), and the throughput passes go round the targets `--load-passes` times, so that a
 * burst of outside load lands on all of them alike. The load average is sampled every 5 s.
 */
async function measureAll(targets, mix, pids, onProgress) {
  const results = targets.map((t) => ({
    key: t.key,
    name: t.name,
    warmup: [],
    latency: [],
    load: undefined,
    loadPasses: [],
    errors: [],
  }));
  const loads = [];
  const sampler = setInterval(() => loads.push(loadavg()[0]), 5000);
  try {
    // Warm-up: each query once at each target; the hit counts reported are these.
    const single = targets.map((t) => t.make());
    for (const [i, t] of targets.entries()) {
      for (const q of mix) {
        try {
          const r = await single[i].search(q.cql);
          results[i].warmup.push({
            ...q,
            total: r.total,
            hits: r.hits,
            ms: r.ms,
            partial: r.partial,
            diag: r.diag,
            bytes: r.bytes,
            ids: r.ids,
          });
        } catch (err) {
          results[i].warmup.push({ ...q, error: err.message });
          results[i].errors.push(`${q.cql}: ${err.message}`);
        }
      }
      onProgress(`warm-up done at ${t.name}`);
    }
    // Latency: one client per target, queries interleaved.
    const l0 = performance.now();
    let k = 0;
    let stop = false;
    for (let r = 0; r < rounds && !stop; r++) {
      for (const q of shuffled(mix, 1000 + r)) {
        if ((performance.now() - l0) / 1000 > latencySeconds) {
          stop = true;
          break;
        }
        for (let j = 0; j < targets.length; j++) {
          const i = (j + k) % targets.length;
          try {
            const res = await single[i].search(q.cql);
            results[i].latency.push({
              kind: q.kind,
              cql: q.cql,
              ms: res.ms,
              firstMs: res.firstMs,
              partial: res.partial,
            });
          } catch (err) {
            results[i].latency.push({ kind: q.kind, cql: q.cql, ms: Number.NaN, error: err.message });
            results[i].errors.push(`${q.cql}: ${err.message}`);
          }
        }
        k++;
      }
      onProgress(
        `latency round ${r + 1} of ${rounds} done (${((performance.now() - l0) / 1000).toFixed(0)} s)`,
      );
    }
    for (const c of single) c.close();

    // Throughput: `clients` at once per target, each its own connection; passes go round the targets.
    for (let pass = 0; pass < loadPasses; pass++) {
      for (const [i, t] of targets.entries()) {
        if (t.concurrent === false) continue;
        const r = await loadPass(t, mix, pids, loadSeconds / loadPasses, Math.ceil(loadQueries / loadPasses));
        results[i].loadPasses.push(r);
        for (const e of r.errors) results[i].errors.push(`load: ${e}`);
        onProgress(
          `load pass ${pass + 1} at ${t.name}: ${r.qps.toFixed(1)} q/s (load average ${r.loadavg.map((x) => x.toFixed(1)).join(" → ")})`,
        );
      }
    }
  } finally {
    clearInterval(sampler);
  }
  for (const r of results) {
    if (r.loadPasses.length === 0) continue;
    const ps = r.loadPasses;
    const seconds = ps.reduce((a, x) => a + x.seconds, 0);
    const samples = ps.flatMap((x) => x.samples);
    const cpu = {};
    for (const x of ps)
      for (const [k2, v] of Object.entries(x.cpu)) cpu[k2] = (cpu[k2] ?? 0) + (v * x.seconds) / seconds;
    r.load = {
      clients,
      queries: samples.length,
      failed: samples.filter((x) => !Number.isFinite(x.ms)).length,
      partial: samples.filter((x) => x.partial > 0).length,
      seconds,
      qps: samples.filter((x) => Number.isFinite(x.ms)).length / seconds,
      qpsPerPass: ps.map((x) => x.qps),
      ms: dist(samples.map((x) => x.ms)),
      health: ps.some((x) => x.health) ? dist(ps.flatMap((x) => x.health ?? [])) : undefined,
      cpu,
    };
    for (const x of ps) delete x.samples;
  }
  return {
    results,
    loadavg: loads.length
      ? {
          min: Math.min(...loads),
          mean: loads.reduce((a, b) => a + b, 0) / loads.length,
          max: Math.max(...loads),
        }
      : undefined,
  };
}

async function loadPass(target, mix, pids, seconds, maxQueries) {
  const cs = Array.from({ length: clients }, () => target.make());
  // A first query on each connection (TLS and HTTP/2 set-up), not counted.
  await Promise.all(cs.map((c) => c.search(mix[0].cql).catch(() => undefined)));
  const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuTree(p)]));
  const self0 = process.cpuUsage();
  const load0 = loadavg()[0];
  const samples = [];
  const errors = [];
  let issued = 0;
  const probe = target.probe?.();
  const t0 = performance.now();
  await Promise.all(
    cs.map(async (c, i) => {
      let k = Math.floor((i * mix.length) / clients);
      while (issued < maxQueries && (performance.now() - t0) / 1000 < seconds) {
        issued++;
        const q = mix[k++ % mix.length];
        try {
          const r = await c.search(q.cql);
          samples.push({ kind: q.kind, ms: r.ms, partial: r.partial });
        } catch (err) {
          samples.push({ kind: q.kind, ms: Number.NaN });
          errors.push(`${q.cql}: ${err.message}`);
        }
      }
    }),
  );
  const elapsed = (performance.now() - t0) / 1000;
  const health = await probe?.stop();
  const cpu = cpuShares(pids, cpu0, self0, elapsed);
  for (const c of cs) c.close();
  return {
    seconds: elapsed,
    qps: samples.filter((x) => Number.isFinite(x.ms)).length / elapsed,
    samples,
    errors: errors.slice(0, 20),
    health,
    cpu,
    loadavg: [load0, loadavg()[0]],
  };
}

function cpuShares(pids, before, selfBefore, seconds) {
  const out = {};
  for (const [k, p] of Object.entries(pids)) out[k] = ((cpuTree(p) - before[k]) / seconds) * 100;
  const self = process.cpuUsage(selfBefore);
  out.bench = ((self.user + self.system) / 1e6 / seconds) * 100;
  return out;
}

// ------------------------------------------------------------------ building a catalog

function stateOf(dir) {
  const p = join(dir, "state.json");
  return existsSync(p) ? JSON.parse(readFileSync(p, "utf8")) : {};
}
function saveState(dir, state) {
  writeFileSync(join(dir, "state.json"), `${JSON.stringify(state, null, 2)}\n`);
}

async function build(n, samples, dir) {
  const state = stateOf(dir);
  const stage = async (name, fn) => {
    if (state[name]) {
      say(`${name}: done before (${JSON.stringify(state[name]).slice(0, 200)})`);
      return state[name];
    }
    say(`${name}…`);
    const t0 = performance.now();
    const r = (await fn()) ?? {};
    state[name] = {
      ...r,
      seconds: r.seconds ?? (performance.now() - t0) / 1000,
      at: new Date().toISOString(),
    };
    saveState(dir, state);
    say(`${name}: ${JSON.stringify(state[name]).slice(0, 400)}`);
    return state[name];
  };
  const mrc = join(dir, "records.mrc");
  const fedDir = join(dir, "fed");
  const exportXml = join(dir, "export.xml");
  const zdir = join(dir, "zebra");

  await stage("generate", () => {
    const fd = openSync(mrc, "w");
    let bytes = 0;
    let withIsbn = 0;
    let chunk = [];
    for (let j = 0; j < n; j++) {
      const { record, isbn } = benchRecord(samples, j);
      if (isbn) withIsbn++;
      const buf = toIso2709(record);
      chunk.push(buf);
      bytes += buf.length;
      if (chunk.length === 2000) {
        writeSync(fd, Buffer.concat(chunk));
        chunk = [];
      }
    }
    if (chunk.length) writeSync(fd, Buffer.concat(chunk));
    closeSync(fd);
    return { records: n, withIsbn, bytes };
  });

  await stage("federation", async () => {
    rmSync(fedDir, { recursive: true, force: true });
    const fed = await Federation.create(SPEC, { dir: fedDir, logLevel: "warn" });
    await fed.stopAll();
    return { nodes: fed.manifest.nodes.map((x) => x.id) };
  });
  const fed = Federation.open({ dir: fedDir, logLevel: "warn" });
  const dbOf = (id) => join(fed.node(id).dataDir, "node.db");

  await stage("import", async () => {
    const t0 = performance.now();
    const out = await runLoud(
      "/usr/bin/time",
      [
        "-f",
        "TIME %e s %U user %S sys %M KB",
        process.execPath,
        BIN.member,
        "import",
        "--config",
        fed.node("lib-a").config,
        "--json",
        mrc,
      ],
      { okCodes: [2] },
    );
    const s = JSON.parse(out);
    return {
      ...s,
      wallSeconds: (performance.now() - t0) / 1000,
      dbBytes: dirSize(fed.node("lib-a").dataDir),
    };
  });

  await stage("union", async () => {
    const worker = (id, source) =>
      runLoud(process.execPath, [
        join(ROOT, "bench/search-populate.mjs"),
        "union",
        "--db",
        dbOf(id),
        "--node",
        id,
        "--source",
        source,
        "--member-db",
        dbOf("lib-a"),
        "--institution",
        "lib-a",
      ]).then((o) => JSON.parse(o));
    const t0 = performance.now();
    const [rc, nat] = await Promise.all([worker("bench-rc", "lib-a"), worker("nat", "bench-rc")]);
    return {
      seconds: (performance.now() - t0) / 1000,
      rc,
      nat,
      rcDbBytes: dirSize(fed.node("bench-rc").dataDir),
      natDbBytes: dirSize(fed.node("nat").dataDir),
    };
  });

  await stage("bookkeeping", () => {
    const u = state.union;
    const now = new Date().toISOString();
    const memberHead = Number(u.rc.memberHead);
    const rcHead = Number(u.rc.unionHead);
    const setMeta = (db, value) =>
      db
        .prepare(
          "INSERT INTO node_meta (key, value) VALUES ('catalog_sync_acked_seq', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .run(String(value));
    const setSource = (db, source, seq) =>
      db
        .prepare(
          `INSERT INTO sync_sources (source_id, acked_seq, head_seq, resync_epoch, resyncing, resyncs, last_sync_at)
           VALUES (?, ?, ?, 0, 0, 0, ?)
           ON CONFLICT (source_id) DO UPDATE SET acked_seq = excluded.acked_seq, head_seq = excluded.head_seq,
             resyncing = 0, last_sync_at = excluded.last_sync_at`,
        )
        .run(source, seq, seq, now);
    const open = (id) => new BetterSqlite3(dbOf(id), { fileMustExist: true });
    const a = open("lib-a");
    setMeta(a, memberHead);
    a.close();
    const rc = open("bench-rc");
    setSource(rc, "lib-a", memberHead);
    setMeta(rc, rcHead);
    rc.close();
    const nat = open("nat");
    setSource(nat, "bench-rc", rcHead);
    nat.close();
    return { memberHead, rcHead };
  });

  if (!noZebra) {
    await stage("export", async () =>
      JSON.parse(
        await runLoud(process.execPath, [
          join(ROOT, "bench/search-populate.mjs"),
          "export",
          "--db",
          dbOf("nat"),
          "--node",
          "nat",
          "--out",
          exportXml,
        ]),
      ),
    );
    await stage("zebra-index", async () => {
      rmSync(zdir, { recursive: true, force: true });
      mkdirSync(join(zdir, "register"), { recursive: true });
      mkdirSync(join(zdir, "tmp"), { recursive: true });
      writeFileSync(
        join(zdir, "zebra.cfg"),
        readFileSync(join(ZEBRA_CONF, "zebra.cfg"), "utf8").replaceAll("BENCH_ZEBRA_DIR", ZEBRA_CONF),
      );
      await run("zebraidx", ["-c", "zebra.cfg", "-v", "warn", "init"], { cwd: zdir });
      const t0 = performance.now();
      const r = await run(
        "/usr/bin/time",
        ["-f", "TIME %e %U %S %M", "zebraidx", "-c", "zebra.cfg", "-v", "warn,log", "update", exportXml],
        { cwd: zdir },
      );
      const seconds = (performance.now() - t0) / 1000;
      const time = /TIME ([\d.]+) ([\d.]+) ([\d.]+) (\d+)/.exec(r.stderr);
      const recs = [...r.stderr.matchAll(/Records: (\d+) i\/u\/d/g)].at(-1);
      return {
        seconds,
        records: recs ? Number(recs[1]) : undefined,
        cpuSeconds: time ? Number(time[2]) + Number(time[3]) : undefined,
        peakRssMb: time ? Number(time[4]) / 1024 : undefined,
        registerBytes: dirSize(join(zdir, "register")),
      };
    });
  }
  return { state, fed, mrc, exportXml, zdir, dbOf };
}

// ------------------------------------------------------------------ one size

async function runSize(n, samples) {
  const dir = join(OUT, `search-${n}`);
  mkdirSync(dir, { recursive: true });
  const { state, fed, mrc, exportXml, zdir, dbOf } = await build(n, samples, dir);
  const mix = queryMix(n, (j) => recordHasIsbn(samples, j));

  let zebra;
  const result = {
    records: n,
    machine: {
      node: process.version,
      cpus: cpus().length,
      model: cpus()[0]?.model,
      memGiB: Math.round(totalmem() / 2 ** 30),
    },
    build: state,
    mix,
    targets: [],
    at: new Date().toISOString(),
    options: { rounds, clients, loadQueries, loadSeconds, loadPasses, latencySeconds, pageSize, timeoutMs },
  };
  try {
    say("starting the federation…");
    const s0 = performance.now();
    await fed.startAll();
    const synced = await fed.waitSynced(10 * 60_000);
    say(
      `federation up in ${((performance.now() - s0) / 1000).toFixed(1)} s; in sync: national ${synced.nationalRecords} records, members ${synced.memberRecords}`,
    );
    result.synced = synced;
    const natStatus = await fed.status("nat");
    result.natCatalog = JSON.parse(
      JSON.stringify(natStatus.catalog ?? {}, (_k, v) => (typeof v === "bigint" ? Number(v) : v)),
    );

    const ports = {};
    if (!noZebra && targetNames.some((t) => t.startsWith("zebra"))) {
      ports.plain = await freePort();
      ports.ranked = await freePort();
      writeFileSync(
        join(zdir, "yazgfs.xml"),
        readFileSync(join(ZEBRA_CONF, "yazgfs.xml"), "utf8")
          .replaceAll("BENCH_ZEBRA_DIR", ZEBRA_CONF)
          .replaceAll("ZEBRA_WORK_DIR", zdir)
          .replace("PLAIN_PORT", String(ports.plain))
          .replace("RANKED_PORT", String(ports.ranked)),
      );
      zebra = spawn("zebrasrv", ["-f", "yazgfs.xml", "-l", "zebrasrv.log"], {
        cwd: zdir,
        stdio: "ignore",
      });
      await sleep(1000);
      if (zebra.exitCode !== null) throw new Error(`zebrasrv exited: see ${join(zdir, "zebrasrv.log")}`);
    }
    const pids = {
      "lib-a": fed.pid("lib-a"),
      "bench-rc": fed.pid("bench-rc"),
      nat: fed.pid("nat"),
      ...(zebra ? { zebrasrv: zebra.pid } : {}),
    };
    const S = searchPb.Scope;
    const all = {
      local: {
        name: "LRS LOCAL (gRPC, lib-a)",
        make: () => grpcClient(fed, S.LOCAL),
        probe: () => healthProbe(fed, "lib-a"),
      },
      region: {
        name: "LRS REGION (gRPC, lib-a → bench-rc)",
        make: () => grpcClient(fed, S.REGION),
        probe: () => healthProbe(fed, "bench-rc"),
      },
      national: {
        name: "LRS NATIONAL (gRPC, lib-a → bench-rc → nat)",
        make: () => grpcClient(fed, S.NATIONAL),
        probe: () => healthProbe(fed, "nat"),
      },
      sru: {
        name: "LRS SRU at nat (HTTP GET)",
        make: () => sruClient(fed.node("nat").sru),
        probe: () => healthProbe(fed, "nat"),
      },
      zebra: {
        name: "Zebra SRU, unranked (HTTP GET)",
        make: () => sruClient(`http://127.0.0.1:${ports.plain}/Default`),
      },
      "zebra-ranked": {
        name: "Zebra SRU, rank-1 relevance (HTTP GET)",
        make: () => sruClient(`http://127.0.0.1:${ports.ranked}/Default`),
      },
      engine: {
        name: "LRS engine alone, union (searchUnion in process, nat's db)",
        make: () => engineClient(dbOf("nat"), false),
        concurrent: false,
      },
      "engine-local": {
        name: "LRS engine alone, member (searchMember in process, lib-a's db)",
        make: () => engineClient(dbOf("lib-a"), true),
        concurrent: false,
      },
    };
    const targets = targetNames.map((t) => {
      if (!all[t]) throw new Error(`unknown target ${t}`);
      return { ...all[t], key: t };
    });
    say(`measuring ${targets.length} targets, interleaved…`);
    const m = await measureAll(targets, mix, pids, (line) => say(`  ${line}`));
    result.targets = m.results;
    result.loadavg = m.loadavg;
    for (const r of m.results) {
      const d = dist(r.latency.map((x) => x.ms));
      say(
        `${r.name}: latency p50 ${fmtMs(d?.p50)} p95 ${fmtMs(d?.p95)} p99 ${fmtMs(d?.p99)} ms (${d?.n} queries)` +
          (r.load
            ? `; ${r.load.qps.toFixed(1)} q/s with ${clients} clients, p50 ${fmtMs(r.load.ms?.p50)} ms`
            : "") +
          (r.errors.length ? `; ${r.errors.length} errors, first: ${r.errors[0]}` : ""),
      );
    }
  } finally {
    if (zebra && zebra.exitCode === null) {
      zebra.kill("SIGTERM");
      await sleep(300);
    }
    await fed.stopAll();
  }
  writeFileSync(join(OUT, `search-${n}.json`), `${JSON.stringify(result, null, 1)}\n`);
  report(result);
  if (!keep) {
    for (const f of [mrc, exportXml]) rmSync(f, { force: true });
    rmSync(dir, { recursive: true, force: true });
    say(`deleted ${dir} (--keep keeps it)`);
  }
}

// ------------------------------------------------------------------ report

function report(r) {
  const p = (s) => process.stdout.write(`${s}\n`);
  const b = r.build;
  p(`\n### ${fmtInt(r.records)} records\n`);
  p(
    `Machine: Node ${r.machine.node}, ${r.machine.cpus} × ${r.machine.model}, ${r.machine.memGiB} GiB. Measured ${r.at}.`,
  );
  if (b.import)
    p(
      `Build: lrs-member import ${fmtInt(b.import.added ?? b.import.records)} records in ${b.import.wallSeconds?.toFixed(0)} s (database ${mb(b.import.dbBytes)}); union catalogs filled in ${b.union?.seconds.toFixed(0)} s (bench-rc ${b.union?.rc.perSecond.toFixed(0)}/s, ${mb(b.union?.rcDbBytes)}; nat ${b.union?.nat.perSecond.toFixed(0)}/s, ${mb(b.union?.natDbBytes)}; ${fmtInt(b.union?.nat.stats?.clusters)} clusters).`,
    );
  if (b["zebra-index"])
    p(
      `Zebra: export ${fmtInt(b.export?.records)} records, ${mb(b.export?.bytes)} MARCXML in ${b.export?.seconds.toFixed(0)} s; zebraidx update ${b["zebra-index"].seconds.toFixed(0)} s (${b["zebra-index"].cpuSeconds?.toFixed(0)} CPU s, peak RSS ${b["zebra-index"].peakRssMb?.toFixed(0)} MB), register ${mb(b["zebra-index"].registerBytes)}.`,
    );
  p(`In sync at start: ${JSON.stringify(r.synced)}; national catalog ${JSON.stringify(r.natCatalog)}.`);
  if (r.loadavg)
    p(
      `Load average (1 min) during the measurements: ${r.loadavg.min.toFixed(1)}–${r.loadavg.max.toFixed(1)}, mean ${r.loadavg.mean.toFixed(1)} (2 cores; the nodes, zebrasrv, this client and other people's work).`,
    );
  p("");

  p(
    `| target | latency p50 | p95 | p99 | max | queries | ${clients} clients: q/s (per pass) | p50 | p95 | p99 | failed/partial | health check during load: p50 / p99 | CPU % during load |`,
  );
  p("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const t of r.targets) {
    const d = dist(t.latency.map((x) => x.ms));
    const l = t.load;
    const cpu = l
      ? Object.entries(l.cpu)
          .filter(([, v]) => v >= 1)
          .map(([k, v]) => `${k} ${v.toFixed(0)}`)
          .join(", ")
      : "–";
    p(
      `| ${t.name} | ${fmtMs(d?.p50)} | ${fmtMs(d?.p95)} | ${fmtMs(d?.p99)} | ${fmtMs(d?.max)} | ${d?.n ?? 0} | ${l ? `${l.qps.toFixed(1)} (${l.qpsPerPass.map((x) => x.toFixed(0)).join(", ")})` : "–"} | ${fmtMs(l?.ms?.p50)} | ${fmtMs(l?.ms?.p95)} | ${fmtMs(l?.ms?.p99)} | ${l ? `${l.failed}/${l.partial}` : "–"} | ${l?.health ? `${fmtMs(l.health.p50)} / ${fmtMs(l.health.p99)}` : "–"} | ${cpu} |`,
    );
  }
  const nat = r.targets.find((t) => t.key === "national");
  if (nat) {
    const f = dist(nat.latency.map((x) => x.firstMs));
    p(
      `\nNATIONAL streams the regional page first: first message p50 ${fmtMs(f?.p50)} / p95 ${fmtMs(f?.p95)} / p99 ${fmtMs(f?.p99)} ms (one client); the figures above are to the final message.`,
    );
  }
  p("\nLatency in ms, p50 by kind of query (one client):\n");
  const kinds = [...new Set(r.mix.map((q) => q.kind))];
  p(`| kind | ${r.targets.map((t) => t.key).join(" | ")} |`);
  p(`|---|${r.targets.map(() => "---:").join("|")}|`);
  for (const k of kinds) {
    p(
      `| ${k} | ${r.targets.map((t) => fmtMs(dist(t.latency.filter((x) => x.kind === k).map((x) => x.ms))?.p50)).join(" | ")} |`,
    );
  }
  p("\nHits per query (warm-up pass; LRS counts clusters at REGION/NATIONAL/SRU, records at LOCAL):\n");
  p(`| query | ${r.targets.map((t) => t.key).join(" | ")} |`);
  p(`|---|${r.targets.map(() => "---:").join("|")}|`);
  r.mix.forEach((q, i) => {
    p(
      `| \`${q.cql}\` | ${r.targets.map((t) => (t.warmup[i]?.error ? "error" : fmtInt(t.warmup[i]?.total))).join(" | ")} |`,
    );
  });
  const sru = r.targets.find((t) => t.key === "sru");
  const lines = [];
  for (const t of r.targets.filter((x) => x.warmup.some((w) => w.bytes !== undefined))) {
    const bytes = t.warmup.filter((w) => w.bytes !== undefined);
    let overlap = "";
    if (sru && t !== sru) {
      let same = 0;
      let of = 0;
      t.warmup.forEach((w, i) => {
        const mine = sru.warmup[i]?.ids ?? [];
        if (!w.ids || mine.length === 0) return;
        const set = new Set(mine);
        same += w.ids.filter((id) => set.has(id)).length;
        of += mine.length;
      });
      overlap = `; first page shares ${same} of ${of} records with LRS SRU's first pages`;
    }
    lines.push(
      `- ${t.name}: ${Math.round(bytes.reduce((a, w) => a + w.bytes, 0) / bytes.length / 1024)} KB per response on average${overlap}`,
    );
  }
  if (lines.length) p(`\nSRU responses (warm-up pass, ${pageSize} records a page):\n${lines.join("\n")}`);
  const errs = r.targets.flatMap((t) => t.errors.slice(0, 5).map((e) => `${t.key}: ${e}`));
  if (errs.length) p(`\nErrors (first 5 per target):\n${errs.map((e) => `- ${e}`).join("\n")}`);
}

// ------------------------------------------------------------------ main

if (!existsSync(join(ROOT, "packages/dev-env/dist/index.js"))) {
  console.error("packages/*/dist is missing: run npx tsc -b first");
  process.exit(1);
}
mkdirSync(OUT, { recursive: true });
const { records: samples } = await loadSamples();
say(
  `node ${process.version}, ${cpus().length} × ${cpus()[0]?.model}; ${samples.length} sample records; sizes ${sizes.join(", ")}`,
);
for (const n of sizes) await runSize(n, samples);
