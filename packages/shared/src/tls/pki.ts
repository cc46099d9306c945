// @peculiar/x509 uses tsyringe, which needs the Reflect metadata polyfill loaded first.
import "reflect-metadata";
import { X509Certificate as NodeX509, webcrypto } from "node:crypto";
import * as x509 from "@peculiar/x509";
import { Tier } from "../gen/lrs/v1/common_pb.js";

type CryptoKey = webcrypto.CryptoKey;

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const EC_ALG = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN_ALG = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY_MS = 86_400_000;

/** The identity a federation certificate carries: who the node is and where it sits. */
export interface NodeIdentity {
  id: string;
  tier: Tier;
  /** Region code; empty for the national center. */
  region: string;
}

/** Institution ids and region codes: lower-case, digits and dashes, 2–63 characters. */
export const ID_PATTERN = /^[a-z0-9][a-z0-9-]{1,62}$/;

const TIER_NAMES: Record<Tier, string> = {
  [Tier.UNSPECIFIED]: "unspecified",
  [Tier.NATIONAL]: "national",
  [Tier.REGIONAL]: "regional",
  [Tier.MEMBER]: "member",
};

export function tierName(tier: Tier): string {
  return TIER_NAMES[tier];
}

export function parseTier(name: string): Tier | undefined {
  for (const [k, v] of Object.entries(TIER_NAMES)) {
    if (v === name && Number(k) !== Tier.UNSPECIFIED) return Number(k) as Tier;
  }
  return undefined;
}

/**
 * The identity is written as a URI subject alternative name,
 * `urn:lrs:<tier>:<region>:<id>`, so that it survives any subject DN
 * conventions and can be read from Node's `getPeerCertificate().subjectaltname`.
 */
export function identityUri(identity: NodeIdentity): string {
  return `urn:lrs:${tierName(identity.tier)}:${identity.region || "-"}:${identity.id}`;
}

export function parseIdentityUri(uri: string): NodeIdentity | undefined {
  const m = /^urn:lrs:(national|regional|member):([a-z0-9-]+):([a-z0-9-]+)$/.exec(uri);
  if (!m) return undefined;
  const tier = parseTier(m[1]!);
  if (tier === undefined) return undefined;
  return { tier, region: m[2] === "-" ? "" : m[2]!, id: m[3]! };
}

/** Reads the identity out of a `subjectaltname` string as Node's TLS layer reports it. */
export function identityFromSubjectAltName(san: string | undefined): NodeIdentity | undefined {
  if (!san) return undefined;
  for (const part of san.split(/,\s*/)) {
    if (part.startsWith("URI:")) {
      const id = parseIdentityUri(part.slice(4));
      if (id) return id;
    }
  }
  return undefined;
}

