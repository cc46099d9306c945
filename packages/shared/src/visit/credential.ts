// Visiting-reader credentials: the home library signs a body (home institution, credential id,
// pseudonymous reader id, privileges, expiry) with its Ed25519 visit key; any member checks the
// detached signature against the keys the home library publishes in the directory. The token
// ("LRSV1.<body>.<signature>", base64url) is what a QR code carries; the short code
// ("NORTH-A-7K3F9-QXM2D") names the credential for a desk that types it, and is resolved online.
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  randomBytes,
  sign,
  verify,
} from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type VisitCredential,
  type VisitCredentialBody,
  VisitCredentialBodySchema,
  VisitCredentialSchema,
  type VisitPrivileges,
  type VisitSigningKey,
  VisitSigningKeySchema,
} from "../gen/lrs/v1/visit_pb.js";

/** The credential format this code writes and reads. */
export const CREDENTIAL_VERSION = 1;
const TOKEN_PREFIX = "LRSV1";
/** Crockford's base32: no I, L, O, U, so a typed code is not misread. */
const CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ID_LENGTH = 10;
/** A token longer than this is refused before it is decoded. */
export const MAX_TOKEN_LENGTH = 2048;

/** Why a credential was refused; `part` names what was wrong ("token", "signature", "expiresAt"). */
export class CredentialError extends Error {
  override readonly name = "CredentialError";
  constructor(
    readonly part: string,
    problem: string,
  ) {
    super(`${part}: ${problem}`);
  }
}

/** A member's visit key pair: the private key stays in its database. */
export interface VisitKeyPair {
  keyId: string;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  /** PKCS#8 DER of the private key. */
  privateKey: Uint8Array;
}

export function visitKeyId(publicKey: Uint8Array): string {
  return createHash("sha256").update(publicKey).digest("hex").slice(0, 16);
}

export function generateVisitKey(): VisitKeyPair {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = Buffer.from(publicKey.export({ format: "jwk" }).x ?? "", "base64url");
  return {
    keyId: visitKeyId(raw),
    publicKey: new Uint8Array(raw),
    privateKey: new Uint8Array(privateKey.export({ format: "der", type: "pkcs8" })),
  };
}

/** The key as published in the directory. */
export function publishedKey(k: VisitKeyPair, createdAt: Date): VisitSigningKey {
  return create(VisitSigningKeySchema, {
    keyId: k.keyId,
    publicKey: k.publicKey,
    createdAt: timestampFromDate(createdAt),
  });
}

/** A fresh credential id: ten Crockford base32 characters (50 random bits). */
export function newCredentialId(): string {
  const bytes = randomBytes(ID_LENGTH);
  return Array.from(bytes, (b) => CROCKFORD[b & 31]).join("");
}

/** A pseudonymous reader id: random, kept by the home library beside its own reference. */
export function newReaderId(): string {
  return `r-${newCredentialId().toLowerCase()}`;
}

export interface CredentialInput {
  credentialId: string;
  homeAgencyId: string;
  readerId: string;
  privileges: Pick<VisitPrivileges, "maxLoans" | "materialTypes">;
  issuedAt: Date;
  expiresAt: Date;
}

/** Signs a credential with the home library's key. */
export function signCredential(input: CredentialInput, key: VisitKeyPair): VisitCredential {
  const body = create(VisitCredentialBodySchema, {
    version: CREDENTIAL_VERSION,
    credentialId: input.credentialId,
    homeAgencyId: input.homeAgencyId,
    readerId: input.readerId,
    privileges: { maxLoans: input.privileges.maxLoans, materialTypes: [...input.privileges.materialTypes] },
    issuedAt: timestampFromDate(input.issuedAt),
    expiresAt: timestampFromDate(input.expiresAt),
    keyId: key.keyId,
  });
  const bytes = toBinary(VisitCredentialBodySchema, body);
  const privateKey = createPrivateKey({ key: Buffer.from(key.privateKey), format: "der", type: "pkcs8" });
  return create(VisitCredentialSchema, {
    body: bytes,
    signature: new Uint8Array(sign(null, bytes, privateKey)),
  });
}

/** The token a QR code carries. */
export function credentialToken(c: VisitCredential): string {
  return `${TOKEN_PREFIX}.${Buffer.from(c.body).toString("base64url")}.${Buffer.from(c.signature).toString("base64url")}`;
}

