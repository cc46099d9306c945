// LedgerService at the national center: postings from the regional centers (their members' only),
// statements for a regional center's members and for this node's own CLI, and settlement.
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  isCurrency,
  LedgerForbiddenError,
  LedgerInputError,
  ledgerPb,
  mapErrors,
  type NodeIdentity,
  parsePeriod,
  peerKey,
  postingLabel,
  postingMessage,
  Tier,
  validatePostings,
} from "@lrs/shared";
import type { NationalContext } from "../context.js";
import type { HeldEntry, SettleOutcome, SettleProgress } from "../store/ledger-store.js";

/** How often a long settlement logs how far it is. */
const PROGRESS_EVERY_MS = 1000;

function callerOf(ctx: HandlerContext): NodeIdentity {
  return ctx.values.get(peerKey).identity!;
}

/** The response for a settlement (or a dry run), in the order the store gives. */
export function settleResponse(o: SettleOutcome): ledgerPb.SettleResponse {
  return create(ledgerPb.SettleResponseSchema, {
    period: o.period,
    statements: o.statements,
    regions: o.regions,
    alreadySettled: o.alreadySettled,
    digest: o.digest,
    entries: o.entries,
    ...(o.settledAt ? { settledAt: timestampFromDate(o.settledAt) } : {}),
    carriedIn: o.carriedInPostings.map(postingMessage),
    held: o.held.map((h: HeldEntry) =>
      create(ledgerPb.HeldPostingSchema, { posting: postingMessage(h.posting), reason: h.reason }),
    ),
    dryRun: o.dryRun,
  });
}

export function ledgerService(ctx: NationalContext): ServiceImpl<typeof ledgerPb.LedgerService> {
  const log = ctx.log.child({ part: "ledger" });

  /** The region the CA enrolled an institution in, or undefined when it is not one of the federation. */
  const regionOf = (id: string): string | undefined => ctx.directory.enrollment(id)?.region;

  return {
    postEntries: mapErrors((req, hctx: HandlerContext) => {
      const caller = callerOf(hctx);
      const postings = validatePostings(req.postings);
      // A regional center answers for its own members: what they owe is theirs to post.
      postings.forEach((p, i) => {
        const payer = ctx.directory.enrollment(p.payerId);
        if (!payer || payer.tier !== Tier.MEMBER || payer.region !== caller.region)
          throw new LedgerForbiddenError(
            `${postingLabel(i, p.entryId)}: payer ${p.payerId} is not a member of region ${caller.region}; ${caller.id} may post for its own members only`,
          );
        // Any institution may be paid: a lending member, or the national center (copyright fees).
        if (regionOf(p.payeeId) === undefined)
          throw new LedgerInputError(
            `${postingLabel(i, p.entryId)}: payee ${p.payeeId} is not an institution of the federation`,
          );
      });
      const res = ctx.ledger.post(postings, {
        receivedFrom: caller.id,
        regionOf: (id) => regionOf(id) ?? "",
      });
      if (res.accepted > 0 || res.duplicates > 0)
        log.info({ from: caller.id, ...res }, "ledger postings received");
      return create(ledgerPb.PostEntriesResponseSchema, {
        accepted: res.accepted,
        duplicates: res.duplicates,
      });
    }),

    getStatement: mapErrors((req, hctx: HandlerContext) => {
      const caller = callerOf(hctx);
      const period = parsePeriod(req.period);
      const institutionId = req.institutionId || caller.id;
      if (req.currency && !isCurrency(req.currency))
        throw new LedgerInputError(
          `currency ${JSON.stringify(req.currency.slice(0, 20))} is not an ISO 4217 code`,
        );
      if (caller.id !== ctx.cfg.id && institutionId !== caller.id) {
        const e = ctx.directory.enrollment(institutionId);
        if (caller.tier !== Tier.REGIONAL || !e || e.tier !== Tier.MEMBER || e.region !== caller.region)
          throw new LedgerForbiddenError(
            `${caller.id} may read the statements of members of region ${caller.region || "-"} only, not of ${institutionId}`,
          );
      }
      const res = ctx.ledger.statement(institutionId, period, req.currency);
      if (!res.statement.region) res.statement.region = regionOf(institutionId) ?? "";
      return create(ledgerPb.GetStatementResponseSchema, res);
    }),

    settle: mapErrors((req) => {
      const period = parsePeriod(req.period);
      const started = Date.now();
      let lastLog = started;
      const onProgress = (p: SettleProgress) => {
        const now = Date.now();
        if (p.phase === "aggregating" && now - lastLog < PROGRESS_EVERY_MS) return;
        lastLog = now;
        if (p.phase !== "done")
          log.info({ period, ...p, elapsedMs: now - started }, "settlement in progress");
      };
      log.info(
        { period, dryRun: req.dryRun },
        req.dryRun ? "computing statements (dry run)" : "settlement started",
      );
      const outcome = ctx.ledger.settle(period, {
        dryRun: req.dryRun,
        allowOpenPeriod: req.allowOpenPeriod,
        onProgress,
      });
      log.info(
        {
          period,
          statements: outcome.statements.length,
          entries: Number(outcome.entries),
          carriedIn: outcome.carriedIn.length,
          held: outcome.held.length,
          digest: outcome.digest,
          alreadySettled: outcome.alreadySettled,
          dryRun: outcome.dryRun,
          elapsedMs: Date.now() - started,
        },
        outcome.dryRun
          ? "statements computed"
          : outcome.alreadySettled
            ? "period was settled before"
            : "period settled",
      );
      return settleResponse(outcome);
    }),
  };
}
