// CopyTransferService at regional and national centers: one hop of a copy, authorized and routed
// exactly as the ILL relay authorizes and routes an envelope between the same two members.
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { CopyStore } from "../../delivery/store.js";
import type { CopyTransferService } from "../../gen/lrs/v1/copy_pb.js";
import { mapErrors } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import type { IllRelay } from "../ill-broker/relay.js";

export interface CopyCenterServiceOptions {
  readonly relay: Pick<IllRelay, "authorizeHop" | "routeTo">;
  readonly copies: CopyStore;
  /** [ill] max_copy_size of this center. */
  readonly maxBytes: number;
}

/**
 * PushCopy at a center: a member may push only its own copies, a regional center only its region's
 * members', the national center only copies for this region's members (IllRelay.authorizeHop);
 * the copy is stored, verified, for the same next hop an envelope to its destination takes.
 */
export function copyCenterService(o: CopyCenterServiceOptions): ServiceImpl<typeof CopyTransferService> {
  return {
    pushCopy: mapErrors(async (parts, ctx: HandlerContext) => {
      const caller = ctx.values.get(peerKey).identity!;
      return o.copies.receive(parts, {
        caller: caller.id,
        maxBytes: o.maxBytes,
        accept: (h) => {
          o.relay.authorizeHop(h.originAgencyId, h.destinationAgencyId, caller);
          return { role: "relay", route: o.relay.routeTo(h.destinationAgencyId, caller) };
        },
      });
    }),
  };
}
