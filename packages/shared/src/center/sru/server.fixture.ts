/**
 * The SRU server tests' fixture: a union catalog of the sample MARC records, a backend over it,
 * and a server on a free loopback port that a test starts (stopped after each test). Shared by
 * server.test.ts and server.peers.test.ts (the one driven by yaz-client); importing it
 * registers the hooks.
 */
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { afterEach, beforeAll } from "vitest";
import { CqlDiagnostic, CqlParseError } from "../../cql/errors.js";
import { parseCql } from "../../cql/parser.js";
import { validateCql } from "../../cql/validate.js";
import { Database } from "../../db.js";
import { readMarcBlob } from "../../marc/blob.js";
import { controlValue, subfieldValues } from "../../marc/fields.js";
import { parseIso2709, toIso2709 } from "../../marc/iso2709.js";
import { parseMarcXml } from "../../marc/marcxml.js";
import type { MarcRecord } from "../../marc/record.js";
import { toFtsQuery } from "../../match/cjk.js";
import { sharedMigrations } from "../../migrations.js";
import { exportRecord } from "../union/export-record.js";
import { unionCatalogMigrations } from "../union/migrations.js";
import { UnionCatalog } from "../union/union-catalog.js";
import { createSruServer, type SruBackend, type SruLimits, type SruServer } from "./server.js";

const ROOT = new URL("../../../../../", import.meta.url);

function load(path: string): MarcRecord[] {
  const bytes = readFileSync(new URL(path, ROOT));
  const results = path.endsWith(".xml") ? parseMarcXml(bytes.toString("utf8")) : [...parseIso2709(bytes)];
  return results.map((r) => {
    if (!r.ok) throw r.error;
    return r.record;
  });
}

const COLUMNS: Readonly<Record<string, string>> = {
  "dc.title": "title",
  "dc.creator": "author",
  "dc.subject": "subject",
  "dc.publisher": "publisher",
  "dc.date": "year",
  "bath.isbn": "isbn",
  "bath.issn": "issn",
  "cql.anywhere": "any",
};

/**
 * A stand-in for the search engine (which replaces it in production): a query of one search term
 * as FTS5 over the union catalog's index, records as the catalog exports them (preferred record
 * with an 852 per holding institution).
 */
export function catalogBackend(seen?: string[]): SruBackend {
  const cat = catalog;
  return {
    async search(cql, startRecord, maximumRecords, signal) {
      signal.throwIfAborted();
      seen?.push(cql);
      const { root } = validateCql(parseCql(cql));
      if (root.kind !== "clause") {
        throw new CqlParseError({
          position: root.position,
          reason: "the test backend answers a single search term",
          diagnostic: CqlDiagnostic.UnsupportedBooleanOperator,
        });
      }
      const column = COLUMNS[root.index];
      if (column === undefined) {
        throw new CqlParseError({
          position: root.position,
          reason: `the test backend cannot search ${root.index}`,
          diagnostic: CqlDiagnostic.UnsupportedIndex,
          details: root.index,
        });
      }
      const fts = toFtsQuery(root.term.value.replace(/\*$/, ""));
      const hits = fts === undefined ? [] : cat.searchClusters(`${column} : (${fts})`, 10_000);
      const page = hits.slice(startRecord - 1, startRecord - 1 + maximumRecords);
      return {
        total: hits.length,
        records: page.map((h) => {
          const cluster = cat.getCluster(h.id)!;
          return {
            id: cluster.id,
            marc: exportRecord(readMarcBlob(cluster.preferred.marc)!, cluster.id, cluster.holdings),
          };
        }),
      };
    },
  };
}

let catalog: UnionCatalog;

beforeAll(() => {
  const db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
  catalog = new UnionCatalog(db, { nodeId: "north-center" });
  const records = [
    ...load("data/marc/lc-marc2bibframe2/loc_general.xml"),
    ...load("data/marc/traject/test_data.utf8.mrc"),
  ];
  records.forEach((record, i) => {
    const recordId = controlValue(record, "001")?.trim() || `r${i}`;
    catalog.apply("north-lib", {
      kind: "upsert",
      institutionId: "north-lib",
      recordId,
      marc: toIso2709(record),
      holdings: [
        {
          barcode: `b${i}`,
          callNumber: "QA76 .X1",
          location: "stacks",
          status: "available",
          loanRule: "standard",
        },
      ],
      changedAt: new Date("2026-01-01T00:00:00Z"),
    });
  });
});

/** What the backend itself finds: the titles (245 $a) of a page. */
export async function expectedTitles(
  cql: string,
  start: number,
  max: number,
): Promise<{ total: number; titles: string[] }> {
  const r = await catalogBackend().search(cql, start, max, new AbortController().signal);
  return { total: r.total, titles: r.records.map((x) => subfieldValues(x.marc, "245", "a")[0] ?? "") };
}

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

let server: SruServer | undefined;
/** The pino lines of the server last started. */
export const logLines: LogLine[] = [];

afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** Closes the server last started (as its process would on SIGTERM). */
export async function stopServer(): Promise<void> {
  await server?.close();
}

export async function start(
  opts: { backend?: SruBackend; limits?: Partial<SruLimits> } = {},
): Promise<string> {
  logLines.length = 0;
  const log = pino(
    { level: "debug" },
    { write: (line: string) => logLines.push(JSON.parse(line) as LogLine) },
  );
  server = createSruServer({
    host: "127.0.0.1",
    port: 0,
    backend: opts.backend ?? catalogBackend(),
    databaseInfo: {
      title: "North regional union catalog",
      description: "Holdings of the north region's member libraries",
      nodeId: "north-center",
    },
    limits: opts.limits,
    log,
  });
  return server.start();
}
