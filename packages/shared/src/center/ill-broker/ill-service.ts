// IllService at regional and national centers: Deliver (the relay), BuildRota (the broker) and
// Trace, and the parts a center's node is built from.
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Client, ConnectRouter, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { copyChildSender } from "../../delivery/sender.js";
import { COPY_KIND, type CopyStore } from "../../delivery/store.js";
import { institutionsOf } from "../../directory/lookup.js";
import type { DirectorySource } from "../../directory/source.js";
import { AcquisitionsService } from "../../gen/lrs/v1/acquisitions_pb.js";
import { CatalogService } from "../../gen/lrs/v1/catalog_pb.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { CopyTransferService } from "../../gen/lrs/v1/copy_pb.js";
import {
  IllService,
  type TraceHop,
  type TraceResponse,
  TraceResponseSchema,
} from "../../gen/lrs/v1/ill_service_pb.js";
import { NodeCoverage_Status } from "../../gen/lrs/v1/search_pb.js";
import type { Logger } from "../../log.js";
import type { NodeContext } from "../../node/base-node.js";
import { clientFor, type NodeTransport } from "../../rpc/client.js";
import { mapErrors, ValidationError } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import { cover, fanOut, remainingMs } from "../../search/deadline.js";
import type { NodeIdentity } from "../../tls/pki.js";
import { acquisitionsCenterService } from "../acquisitions/demand-service.js";
import { runDemandUpstream } from "../acquisitions/demand-upstream.js";
import { copyCenterService } from "../delivery/relay-service.js";
import type { PeerClients } from "../peers.js";
import { DemandLog } from "../union/demand.js";
import type { UnionCatalog } from "../union/union-catalog.js";
import { RotaBroker } from "./broker.js";
import { runChildDelivery } from "./child-delivery.js";
import { IllRelay } from "./relay.js";

export interface IllCenterServiceOptions {
  self: NodeIdentity;
  relay: IllRelay;
  broker: RotaBroker;
  directory: DirectorySource;
  peers: Pick<PeerClients, "client">;
  log: Logger;
  /** At a regional center: the national center's IllService, and its id (Trace follows there). */
  national?: { ill: Client<typeof IllService>; id: () => string };
  /** Copies passing through (document delivery): Trace shows them beside the messages. */
  copies?: Pick<CopyStore, "hops">;
}

function callerOf(ctx: HandlerContext): NodeIdentity {
  return ctx.values.get(peerKey).identity!;
}

function compareHops(a: TraceHop, b: TraceHop): number {
  const ta = a.receivedAt ? timestampDate(a.receivedAt).getTime() : 0;
  const tb = b.receivedAt ? timestampDate(b.receivedAt).getTime() : 0;
  return ta - tb || a.messageId.localeCompare(b.messageId) || a.nodeId.localeCompare(b.nodeId);
}

/**
 * IllService of a regional or the national center. The policy decides who may call each method
 * at all; the handlers decide what a caller may send or see (relay.ts, broker.ts, `visibleTo`).
 */
export function illCenterService(o: IllCenterServiceOptions): ServiceImpl<typeof IllService> {
  const { self, relay, broker } = o;

  /** Which hops a caller may see: a member its own messages, a regional center its region's, others all. */
  const visibleTo = (caller: NodeIdentity): ((h: TraceHop) => boolean) => {
    if (caller.id === self.id) return () => true;
    if (caller.tier === Tier.MEMBER)
      return (h) => h.originAgencyId === caller.id || h.destinationAgencyId === caller.id;
    if (self.tier === Tier.NATIONAL && caller.tier === Tier.REGIONAL) {
      const dir = institutionsOf(o.directory);
      return (h) =>
        dir.get(h.originAgencyId)?.region === caller.region ||
        dir.get(h.destinationAgencyId)?.region === caller.region;
    }
    // The national center asking a regional center (its parent, following a trace).
    return () => true;
  };

  /**
   * The nodes a trace follows to, and whether they follow further. A regional center asks the
   * national center, which asks the other regional centers but tells them not to follow: every
   * hop of a message is then asked exactly once, and a trace never loops.
   */
  const followTargets = (hops: readonly TraceHop[], caller: NodeIdentity) => {
    if (self.tier === Tier.REGIONAL) {
      const nationalId = o.national?.id() || "";
      const crosses = hops.some((h) => h.nextHop === nationalId || h.receivedFrom === nationalId);
      return o.national && nationalId && crosses && caller.tier !== Tier.NATIONAL
        ? { targets: [nationalId], follow: true }
        : { targets: [], follow: false };
    }
    const dir = institutionsOf(o.directory);
    const centers = new Set(
      hops
        .flatMap((h) => [h.nextHop, h.receivedFrom])
        .filter((id) => id !== caller.id && dir.get(id)?.tier === Tier.REGIONAL),
    );
    return { targets: [...centers].sort(), follow: false };
  };

  const traceClient = (target: string): Client<typeof IllService> =>
    self.tier === Tier.REGIONAL && o.national ? o.national.ill : o.peers.client(IllService, target);

  return {
    deliver: mapErrors((req, ctx: HandlerContext) => {
      if (!req.envelope) throw new ValidationError("envelope is required");
      return relay.deliver(req.envelope, callerOf(ctx));
    }),

    deliverBatch: mapErrors((req, ctx: HandlerContext) => {
      const caller = callerOf(ctx);
      return { results: relay.deliverBatch(req.envelopes, caller) };
    }),

    redeliver: mapErrors((req, ctx: HandlerContext) => {
      if (!req.since) throw new ValidationError("since is required");
      return { requeued: relay.redeliverTo(callerOf(ctx).id, timestampDate(req.since)) };
    }),

    buildRota: mapErrors((req, ctx: HandlerContext) =>
      broker.buildRota(req, callerOf(ctx), { signal: ctx.signal, timeoutMs: ctx.timeoutMs() }),
    ),

    trace: mapErrors(async (req, ctx: HandlerContext): Promise<TraceResponse> => {
      const requestId = req.requestId.trim();
      if (!requestId) throw new ValidationError("request_id is required");
      const started = Date.now();
      const deadline = remainingMs(ctx.timeoutMs());
      const caller = callerOf(ctx);
      const visible = visibleTo(caller);
      const hops = [...relay.hops(requestId), ...(o.copies?.hops(requestId) ?? [])].filter(visible);
      const coverage = [cover(self.id, NodeCoverage_Status.ANSWERED, "", Date.now() - started, hops.length)];
      if (req.follow && hops.length > 0) {
        const { targets, follow } = followTargets(hops, caller);
        const fanned = await fanOut(
          targets,
          deadline - (Date.now() - started),
          (target, signal, timeoutMs) =>
            traceClient(target).trace({ requestId, follow }, { signal, timeoutMs }),
          (v) => v.hops.length,
        );
        coverage.push(...fanned.coverage);
        for (const r of fanned.results) {
          hops.push(...r.value.hops.filter(visible));
          for (const c of r.value.coverage)
            if (!coverage.some((x) => x.nodeId === c.nodeId)) coverage.push(c);
        }
      }
      hops.sort(compareHops);
      return create(TraceResponseSchema, { hops, coverage });
    }),
  };
}

