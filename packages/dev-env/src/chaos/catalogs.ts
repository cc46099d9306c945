// The chaos harness's catalogs: every member holds titles of its own (an ISBN each, two available
// copies), so that a loan of a title goes to its one holder; and catalog changes during the run
// (new records imported, others deleted) that the union catalogs must follow.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { toIso2709 } from "@lrs/shared";
import type { Federation } from "../federation.js";

/** Words the titles are made of: searches for them find something in every catalog. */
export const CHAOS_TERMS = ["history", "music", "medicine", "law", "science", "water", "theory", "design"];

/** A valid ISBN-13 in the 979-8 range from a number. */
export function isbnFor(n: number): string {
  const body = `9798${String(n).padStart(8, "0")}`;
  const sum = [...body].reduce((a, d, i) => a + Number(d) * (i % 2 ? 3 : 1), 0);
  return `${body}${(10 - (sum % 10)) % 10}`;
}

function record(id: string, isbn: string, title: string): Buffer {
  return toIso2709({
    leader: "00000nam a2200000 a 4500",
    fields: [
      { tag: "001", value: id },
      { tag: "008", value: "200101s2020    xxu           000 0 eng d" },
      { tag: "020", ind1: " ", ind2: " ", subfields: [{ code: "a", value: isbn }] },
      { tag: "100", ind1: "1", ind2: " ", subfields: [{ code: "a", value: `Author, ${id}` }] },
      { tag: "245", ind1: "1", ind2: "0", subfields: [{ code: "a", value: title }] },
    ],
  });
}

/**
 * Imports new records numbered `numbers` at `member` through its CLI (`lrs-member import --items`),
 * two available copies each (ISBNs and ids come from the numbers: unique across the federation).
 * Returns isbn → record id.
 */
export async function importTitles(
  fed: Federation,
  member: string,
  numbers: readonly number[],
  dir: string,
  tag = "t",
  retries = 3,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const marc: Buffer[] = [];
  const items = ["record_id,barcode,call_number,location,status,loan_rule,due_date"];
  for (const n of numbers) {
    const id = `${member}-${tag}${n}`;
    const isbn = isbnFor(n);
    marc.push(record(id, isbn, `A study of ${CHAOS_TERMS[n % CHAOS_TERMS.length]} number ${n}`));
    for (const copy of [1, 2]) items.push(`${id},${id}-${copy},QA${n},MAIN,available,normal,`);
    out.set(isbn, id);
  }
  const file = join(dir, `${member}-${tag}${numbers[0]}.mrc`);
  const csv = join(dir, `${member}-${tag}${numbers[0]}.csv`);
  writeFileSync(file, Buffer.concat(marc));
  writeFileSync(csv, `${items.join("\n")}\n`);
  const node = fed.node(member);
  // An import is an upsert: one cut short (its CLI timed out on a loaded machine) is run again.
  for (let attempt = 1; ; attempt++) {
    try {
      await fed.cli(node, ["import", "--config", node.config, "--items", csv, file]);
      return out;
    } catch (err) {
      if (attempt >= retries) throw err;
    }
  }
}

/** Deletes a record at `member` through its CLI (`lrs-member delete`). */
export async function deleteRecord(fed: Federation, member: string, recordId: string): Promise<void> {
  const node = fed.node(member);
  await fed.cli(node, ["delete", "--config", node.config, recordId]);
}

/** `count` numbers from `first`. */
export const numbersFrom = (first: number, count: number): number[] =>
  Array.from({ length: count }, (_, i) => first + i);
