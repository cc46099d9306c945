import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CertificateInfo, describeCertificate, type NodeIdentity } from "./pki.js";

/** Where a node keeps its TLS identity inside its data directory. */
export function identityPaths(dataDir: string) {
  const dir = join(dataDir, "identity");
  return {
    dir,
    key: join(dir, "key.pem"),
    cert: join(dir, "cert.pem"),
    ca: join(dir, "ca.pem"),
  };
}

/** A node's own TLS material, read from its data directory. */
export interface TlsIdentity {
  identity: NodeIdentity;
  keyPem: string;
  certPem: string;
  caPem: string;
  cert: CertificateInfo;
}

export class IdentityError extends Error {
  override readonly name = "IdentityError";
}

/** Writes a file atomically (temp file + rename) so a crash never leaves half a key or certificate. */
export function writeFileAtomic(path: string, data: string, mode = 0o644): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data, { mode });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function hasIdentity(dataDir: string): boolean {
  const p = identityPaths(dataDir);
  return existsSync(p.cert) && existsSync(p.key) && existsSync(p.ca);
}

/** Loads the node's identity; explains what is missing (usually: the node has not enrolled yet). */
export function loadIdentity(dataDir: string, enrollHint: string): TlsIdentity {
  const p = identityPaths(dataDir);
  for (const [what, path] of [
    ["private key", p.key],
    ["certificate", p.cert],
    ["CA certificate", p.ca],
  ] as const) {
    if (!existsSync(path)) throw new IdentityError(`no ${what} at ${path}: ${enrollHint}`);
  }
  const keyPem = readFileSync(p.key, "utf8");
  const certPem = readFileSync(p.cert, "utf8");
  const caPem = readFileSync(p.ca, "utf8");
  const cert = describeCertificate(certPem);
  if (!cert.identity) throw new IdentityError(`certificate ${p.cert} carries no LRS identity (urn:lrs:…)`);
  return { identity: cert.identity, keyPem, certPem, caPem, cert };
}

/**
 * Stores a private key readable by the owner only; it never leaves the node.
 * With `pending`, it is kept beside the current key until its certificate
 * arrives, so a failed re-enrollment leaves the working identity alone.
 */
export function savePrivateKey(dataDir: string, keyPem: string, pending = false): void {
  const p = identityPaths(dataDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(pending ? `${p.key}.pending` : p.key, keyPem, 0o600);
}

/**
 * Stores the certificate (and CA); promotes a pending key made for it. Everything is written
 * before anything is renamed, so the key and the certificate change together (two renames apart).
 */
export function saveCertificates(dataDir: string, certPem: string, caPem: string): void {
  const p = identityPaths(dataDir);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(p.ca, caPem);
  const certTmp = `${p.cert}.new`;
  writeFileSync(certTmp, certPem, { mode: 0o644 });
  if (existsSync(`${p.key}.pending`)) renameSync(`${p.key}.pending`, p.key);
  renameSync(certTmp, p.cert);
}
