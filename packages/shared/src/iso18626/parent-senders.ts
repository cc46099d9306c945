// Sending ILL traffic to the tier above: every ILL outbox kind becomes one Deliver call.
import { IllService } from "../gen/lrs/v1/ill_service_pb.js";
import type { ParentLinkOptions } from "../node/parent-link.js";
import { clientFor } from "../rpc/client.js";
import { DELIVER_TIMEOUT_MS, illBatchSender } from "./deliver-batch.js";
import { envelopeFromOutbox, ILL_OUTBOX_KINDS } from "./envelope.js";

export { DELIVER_TIMEOUT_MS };

/** ParentLink's batch sender: the ILL envelopes queued for the parent go up in one DeliverBatch. */
export function illParentBatch(): NonNullable<ParentLinkOptions["batch"]> {
  return (link) => {
    const client = clientFor(IllService, link.transport);
    return illBatchSender(() => client);
  };
}

/** ParentLink senders for the ILL outbox kinds: the parent's IllService.Deliver. */
export function illParentSenders(): NonNullable<ParentLinkOptions["senders"]> {
  return Object.fromEntries(
    ILL_OUTBOX_KINDS.map((kind) => [
      kind,
      async (msg, link) => {
        await clientFor(IllService, link.transport).deliver(
          { envelope: envelopeFromOutbox(msg.kind, msg.payload) },
          { timeoutMs: DELIVER_TIMEOUT_MS },
        );
      },
    ]),
  );
}
