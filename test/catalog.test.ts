import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, REPO_ROOT, sleep } from "@lrs/dev-env";
import { adminPb, catalogPb, controlValue, type MarcRecord, readMarcFile, subfieldValues } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startFederation } from "./harness.js";

const DATA = join(REPO_ROOT, "data/marc");
const LOC = join(DATA, "lc-marc2bibframe2/loc_general.xml");
const TRAJECT = join(DATA, "traject/test_data.utf8.mrc");
const UVA = join(DATA, "solrmarc-uva/uva_001_2000.mrc");

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
});
afterAll(async () => {
  await destroy?.();
});

async function status(id: string): Promise<adminPb.GetStatusResponse> {
  return fed.withClient(id, adminPb.AdminService, (c) => c.getStatus({}, { timeoutMs: 5000 }));
}

async function locate(at: string, institutionId: string, recordId: string): Promise<string> {
  const res = await fed.withClient(at, catalogPb.CatalogService, (c) =>
    c.locateRecord({ institutionId, recordId }),
  );
  return res.clusterId;
}

/** Every member's record count: what the national union catalog must hold. */
async function memberRecords(): Promise<number> {
  let n = 0;
  for (const m of fed.manifest.nodes.filter((x) => x.tier === "member"))
    n += Number((await status(m.id)).catalog?.records ?? 0n);
  return n;
}

async function converged(): Promise<void> {
  await fed.waitSynced(60_000);
}

async function firstIds(path: string, n: number): Promise<string[]> {
  const ids: string[] = [];
  for await (const r of readMarcFile(path)) {
    if (r.ok) ids.push(controlValue(r.record, "001")!);
    if (ids.length === n) break;
  }
  return ids;
}

