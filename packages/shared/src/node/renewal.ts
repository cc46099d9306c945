// A node renews its own certificate before it expires: once `renew_after` of its lifetime has
// passed (checked at start and every `renew_check_interval`), it makes a new key, sends a
// certificate request over mTLS with the certificate it has now, and switches to the new one only
// when what comes back is right (same identity, signed by the federation CA, for the new key).
// Anything failing leaves the old key and certificate in place; the next check tries again.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { rmSync } from "node:fs";
import type { Client } from "@connectrpc/connect";
import type { NodeConfig } from "../config.js";
import type { DirectoryService } from "../gen/lrs/v1/directory_pb.js";
import type { Logger } from "../log.js";
import { isReissueOf, verifyChain } from "../tls/chain.js";
import {
  identityPaths,
  loadIdentity,
  saveCertificates,
  savePrivateKey,
  type TlsIdentity,
} from "../tls/identity.js";
import {
  type CertificateInfo,
  caPin,
  createCsr,
  describeCertificate,
  generateKeyPair,
  tierName,
} from "../tls/pki.js";

export class RenewalError extends Error {
  override readonly name = "RenewalError";
}

/** Asks the CA (through the parent, or in-process at the national center) to sign a request. */
export type SignRenewal = (csrPem: string) => Promise<{ certificatePem: string; caCertificatePem: string }>;

/** Renewals signed through the parent (RenewCertificate), authenticated by the current certificate. */
export function signWithParent(directory: Client<typeof DirectoryService>): SignRenewal {
  return async (csrPem) => {
    const res = await directory.renewCertificate({ csrPem }, { timeoutMs: 30_000 });
    return { certificatePem: res.certificatePem, caCertificatePem: res.caCertificatePem };
  };
}

/** When a certificate is due: `fraction` of the way from notBefore to notAfter. */
export function renewalDueAt(cert: CertificateInfo, fraction: number): Date {
  const from = cert.validFrom.getTime();
  return new Date(from + (cert.validTo.getTime() - from) * fraction);
}

/** Days within which `status` warns that the certificate expires. */
export const EXPIRY_WARNING_DAYS = 30;

/** A warning for `status` when the certificate expires within 30 days (or has expired), else undefined. */
export function expiryWarning(notAfter: Date, now = new Date()): string | undefined {
  const left = notAfter.getTime() - now.getTime();
  if (left <= 0) return `the certificate EXPIRED ${notAfter.toISOString()}: re-enroll this node`;
  if (left > EXPIRY_WARNING_DAYS * 86_400_000) return undefined;
  const days = Math.floor(left / 86_400_000);
  return `the certificate expires ${notAfter.toISOString()} (${days === 0 ? "in less than a day" : `in ${days} day${days === 1 ? "" : "s"}`}) and has not been renewed: see the log, or run "renew"`;
}

/**
 * Makes a new key and gets it certified. On success the data directory holds the new key and
 * certificate and the new identity is returned; on failure nothing of the old identity changed.
 */
export async function renewIdentity(
  cfg: NodeConfig,
  current: TlsIdentity,
  sign: SignRenewal,
): Promise<TlsIdentity> {
  const keys = await generateKeyPair();
  const pendingKey = `${identityPaths(cfg.dataDir).key}.pending`;
  savePrivateKey(cfg.dataDir, keys.privateKeyPem, true);
  try {
    const csr = await createCsr(keys, cfg.id, cfg.hostNames);
    let res: Awaited<ReturnType<SignRenewal>>;
    try {
      res = await sign(csr);
    } catch (err) {
      throw new RenewalError(`certificate renewal refused or failed: ${(err as Error).message}`);
    }
    const anchor = checkRenewed(current, res.certificatePem, res.caCertificatePem, keys.privateKeyPem);
    saveCertificates(cfg.dataDir, res.certificatePem, anchor);
    return loadIdentity(cfg.dataDir, "renewal");
  } finally {
    rmSync(pendingKey, { force: true });
  }
}

/**
 * The renewed certificate must be this node's, chain to the node's trust anchor, be for the new
 * key, and be valid now. Returns the trust anchor to keep: the node's own, or the one the answer
 * carries when it is the same root re-issued (same name and key; see `ca root adopt`).
 */
function checkRenewed(current: TlsIdentity, certPem: string, caPem: string, keyPem: string): string {
  let info: CertificateInfo;
  let cert: X509Certificate;
  try {
    info = describeCertificate(certPem);
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new RenewalError(`the renewed certificate cannot be read: ${(err as Error).message}`);
  }
  const was = current.identity;
  const is = info.identity;
  if (is?.id !== was.id || is.tier !== was.tier || is.region !== was.region) {
    throw new RenewalError(
      `the renewed certificate names ${is ? `${tierName(is.tier)} ${is.id}` : "nobody"}, not ${tierName(was.tier)} ${was.id}`,
    );
  }
  let anchor = current.caPem;
  if (caPem && caPin(caPem) !== caPin(current.caPem)) {
    if (!isReissueOf(caPem, current.caPem))
      throw new RenewalError("the renewal answer carries another CA than this node's");
    anchor = caPem;
  }
  try {
    verifyChain(certPem, anchor);
  } catch (err) {
    throw new RenewalError(
      `the renewed certificate does not chain to the federation CA: ${(err as Error).message}`,
    );
  }
  if (!cert.checkPrivateKey(createPrivateKey(keyPem)))
    throw new RenewalError("the renewed certificate is not for the key this node made");
  const now = Date.now();
  if (info.validTo.getTime() <= now || info.validFrom.getTime() > now + 300_000)
    throw new RenewalError(
      `the renewed certificate is not valid now (${info.validFrom.toISOString()} to ${info.validTo.toISOString()})`,
    );
  return anchor;
}

/**
 * Checks at once and every `intervalMs` whether the certificate is due, and renews it then.
 * `renew` does the work (and makes the node use the new identity); failures are logged and retried
 * at the next check.
 */
export async function runRenewalLoop(
  o: {
    intervalMs: number;
    fraction: number;
    cert: () => CertificateInfo;
    renew: () => Promise<unknown>;
    log: Logger;
  },
  signal: AbortSignal,
): Promise<void> {
  const check = async () => {
    const due = renewalDueAt(o.cert(), o.fraction);
    if (Date.now() < due.getTime()) return;
    try {
      await o.renew();
    } catch (err) {
      o.log.error(
        { err: (err as Error).message, notAfter: o.cert().validTo.toISOString() },
        "certificate renewal failed; the current certificate stays in use",
      );
    }
  };
  while (!signal.aborted) {
    await check();
    await new Promise<void>((resolve) => {
      const t = setTimeout(done, o.intervalMs);
      function done() {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      }
      signal.addEventListener("abort", done, { once: true });
    });
  }
}
