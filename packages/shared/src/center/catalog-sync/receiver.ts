import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { RecordChange } from "../../catalog-sync/change-feed.js";
import { fromWire, MAX_BATCH, MAX_RECORD_BYTES } from "../../catalog-sync/pusher.js";
import type { Database } from "../../db.js";
import { type SyncPosition, SyncPositionSchema } from "../../gen/lrs/v1/admin_pb.js";
import {
  type CatalogSyncService,
  type PushChangesRequest,
  ResyncPhase,
} from "../../gen/lrs/v1/catalog_pb.js";
import type { Logger } from "../../log.js";
import { peerKey } from "../../rpc/peer.js";
import type { NodeIdentity } from "../../tls/pki.js";
import type { RecordDescriber, RecordDescriptions } from "../union/describe-pool.js";

/** Where received changes go: the union catalog. Called inside one transaction per batch. */
export interface CatalogSink {
  /** Applies the changes of a batch, in order; `described`: their records described beforehand (some or all). */
  applyBatch(source: string, changes: readonly RecordChange[], described?: RecordDescriptions): void;
  beginResync(source: string, epoch: bigint): void;
  /** Deletes what `source` did not send in `epoch`; returns how many. */
  endResync(source: string, epoch: bigint): number;
}

export interface ReceiverOptions {
  db: Database;
  sink: CatalogSink;
  log: Logger;
  /** Whether `sender` may send records of `institutionId`; a reason when not. */
  mayContribute: (sender: NodeIdentity, institutionId: string) => true | string;
  /**
   * Describes a batch's records before its transaction, off the event loop (describe-pool.ts);
   * without it, or when it fails, the sink describes them as it applies them.
   */
  describer?: RecordDescriber;
  /** Called after a batch is committed (to wake the pusher toward the tier above). */
  onApplied?: () => void;
}

interface SourceRow {
  acked_seq: number | bigint;
  resync_epoch: number | bigint;
  resyncing: number;
}

/** The invalid-argument checks of a batch, before anything is applied: one bad change refuses the batch. */
function validate(
  req: PushChangesRequest,
  sender: NodeIdentity,
  mayContribute: ReceiverOptions["mayContribute"],
): RecordChange[] {
  if (req.changes.length > MAX_BATCH) {
    throw new ConnectError(
      `batch of ${req.changes.length} changes is over the limit of ${MAX_BATCH}`,
      Code.ResourceExhausted,
    );
  }
  const out: RecordChange[] = [];
  let prev = req.afterSeq;
  req.changes.forEach((c, i) => {
    const where = `change ${i + 1} (seq ${c.seq})`;
    if (req.resync === ResyncPhase.UNSPECIFIED) {
      if (c.seq <= prev)
        throw new ConnectError(
          `${where}: sequence numbers must increase after ${prev}`,
          Code.InvalidArgument,
        );
      prev = c.seq;
    }
    const change = fromWire(c);
    if (!change)
      throw new ConnectError(`${where}: carries neither an upsert nor a delete`, Code.InvalidArgument);
    if (!change.recordId) throw new ConnectError(`${where}: record id is empty`, Code.InvalidArgument);
    if (change.kind === "upsert" && change.marc.length > MAX_RECORD_BYTES) {
      throw new ConnectError(
        `${where}: record ${change.recordId} is ${change.marc.length} bytes, over the limit of ${MAX_RECORD_BYTES} bytes per record`,
        Code.InvalidArgument,
      );
    }
    if (change.kind === "upsert" && change.marc.length < 24) {
      throw new ConnectError(
        `${where}: record ${change.recordId} is too short to be MARC`,
        Code.InvalidArgument,
      );
    }
    const ok = mayContribute(sender, change.institutionId);
    if (ok !== true) throw new ConnectError(`${where}: ${ok}`, Code.PermissionDenied);
    out.push(change);
  });
  return out;
}

/**
 * CatalogSyncService.PushChanges at a regional or national center: applies a
 * batch in one transaction, idempotently (entries at or below the
 * acknowledged position are skipped), and asks for a full resync when the
 * sender continues from a position this node does not have.
 */
