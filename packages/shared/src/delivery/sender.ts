// Sending a stored copy to the next hop: the outbox message is the transfer's header; the file is
// streamed from disk behind it. Used by the tier-above senders (member → regional → national) and
// by the delivery workers to the tier below, so a copy and the ILL messages of one destination
// share one queue and keep their order.

import { existsSync } from "node:fs";
import { fromBinary } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { CopyTransferSchema, CopyTransferService, type PushCopyRequest } from "../gen/lrs/v1/copy_pb.js";
import type { Logger } from "../log.js";
import type { ParentLinkOptions } from "../node/parent-link.js";
import type { OutboxMessage } from "../outbox.js";
import { clientFor } from "../rpc/client.js";
import { fileChunks } from "./file.js";
import { COPY_KIND, type CopyStore } from "./store.js";

/**
 * How long one hop may take to take a copy: a minute, plus a second per 512 KiB (a slow link
 * still gets a 50 MB file through; a dead one is given up and retried).
 */
export function pushTimeoutMs(size: number): number {
  return 60_000 + Math.ceil(size / (512 * 1024)) * 1000;
}

export interface PushCopyOptions {
  readonly signal?: AbortSignal;
  readonly log?: Logger;
}

/**
 * Streams the copy an outbox message stands for to the next hop and, once it has answered, deletes
 * the file here. A copy whose next hop already acknowledged it (a crash before the outbox was
 * told) is not sent again. Throws (FailedPrecondition) when the file is not here: the outbox then
 * sets the message aside after its refusals, instead of holding the queue forever.
 */
export async function pushCopy(
  store: CopyStore,
  msg: OutboxMessage,
  client: Client<typeof CopyTransferService>,
  o: PushCopyOptions = {},
): Promise<void> {
  const header = fromBinary(CopyTransferSchema, msg.payload);
  const record = store.get(header.transferId);
  if (!record)
    throw new ConnectError(
      `copy transfer ${header.transferId} is not stored at ${store.nodeId}`,
      Code.FailedPrecondition,
    );
  if (record.forwardedAt) {
    await store.markForwarded(record.transferId, record.nextHop ?? "the next hop");
    return;
  }
  const path = record.path;
  if (!path || !existsSync(path))
    throw new ConnectError(
      `the file of copy transfer ${header.transferId} is missing at ${store.nodeId}${path ? ` (${path})` : ""}`,
      Code.FailedPrecondition,
    );
  async function* parts(): AsyncGenerator<PushCopyRequest> {
    yield { $typeName: "lrs.v1.PushCopyRequest", part: { case: "header", value: header } };
    for await (const chunk of fileChunks(path as string))
      yield { $typeName: "lrs.v1.PushCopyRequest", part: { case: "chunk", value: chunk } };
  }
  const started = Date.now();
  const res = await client.pushCopy(parts(), {
    timeoutMs: pushTimeoutMs(record.size),
    ...(o.signal ? { signal: o.signal } : {}),
  });
  await store.markForwarded(record.transferId, res.nodeId || record.nextHop || "the next hop");
  o.log?.info(
    {
      transferId: record.transferId,
      to: res.nodeId,
      size: record.size,
      ms: Date.now() - started,
      duplicate: res.duplicate,
      disposition: res.disposition,
    },
    "copy handed to the next hop",
  );
}

/** ParentLink senders for copies: the parent's CopyTransferService.PushCopy. `store` is read when a copy goes. */
export function copyParentSenders(
  store: () => CopyStore | undefined,
  log?: Logger,
): NonNullable<ParentLinkOptions["senders"]> {
  return {
    [COPY_KIND]: async (msg, link) => {
      const copies = store();
      if (!copies) throw new Error("document delivery is not set up on this node yet");
      await pushCopy(copies, msg, clientFor(CopyTransferService, link.transport), log ? { log } : {});
    },
  };
}

/** A sender for the delivery workers to the tier below (ill-net child-delivery.ts). */
export function copyChildSender(
  store: CopyStore,
  peers: { client(service: typeof CopyTransferService, id: string): Client<typeof CopyTransferService> },
  log?: Logger,
): (msg: OutboxMessage, peerId: string, signal: AbortSignal) => Promise<void> {
  return (msg, peerId, signal) =>
    pushCopy(store, msg, peers.client(CopyTransferService, peerId), { signal, ...(log ? { log } : {}) });
}
