// A regional center's ILL demand on its way to the national center: the outbox queue
// DEMAND_DESTINATION (filled by union/demand.ts in the transaction that counts a request) delivered
// in order to AcquisitionsService.PostDemand, retried with the outbox's stored backoff.
import { fromBinary } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import { type AcquisitionsService, PostDemandRequestSchema } from "../../gen/lrs/v1/acquisitions_pb.js";
import type { Logger } from "../../log.js";
import { type Outbox, runOutboxWorker } from "../../outbox.js";
import { DEMAND_DESTINATION, DEMAND_POST_KIND } from "../union/demand.js";

/** How long one PostDemand may take before the outbox retries it. */
const POST_TIMEOUT_MS = 10_000;

export function runDemandUpstream(
  o: { outbox: Outbox; national: Client<typeof AcquisitionsService>; log: Logger },
  signal: AbortSignal,
): Promise<void> {
  return runOutboxWorker({
    outbox: o.outbox,
    destination: DEMAND_DESTINATION,
    log: o.log,
    signal,
    send: async (msg) => {
      if (msg.kind !== DEMAND_POST_KIND) throw new Error(`no sender for demand outbox kind "${msg.kind}"`);
      const res = await o.national.postDemand(fromBinary(PostDemandRequestSchema, msg.payload), {
        timeoutMs: POST_TIMEOUT_MS,
        signal,
      });
      o.log.debug({ messageId: msg.messageId, accepted: res.accepted }, "ILL demand delivered upward");
    },
  });
}
