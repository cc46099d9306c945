// Sending ILL traffic to the tier above: every ILL outbox kind becomes one Deliver call.
import { IllService } from "../gen/lrs/v1/ill_service_pb.js";
import type { ParentLinkOptions } from "../node/parent-link.js";
import { clientFor } from "../rpc/client.js";
import { envelopeFromOutbox, ILL_OUTBOX_KINDS } from "./envelope.js";

/** How long one hop may take to store an envelope before the outbox retries it. */
export const DELIVER_TIMEOUT_MS = 10_000;

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
