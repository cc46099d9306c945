import { createClient } from "@connectrpc/connect";
import type { Federation } from "@lrs/dev-env";
import { adminPb, describeCertificate, directoryPb } from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, pem, startFederation } from "./harness.js";

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
});
afterAll(async () => {
  await destroy?.();
});

async function directoryAt(id: string): Promise<directoryPb.Directory> {
  const res = await fed.withClient(id, directoryPb.DirectoryService, (c) =>
    c.getDirectory({}, { timeoutMs: 5000 }),
  );
  return res.directory!;
}

describe("restarts", () => {
  it("a member killed with SIGKILL comes back with the same identity and directory, even while its regional center is down", async () => {
    const full = await eventually(
      () => directoryAt("north-a"),
      (d) => d.institutions.length === fed.manifest.nodes.length,
    );
    const fingerprint = describeCertificate(pem(fed.node("north-a").cert)).fingerprint256;

    await fed.stop("north-a", "SIGKILL");
    await fed.stop("north-rc", "SIGKILL");
    await fed.start("north-a");

    // The regional center is down, so this can only come from the member's own database.
    const after = await directoryAt("north-a");
    expect(after.version).toBe(full.version);
    expect(after.institutions.map((i) => i.id).sort()).toEqual(full.institutions.map((i) => i.id).sort());
    const st = await fed.withClient("north-a", adminPb.AdminService, (c) => c.getStatus({}));
    expect(st.certFingerprint).toBe(fingerprint);
    expect(st.parent?.state).not.toBe("connected");

    // The regional center comes back; the member reconnects by itself and follows the next change.
    await fed.start("north-rc");
    await eventually(
      () => fed.withClient("north-a", adminPb.AdminService, (c) => c.getStatus({})),
      (s) => s.parent?.state === "connected",
    );
    const nat = fed.node("nat");
    await fed.cli(nat, ["revoke", "--config", nat.config, "south-a", "--reason", "restart test"]);
    const changed = await eventually(
      () => directoryAt("north-a"),
      (d) => d.version > full.version,
    );
    expect(changed.institutions.find((i) => i.id === "south-a")?.revoked).toBe(true);
  });

  it("a regional center stopped with SIGTERM exits 0 and comes back with its identity and directory", async () => {
    const before = await directoryAt("south-rc");
    expect(await fed.stop("south-rc", "SIGTERM")).toBe(0);
    await fed.start("south-rc");
    const after = await directoryAt("south-rc");
    expect(after.version).toBeGreaterThanOrEqual(before.version);
    expect(describeCertificate(pem(fed.node("south-rc").cert)).identity?.id).toBe("south-rc");
  });

  it("stops gracefully on SIGTERM: open streams end, the process exits 0", async () => {
    const t = fed.transport("north-b");
    const stream = createClient(directoryPb.DirectoryService, t.transport).watchDirectory({
      knownVersion: 0n,
    });
    const first = await stream[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
    const started = Date.now();
    const code = await fed.stop("north-b", "SIGTERM");
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    t.close();
  });
});
