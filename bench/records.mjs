// Synthetic catalogs made of the real sample records of data/marc (see data/marc/SOURCES.md), for the
// import and sync-latency benchmarks. Used by bench/import.mjs and bench/sync-latency.mjs; needs
// `npx tsc -b` (it imports @lrs/shared from packages/shared/dist).
//
// A copy of a real record differs from it in:
//   - 001: the original 001 (or, for the 2 ids that two sample sets share, 001.N with N the record's
//     place in the sample) followed by "-" and the copy number, so that every copy is a record of its
//     own for the catalog (records are upserted by 001);
//   - 245 $a: a made-up word (syllables spelled from the copy number) before the field's closing
//     punctuation, so that titles differ like those of a real catalog, the full-text index grows a
//     realistic vocabulary, and the union catalog's title/author/year key does not merge the copies;
//   - holdings: the record's own 852/949/952 fields (94 of the 2,495 have some, with barcodes that
//     copies would otherwise share and steal from one another) are replaced by `items` 949 fields
//     (Evergreen layout, read by the default holdings map) with barcodes unique to the copy;
//   - leader/05 "d" (one sample record is a deletion) becomes "c", so every copy is an upsert;
//   - with `stripIds`, the strong match keys 010 (LCCN), 020 (ISBN), 022 (ISSN) and 035 (OCLC and
//     other system numbers) are removed.
import { readdirSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { readMarcFile, toIso2709 } from "@lrs/shared";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
export const DATA = join(ROOT, "data/marc");

/** Every ISO 2709 and MARCXML file under data/marc, in a stable order. */
export function sampleFiles(dir = DATA) {
  const out = [];
  const walk = (d) => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (/\.(mrc|xml)$/.test(f)) out.push(p);
    }
  };
  walk(dir);
  return out;
}

/**
 * The sample records, decoded (MARC-8 to Unicode), each with the base its copies' 001 is made of.
 * Records that cannot be written as ISO 2709 are left out and listed in `skipped`: one UChicago
 * MARCXML record is 116 KB, over ISO 2709's 99,999 bytes (the member catalog, which stores ISO 2709,
 * rejects it too).
 * @returns {Promise<{records: Array<{record: import("@lrs/shared").MarcRecord, base: string, file: string}>, skipped: string[], files: string[]}>}
 */
export async function loadSamples(files = sampleFiles()) {
  const records = [];
  const skipped = [];
  for (const file of files) {
    for await (const r of readMarcFile(file)) {
      if (!r.ok) continue;
      try {
        toIso2709(r.record);
      } catch (err) {
        skipped.push(`${relative(ROOT, file)} record ${r.index}: ${err.message}`);
        continue;
      }
      records.push({ record: r.record, file: relative(ROOT, file) });
    }
  }
  const count = new Map();
  for (const s of records) {
    const id = control001(s.record) ?? "";
    count.set(id, (count.get(id) ?? 0) + 1);
  }
  records.forEach((s, i) => {
    const id = control001(s.record);
    s.base = id === undefined || id === "" ? `s${i}` : count.get(id) > 1 ? `${id}.${i}` : id;
  });
  return { records, skipped, files };
}

function control001(rec) {
  const f = rec.fields.find((x) => x.tag === "001" && "value" in x);
  return f?.value.trim();
}

const SYLLABLES = [
  "ka",
  "lo",
  "mi",
  "ren",
  "to",
  "sa",
  "vel",
  "ur",
  "di",
  "an",
  "bo",
  "ne",
  "pri",
  "ol",
  "ta",
  "ges",
  "mar",
  "is",
  "co",
  "lu",
  "ber",
  "ha",
  "nor",
  "fi",
  "eu",
  "dan",
  "ro",
  "se",
  "quil",
  "ma",
  "te",
  "vin",
];

/** A pronounceable made-up word for `n` (distinct for distinct n). */
export function wordFor(n) {
  let s = "";
  let v = n + SYLLABLES.length; // at least two syllables
  while (v > 0) {
    s += SYLLABLES[v % SYLLABLES.length];
    v = Math.floor(v / SYLLABLES.length);
  }
  return s;
}

const STRONG_KEYS = new Set(["010", "020", "022", "035"]);
const HOLDINGS = new Set(["852", "949", "952"]);

/**
 * Copy `copy` of a sample record (see the head of this file).
 * @param {{record: import("@lrs/shared").MarcRecord, base: string}} sample
 * @param {number} copy
 * @param {{stripIds?: boolean, items?: number, idPrefix?: string}} [opts]
 */
export function copyOf(sample, copy, opts = {}) {
  const { stripIds = false, items = 1, idPrefix = "" } = opts;
  const id = `${idPrefix}${sample.base}-${copy}`;
  const fields = [{ tag: "001", value: id }];
  let callNumber = "";
  let titled = false;
  for (const f of sample.record.fields) {
    if (f.tag === "001") continue;
    if (HOLDINGS.has(f.tag)) continue;
    if (stripIds && STRONG_KEYS.has(f.tag)) continue;
    if ((f.tag === "050" || f.tag === "090") && !callNumber && "subfields" in f)
      callNumber = f.subfields.map((s) => s.value).join(" ");
    if (f.tag === "245" && !titled && "subfields" in f) {
      titled = true;
      let done = false;
      const subfields = f.subfields.map((s) => {
        if (done || s.code !== "a") return s;
        done = true;
        const m = /^(.*?)(\s*[/:;=,.]\s*)?$/s.exec(s.value);
        return { code: "a", value: `${m[1]} ${wordFor(copy)}${m[2] ?? ""}` };
      });
      fields.push({ ...f, subfields });
      continue;
    }
    fields.push(f);
  }
  for (let i = 0; i < items; i++) {
    fields.push({
      tag: "949",
      ind1: " ",
      ind2: " ",
      subfields: [
        { code: "a", value: callNumber || "BENCH" },
        { code: "i", value: `${id}/${i + 1}` },
        { code: "m", value: "MAIN" },
        { code: "l", value: "Stacks" },
        { code: "t", value: "BOOK" },
      ],
    });
  }
  const leader =
    sample.record.leader[5] === "d"
      ? `${sample.record.leader.slice(0, 5)}c${sample.record.leader.slice(6)}`
      : sample.record.leader;
  return { leader, fields };
}
