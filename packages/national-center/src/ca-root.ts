// The federation's offline root: a directory on a machine that never serves (root.pem, the trust
// anchor every node keeps; root-key.pem, always encrypted). It signs the national center's
// intermediates and nothing else.
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CertificateAuthority,
  caPin,
  createRootAuthority,
  describeCertificate,
  hasIdentity,
  identityPaths,
  reissueAsRoot,
  signIntermediate,
  writeFileAtomic,
} from "@lrs/shared";
import { CaError, caPassphrase, caPaths, loadCa, openKey, storedKey } from "./ca.js";

export function rootPaths(dir: string) {
  return { dir, cert: join(dir, "root.pem"), key: join(dir, "root-key.pem") };
}

function requirePassphrase(): string {
  const passphrase = caPassphrase();
  if (!passphrase)
    throw new CaError(
      "the root key is always kept encrypted: give a passphrase in NATIONAL_CA_PASSPHRASE_FILE (a file) or NATIONAL_CA_PASSPHRASE",
    );
  return passphrase;
}

export interface RootSummary {
  rootPath: string;
  keyPath: string;
  fingerprint256: string;
  pin: string;
  notAfter: string;
}

function summary(dir: string, certPem: string): RootSummary {
  const p = rootPaths(dir);
  const info = describeCertificate(certPem);
  return {
    rootPath: p.cert,
    keyPath: p.key,
    fingerprint256: info.fingerprint256,
    pin: caPin(certPem),
    notAfter: info.validTo.toISOString(),
  };
}

function writeRoot(dir: string, certPem: string, keyPem: string, passphrase: string): void {
  const p = rootPaths(dir);
  if (existsSync(p.cert) || existsSync(p.key))
    throw new CaError(`a root already exists in ${dir}; refusing to replace it`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(p.key, storedKey(keyPem, passphrase), 0o600);
  writeFileAtomic(p.cert, certPem);
}

/** `ca root init`: a new root key (encrypted) and self-signed root certificate (pathLen 1). */
export async function initRoot(dir: string, federationName: string, years = 20): Promise<RootSummary> {
  const passphrase = requirePassphrase();
  const root = await createRootAuthority(federationName, years);
  writeRoot(dir, root.certPem, root.keyPem, passphrase);
  return summary(dir, root.certPem);
}

export function loadRoot(dir: string): CertificateAuthority {
  const p = rootPaths(dir);
  if (!existsSync(p.cert) || !existsSync(p.key))
    throw new CaError(
      `no root in ${dir} (expected root.pem and root-key.pem): run "lrs-national ca root init" first`,
    );
  return { certPem: readFileSync(p.cert, "utf8"), keyPem: openKey(p.key, caPassphrase()) };
}

/** `ca root sign`: the root signs an intermediate's request (pathLen 0, keyCertSign). */
export async function signWithRoot(
  dir: string,
  csrPath: string,
  outPath: string,
  days: number,
): Promise<{ certPath: string; subject: string; fingerprint256: string; notAfter: string }> {
  const root = loadRoot(dir);
  if (!existsSync(csrPath)) throw new CaError(`no certificate request at ${csrPath}`);
  const certPem = await signIntermediate(root, readFileSync(csrPath, "utf8"), days);
  writeFileAtomic(outPath, certPem);
  const c = new X509Certificate(certPem);
  return {
    certPath: outPath,
    subject: c.subject.replace(/\n/g, ", "),
    fingerprint256: c.fingerprint256,
    notAfter: new Date(c.validTo).toISOString(),
  };
}

/**
 * `ca root adopt` (migrating a one-CA federation): the CA's certificate is re-issued for the same
 * key and name with pathLen 1, so it may sign an intermediate; the national center serves the
 * re-issued certificate from then on (nodes take it at their next renewal: same name and key), and
 * `dir` receives it with the key (encrypted) for the offline machine.
 */
export async function adoptRoot(dataDir: string, dir: string, years = 20): Promise<RootSummary> {
  const p = caPaths(dataDir);
  if (existsSync(p.root))
    throw new CaError(`${p.dir} already signs under an offline root (${p.root}); there is nothing to adopt`);
  const passphrase = requirePassphrase();
  const ca = loadCa(dataDir);
  const certPem = await reissueAsRoot(ca, years);
  writeRoot(dir, certPem, ca.keyPem, passphrase);
  writeFileAtomic(p.cert, certPem);
  // The national center's own trust anchor follows (its certificate stays valid: same key).
  if (hasIdentity(dataDir)) writeFileAtomic(identityPaths(dataDir).ca, certPem);
  return summary(dir, certPem);
}
