import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it } from "vitest";
import { Database } from "../db.js";
import { PeerStatusSchema } from "../gen/lrs/v1/admin_pb.js";
import type { CertificateInfo } from "../tls/pki.js";
import { serveProbe } from "./probes.js";
import { type Readiness, readiness } from "./readiness.js";

const NOW = new Date("2026-12-05T12:00:00Z");
const cert = (validFrom: string, validTo: string): CertificateInfo => ({
  identity: undefined,
  fingerprint256: "AB:CD",
  serialNumber: "01",
  validFrom: new Date(validFrom),
  validTo: new Date(validTo),
});
const GOOD = cert("2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z");
const connected = create(PeerStatusSchema, { id: "north-rc", endpoint: "rc:7000", state: "connected" });

describe("readiness", () => {
  const db = Database.open(":memory:", []);

  it("is ready with the database open, the parent connected and the certificate valid", () => {
    const r = readiness({
      db,
      cert: () => GOOD,
      isRevoked: () => false,
      parent: () => connected,
      now: () => NOW,
    });
    expect(r.ready).toBe(true);
    expect(r.checks.parent?.detail).toBe("connected to north-rc at rc:7000");
  });

  it("needs no parent at the national center", () => {
    const r = readiness({ db, cert: () => GOOD, isRevoked: () => false, now: () => NOW });
    expect(r).toMatchObject({ ready: true, checks: { parent: { ok: true } } });
  });

  it("names an expired, a not yet valid and a revoked certificate", () => {
    const at = (c: CertificateInfo, revoked = false) =>
      readiness({ db, cert: () => c, isRevoked: () => revoked, now: () => NOW }).checks.certificate;
    expect(at(cert("2025-01-01T00:00:00Z", "2026-12-01T00:00:00Z"))).toEqual({
      ok: false,
      detail: "expired 2026-12-01T00:00:00.000Z",
    });
    expect(at(cert("2026-12-06T00:00:00Z", "2027-12-01T00:00:00Z"))).toEqual({
      ok: false,
      detail: "not valid before 2026-12-06T00:00:00.000Z",
    });
    expect(at(GOOD, true)).toEqual({ ok: false, detail: "revoked (fingerprint AB:CD)" });
  });

  it("keeps a reconnecting parent ready within the grace, not after", () => {
    const lost = (agoMs: number) =>
      create(PeerStatusSchema, {
        id: "north-rc",
        endpoint: "rc:7000",
        state: "unreachable",
        lastError: "connect ECONNREFUSED",
        lastContact: timestampFromDate(new Date(NOW.getTime() - agoMs)),
      });
    const check = (s: ReturnType<typeof lost>) =>
      readiness({
        db,
        cert: () => GOOD,
        isRevoked: () => false,
        parent: () => s,
        parentGraceMs: 30_000,
        now: () => NOW,
      }).checks.parent;
    expect(check(lost(10_000))?.ok).toBe(true);
    expect(check(lost(40_000))).toEqual({
      ok: false,
      detail:
        "unreachable (north-rc at rc:7000), last contact 2026-12-05T11:59:20.000Z: connect ECONNREFUSED",
    });
    const never = create(PeerStatusSchema, { endpoint: "rc:7000", state: "connecting" });
    expect(check(never)).toEqual({ ok: false, detail: "connecting (rc:7000), never reached" });
  });

  it("is not ready once the database is closed", () => {
    const other = Database.open(":memory:", []);
    other.close();
    const r = readiness({ db: other, cert: () => GOOD, isRevoked: () => false, now: () => NOW });
    expect(r).toMatchObject({ ready: false, checks: { database: { ok: false, detail: "closed" } } });
  });
});

describe("probes over HTTP", () => {
  let server: http.Server | undefined;
  afterEach(() => server?.close());

  async function serve(ready: () => Readiness): Promise<string> {
    server = http.createServer((req, res) => {
      if (!serveProbe(req.url ?? "/", req, res, { id: "north-a", ready })) {
        res.writeHead(404);
        res.end();
      }
    });
    await new Promise<void>((r) => server!.listen(0, "127.0.0.1", r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it("answers /healthz 200 and /readyz 503 naming the failed check", async () => {
    const base = await serve(() => ({
      ready: false,
      checks: {
        database: { ok: true, detail: "open" },
        parent: { ok: false, detail: "unreachable (rc:7000), never reached" },
      },
    }));
    const live = await fetch(`${base}/healthz`);
    expect(live.status).toBe(200);
    expect(await live.json()).toEqual({ status: "alive", id: "north-a" });
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(ready.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await ready.json()).toEqual({
      status: "not ready",
      id: "north-a",
      failed: ["parent"],
      checks: {
        database: { ok: true, detail: "open" },
        parent: { ok: false, detail: "unreachable (rc:7000), never reached" },
      },
    });
    expect((await fetch(`${base}/readyz`, { method: "POST" })).status).toBe(405);
    expect((await fetch(`${base}/other`)).status).toBe(404);
  });

  it("answers /readyz 200 when every check passes", async () => {
    const base = await serve(() => ({ ready: true, checks: { database: { ok: true, detail: "open" } } }));
    const res = await fetch(`${base}/readyz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: "ready" });
  });
});