describe("the union catalog", () => {
  it("fills from member imports through both tiers and merges the same book from two libraries", async () => {
    const a = fed.node("north-a");
    const s = fed.node("south-a");
    await fed.cli(a, ["import", "--config", a.config, LOC]);
    await fed.cli(s, ["import", "--config", s.config, LOC, TRAJECT]);
    await converged();

    const [id] = await firstIds(LOC, 1);
    const atNational = await locate("nat", "north-a", id!);
    expect(atNational).toMatch(/^nat:/);
    expect(await locate("nat", "south-a", id!)).toBe(atNational);
    const regional = await locate("north-rc", "north-a", id!);
    expect(regional).toMatch(/^north-rc:/);

    const cluster = (
      await fed.withClient("nat", catalogPb.CatalogService, (c) => c.getCluster({ clusterId: atNational }))
    ).cluster!;
    expect(cluster.records.map((r) => r.institutionId).sort()).toEqual(["north-a", "south-a"]);
    expect(cluster.records.filter((r) => r.preferred)).toHaveLength(1);
    expect(cluster.title.length).toBeGreaterThan(0);

    // A member asks its regional center for the national cluster: the request is forwarded upward with the same types.
    const viaRegional = (
      await fed.withClient(
        "north-rc",
        catalogPb.CatalogService,
        (c) => c.getCluster({ clusterId: atNational }),
        "north-a",
      )
    ).cluster!;
    expect(viaRegional.id).toBe(atNational);

    const st = await status("north-rc");
    expect(st.downstreamSync.find((d) => d.peerId === "north-a")).toMatchObject({ lag: 0n });
    expect(st.upstreamSync?.lag).toBe(0n);
  });

  it("copies a record from the national union catalog into a member's catalog, counted as a download", async () => {
    const [, , id] = await firstIds(LOC, 3);
    const cluster = await locate("nat", "south-a", id!);
    const before = (await status("nat")).catalog!.downloads;
    const b = fed.node("north-b");
    const out = JSON.parse(await fed.cli(b, ["copy-record", "--config", b.config, cluster, "--json"])) as {
      recordId: string;
      outcome: string;
      source: { institutionId: string };
    };
    expect(out.outcome).toBe("added");
    expect(out.recordId).toBe(`copy:${cluster}`);
    expect((await status("nat")).catalog!.downloads).toBe(before + 1n);
    // The copy is north-b's own record now: it flows back up and joins the same cluster.
    await eventually(
      () => locate("nat", "north-b", out.recordId),
      (c) => c === cluster,
      60_000,
      "the copy to reach the national catalog",
    );
    // Copying again changes nothing in north-b's catalog.
    const again = JSON.parse(await fed.cli(b, ["copy-record", "--config", b.config, cluster, "--json"])) as {
      outcome: string;
    };
    expect(again.outcome).toBe("unchanged");
    // A regional cluster is copied from the regional center itself.
    const regional = await locate("north-rc", "north-a", id!);
    const fromRegion = JSON.parse(
      await fed.cli(b, ["copy-record", "--config", b.config, regional, "--json"]),
    ) as { clusterId: string };
    expect(fromRegion.clusterId).toBe(regional);
    expect((await status("north-rc")).catalog!.downloads).toBeGreaterThan(0n);
  });

  it("exports the national union catalog as MARCXML with one holdings field per institution", async () => {
    const [id] = await firstIds(LOC, 1);
    const cluster = await locate("nat", "south-a", id!);
    const nat = fed.node("nat");
    const out = join(fed.dir, "national-export.xml");
    await fed.cli(nat, ["export", "--config", nat.config, "--output", out]);
    let records = 0;
    let found: MarcRecord | undefined;
    for await (const r of readMarcFile(out)) {
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      records++;
      if (subfieldValues(r.record, "035", "a").includes(`(LRS)${cluster}`)) found = r.record;
    }
    expect(BigInt(records)).toBe((await status("nat")).catalog!.clusters);
    expect(found).toBeDefined();
    expect(subfieldValues(found!, "852", "a").sort()).toEqual(expect.arrayContaining(["north-a", "south-a"]));
  });

  it("carries a record over ISO 2709's 99,999 bytes whole from a member to the national catalog and its export", async () => {
    // A serial as Princeton exports Science: a long description and thousands of item fields.
    const contents = Array.from(
      { length: 30 },
      (_, i) =>
        `<datafield tag="505" ind1="0" ind2=" "><subfield code="a">v. ${i + 1}. ${"Articles and reports. ".repeat(180)}</subfield></datafield>`,
    );
    const items = Array.from(
      { length: 2500 },
      (_, i) =>
        `<datafield tag="952" ind1=" " ind2=" "><subfield code="a">MAIN</subfield><subfield code="o">Q1 .S35 v.${i + 1}</subfield><subfield code="p">3910${String(i).padStart(6, "0")}</subfield></datafield>`,
    );
    const xml = `<collection xmlns="http://www.loc.gov/MARC21/slim"><record><leader>00000cas a2200000 a 4500</leader><controlfield tag="001">big-science-1</controlfield><datafield tag="022" ind1=" " ind2=" "><subfield code="a">0036-8075</subfield></datafield><datafield tag="245" ind1="0" ind2="0"><subfield code="a">Science (big record test).</subfield></datafield>${contents.join("")}${items.join("")}</record></collection>`;
    expect(xml.length).toBeGreaterThan(99_999);
    const path = join(fed.dir, "science.xml");
    writeFileSync(path, xml);
    const b = fed.node("north-b");
    const out = JSON.parse(
      await fed.cli(b, ["import", "--config", b.config, "--holdings-map", "koha", "--json", path]),
    ) as { added: number; items: number };
    expect(out).toMatchObject({ added: 1, items: 2500 });
    const cluster = await eventually(
      () => locate("nat", "north-b", "big-science-1"),
      (c) => c !== "",
      60_000,
      "the big record at the national catalog",
    );
    const nat = fed.node("nat");
    // MARCXML keeps it whole; ISO 2709 leaves out notes from the end until it fits.
    const whole = join(fed.dir, "national-export-big.xml");
    await fed.cli(nat, ["export", "--config", nat.config, "--output", whole]);
    let all: MarcRecord | undefined;
    for await (const r of readMarcFile(whole))
      if (r.ok && subfieldValues(r.record, "035", "a").includes(`(LRS)${cluster}`)) all = r.record;
    expect(subfieldValues(all!, "505", "a")).toHaveLength(30);
    const iso = join(fed.dir, "national-export.mrc");
    await fed.cli(nat, ["export", "--config", nat.config, "--format", "iso2709", "--output", iso]);
    let found: MarcRecord | undefined;
    for await (const r of readMarcFile(iso))
      if (r.ok && subfieldValues(r.record, "035", "a").includes(`(LRS)${cluster}`)) found = r.record;
    expect(subfieldValues(found!, "852", "a")).toContain("north-b");
    expect(subfieldValues(found!, "852", "t")).toEqual(["2500"]);
    const kept = subfieldValues(found!, "505", "a").length;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(30);
  });

  it("lets an operator split a wrong merge, and remembers it", async () => {
    // north-b's copy of the third book (from the copy-record test) sits in one regional cluster with north-a's record.
    const [, , id] = await firstIds(LOC, 3);
    const copyId = `copy:${await locate("nat", "south-a", id!)}`;
    const cluster = await eventually(
      () => locate("north-rc", "north-b", copyId),
      (c) => c !== "",
      60_000,
      "the copy at the regional center",
    );
    expect(await locate("north-rc", "north-a", id!)).toBe(cluster);
    const rc = fed.node("north-rc");
    const newId = await fed.cli(rc, ["split", "--config", rc.config, cluster, `north-b/${copyId}`]);
    expect(newId).toMatch(/^north-rc:c\d+$/);
    expect(newId).not.toBe(cluster);
    expect(await locate("north-rc", "north-b", copyId)).toBe(newId);
    expect(await locate("north-rc", "north-a", id!)).toBe(cluster);
    // The copy sent again (north-b edits it) does not merge back.
    const b = fed.node("north-b");
    await fed.cli(b, ["delete", "--config", b.config, copyId]);
    await eventually(
      () => locate("north-rc", "north-b", copyId),
      (c) => c === "",
      60_000,
      "the copy to be gone",
    );
    await fed.cli(b, ["copy-record", "--config", b.config, await locate("nat", "south-a", id!)]);
    const again = await eventually(
      () => locate("north-rc", "north-b", copyId),
      (c) => c !== "",
      60_000,
      "the copy to come back",
    );
    expect(again).not.toBe(cluster);
    expect(await locate("north-rc", "north-a", id!)).toBe(cluster);
  });

  it("propagates a delete as a tombstone through both tiers", async () => {
    const a = fed.node("north-a");
    const [, id] = await firstIds(LOC, 2);
    const before = await locate("nat", "north-a", id!);
    expect(before).not.toBe("");
    await fed.cli(a, ["delete", "--config", a.config, id!]);
    await eventually(
      () => locate("nat", "north-a", id!),
      (c) => c === "",
      60_000,
      "the record to be gone at the national center",
    );
    expect(await locate("north-rc", "north-a", id!)).toBe("");
    // The other library's copy of the same book is still there, in the same cluster.
    expect(await locate("nat", "south-a", id!)).toBe(before);
    await converged();
  });

  it("converges with nothing lost and nothing doubled when the regional center is killed during a sync", async () => {
    const b = fed.node("north-b");
    await fed.cli(b, ["import", "--config", b.config, UVA]);
    // Kill the regional center while north-b's records are on their way.
    await eventually(
      () => status("north-rc"),
      (st) => (st.downstreamSync.find((d) => d.peerId === "north-b")?.acknowledgedSeq ?? 0n) > 0n,
      30_000,
      "north-b's sync to start",
    );
    await fed.stop("north-rc", "SIGKILL");
    await sleep(500);
    await fed.start("north-rc");
    await converged();

    const memberHead = (await status("north-b")).upstreamSync!;
    expect(memberHead.lag).toBe(0n);
    const rc = await status("north-rc");
    expect(rc.downstreamSync.find((d) => d.peerId === "north-b")?.acknowledgedSeq).toBe(memberHead.headSeq);
    const nat = await status("nat");
    expect(nat.downstreamSync.find((d) => d.peerId === "north-rc")?.acknowledgedSeq).toBe(
      rc.upstreamSync?.headSeq,
    );
    // Nothing doubled: the national catalog holds exactly the members' records.
    expect(Number(nat.catalog?.records)).toBe(await memberRecords());
  });
});
