import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Federation, type FederationOptions, type FederationSpec } from "@lrs/dev-env";

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
 * failed half-way.
 */
export async function startFederation(
  spec: FederationSpec = SMALL_SPEC,
  opts: Pick<FederationOptions, "env" | "offlineRoot"> = {},
): Promise<{ fed: Federation; destroy: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), "lrs-test-"));
  let fed: Federation | undefined;
  const destroy = async () => {
    // A half-made federation still has its manifest: open it to stop what was started.
    await fed?.stopAll("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    fed = await Federation.create(spec, { dir, logLevel: process.env.LRS_TEST_LOG_LEVEL ?? "warn", ...opts });
    return { fed, destroy };
  } catch (err) {
    await destroy();
    throw err;
  }
}

/** Calls `fn` until `ok` holds of what it returns (errors count as not yet), or fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 30_000,
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
  throw new Error(
    `condition not met in ${timeoutMs} ms; last: ${last instanceof Error ? last.message : JSON.stringify(last)}`,
  );
}

export function pem(path: string): string {
  return readFileSync(path, "utf8");
}
