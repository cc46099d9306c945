// Checking an outside partner's secret at the gateway. The verifiers are salted scrypt
// (iso18626/partners.ts), which costs ~128 MiB and a few hundred milliseconds a check: so a check
// that succeeded is remembered (a partner's every message does not pay again), at most a few
// checks run at once, and a partner whose checks keep failing is refused for a while without
// running scrypt at all — else anyone who knows a partner's agency id could make the national
// center spend its memory and cores on wrong passwords.
import pLimit from "p-limit";
import type { ExternalPartner } from "../../gen/lrs/v1/directory_pb.js";
import { sha256Hex, verifyPartnerSecret } from "../../iso18626/partners.js";

/** Failed checks of one partner's secret allowed in a minute; beyond them, refused unchecked. */
export const MAX_FAILED_CHECKS_PER_MINUTE = 10;
/** scrypt checks running at once, over all partners. */
export const MAX_CONCURRENT_CHECKS = 2;
const MINUTE_MS = 60_000;

/** Refused without checking: too many failures lately. `retryAfterSeconds` says when to try again. */
export class TooManyFailedChecks extends Error {
  override readonly name = "TooManyFailedChecks";
  constructor(
    readonly partnerId: string,
    readonly retryAfterSeconds: number,
  ) {
    super(
      `too many failed authentications for ${partnerId} (at most ${MAX_FAILED_CHECKS_PER_MINUTE} a minute): try again in ${retryAfterSeconds} s`,
    );
  }
}

export class PartnerSecretChecks {
  readonly #ok = new Set<string>();
  readonly #failures = new Map<string, number[]>();
  readonly #slots = pLimit(MAX_CONCURRENT_CHECKS);
  readonly #now: () => number;
  readonly #verify: (p: ExternalPartner, given: string) => Promise<boolean>;

  constructor(
    o: { now?: () => number; verify?: (p: ExternalPartner, given: string) => Promise<boolean> } = {},
  ) {
    this.#now = o.now ?? Date.now;
    this.#verify = o.verify ?? verifyPartnerSecret;
  }

  /** True when `given` is the partner's secret; throws TooManyFailedChecks when it failed too often. */
  async check(p: ExternalPartner, given: string): Promise<boolean> {
    // Keyed by the verifier (a changed secret misses) and a digest of what was given (never kept as is).
    const key = `${p.id}\n${p.inboundVerifier || p.inboundSecretSha256}\n${sha256Hex(given)}`;
    if (this.#ok.has(key)) return true;
    const now = this.#now();
    const recent = (this.#failures.get(p.id) ?? []).filter((t) => t > now - MINUTE_MS);
    if (recent.length >= MAX_FAILED_CHECKS_PER_MINUTE) {
      this.#failures.set(p.id, recent);
      throw new TooManyFailedChecks(p.id, Math.max(1, Math.ceil((recent[0]! + MINUTE_MS - now) / 1000)));
    }
    const ok = await this.#slots(() => this.#verify(p, given));
    if (ok) {
      if (this.#ok.size >= 1000) this.#ok.clear();
      this.#ok.add(key);
    } else {
      recent.push(this.#now());
      this.#failures.set(p.id, recent);
    }
    return ok;
  }
}
