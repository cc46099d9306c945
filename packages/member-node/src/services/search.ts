import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  cover,
  type EngineResult,
  facetsToWire,
  HOP_MARGIN_MS,
  hitToWire,
  peerKey,
  queryError,
  remainingMs,
  type SearchFn,
  searchPb,
  Tier,
  untilDeadline,
} from "@lrs/shared";
import { availabilityOf } from "../catalog/availability.js";
import type { MemberContext } from "../context.js";
import { liveAvailability } from "../ncip/availability.js";

const { Scope, NodeCoverage_Status } = searchPb;

/**
 * SearchService at a member: LOCAL scope from its own catalog; REGION and
 * NATIONAL go to the regional center on the member's behalf. Its regional
 * center asks it about availability of its own records.
 */
export function searchService(
  ctx: MemberContext,
  search: SearchFn,
  regional: Client<typeof searchPb.SearchService>,
): ServiceImpl<typeof searchPb.SearchService> {
  return {
    async *search(req, hctx: HandlerContext) {
      if (!req.query.trim()) throw new ConnectError("query is empty", Code.InvalidArgument);
      const scope = req.scope === Scope.UNSPECIFIED ? Scope.LOCAL : req.scope;
      if (scope !== Scope.LOCAL) {
        const timeoutMs = Math.max(1, remainingMs(hctx.timeoutMs()) - HOP_MARGIN_MS);
        yield* regional.search({ ...req, scope, onBehalfOf: ctx.cfg.id }, { signal: hctx.signal, timeoutMs });
        return;
      }
      const started = Date.now();
      let r: EngineResult;
      try {
        r = await search(
          req.query,
          {
            limit: Math.min(req.pageSize || 20, 100),
            facets: req.facets,
            onBehalfOf: ctx.cfg.id,
            ...(req.cursor ? { cursor: req.cursor } : {}),
          },
          untilDeadline(hctx.signal, remainingMs(hctx.timeoutMs())),
        );
      } catch (err) {
        queryError(err);
      }
      yield create(searchPb.SearchResponseSchema, {
        answeredScope: Scope.LOCAL,
        total: BigInt(r.total),
        hits: r.hits.map(hitToWire),
        nextCursor: r.nextCursor ?? "",
        facets: facetsToWire(r),
        coverage: [cover(ctx.cfg.id, NodeCoverage_Status.ANSWERED, "", Date.now() - started, r.total)],
        final: true,
      });
    },

    async checkAvailability(req, hctx: HandlerContext) {
      const peer = hctx.values.get(peerKey).identity!;
      if (req.records.length === 0) {
        // The member's own CLI asks about a cluster: the regional center finds the holders.
        if (peer.id !== ctx.cfg.id || peer.tier !== Tier.MEMBER)
          throw new ConnectError("give the records to check", Code.InvalidArgument);
        return regional.checkAvailability(
          { ...req, onBehalfOf: ctx.cfg.id },
          { signal: hctx.signal, timeoutMs: remainingMs(hctx.timeoutMs()) },
        );
      }
      const mine = req.records.filter((r) => r.institutionId === ctx.cfg.id).map((r) => r.recordId);
      if (mine.length === 0)
        throw new ConnectError(`none of these records belong to ${ctx.cfg.id}`, Code.InvalidArgument);
      return create(searchPb.CheckAvailabilityResponseSchema, {
        institutions: [
          ctx.ncip && ctx.cfg.availability.source === "ncip"
            ? await liveAvailability(
                ctx.ncip.client,
                ctx.catalog,
                ctx.cfg.id,
                mine,
                ctx.cfg.lendingPolicy,
                hctx.signal,
              )
            : availabilityOf(ctx.catalog, ctx.cfg.id, mine, ctx.cfg.lendingPolicy),
        ],
        coverage: [cover(ctx.cfg.id, NodeCoverage_Status.ANSWERED, "", 0, 1)],
      });
    },
  };
}
