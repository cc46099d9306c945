// IllService at a member: the end of the line for ILL traffic. Only Deliver (from its regional
// center); BuildRota and Trace are the centers'.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { ill, illServicePb, mapErrors, type TrafficRecorder } from "@lrs/shared";
import type { IllEngine } from "../ill/engine.js";
import { countFilled } from "../ill/traffic.js";
import type { VisitDesk } from "../visit/desk.js";

/**
 * Deliver applies an envelope for this member (or records a confirmation of one of ours) and
 * answers once it is stored; refusals travel back as ERROR confirmations, not as RPC errors. An
 * envelope that is not well formed or not for this member is InvalidArgument, naming the field.
 */
export function illService(
  engine: Pick<IllEngine, "deliver" | "store">,
  nodeId: string,
  traffic?: TrafficRecorder,
  visits?: Pick<VisitDesk, "receive">,
): Partial<ServiceImpl<typeof illServicePb.IllService>> {
  /** Deliver's work for one envelope (synchronous: a batch runs it in one transaction). */
  const deliverOne = (env: illServicePb.IllEnvelope): illServicePb.DeliverResponse => {
    // Reciprocal borrowing's notices travel in the same envelopes; the visit desk applies them.
    if (env.message.case === "visitNotice" && visits) {
      ill.checkEnvelope(env);
      if (env.destinationAgencyId !== nodeId)
        throw new ConnectError(
          `envelope.destinationAgencyId: names ${env.destinationAgencyId}, not ${nodeId}`,
          Code.InvalidArgument,
        );
      const outcome = visits.receive(env.messageId, env.originAgencyId, env.message.value);
      return create(illServicePb.DeliverResponseSchema, { ...outcome, nodeId });
    }
    const outcome = engine.deliver(env);
    if (traffic) countFilled(traffic, engine.store, env, outcome);
    return create(illServicePb.DeliverResponseSchema, {
      duplicate: outcome.duplicate,
      nodeId,
      disposition: outcome.disposition,
    });
  };
  return {
    deliver: mapErrors(async (req) => {
      if (!req.envelope) throw new ConnectError("envelope is required", Code.InvalidArgument);
      return deliverOne(req.envelope);
    }),
    // In order, in one transaction: one commit for all (see ill.deliverInOrder).
    deliverBatch: mapErrors(async (req) => ({
      results: ill.deliverInOrder(engine.store.database, req.envelopes, deliverOne),
    })),
  };
}
