import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { BIN, type Federation, sleep } from "@lrs/dev-env";
import {
  adminPb,
  createCertificateAuthority,
  createNodeTransport,
  directoryPb,
  healthPb,
  issueCertificate,
  Tier,
} from "@lrs/shared";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pem, startFederation } from "./harness.js";

const run = promisify(execFile);

let fed: Federation;
let destroy: () => Promise<void>;

beforeAll(async () => {
  ({ fed, destroy } = await startFederation());
});
afterAll(async () => {
  await destroy?.();
});

/** Calls `fn` and returns the ConnectError it throws (fails the test if it succeeds). */
async function refusal(fn: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await fn();
  } catch (err) {
    return ConnectError.from(err);
  }
  throw new Error("the call was expected to be refused but succeeded");
}

async function directoryAt(id: string): Promise<directoryPb.Directory> {
  const res = await fed.withClient(id, directoryPb.DirectoryService, (c) =>
    c.getDirectory({}, { timeoutMs: 5000 }),
  );
  return res.directory!;
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await fn();
    if (ok(last)) return last;
    await sleep(100);
  }
  throw new Error(
    `timed out waiting for ${what}; last value ${JSON.stringify(last, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`,
  );
}

describe("a running federation", () => {
  it("answers health SERVING at every node, to any federation certificate", async () => {
    for (const n of fed.manifest.nodes) {
      const status = await fed.withClient(n.id, healthPb.Health, (c) => c.check({ service: "" }), "north-a");
      expect(status.status, n.id).toBe(healthPb.HealthCheckResponse_ServingStatus.SERVING);
      const dir = await fed.withClient(
        n.id,
        healthPb.Health,
        (c) => c.check({ service: "lrs.v1.DirectoryService" }),
        "south-rc",
      );
      expect(dir.status).toBe(healthPb.HealthCheckResponse_ServingStatus.SERVING);
    }
  });

  it("replicates the directory to every node", async () => {
    const ids = fed.manifest.nodes.map((n) => n.id).sort();
    const authority = await waitFor(
      "all six registered",
      () => directoryAt("nat"),
      (d) => d.institutions.length === ids.length,
    );
    for (const n of fed.manifest.nodes) {
      const d = await waitFor(
        `directory at ${n.id}`,
        () => directoryAt(n.id),
        (x) => x.version === authority.version,
      );
      expect(d.institutions.map((i) => i.id).sort()).toEqual(ids);
      const self = d.institutions.find((i) => i.id === n.id)!;
      expect(self.endpoint).toBe(n.grpc);
      expect(self.tier).toBe(
        { national: Tier.NATIONAL, regional: Tier.REGIONAL, member: Tier.MEMBER }[n.tier],
      );
      expect(self.region).toBe(n.region);
      expect(self.certFingerprint).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    }
  });

  it("enrolls with a token only once, and only as the institution it was issued for", async () => {
    const rc = fed.node("north-rc");
    const token = await fed.cli(rc, ["token", "create", "--config", rc.config, "--id", "north-c"]);
    const a = fed.node("north-a");
    // The token names north-c: north-a's config cannot use it.
    const wrong = await run(process.execPath, [
      BIN.member,
      "enroll",
      "--config",
      a.config,
      "--token",
      token,
      "--force",
    ]).catch((e) => e);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('issued for "north-c", not for "north-a"');
    // north-a still works with its old identity after the failed attempt.
    expect(await fed.health("north-a")).toBe("SERVING");

    const listed = await fed.cli(rc, ["token", "list", "--config", rc.config, "--json"]);
    expect(JSON.parse(listed).find((t: { institution: string }) => t.institution === "north-c").used).toBe(
      "no",
    );

    // A new member with that token enrolls, and the token is then spent.
    const cfg = join(fed.dir, "config", "north-c.toml");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(
      cfg,
      `id = "north-c"\nname = "North Library C"\nregion = "north"\nlisten = "127.0.0.1:0"\nparent = "${rc.grpc}"\ndata_dir = "${join(fed.dir, "data", "north-c")}"\n`,
    );
    const ok = await run(process.execPath, [
      BIN.member,
      "enroll",
      "--config",
      cfg,
      "--token",
      token,
      "--json",
    ]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ id: "north-c", tier: "member", region: "north" });
    const again = await run(process.execPath, [
      BIN.member,
      "enroll",
      "--config",
      cfg,
      "--token",
      token,
      "--force",
    ]).catch((e) => e);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already used/);
    const garbage = await run(process.execPath, [
      BIN.member,
      "enroll",
      "--config",
      cfg,
      "--token",
      "LRS1.nonsense",
      "--force",
    ]).catch((e) => e);
    expect(garbage.code).toBe(1);
    expect(garbage.stderr).toMatch(/four parts/);
  });

  it("follows a change of the directory everywhere (a new member, then a revocation)", async () => {
    const before = await directoryAt("south-a");
    // Watch from a member: the stream must deliver the change without polling.
    const t = fed.transport("south-a");
    const ac = new AbortController();
    const seen: bigint[] = [];
    const watching = (async () => {
      try {
        for await (const res of createClient(directoryPb.DirectoryService, t.transport).watchDirectory(
          { knownVersion: before.version },
          { signal: ac.signal },
        )) {
          seen.push(res.directory!.version);
        }
      } catch {
        // aborted at the end of the test
      }
    })();
    const rc = fed.node("south-rc");
    const token = await fed.cli(rc, ["token", "create", "--config", rc.config, "--id", "south-b"]);
    const { writeFileSync } = await import("node:fs");
    const cfg = join(fed.dir, "config", "south-b.toml");
    const port = 20000 + Math.floor(Math.random() * 20000);
    writeFileSync(
      cfg,
      `id = "south-b"\nname = "South Library B"\nregion = "south"\nlisten = "127.0.0.1:${port}"\nmetrics_listen = "127.0.0.1:0"\nparent = "${rc.grpc}"\ndata_dir = "${join(fed.dir, "data", "south-b")}"\n`,
    );
    await run(process.execPath, [BIN.member, "enroll", "--config", cfg, "--token", token]);
    fed.manifest.nodes.push({
      id: "south-b",
      name: "South Library B",
      tier: "member",
      region: "south",
      grpc: `127.0.0.1:${port}`,
      config: cfg,
      dataDir: join(fed.dir, "data", "south-b"),
      caCert: join(fed.dir, "data", "south-b", "identity", "ca.pem"),
      cert: join(fed.dir, "data", "south-b", "identity", "cert.pem"),
      key: join(fed.dir, "data", "south-b", "identity", "key.pem"),
      log: join(fed.dir, "logs", "south-b.log"),
    });
    await fed.start("south-b");
    for (const id of ["nat", "north-rc", "north-a", "south-rc", "south-a"]) {
      await waitFor(
        `south-b at ${id}`,
        () => directoryAt(id),
        (d) => d.institutions.some((i) => i.id === "south-b"),
      );
    }
    await waitFor(
      "the watch stream to deliver",
      async () => seen,
      (s) => s.length > 0,
    );

    // Revoke south-b: everyone learns it, and its certificate is refused everywhere.
    const nat = fed.node("nat");
    await fed.cli(nat, ["revoke", "--config", nat.config, "south-b", "--reason", "test"]);
    for (const id of ["nat", "south-rc", "north-rc", "north-a"]) {
      const d = await waitFor(
        `revocation at ${id}`,
        () => directoryAt(id),
        (x) => x.institutions.find((i) => i.id === "south-b")?.revoked === true,
      );
      expect(d.revokedFingerprints.length).toBeGreaterThan(0);
    }
    const refused = await refusal(() =>
      fed.withClient("south-rc", healthPb.Health, (c) => c.check({ service: "" }), "south-b"),
    );
    expect(refused.code).toBe(Code.Unauthenticated);
    expect(refused.rawMessage).toContain("revoked");
    const alsoAtNorth = await refusal(() =>
      fed.withClient("north-rc", healthPb.Health, (c) => c.check({ service: "" }), "south-b"),
    );
    expect(alsoAtNorth.code).toBe(Code.Unauthenticated);
    ac.abort();
    t.close();
    await watching;
    await fed.stop("south-b");
  });
});

