/**
 * A small stand-in for a library's ILS (Koha-like) for the demo: an OAI-PMH data provider serving
 * sample records with their items in 952, as Koha's oai.pl does, so that a demo member harvests its
 * catalog instead of importing a file. The protocol is LRS's own provider (one implementation).
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { controlValue, createLogger, type MarcRecord, readMarcFile, subfieldValues } from "@lrs/shared";
import { type OaiItem, OaiProvider, type OaiRepository, oaiHttpHandler } from "@lrs/shared/center";

export interface MockIls {
  /** The OAI-PMH base URL. */
  url: string;
  records: number;
  /** The items its records carry (952 $p), with their titles: what its NCIP responder knows. */
  items: Array<{ barcode: string; title: string }>;
  close(): Promise<void>;
}

const BRANCHES = ["MAIN", "MAIN", "BRANCH"];

/** The record with one or two made-up Koha items (952), numbered from `n`. */
function withItems(rec: MarcRecord, prefix: string, n: number): MarcRecord {
  const call =
    [...subfieldValues(rec, "050", "a"), ...subfieldValues(rec, "050", "b")].join(" ") || `MOCK ${n}`;
  const copies = n % 4 === 0 ? 2 : 1;
  const items = Array.from({ length: copies }, (_, c) => ({
    tag: "952",
    ind1: " ",
    ind2: " ",
    subfields: [
      { code: "a", value: BRANCHES[(n + c) % BRANCHES.length]! },
      { code: "b", value: BRANCHES[(n + c) % BRANCHES.length]! },
      { code: "o", value: call },
      { code: "p", value: `${prefix}${String(n * 10 + c).padStart(8, "0")}` },
      { code: "y", value: "BK" },
    ],
  }));
  return { leader: rec.leader, fields: [...rec.fields.filter((f) => f.tag !== "952"), ...items] };
}

/**
 * A repository of `size` records that all changed when it was made (an ILS's records, numbered
 * 1…size), with no sets and no deletes: what a small data provider serves.
 */
export function fixedOaiRepository(o: {
  name: string;
  namespace: string;
  size: number;
  identifierOf: (seq: number) => string;
  /** 0 when there is no such identifier. */
  seqOf: (identifier: string) => number;
  record: (seq: number) => MarcRecord | undefined;
}): OaiRepository {
  const loaded = new Date().toISOString().replace(/\.\d+Z$/, "Z");
  const item = (seq: number): OaiItem => ({
    identifier: o.identifierOf(seq),
    seq,
    changedAt: loaded,
    deleted: false,
    setSpecs: [],
  });
  return {
    repositoryName: o.name,
    adminEmails: ["ils-admin@example.org"],
    identifierNamespace: o.namespace,
    sampleIdentifier: o.size > 0 ? o.identifierOf(1) : `oai:${o.namespace}:1`,
    earliestDatestamp: () => loaded,
    sets: () => [],
    setFilter: () => undefined,
    range: (r) => ({
      after: 0,
      upto:
        (r.from === undefined || r.from <= loaded) &&
        (r.untilExclusive === undefined || r.untilExclusive > loaded)
          ? o.size
          : 0,
    }),
    list: (after, upto, _set, limit) =>
      Array.from({ length: Math.max(0, Math.min(upto, after + limit) - after) }, (_, k) =>
        item(after + k + 1),
      ),
    count: (after, upto) => Math.max(0, upto - after),
    item: (identifier) => {
      const seq = o.seqOf(identifier);
      return seq >= 1 && seq <= o.size ? item(seq) : undefined;
    },
    record: (it) => o.record(it.seq),
  };
}

/** Starts the mock ILS on `host:port` (0: any free port) serving `files`. */
export async function startMockIls(o: {
  files: string[];
  name: string;
  barcodePrefix: string;
  host?: string;
  port?: number;
}): Promise<MockIls> {
  const records: Array<{ identifier: string; record: MarcRecord }> = [];
  const seen = new Set<string>();
  for (const file of o.files) {
    for await (const r of readMarcFile(file)) {
      const id = r.ok ? controlValue(r.record, "001")?.trim() : undefined;
      if (!r.ok || !id || seen.has(id)) continue;
      seen.add(id);
      records.push({
        identifier: `oai:mock-ils:${id}`,
        record: withItems(r.record, o.barcodePrefix, records.length + 1),
      });
    }
  }
  const repository = fixedOaiRepository({
    name: o.name,
    namespace: "mock-ils",
    size: records.length,
    identifierOf: (seq) => records[seq - 1]!.identifier,
    seqOf: (identifier) => records.findIndex((r) => r.identifier === identifier) + 1,
    record: (seq) => records[seq - 1]?.record,
  });
  const handler = oaiHttpHandler(new OaiProvider({ repository, pageSize: 50 }), createLogger("mock-ils"));
  const server = http.createServer((req, res) => {
    if ((req.url ?? "/").split("?")[0] === "/oai") void handler(req, res);
    else {
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("the mock ILS answers OAI-PMH at /oai\n");
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port ?? 0, o.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${o.host ?? "127.0.0.1"}:${port}/oai`,
    records: records.length,
    items: records.flatMap(({ record }) => {
      const title = subfieldValues(record, "245", "a")[0]?.replace(/[\s/:;,.]+$/, "") ?? "";
      return subfieldValues(record, "952", "p").map((barcode) => ({ barcode, title }));
    }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