export interface IllCenterOptions {
  ctx: NodeContext;
  directory: DirectorySource;
  union: UnionCatalog;
  peers: PeerClients;
  /** At a regional center: the national center, reached through the parent link. */
  national?: { transport: NodeTransport; id: () => string };
  /**
   * Copy files passing through (document delivery). The same store sends them upward (a regional
   * center's parent senders, copyParentSenders) and, here, to the tier below.
   */
  copies: CopyStore;
}

/** What a center's node is built from for ILL: the relay, the broker, the service and its delivery workers. */
export interface IllCenterParts {
  relay: IllRelay;
  broker: RotaBroker;
  serviceNames: string[];
  routes: (router: ConnectRouter) => void;
  /** The outbox workers to the tier below (BaseNodeParts.background). */
  background: Array<(signal: AbortSignal) => Promise<void>>;
}

/**
 * ILL at a regional or the national center: IllService (store-and-forward, broker, trace),
 * CopyTransferService (copies, store-and-forward) and the workers that deliver the outbox to
 * members (regional) or regional centers (national), envelopes and copies in one queue per node.
 * The way up is the parent link's: a regional center passes `illParentSenders()` to openChildContext.
 */
export function illCenterParts(o: IllCenterOptions): IllCenterParts {
  const { ctx, directory, union, peers } = o;
  const log = ctx.log.child({ part: "ill" });
  const self: NodeIdentity = { id: ctx.cfg.id, tier: ctx.cfg.tier, region: ctx.cfg.region };
  const relay = new IllRelay({ db: ctx.db, outbox: ctx.outbox, directory, self, log });
  const national = o.national
    ? {
        ill: clientFor(IllService, o.national.transport),
        catalog: clientFor(CatalogService, o.national.transport),
        id: o.national.id,
      }
    : undefined;
  const broker = new RotaBroker({
    self,
    db: ctx.db,
    union,
    directory,
    peers,
    relay,
    log,
    partnersInRota: ctx.cfg.iso18626.partnersInRota,
    ...(national ? { national, demandUpstream: { outbox: ctx.outbox, region: self.region } } : {}),
  });
  const demandUp = o.national ? clientFor(AcquisitionsService, o.national.transport) : undefined;
  return {
    relay,
    broker,
    serviceNames: [IllService.typeName, CopyTransferService.typeName, AcquisitionsService.typeName],
    routes: (router) => {
      // ILL demand by title (acquisitions) is counted from what the broker sees.
      router.service(
        AcquisitionsService,
        acquisitionsCenterService({
          self,
          db: ctx.db,
          directory,
          peers,
          ...(o.national && demandUp ? { national: { client: demandUp, id: o.national.id } } : {}),
        }),
      );
      router.service(
        IllService,
        illCenterService({
          self,
          relay,
          broker,
          directory,
          peers,
          log,
          copies: o.copies,
          ...(national ? { national: { ill: national.ill, id: national.id } } : {}),
        }),
      );
      router.service(
        CopyTransferService,
        copyCenterService({ relay, copies: o.copies, maxBytes: ctx.cfg.ill.max_copy_size }),
      );
    },
    background: [
      (signal) =>
        runChildDelivery(
          {
            db: ctx.db,
            outbox: ctx.outbox,
            peers,
            log,
            senders: { [COPY_KIND]: copyChildSender(o.copies, peers, log.child({ part: "copy" })) },
          },
          signal,
        ),
      // A regional center's counted ILL demand goes up to the national center (its reports).
      ...(demandUp
        ? [
            (signal: AbortSignal) => {
              new DemandLog(ctx.db, { outbox: ctx.outbox, region: self.region }).announce();
              return runDemandUpstream(
                { outbox: ctx.outbox, national: demandUp, log: log.child({ part: "demand-up" }) },
                signal,
              );
            },
          ]
        : []),
    ],
  };
}
