// Staff passwords: scrypt with the parameters stored beside the hash (the shared implementation,
// also used for external ILL partners' secrets), and the rules a new password must meet.
export {
  SCRYPT_COST as DEFAULT_COST,
  type ScryptCost,
  scryptHash as hashPassword,
  scryptVerify as verifyPassword,
} from "@lrs/shared";

export const MIN_PASSWORD = 10;
export const MAX_PASSWORD = 256;

/** Why a new password is refused, or undefined when it is acceptable. */
export function passwordProblem(password: string, userName: string): string | undefined {
  if (password.length < MIN_PASSWORD) return `must be at least ${MIN_PASSWORD} characters`;
  if (password.length > MAX_PASSWORD) return `must be at most ${MAX_PASSWORD} characters`;
  if (password.toLowerCase().includes(userName.toLowerCase())) return "must not contain the user name";
  return undefined;
}