describe("authorization by certificate", () => {
  it("lets a member call only as itself", async () => {
    const err = await refusal(() =>
      fed.withClient(
        "north-rc",
        directoryPb.DirectoryService,
        (c) => c.register({ institution: { id: "north-b", name: "impostor", endpoint: "127.0.0.1:1" } }),
        "north-a",
      ),
    );
    expect(err.code).toBe(Code.PermissionDenied);
    expect(err.rawMessage).toContain("north-a may register itself only");
  });

  it("keeps a member away from the national center and from other regions", async () => {
    const national = await refusal(() =>
      fed.withClient("nat", directoryPb.DirectoryService, (c) => c.getDirectory({}), "north-a"),
    );
    expect(national.code).toBe(Code.PermissionDenied);
    const otherRegion = await refusal(() =>
      fed.withClient("south-rc", directoryPb.DirectoryService, (c) => c.getDirectory({}), "north-a"),
    );
    expect(otherRegion.code).toBe(Code.PermissionDenied);
    expect(otherRegion.rawMessage).toContain("is not a member of south-rc");
  });

  it("keeps admin calls to the node's own certificate", async () => {
    const byMember = await refusal(() =>
      fed.withClient("north-rc", adminPb.AdminService, (c) => c.getStatus({}), "north-a"),
    );
    expect(byMember.code).toBe(Code.PermissionDenied);
    const byRegional = await refusal(() =>
      fed.withClient(
        "nat",
        adminPb.AdminService,
        (c) => c.createEnrollmentToken({ institutionId: "x-rc", region: "x", tier: Tier.REGIONAL }),
        "north-rc",
      ),
    );
    expect(byRegional.code).toBe(Code.PermissionDenied);
    const byParent = await refusal(() =>
      fed.withClient("north-a", adminPb.AdminService, (c) => c.getStatus({}), "north-rc"),
    );
    expect(byParent.code).toBe(Code.PermissionDenied);
    const own = await fed.withClient("north-a", adminPb.AdminService, (c) => c.getStatus({}));
    expect(own.id).toBe("north-a");
    expect(own.parent?.state).toBe("connected");
  });

  it("refuses a certificate from a foreign CA, an expired one, and none at all", async () => {
    const target = fed.node("north-rc");
    const foreignCa = await createCertificateAuthority("Elsewhere");
    const foreign = await issueCertificate(foreignCa, ["localhost"], {
      identity: { id: "north-a", tier: Tier.MEMBER, region: "north" },
    });
    const realCa = {
      certPem: pem(join(fed.node("nat").dataDir, "ca", "ca.pem")),
      keyPem: pem(join(fed.node("nat").dataDir, "ca", "ca-key.pem")),
    };
    const expired = await issueCertificate(realCa, ["localhost"], {
      identity: { id: "north-a", tier: Tier.MEMBER, region: "north" },
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    const attempts: Array<[string, { certPem?: string; keyPem?: string }, string]> = [
      ["foreign CA", foreign, "client certificate refused"],
      ["expired", expired, "CERT_HAS_EXPIRED"],
      ["no certificate", {}, "client certificate is required"],
    ];
    for (const [what, creds, message] of attempts) {
      for (const target2 of [target, fed.node("nat"), fed.node("north-a")]) {
        const t = createNodeTransport({
          endpoint: target2.grpc,
          caPem: pem(target.caCert),
          ...creds,
          expectId: target2.id,
        });
        try {
          const err = await refusal(() =>
            createClient(healthPb.Health, t.transport).check({ service: "" }, { timeoutMs: 5000 }),
          );
          expect(err.code, `${what} at ${target2.id}`).toBe(Code.Unauthenticated);
          expect(err.rawMessage).toContain(message);
        } finally {
          t.close();
        }
      }
    }
    // Enrollment is the one thing open without a certificate.
    const t = createNodeTransport({ endpoint: target.grpc, caPem: pem(target.caCert), expectId: target.id });
    try {
      const ca = await createClient(directoryPb.DirectoryService, t.transport).getCaCertificate({});
      expect(ca.caCertificatePem).toBe(pem(target.caCert));
    } finally {
      t.close();
    }
  });

  it("checks that the server is the institution the client meant to call", async () => {
    // north-a's address, but we expect north-b: the client must refuse to talk.
    const a = fed.node("north-a");
    const t = createNodeTransport({
      endpoint: a.grpc,
      caPem: pem(a.caCert),
      certPem: pem(a.cert),
      keyPem: pem(a.key),
      expectId: "north-b",
    });
    try {
      const err = await refusal(() =>
        createClient(healthPb.Health, t.transport).check({ service: "" }, { timeoutMs: 5000 }),
      );
      // The TLS layer fails the connection before any call is made; Connect reports it as a transport error.
      expect([Code.Unavailable, Code.Internal]).toContain(err.code);
      expect(err.message).toContain("server certificate names north-a, expected north-b");
    } finally {
      t.close();
    }
  });
});
