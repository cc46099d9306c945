import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import {
  createIntermediateRequest,
  createRootAuthority,
  isReissueOf,
  reissueAsRoot,
  signIntermediate,
  splitPem,
  verifyChain,
} from "./chain.js";
import { createCertificateAuthority, issueCertificate } from "./pki.js";

const member = { identity: { id: "north-a", tier: Tier.MEMBER, region: "north" } };

async function federation() {
  const root = await createRootAuthority("Test");
  const req = await createIntermediateRequest("Test");
  const intermediatePem = await signIntermediate(root, req.csrPem, 30);
  const intermediate = { certPem: intermediatePem, keyPem: req.keyPem, rootPem: root.certPem };
  return { root, intermediate };
}

describe("an offline root signing an intermediate", () => {
  it("issues node certificates followed by the intermediate, verifying up to the root", async () => {
    const { root, intermediate } = await federation();
    const leaf = await issueCertificate(intermediate, ["127.0.0.1"], member);
    const [leafPem, interPem, ...rest] = splitPem(leaf.certPem);
    expect(rest).toEqual([]);
    const rootCert = new X509Certificate(root.certPem);
    const inter = new X509Certificate(interPem!);
    const node = new X509Certificate(leafPem!);
    expect(inter.ca).toBe(true);
    expect(node.ca).toBe(false);
    expect(inter.checkIssued(rootCert)).toBe(true);
    expect(inter.verify(rootCert.publicKey)).toBe(true);
    expect(node.checkIssued(inter)).toBe(true);
    expect(node.verify(inter.publicKey)).toBe(true);
    // The root does not sign node certificates itself.
    expect(node.verify(rootCert.publicKey)).toBe(false);
    expect(() => verifyChain(leaf.certPem, root.certPem)).not.toThrow();
    // A chain may carry the root at its end.
    expect(() => verifyChain(leaf.certPem + root.certPem, root.certPem)).not.toThrow();
  });

  it("keeps node certificates valid across a rotation of the intermediate", async () => {
    const { root, intermediate } = await federation();
    const before = await issueCertificate(intermediate, [], member);
    const req = await createIntermediateRequest("Test");
    const next = {
      certPem: await signIntermediate(root, req.csrPem),
      keyPem: req.keyPem,
      rootPem: root.certPem,
    };
    const after = await issueCertificate(next, [], member);
    verifyChain(before.certPem, root.certPem);
    verifyChain(after.certPem, root.certPem);
    expect(splitPem(before.certPem)[1]).not.toBe(splitPem(after.certPem)[1]);
  });

  it("names the link that fails: a leaf without its intermediate, another root, a non-CA issuer", async () => {
    const { root, intermediate } = await federation();
    const other = await federation();
    const leaf = await issueCertificate(intermediate, [], member);
    expect(() => verifyChain(splitPem(leaf.certPem)[0]!, root.certPem)).toThrow(
      /CN=north-a.* is not signed by .*Root CA.*the chain does not verify/,
    );
    expect(() => verifyChain(leaf.certPem, other.root.certPem)).toThrow(/Intermediate CA.* is not signed by/);
    const leafAsIssuer = `${splitPem(leaf.certPem)[0]}${splitPem(leaf.certPem)[0]}`;
    expect(() => verifyChain(leafAsIssuer, root.certPem)).toThrow(/is not a CA and cannot issue/);
  });

  it("refuses an intermediate from a pathLen 0 CA (a one-CA federation's), and re-issues that CA as a root", async () => {
    const old = await createCertificateAuthority("Old");
    const before = await issueCertificate(old, [], member);
    const req = await createIntermediateRequest("Old");
    await expect(signIntermediate(old, req.csrPem)).rejects.toThrow(/pathLen 0/);
    const reissued = await reissueAsRoot(old);
    expect(isReissueOf(reissued, old.certPem)).toBe(true);
    expect(isReissueOf((await createRootAuthority("Old")).certPem, old.certPem)).toBe(false);
    // Certificates the old CA signed verify under the re-issued root; so do the intermediate's.
    verifyChain(before.certPem, reissued);
    const inter = {
      certPem: await signIntermediate({ ...old, certPem: reissued }, req.csrPem),
      keyPem: req.keyPem,
      rootPem: reissued,
    };
    verifyChain((await issueCertificate(inter, [], member)).certPem, reissued);
  });

  it("never makes an intermediate outlive its root", async () => {
    const root = await createRootAuthority("Short", 1);
    const req = await createIntermediateRequest("Short");
    const inter = new X509Certificate(await signIntermediate(root, req.csrPem, 5000));
    expect(new Date(inter.validTo).getTime()).toBeLessThanOrEqual(
      new Date(new X509Certificate(root.certPem).validTo).getTime(),
    );
  });
});
