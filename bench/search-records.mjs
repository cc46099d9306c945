// The records of the search benchmark (bench/search.mjs): copies of the real sample records of
// data/marc made by bench/records.mjs `copyOf` with `stripIds` (no 010/020/022/035, so that the
// copies of one book do not all fall into one cluster of the union catalog), to which every copy of
// a sample record that had an ISBN (1,516 of the 2,494) gets one ISBN of its own back: a valid
// ISBN-13 "9798" + the copy's number (8 digits) + check digit. So ISBN searches look up a number
// that one record has, as in a real catalog, instead of one that ~400 copies share.
import { copyOf } from "./records.mjs";

/** The ISBN-13 given to record number `j` of the benchmark. */
export function benchIsbn(j) {
  const body = `9798${String(j).padStart(8, "0")}`;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (body.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 3);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

const hasIsbn = new WeakMap();
function sampleHasIsbn(sample) {
  let v = hasIsbn.get(sample);
  if (v === undefined) {
    v = sample.record.fields.some((f) => f.tag === "020" && "subfields" in f);
    hasIsbn.set(sample, v);
  }
  return v;
}

/**
 * Record number `j` (0-based) of a benchmark catalog: copy `floor(j / samples.length)` of sample
 * `j % samples.length`, with an ISBN of its own when the sample had one.
 * @returns {{record: import("@lrs/shared").MarcRecord, isbn: string | undefined}}
 */
export function benchRecord(samples, j) {
  const sample = samples[j % samples.length];
  const record = copyOf(sample, Math.floor(j / samples.length), { stripIds: true });
  if (!sampleHasIsbn(sample)) return { record, isbn: undefined };
  const isbn = benchIsbn(j);
  const at = record.fields.findIndex((f) => f.tag > "020");
  const field = { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: isbn }] };
  if (at < 0) record.fields.push(field);
  else record.fields.splice(at, 0, field);
  return { record, isbn };
}

/** Whether record number `j` of a benchmark catalog has an ISBN (see {@link benchRecord}). */
export function recordHasIsbn(samples, j) {
  return sampleHasIsbn(samples[j % samples.length]);
}
