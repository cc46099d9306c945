#!/usr/bin/env node
// Reading and writing throughput of the MARC library (packages/shared/src/marc).
//
//   npx tsc -b packages/shared && node bench/marc-parse.mjs [--input FILE.mrc] [--records N]
//
// Builds bench/out/bench.mrc (ISO 2709) and bench/out/bench.xml (MARCXML) by repeating the records
// of the input (default: the ISO 2709 fixtures of packages/shared/src/marc/fixtures) up to N records
// (default 100,000), then times each scenario in a child process of its own, so that the peak RSS
// reported is that scenario's alone. Results are printed as a Markdown table for BENCHMARKS.md.
import { execFileSync } from "node:child_process";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  writeSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { arg } from "./util.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "packages/shared/dist/marc/index.js");
const outDir = join(root, "bench/out");
const mrcPath = join(outDir, "bench.mrc");
const xmlPath = join(outDir, "bench.xml");

if (!existsSync(dist)) {
  console.error(`${relative(root, dist)} is missing: run npx tsc -b packages/shared first`);
  process.exit(1);
}
const marc = await import(pathToFileURL(dist).href);

const scenarios = {
  /** The whole file in memory, walked synchronously. */
  async "iso2709 parseIso2709(Buffer)"() {
    const buf = readFileSync(mrcPath);
    let n = 0;
    for (const r of marc.parseIso2709(buf)) if (r.ok) n++;
    return { records: n, bytes: buf.length };
  },
  /** The file streamed in 1 MiB chunks. */
  async "iso2709 readMarcFile (stream)"() {
    let n = 0;
    for await (const r of marc.readMarcFile(mrcPath)) if (r.ok) n++;
    return { records: n, bytes: statSync(mrcPath).size };
  },
  async "marcxml readMarcFile (stream)"() {
    let n = 0;
    for await (const r of marc.readMarcFile(xmlPath)) if (r.ok) n++;
    return { records: n, bytes: statSync(xmlPath).size };
  },
  /**
   * Records already in memory written as ISO 2709 (UTF-8): the distinct records (at most 5,000, so
   * that the heap stays small like an export's would) written over and over.
   */
  async "iso2709 toIso2709 (write)"() {
    const records = [];
    let total = 0;
    for (const r of marc.parseIso2709(readFileSync(mrcPath))) {
      total++;
      if (r.ok && records.length < 5000) records.push(r.record);
    }
    const start = process.hrtime.bigint();
    let bytes = 0;
    for (let i = 0; i < total; i++) bytes += marc.toIso2709(records[i % records.length]).length;
    return { records: total, bytes, ns: Number(process.hrtime.bigint() - start) };
  },
};

const only = arg("--scenario", undefined);
if (only !== undefined) {
  // Child: run one scenario and report as JSON.
  const start = process.hrtime.bigint();
  const result = await scenarios[only]();
  const ns = result.ns ?? Number(process.hrtime.bigint() - start);
  const maxRssKb = process.resourceUsage().maxRSS;
  console.log(JSON.stringify({ ...result, ns, maxRssKb }));
  process.exit(0);
}

const target = Number(arg("--records", "100000"));
const inputs = arg("--input", undefined)
  ? [arg("--input")]
  : readdirSync(join(root, "packages/shared/src/marc/fixtures"))
      .filter((f) => f.endsWith(".mrc"))
      .sort()
      .map((f) => join(root, "packages/shared/src/marc/fixtures", f));

// Source records, as raw ISO 2709 slices (MARC-8 stays MARC-8) and as parsed records for MARCXML.
const raws = [];
const parsed = [];
for (const input of inputs) {
  const buf = readFileSync(input);
  for (const r of marc.parseIso2709(buf)) {
    if (!r.ok) continue;
    raws.push(buf.subarray(r.offset, r.offset + Number(buf.toString("latin1", r.offset, r.offset + 5))));
    parsed.push(r.record);
  }
}
if (raws.length === 0) throw new Error("no readable records in the input");

mkdirSync(outDir, { recursive: true });
const mrc = openSync(mrcPath, "w");
const xml = openSync(xmlPath, "w");
writeSync(
  xml,
  '<?xml version="1.0" encoding="UTF-8"?>\n<collection xmlns="http://www.loc.gov/MARC21/slim">\n',
);
const marc8 = raws.filter((r) => r[9] === 0x20).length;
for (let i = 0; i < target; i += 1000) {
  const batch = [];
  const xmlBatch = [];
  for (let j = i; j < Math.min(target, i + 1000); j++) {
    batch.push(raws[j % raws.length]);
    xmlBatch.push(marc.toMarcXml(parsed[j % parsed.length]));
  }
  writeSync(mrc, Buffer.concat(batch));
  writeSync(xml, xmlBatch.join(""));
}
writeSync(xml, "</collection>\n");
closeSync(mrc);
closeSync(xml);

const mb = (bytes) => (bytes / 1e6).toFixed(1);
console.log(
  `input: ${raws.length} distinct records (${marc8} MARC-8) from ${inputs.map((p) => relative(root, p)).join(", ")}, repeated to ${target}`,
);
console.log(`files: bench.mrc ${mb(statSync(mrcPath).size)} MB, bench.xml ${mb(statSync(xmlPath).size)} MB`);
console.log(`node ${process.version}, ${process.platform}/${process.arch}\n`);
console.log("| scenario | records | seconds | records/s | MB/s | peak RSS |");
console.log("|---|---:|---:|---:|---:|---:|");
for (const name of Object.keys(scenarios)) {
  const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), "--scenario", name], {
    encoding: "utf8",
  });
  const r = JSON.parse(out.trim().split("\n").pop());
  const s = r.ns / 1e9;
  console.log(
    `| ${name} | ${r.records} | ${s.toFixed(2)} | ${Math.round(r.records / s).toLocaleString("en-US")} | ${(r.bytes / 1e6 / s).toFixed(1)} | ${Math.round(r.maxRssKb / 1024)} MB |`,
  );
}