export interface KeyPairPem {
  privateKeyPem: string;
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

function toPem(der: ArrayBuffer, label: string): string {
  const b64 = Buffer.from(der).toString("base64");
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

function fromPem(pem: string): ArrayBuffer {
  const b64 = pem.replace(/-----(BEGIN|END) [^-]+-----/g, "").replace(/\s+/g, "");
  const buf = Buffer.from(b64, "base64");
  return buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
}

/** Makes a new P-256 key pair. The private key is meant to stay on the node that made it. */
export async function generateKeyPair(): Promise<KeyPairPem> {
  const keys = (await webcrypto.subtle.generateKey(EC_ALG, true, [
    "sign",
    "verify",
  ])) as webcrypto.CryptoKeyPair;
  const pkcs8 = await webcrypto.subtle.exportKey("pkcs8", keys.privateKey);
  return {
    privateKeyPem: toPem(pkcs8, "PRIVATE KEY"),
    publicKey: keys.publicKey,
    privateKey: keys.privateKey,
  };
}

export async function importPrivateKey(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey("pkcs8", fromPem(pem), EC_ALG, true, ["sign"]);
}

/** Host names and IP addresses a node's certificate is valid for (TLS server identity). */
export interface HostNames {
  dns: string[];
  ip: string[];
}

export function splitHostNames(names: string[]): HostNames {
  const ipLike = /^(\d{1,3}(\.\d{1,3}){3}|[0-9a-f:]+:[0-9a-f:]*)$/i;
  return {
    dns: names.filter((n) => !ipLike.test(n)),
    ip: names.filter((n) => ipLike.test(n)),
  };
}

function sanExtension(
  identity: NodeIdentity | undefined,
  hosts: HostNames,
): x509.SubjectAlternativeNameExtension {
  const names: x509.JsonGeneralName[] = [
    ...hosts.dns.map((value) => ({ type: "dns" as const, value })),
    ...hosts.ip.map((value) => ({ type: "ip" as const, value })),
  ];
  if (identity) names.push({ type: "url", value: identityUri(identity) });
  return new x509.SubjectAlternativeNameExtension(names, false);
}

/** A certificate request for this node's key, carrying the host names it serves on. */
export async function createCsr(keys: KeyPairPem, commonName: string, hostNames: string[]): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${commonName}`,
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    signingAlgorithm: SIGN_ALG,
    extensions: [sanExtension(undefined, splitHostNames(hostNames))],
  });
  return csr.toString("pem");
}

/**
 * The certificate authority that signs node certificates: its certificate and (at the national
 * center only) its key. With `rootPem`, the signer is an intermediate under that offline root.
 */
export interface CertificateAuthority {
  certPem: string;
  keyPem: string;
  /** The offline root above an intermediate signer: the trust anchor nodes keep. */
  rootPem?: string;
}

/** A self-signed CA; `pathLength` 0 (the one-CA federation) signs node certificates only. */
export async function createCertificateAuthority(
  federationName: string,
  years = 10,
  opts: { pathLength?: number; commonName?: string } = {},
): Promise<CertificateAuthority> {
  const keys = await generateKeyPair();
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${federationName} ${opts.commonName ?? "CA"},O=LRS`,
    keys: { publicKey: keys.publicKey, privateKey: keys.privateKey },
    signingAlgorithm: SIGN_ALG,
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + years * 365 * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(true, opts.pathLength ?? 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem"), keyPem: keys.privateKeyPem };
}

export interface SignOptions {
  identity: NodeIdentity;
  /** Validity in days (default 397). */
  days?: number;
  /** For tests: a certificate valid in the past only. */
  notBefore?: Date;
  notAfter?: Date;
}

export class CsrError extends Error {
  override readonly name = "CsrError";
}

/**
 * Signs a node's certificate request. The subject and the identity URI come
 * from the CA's own knowledge (the enrollment token), never from the request;
 * only the DNS and IP names the node asks for are copied over. Under an intermediate, the
 * certificate comes back followed by the intermediate (the chain the node presents).
 */
export async function signCsr(ca: CertificateAuthority, csrPem: string, opts: SignOptions): Promise<string> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (err) {
    throw new CsrError(`certificate request is not a valid PKCS#10 PEM: ${(err as Error).message}`);
  }
  let verified: boolean;
  try {
    // Also reads the public key: an algorithm or curve WebCrypto cannot import throws here.
    verified = await csr.verify();
    await csr.publicKey.export();
  } catch (err) {
    throw new CsrError(`certificate request's public key cannot be used: ${(err as Error).message}`);
  }
  if (!verified) throw new CsrError("certificate request signature does not verify");
  const hosts: HostNames = { dns: [], ip: [] };
  const san = csr.extensions.find(
    (e): e is x509.SubjectAlternativeNameExtension => e instanceof x509.SubjectAlternativeNameExtension,
  );
  for (const n of san?.names.items ?? []) {
    if (n.type === "dns") hosts.dns.push(n.value);
    if (n.type === "ip") hosts.ip.push(n.value);
  }
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importPrivateKey(ca.keyPem);
  const now = new Date();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${opts.identity.id},OU=${tierName(opts.identity.tier)},O=LRS`,
    issuer: caCert.subject,
    publicKey: csr.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGN_ALG,
    notBefore: opts.notBefore ?? new Date(now.getTime() - 60_000),
    notAfter: opts.notAfter ?? new Date(now.getTime() + (opts.days ?? 397) * DAY_MS),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
        true,
      ),
      new x509.ExtendedKeyUsageExtension([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]),
      sanExtension(opts.identity, hosts),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      await x509.SubjectKeyIdentifierExtension.create(await csr.publicKey.export()),
    ],
  });
  const leaf = cert.toString("pem");
  return ca.rootPem ? `${leaf.trimEnd()}\n${ca.certPem.trimEnd()}\n` : leaf;
}

/** Makes a key and a CA-signed certificate in one step (the CA's own node, tests). */
export async function issueCertificate(
  ca: CertificateAuthority,
  hostNames: string[],
  opts: SignOptions,
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await generateKeyPair();
  const csr = await createCsr(keys, opts.identity.id, hostNames);
  return { certPem: await signCsr(ca, csr, opts), keyPem: keys.privateKeyPem };
}

export interface CertificateInfo {
  identity: NodeIdentity | undefined;
  /** SHA-256 fingerprint in Node's notation ("AB:CD:…"). */
  fingerprint256: string;
  serialNumber: string;
  validFrom: Date;
  validTo: Date;
}

export function describeCertificate(pem: string): CertificateInfo {
  const c = new NodeX509(pem);
  return {
    identity: identityFromSubjectAltName(c.subjectAltName),
    fingerprint256: c.fingerprint256,
    serialNumber: c.serialNumber,
    validFrom: new Date(c.validFrom),
    validTo: new Date(c.validTo),
  };
}

/** SHA-256 of the certificate's DER bytes, base64url: what an enrollment token pins. */
export function caPin(pem: string): string {
  const c = new NodeX509(pem);
  return Buffer.from(c.fingerprint256.replace(/:/g, ""), "hex").toString("base64url");
}
