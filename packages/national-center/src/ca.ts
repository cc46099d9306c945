import { createPrivateKey } from "node:crypto";
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

/**
 * The passphrase of the CA key, when it is kept encrypted: the contents of the file named by
 * NATIONAL_CA_PASSPHRASE_FILE (a mounted secret; trailing newline dropped), else
 * NATIONAL_CA_PASSPHRASE. Undefined when neither is set.
 */
export function caPassphrase(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.NATIONAL_CA_PASSPHRASE_FILE;
  if (file) {
    const text = readFileSync(file, "utf8").replace(/\r?\n$/, "");
    if (!text) throw new CaError(`the CA passphrase file ${file} is empty`);
    return text;
  }
  return env.NATIONAL_CA_PASSPHRASE || undefined;
}

const ENCRYPTED = "-----BEGIN ENCRYPTED PRIVATE KEY-----";

/** The CA key as stored: PKCS#8, encrypted with AES-256 under `passphrase` when one is given. */
function storedKey(keyPem: string, passphrase: string | undefined): string {
  if (!passphrase) return keyPem;
  return createPrivateKey(keyPem)
    .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase })
    .toString();
}

export function loadCa(dataDir: string, passphrase = caPassphrase()): CertificateAuthority {
  const p = caPaths(dataDir);
  if (!existsSync(p.cert) || !existsSync(p.key)) {
    throw new CaError(`no certificate authority in ${p.dir}: run "lrs-national ca init --config FILE" first`);
  }
  let keyPem = readFileSync(p.key, "utf8");
  if (keyPem.includes(ENCRYPTED)) {
    if (!passphrase)
      throw new CaError(
        `the CA key ${p.key} is encrypted: give its passphrase in NATIONAL_CA_PASSPHRASE_FILE (a file) or NATIONAL_CA_PASSPHRASE`,
      );
    try {
      keyPem = createPrivateKey({ key: keyPem, format: "pem", passphrase })
        .export({ type: "pkcs8", format: "pem" })
        .toString();
    } catch {
      throw new CaError(`the CA key ${p.key} cannot be decrypted with the passphrase given`);
    }
  }
  return { certPem: readFileSync(p.cert, "utf8"), keyPem };
}

/** Encrypts (or re-encrypts) the stored CA key under `passphrase`; `current` opens it if it is encrypted. */
export function encryptCaKey(dataDir: string, passphrase: string, current?: string): string {
  const ca = loadCa(dataDir, current ?? passphrase);
  const p = caPaths(dataDir);
  writeFileAtomic(p.key, storedKey(ca.keyPem, passphrase), 0o600);
  return p.key;
}

/**
 * Creates the federation's certificate authority and the national center's
 * own certificate. Refuses to overwrite an existing CA: every certificate of
 * the federation hangs on it.
 */
export async function initCa(
  cfg: NodeConfig,
): Promise<{ caFingerprint: string; caPath: string; keyEncrypted: boolean; nodeFingerprint: string }> {
  const p = caPaths(cfg.dataDir);
  if (existsSync(p.cert) || existsSync(p.key))
    throw new CaError(`a certificate authority already exists in ${p.dir}; refusing to replace it`);
  if (hasIdentity(cfg.dataDir))
    throw new CaError(`${cfg.dataDir} already holds a node identity; use an empty data directory`);
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  const ca = await createCertificateAuthority(cfg.federationName);
  const passphrase = caPassphrase();
  writeFileAtomic(p.key, storedKey(ca.keyPem, passphrase), 0o600);
  writeFileAtomic(p.cert, ca.certPem);
  const own = await issueCertificate(ca, cfg.hostNames, {
    identity: { id: cfg.id, tier: Tier.NATIONAL, region: "" },
  });
  savePrivateKey(cfg.dataDir, own.keyPem);
  saveCertificates(cfg.dataDir, own.certPem, ca.certPem);
  return {
    caFingerprint: describeCertificate(ca.certPem).fingerprint256,
    caPath: p.cert,
    keyEncrypted: passphrase !== undefined,
    nodeFingerprint: describeCertificate(own.certPem).fingerprint256,
  };
}
