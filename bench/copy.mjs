#!/usr/bin/env node
// Document delivery through the tiers: how fast a scanned copy goes from the lender's upload to a
// verified file at the borrower, across regions (DESIGN.md flow 6, copies).
//
//   npx tsc -b && node bench/copy.mjs [--sizes 5,20,50] [--runs 3] [--keep]
//
// 1. Starts a federation of real node processes (national; north-center with north-univ, the
//    borrower; south-center with south-univ, the lender) through the real enrollment flow. The
//    lender answers copy requests from availability and takes copies up to 60 MB; the centers keep
//    their default limit (50 MB).
// 2. The lender imports the NLM sample records (Acta anatomica, ISSN 0001-5180, among them).
// 3. For each size (decimal MB), `--runs` times, one at a time: the borrower asks for an article of
//    Acta anatomica (Borrow with the article's fields, as `ill request --article` does), the lender's
//    responder says WillSupply, and the lender uploads a random "scan" of that size from disk
//    through CopyStaffService.UploadCopy, as `ill upload-copy` does (SHA-256 computed first, then
//    streamed in 256 KiB chunks). The file then goes lender → south-center → national →
//    north-center → borrower, stored and SHA-256-checked at every hop before it is passed on.
// 4. Time: from the start of the upload to the borrower's own timestamp of the verified, stored
//    file (its CopyInfo.stored_at; one machine, one clock); throughput = size / that time. Per hop,
//    from each node's record of the transfer (Trace): when it was stored there. Finally the
//    borrower's copy is downloaded (DownloadCopy) and its SHA-256 compared with the original.
//
// The federation lives in bench/out/copy (deleted at the end unless --keep).
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { finished } from "node:stream/promises";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { Federation } from "@lrs/dev-env";
import { copyPb, illPb, illServicePb } from "@lrs/shared";
import { ROOT } from "./records.mjs";
import { arg, dist, say, twoRegionSpec } from "./util.mjs";

const sizes = arg("--sizes", "5,20,50").split(",").map(Number);
const runs = Number(arg("--runs", "3"));
const keep = process.argv.includes("--keep");

const DIR = join(ROOT, "bench/out/copy");
const NLM = join(ROOT, "data/marc/lc-marc2bibframe2/nlm.xml");
const CHUNK = 256 * 1024;
const SPEC = twoRegionSpec(
  [{ id: "north-univ", name: "Benchmark borrower", extraConfig: `[ill]\ntimer_interval = "100ms"\n` }],
  [
    {
      id: "south-univ",
      name: "Benchmark lender",
      extraConfig: `[ill]\nauto_respond = "availability"\ntimer_interval = "100ms"\nmax_copy_size = "60MB"\n`,
    },
  ],
);

const t = (ts) => timestampDate(ts).getTime();
const fmt = (v, unit) => (v === undefined ? "–" : `${v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0)} ${unit}`);

/** A "scan" of `bytes` bytes: a PDF header and random bytes, written to disk; its SHA-256. */
async function scan(path, bytes) {
  const out = createWriteStream(path);
  const hash = createHash("sha256");
  const head = Buffer.from("%PDF-1.5\n");
  out.write(head);
  hash.update(head);
  for (let left = bytes - head.length; left > 0; left -= CHUNK) {
    const b = randomBytes(Math.min(CHUNK, left));
    hash.update(b);
    if (!out.write(b)) await new Promise((r) => out.once("drain", r));
  }
  out.end();
  await finished(out);
  return hash.digest("hex");
}

/** The file's SHA-256 as the CLI computes it before it streams the file. */
async function fileSha(path) {
  const hash = createHash("sha256");
  for await (const c of createReadStream(path, { highWaterMark: CHUNK })) hash.update(c);
  return hash.digest("hex");
}

