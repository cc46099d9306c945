// Reporting upward: the blocks changed since the parent's last acknowledgement, oldest change
// first, with the node's health (and, from a regional center, its members'). The position is
// stored only once the parent has answered, so a restart sends again what was not acknowledged;
// the parent keeps a block by its version, so sending it again counts nothing twice.
import type { Client } from "@connectrpc/connect";
import type { NodeHealth, TrafficService } from "../gen/lrs/v1/traffic_pb.js";
import type { Logger } from "../log.js";
import { blockToWire } from "./convert.js";
import type { TrafficStore } from "./store.js";

export interface TrafficReporterOptions {
  store: TrafficStore;
  /** The parent's TrafficService. */
  parent: Client<typeof TrafficService>;
  /** What to say of health with each report: the node's own, and its members' at a regional center. */
  health: () => NodeHealth[];
  /** A report at least this often, changes or not (the parent's "last contact"). */
  intervalMs: number;
  log: Logger;
  /** Blocks per report (the service accepts at most MAX_REPORT_BLOCKS). */
  maxBlocks?: number;
  timeoutMs?: number;
}

/** After a change is noticed, wait this long for more before reporting (a burst becomes one report). */
const GATHER_MS = 200;
const MAX_BACKOFF_MS = 60_000;

export class TrafficReporter {
  readonly #o: TrafficReporterOptions;
  #wake: (() => void) | undefined;
  #notified = false;
  #lastReportAt: Date | undefined;
  #lastError = "";

  constructor(o: TrafficReporterOptions) {
    this.#o = o;
  }

  /** New figures are stored: report them soon. */
  notify(): void {
    this.#notified = true;
    this.#wake?.();
  }

  status(): { lastReportAt?: Date; lastError: string; unreported: number } {
    return {
      ...(this.#lastReportAt ? { lastReportAt: this.#lastReportAt } : {}),
      lastError: this.#lastError,
      unreported: this.#o.store.unreported(),
    };
  }

  /** Sends everything not yet acknowledged, then a report every interval, until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      this.#notified = false;
      let delay = this.#o.intervalMs;
      try {
        await this.reportAll(signal);
        if (failures > 0) this.#o.log.info({ after: failures }, "traffic report delivered again");
        failures = 0;
        this.#lastError = "";
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.#lastError = (err as Error).message;
        const base = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(failures, 16));
        delay = Math.round(base / 2 + Math.random() * (base / 2));
        // Said once, then quietly: an unreachable parent is also said by the parent link.
        this.#o.log[failures === 1 ? "warn" : "debug"](
          { err: this.#lastError, retryInMs: delay, unreported: this.#o.store.unreported() },
          "traffic report failed; will retry",
        );
      }
      // Failing, a notification does not cut the backoff short: a down parent is not hammered.
      await this.#sleep(delay, signal, failures === 0);
      if (this.#notified && failures === 0) await this.#sleep(GATHER_MS, signal, false);
    }
  }

  /** One round: reports until nothing is left (at least one report, the heartbeat). */
  async reportAll(signal?: AbortSignal): Promise<void> {
    const { store, parent } = this.#o;
    const max = this.#o.maxBlocks ?? 200;
    let first = true;
    for (;;) {
      const { blocks, lastRev } = store.pendingReport(max);
      if (blocks.length === 0 && !first) return;
      await parent.reportTraffic(
        { blocks: blocks.map(blockToWire), health: first ? this.#o.health() : [] },
        { timeoutMs: this.#o.timeoutMs ?? 15_000, ...(signal ? { signal } : {}) },
      );
      store.acknowledge(lastRev);
      this.#lastReportAt = new Date();
      first = false;
      if (blocks.length < max) return;
    }
  }

  #sleep(ms: number, signal: AbortSignal, wakeable: boolean): Promise<void> {
    return new Promise((resolve) => {
      if (signal.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
      if (wakeable) {
        if (this.#notified) return done();
        this.#wake = done;
      }
    });
  }
}
