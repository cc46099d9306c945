import { readFileSync } from "node:fs";
import { beforeEach, describe, expect, it } from "vitest";
import type { HoldingData, RecordChange } from "../../catalog-sync/change-feed.js";
import { Database } from "../../db.js";
import { controlValue } from "../../marc/fields.js";
import { parseIso2709, toIso2709 } from "../../marc/iso2709.js";
import { parseMarcXml } from "../../marc/marcxml.js";
import type { MarcRecord } from "../../marc/record.js";
import { sharedMigrations } from "../../migrations.js";
import { unionCatalogMigrations } from "../union/migrations.js";
import { UnionOaiLog } from "../union/oai-log.js";
import { UnionCatalog } from "../union/union-catalog.js";
import { OaiProvider } from "./provider.js";
import { unionOaiRepository } from "./union-repository.js";

const ROOT = new URL("../../../../../", import.meta.url);
const uva = [...parseIso2709(readFileSync(new URL("data/marc/solrmarc-uva/uva_001_2000.mrc", ROOT)))]
  .flatMap((r) => (r.ok ? [r.record] : []))
  .slice(0, 25);
const idOf = (r: MarcRecord) => controlValue(r, "001")!.trim();
const item = (barcode: string): HoldingData => ({
  barcode,
  callNumber: "QA76 .X1",
  location: "stacks",
  status: "available",
  loanRule: "standard",
});

let clock: number;
const now = () => new Date(clock);
const tick = (ms = 1000) => {
  clock += ms;
};
const REGIONS: Record<string, string> = { "north-a": "north", "north-b": "north", "south-a": "south" };

let db: Database;
let union: UnionCatalog;
let provider: OaiProvider;

function upsert(institutionId: string, record: MarcRecord, recordId = idOf(record)): RecordChange {
  return {
    kind: "upsert",
    institutionId,
    recordId,
    marc: toIso2709(record),
    holdings: [item(`${institutionId}-${recordId}`)],
    changedAt: now(),
  };
}

function oai(args: Record<string, string | string[]>): string {
  const m = new Map<string, string[]>();
  for (const [k, v] of Object.entries(args)) m.set(k, Array.isArray(v) ? v : [v]);
  return provider.answer(m, "http://127.0.0.1/oai").xml;
}

const errorOf = (xml: string) => /<error code="(\w+)">/.exec(xml)?.[1];
const identifiers = (xml: string) =>
  [...xml.matchAll(/<identifier>([^<]+)<\/identifier>/g)].map((m) => m[1]!);
const tokenOf = (xml: string) => /<resumptionToken[^>]*>([^<]*)<\/resumptionToken>/.exec(xml)?.[1];

/** Every identifier of a list, following resumption tokens, with `between` run after each page. */
function harvest(
  args: Record<string, string>,
  between: (page: number) => void = () => {},
): { ids: string[]; xml: string[] } {
  const ids: string[] = [];
  const xml: string[] = [];
  let page = oai(args);
  for (let n = 0; ; n++) {
    expect(errorOf(page)).toBeUndefined();
    xml.push(page);
    ids.push(...identifiers(page));
    const token = tokenOf(page);
    if (!token) break;
    between(n);
    page = oai({ verb: args.verb!, resumptionToken: token });
  }
  return { ids, xml };
}

beforeEach(() => {
  clock = Date.parse("2026-03-01T10:00:00Z");
  db = Database.open(":memory:", [...sharedMigrations, ...unionCatalogMigrations]);
  union = new UnionCatalog(db, { nodeId: "nat", now });
  provider = new OaiProvider({
    repository: unionOaiRepository({
      log: new UnionOaiLog(db, union),
      nodeId: "nat",
      repositoryName: "Test national union catalog",
      adminEmails: ["ops@example.org"],
      regionOf: (i) => REGIONS[i],
    }),
    pageSize: 7,
    now,
  });
  for (const [i, r] of uva.entries()) {
    union.apply(i % 2 ? "north-rc" : "south-rc", upsert(i % 2 ? "north-a" : "south-a", r));
    tick();
  }
});

