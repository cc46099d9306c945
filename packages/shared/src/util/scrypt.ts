// Secrets kept as salted, slow hashes: scrypt (memory-hard, in node:crypto), the parameters stored
// beside the hash so that they can be raised later without invalidating what is stored. Staff
// passwords (the web app) and external ILL partners' secrets (the ISO 18626 gateway) both use it.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/** N = 2^17, r = 8, p = 1: 128 MiB per hash, OWASP's recommended minimum for scrypt. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}
export const SCRYPT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;
const MAX_MEM = 256 * 1024 * 1024;

function derive(secret: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret.normalize("NFKC"), salt, KEY_BYTES, { ...o, maxmem: MAX_MEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** "scrypt$N$r$p$salt$hash" (base64url), with a fresh random salt. */
export async function scryptHash(secret: string, cost: ScryptCost = SCRYPT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(secret, salt, cost);
  return ["scrypt", cost.N, cost.r, cost.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

/** Whether `secret` is the one `stored` (a scryptHash result) was made of; false for anything malformed. */
export async function scryptVerify(secret: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (!Number.isSafeInteger(cost.N) || !Number.isSafeInteger(cost.r) || !Number.isSafeInteger(cost.p))
    return false;
  const want = Buffer.from(hash, "base64url");
  const got = await derive(secret, Buffer.from(salt, "base64url"), cost);
  return got.length === want.length && timingSafeEqual(got, want);
}