async function main() {
  rmSync(DIR, { recursive: true, force: true });
  mkdirSync(join(DIR, "files"), { recursive: true });
  say(`starting a federation of 5 nodes in ${DIR}`);
  const fed = await Federation.create(SPEC, { dir: DIR, logLevel: "warn" });
  const clients = [];
  const client = (id, service) => {
    const tr = fed.transport(id);
    clients.push(tr);
    return createClient(service, tr.transport);
  };
  try {
    const lines = [
      "record_id,barcode,call_number,location,status,loan_rule,due_date",
      "117811,acta-1,W1 AC752,MAIN,available,normal,",
    ];
    writeFileSync(join(DIR, "files/items.csv"), `${lines.join("\n")}\n`);
    const lender = fed.node("south-univ");
    await fed.cli(lender, [
      "import",
      "--config",
      lender.config,
      "--items",
      join(DIR, "files/items.csv"),
      NLM,
    ]);
    say("imported the NLM records at the lender; waiting for the national union catalog");
    await fed.waitSynced(120_000);

    const borrowerStaff = client("north-univ", illServicePb.IllStaffService);
    const borrowerCopy = client("north-univ", copyPb.CopyStaffService);
    const lenderStaff = client("south-univ", illServicePb.IllStaffService);
    const lenderCopy = client("south-univ", copyPb.CopyStaffService);
    const northTrace = client("north-center", illServicePb.IllService);
    const poll = async (fn, what, timeoutMs = 120_000) => {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms for ${what}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };

    const rows = [];
    let article = 0;
    for (const mb of sizes) {
      const bytes = mb * 1_000_000;
      const file = join(DIR, "files", `scan-${mb}MB.pdf`);
      const want = await scan(file, bytes);
      const results = [];
      for (let run = 0; run < runs; run++) {
        const { request } = await borrowerStaff.borrow({
          itemIds: [{ bibliographicItemIdentifierCode: "ISSN", bibliographicItemIdentifier: "0001-5180" }],
          serviceType: illPb.ServiceType.COPY,
          patronId: "bench",
          titleOfComponent: `Benchmark article ${++article}`,
          pages: "1-20",
          // Older than the copyright rule's five years: the benchmark's many copies of one journal
          // are not held for review.
          publicationDate: "1990",
        });
        if (request.status !== "sent_to_supplier")
          throw new Error(`the request is ${request.status}: ${request.attention || "see ill show"}`);
        const lend = await poll(async () => {
          const res = await lenderStaff.listRequests({ role: "lender" });
          const r = res.requests.find((x) => x.requestingAgencyRequestId.startsWith(`${request.id}/`));
          return r?.status === "will_supply" ? r : undefined;
        }, "the lender's WillSupply");
        // As `ill upload-copy`: the hash first, then the stream.
        const t0 = Date.now();
        const sha256 = await fileSha(file);
        async function* parts() {
          yield {
            part: {
              case: "header",
              value: { requestId: lend.id, fileName: `scan-${mb}MB.pdf`, size: BigInt(bytes), sha256 },
            },
          };
          for await (const c of createReadStream(file, { highWaterMark: CHUNK }))
            yield { part: { case: "chunk", value: c } };
        }
        const up = await lenderCopy.uploadCopy(parts(), { timeoutMs: 600_000 });
        const done = await poll(async () => {
          const r = (await borrowerStaff.showRequest({ id: request.id })).request;
          return r.status === "copy_completed" && r.copy?.state === "available" ? r : undefined;
        }, "the verified copy at the borrower");
        const arrived = t(done.copy.storedAt);
        const trace = await northTrace.trace({ requestId: request.id, follow: true });
        const at = (node) => {
          const h = trace.hops.find((x) => x.nodeId === node && x.kind.startsWith("CopyTransfer"));
          return h ? t(h.receivedAt) : undefined;
        };
        const uploaded = t(up.copy.storedAt);
        const south = at("south-center");
        const nat = at("national");
        const north = at("north-center");
        // The download, checked as `ill download-copy` checks it.
        const hash = createHash("sha256");
        let got = 0;
        for await (const m of borrowerCopy.downloadCopy({ requestId: request.id }, { timeoutMs: 600_000 }))
          if (m.part.case === "chunk") {
            hash.update(m.part.value);
            got += m.part.value.length;
          }
        const downloaded = hash.digest("hex");
        if (downloaded !== want || got !== bytes)
          throw new Error(`run ${run} of ${mb} MB: the download differs`);
        results.push({
          total: arrived - t0,
          upload: uploaded - t0,
          "lender → south-center": south - uploaded,
          "south-center → national": nat - south,
          "national → north-center": north - nat,
          "north-center → borrower": arrived - north,
        });
        say(
          `${mb} MB run ${run + 1}: ${arrived - t0} ms upload start → verified at the borrower, download verified`,
        );
      }
      rows.push({ mb, results });
    }

    console.log(`\nDocument delivery, cross-region, one copy at a time, ${cpus().length} cores:`);
    console.log(
      "| size | runs | upload (to the lender's node) | lender → south-center | south-center → national | national → north-center | north-center → borrower | upload start → verified at the borrower (p50) | throughput (p50) |",
    );
    console.log("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    const summary = {};
    for (const { mb, results } of rows) {
      const d = (k) => dist(results.map((r) => r[k]));
      const total = d("total");
      const hop = (k) => fmt(d(k)?.p50, "ms");
      summary[`${mb}MB`] = { total, throughputMBps: (mb * 1000) / total.p50, results };
      console.log(
        `| ${mb} MB | ${results.length} | ${hop("upload")} | ${hop("lender → south-center")} | ${hop("south-center → national")} | ${hop("national → north-center")} | ${hop("north-center → borrower")} | ${fmt(total.p50, "ms")} (min ${fmt(total.min, "ms")}, max ${fmt(total.max, "ms")}) | ${fmt((mb * 1000) / total.p50, "MB/s")} |`,
      );
    }
    writeFileSync(join(ROOT, "bench/out/copy.json"), JSON.stringify(summary, null, 2));
  } finally {
    for (const tr of clients) tr.close();
    await fed.stopAll();
    if (!keep) rmSync(DIR, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
