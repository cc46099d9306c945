import { createWriteStream } from "node:fs";
import { join } from "node:path";
import { recordIdOf } from "@lrs/member-node";
import { type MarcRecord, readMarcFile, subfieldValues } from "@lrs/shared";

/** The sample MARC sets shipped in data/marc (see data/marc/SOURCES.md). */
export const SAMPLE_DATA = (root: string) => join(root, "data/marc");

/**
 * Which sample files each demo member holds. Some sets are given to two
 * members, in different regions, so that the union catalogs show merged
 * clusters with holdings from several libraries.
 */
export const DEMO_CATALOGS: Record<string, string[]> = {
  "north-univ": ["solrmarc-uva/uva_001_2000.mrc", "lc-marc2bibframe2/loc_general.xml"],
  "north-city": ["traject/test_data.utf8.mrc", "folio-mod-data-import/100.mrc"],
  "south-univ": [
    "lc-marc2bibframe2/loc_general.xml",
    "lc-marc2bibframe2/princeton.xml",
    "folio-mod-data-import/UChicago_SampleBibs-distinct.xml",
  ],
  "south-tech": ["folio-mod-data-import/CornellFOLIOExemplars.mrc", "folio-mod-data-import/100.mrc"],
  "south-arts": ["traject/test_data.utf8.mrc", "lc-marc2bibframe2/princeton.xml"],
};

/**
 * Demo members that harvest their catalog over OAI-PMH from a mock ILS (mock-ils.ts) serving these
 * files with Koha-style items, instead of importing files: the way a library connects its own ILS.
 */
export const DEMO_HARVESTED: Record<string, string[]> = {
  "north-med": ["lc-marc2bibframe2/nlm.xml"],
};

/**
 * Orders the demo members have placed (acquisitions), as the CSV `lrs-member order import` reads:
 * a title nobody holds yet, a title other libraries hold, and a title-only order.
 */
export const DEMO_ORDERS: Record<string, string> = {
  "north-city": [
    "isbn,title,author,copies,expected_date,fund,vendor_ref",
    "9780262033848,Introduction to algorithms,Cormen,2,2027-03-01,SCI,DEMO-NC-1",
    "9781921667473,,,1,2027-02-15,GEN,DEMO-NC-2",
  ].join("\n"),
  "south-tech": [
    "isbn,title,author,copies,expected_date,fund,vendor_ref",
    ",Handbook of shared print retention,,1,,LIB,DEMO-ST-1",
  ].join("\n"),
};

const LOCATIONS = ["MAIN", "MAIN", "MAIN", "STACKS", "STACKS", "REF"];

function callNumber(rec: MarcRecord): string {
  for (const [tag, codes] of [
    ["050", ["a", "b"]],
    ["090", ["a", "b"]],
    ["060", ["a", "b"]],
    ["082", ["a"]],
  ] as const) {
    const parts = codes.flatMap((c) => subfieldValues(rec, tag, c).slice(0, 1));
    if (parts.length) return parts.join(" ").trim();
  }
  return "";
}

const DAY_MS = 86_400_000;

/**
 * Writes a companion items CSV for a demo member: one or two copies per
 * record with the record's own call number, spread over locations, a few on
 * loan — due back two to five weeks after `today` — and the reference copies
 * not circulating. The records are real; only the copies are made up,
 * deterministically (from `today` and the copy's index), since the sample sets
 * carry no item data of their own.
 */
export async function writeDemoItems(
  memberId: string,
  files: string[],
  out: string,
  today: Date = new Date(),
): Promise<number> {
  const w = createWriteStream(out);
  w.write("record_id,barcode,call_number,location,status,loan_rule,due_date\n");
  const day = Math.floor(today.getTime() / DAY_MS) * DAY_MS;
  const csv = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  let n = 0;
  const seen = new Set<string>();
  for (const file of files) {
    for await (const r of readMarcFile(file)) {
      if (!r.ok) continue;
      let id: string;
      try {
        id = recordIdOf(r.record);
      } catch {
        continue;
      }
      if (seen.has(id)) continue;
      seen.add(id);
      const copies = n % 4 === 0 ? 2 : 1;
      for (let c = 0; c < copies; c++) {
        n++;
        const location = LOCATIONS[n % LOCATIONS.length]!;
        const status = location !== "REF" && n % 7 === 0 ? "on_loan" : "available";
        const loanRule = location === "REF" ? "non_circulating" : "standard";
        const barcode = `${memberId.toUpperCase()}-${String(n).padStart(6, "0")}`;
        const due =
          status === "on_loan" ? new Date(day + (14 + (n % 22)) * DAY_MS).toISOString().slice(0, 10) : "";
        w.write(
          `${[id, barcode, callNumber(r.record), location, status, loanRule, due].map(csv).join(",")}\n`,
        );
      }
    }
  }
  await new Promise<void>((resolve, reject) =>
    w.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return n;
}
