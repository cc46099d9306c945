import { join } from "node:path";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Federation, REPO_ROOT } from "@lrs/dev-env";
import {
  catalogPb,
  controlValue,
  isbn10To13,
  type MarcRecord,
  normalizeIsbn,
  parseMarcXml,
  readMarcFile,
  searchPb,
  subfieldValues,
} from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFederation } from "./harness.js";

const { Scope, Proximity, NodeCoverage_Status: Status, Availability } = searchPb;
const DATA = join(REPO_ROOT, "data/marc");
const LOC = join(DATA, "lc-marc2bibframe2/loc_general.xml");
const NLM = join(DATA, "lc-marc2bibframe2/nlm.xml");
const TRAJECT = join(DATA, "traject/test_data.utf8.mrc");

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
  const imp = (id: string, ...files: string[]) =>
    fed.cli(fed.node(id), ["import", "--config", fed.node(id).config, ...files]);
  await Promise.all([imp("north-a", LOC), imp("north-b", TRAJECT), imp("south-a", LOC, NLM)]);
  await fed.waitSynced(60_000);
}, 600_000);
afterAll(async () => {
  await destroy?.();
});

/** Searches as member `as` through its own node (which forwards REGION and NATIONAL), and returns every streamed message. */
async function search(
  as: string,
  query: string,
  scope: searchPb.Scope,
  extra: { cursor?: string; pageSize?: number; availability?: boolean } = {},
  timeoutMs = 8000,
) {
  return fed.withClient(as, searchPb.SearchService, async (c) => {
    const out: searchPb.SearchResponse[] = [];
    for await (const m of c.search({ query, scope, pageSize: 20, ...extra }, { timeoutMs })) out.push(m);
    return out;
  });
}

/** A word from the first NLM record's title: only south-a holds NLM records. */
async function southOnlyWord(): Promise<string> {
  for await (const r of readMarcFile(NLM)) {
    if (!r.ok) continue;
    const word =
      (subfieldValues(r.record, "245", "a")[0] ?? "")
        .split(/[^A-Za-z]+/)
        .sort((a, b) => b.length - a.length)[0] ?? "";
    expect(word.length).toBeGreaterThan(4);
    return word;
  }
  throw new Error(`no record in ${NLM}`);
}

/** The cluster id a union catalog's MARCXML record carries (its "(LRS)" 035). */
const clusterIdOf = (r: MarcRecord) =>
  (subfieldValues(r, "035", "a").find((v) => v.startsWith("(LRS)")) ?? "").slice("(LRS)".length);

const final = (msgs: searchPb.SearchResponse[]) => {
  const f = msgs.at(-1)!;
  expect(f.final).toBe(true);
  return f;
};

