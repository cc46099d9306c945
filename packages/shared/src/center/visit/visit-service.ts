// VisitService at regional and national centers: a visited library's question about a visiting
// reader's credential goes up and across to the reader's home library, hop by hop, like an ILL
// message but answered at once (the desk waits). Only the home institution and the credential id
// travel; the answer says nothing of who the reader is.
import type { Client, HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { institutionsOf } from "../../directory/lookup.js";
import type { DirectorySource } from "../../directory/source.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { type CheckVisitorRequest, VisitService } from "../../gen/lrs/v1/visit_pb.js";
import { mapErrors, ValidationError } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import type { NodeIdentity } from "../../tls/pki.js";
import type { PeerClients } from "../peers.js";

/** How long one hop waits for the next (the desk's whole check should take seconds). */
export const CHECK_VISITOR_TIMEOUT_MS = 10_000;

/** A credential check refused for who asks (a member asking for another). */
export class VisitForbiddenError extends Error {
  override readonly name = "VisitForbiddenError";
}

export interface VisitCenterOptions {
  self: NodeIdentity;
  directory: DirectorySource;
  peers: Pick<PeerClients, "client">;
  /** At a regional center: the national center's VisitService. */
  national?: Client<typeof VisitService>;
}

function callerOf(ctx: HandlerContext): NodeIdentity {
  return ctx.values.get(peerKey).identity!;
}

/** The hop after this center for a check whose reader's home is `homeId`. */
function nextHop(o: VisitCenterOptions, homeId: string): { client: Client<typeof VisitService>; id: string } {
  const home = institutionsOf(o.directory).get(homeId);
  if (!home || home.tier !== Tier.MEMBER)
    throw new ValidationError(`home_agency_id: ${homeId || "(empty)"} is not a member of the federation`);
  if (home.revoked) throw new ValidationError(`home_agency_id: ${homeId} has been revoked`);
  if (o.self.tier === Tier.REGIONAL) {
    if (home.region === o.self.region) return { client: o.peers.client(VisitService, homeId), id: homeId };
    if (!o.national)
      throw new ValidationError(`${homeId} is in region ${home.region}, and no national center is known`);
    return { client: o.national, id: "national" };
  }
  const rc = [...institutionsOf(o.directory).values()].find(
    (i) => i.tier === Tier.REGIONAL && i.region === home.region && !i.revoked,
  );
  if (!rc) throw new ValidationError(`no regional center serves region ${home.region} of ${homeId}`);
  return { client: o.peers.client(VisitService, rc.id), id: rc.id };
}

/**
 * What the request must hold (checked first: InvalidArgument names the field), then who may ask:
 * a member for itself (at its regional center; an empty visited_agency_id means the caller), the
 * tier above or below on a member's behalf.
 */
function authorize(req: CheckVisitorRequest, caller: NodeIdentity): void {
  if (req.credentialId === "") throw new ValidationError("credential_id is required");
  if (req.homeAgencyId === "") throw new ValidationError("home_agency_id is required");
  if (caller.tier === Tier.MEMBER && req.visitedAgencyId === "") req.visitedAgencyId = caller.id;
  if (req.homeAgencyId === req.visitedAgencyId)
    throw new ValidationError("home_agency_id: a reader visiting its own library needs no credential check");
  if (caller.tier === Tier.MEMBER && req.visitedAgencyId !== caller.id)
    throw new VisitForbiddenError(
      `${caller.id} may check credentials only for itself, not for ${req.visitedAgencyId}`,
    );
}

export function visitCenterService(o: VisitCenterOptions): Partial<ServiceImpl<typeof VisitService>> {
  return {
    checkVisitor: mapErrors(async (req, ctx) => {
      authorize(req, callerOf(ctx));
      const hop = nextHop(o, req.homeAgencyId);
      return hop.client.checkVisitor(req, {
        timeoutMs: Math.min(CHECK_VISITOR_TIMEOUT_MS, ctx.timeoutMs() ?? CHECK_VISITOR_TIMEOUT_MS),
        signal: ctx.signal,
      });
    }),
  };
}