export function catalogSyncReceiver(o: ReceiverOptions): ServiceImpl<typeof CatalogSyncService> {
  const { sqlite } = o.db;
  const getRow = sqlite.prepare(
    "SELECT acked_seq, resync_epoch, resyncing FROM sync_sources WHERE source_id = ?",
  );
  const upsertRow = sqlite.prepare(
    `INSERT INTO sync_sources (source_id, acked_seq, head_seq, resync_epoch, resyncing, resyncs, last_sync_at)
     VALUES (@source, @acked, @head, @epoch, @resyncing, @resyncs, @at)
     ON CONFLICT (source_id) DO UPDATE SET acked_seq = excluded.acked_seq, head_seq = excluded.head_seq,
       resync_epoch = excluded.resync_epoch, resyncing = excluded.resyncing,
       resyncs = sync_sources.resyncs + excluded.resyncs, last_sync_at = excluded.last_sync_at`,
  );
  return {
    async pushChanges(req, ctx: HandlerContext) {
      const sender = ctx.values.get(peerKey).identity!;
      const source = sender.id;
      const changes = validate(req, sender, o.mayContribute);
      let described: RecordDescriptions | undefined;
      try {
        described = await o.describer?.describe(changes);
      } catch (err) {
        o.log.warn(
          { err, source },
          "describing a batch on worker threads failed; applying it describes each record",
        );
      }
      let result: { acknowledgedSeq: bigint; resyncRequired: boolean; reason: string } | undefined;
      o.db.transaction(() => {
        const row = getRow.get(source) as SourceRow | undefined;
        const acked = BigInt(row?.acked_seq ?? 0);
        const epoch = BigInt(row?.resync_epoch ?? 0);
        const save = (ackedSeq: bigint, resyncing: boolean, newEpoch: bigint, resyncStarted: boolean) =>
          upsertRow.run({
            source,
            acked: ackedSeq,
            head: req.headSeq,
            epoch: newEpoch,
            resyncing: resyncing ? 1 : 0,
            resyncs: resyncStarted ? 1 : 0,
            at: new Date().toISOString(),
          });
        if (req.resync !== ResyncPhase.UNSPECIFIED) {
          const starting =
            req.resync === ResyncPhase.BEGIN || (req.resyncEpoch !== epoch && req.resync === ResyncPhase.END);
          if (!starting && (row?.resyncing !== 1 || req.resyncEpoch !== epoch)) {
            result = {
              acknowledgedSeq: acked,
              resyncRequired: true,
              reason: `resync ${req.resyncEpoch} is not the one in progress; start again`,
            };
            return;
          }
          if (starting) o.sink.beginResync(source, req.resyncEpoch);
          o.sink.applyBatch(source, changes, described);
          if (req.resync === ResyncPhase.END) {
            const removed = o.sink.endResync(source, req.resyncEpoch);
            save(req.snapshotSeq, false, req.resyncEpoch, starting);
            o.log.info({ source, snapshotSeq: req.snapshotSeq.toString(), removed }, "full resync applied");
            result = { acknowledgedSeq: req.snapshotSeq, resyncRequired: false, reason: "" };
          } else {
            save(acked, true, req.resyncEpoch, starting);
            result = { acknowledgedSeq: acked, resyncRequired: false, reason: "" };
          }
          return;
        }
        if (row?.resyncing === 1) {
          result = {
            acknowledgedSeq: acked,
            resyncRequired: true,
            reason: "a full resync was started and not finished",
          };
          return;
        }
        if (req.headSeq < acked) {
          // The sender's log is behind what we applied from it: it was restored from a backup or
          // rebuilt, and its positions no longer mean what they meant. Only a resync is safe.
          result = {
            acknowledgedSeq: acked,
            resyncRequired: true,
            reason: `the sender's change log ends at ${req.headSeq}, before ${acked} which this node has applied`,
          };
          return;
        }
        if (req.afterSeq > acked) {
          // The sender believes we hold more than we do (our database was restored, or entries were lost): only a resync can fix it.
          result = {
            acknowledgedSeq: acked,
            resyncRequired: true,
            reason: `gap: this node has applied up to ${acked}, the batch follows ${req.afterSeq}`,
          };
          return;
        }
        let last = acked;
        const fresh: RecordChange[] = [];
        req.changes.forEach((wire, i) => {
          if (wire.seq <= acked) return; // a retry of what is already applied
          fresh.push(changes[i]!);
          last = wire.seq;
        });
        o.sink.applyBatch(source, fresh, described);
        save(last, false, epoch, false);
        result = { acknowledgedSeq: last, resyncRequired: false, reason: "" };
      });
      o.onApplied?.();
      return result!;
    },
  };
}

/** Where each sender stands (rows of sync_sources), for status: one per sender. */
export function syncPositions(db: Database): SyncPosition[] {
  const rows = db.sqlite.prepare("SELECT * FROM sync_sources ORDER BY source_id").all() as Array<{
    source_id: string;
    acked_seq: number;
    head_seq: number;
    resyncing: number;
    resyncs: number;
    last_sync_at: string | null;
  }>;
  return rows.map((r) =>
    create(SyncPositionSchema, {
      peerId: r.source_id,
      acknowledgedSeq: BigInt(r.acked_seq),
      headSeq: BigInt(r.head_seq),
      lag: r.head_seq > r.acked_seq ? BigInt(r.head_seq - r.acked_seq) : 0n,
      resyncing: r.resyncing === 1,
      resyncs: BigInt(r.resyncs),
      ...(r.last_sync_at ? { lastSyncAt: timestampFromDate(new Date(r.last_sync_at)) } : {}),
    }),
  );
}
