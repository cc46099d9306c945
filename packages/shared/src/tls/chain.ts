// A federation's certificate chain: an offline root (the trust anchor every node keeps as ca.pem)
// signs an online intermediate, which signs node certificates. Nodes present their certificate
// followed by the intermediate; a federation made with one CA (`ca init`) has no intermediate and
// its CA is the trust anchor. Chains are checked with Node's own X509Certificate (OpenSSL).
import "reflect-metadata";
import { X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";
import {
  type CertificateAuthority,
  CsrError,
  createCertificateAuthority,
  generateKeyPair,
  importPrivateKey,
} from "./pki.js";

const SIGN_ALG = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

export class ChainError extends Error {
  override readonly name = "ChainError";
}

/** The certificates of a PEM bundle, in order, each as its own PEM block. */
export function splitPem(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
}

/** The trust anchor of a CA: its root, or the CA itself when it signs without an intermediate. */
export function trustAnchor(ca: CertificateAuthority): string {
  return ca.rootPem ?? ca.certPem;
}

function describe(c: X509Certificate): string {
  return c.subject.replace(/\n/g, ", ");
}

/**
 * Checks that `chainPem` (a certificate, then the CA certificates that issued it, in order) leads
 * to `rootPem`: each is issued and signed by the next, the issuers are CAs, and all are valid at
 * `at`. Throws a ChainError naming the link that fails.
 */
export function verifyChain(chainPem: string, rootPem: string, at = new Date()): void {
  const certs = splitPem(chainPem).map((p) => new X509Certificate(p));
  if (certs.length === 0) throw new ChainError("no certificate in the chain given");
  const root = new X509Certificate(rootPem);
  if (!root.ca) throw new ChainError(`the trust anchor (${describe(root)}) is not a CA certificate`);
  // A chain may end with the root itself; it adds nothing then.
  if (certs.length > 1 && certs.at(-1)!.fingerprint256 === root.fingerprint256) certs.pop();
  const path = [...certs, root];
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (new Date(c.validFrom) > at || new Date(c.validTo) < at)
      throw new ChainError(
        `${describe(c)} is not valid now (${new Date(c.validFrom).toISOString()} to ${new Date(c.validTo).toISOString()})`,
      );
    const issuer = path[i + 1];
    if (!issuer) break;
    if (!issuer.ca) throw new ChainError(`${describe(issuer)} is not a CA and cannot issue ${describe(c)}`);
    if (!c.checkIssued(issuer) || !c.verify(issuer.publicKey))
      throw new ChainError(`${describe(c)} is not signed by ${describe(issuer)}: the chain does not verify`);
  }
}

/** An offline root for a federation: self-signed, allowed one intermediate below it (pathLen 1). */
export function createRootAuthority(federationName: string, years = 20): Promise<CertificateAuthority> {
  return createCertificateAuthority(federationName, years, { pathLength: 1, commonName: "Root CA" });
}

/** The national center's intermediate key and the request the offline root signs. */
export async function createIntermediateRequest(
  federationName: string,
): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await generateKeyPair();
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${federationName} Intermediate CA ${new Date().toISOString().slice(0, 10)},O=LRS`,
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    signingAlgorithm: SIGN_ALG,
  });
  return { keyPem: keys.privateKeyPem, csrPem: csr.toString("pem") };
}

/**
 * The root signs an intermediate's request: a CA certificate that may sign node certificates only
 * (pathLen 0, keyCertSign + cRLSign), never valid beyond the root itself.
 */
export async function signIntermediate(
  root: CertificateAuthority,
  csrPem: string,
  days = 1825,
): Promise<string> {
  const rootCert = new x509.X509Certificate(root.certPem);
  const bc = rootCert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new ChainError("the root certificate is not a CA certificate");
  if (bc.pathLength !== undefined && bc.pathLength < 1)
    throw new ChainError(
      "the root certificate has pathLen 0: it may sign node certificates only, not an intermediate (re-issue it with `ca root adopt`)",
    );
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CsrError(`the intermediate's request is not a valid PKCS#10 PEM: ${(err as Error).message}`);
  }
  if (!(await csr.verify())) throw new CsrError("the intermediate's request signature does not verify");
  const now = Date.now();
  const notAfter = new Date(Math.min(now + days * DAY_MS, rootCert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    subject: csr.subject,
    issuer: rootCert.subject,
    publicKey: csr.publicKey,
    signingKey: await importPrivateKey(root.keyPem),
    signingAlgorithm: SIGN_ALG,
    notBefore: new Date(now - 60_000),
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.AuthorityKeyIdentifierExtension.create(rootCert),
      await x509.SubjectKeyIdentifierExtension.create(await csr.publicKey.export()),
    ],
  });
  return cert.toString("pem");
}

/**
 * A root certificate re-issued for the same key and name with pathLen 1, so a federation's
 * original CA (pathLen 0) can become the root of an intermediate. Certificates the CA signed stay
 * valid under it: same issuer name, same key.
 */
export async function reissueAsRoot(ca: CertificateAuthority, years = 20): Promise<string> {
  const old = new x509.X509Certificate(ca.certPem);
  const priv = await importPrivateKey(ca.keyPem);
  const pub = await old.publicKey.export();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: old.subject,
    keys: { publicKey: pub, privateKey: priv },
    signingAlgorithm: SIGN_ALG,
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + years * 365 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(pub),
    ],
  });
  return cert.toString("pem");
}

/** True when `next` is `current` re-issued: same subject and same public key (a new anchor to accept). */
export function isReissueOf(next: string, current: string): boolean {
  const a = new X509Certificate(next);
  const b = new X509Certificate(current);
  return (
    a.subject === b.subject &&
    a.ca &&
    a.publicKey
      .export({ type: "spki", format: "der" })
      .equals(b.publicKey.export({ type: "spki", format: "der" })) &&
    a.verify(a.publicKey)
  );
}
