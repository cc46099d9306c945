import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import pLimit from "p-limit";
import { type NodeCoverage, NodeCoverage_Status, NodeCoverageSchema } from "../gen/lrs/v1/search_pb.js";

/** Time a call may take when the caller set no deadline. */
export const DEFAULT_DEADLINE_MS = 8_000;
/** Aborts when the caller goes away or `ms` have passed: a search still running then is stopped. */
export function untilDeadline(caller: AbortSignal, ms: number): AbortSignal {
  const limit = Math.max(1, Math.floor(ms));
  const deadline = new AbortController();
  setTimeout(() => deadline.abort(new Error(`the call's deadline of ${limit} ms passed`)), limit).unref();
  return AbortSignal.any([caller, deadline.signal]);
}

/** Kept back from a forwarded call's deadline so the answer still gets home in time. */
export const HOP_MARGIN_MS = 150;

/** The time left for this call: the caller's deadline, or the default. */
export function remainingMs(timeoutMs: number | undefined, defaultMs = DEFAULT_DEADLINE_MS): number {
  return Math.max(0, timeoutMs ?? defaultMs);
}

/**
 * The share of a regional center's deadline that a leg which may hang is given: the national
 * center in a NATIONAL search (when it has not answered by then — down, or hung: alive but
 * silent — the peer regional centers are asked with the rest), the holders' availability of a
 * search, and in a rota both the national center and the own members' availability. A hung node
 * costs at most this share.
 */
export const NATIONAL_SHARE = 0.5;

/** The time left of a share of `left()` taken now: a deadline of its own that later calls use up. */
export function shareOf(left: () => number, share: number): () => number {
  const until = Date.now() + Math.floor(left() * share);
  return () => Math.max(1, Math.min(left(), until - Date.now()));
}

/**
 * Calls one fan-out keeps open at once: a book held by 500 libraries, or a national search
 * over many regions, must not open hundreds of connections from one node at the same moment.
 */
export const FAN_OUT_CONCURRENCY = 16;

/**
 * Holders a regional center asks about one title's availability at once. Higher than a search's
 * bound: each call is small, but a holder that asks its ILS (NCIP) takes hundreds of ms, and
 * bench/availability.mjs measured a book held by 500 libraries answering in 300 ms each: 16 at a
 * time reached only 381 of them within the 8 s deadline (the rest not asked), all at once 759 ms
 * with 500 calls open. 64 keeps the calls open bounded and every holder asked in ~2.5 s.
 */
export const AVAILABILITY_CONCURRENCY = 64;

export interface FanOutResult<T> {
  results: Array<{ target: string; value: T }>;
  coverage: NodeCoverage[];
}

/**
 * Asks several nodes, at most `concurrency` at a time, all within `deadlineMs`, and reports
 * what each did: a slow or failed node costs its own answer, never the others' or the
 * caller's deadline. A call waiting for a free slot gets what is left of the deadline when its
 * turn comes; one whose turn comes too late is reported as not asked.
 */
export async function fanOut<T>(
  targets: readonly string[],
  deadlineMs: number,
  ask: (target: string, signal: AbortSignal, timeoutMs: number) => Promise<T>,
  count: (value: T) => number = () => 0,
  fallback = false,
  concurrency = FAN_OUT_CONCURRENCY,
): Promise<FanOutResult<T>> {
  const results: Array<{ target: string; value: T }> = [];
  const coverage: NodeCoverage[] = [];
  const begun = Date.now();
  const limit = pLimit(concurrency);
  await Promise.all(
    targets.map((target) =>
      limit(async () => {
        const started = Date.now();
        const timeoutMs = deadlineMs - (started - begun) - HOP_MARGIN_MS;
        if (timeoutMs < 1) {
          const why = `not asked: the deadline ran out with ${concurrency} calls ahead of it`;
          coverage.push(cover(target, NodeCoverage_Status.TIMED_OUT, why, 0, 0, fallback));
          return;
        }
        const ac = new AbortController();
        let timer: NodeJS.Timeout | undefined;
        const timeout = new Promise<"timeout">((resolve) => {
          timer = setTimeout(() => {
            ac.abort();
            resolve("timeout");
          }, timeoutMs);
        });
        try {
          const value = await Promise.race([ask(target, ac.signal, timeoutMs), timeout]);
          const elapsedMs = Date.now() - started;
          if (value === "timeout") {
            coverage.push(
              cover(
                target,
                NodeCoverage_Status.TIMED_OUT,
                `no answer within ${timeoutMs} ms`,
                elapsedMs,
                0,
                fallback,
              ),
            );
            return;
          }
          results.push({ target, value });
          coverage.push(cover(target, NodeCoverage_Status.ANSWERED, "", elapsedMs, count(value), fallback));
        } catch (err) {
          const ce = ConnectError.from(err);
          const status =
            ce.code === Code.DeadlineExceeded || ce.code === Code.Canceled
              ? NodeCoverage_Status.TIMED_OUT
              : NodeCoverage_Status.FAILED;
          coverage.push(cover(target, status, ce.rawMessage, Date.now() - started, 0, fallback));
        } finally {
          clearTimeout(timer);
        }
      }),
    ),
  );
  coverage.sort((a, b) => a.nodeId.localeCompare(b.nodeId));
  return { results, coverage };
}

export function cover(
  nodeId: string,
  status: NodeCoverage_Status,
  detail: string,
  elapsedMs: number,
  hits = 0,
  fallback = false,
): NodeCoverage {
  return create(NodeCoverageSchema, { nodeId, status, detail, elapsedMs, hits: BigInt(hits), fallback });
}