/** The credential a token stands for (not yet verified). Throws CredentialError naming the part. */
export function parseToken(token: string): VisitCredential {
  const t = token.trim();
  if (t.length > MAX_TOKEN_LENGTH)
    throw new CredentialError(
      "token",
      `is ${t.length} characters, more than the ${MAX_TOKEN_LENGTH} allowed`,
    );
  const parts = t.split(".");
  if (parts.length !== 3 || parts[0] !== TOKEN_PREFIX)
    throw new CredentialError(
      "token",
      `is not a visiting-reader credential ("${TOKEN_PREFIX}.<body>.<signature>")`,
    );
  const b64 = /^[A-Za-z0-9_-]+$/;
  if (!b64.test(parts[1]!)) throw new CredentialError("token.body", "is not base64url");
  if (!b64.test(parts[2]!)) throw new CredentialError("token.signature", "is not base64url");
  return create(VisitCredentialSchema, {
    body: new Uint8Array(Buffer.from(parts[1]!, "base64url")),
    signature: new Uint8Array(Buffer.from(parts[2]!, "base64url")),
  });
}

/** The body of a credential (not yet verified). Throws CredentialError when it does not decode. */
export function credentialBody(c: VisitCredential): VisitCredentialBody {
  let body: VisitCredentialBody;
  try {
    body = fromBinary(VisitCredentialBodySchema, c.body);
  } catch (err) {
    throw new CredentialError("body", `does not decode (${(err as Error).message})`);
  }
  if (body.version !== CREDENTIAL_VERSION)
    throw new CredentialError(
      "body.version",
      `is ${body.version}; this node reads version ${CREDENTIAL_VERSION}`,
    );
  if (body.credentialId === "") throw new CredentialError("body.credentialId", "is empty");
  if (body.homeAgencyId === "") throw new CredentialError("body.homeAgencyId", "is empty");
  if (!body.expiresAt) throw new CredentialError("body.expiresAt", "is missing");
  return body;
}

export interface VerifyOptions {
  /** The keys the home institution publishes in the directory. */
  keys: readonly VisitSigningKey[];
  now: Date;
}

/**
 * Checks a credential's signature against the published keys and its expiry. Returns the body;
 * throws CredentialError: "keyId" (no such published key), "signature" (does not match: altered
 * or forged), "expiresAt" (expired).
 */
export function verifyCredential(c: VisitCredential, o: VerifyOptions): VisitCredentialBody {
  const body = credentialBody(c);
  const key = o.keys.find((k) => k.keyId === body.keyId);
  if (!key)
    throw new CredentialError(
      "keyId",
      `${body.keyId || "(none)"} is not a key ${body.homeAgencyId} publishes in the directory`,
    );
  const publicKey = createPublicKey({
    key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(key.publicKey).toString("base64url") },
    format: "jwk",
  });
  if (!verify(null, c.body, publicKey, c.signature))
    throw new CredentialError(
      "signature",
      `does not match the credential (altered, or not signed by ${body.homeAgencyId})`,
    );
  const expires = timestampDate(body.expiresAt!);
  if (expires.getTime() <= o.now.getTime())
    throw new CredentialError("expiresAt", `the credential expired on ${expires.toISOString()}`);
  return body;
}

/** The short code of a credential: the home institution and the id in two groups of five. */
export function shortCode(homeAgencyId: string, credentialId: string): string {
  return `${homeAgencyId.toUpperCase()}-${credentialId.slice(0, 5)}-${credentialId.slice(5)}`;
}

/**
 * The home institution and credential id a typed short code names. Lower case and the letters
 * Crockford reads as digits (O → 0, I/L → 1) are accepted. Throws CredentialError.
 */
export function parseShortCode(code: string): { homeAgencyId: string; credentialId: string } {
  const m = /^([A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])-([0-9A-Za-z]{5})-([0-9A-Za-z]{5})$/.exec(code.trim());
  if (!m) throw new CredentialError("code", `"${code}" is not a short code such as "NORTH-A-7K3F9-QXM2D"`);
  const id = (m[2]! + m[3]!).toUpperCase().replace(/O/g, "0").replace(/[IL]/g, "1");
  if (/[U]/.test(id)) throw new CredentialError("code", `"${code}" has a U, which no code contains`);
  return { homeAgencyId: m[1]!.toLowerCase(), credentialId: id };
}

/** Whether text is a token (else it is taken as a short code). */
export function isToken(text: string): boolean {
  return text.trim().startsWith(`${TOKEN_PREFIX}.`);
}
