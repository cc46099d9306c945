// LedgerService.PostEntries at a regional center: a member's own charges and reversals, stored and
// forwarded to the national center (store/ledger-relay.ts). The policy lets only members of this
// region call it; the relay lets a member post as the payer only.
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { ledgerPb, mapErrors, peerKey } from "@lrs/shared";
import type { LedgerRelay } from "../store/ledger-relay.js";

export function ledgerPostHandlers(
  relay: LedgerRelay,
): Pick<ServiceImpl<typeof ledgerPb.LedgerService>, "postEntries"> {
  return {
    postEntries: mapErrors((req: ledgerPb.PostEntriesRequest, ctx: HandlerContext) => {
      const caller = ctx.values.get(peerKey).identity!;
      const res = relay.post(req.postings, caller.id);
      return create(ledgerPb.PostEntriesResponseSchema, res);
    }),
  };
}
