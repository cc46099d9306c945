// Federations running two versions at once: this checkout and the previous release (v0.1.0,
// built from its commit: see previous-release.ts). First as during an upgrade in the documented
// order (the national center first, then regional centers, then members): the national center and
// the south center are new; the north center, the borrower north-a and the lender south-a are the
// previous release, and north-b, already upgraded, sits under the old north center. Then the other
// way round (the national center and the south center still on the previous release). Every pair
// of versions meets on the wire: new ↔ old center, old center ↔ new member, new center ↔ old
// member. A national search crosses both regions and two loans run to completion in each.
// `npm test` runs the first layout (every pairing of versions meets in it; CI's time is limited);
// LRS_MIXED_VERSION_ALL=1 runs the second too.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Federation, type FederationSpec } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, nationalSearch, SMALL_SPEC } from "./harness.js";
import {
  act,
  borrow,
  LENDER,
  LOC,
  lenderSide,
  SOUTH_ONLY_ISBNS,
  waitFor,
  writeItems,
} from "./ill-harness.js";
import { PREVIOUS_RELEASE, type PreviousRelease, previousRelease } from "./previous-release.js";

/** SMALL_SPEC with short ILL timers: north-a and north-b borrow, south-a lends (the scenario responder). */
const SPEC: FederationSpec = {
  ...SMALL_SPEC,
  regions: SMALL_SPEC.regions.map((r) => ({
    ...r,
    members: r.members.map((m) => ({
      ...m,
      extraConfig: m.id === "south-a" ? LENDER("10s") : `[ill]\ntimer_interval = "200ms"\n`,
    })),
  })),
};

const ALL_LAYOUTS = [
  {
    name: "upgrade in the documented order (national center new)",
    previous: ["north-rc", "north-a", "south-a"],
  },
  {
    name: "the other way round (national center on the previous release)",
    previous: ["nat", "south-rc", "north-b"],
  },
];

const LAYOUTS = process.env.LRS_MIXED_VERSION_ALL === "1" ? ALL_LAYOUTS : ALL_LAYOUTS.slice(0, 1);

let release: PreviousRelease = { unavailable: "not built yet" };

beforeAll(() => {
  // Building the release (the first run only; cached in node_modules/.cache) takes minutes.
  release = previousRelease();
}, 900_000);

describe.each(LAYOUTS)(`this version and v${PREVIOUS_RELEASE.version}: $name`, ({ previous }) => {
  let fed: Federation | undefined;
  const dir = mkdtempSync(join(tmpdir(), "lrs-mixed-"));

  beforeAll(async () => {
    if ("unavailable" in release) return;
    fed = await Federation.create(SPEC, {
      dir,
      logLevel: process.env.LRS_TEST_LOG_LEVEL ?? "warn",
      previousRelease: { root: release.root, nodes: previous },
      webUsers: false,
    });
    const items = join(dir, "south-a-items.csv");
    await writeItems("south-a", [LOC], items);
    const sa = fed.node("south-a");
    await fed.cli(sa, ["import", "--config", sa.config, "--items", items, LOC]);
    await fed.waitSynced(180_000);
  }, 600_000);
  afterAll(async () => {
    await fed?.stopAll("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  function running(): Federation {
    if (!fed)
      throw new Error(
        `the previous release is not available: ${"unavailable" in release ? release.unavailable : ""}`,
      );
    return fed;
  }

  it("runs the previous release's programs where asked, and every node is connected to its parent", async (ctx) => {
    if ("unavailable" in release) ctx.skip(release.unavailable);
    const f = running();
    const root = "root" in release ? release.root : "";
    for (const n of f.manifest.nodes) {
      expect(f.program(n).startsWith(root), n.id).toBe(previous.includes(n.id));
      if (n.tier !== "national") expect((await f.status(n.id)).parent?.state, n.id).toBe("connected");
    }
  });

  it("answers a national search across versions from both north members", async (ctx) => {
    if ("unavailable" in release) ctx.skip(release.unavailable);
    for (const from of ["north-a", "north-b"]) {
      const res = await eventually(
        () => nationalSearch(running(), from),
        (r) => r.holders.has("south-a"),
        60_000,
      );
      expect(res.messages.at(-1)?.final, from).toBe(true);
    }
  });

  it("lends across regions and versions from request to check-in", async (ctx) => {
    if ("unavailable" in release) ctx.skip(release.unavailable);
    const f = running();
    for (const [borrower, isbn] of [
      ["north-a", SOUTH_ONLY_ISBNS[0]!],
      ["north-b", SOUTH_ONLY_ISBNS[1]!],
    ] as const) {
      const r = await borrow(f, borrower, isbn, "scenario:loaned", `patron-${borrower}`);
      expect(
        r.rota.map((e) => e.agencyId),
        borrower,
      ).toEqual(["south-a"]);
      const shipped = await waitFor(f, borrower, r.id, "shipped", 60_000);
      expect(shipped.partner).toBe("south-a");
      await act(f, borrower, r.id, "receive");
      await act(f, borrower, r.id, "return");
      const done = await waitFor(f, borrower, r.id, "completed", 60_000);
      const outgoing = done.messages.filter((m) => m.direction === "out" && !m.kind.includes("Confirmation"));
      for (const m of outgoing) expect(m.confirmation, `${borrower} ${m.kind}`).toBe("OK");
      const [lent, ...more] = await lenderSide(f, "south-a", r.id, 30_000);
      expect(more).toEqual([]);
      expect(lent?.status, borrower).toBe("completed");
      expect(lent?.partner).toBe(borrower);
    }
  }, 300_000);
});
