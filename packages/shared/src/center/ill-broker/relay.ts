// Store and forward of ILL envelopes at regional and national centers: one Deliver stores the
// envelope and, in the same transaction, puts it in the outbox for the next hop.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { Database } from "../../db.js";
import { institutionsOf, regionalCenterOf } from "../../directory/lookup.js";
import type { DirectorySource } from "../../directory/source.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import {
  type DeliverResponse,
  DeliverResponseSchema,
  type IllEnvelope,
  type TraceHop,
  TraceHopSchema,
} from "../../gen/lrs/v1/ill_service_pb.js";
import { deliverInOrder } from "../../iso18626/deliver-batch.js";
import { checkEnvelope, describeEnvelope, envelopeBytes, ILL_KINDS } from "../../iso18626/envelope.js";
import { ISO18626_CODES } from "../../iso18626/iso18626-xml.js";
import { IllForbiddenError, IllRouteError } from "../../iso18626/route-errors.js";
import type { Logger } from "../../log.js";
import { PARENT } from "../../node/parent-link.js";
import type { Outbox } from "../../outbox.js";
import { NotFoundError } from "../../rpc/errors.js";
import type { NodeIdentity } from "../../tls/pki.js";
import { tierName } from "../../tls/pki.js";

/** Outbox destinations of the tier below: "child:<institution id>" (a member, or a regional center). */
export const CHILD_PREFIX = "child:";

export function childDestination(id: string): string {
  return `${CHILD_PREFIX}${id}`;
}

/** Outbox destinations of the ISO 18626 gateway: "iso18626:<external partner id>". */
export const GATEWAY_PREFIX = "iso18626:";

export function gatewayDestination(partnerId: string): string {
  return `${GATEWAY_PREFIX}${partnerId}`;
}

/** The external partner (outside the federation, reached through the ISO 18626 gateway) an id names. */
export function externalPartnerOf(source: DirectorySource, id: string) {
  return source.current().externalPartners.find((p) => p.id === id);
}

/**
 * The borrower's request id of an ISO request id: the part before the last "/" (the rota
 * position), as the member's store writes it (member-node ill/store.ts isoRequestId).
 */
export function requestIdOf(requestingAgencyRequestId: string): string {
  const slash = requestingAgencyRequestId.lastIndexOf("/");
  return slash < 0 ? requestingAgencyRequestId : requestingAgencyRequestId.slice(0, slash);
}

/** Where an envelope goes from this node. */
export interface Route {
  /** The outbox destination: PARENT or "child:<id>". */
  destination: string;
  /** The node that destination is. */
  nextHop: string;
}

/** Requests made and filled by one institution, as the relay has seen them. */
export interface Balance {
  lent: number;
  borrowed: number;
}

export interface IllRelayOptions {
  db: Database;
  outbox: Outbox;
  directory: DirectorySource;
  /** This node: a regional center (with its region) or the national center. */
  self: NodeIdentity;
  log: Logger;
  now?: () => Date;
}

interface RelayRow {
  message_id: string;
  kind: string;
  origin: string;
  destination: string;
  requesting_agency_request_id: string;
  received_from: string;
  received_at: string;
  next_hop: string;
  delivered_at: string | null;
  attempts: number | null;
  last_error: string | null;
}

/**
 * The relay of one center. Deliver authorizes the envelope against the caller's certificate (a
 * member speaks only for itself, a regional center only for its region's members, the national
 * center hands a regional center only its own members' mail), routes it by the directory, and
 * stores it once per message id.
 */
export class IllRelay {
  readonly #o: IllRelayOptions;
  #intercept: ((env: IllEnvelope) => string | undefined) | undefined;

  /**
   * Lets the ISO 18626 gateway's broker mode take the envelopes of the requests it brokers (a
   * lender's answers): `fn` handles one inside the storing transaction and names where it went,
   * or answers undefined to leave it to the routing.
   */
  interceptWith(fn: (env: IllEnvelope) => string | undefined): void {
    this.#intercept = fn;
  }

