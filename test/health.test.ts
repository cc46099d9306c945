// The HTTP probes and the operator gauges of real nodes: /healthz and /readyz on every node's
// metrics listener (no client certificate), a member that loses its regional center turning
// not ready (naming the parent) and ready again when it comes back.
import type { Federation } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually, startFederation } from "./harness.js";

let fed: Federation;
let destroy: () => Promise<void>;

// A parent lost for more than a second makes its child not ready (the default is a minute).
const GRACE = { REGIONAL_PARENT_GRACE: "1s", MEMBER_PARENT_GRACE: "1s" };

beforeAll(async () => {
  ({ fed, destroy } = await startFederation(undefined, { env: GRACE }));
});
afterAll(async () => {
  await destroy?.();
});

const probe = (id: string, path: string) => new URL(path, fed.node(id).metrics!).toString();

async function readyz(id: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(probe(id, "/readyz"));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const metric = (text: string, name: string): number | undefined => {
  const m = new RegExp(`^${name} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : undefined;
};

describe("health probes and gauges", () => {
  it("every node is live and ready over plain HTTP, with the checks in the answer", async () => {
    for (const n of fed.manifest.nodes) {
      const live = await fetch(probe(n.id, "/healthz"));
      expect(live.status, n.id).toBe(200);
      expect(await live.json()).toEqual({ status: "alive", id: n.id });
      const r = await eventually(
        () => readyz(n.id),
        (x) => x.status === 200,
      );
      expect(r.body).toMatchObject({
        status: "ready",
        id: n.id,
        checks: { database: { ok: true }, certificate: { ok: true }, parent: { ok: true } },
      });
    }
  });

  it("/metrics carries the parent connection, certificate expiry, outbox and sync gauges", async () => {
    const text = await eventually(
      async () => (await fetch(fed.node("north-a").metrics!)).text(),
      (t) => metric(t, "lrs_parent_up") === 1,
    );
    // dev-env certificates live a year.
    const expiry = metric(text, "lrs_certificate_expiry_seconds")!;
    expect(expiry).toBeGreaterThan(300 * 86_400);
    expect(expiry).toBeLessThan(400 * 86_400);
    expect(metric(text, "lrs_outbox_dead_total")).toBe(0);
    expect(metric(text, "lrs_sync_lag")).toBe(0);
    expect(metric(text, "lrs_sync_lag_seconds")).toBe(0);
    const nat = await (await fetch(fed.node("nat").metrics!)).text();
    expect(nat).not.toMatch(/^lrs_parent_up/m);
    expect(nat).toMatch(/^lrs_certificate_expiry_seconds /m);
  });

  it("a member whose regional center is down turns not ready, naming the parent, and ready when it is back", async () => {
    await fed.stop("north-rc");
    const down = await eventually(
      () => readyz("north-a"),
      (x) => x.status === 503,
    );
    expect(down.body).toMatchObject({
      status: "not ready",
      failed: ["parent"],
      checks: { database: { ok: true }, certificate: { ok: true }, parent: { ok: false } },
    });
    expect(String((down.body.checks as Record<string, { detail: string }>).parent!.detail)).toContain(
      fed.node("north-rc").grpc,
    );
    // Still live: a platform must not restart it for its parent's sake.
    expect((await fetch(probe("north-a", "/healthz"))).status).toBe(200);
    const metrics = await (await fetch(fed.node("north-a").metrics!)).text();
    expect(metric(metrics, "lrs_parent_up")).toBe(0);
    // Another region is untouched.
    expect((await readyz("south-a")).status).toBe(200);

    await fed.start("north-rc");
    await eventually(
      () => readyz("north-a"),
      (x) => x.status === 200,
    );
  });
});
