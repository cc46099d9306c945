import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Federation, type FederationOptions, type FederationSpec } from "@lrs/dev-env";
import { searchPb } from "@lrs/shared";

type MemberSpec = FederationSpec["regions"][number]["members"][number];

/** A member that borrows in a test: its ILL timers run quickly (deadlines seen within the test). */
export const BORROWER = `[ill]\ntimer_interval = "200ms"\n`;

/**
 * The tests' federation shape: the national center "nat" and, per region, a regional center
 * "<region>-rc" with the members given.
 */
export function testFederation(regions: Record<string, MemberSpec[]>): FederationSpec {
  return {
    national: { id: "nat", name: "Test National Center" },
    regions: Object.entries(regions).map(([region, members]) => ({
      region,
      id: `${region}-rc`,
      name: `${region[0]!.toUpperCase()}${region.slice(1)} Test Center`,
      members,
    })),
  };
}

/** Runs a node's CLI with its --config (the command line an operator types). */
export function nodeCli(fed: Federation, node: string, args: string[]): Promise<string> {
  const n = fed.node(node);
  return fed.cli(n, [...args, "--config", n.config]);
}

/** A small federation: enough to cross every tier boundary, quick to start. */
export const SMALL_SPEC: FederationSpec = {
  national: { id: "nat", name: "Test National Center" },
  regions: [
    {
      region: "north",
      id: "north-rc",
      name: "North Test Center",
      members: [
        { id: "north-a", name: "North Library A" },
        { id: "north-b", name: "North Library B" },
      ],
    },
    {
      region: "south",
      id: "south-rc",
      name: "South Test Center",
      members: [{ id: "south-a", name: "South Library A" }],
    },
  ],
};

/**
 * Starts a federation of real processes in a throwaway directory. The caller
 * must `await destroy()` in afterAll; it stops every process even when set-up
 * failed half-way. The demo's staff account (`webUser`/`webPassword`) is made only with
 * `webUsers: true`, for the tests that sign in to the web app.
 */
export async function startFederation(
  spec: FederationSpec = SMALL_SPEC,
  opts: Pick<FederationOptions, "env" | "offlineRoot" | "webUsers"> = {},
): Promise<{ fed: Federation; destroy: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "lrs-test-"));
  let fed: Federation | undefined;
  const destroy = async () => {
    // A half-made federation still has its manifest: open it to stop what was started.
    await fed?.stopAll("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    fed = await Federation.create(spec, {
      dir,
      logLevel: process.env.LRS_TEST_LOG_LEVEL ?? "warn",
      webUsers: false,
      ...opts,
    });
    return { fed, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/**
 * Calls `fn` until `ok` holds of what it returns (errors count as not yet), or fails after
 * `timeoutMs`, naming `what` was awaited and the last value (BigInts written as numbers).
 */
export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
  what = "a condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (ok(v)) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const shown =
    last instanceof Error
      ? last.message
      : JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${shown}`);
}

export function pem(path: string): string {
  return readFileSync(path, "utf8");
}

/** A national search ("dc.title=history") from node `from`: the stream's messages and who holds a hit. */
export async function nationalSearch(
  fed: Federation,
  from: string,
): Promise<{ messages: searchPb.SearchResponse[]; holders: Set<string> }> {
  const messages = await fed.withClient(from, searchPb.SearchService, async (c) => {
    const out: searchPb.SearchResponse[] = [];
    for await (const m of c.search(
      { query: "dc.title=history", scope: searchPb.Scope.NATIONAL, pageSize: 5 },
      { timeoutMs: 20_000 },
    ))
      out.push(m);
    return out;
  });
  const holders = new Set(
    messages.flatMap((m) => m.hits.flatMap((c) => c.holdings.map((h) => h.institutionId))),
  );
  return { messages, holders };
}
