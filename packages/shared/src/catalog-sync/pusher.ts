import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { Database } from "../db.js";
import { type SyncPosition, SyncPositionSchema } from "../gen/lrs/v1/admin_pb.js";
import {
  type CatalogChange,
  CatalogChangeSchema,
  type CatalogSyncService,
  type Holding,
  HoldingSchema,
  type PushChangesRequest,
  ResyncPhase,
} from "../gen/lrs/v1/catalog_pb.js";
import type { Logger } from "../log.js";
import {
  acquisitionFields,
  type ChangeFeed,
  type HoldingData,
  isIsoDate,
  type RecordChange,
} from "./change-feed.js";

/**
 * Changes per push; with records of a few KB a batch stays around a megabyte (MAX_BATCH_BYTES caps
 * it). The receiver applies a batch in one transaction, one fsync (synchronous = FULL): 500 instead
 * of 250 halves what commits cost a first full sync, while a batch still holds the receiver's event
 * loop for well under a second (bench/apply.mjs, BENCHMARKS.md "Applying changes at a center").
 */
export const DEFAULT_BATCH = 500;
/** The receiver refuses larger batches. */
export const MAX_BATCH = 2000;
/**
 * The longest record catalog sync carries (as toMarcBlob writes it). Far above ISO 2709's 99999
 * bytes: a serial's MARCXML with thousands of holdings fields runs to a megabyte or two.
 */
export const MAX_RECORD_BYTES = 8 * 1024 * 1024;
/** A batch stops growing once its records pass this many bytes (so that it stays under the servers' 16 MiB read limit). */
export const MAX_BATCH_BYTES = 4 * 1024 * 1024;

/** How many of `entries` (at least one) fit in one batch by {@link MAX_BATCH_BYTES}. */
export function batchLength(sizes: readonly number[]): number {
  let bytes = 0;
  for (let i = 0; i < sizes.length; i++) {
    bytes += sizes[i]!;
    if (bytes >= MAX_BATCH_BYTES) return i + 1;
  }
  return sizes.length;
}

const sizeOf = (c: RecordChange) => (c.kind === "upsert" ? c.marc.length : 0);

/** Turns a feed entry into its wire form. */
export function toWire(seq: bigint, c: RecordChange): CatalogChange {
  return create(CatalogChangeSchema, {
    seq,
    institutionId: c.institutionId,
    changedAt: timestampFromDate(c.changedAt),
    change:
      c.kind === "upsert"
        ? {
            case: "upsert",
            value: {
              recordId: c.recordId,
              marc: c.marc,
              holdings: c.holdings.map((h) => create(HoldingSchema, h)),
            },
          }
        : { case: "delete", value: { recordId: c.recordId } },
  });
}

/** A holding as the wire carries it, in the catalogs' form. */
export function holdingFromWire(h: Holding): HoldingData {
  return {
    barcode: h.barcode,
    callNumber: h.callNumber,
    location: h.location,
    status: h.status,
    loanRule: h.loanRule,
    // Empty on the wire is "not said"; a sender's malformed date is not passed on.
    ...(isIsoDate(h.dueDate) ? { dueDate: h.dueDate } : {}),
    // Zero and empty on the wire are "none"; acquisitionFields keeps only what is set.
    ...acquisitionFields(h),
  };
}

/** Turns a wire change into a feed change; undefined when it carries neither upsert nor delete. */
export function fromWire(c: CatalogChange): RecordChange | undefined {
  const changedAt = c.changedAt ? timestampDate(c.changedAt) : new Date();
  switch (c.change.case) {
    case "upsert":
      return {
        kind: "upsert",
        institutionId: c.institutionId,
        recordId: c.change.value.recordId,
        marc: c.change.value.marc,
        holdings: c.change.value.holdings.map(holdingFromWire),
        changedAt,
      };
    case "delete":
      return { kind: "delete", institutionId: c.institutionId, recordId: c.change.value.recordId, changedAt };
    case undefined:
      return undefined;
    default: {
      const _never: never = c.change;
      return _never;
    }
  }
}

const META_ACKED = "catalog_sync_acked_seq";
const META_RESYNC = "catalog_sync_needs_resync";
/** The node_meta key that makes the next push a full resync (set by a restore: node/backup.ts). */
export const RESYNC_META_KEY = META_RESYNC;

export interface PusherOptions {
  db: Database;
  feed: ChangeFeed;
  client: Client<typeof CatalogSyncService>;
  peerId: string;
  log: Logger;
  batchSize?: number;
  /**
   * How often to look for new changes when idle: imports run in another process, so the log is
   * polled (one indexed query; bench/sync-latency.mjs measured the member's hop at the poll's
   * half-interval on average). Default 100 ms.
   */
  pollMs?: number;
  /** Per-push deadline. */
  timeoutMs?: number;
}

/**
 * Pushes a catalog's change log to the tier above, batch by batch, and
 * remembers the acknowledged position, so a restart resumes where it
 * stopped. When the receiver cannot continue (a gap, a position it does not
 * know) the pusher sends the whole catalog again as a resync.
 */
