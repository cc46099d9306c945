// The fixed query mix of bench/search.mjs: ten kinds of query a library's staff or patrons type,
// four of each, with terms taken from the sample records of data/marc (so that they find what the
// generated catalog holds, from a few hits to tens of thousands), written once in CQL and sent as
// they are to every target (LRS SearchService at each scope, LRS SRU, Zebra SRU).
//
// Dates are asked with ">=" and "<=" rather than `within`: both engines read those, and the CQL to
// PQF translation of YAZ has no `within` (a Zebra server answers such a query with 0 hits).
import { benchIsbn } from "./search-records.mjs";

const FIXED = [
  ["title word", ["dc.title=history", "dc.title=atlas", "dc.title=congress", "dc.title=geschichte"]],
  [
    "two-word title",
    [
      'dc.title all "united states"',
      'dc.title all "cell biology"',
      'dc.title all "south carolina"',
      'dc.title all "world war"',
    ],
  ],
  ["author", ["dc.creator=smith", "dc.creator=handel", "dc.creator=jefferson", "dc.creator=müller"]],
  ["subject", ["dc.subject=biography", "dc.subject=music", "dc.subject=germany", "dc.subject=philosophy"]],
  [
    "phrase",
    [
      'dc.title="history of"',
      'dc.title="guide to"',
      'dc.title="proceedings of"',
      'dc.title="the united states"',
    ],
  ],
  ["isbn", []], // filled in by queryMix: ISBNs the generated catalog holds
  [
    "date range + title word",
    [
      "dc.title=history and dc.date>=1990 and dc.date<=2000",
      "dc.title=report and dc.date>=1980 and dc.date<=1989",
      "dc.title=music and dc.date>=1900 and dc.date<=1950",
      "dc.title=politics and dc.date>=2000 and dc.date<=2025",
    ],
  ],
  [
    "boolean OR",
    [
      "dc.title=music or dc.title=opera",
      "dc.subject=france or dc.subject=italy",
      "dc.creator=handel or dc.creator=purcell",
      "dc.title=atlas or dc.subject=maps",
    ],
  ],
  ["truncation", ["dc.title=hist*", "dc.title=polit*", "dc.creator=john*", "dc.subject=econom*"]],
  ["CJK word", ["dc.title=東海道", "dc.title=中国", "dc.title=火山灰地", "dc.title=노동"]],
];

/**
 * The mix for a catalog of `n` generated records (bench/search-records.mjs): 40 queries, each
 * `{kind, cql}`. The ISBN queries ask for the ISBNs of four records spread over the catalog.
 * @param {number} n
 * @param {(j: number) => boolean} hasIsbn whether generated record `j` has an ISBN
 */
export function queryMix(n, hasIsbn) {
  const isbns = [];
  for (const at of [0.05, 0.35, 0.65, 0.95]) {
    let j = Math.floor(n * at);
    while (j < n - 1 && !hasIsbn(j)) j++;
    isbns.push(`bath.isbn=${benchIsbn(j)}`);
  }
  const out = [];
  for (const [kind, cqls] of FIXED) for (const cql of kind === "isbn" ? isbns : cqls) out.push({ kind, cql });
  return out;
}

export const KINDS = FIXED.map(([k]) => k);
