// Login throttling by client address: after MAX_FAILURES wrong logins within WINDOW_MS from one
// address, that address waits (HTTP 429) until the oldest of them leaves the window. The account
// lockout (accounts.ts) is the other half: it holds whatever the address.
export const MAX_FAILURES = 20;
export const WINDOW_MS = 10 * 60_000;

export class LoginThrottle {
  readonly #failures = new Map<string, number[]>();

  constructor(private readonly now: () => number = Date.now) {}

  #recent(address: string): number[] {
    const since = this.now() - WINDOW_MS;
    const list = (this.#failures.get(address) ?? []).filter((t) => t > since);
    if (list.length) this.#failures.set(address, list);
    else this.#failures.delete(address);
    return list;
  }

  /** Milliseconds this address must wait before trying again (0: it may try now). */
  waitMs(address: string): number {
    const list = this.#recent(address);
    return list.length >= MAX_FAILURES ? list[0]! + WINDOW_MS - this.now() : 0;
  }

  failed(address: string): void {
    this.#failures.set(address, [...this.#recent(address), this.now()]);
  }

  succeeded(address: string): void {
    this.#failures.delete(address);
  }
}