export class CatalogSyncPusher {
  readonly #o: Required<Omit<PusherOptions, "batchSize" | "pollMs" | "timeoutMs">> & {
    batchSize: number;
    pollMs: number;
    timeoutMs: number;
  };
  #wake: (() => void) | undefined;
  #lastSyncAt: Date | undefined;
  #lastError = "";
  #resyncs = 0n;
  #running: Promise<void> | undefined;

  constructor(o: PusherOptions) {
    this.#o = { batchSize: DEFAULT_BATCH, pollMs: 100, timeoutMs: 30_000, ...o };
  }

  #meta(key: string): string | undefined {
    const row = this.#o.db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(key) as
      | { value: string }
      | undefined;
    return row?.value;
  }

  #setMeta(key: string, value: string): void {
    this.#o.db.sqlite
      .prepare(
        "INSERT INTO node_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
      )
      .run(key, value);
  }

  get ackedSeq(): bigint {
    return BigInt(this.#meta(META_ACKED) ?? "0");
  }

  /** Wakes the worker at once (after a local change in this process). */
  notify(): void {
    this.#wake?.();
  }

  status(): SyncPosition {
    const acked = this.ackedSeq;
    const head = this.#o.feed.headSeq();
    return create(SyncPositionSchema, {
      peerId: this.#o.peerId,
      acknowledgedSeq: acked,
      headSeq: head,
      lag: head > acked ? head - acked : 0n,
      ...(this.#lastSyncAt ? { lastSyncAt: timestampFromDate(this.#lastSyncAt) } : {}),
      resyncing: this.#meta(META_RESYNC) === "1",
      lastError: this.#lastError,
      resyncs: this.#resyncs,
    });
  }

  /** How long the oldest change the parent has not acknowledged has waited (0: none waits). */
  lagSeconds(now = new Date()): number {
    const oldest = this.#o.feed.loggedAfter(this.ackedSeq);
    return oldest ? Math.max(0, (now.getTime() - oldest.getTime()) / 1000) : 0;
  }

  start(signal: AbortSignal): void {
    this.#running ??= this.#loop(signal);
  }

  /** Resolves when the loop has stopped (after `signal` aborted). */
  async stopped(): Promise<void> {
    await this.#running;
  }

  #sleep(ms: number, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        this.#wake = undefined;
        resolve();
      };
      const t = setTimeout(done, ms);
      this.#wake = done;
      signal.addEventListener("abort", done, { once: true });
    });
  }

  async #loop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!signal.aborted) {
      try {
        const progressed =
          this.#meta(META_RESYNC) === "1" ? await this.#resync(signal) : await this.#pushOnce(signal);
        failures = 0;
        this.#lastError = "";
        if (!progressed) await this.#sleep(this.#o.pollMs, signal);
      } catch (err) {
        if (signal.aborted) break;
        failures++;
        this.#lastError = (err as Error).message;
        const delay = Math.min(30_000, 250 * 2 ** Math.min(failures, 7));
        this.#o.log.warn(
          { err: this.#lastError, peer: this.#o.peerId, retryInMs: delay },
          "catalog sync push failed",
        );
        await this.#sleep(delay, signal);
      }
    }
  }

  async #push(req: Omit<PushChangesRequest, "$typeName" | "$unknown">, signal: AbortSignal) {
    return this.#o.client.pushChanges(req, { signal, timeoutMs: this.#o.timeoutMs });
  }

  /** One normal batch; false when there was nothing to send. */
  async #pushOnce(signal: AbortSignal): Promise<boolean> {
    const acked = this.ackedSeq;
    const all = this.#o.feed.changesAfter(acked, this.#o.batchSize);
    if (all.length === 0) return false;
    const entries = all.slice(0, batchLength(all.map((e) => sizeOf(e.change))));
    const res = await this.#push(
      {
        afterSeq: acked,
        changes: entries.map((e) => toWire(e.seq, e.change)),
        headSeq: this.#o.feed.headSeq(),
        resync: ResyncPhase.UNSPECIFIED,
        resyncEpoch: 0n,
        snapshotSeq: 0n,
      },
      signal,
    );
    this.#lastSyncAt = new Date();
    if (res.resyncRequired) {
      this.#o.log.warn({ peer: this.#o.peerId, reason: res.reason }, "receiver asks for a full resync");
      this.#setMeta(META_RESYNC, "1");
      return true;
    }
    this.#setMeta(META_ACKED, res.acknowledgedSeq.toString());
    return true;
  }

  /** Sends the whole catalog, framed BEGIN … END, then continues after the snapshot's position. */
  async #resync(signal: AbortSignal): Promise<boolean> {
    const epoch = BigInt(Date.now());
    const snap = this.#o.feed.snapshot();
    this.#resyncs++;
    this.#o.log.info(
      { peer: this.#o.peerId, epoch: epoch.toString(), snapshotSeq: snap.seq.toString() },
      "full resync started",
    );
    let phase = ResyncPhase.BEGIN;
    let batch: CatalogChange[] = [];
    let batchBytes = 0;
    let sent = 0;
    const flush = async (end: boolean) => {
      const res = await this.#push(
        {
          afterSeq: 0n,
          changes: batch,
          headSeq: this.#o.feed.headSeq(),
          resync: end ? ResyncPhase.END : phase,
          resyncEpoch: epoch,
          snapshotSeq: end ? snap.seq : 0n,
        },
        signal,
      );
      this.#lastSyncAt = new Date();
      sent += batch.length;
      batch = [];
      batchBytes = 0;
      phase = ResyncPhase.DATA;
      if (end) {
        this.#o.db.transaction(() => {
          this.#setMeta(META_ACKED, res.acknowledgedSeq.toString());
          this.#setMeta(META_RESYNC, "0");
        });
      }
    };
    for (const rec of snap.records) {
      if (signal.aborted) throw new Error("resync interrupted");
      batch.push(toWire(0n, rec));
      batchBytes += sizeOf(rec);
      if (batch.length >= this.#o.batchSize || batchBytes >= MAX_BATCH_BYTES) await flush(false);
    }
    await flush(true);
    this.#o.log.info({ peer: this.#o.peerId, records: sent }, "full resync finished");
    return true;
  }
}
