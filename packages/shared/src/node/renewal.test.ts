import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { NodeConfig } from "../config.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import {
  createIntermediateRequest,
  createRootAuthority,
  reissueAsRoot,
  signIntermediate,
  splitPem,
} from "../tls/chain.js";
import { identityPaths, loadIdentity, saveCertificates, savePrivateKey } from "../tls/identity.js";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  issueCertificate,
  signCsr,
} from "../tls/pki.js";
import { renewIdentity } from "./renewal.js";

const identity = { id: "north-a", tier: Tier.MEMBER, region: "north" };
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "lrs-renewal-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cfg = () => ({ dataDir: dir, id: identity.id, hostNames: ["127.0.0.1"] }) as unknown as NodeConfig;

async function enrolled(ca: CertificateAuthority, anchor: string) {
  const own = await issueCertificate(ca, [], { identity });
  savePrivateKey(dir, own.keyPem);
  saveCertificates(dir, own.certPem, anchor);
  return loadIdentity(dir, "test");
}

const signer = (ca: CertificateAuthority, anchor: string) => async (csrPem: string) => ({
  certificatePem: await signCsr(ca, csrPem, { identity }),
  caCertificatePem: anchor,
});

describe("renewing a certificate", () => {
  it("under an intermediate: stores the new certificate with its chain, the root staying the anchor", async () => {
    const root = await createRootAuthority("T");
    const req = await createIntermediateRequest("T");
    const inter = {
      certPem: await signIntermediate(root, req.csrPem),
      keyPem: req.keyPem,
      rootPem: root.certPem,
    };
    const current = await enrolled(inter, root.certPem);
    const next = await renewIdentity(cfg(), current, signer(inter, root.certPem));
    expect(next.cert.fingerprint256).not.toBe(current.cert.fingerprint256);
    expect(splitPem(next.certPem)).toHaveLength(2);
    expect(next.caPem).toBe(root.certPem);
  });

  it("takes a re-issued root (same name and key) as its new anchor, and refuses any other CA", async () => {
    const old = await createCertificateAuthority("T");
    const current = await enrolled(old, old.certPem);
    const reissued = await reissueAsRoot(old);
    const next = await renewIdentity(cfg(), current, signer({ ...old, certPem: reissued }, reissued));
    expect(readFileSync(identityPaths(dir).ca, "utf8")).toBe(reissued);
    const stranger = await createCertificateAuthority("T");
    await expect(renewIdentity(cfg(), next, signer(stranger, stranger.certPem))).rejects.toThrow(
      /carries another CA than this node's/,
    );
    // A certificate from another CA under this node's own anchor does not chain.
    await expect(renewIdentity(cfg(), next, signer(stranger, reissued))).rejects.toThrow(
      /does not chain to the federation CA: .* is not signed by/,
    );
    expect(readFileSync(identityPaths(dir).cert, "utf8")).toBe(next.certPem);
  });
});
