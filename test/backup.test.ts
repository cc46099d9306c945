// Backup and restore of a member taken while its catalog changes and an interlibrary loan is under
// way. After the restore the federation catches up: the member resyncs its catalog with its
// regional center (which had applied changes the backup does not have) so the union catalogs hold
// exactly what it holds, and the ILL messages delivered to it after the backup are delivered again
// (IllService.Redeliver) and applied once. Also what `restore` refuses.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, REPO_ROOT, sleep } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  act,
  borrow,
  ILL_SPEC,
  LENDER,
  lenderSide,
  SOUTH_ONLY_ISBNS,
  show,
  startIllFederation,
  waitFor,
} from "./ill-harness.js";

const DATA = join(REPO_ROOT, "data/marc/lc-marc2bibframe2");
const LOC = join(DATA, "loc_general.xml");
const NLM = join(DATA, "nlm.xml");
const PRINCETON = join(DATA, "princeton.xml");

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  // The lender answers by hand here (no scenario): give it all the time the test needs, so the
  // loan waits at the lender, not in a rota that runs out.
  const spec = {
    ...ILL_SPEC,
    regions: ILL_SPEC.regions.map((r) => ({
      ...r,
      members: r.members.map((m) => (m.id === "south-a" ? { ...m, extraConfig: LENDER("30m") } : m)),
    })),
  };
  ({ fed, destroy } = await startIllFederation(spec));
  await fed.importCatalog("north-a", [LOC]);
  await fed.waitSynced();
}, 400_000);
afterAll(async () => {
  await destroy?.();
});

const records = async (id: string) => Number((await fed.status(id)).catalog?.records ?? -1n);
const archive = () => join(fed.dir, "north-a.lrs-backup.tar.gz");
const count = (events: string[], e: string) => events.filter((x) => x === e).length;

describe("backup and restore", () => {
  let loanId = "";
  let lend = { id: "" };

  it("backs up a member while it imports and a loan is under way", async () => {
    const n = fed.node("north-a");
    // The lender has the request and has not answered yet (its staff answer below, by hand).
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[0]!, "scenario:no-answer", "patron-1");
    loanId = r.id;
    const [atLender] = await lenderSide(fed, "south-a", loanId, 60_000);
    expect(atLender).toBeDefined();
    lend = atLender!;
    const importing = fed.importCatalog("north-a", [NLM]);
    await sleep(300);
    const out = JSON.parse(
      await fed.cli(n, ["backup", "--config", n.config, "--output", archive(), "--json"]),
    ) as {
      nodeId: string;
      files: Record<string, string>;
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
    expect((await show(fed, "north-a", loanId)).status).not.toBe("shipped");
    // After the backup: the lender answers and ships (delivered to north-a), and the catalog
    // changes again.
    await act(fed, "south-a", lend.id, "respond", { answer: "yes" });
    await act(fed, "south-a", lend.id, "ship");
    await waitFor(fed, "north-a", loanId, "shipped", 60_000);
    await fed.importCatalog("north-a", [PRINCETON]);
    await fed.waitSynced(180_000);
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
  });

  it("a restored member resyncs its catalog and gets the ILL messages delivered since the backup, once", async () => {
    const n = fed.node("north-a");
    const restored = await fed.cli(n, ["restore", "--config", n.config, "--input", archive(), "--force"]);
    expect(restored).toMatch(/restored member north-a from the backup of .* the data it replaced is in /);
    await fed.start("north-a");
    // Changes right after the restore reuse change-log positions the regional center already
    // applied: the resync must not skip them.
    await fed.importCatalog("north-a", [PRINCETON]);
    const settled = await fed.waitSynced(240_000);
    expect(settled.nationalRecords).toBe(settled.memberRecords);
    const rc = await fed.status("north-rc");
    expect(rc.downstreamSync.find((d) => d.peerId === "north-a")?.resyncs).toBeGreaterThanOrEqual(1n);
    expect(Number(rc.catalog?.records)).toBe(
      (await records("north-a")) + (await records("north-b")) + (await records("north-c")),
    );

    // The lender's Loaned reached north-a after the backup: delivered again, applied once.
    const shipped = await waitFor(fed, "north-a", loanId, "shipped", 60_000);
    expect(
      count(
        shipped.timeline.map((t) => t.event),
        "loaned",
      ),
    ).toBe(1);
    await act(fed, "north-a", loanId, "receive");
    await act(fed, "north-a", loanId, "return");
    // The lender's staff check the book in when it is back.
    await waitFor(fed, "south-a", lend.id, "returned", 60_000);
    await act(fed, "south-a", lend.id, "checkin");
    const done = await waitFor(fed, "north-a", loanId, "completed", 60_000);
    expect(
      count(
        done.timeline.map((t) => t.event),
        "loaned",
      ),
    ).toBe(1);
    const [lent, ...more] = await lenderSide(fed, "south-a", loanId);
    expect(more).toEqual([]);
    expect(lent!.id).toBe(lend.id);
    expect((await waitFor(fed, "south-a", lent!.id, "completed", 60_000)).partner).toBe("north-a");
  }, 400_000);
});
