// Backup and restore of a member taken while its catalog changes: the restored member resyncs its
// catalog with its regional center (which had applied changes the backup does not have), and the
// union catalogs end up holding exactly what the member holds. Also what `restore` refuses.
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, REPO_ROOT, sleep } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFederation } from "./harness.js";

const DATA = join(REPO_ROOT, "data/marc/lc-marc2bibframe2");
const LOC = join(DATA, "loc_general.xml");
const NLM = join(DATA, "nlm.xml");
const PRINCETON = join(DATA, "princeton.xml");

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
  await fed.importCatalog("north-a", [LOC]);
  await fed.waitSynced();
}, 300_000);
afterAll(async () => {
  await destroy?.();
});

const records = async (id: string) => Number((await fed.status(id)).catalog?.records ?? -1n);

/** Records of `member` in a center's union catalog, from the center's sync position view. */
async function syncedFrom(center: string, member: string) {
  return (await fed.status(center)).downstreamSync.find((d) => d.peerId === member);
}

describe("backup and restore", () => {
  const archive = () => join(fed.dir, "north-a.lrs-backup.tar.gz");
  let atBackup = 0;

  it("backs up a member while it imports, consistently", async () => {
    const n = fed.node("north-a");
    // Catalog changes going on while the backup is made.
    const importing = fed.importCatalog("north-a", [NLM]);
    await sleep(300);
    const out = JSON.parse(
      await fed.cli(n, ["backup", "--config", n.config, "--output", archive(), "--json"]),
    ) as {
      nodeId: string;
      files: Record<string, string>;
      schemaVersions: number[];
    };
    await importing;
    expect(out.nodeId).toBe("north-a");
    expect(Object.keys(out.files)).toEqual(
      expect.arrayContaining([
        "node.db",
        "identity/key.pem",
        "identity/cert.pem",
        "identity/ca.pem",
        "config.toml",
      ]),
    );
    expect(out.schemaVersions.length).toBeGreaterThan(5);
    // More changes after the backup: these are what the restored member no longer has.
    await fed.importCatalog("north-a", [PRINCETON]);
    await fed.waitSynced();
    expect(await records("nat")).toBe(
      (await records("north-a")) + (await records("north-b")) + (await records("south-a")),
    );
  });

  it("refuses to restore over a running node, and an archive that does not check out", async () => {
    const n = fed.node("north-a");
    await expect(fed.cli(n, ["restore", "--config", n.config, "--input", archive()])).rejects.toThrow(
      /north-a is running/,
    );
    const bad = join(fed.dir, "bad.tar.gz");
    const bytes = readFileSync(archive());
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 40) ^ 0xff, bytes.length - 40);
    writeFileSync(bad, bytes);
    await fed.stop("north-a");
    await expect(fed.cli(n, ["restore", "--config", n.config, "--input", bad, "--force"])).rejects.toThrow(
      /not a readable backup archive|does not match its checksum|integrity/,
    );
    // Nothing was touched: the node starts with its own data.
    await fed.start("north-a");
    expect(await records("north-a")).toBeGreaterThan(0);
  });

  it("a restored member resyncs: the union catalogs hold what it holds, and it carries on", async () => {
    const n = fed.node("north-a");
    const before = await records("north-a");
    await fed.stop("north-a");
    const restored = await fed.cli(n, ["restore", "--config", n.config, "--input", archive(), "--force"]);
    expect(restored).toMatch(/restored member north-a from the backup of .* the data it replaced is in /);
    await fed.start("north-a");
    atBackup = await records("north-a");
    expect(atBackup).toBeLessThan(before);
    // Changes right after the restore, before and while it resyncs, reuse change-log positions
    // the regional center already applied: the resync must not skip them.
    await fed.importCatalog("north-a", [PRINCETON]);
    const settled = await fed.waitSynced(180_000);
    expect(settled.nationalRecords).toBe(settled.memberRecords);
    const st = await syncedFrom("north-rc", "north-a");
    expect(st?.resyncs).toBeGreaterThanOrEqual(1n);
    expect(await records("north-a")).toBe(before);
    // And the regional center's union catalog has exactly the member's records again.
    const rc = await fed.status("north-rc");
    expect(Number(rc.catalog?.records)).toBe((await records("north-a")) + (await records("north-b")));
    expect(createHash("sha256").update(readFileSync(archive())).digest("hex")).toHaveLength(64);
  }, 300_000);
});
