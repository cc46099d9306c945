import { createHash, randomBytes, timingSafeEqual } from "node:crypto";

/**
 * An enrollment token: `LRS1.<token id>.<secret>.<CA pin>`.
 * The issuer keeps only the SHA-256 of the secret; the CA pin (SHA-256 of the
 * federation CA certificate) lets the enrolling node trust the CA it is given
 * on first contact, as `kubeadm join --discovery-token-ca-cert-hash` does.
 */
export interface EnrollmentToken {
  tokenId: string;
  secret: string;
  caPin: string;
}

export class TokenFormatError extends Error {
  override readonly name = "TokenFormatError";
}

export function createEnrollmentToken(caPin: string): EnrollmentToken {
  return {
    tokenId: randomBytes(6).toString("hex"),
    secret: randomBytes(24).toString("base64url"),
    caPin,
  };
}

export function formatToken(t: EnrollmentToken): string {
  return `LRS1.${t.tokenId}.${t.secret}.${t.caPin}`;
}

export function parseToken(text: string): EnrollmentToken {
  const parts = text.trim().split(".");
  if (parts.length !== 4 || parts[0] !== "LRS1") {
    throw new TokenFormatError(
      "enrollment token must look like LRS1.<id>.<secret>.<pin> (four parts separated by dots)",
    );
  }
  const [, tokenId, secret, caPin] = parts as [string, string, string, string];
  if (!/^[0-9a-f]{12}$/.test(tokenId)) throw new TokenFormatError("enrollment token id is malformed");
  if (!/^[A-Za-z0-9_-]{20,}$/.test(secret))
    throw new TokenFormatError("enrollment token secret is malformed");
  if (!/^[A-Za-z0-9_-]{43}$/.test(caPin)) throw new TokenFormatError("enrollment token CA pin is malformed");
  return { tokenId, secret, caPin };
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export function secretMatches(secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(secret), "hex");
  const b = Buffer.from(storedHash, "hex");
  return a.length === b.length && timingSafeEqual(a, b);
}
