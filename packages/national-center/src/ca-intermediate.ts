// The national center's online intermediate: a key made here (never leaving the node), a request
// the offline root signs, and the installation of the signed certificate, which is checked against
// the root and the key before the national center signs with it. Installing a new intermediate
// under the same root (a rotation) leaves every node certificate already issued valid.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  caPin,
  createIntermediateRequest,
  describeCertificate,
  hasIdentity,
  identityPaths,
  isReissueOf,
  issueCertificate,
  type NodeConfig,
  saveCertificates,
  savePrivateKey,
  Tier,
  verifyChain,
  writeFileAtomic,
} from "@lrs/shared";
import { CaError, caPassphrase, caPaths, openKey, storedKey } from "./ca.js";

/** `ca intermediate request`: a new intermediate key (encrypted when a passphrase is given) and its request. */
export async function requestIntermediate(
  cfg: NodeConfig,
): Promise<{ csrPath: string; keyPath: string; keyEncrypted: boolean }> {
  const p = caPaths(cfg.dataDir);
  mkdirSync(dirname(p.pendingKey), { recursive: true, mode: 0o700 });
  const req = await createIntermediateRequest(cfg.federationName);
  const passphrase = caPassphrase();
  writeFileAtomic(p.pendingKey, storedKey(req.keyPem, passphrase), 0o600);
  writeFileAtomic(p.pendingCsr, req.csrPem);
  return { csrPath: p.pendingCsr, keyPath: p.pendingKey, keyEncrypted: passphrase !== undefined };
}

export interface InstallResult {
  intermediateFingerprint: string;
  rootFingerprint: string;
  notAfter: string;
  /** The national center's own certificate was issued by the new intermediate (a new federation). */
  nodeCertificateIssued: boolean;
  /** Where the CA files this one replaced were moved (to destroy, or to take offline). */
  retired: string[];
}

/** The root an installation may use: the federation's trust anchor as it stands, or its re-issue. */
function checkSameFederation(dataDir: string, rootPem: string): void {
  const p = caPaths(dataDir);
  const anchorPath = existsSync(p.root) ? p.root : existsSync(p.cert) ? p.cert : undefined;
  if (!anchorPath) return;
  const anchor = readFileSync(anchorPath, "utf8");
  if (caPin(anchor) === caPin(rootPem) || isReissueOf(rootPem, anchor)) return;
  throw new CaError(
    `the root given is not this federation's trust anchor (${anchorPath}): the nodes would not trust an intermediate under it`,
  );
}

/**
 * `ca intermediate install`: checks that `certPem` is a CA certificate chaining to `rootPem` and
 * made for the pending key, then makes it the national center's signer (the previous CA files are
 * moved to retired/). The national center must be restarted to sign with it.
 */
export async function installIntermediate(
  cfg: NodeConfig,
  certPem: string,
  rootPem: string,
): Promise<InstallResult> {
  const p = caPaths(cfg.dataDir);
  let cert: X509Certificate;
  let root: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
    root = new X509Certificate(rootPem);
  } catch (err) {
    throw new CaError(`the intermediate or root certificate cannot be read: ${(err as Error).message}`);
  }
  if (!cert.ca)
    throw new CaError("the certificate given is not a CA certificate: it cannot be an intermediate");
  if (!root.verify(root.publicKey) || !root.checkIssued(root))
    throw new CaError("the root given is not a self-signed certificate");
  try {
    verifyChain(certPem, rootPem);
  } catch (err) {
    throw new CaError(`the intermediate does not chain to the root given: ${(err as Error).message}`);
  }
  if (!existsSync(p.pendingKey))
    throw new CaError(
      `no pending intermediate key at ${p.pendingKey}: run "lrs-national ca intermediate request" first`,
    );
  const storedPendingKey = readFileSync(p.pendingKey, "utf8");
  const keyPem = openKey(p.pendingKey, caPassphrase());
  if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
    throw new CaError(
      `the certificate given does not match the pending intermediate key ${p.pendingKey} (signed for another request?)`,
    );
  checkSameFederation(cfg.dataDir, rootPem);
  if (!hasIdentity(cfg.dataDir) && existsSync(p.cert))
    throw new CaError(`${p.dir} holds a CA but the national center has no identity; refusing to mix them`);

  const retired: string[] = [];
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  mkdirSync(p.retired, { recursive: true, mode: 0o700 });
  for (const [from, name] of [
    [p.cert, "ca.pem"],
    [p.key, "ca-key.pem"],
  ] as const) {
    if (!existsSync(from)) continue;
    const to = join(p.retired, `${stamp}-${name}`);
    renameSync(from, to);
    retired.push(to);
  }
  writeFileAtomic(p.root, rootPem);
  writeFileAtomic(p.key, storedPendingKey, 0o600);
  writeFileAtomic(p.cert, certPem);
  // The pending key is now ca-key.pem: its copy goes, the request is kept with the retired files.
  rmSync(p.pendingKey);
  if (existsSync(p.pendingCsr)) renameSync(p.pendingCsr, join(p.retired, `${stamp}-intermediate.csr`));

  let nodeCertificateIssued = false;
  if (!hasIdentity(cfg.dataDir)) {
    const own = await issueCertificate({ certPem, keyPem, rootPem }, cfg.hostNames, {
      identity: { id: cfg.id, tier: Tier.NATIONAL, region: "" },
    });
    savePrivateKey(cfg.dataDir, own.keyPem);
    saveCertificates(cfg.dataDir, own.certPem, rootPem);
    nodeCertificateIssued = true;
  } else if (readFileSync(identityPaths(cfg.dataDir).ca, "utf8") !== rootPem) {
    writeFileAtomic(identityPaths(cfg.dataDir).ca, rootPem);
  }
  return {
    intermediateFingerprint: cert.fingerprint256,
    rootFingerprint: root.fingerprint256,
    notAfter: describeCertificate(certPem).validTo.toISOString(),
    nodeCertificateIssued,
    retired,
  };
}
