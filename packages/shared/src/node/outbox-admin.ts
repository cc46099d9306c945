// The outbox as an operator sees it, at every tier: what waits to be delivered, what was set
// aside as refused (dead letters), and putting one back in its queue.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { type AdminService, type OutboxEntry, OutboxEntrySchema } from "../gen/lrs/v1/admin_pb.js";
import type { Logger } from "../log.js";
import type { Outbox, OutboxRow } from "../outbox.js";

export function outboxEntry(r: OutboxRow): OutboxEntry {
  return create(OutboxEntrySchema, {
    messageId: r.messageId,
    destination: r.destination,
    kind: r.kind,
    attempts: r.attempts,
    createdAt: timestampFromDate(r.createdAt),
    ...(r.nextAttemptAt ? { nextAttemptAt: timestampFromDate(r.nextAttemptAt) } : {}),
    lastError: r.lastError ?? "",
    ...(r.deadAt ? { deadAt: timestampFromDate(r.deadAt) } : {}),
    sizeBytes: r.sizeBytes,
  });
}

/** AdminService.ListOutbox and RetryOutbox over a node's outbox (the same at every tier). */
export function outboxAdmin(
  outbox: Outbox,
  log: Logger,
): Pick<ServiceImpl<typeof AdminService>, "listOutbox" | "retryOutbox"> {
  return {
    listOutbox: (req) => ({
      entries: outbox.list({ deadOnly: req.deadOnly, limit: req.limit || 100 }).map(outboxEntry),
      pending: outbox.pendingCount(),
      dead: outbox.deadCount(),
    }),
    retryOutbox: (req) => {
      const id = req.messageId.trim();
      if (id === "") throw new ConnectError("message_id is required", Code.InvalidArgument);
      const row = outbox.retry(id);
      if (!row) throw new ConnectError(`no undelivered message ${id} in the outbox`, Code.NotFound);
      log.info(
        { messageId: id, destination: row.destination, kind: row.kind },
        "outbox message put back in its queue",
      );
      return { entry: outboxEntry(row) };
    },
  };
}
