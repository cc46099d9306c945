import { Code } from "@connectrpc/connect";
import type { Logger } from "../log.js";

/** Answers that mean the caller's input or identity was refused: the caller's problem, not ours. */
const REFUSALS = new Set([
  Code.InvalidArgument,
  Code.OutOfRange,
  Code.ResourceExhausted,
  Code.PermissionDenied,
  Code.Unauthenticated,
]);

export function isRefusal(code: Code): boolean {
  return REFUSALS.has(code);
}

/**
 * Refused calls logged at warn, at most once per method and code per window; the next line
 * says how many were left out in between. Anyone with a certificate (or none, for enrollment)
 * can send bad input, and must not be able to fill the disk with log lines.
 */
export class RefusalLog {
  readonly #log: Logger;
  readonly #windowMs: number;
  readonly #windows = new Map<string, { until: number; suppressed: number }>();

  constructor(log: Logger, windowMs = 10_000) {
    this.#log = log;
    this.#windowMs = windowMs;
  }

  note(method: string, code: Code, message: string, now = Date.now()): void {
    const key = `${method} ${code}`;
    const w = this.#windows.get(key);
    if (w && now < w.until) {
      w.suppressed++;
      return;
    }
    this.#windows.set(key, { until: now + this.#windowMs, suppressed: 0 });
    this.#log.warn(
      { method, code: Code[code], reason: message, ...(w?.suppressed ? { suppressed: w.suppressed } : {}) },
      "call refused",
    );
  }
}
