// LedgerService.GetStatement at a regional center: a member asks for its own statement, and the
// center asks the national center, which keeps the federation's ledger, on its behalf. The
// national center, in turn, lets a regional center read only its own members' statements.
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { clientFor, ledgerPb, mapErrors, parsePeriod, peerKey, Tier, ValidationError } from "@lrs/shared";
import type { RegionalContext } from "../context.js";

/** How long the national center may take when the caller set no deadline. */
const STATEMENT_TIMEOUT_MS = 30_000;

export function ledgerStatementHandlers(
  ctx: Pick<RegionalContext, "cfg" | "national">,
): Pick<ServiceImpl<typeof ledgerPb.LedgerService>, "getStatement"> {
  const national = clientFor(ledgerPb.LedgerService, ctx.national.transport);
  return {
    getStatement: mapErrors(async (req: ledgerPb.GetStatementRequest, hctx: HandlerContext) => {
      const caller = hctx.values.get(peerKey).identity!;
      const period = parsePeriod(req.period);
      if (req.currency && !/^[A-Z]{3}$/.test(req.currency))
        throw new ValidationError(
          `currency ${JSON.stringify(req.currency.slice(0, 20))} is not an ISO 4217 code`,
        );
      // A member reads its own statement only; this center's own CLI may ask for any of its members.
      const institutionId = req.institutionId || caller.id;
      if (caller.tier === Tier.MEMBER && institutionId !== caller.id)
        throw new ConnectError(
          `${caller.id} may read its own statement only, not ${institutionId}'s`,
          Code.PermissionDenied,
        );
      try {
        return await national.getStatement(
          { institutionId, period, currency: req.currency },
          { timeoutMs: hctx.timeoutMs() ?? STATEMENT_TIMEOUT_MS, signal: hctx.signal },
        );
      } catch (err) {
        const e = ConnectError.from(err);
        if (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded)
          throw new ConnectError(
            `the national center keeps the ledger and did not answer ${ctx.cfg.id}: ${e.rawMessage}`,
            e.code,
          );
        throw e;
      }
    }),
  };
}
