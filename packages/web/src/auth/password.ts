// Staff passwords: scrypt (memory-hard, in node:crypto), with the parameters stored beside the
// hash so that they can be raised later without invalidating what is stored.
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from "node:crypto";

/** N = 2^17, r = 8, p = 1: 128 MiB per hash, OWASP's recommended minimum for scrypt. */
export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}
export const DEFAULT_COST: ScryptCost = { N: 2 ** 17, r: 8, p: 1 };
const KEY_BYTES = 32;
const MAX_MEM = 256 * 1024 * 1024;

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 256;

function derive(password: string, salt: Buffer, o: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(password.normalize("NFKC"), salt, KEY_BYTES, { ...o, maxmem: MAX_MEM }, (err, key) =>
      err ? reject(err) : resolve(key),
    ),
  );
}

/** "scrypt$N$r$p$salt$hash" (base64url). */
export async function hashPassword(password: string, cost: ScryptCost = DEFAULT_COST): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost);
  return ["scrypt", cost.N, cost.r, cost.p, salt.toString("base64url"), key.toString("base64url")].join("$");
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split("$");
  if (kind !== "scrypt" || !salt || !hash) return false;
  const want = Buffer.from(hash, "base64url");
  const got = await derive(password, Buffer.from(salt, "base64url"), {
    N: Number(n),
    r: Number(r),
    p: Number(p),
  });
  return got.length === want.length && timingSafeEqual(got, want);
}

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, userName: string): string | undefined {
  if (password.length < MIN_PASSWORD) return `must be at least ${MIN_PASSWORD} characters`;
  if (password.length > MAX_PASSWORD) return `must be at most ${MAX_PASSWORD} characters`;
  if (password.toLowerCase().includes(userName.toLowerCase())) return "must not contain the user name";
  return undefined;
}
