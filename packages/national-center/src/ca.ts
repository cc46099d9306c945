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
  verifyChain,
  writeFileAtomic,
} from "@lrs/shared";

/**
 * The national center's CA files. ca.pem/ca-key.pem sign node certificates: the federation CA
 * itself (`ca init`), or an intermediate under the offline root in root.pem (`ca intermediate
 * install`). pending/ holds an intermediate's key and request until its certificate is installed;
 * retired/ the certificates and keys it replaced.
 */
export function caPaths(dataDir: string) {
  const dir = join(dataDir, "ca");
  return {
    dir,
    cert: join(dir, "ca.pem"),
    key: join(dir, "ca-key.pem"),
    root: join(dir, "root.pem"),
    pendingKey: join(dir, "pending", "intermediate-key.pem"),
    pendingCsr: join(dir, "pending", "intermediate.csr"),
    retired: join(dir, "retired"),
  };
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
export function storedKey(keyPem: string, passphrase: string | undefined): string {
  if (!passphrase) return keyPem;
  return createPrivateKey(keyPem)
    .export({ type: "pkcs8", format: "pem", cipher: "aes-256-cbc", passphrase })
    .toString();
}

/** Reads a CA key (PKCS#8 PEM), decrypting it with `passphrase` when it is stored encrypted. */
export function openKey(path: string, passphrase: string | undefined): string {
  const keyPem = readFileSync(path, "utf8");
  if (!keyPem.includes(ENCRYPTED)) return keyPem;
  if (!passphrase)
    throw new CaError(
      `the CA key ${path} is encrypted: give its passphrase in NATIONAL_CA_PASSPHRASE_FILE (a file) or NATIONAL_CA_PASSPHRASE`,
    );
  try {
    return createPrivateKey({ key: keyPem, format: "pem", passphrase })
      .export({ type: "pkcs8", format: "pem" })
      .toString();
  } catch {
    throw new CaError(`the CA key ${path} cannot be decrypted with the passphrase given (wrong passphrase?)`);
  }
}

export function loadCa(dataDir: string, passphrase = caPassphrase()): CertificateAuthority {
  const p = caPaths(dataDir);
  if (!existsSync(p.cert) || !existsSync(p.key)) {
    throw new CaError(
      `no certificate authority in ${p.dir}: run "lrs-national ca init --config FILE" (one CA) or install an intermediate ("lrs-national ca intermediate install") first`,
    );
  }
  const ca: CertificateAuthority = {
    certPem: readFileSync(p.cert, "utf8"),
    keyPem: openKey(p.key, passphrase),
  };
  if (existsSync(p.root)) {
    ca.rootPem = readFileSync(p.root, "utf8");
    try {
      verifyChain(ca.certPem, ca.rootPem);
    } catch (err) {
      throw new CaError(
        `the intermediate ${p.cert} does not chain to the root ${p.root}: ${(err as Error).message}`,
      );
    }
  }
  return ca;
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
