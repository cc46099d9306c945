// A node restored from a backup asks its parent, once, to deliver again the ILL envelopes it
// delivered to it since the backup (IllService.Redeliver). The request is an outbox message like
// any other for the parent: stored when the node starts, sent when the parent is reachable,
// retried until it answers; the parent's relay puts those envelopes back in the node's queue and
// the node applies each by message id, so nothing is lost and nothing is applied twice.
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Database } from "../db.js";
import { RedeliverRequestSchema } from "../gen/lrs/v1/ill_service_pb.js";
import type { Outbox } from "../outbox.js";

/** node_meta: since when to ask for redelivery (written by a restore: node/backup.ts). */
export const REDELIVER_META_KEY = "redeliver_since";
/** The outbox kind of the request to the parent (sent by node/parent-link.ts). */
export const REDELIVER_KIND = "ill.redeliver";

/** Queues the request for the parent if the node was restored and has not asked yet; returns since when. */
export function queueRedelivery(db: Database, outbox: Outbox, parentDestination: string): Date | undefined {
  return db.transaction(() => {
    const row = db.sqlite.prepare("SELECT value FROM node_meta WHERE key = ?").get(REDELIVER_META_KEY) as
      | { value: string }
      | undefined;
    if (!row) return undefined;
    const since = new Date(row.value);
    outbox.enqueue(
      parentDestination,
      REDELIVER_KIND,
      toBinary(RedeliverRequestSchema, create(RedeliverRequestSchema, { since: timestampFromDate(since) })),
    );
    db.sqlite.prepare("DELETE FROM node_meta WHERE key = ?").run(REDELIVER_META_KEY);
    return since;
  });
}
