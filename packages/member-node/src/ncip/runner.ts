// Sends the queued NCIP calls while the node runs. Every outcome is written on the request: a
// note on its timeline, and, when the ILS could not be reached or refused, what staff should look
// at (the request's attention, which `ill show`, the queues and the dashboard's attention list
// show), cleared again once a later try succeeds. A call that fails for a reason that may pass is
// tried again, waiting twice as long each time (up to an hour), until `[ncip] attempts` is used up.
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger, NcipConfig } from "@lrs/shared";
import type { IllStore } from "../ill/store.js";
import { type NcipCallContext, NcipTemporaryProblem, performCall } from "./calls.js";
import { NcipUnavailableError } from "./client.js";
import { NcipResponseError } from "./messages.js";
import type { NcipQueue, NcipTask } from "./queue.js";

/** Attention set by NCIP starts with this, so that a later success clears only its own. */
const MARK = "ILS";
const MAX_WAIT_MS = 3_600_000;
const POLL_MS = 1000;

export interface NcipRunnerOptions {
  readonly cfg: NcipConfig;
  readonly queue: NcipQueue;
  readonly store: IllStore;
  readonly call: Omit<NcipCallContext, "signal">;
  readonly log: Logger;
  readonly now?: () => Date;
}

export class NcipRunner {
  readonly #o: NcipRunnerOptions;
  readonly #now: () => Date;
  #running = false;

  constructor(o: NcipRunnerOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => new Date());
  }

  /** Sends due calls every second until the signal aborts. */
  async run(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        await this.runDue(signal);
      } catch (err) {
        this.#o.log.error({ err }, "NCIP runner failed; trying again");
      }
      await sleep(POLL_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Sends the calls due now, each request's in order. Returns how many were tried. */
  async runDue(signal?: AbortSignal): Promise<number> {
    if (this.#running) return 0;
    this.#running = true;
    try {
      let n = 0;
      // A request's next call becomes due when its earlier one is done: go round until none is.
      for (;;) {
        const due = this.#o.queue.due(this.#now());
        if (due.length === 0 || signal?.aborted) return n;
        for (const task of due) {
          if (signal?.aborted) return n;
          await this.#one(task, signal);
          n++;
        }
      }
    } finally {
      this.#running = false;
    }
  }

  async #one(task: NcipTask, signal: AbortSignal | undefined): Promise<void> {
    const { queue, store, log, cfg } = this.#o;
    const request = store.get(task.requestId);
    if (!request) {
      queue.failed(task.id, this.#now(), "the ILL request no longer exists");
      return;
    }
    try {
      const r = await performCall({ ...this.#o.call, ...(signal ? { signal } : {}) }, task.service, request);
      const now = this.#now();
      const db = store.database;
      db.transaction(() => {
        if (r.outcome === "refused") queue.failed(task.id, now, r.note);
        else queue.succeeded(task.id, now);
        store.note(task.requestId, "ncip", r.note, r.attention ? { attention: r.attention } : {});
        // Worked this time: an earlier NCIP failure no longer needs anyone.
        if (!r.attention && store.get(task.requestId)?.attention?.startsWith(MARK))
          store.setAttention(task.requestId, undefined);
      });
      log.info({ requestId: task.requestId, service: task.service, outcome: r.outcome }, r.note);
    } catch (err) {
      if (signal?.aborted) return;
      if (
        !(
          err instanceof NcipUnavailableError ||
          err instanceof NcipResponseError ||
          err instanceof NcipTemporaryProblem
        )
      )
        // Anything else (a bug, the database busy) is logged in full and counted as a try, so
        // that one call cannot keep the runner busy every second.
        log.error({ err, requestId: task.requestId, service: task.service }, "NCIP call failed unexpectedly");
      const message = err instanceof Error ? err.message : String(err);
      const attempts = task.attempts + 1;
      const now = this.#now();
      if (attempts >= cfg.attempts) {
        const text = `${MARK} (NCIP): ${task.service} gave up after ${attempts} tries: ${message}`;
        store.database.transaction(() => {
          queue.failed(task.id, now, message);
          store.note(task.requestId, "ncip", text, {
            attention: `${text} (do it in the ILS by hand, or run lrs-member ncip retry ${task.requestId})`,
          });
        });
        log.warn(
          { requestId: task.requestId, service: task.service, attempts, err: message },
          "NCIP call given up",
        );
        return;
      }
      const wait = Math.min(MAX_WAIT_MS, cfg.retry_delay * 2 ** task.attempts);
      const dueAt = new Date(now.getTime() + wait);
      const text = `${MARK} (NCIP): ${task.service} failed (try ${attempts} of ${cfg.attempts}): ${message}; trying again at ${dueAt.toISOString().slice(11, 19)} UTC`;
      store.database.transaction(() => {
        queue.retryAt(task.id, dueAt, message);
        store.note(task.requestId, "ncip", text, { attention: text });
      });
      log.warn(
        { requestId: task.requestId, service: task.service, attempts, wait, err: message },
        "NCIP call failed",
      );
    }
  }
}
