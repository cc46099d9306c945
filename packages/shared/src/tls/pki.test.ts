import { X509Certificate } from "node:crypto";
import { describe, expect, it } from "vitest";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import {
  CsrError,
  caPin,
  createCertificateAuthority,
  createCsr,
  describeCertificate,
  generateKeyPair,
  identityFromSubjectAltName,
  identityUri,
  issueCertificate,
  parseIdentityUri,
  signCsr,
} from "./pki.js";
import {
  createEnrollmentToken,
  formatToken,
  hashSecret,
  parseToken,
  secretMatches,
  TokenFormatError,
} from "./token.js";

describe("federation PKI", () => {
  it("round-trips identities through the URI SAN", () => {
    const id = { id: "north-univ", tier: Tier.MEMBER, region: "north" };
    expect(identityUri(id)).toBe("urn:lrs:member:north:north-univ");
    expect(parseIdentityUri(identityUri(id))).toEqual(id);
    expect(parseIdentityUri(identityUri({ id: "nat", tier: Tier.NATIONAL, region: "" }))).toEqual({
      id: "nat",
      tier: Tier.NATIONAL,
      region: "",
    });
    expect(parseIdentityUri("urn:lrs:admin:x:y")).toBeUndefined();
    expect(
      identityFromSubjectAltName("DNS:localhost, IP Address:127.0.0.1, URI:urn:lrs:regional:south:south-rc"),
    ).toEqual({
      id: "south-rc",
      tier: Tier.REGIONAL,
      region: "south",
    });
  });

  it("signs a node's request with the identity the CA decides, and the host names the node asks for", async () => {
    const ca = await createCertificateAuthority("Test");
    const keys = await generateKeyPair();
    const csr = await createCsr(keys, "whatever-the-node-claims", [
      "localhost",
      "127.0.0.1",
      "lib.example.org",
    ]);
    const certPem = await signCsr(ca, csr, { identity: { id: "m1", tier: Tier.MEMBER, region: "north" } });
    const cert = new X509Certificate(certPem);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.subject).toContain("CN=m1");
    expect(cert.subjectAltName).toContain("DNS:lib.example.org");
    expect(cert.subjectAltName).toContain("IP Address:127.0.0.1");
    expect(describeCertificate(certPem).identity).toEqual({ id: "m1", tier: Tier.MEMBER, region: "north" });
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
  });

  it("refuses a request that is not PKCS#10", async () => {
    const ca = await createCertificateAuthority("Test");
    await expect(
      signCsr(ca, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----", {
        identity: { id: "m1", tier: Tier.MEMBER, region: "n" },
      }),
    ).rejects.toBeInstanceOf(CsrError);
  });

  it("issues certificates with the validity asked for (expired ones for tests)", async () => {
    const ca = await createCertificateAuthority("Test");
    const past = await issueCertificate(ca, ["localhost"], {
      identity: { id: "m1", tier: Tier.MEMBER, region: "n" },
      notBefore: new Date("2020-01-01"),
      notAfter: new Date("2020-02-01"),
    });
    expect(describeCertificate(past.certPem).validTo.toISOString()).toBe("2020-02-01T00:00:00.000Z");
  });
});

describe("enrollment tokens", () => {
  it("formats and parses, pinning the CA", async () => {
    const ca = await createCertificateAuthority("Test");
    const t = createEnrollmentToken(caPin(ca.certPem));
    const text = formatToken(t);
    expect(text).toMatch(/^LRS1\.[0-9a-f]{12}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(parseToken(text)).toEqual(t);
    expect(secretMatches(t.secret, hashSecret(t.secret))).toBe(true);
    expect(secretMatches(`${t.secret}x`, hashSecret(t.secret))).toBe(false);
  });

  it("explains a malformed token", () => {
    expect(() => parseToken("hello")).toThrow(TokenFormatError);
    expect(() => parseToken("LRS1.zz.secretsecretsecretsecret.pin")).toThrow(/token id is malformed/);
  });
});