describe("federated search", () => {
  it("answers the same query at the three scopes, holdings nearest first", async () => {
    const local = final(await search("north-a", "dc.title=history", Scope.LOCAL));
    const region = final(await search("north-a", "dc.title=history", Scope.REGION));
    const national = await search("north-a", "dc.title=history", Scope.NATIONAL);
    expect(local.total).toBeGreaterThan(0n);
    expect(region.total).toBeGreaterThanOrEqual(local.total);
    // A national search streams the region's page first, then the national answer.
    expect(national.length).toBe(2);
    expect(national[0]!.answeredScope).toBe(Scope.REGION);
    expect(national[0]!.final).toBe(false);
    const n = final(national);
    expect(n.answeredScope).toBe(Scope.NATIONAL);
    expect(n.total).toBeGreaterThanOrEqual(region.total);
    expect(n.coverage.map((c) => [c.nodeId, c.status])).toEqual([
      ["north-rc", Status.ANSWERED],
      ["nat", Status.ANSWERED],
    ]);
    // north-a and south-a hold the same LC records: north-a's own copy comes first, south-a's (another region) after.
    const shared = n.hits.find((h) => h.holdings.length >= 2)!;
    expect(shared.holdings[0]).toMatchObject({ institutionId: "north-a", proximity: Proximity.OWN });
    expect(shared.holdings.find((x) => x.institutionId === "south-a")?.proximity).toBe(
      Proximity.OTHER_REGION,
    );
    // LOCAL hits are the member's own records, "member/record-id".
    expect(local.hits.every((h) => h.id.startsWith("north-a/"))).toBe(true);
  });

  it("finds an ISBN-13 record by its ISBN-10, hyphens and all", async () => {
    expect(isbn10To13("1921667478")).toBe("9781921667473");
    const n = final(await search("north-b", "bath.isbn=1-921667-47-8", Scope.NATIONAL));
    expect(n.total).toBe(1n);
    expect(n.hits[0]!.isbns).toContain("9781921667473");
  });

  it("shows a record with the same title, author, year and identifiers at LOCAL, REGION and NATIONAL scope", async () => {
    // traject's records are held by north-b alone: each is its own cluster at both centers, shown
    // from the same record by the same rules (shared catalog-index) as at the member.
    const shown = (h: searchPb.SearchHit) => ({
      title: h.title,
      author: h.author,
      year: h.year,
      isbns: [...h.isbns].sort(),
      issns: [...h.issns].sort(),
    });
    let compared = 0;
    let withDates = 0;
    for await (const r of readMarcFile(TRAJECT)) {
      if (!r.ok) continue;
      const isbn = subfieldValues(r.record, "020", "a")
        .map((v) => normalizeIsbn(v))
        .find(Boolean);
      if (!isbn) continue;
      const query = `bath.isbn=${isbn}`;
      const local = final(await search("north-b", query, Scope.LOCAL));
      if (local.total !== 1n) continue;
      const region = final(await search("north-b", query, Scope.REGION));
      const national = final(await search("north-b", query, Scope.NATIONAL));
      const own = (m: searchPb.SearchResponse) =>
        m.hits.filter((h) => h.holdings.length === 1 && h.holdings[0]!.institutionId === "north-b");
      expect(own(region), `${query} at REGION`).toHaveLength(1);
      expect(own(national), `${query} at NATIONAL`).toHaveLength(1);
      const expected = shown(local.hits[0]!);
      expect(shown(own(region)[0]!), `${query} at REGION`).toEqual(expected);
      expect(shown(own(national)[0]!), `${query} at NATIONAL`).toEqual(expected);
      expect(expected.isbns).toContain(isbn);
      compared++;
      if (/\d{4}-/.test(expected.author)) withDates++;
    }
    expect(compared).toBeGreaterThanOrEqual(5);
    // The author is the main entry with its dates ($d), not $a alone.
    expect(withDates).toBeGreaterThan(0);
  });

  it("finds CJK text by a two-character word and by phrase", async () => {
    // traject's record 77826928 has the vernacular title 高麗 人物 列傅 (in an 880); only north-b holds it.
    const word = final(await search("south-a", "人物", Scope.NATIONAL));
    expect(word.total).toBeGreaterThan(0n);
    expect(word.hits.some((h) => h.holdings.some((x) => x.institutionId === "north-b"))).toBe(true);
    // 92117465: 北韓 法令集 — a three-character phrase inside a longer title.
    const phrase = final(await search("south-a", 'dc.title="法令集"', Scope.NATIONAL));
    expect(phrase.total).toBe(1n);
    const none = final(await search("south-a", 'dc.title="法令人物"', Scope.NATIONAL));
    expect(none.total).toBe(0n);
  });

  it("pages with a cursor, each hit once", async () => {
    const seen = new Set<string>();
    let cursor = "";
    let total = 0n;
    for (let page = 0; page < 20; page++) {
      const m = final(await search("north-a", "dc.title=the", Scope.REGION, { pageSize: 7, cursor }));
      total = m.total;
      for (const h of m.hits) {
        expect(seen.has(h.id)).toBe(false);
        seen.add(h.id);
      }
      cursor = m.nextCursor;
      if (!cursor) break;
    }
    expect(BigInt(seen.size)).toBe(total);
  });

  it("refuses a query it cannot parse, naming the position", async () => {
    const err = await search("north-a", 'dc.title=("unclosed', Scope.REGION).catch((e: unknown) =>
      ConnectError.from(e),
    );
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    expect((err as ConnectError).rawMessage).toMatch(/position \d+/);
  });

  it("serves the union catalogs over SRU, at the URL the manifest gives (yaz-client: sru.peers.test.ts)", async () => {
    const nat = fed.node("nat");
    expect(nat.sru).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/sru$/);
    const res = await fetch(
      `${nat.sru}?version=1.2&operation=searchRetrieve&query=${encodeURIComponent("dc.title=history")}&maximumRecords=2`,
    );
    const xml = await res.text();
    const total = Number(/<zs:numberOfRecords>(\d+)<\/zs:numberOfRecords>/.exec(xml)?.[1]);
    const viaGrpc = final(await search("north-a", "dc.title=history", Scope.NATIONAL));
    expect(BigInt(total)).toBe(viaGrpc.total);
    expect(xml).toContain("(LRS)nat:c");
    const bad = await (
      await fetch(`${nat.sru}?version=1.2&operation=searchRetrieve&query=${encodeURIComponent("dc.title=(")}`)
    ).text();
    expect(bad).toContain("info:srw/diagnostic/1/10");
  });

  it("gives the same records for a query through search, SRU and Export, at every scope", async () => {
    const query = "dc.title=history";
    /** Every hit of the search at `scope`, paged with the cursor: ids, and each cluster's own 035. */
    const hitsAt = async (scope: searchPb.Scope) => {
      const ids: string[] = [];
      let cursor = "";
      for (let page = 0; page < 50; page++) {
        const m = final(await search("north-a", query, scope, { pageSize: 25, cursor }));
        expect(m.answeredScope).toBe(scope);
        ids.push(...m.hits.map((h) => h.id));
        cursor = m.nextCursor;
        if (!cursor) return { ids: ids.sort(), total: Number(m.total) };
      }
      throw new Error(`${query} at ${Scope[scope]}: still paging after 50 pages`);
    };
    /** Every record an SRU searchRetrieve of the center gives, by its cluster id: the MARCXML of each. */
    const sruAt = async (url: string) => {
      const out = new Map<string, string>();
      for (let start = 1; ; start += 25) {
        const xml = await (
          await fetch(
            `${url}?version=1.2&operation=searchRetrieve&recordSchema=marcxml&maximumRecords=25&startRecord=${start}&query=${encodeURIComponent(query)}`,
          )
        ).text();
        const total = Number(/<zs:numberOfRecords>(\d+)<\/zs:numberOfRecords>/.exec(xml)?.[1]);
        for (const m of xml.matchAll(/<zs:recordData>([\s\S]*?)<\/zs:recordData>/g)) {
          const [rec] = parseMarcXml(m[1]!);
          expect(rec?.ok).toBe(true);
          out.set(clusterIdOf(rec!.ok ? rec!.record : undefined!), m[1]!);
        }
        if (start + 25 > total) return out;
      }
    };
    /** The center's whole union catalog through CatalogService.Export, by cluster id. */
    const exportOf = async (center: string) =>
      fed.withClient(center, catalogPb.CatalogService, async (c) => {
        let xml = "";
        for await (const part of c.export({}, { timeoutMs: 60_000 })) xml += part.marcxml;
        const out = new Map<string, MarcRecord>();
        for (const r of parseMarcXml(xml)) {
          expect(r.ok).toBe(true);
          if (r.ok) out.set(clusterIdOf(r.record), r.record);
        }
        return out;
      });
    const same = (sru: Map<string, string>, exported: Map<string, MarcRecord>) => {
      for (const [id, xml] of sru) {
        const [rec] = parseMarcXml(xml);
        expect(rec!.ok && rec!.record, `${id}: SRU and Export give the same record`).toEqual(
          exported.get(id),
        );
      }
    };

    const local = await hitsAt(Scope.LOCAL);
    const region = await hitsAt(Scope.REGION);
    const national = await hitsAt(Scope.NATIONAL);
    expect(local.ids).toHaveLength(local.total);
    expect(region.ids).toHaveLength(region.total);
    expect(national.ids).toHaveLength(national.total);
    expect(local.total).toBeGreaterThan(0);

    const [regionSru, nationalSru] = await Promise.all([
      sruAt(fed.node("north-rc").sru!),
      sruAt(fed.node("nat").sru!),
    ]);
    expect([...regionSru.keys()].sort()).toEqual(region.ids);
    expect([...nationalSru.keys()].sort()).toEqual(national.ids);
    same(regionSru, await exportOf("north-rc"));
    same(nationalSru, await exportOf("nat"));

    // LOCAL: each of north-a's own hits is in one of the regional and one of the national hits.
    await fed.withClient("north-rc", catalogPb.CatalogService, async (c) => {
      for (const id of local.ids) {
        const recordId = id.slice(id.indexOf("/") + 1);
        const at = await c.locateRecord({ institutionId: "north-a", recordId });
        expect(region.ids, `${id} at REGION`).toContain(at.clusterId);
      }
    });
    await fed.withClient("nat", catalogPb.CatalogService, async (c) => {
      for (const id of local.ids) {
        const at = await c.locateRecord({
          institutionId: "north-a",
          recordId: id.slice(id.indexOf("/") + 1),
        });
        expect(national.ids, `${id} at NATIONAL`).toContain(at.clusterId);
      }
    });
  });

  it("tells whether each holding library can lend, live: available, on loan, not lendable and why", async () => {
    const ids: string[] = [];
    for await (const r of readMarcFile(LOC)) {
      if (r.ok) ids.push(controlValue(r.record, "001")!);
      if (ids.length === 2) break;
    }
    const [x, y] = ids as [string, string];
    const { writeFileSync } = await import("node:fs");
    const csv = (name: string, rows: string[]) => {
      const path = join(fed.dir, `${name}.csv`);
      writeFileSync(
        path,
        `record_id,barcode,call_number,location,status,loan_rule,due_date\n${rows.join("\n")}\n`,
      );
      return path;
    };
    const a = fed.node("north-a");
    const sa = fed.node("south-a");
    await fed.cli(a, [
      "import",
      "--config",
      a.config,
      "--items",
      csv("na", [`${x},NA-1,QA1,MAIN,available,standard`, `${y},NA-2,QA2,REF,available,non_circulating`]),
    ]);
    await fed.cli(sa, [
      "import",
      "--config",
      sa.config,
      "--items",
      csv("sa", [`${x},SA-1,QA1,STACKS,on_loan,standard,2026-12-14`]),
    ]);
    await fed.waitSynced(60_000);
    const clusterOf = async (recordId: string) =>
      (
        await fed.withClient("nat", catalogPb.CatalogService, (c) =>
          c.locateRecord({ institutionId: "north-a", recordId }),
        )
      ).clusterId;
    const ask = async (recordId: string) => {
      const cluster = await clusterOf(recordId);
      const out = JSON.parse(
        await fed.cli(fed.node("north-b"), [
          "availability",
          "--config",
          fed.node("north-b").config,
          cluster,
          "--json",
        ]),
      ) as {
        institutions: Array<{
          institutionId: string;
          state: string;
          reason?: string;
          onLoanUntil?: string;
          items?: Array<{ barcode: string; due?: string }>;
        }>;
        coverage: Array<{ nodeId: string; status: string }>;
      };
      return out;
    };
    const ax = await ask(x);
    expect(ax.institutions.find((i) => i.institutionId === "north-a")?.state).toBe("AVAILABILITY_AVAILABLE");
    const south = ax.institutions.find((i) => i.institutionId === "south-a")!;
    expect(south.state).toBe("AVAILABILITY_ON_LOAN");
    expect(south.reason).toBe("every lendable copy is on loan; first due back 2026-12-14");
    // The due date came from south-a's items file through its catalog; the answer is live from south-a.
    expect(south.onLoanUntil).toBe("2026-12-14T00:00:00Z");
    expect(south.items?.find((i) => i.barcode === "SA-1")?.due).toBe("2026-12-14T00:00:00Z");
    expect(ax.institutions.find((i) => i.institutionId === "north-a")?.onLoanUntil).toBeUndefined();
    const text = await fed.cli(fed.node("north-b"), [
      "availability",
      "--config",
      fed.node("north-b").config,
      await clusterOf(x),
    ]);
    expect(text).toMatch(/south-a\s+\S+\s+on loan until 2026-12-14 — every lendable copy is on loan/);
    expect(text).toMatch(/SA-1\s+STACKS\s+on loan until 2026-12-14/);
    // The due date also reached the union catalogs through catalog sync.
    const cluster = await fed.withClient("nat", catalogPb.CatalogService, async (c) =>
      c.getCluster({ clusterId: await clusterOf(x) }),
    );
    const held = cluster.cluster?.holdings.find((h) => h.institutionId === "south-a")?.holdings;
    expect(held?.map((h) => [h.barcode, h.dueDate])).toEqual([["SA-1", "2026-12-14"]]);
    // The national center asked both regions, which asked their members.
    expect(ax.coverage.map((c) => c.nodeId).sort()).toEqual(["north-a", "north-rc", "south-a", "south-rc"]);
    const ay = await ask(y);
    const na = ay.institutions.find((i) => i.institutionId === "north-a")!;
    expect(na.state).toBe("AVAILABILITY_NOT_LENDABLE");
    expect(na.reason).toContain("non-circulating");
  });

  it("answers within the deadline with a killed member named in the coverage", async () => {
    await fed.stop("south-a", "SIGKILL");
    try {
      const started = Date.now();
      const n = final(
        await search(
          "north-a",
          "dc.title=history",
          Scope.NATIONAL,
          { availability: true, pageSize: 5 },
          4000,
        ),
      );
      expect(Date.now() - started).toBeLessThan(5000);
      const south = n.coverage.find((c) => c.nodeId === "south-a");
      expect(south, JSON.stringify(n.coverage.map((c) => c.nodeId))).toBeDefined();
      expect([Status.FAILED, Status.TIMED_OUT]).toContain(south!.status);
      expect(n.coverage.find((c) => c.nodeId === "north-a")?.status).toBe(Status.ANSWERED);
      const held = n.hits.flatMap((h) => h.holdings);
      expect(held.find((x) => x.institutionId === "south-a")?.availability).toBe(Availability.UNKNOWN);
      expect(held.find((x) => x.institutionId === "north-a")?.availability).not.toBe(Availability.UNKNOWN);
    } finally {
      await fed.start("south-a");
    }
  });

  it("falls back to the peer regional centers when the national center is down", async () => {
    const word = await southOnlyWord();
    await fed.stop("nat", "SIGKILL");
    try {
      const n = final(await search("north-a", `dc.title=${word}`, Scope.NATIONAL, {}, 5000));
      expect(n.answeredScope).toBe(Scope.NATIONAL);
      expect(n.coverage.find((c) => c.nodeId === "nat")?.status).toBe(Status.FAILED);
      expect(n.coverage.find((c) => c.nodeId === "south-rc")).toMatchObject({
        status: Status.ANSWERED,
        fallback: true,
      });
      expect(n.hits.some((h) => h.id.startsWith("south-rc:"))).toBe(true);
    } finally {
      await fed.start("nat");
    }
  });

  it("asks the peer regional centers in time when the national center hangs (SIGSTOP)", async () => {
    const word = await southOnlyWord();
    const pid = fed.pid("nat");
    expect(pid).toBeDefined();
    process.kill(pid!, "SIGSTOP");
    try {
      // Alive but silent: the national center costs its share of the deadline, no more, and
      // the peers get the rest (before, they got "no answer within 1 ms").
      const n = final(await search("north-a", `dc.title=${word}`, Scope.NATIONAL, {}, 8000));
      expect(n.answeredScope).toBe(Scope.NATIONAL);
      expect(n.coverage.find((c) => c.nodeId === "nat")?.status).toBe(Status.TIMED_OUT);
      expect(n.coverage.find((c) => c.nodeId === "south-rc")).toMatchObject({
        status: Status.ANSWERED,
        fallback: true,
      });
      expect(n.hits.some((h) => h.id.startsWith("south-rc:"))).toBe(true);
    } finally {
      process.kill(pid!, "SIGCONT");
    }
  });
});
