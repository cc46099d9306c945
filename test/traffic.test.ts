// Traffic figures across the tiers: what a member counts reaches the national center through its
// regional center, and a restart of the regional center — graceful (SIGTERM) or a crash (SIGKILL)
// — neither loses nor doubles any of it.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { BIN, type Federation, type FederationSpec } from "@lrs/dev-env";
import { searchPb, trafficPb } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFederation } from "./harness.js";

const run = promisify(execFile);

const SPEC: FederationSpec = {
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [{ id: "north-a", name: "North Library A" }],
    },
  ],
};

/** Every node writes and reports its figures each second (the default is a minute). */
const FAST = {
  MEMBER_TRAFFIC_FLUSH_INTERVAL: "1s",
  REGIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
  NATIONAL_TRAFFIC_FLUSH_INTERVAL: "1s",
};

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation(SPEC, { env: FAST }));
});

afterAll(async () => {
  await destroy?.();
});

/** `n` LOCAL searches at north-a, by north-a's own certificate (as its CLI makes them). */
async function search(n: number): Promise<void> {
  await fed.withClient("north-a", searchPb.SearchService, async (c) => {
    for (let i = 0; i < n; i++)
      for await (const _ of c.search({ query: `history${i}`, scope: searchPb.Scope.LOCAL })) void _;
  });
}

/** north-a's own LOCAL searches as `node` holds them (GetTraffic with the node's own certificate). */
async function searchesAt(node: string): Promise<number> {
  const res = await fed.withClient(node, trafficPb.TrafficService, (c) =>
    c.getTraffic(
      { since: timestampFromMs(Date.now() - 3_600_000), kinds: ["search"] },
      { timeoutMs: 10_000 },
    ),
  );
  return res.blocks
    .filter((b) => b.nodeId === "north-a")
    .flatMap((b) => b.cells)
    .filter((c) => c.caller === "north-a" && c.detail === "local")
    .reduce((n, c) => n + Number(c.count), 0);
}

/** Waits until `node` holds exactly `want` of north-a's searches (failing at once on more). */
async function waitSearches(node: string, want: number, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let have = -1;
  while (Date.now() < until) {
    have = await searchesAt(node).catch(() => -1);
    expect(have).toBeLessThanOrEqual(want);
    if (have === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(have, `${node} holds ${have} of north-a's searches, not ${want}`).toBe(want);
}

/** As waitSearches, then checks that the figure stays there. */
async function expectSearches(node: string, want: number, timeoutMs = 30_000): Promise<void> {
  await waitSearches(node, want, timeoutMs);
  // A few more report rounds: nothing arrives twice.
  await new Promise((r) => setTimeout(r, 2_500));
  expect(await searchesAt(node)).toBe(want);
}

describe("traffic figures across the tiers", () => {
  it("reach the national center from a member, through its regional center", async () => {
    await search(5);
    await expectSearches("nat", 5);
    const health = await fed.withClient("nat", trafficPb.TrafficService, (c) =>
      c.getTraffic({ kinds: ["search"] }),
    );
    const a = health.health.find((h) => h.nodeId === "north-a");
    expect(a, "the national center knows north-a's health").toBeDefined();
    expect(Date.now() - Number(a!.observedAt!.seconds) * 1000).toBeLessThan(30_000);
  });

  it("survive a graceful restart of the regional center (SIGTERM), while the member keeps counting", async () => {
    await fed.stop("north-rc", "SIGTERM");
    await search(4);
    // The member cannot report now; its figures wait in its database.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await searchesAt("north-a")).toBe(9);
    await fed.start("north-rc");
    await expectSearches("nat", 9);
  });

  it("survive a crash of the regional center (SIGKILL), with nothing lost or counted twice", async () => {
    // The national center is away: the regional center keeps what it receives and cannot pass it on.
    await fed.stop("nat", "SIGTERM");
    await search(3);
    await waitSearches("north-rc", 12);
    // It crashes holding figures its parent has not acknowledged; the member counts on meanwhile.
    await fed.stop("north-rc", "SIGKILL");
    await search(2);
    await fed.start("nat");
    await fed.start("north-rc");
    await expectSearches("nat", 14);
    await expectSearches("north-rc", 14);
  });

  it("are on the member's /metrics and in `lrs-national traffic`", async () => {
    const metrics = await (await fetch(fed.node("north-a").metrics!)).text();
    expect(metrics).toMatch(/^lrs_searches_total\{scope="local",caller="north-a"\} 14$/m);
    expect(metrics).toMatch(/^process_cpu_seconds_total /m);
    const nat = fed.node("nat");
    const { stdout } = await run(process.execPath, [
      BIN.national,
      "traffic",
      "--config",
      nat.config,
      "--json",
    ]);
    const out = JSON.parse(stdout) as {
      searches: Array<{ region: string; scope: string; searches: number }>;
    };
    expect(out.searches).toContainEqual(
      expect.objectContaining({ region: "north", scope: "local", searches: 14 }),
    );
    const human = (
      await run(process.execPath, [BIN.national, "traffic", "--config", nat.config, "--since", "2h"])
    ).stdout;
    expect(human).toMatch(/north\s+local\s+14\s/);
    await expect(
      run(process.execPath, [BIN.national, "traffic", "--config", nat.config, "--since", "yesterday"]),
    ).rejects.toMatchObject({ stderr: expect.stringMatching(/--since "yesterday": expected a duration/) });
  });
});
