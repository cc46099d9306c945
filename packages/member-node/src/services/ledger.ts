// LedgerService.GetStatement at a member, for its own staff (the web application): the library's
// own statement, asked of its regional center with the member's certificate — the same call
// `lrs-member ledger` makes (the regional center asks the national center, which keeps the ledger).
import type { ServiceImpl } from "@connectrpc/connect";
import { clientFor, ledgerPb, mapErrors, type NodeTransport, parsePeriod } from "@lrs/shared";

/** How long the centers may take when the caller set no deadline. */
const STATEMENT_TIMEOUT_MS = 30_000;

export function memberLedgerService(
  regional: NodeTransport,
): Pick<ServiceImpl<typeof ledgerPb.LedgerService>, "getStatement"> {
  const center = clientFor(ledgerPb.LedgerService, regional);
  return {
    getStatement: mapErrors(async (req: ledgerPb.GetStatementRequest, hctx) =>
      // Always the library's own: the regional center reads the caller's id from its certificate.
      center.getStatement(
        { period: parsePeriod(req.period), currency: req.currency },
        { timeoutMs: hctx.timeoutMs() ?? STATEMENT_TIMEOUT_MS, signal: hctx.signal },
      ),
    ),
  };
}
