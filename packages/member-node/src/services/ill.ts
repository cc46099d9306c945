// IllService at a member: the end of the line for ILL traffic. Only Deliver (from its regional
// center); BuildRota and Trace are the centers'.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { illServicePb, mapErrors, type TrafficRecorder } from "@lrs/shared";
import type { IllEngine } from "../ill/engine.js";
import { countFilled } from "../ill/traffic.js";

/**
 * Deliver applies an envelope for this member (or records a confirmation of one of ours) and
 * answers once it is stored; refusals travel back as ERROR confirmations, not as RPC errors. An
 * envelope that is not well formed or not for this member is InvalidArgument, naming the field.
 */
export function illService(
  engine: Pick<IllEngine, "deliver" | "store">,
  nodeId: string,
  traffic?: TrafficRecorder,
): Partial<ServiceImpl<typeof illServicePb.IllService>> {
  return {
    deliver: mapErrors(async (req) => {
      if (!req.envelope) throw new ConnectError("envelope is required", Code.InvalidArgument);
      const outcome = engine.deliver(req.envelope);
      if (traffic) countFilled(traffic, engine.store, req.envelope, outcome);
      return create(illServicePb.DeliverResponseSchema, {
        duplicate: outcome.duplicate,
        nodeId,
        disposition: outcome.disposition,
      });
    }),
  };
}
