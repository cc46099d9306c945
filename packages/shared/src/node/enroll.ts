import { createClient } from "@connectrpc/connect";
import type { NodeConfig } from "../config.js";
import { DirectoryService } from "../gen/lrs/v1/directory_pb.js";
import { createNodeTransport } from "../rpc/client.js";
import { verifyChain } from "../tls/chain.js";
import { hasIdentity, identityPaths, saveCertificates, savePrivateKey } from "../tls/identity.js";
import { caPin, createCsr, describeCertificate, generateKeyPair, tierName } from "../tls/pki.js";
import { parseToken } from "../tls/token.js";

export class EnrollError extends Error {
  override readonly name = "EnrollError";
}

export interface EnrollResult {
  id: string;
  tier: string;
  region: string;
  fingerprint256: string;
  notAfter: Date;
  certPath: string;
}

/**
 * Joins the federation with a one-time token: makes a key that never leaves
 * this node, checks the parent's CA against the pin in the token, sends a
 * certificate request and stores the certificate it gets back.
 */
export async function enrollNode(
  cfg: NodeConfig,
  tokenText: string,
  opts: { force?: boolean } = {},
): Promise<EnrollResult> {
  if (!cfg.parent) throw new EnrollError(`config ${cfg.source}: setting "parent" is needed to enroll`);
  if (hasIdentity(cfg.dataDir) && !opts.force) {
    throw new EnrollError(
      `${cfg.id} is already enrolled (${identityPaths(cfg.dataDir).cert}); use --force to enroll again`,
    );
  }
  const token = parseToken(tokenText);
  // First contact: nothing is trusted yet, so fetch the CA over unverified TLS and trust it only if it matches the pin.
  const first = createNodeTransport({ endpoint: cfg.parent, insecure: true });
  let caPem: string;
  try {
    const res = await createClient(DirectoryService, first.transport).getCaCertificate(
      {},
      { timeoutMs: 10_000 },
    );
    caPem = res.caCertificatePem;
  } catch (err) {
    throw new EnrollError(`cannot reach ${cfg.parent} to enroll: ${(err as Error).message}`);
  } finally {
    first.close();
  }
  if (caPin(caPem) !== token.caPin) {
    throw new EnrollError(
      `the CA offered by ${cfg.parent} does not match the enrollment token's pin; refusing to trust it`,
    );
  }
  const keys = await generateKeyPair();
  savePrivateKey(cfg.dataDir, keys.privateKeyPem, true);
  const csr = await createCsr(keys, cfg.id, cfg.hostNames);
  const secure = createNodeTransport({
    endpoint: cfg.parent,
    caPem,
    ...(cfg.parentId ? { expectId: cfg.parentId } : {}),
  });
  try {
    const res = await createClient(DirectoryService, secure.transport).enroll(
      { token: tokenText, institutionId: cfg.id, csrPem: csr },
      { timeoutMs: 30_000 },
    );
    const info = describeCertificate(res.certificatePem);
    if (info.identity?.id !== cfg.id || info.identity.tier !== cfg.tier) {
      throw new EnrollError(
        `the certificate received names ${info.identity?.id ?? "nobody"}, not ${cfg.id} as ${tierName(cfg.tier)}`,
      );
    }
    if (res.caCertificatePem && caPin(res.caCertificatePem) !== token.caPin)
      throw new EnrollError("enrollment answer carries another CA");
    try {
      verifyChain(res.certificatePem, caPem);
    } catch (err) {
      throw new EnrollError(
        `the certificate received does not chain to the pinned CA: ${(err as Error).message}`,
      );
    }
    saveCertificates(cfg.dataDir, res.certificatePem, caPem);
    return {
      id: info.identity.id,
      tier: tierName(info.identity.tier),
      region: info.identity.region,
      fingerprint256: info.fingerprint256,
      notAfter: info.validTo,
      certPath: identityPaths(cfg.dataDir).cert,
    };
  } catch (err) {
    if (err instanceof EnrollError) throw err;
    throw new EnrollError(`enrollment at ${cfg.parent} failed: ${(err as Error).message}`);
  } finally {
    secure.close();
  }
}