describe("OAI-PMH provider over the union catalog", () => {
  it("identifies itself, lists formats and sets", () => {
    const id = oai({ verb: "Identify" });
    expect(id).toContain("<repositoryName>Test national union catalog</repositoryName>");
    expect(id).toContain("<baseURL>http://127.0.0.1/oai</baseURL>");
    expect(id).toContain("<deletedRecord>persistent</deletedRecord>");
    expect(id).toContain("<granularity>YYYY-MM-DDThh:mm:ssZ</granularity>");
    expect(id).toContain("<earliestDatestamp>2026-03-01T10:00:00Z</earliestDatestamp>");
    expect(id).toContain("<adminEmail>ops@example.org</adminEmail>");
    const f = oai({ verb: "ListMetadataFormats" });
    expect(f).toContain("<metadataPrefix>marc21</metadataPrefix>");
    expect(f).toContain("<metadataPrefix>oai_dc</metadataPrefix>");
    const sets = oai({ verb: "ListSets" });
    for (const s of [
      "institution",
      "institution:north-a",
      "institution:south-a",
      "region",
      "region:north",
      "region:south",
    ]) {
      expect(sets).toContain(`<setSpec>${s}</setSpec>`);
    }
  });

  it("lists every cluster once over pages, with completeListSize, cursor and expirationDate", () => {
    const first = oai({ verb: "ListIdentifiers", metadataPrefix: "marc21" });
    expect(first).toMatch(
      /<resumptionToken expirationDate="2026-03-02T10:00:25Z" completeListSize="25" cursor="0">/,
    );
    const { ids, xml } = harvest({ verb: "ListRecords", metadataPrefix: "marc21" });
    expect(ids).toHaveLength(25);
    expect(new Set(ids).size).toBe(25);
    expect(xml.at(-1)).toContain('<resumptionToken completeListSize="25" cursor="21"/>');
    // The record is the export's: the preferred record with one 852 per holding institution.
    const recs = xml.flatMap((x) => parseMarcXml(x)).map((r) => (r.ok ? r.record : undefined));
    expect(recs).toHaveLength(25);
    expect(recs.every((r) => r?.fields.some((f) => f.tag === "852"))).toBe(true);
    expect(recs.every((r) => r?.fields.some((f) => f.tag === "035"))).toBe(true);
  });

  it("keeps a list whole and without repeats while the catalog changes under the tokens", () => {
    const before = harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21" }).ids;
    const seen = harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21" }, (page) => {
      tick();
      // A record already sent and one not yet sent change; a new one arrives.
      union.apply("north-rc", upsert("north-b", uva[0]!));
      union.apply("south-rc", upsert("south-a", uva[24]!, "other-id"));
      if (page === 0) union.apply("north-rc", upsert("north-a", uva[20]!, "new-one"));
    }).ids;
    expect(new Set(seen).size).toBe(seen.length);
    // Nothing unchanged is lost; what changed during the harvest comes in the next incremental one.
    const changedLater = harvest({
      verb: "ListIdentifiers",
      metadataPrefix: "marc21",
      from: "2026-03-01T10:00:25Z",
    }).ids;
    expect(new Set([...seen, ...changedLater])).toEqual(new Set([...before, ...changedLater]));
  });

  it("harvests incrementally by datestamp, inclusive at both ends, to the second", () => {
    const all = harvest({ verb: "ListIdentifiers", metadataPrefix: "oai_dc" }).ids;
    const mid = harvest({
      verb: "ListIdentifiers",
      metadataPrefix: "oai_dc",
      from: "2026-03-01T10:00:05Z",
      until: "2026-03-01T10:00:09Z",
    }).ids;
    expect(mid).toEqual(all.slice(5, 10));
    expect(errorOf(oai({ verb: "ListRecords", metadataPrefix: "marc21", from: "2026-03-02" }))).toBe(
      "noRecordsMatch",
    );
    expect(
      harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21", until: "2026-03-01" }).ids,
    ).toHaveLength(25);
  });

  it("lists a cluster that disappears as deleted, by a delete or by a merge, for good", () => {
    const all = harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21" }).ids;
    tick(5000);
    const gone = uva[3]!;
    union.apply("north-rc", {
      kind: "delete",
      institutionId: "north-a",
      recordId: idOf(gone),
      changedAt: now(),
    });
    const after = harvest({
      verb: "ListRecords",
      metadataPrefix: "marc21",
      from: "2026-03-01T10:00:30Z",
    }).xml.join("");
    expect(after).toMatch(
      /<header status="deleted"><identifier>oai:nat\.lrs:c\d+<\/identifier><datestamp>2026-03-01T10:00:30Z<\/datestamp><setSpec>institution:north-a<\/setSpec><setSpec>region:north<\/setSpec><\/header>/,
    );
    expect(after).not.toContain("<metadata>");
    const deletedId = identifiers(after)[0]!;
    expect(all).toContain(deletedId);
    const get = oai({ verb: "GetRecord", identifier: deletedId, metadataPrefix: "marc21" });
    expect(get).toContain('<header status="deleted">');
    // In the institution's set too, so that a harvester of that set sees it go.
    expect(
      identifiers(
        oai({
          verb: "ListIdentifiers",
          metadataPrefix: "marc21",
          set: "institution:north-a",
          from: "2026-03-01T10:00:30Z",
        }),
      ),
    ).toEqual([deletedId]);

    // Two clusters bridged by a third record sharing a key with each: one of them is merged away.
    const book = (id: string, title: string, ...keys: Array<[string, string]>): MarcRecord => ({
      leader: "00000nam a2200000 a 4500",
      fields: [
        { tag: "001", value: id },
        ...keys.map(([tag, value]) => ({ tag, ind1: " ", ind2: " ", subfields: [{ code: "a", value }] })),
        { tag: "245", ind1: "0", ind2: "0", subfields: [{ code: "a", value: title }] },
      ],
    });
    tick();
    union.apply("north-rc", upsert("north-b", book("m1", "Alpha", ["020", "9780306406157"])));
    union.apply("south-rc", upsert("south-a", book("m2", "Beta", ["035", "(OCoLC)424242"])));
    const two = harvest({
      verb: "ListIdentifiers",
      metadataPrefix: "marc21",
      from: "2026-03-01T10:00:31Z",
    }).ids;
    expect(two).toHaveLength(2);
    tick();
    union.apply(
      "north-rc",
      upsert("north-a", book("m3", "Gamma", ["020", "9780306406157"], ["035", "(OCoLC)424242"])),
    );
    const changed = harvest({
      verb: "ListRecords",
      metadataPrefix: "marc21",
      from: "2026-03-01T10:00:32Z",
    }).xml.join("");
    const retired = two.find((i) =>
      changed.includes(`<header status="deleted"><identifier>${i}</identifier>`),
    );
    const survivor = two.find((i) => i !== retired);
    expect(retired).toBeDefined();
    expect(changed).toContain(`<header><identifier>${survivor}</identifier>`);
    expect(oai({ verb: "GetRecord", identifier: retired!, metadataPrefix: "marc21" })).toContain(
      '<header status="deleted">',
    );
  });

  it("lists a cluster that leaves a set as deleted in that set, and live elsewhere", () => {
    tick();
    union.apply("south-rc", upsert("south-a", uva[1]!));
    tick(10_000);
    union.apply("north-rc", {
      kind: "delete",
      institutionId: "north-a",
      recordId: idOf(uva[1]!),
      changedAt: now(),
    });
    const from = "2026-03-01T10:00:36Z";
    const inNorth = oai({ verb: "ListRecords", metadataPrefix: "marc21", set: "institution:north-a", from });
    expect(inNorth).toMatch(/<header status="deleted"><identifier>/);
    expect(inNorth).not.toContain("<metadata>");
    const everywhere = oai({ verb: "ListRecords", metadataPrefix: "marc21", from });
    expect(everywhere).not.toContain('status="deleted"');
    expect(everywhere).toContain("<setSpec>institution:south-a</setSpec>");
    expect(identifiers(inNorth)).toEqual(identifiers(everywhere));
  });

  it("serves sets per institution and per region", () => {
    const north = harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21", set: "region:north" }).ids;
    const a = harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21", set: "institution:north-a" }).ids;
    expect(north).toEqual(a);
    expect(north).toHaveLength(12);
    expect(harvest({ verb: "ListIdentifiers", metadataPrefix: "marc21", set: "region" }).ids).toHaveLength(
      25,
    );
    expect(errorOf(oai({ verb: "ListIdentifiers", metadataPrefix: "marc21", set: "region:west" }))).toBe(
      "noRecordsMatch",
    );
  });

  it("gives a record in both formats, and every protocol error", () => {
    const [first] = identifiers(oai({ verb: "ListIdentifiers", metadataPrefix: "marc21" }));
    expect(oai({ verb: "GetRecord", identifier: first!, metadataPrefix: "oai_dc" })).toMatch(
      /<oai_dc:dc [^>]*>\s*<dc:title>/,
    );
    expect(oai({ verb: "GetRecord", identifier: first!, metadataPrefix: "marc21" })).toContain(
      '<record xmlns="http://www.loc.gov/MARC21/slim">',
    );
    expect(errorOf(oai({ verb: "Explode" }))).toBe("badVerb");
    expect(errorOf(oai({}))).toBe("badVerb");
    expect(errorOf(oai({ verb: ["Identify", "Identify"] }))).toBe("badVerb");
    expect(errorOf(oai({ verb: "Identify", set: "x" }))).toBe("badArgument");
    expect(errorOf(oai({ verb: "ListRecords" }))).toBe("badArgument");
    expect(errorOf(oai({ verb: "ListRecords", metadataPrefix: "marc21", from: "2026-13-01" }))).toBe(
      "badArgument",
    );
    expect(
      errorOf(
        oai({
          verb: "ListRecords",
          metadataPrefix: "marc21",
          from: "2026-03-01",
          until: "2026-03-01T00:00:00Z",
        }),
      ),
    ).toBe("badArgument");
    expect(errorOf(oai({ verb: "ListRecords", metadataPrefix: "marc21", resumptionToken: "x" }))).toBe(
      "badArgument",
    );
    expect(errorOf(oai({ verb: "ListRecords", resumptionToken: "garbage!" }))).toBe("badResumptionToken");
    expect(errorOf(oai({ verb: "ListSets", resumptionToken: "abc" }))).toBe("badResumptionToken");
    expect(errorOf(oai({ verb: "ListRecords", metadataPrefix: "mods" }))).toBe("cannotDisseminateFormat");
    expect(errorOf(oai({ verb: "GetRecord", identifier: first!, metadataPrefix: "mods" }))).toBe(
      "cannotDisseminateFormat",
    );
    expect(
      errorOf(oai({ verb: "GetRecord", identifier: "oai:nat.lrs:c999999", metadataPrefix: "marc21" })),
    ).toBe("idDoesNotExist");
    expect(errorOf(oai({ verb: "ListMetadataFormats", identifier: "nope" }))).toBe("idDoesNotExist");
    // A token outlives nothing: after its expiration date it is refused, naming it.
    const token = tokenOf(oai({ verb: "ListRecords", metadataPrefix: "marc21" }))!;
    tick(25 * 3600_000);
    const expired = oai({ verb: "ListRecords", resumptionToken: token });
    expect(errorOf(expired)).toBe("badResumptionToken");
    expect(expired).toMatch(/expired at 2026-03-02T10:00:25/);
    // After badVerb/badArgument the request element has no attributes.
    expect(oai({ verb: "Nope" })).toContain("<request>http://127.0.0.1/oai</request>");
  });
});
