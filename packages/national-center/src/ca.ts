import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  type CertificateAuthority,
  createCertificateAuthority,
  describeCertificate,
  hasIdentity,
  issueCertificate,
  type NodeConfig,
  saveCertificates,
  savePrivateKey,
  Tier,
  writeFileAtomic,
} from "@lrs/shared";

export function caPaths(dataDir: string) {
  const dir = join(dataDir, "ca");
  return { dir, cert: join(dir, "ca.pem"), key: join(dir, "ca-key.pem") };
}

export class CaError extends Error {
  override readonly name = "CaError";
}

export function loadCa(dataDir: string): CertificateAuthority {
  const p = caPaths(dataDir);
  if (!existsSync(p.cert) || !existsSync(p.key)) {
    throw new CaError(`no certificate authority in ${p.dir}: run "lrs-national ca init --config FILE" first`);
  }
  return { certPem: readFileSync(p.cert, "utf8"), keyPem: readFileSync(p.key, "utf8") };
}

/**
 * Creates the federation's certificate authority and the national center's
 * own certificate. Refuses to overwrite an existing CA: every certificate of
 * the federation hangs on it.
 */
export async function initCa(
  cfg: NodeConfig,
): Promise<{ caFingerprint: string; caPath: string; nodeFingerprint: string }> {
  const p = caPaths(cfg.dataDir);
  if (existsSync(p.cert) || existsSync(p.key))
    throw new CaError(`a certificate authority already exists in ${p.dir}; refusing to replace it`);
  if (hasIdentity(cfg.dataDir))
    throw new CaError(`${cfg.dataDir} already holds a node identity; use an empty data directory`);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority(cfg.federationName);
  writeFileAtomic(p.key, ca.keyPem, 0o600);
  writeFileAtomic(p.cert, ca.certPem);
  const own = await issueCertificate(ca, cfg.hostNames, {
    identity: { id: cfg.id, tier: Tier.NATIONAL, region: "" },
  });
  savePrivateKey(cfg.dataDir, own.keyPem);
  saveCertificates(cfg.dataDir, own.certPem, ca.certPem);
  return {
    caFingerprint: describeCertificate(ca.certPem).fingerprint256,
    caPath: p.cert,
    nodeFingerprint: describeCertificate(own.certPem).fingerprint256,
  };
}
