/**
 * The national center's OAI-PMH provider harvested by a client nobody here wrote: Catmandu's
 * OAI importer (Debian libcatmandu-oai-perl), fully, then incrementally after a change and a delete.
 */
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { promisify } from "node:util";
import { type Federation, REPO_ROOT, sleep } from "@lrs/dev-env";
import { adminPb, type MarcRecord, readMarcFile, toMarcXml } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFederation } from "./harness.js";

const run = promisify(execFile);
const DATA = join(REPO_ROOT, "data/marc");
const LOC = join(DATA, "lc-marc2bibframe2/loc_general.xml");
const TRAJECT = join(DATA, "traject/test_data.utf8.mrc");

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
}, 300_000);
afterAll(async () => {
  await destroy?.();
});

interface Harvested {
  /** The OAI identifier (Catmandu's _id is the MARC 001 with the marcxml handler). */
  _identifier: string;
  _status: string;
  _datestamp: string;
  record?: Array<[string, ...string[]]>;
}

/** `catmandu convert OAI … to JSON`, one record a line. */
async function catmandu(...args: string[]): Promise<Harvested[]> {
  const url = fed.node("nat").oai!;
  const { stdout } = await run(
    "catmandu",
    [
      "convert",
      "OAI",
      "--url",
      url,
      "--metadataPrefix",
      "marc21",
      "--handler",
      "marcxml",
      ...args,
      "to",
      "JSON",
      "--line_delimited",
      "1",
    ],
    { maxBuffer: 256 * 1024 * 1024, timeout: 120_000 },
  );
  return stdout
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Harvested);
}

async function clusters(): Promise<number> {
  const st = await fed.withClient("nat", adminPb.AdminService, (c) => c.getStatus({}, { timeoutMs: 5000 }));
  return Number(st.catalog!.clusters);
}

const field = (h: Harvested, tag: string) => (h.record ?? []).filter((f) => f[0] === tag);

async function first(path: string): Promise<MarcRecord> {
  for await (const r of readMarcFile(path)) if (r.ok) return r.record;
  throw new Error(`no record in ${path}`);
}

describe("OAI-PMH at the national center, harvested by Catmandu", () => {
  it("harvests the national union catalog fully, then incrementally after a change and a delete", async () => {
    const a = fed.node("north-a");
    const s = fed.node("south-a");
    await fed.cli(a, ["import", "--config", a.config, LOC]);
    await fed.cli(s, ["import", "--config", s.config, TRAJECT]);
    await fed.waitSynced(120_000);

    const full = await catmandu();
    expect(full.length).toBe(await clusters());
    expect(full.length).toBeGreaterThan(100);
    expect(new Set(full.map((h) => h._identifier)).size).toBe(full.length);
    expect(full.every((h) => h._status !== "deleted" && field(h, "852").length > 0)).toBe(true);

    // Changes after the full harvest: north-a edits one record and deletes another.
    await sleep(1100);
    const since = `${new Date().toISOString().slice(0, 19)}Z`;
    const loc = [] as MarcRecord[];
    for await (const r of readMarcFile(LOC)) if (r.ok && loc.length < 2) loc.push(r.record);
    const [edited, deleted] = loc as [MarcRecord, MarcRecord];
    const changed: MarcRecord = {
      ...edited,
      fields: [
        ...edited.fields,
        { tag: "500", ind1: " ", ind2: " ", subfields: [{ code: "a", value: "Edited for the OAI test." }] },
      ],
    };
    const gone: MarcRecord = {
      ...deleted,
      leader: `${deleted.leader.slice(0, 5)}d${deleted.leader.slice(6)}`,
    };
    const path = join(fed.dir, "changes.xml");
    writeFileSync(
      path,
      `<collection xmlns="http://www.loc.gov/MARC21/slim">${toMarcXml(changed)}${toMarcXml(gone)}</collection>`,
    );
    await fed.cli(a, ["import", "--config", a.config, path]);
    await fed.waitSynced(120_000);

    const incremental = await catmandu("--from", since);
    const live = incremental.filter((h) => h._status !== "deleted");
    const dead = incremental.filter((h) => h._status === "deleted");
    expect(live.some((h) => field(h, "500").some((f) => f.includes("Edited for the OAI test.")))).toBe(true);
    expect(dead.length).toBeGreaterThanOrEqual(1);
    expect(incremental.length).toBeLessThan(10);
    // The deleted cluster was in the full harvest, and stays listed as deleted.
    for (const d of dead) expect(full.map((h) => h._identifier)).toContain(d._identifier);
    const again = await catmandu();
    expect(again.filter((h) => h._status !== "deleted").length).toBe(await clusters());
    expect(again.filter((h) => h._status === "deleted").map((h) => h._identifier)).toEqual(
      expect.arrayContaining(dead.map((h) => h._identifier)),
    );
  }, 600_000);

  it("lets a member harvest an OAI-PMH provider (LRS's own) into its catalog, then follow a delete", async () => {
    // north-b harvests south-a's set of the national catalog, as it would harvest its own ILS.
    const b = fed.node("north-b");
    const config = join(dirname(b.config), "north-b-harvest.toml");
    writeFileSync(
      config,
      `${readFileSync(b.config, "utf8")}\n[harvest]\nurl = "${fed.node("nat").oai}"\nmetadata_prefix = "marc21"\nset = "institution:south-a"\nholdings_map = "none"\nretry_delay = "1s"\n`,
    );
    const harvest = async (...args: string[]) =>
      JSON.parse(await fed.cli(b, ["harvest", "--config", config, "--json", ...args])) as {
        added: number;
        deleted: number;
        pages: number;
        rejected: number;
      };
    const inSet = (await catmandu("--set", "institution:south-a")).filter((h) => h._status !== "deleted");
    const full = await harvest();
    expect(full.rejected).toBe(0);
    expect(full.added).toBe(inSet.length);
    expect(full.pages).toBeGreaterThanOrEqual(1);

    // south-a deletes a record: the cluster it alone held goes, and north-b's next harvest deletes it too.
    const s = fed.node("south-a");
    const victim = await first(TRAJECT);
    const gone: MarcRecord = { ...victim, leader: `${victim.leader.slice(0, 5)}d${victim.leader.slice(6)}` };
    const path = join(fed.dir, "south-delete.xml");
    writeFileSync(path, `<collection xmlns="http://www.loc.gov/MARC21/slim">${toMarcXml(gone)}</collection>`);
    await sleep(1100);
    await fed.cli(s, ["import", "--config", s.config, path]);
    await fed.waitSynced(120_000);
    const records = async () =>
      Number(
        (await fed.withClient("north-b", adminPb.AdminService, (c) => c.getStatus({}, { timeoutMs: 5000 })))
          .catalog!.records,
      );
    const before = await records();
    const next = await harvest();
    expect(next.deleted).toBe(1);
    expect(await records()).toBe(before - 1);
  }, 600_000);
});