  /** The last status `origin` sent about an ISO request id through this node, as its XML code ("" when none). */
  lastStatusOf(requestingAgencyRequestId: string, origin: string): string {
    const row = this.#o.db.sqlite
      .prepare(
        `SELECT status FROM ill_relay WHERE requesting_agency_request_id = ? AND origin = ?
           AND message_type = 'supplyingAgencyMessage' AND status != ''
         ORDER BY received_at DESC, rowid DESC LIMIT 1`,
      )
      .get(requestingAgencyRequestId, origin) as { status: string } | undefined;
    return row?.status ?? "";
  }

  /**
   * Delivers again the envelopes delivered to `nodeId` since `since`: it was restored from a
   * backup and lost them (it applies by message id, so those it still has are ignored).
   */
  redeliverTo(nodeId: string, since: Date): number {
    const n = this.#o.outbox.requeueDelivered(childDestination(nodeId), [ILL_KINDS.envelope], since);
    this.#o.log.info(
      { node: nodeId, since: since.toISOString(), requeued: n },
      "envelopes queued again for a restored node",
    );
    return n;
  }

  constructor(o: IllRelayOptions) {
    if (o.self.tier !== Tier.REGIONAL && o.self.tier !== Tier.NATIONAL)
      throw new Error(
        `an ILL relay runs at a regional or the national center, not at a ${tierName(o.self.tier)}`,
      );
    this.#o = o;
  }

  get nodeId(): string {
    return this.#o.self.id;
  }

  /**
   * Stores one envelope for its next hop, or answers `duplicate` when it is here already.
   * @throws EnvelopeError (the field), IllForbiddenError, NotFoundError (unknown destination),
   *   IllRouteError (revoked, not a member, no regional center).
   */
  deliver(env: IllEnvelope, caller: NodeIdentity): DeliverResponse {
    checkEnvelope(env);
    this.authorize(env, caller);
    return this.store(env, caller);
  }

  /**
   * Stores several envelopes from one caller in order, in one transaction (DeliverBatch): the
   * answers of those stored, from the first; see deliverInOrder for a refusal.
   */
  deliverBatch(envelopes: readonly IllEnvelope[], caller: NodeIdentity): DeliverResponse[] {
    return deliverInOrder(this.#o.db, envelopes, (env) => this.deliver(env, caller));
  }

  /**
   * Stores an envelope that this node's ISO 18626 gateway took from an external partner (who
   * has been authenticated there): routed like any other, with this node as the sender. Call
   * inside the gateway's transaction.
   */
  acceptFromGateway(env: IllEnvelope): DeliverResponse {
    checkEnvelope(env);
    return this.store(env, { ...this.#o.self, region: "" });
  }

  private store(env: IllEnvelope, caller: NodeIdentity): DeliverResponse {
    const { db, outbox, log } = this.#o;
    return db.transaction(() => {
      const seen = db.sqlite
        .prepare("SELECT received_from, next_hop FROM ill_relay WHERE message_id = ?")
        .get(env.messageId) as { received_from: string; next_hop: string } | undefined;
      if (seen) {
        // A retry after a lost answer is normal; the same id from another node is not (a loop, or a reused id).
        if (seen.received_from !== caller.id)
          log.warn(
            { messageId: env.messageId, first: seen.received_from, now: caller.id },
            "ILL envelope arrived again from another node; kept the first",
          );
        return create(DeliverResponseSchema, {
          duplicate: true,
          nodeId: this.nodeId,
          disposition: `already stored for ${seen.next_hop}`,
        });
      }
      const taken = this.#intercept?.(env);
      const route = taken ? { destination: "", nextHop: taken } : this.route(env, caller);
      const m = env.message;
      db.sqlite
        .prepare(
          `INSERT INTO ill_relay (message_id, kind, message_type, status, action, origin, destination,
             requesting_agency_request_id, request_id, received_from, received_at, next_hop, outbox_destination)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          env.messageId,
          describeEnvelope(env),
          m.case ?? "",
          m.case === "supplyingAgencyMessage"
            ? (ISO18626_CODES.status.toXml(m.value.statusInfo?.status ?? 0) ?? "")
            : "",
          m.case === "requestingAgencyMessage" ? (ISO18626_CODES.action.toXml(m.value.action) ?? "") : "",
          env.originAgencyId,
          env.destinationAgencyId,
          env.requestingAgencyRequestId,
          requestIdOf(env.requestingAgencyRequestId),
          caller.id,
          (this.#o.now?.() ?? new Date()).toISOString(),
          route.nextHop,
          route.destination,
        );
      if (!taken) outbox.enqueue(route.destination, ILL_KINDS.envelope, envelopeBytes(env), env.messageId);
      log.info(
        {
          messageId: env.messageId,
          kind: describeEnvelope(env),
          origin: env.originAgencyId,
          destination: env.destinationAgencyId,
          from: caller.id,
          nextHop: route.nextHop,
        },
        "ILL envelope stored for the next hop",
      );
      return create(DeliverResponseSchema, {
        duplicate: false,
        nodeId: this.nodeId,
        disposition: `stored for ${route.nextHop}`,
      });
    });
  }

  /** Whether `caller` may hand this node the envelope. Throws IllForbiddenError saying why not. */
  authorize(env: IllEnvelope, caller: NodeIdentity): void {
    this.authorizeHop(env.originAgencyId, env.destinationAgencyId, caller);
  }

  /**
   * Whether `caller` may hand this node traffic from member `originId` for member `destinationId` (an
   * envelope, or a copy's file). Throws IllForbiddenError saying why not.
   */
  authorizeHop(originId: string, destinationId: string, caller: NodeIdentity): void {
    const env = { originAgencyId: originId, destinationAgencyId: destinationId };
    const me = this.#o.self;
    const dir = institutionsOf(this.#o.directory);
    if (me.tier === Tier.REGIONAL) {
      if (caller.tier === Tier.MEMBER) {
        if (caller.region !== me.region)
          throw new IllForbiddenError(`${caller.id} is not a member of region ${me.region}`);
        if (env.originAgencyId !== caller.id)
          throw new IllForbiddenError(
            `${caller.id} may send only its own messages, not ones from ${env.originAgencyId}`,
          );
        return;
      }
      if (caller.tier === Tier.NATIONAL) {
        const dest = dir.get(env.destinationAgencyId);
        if (dest?.tier !== Tier.MEMBER || dest.region !== me.region)
          throw new IllForbiddenError(
            `the national center may hand ${me.id} messages for members of region ${me.region} only, not for ${env.destinationAgencyId}`,
          );
        return;
      }
    } else if (caller.tier === Tier.REGIONAL) {
      const origin = dir.get(env.originAgencyId);
      if (origin?.tier !== Tier.MEMBER || origin.region !== caller.region)
        throw new IllForbiddenError(
          `${caller.id} may send messages of members of region ${caller.region} only, and ${env.originAgencyId} is not one`,
        );
      return;
    }
    throw new IllForbiddenError(
      `a ${tierName(caller.tier)} (${caller.id}) does not hand ILL messages to ${me.id}`,
    );
  }

  /**
   * The next hop of an envelope: at a regional center its own member, or the national center for
   * any other region; at the national center the regional center of the destination's region.
   */
  route(env: IllEnvelope, caller: NodeIdentity): Route {
    return this.routeTo(env.destinationAgencyId, caller);
  }

  /** The next hop of traffic for member `id` (an envelope, or a copy's file) that `caller` handed this node. */
  routeTo(id: string, caller: NodeIdentity): Route {
    const me = this.#o.self;
    const dest = institutionsOf(this.#o.directory).get(id);
    if (!dest && externalPartnerOf(this.#o.directory, id)) {
      // Outside the federation: the national center's gateway speaks ISO 18626 XML to it.
      if (me.tier === Tier.NATIONAL)
        return { destination: gatewayDestination(id), nextHop: `${id} (ISO 18626)` };
      return { destination: PARENT, nextHop: this.#o.directory.current().authorityId || "national" };
    }
    if (!dest) throw new NotFoundError(`destination agency ${id} is not in the federation directory`);
    if (dest.revoked) throw new IllRouteError(`destination agency ${id} has been revoked`);
    if (dest.tier !== Tier.MEMBER)
      throw new IllRouteError(`destination agency ${id} is a ${tierName(dest.tier)}, not a member library`);
    if (me.tier === Tier.REGIONAL) {
      if (dest.region === me.region) return { destination: childDestination(id), nextHop: id };
      return { destination: PARENT, nextHop: this.#o.directory.current().authorityId || "national" };
    }
    // Back to the region it came from would bounce: that center already has it and would drop it as a duplicate.
    if (dest.region === caller.region)
      throw new IllRouteError(
        `destination agency ${id} is in ${caller.id}'s own region ${dest.region}; its regional center delivers it`,
      );
    const center = regionalCenterOf(this.#o.directory, dest.region);
    if (!center) throw new IllRouteError(`no regional center serves region ${dest.region} (of ${id})`);
    return { destination: childDestination(center), nextHop: center };
  }

  /**
   * The messages of a request as this node saw them: by the borrower's request id (every rota
   * position) or by an exact ISO request id; with the outbox's word on the next hop.
   */
  hops(requestId: string): TraceHop[] {
    const rows = this.#o.db.sqlite
      .prepare(
        `SELECT r.message_id, r.kind, r.origin, r.destination, r.requesting_agency_request_id,
           r.received_from, r.received_at, r.next_hop, o.delivered_at, o.attempts, o.last_error
         FROM ill_relay r LEFT JOIN outbox o ON o.message_id = r.message_id
         WHERE r.request_id = ? OR r.requesting_agency_request_id = ?
         ORDER BY r.received_at, r.rowid`,
      )
      .all(requestId, requestId) as RelayRow[];
    return rows.map((r) =>
      create(TraceHopSchema, {
        nodeId: this.nodeId,
        messageId: r.message_id,
        kind: r.kind,
        originAgencyId: r.origin,
        destinationAgencyId: r.destination,
        requestingAgencyRequestId: r.requesting_agency_request_id,
        receivedFrom: r.received_from,
        receivedAt: timestampFromDate(new Date(r.received_at)),
        nextHop: r.next_hop,
        ...(r.delivered_at ? { forwardedAt: timestampFromDate(new Date(r.delivered_at)) } : {}),
        attempts: r.attempts ?? 0,
        lastError: r.last_error ?? "",
      }),
    );
  }

  /**
   * Loans and copies each institution supplied (a SupplyingAgencyMessage Loaned or CopyCompleted
   * it sent) and requests it made (a Request it sent; the rota positions of one borrower's
   * request count once), as they passed through this node.
   */
  balances(ids: readonly string[]): Map<string, Balance> {
    const out = new Map<string, Balance>(ids.map((id) => [id, { lent: 0, borrowed: 0 }]));
    if (ids.length === 0) return out;
    const json = JSON.stringify(ids);
    const { sqlite } = this.#o.db;
    const lent = sqlite
      .prepare(
        `SELECT origin, COUNT(DISTINCT requesting_agency_request_id) AS n FROM ill_relay
         WHERE origin IN (SELECT value FROM json_each(?)) AND message_type = 'supplyingAgencyMessage'
           AND status IN ('Loaned', 'CopyCompleted')
         GROUP BY origin`,
      )
      .all(json) as Array<{ origin: string; n: number }>;
    const borrowed = sqlite
      .prepare(
        `SELECT origin, COUNT(DISTINCT request_id) AS n FROM ill_relay
         WHERE origin IN (SELECT value FROM json_each(?)) AND message_type = 'request'
         GROUP BY origin`,
      )
      .all(json) as Array<{ origin: string; n: number }>;
    for (const r of lent) out.get(r.origin)!.lent = r.n;
    for (const r of borrowed) out.get(r.origin)!.borrowed = r.n;
    return out;
  }
}
