import { create } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import {
  Availability,
  type CheckAvailabilityResponse,
  CheckAvailabilityResponseSchema,
  type NodeCoverage,
  NodeCoverage_Status,
  Scope,
  type SearchHit,
  type SearchRequest,
  type SearchResponse,
  SearchResponseSchema,
  SearchService,
} from "../../gen/lrs/v1/search_pb.js";
import type { Logger } from "../../log.js";
import { peerKey } from "../../rpc/peer.js";
import { facetsToWire, hitToWire, mergeFacets } from "../../search/convert.js";
import {
  cover,
  fanOut,
  HOP_MARGIN_MS,
  NATIONAL_SHARE,
  remainingMs,
  shareOf,
  untilDeadline,
} from "../../search/deadline.js";
import type { EngineResult, SearchFn } from "../../search/engine-types.js";
import { queryError } from "../../search/query-error.js";
import type { PeerClients } from "../peers.js";
import type { UnionCatalog } from "../union/union-catalog.js";
import { askMembers, askRegions, heldRecords } from "./availability.js";

export const DEFAULT_PAGE = 20;
export const MAX_PAGE = 100;

export interface UnionSearchOptions {
  nodeId: string;
  tier: Tier.REGIONAL | Tier.NATIONAL;
  /** This node's union catalog search. */
  search: SearchFn;
  union: UnionCatalog;
  peers: PeerClients;
  log: Logger;
  /** At a regional center: the national center's SearchService, and its id (for the coverage). */
  national?: Client<typeof SearchService>;
  nationalId?: () => string;
  /** At a regional center: the other regional centers, asked directly when the national center is unreachable. */
  peerRegionalCenters?: () => string[];
  /** At the national center: the regional center of a region. */
  regionalCenterOf?: (region: string) => string | undefined;
}

function pageSize(req: SearchRequest): number {
  if (req.pageSize > MAX_PAGE)
    throw new ConnectError(
      `page size ${req.pageSize} is over the limit of ${MAX_PAGE}`,
      Code.InvalidArgument,
    );
  return req.pageSize || DEFAULT_PAGE;
}

/**
 * SearchService at a regional or national center. A regional center answers
 * REGION from its union catalog and, for NATIONAL, first sends its own
 * region's page, then the national center's answer — or, when the national
 * center cannot be reached in time, what its peer regional centers answer,
 * with every node's part in the coverage.
 */
export function unionSearchService(o: UnionSearchOptions): ServiceImpl<typeof SearchService> {
  const requesterOf = (req: SearchRequest | { onBehalfOf: string }, ctx: HandlerContext): string => {
    const peer = ctx.values.get(peerKey).identity!;
    if (peer.tier === Tier.MEMBER || !req.onBehalfOf) return peer.id;
    // A regional center speaks for its own members only.
    if (
      peer.tier === Tier.REGIONAL &&
      peer.id !== o.nodeId &&
      o.peers.regionOf(req.onBehalfOf) !== peer.region
    ) {
      throw new ConnectError(
        `${peer.id} cannot ask on behalf of ${req.onBehalfOf}, which is not a member of its region`,
        Code.PermissionDenied,
      );
    }
    return req.onBehalfOf;
  };

  const local = async (req: SearchRequest, requester: string, signal: AbortSignal) => {
    try {
      return await o.search(
        req.query,
        {
          limit: pageSize(req),
          facets: req.facets,
          ...(req.cursor ? { cursor: req.cursor } : {}),
          ...(requester ? { onBehalfOf: requester } : {}),
        },
        signal,
      );
    } catch (err) {
      return queryError(err);
    }
  };

  /** Live availability of the page's holdings, written into the hits; the members (or regions) asked join the coverage. */
  const enrich = async (hits: SearchHit[], deadlineMs: number): Promise<NodeCoverage[]> => {
    const records = hits.flatMap((h) => heldRecords(o.union.getCluster(h.id)?.records ?? []));
    if (records.length === 0) return [];
    const res =
      o.tier === Tier.REGIONAL
        ? await askMembers(o.peers, records, deadlineMs)
        : await askRegions(o.peers, records, (r) => o.regionalCenterOf?.(r), deadlineMs);
    const by = new Map(res.institutions.map((i) => [i.institutionId, i]));
    for (const h of hits) {
      for (const x of h.holdings) {
        const a = by.get(x.institutionId);
        x.availability = a?.state ?? Availability.UNKNOWN;
        x.availabilityReason = a?.reason ?? "not asked";
      }
    }
    return res.coverage;
  };

  const answer = (scope: Scope, r: EngineResult, coverage: NodeCoverage[], final: boolean): SearchResponse =>
    create(SearchResponseSchema, {
      answeredScope: scope,
      total: BigInt(r.total),
      hits: r.hits.map(hitToWire),
      nextCursor: r.nextCursor ?? "",
      facets: facetsToWire(r),
      coverage,
      final,
    });

  return {
    async *search(req, ctx) {
      if (!req.query.trim()) throw new ConnectError("query is empty", Code.InvalidArgument);
      const started = Date.now();
      const deadline = remainingMs(ctx.timeoutMs());
      const left = () => deadline - (Date.now() - started);
      const requester = requesterOf(req, ctx);
      const scope =
        req.scope === Scope.UNSPECIFIED
          ? o.tier === Tier.NATIONAL
            ? Scope.NATIONAL
            : Scope.REGION
          : req.scope;
      if (scope === Scope.LOCAL)
        throw new ConnectError("LOCAL scope is answered by the member itself", Code.InvalidArgument);
      if (o.tier === Tier.NATIONAL && scope !== Scope.NATIONAL) {
        throw new ConnectError(
          "the national center answers NATIONAL scope; REGION is answered by the regional center",
          Code.InvalidArgument,
        );
      }

      // For NATIONAL at a regional center, send the search upward before computing our own page
      // (a synchronous SQLite search), so the national center works while we do.
      let upward: AsyncIterator<SearchResponse> | undefined;
      let upwardFirst: Promise<IteratorResult<SearchResponse>> | undefined;
      const upStarted = Date.now();
      if (scope === Scope.NATIONAL && o.tier === Tier.REGIONAL && o.national) {
        upward = o.national
          .search(
            { ...req, scope: Scope.NATIONAL, onBehalfOf: requester },
            {
              signal: ctx.signal,
              timeoutMs: Math.max(1, Math.floor(left() * NATIONAL_SHARE) - HOP_MARGIN_MS),
            },
          )
          [Symbol.asyncIterator]();
        upwardFirst = upward.next();
        // Handled where it is awaited; this only keeps an early failure from counting as unhandled.
        upwardFirst.catch(() => {});
        await new Promise((resolve) => setImmediate(resolve));
      }
      const own = await local(req, requester, untilDeadline(ctx.signal, left()));
      const ownPage = answer(
        scope === Scope.NATIONAL && o.tier === Tier.REGIONAL ? Scope.REGION : scope,
        own,
        [],
        false,
      );
      const ownCoverage = cover(o.nodeId, NodeCoverage_Status.ANSWERED, "", Date.now() - started, own.total);

      if (o.tier === Tier.NATIONAL || scope === Scope.REGION) {
        // Availability is asked of the holders with a share of the deadline: a hung holder costs
        // the search that share, and the hits still come back in time.
        const members = req.availability ? await enrich(ownPage.hits, shareOf(left, NATIONAL_SHARE)()) : [];
        ownPage.coverage = [ownCoverage, ...members];
        ownPage.final = true;
        yield ownPage;
        return;
      }

      // NATIONAL at a regional center: our region first, at once.
      ownPage.coverage = [ownCoverage];
      yield ownPage;

      try {
        if (!upward || !upwardFirst)
          throw new ConnectError("no national center configured", Code.Unavailable);
        let last: SearchResponse | undefined;
        for (let r = await upwardFirst; !r.done; r = await upward.next()) {
          last = r.value;
          if (r.value.final) break;
        }
        await upward.return?.();
        if (!last) throw new ConnectError("the national center sent no answer", Code.Unavailable);
        last.coverage = [ownCoverage, ...last.coverage];
        last.final = true;
        yield last;
        return;
      } catch (err) {
        const ce = ConnectError.from(err);
        const status =
          ce.code === Code.DeadlineExceeded ? NodeCoverage_Status.TIMED_OUT : NodeCoverage_Status.FAILED;
        const nationalId = o.nationalId?.() || "national";
        o.log.warn(
          { err: ce.rawMessage },
          "national center unreachable for a NATIONAL search; asking peer regional centers",
        );
        const peersIds = o.peerRegionalCenters?.() ?? [];
        const fanned = await fanOut(
          peersIds,
          left(),
          async (peer, signal, timeoutMs) => {
            let last: SearchResponse | undefined;
            for await (const m of o.peers.client(SearchService, peer).search(
              {
                query: req.query,
                scope: Scope.REGION,
                pageSize: pageSize(req),
                facets: req.facets,
                onBehalfOf: requester,
              },
              { signal, timeoutMs },
            )) {
              last = m;
            }
            if (!last) throw new Error("no answer");
            return last;
          },
          (v) => Number(v.total),
          true,
        );
        const all = [ownPage, ...fanned.results.map((r) => r.value)];
        const hits = all
          .flatMap((p) => p.hits)
          .sort((a, b) => b.score - a.score)
          .slice(0, pageSize(req));
        yield create(SearchResponseSchema, {
          answeredScope: Scope.NATIONAL,
          total: all.reduce((n, p) => n + p.total, 0n),
          hits,
          // Cursors of several nodes cannot be combined into one: the fallback answers one page.
          nextCursor: "",
          facets: mergeFacets(all.map((p) => p.facets)),
          coverage: [
            cover(nationalId, status, ce.rawMessage, Date.now() - upStarted),
            ownCoverage,
            ...fanned.coverage,
          ],
          final: true,
        });
      }
    },

    async checkAvailability(req, ctx): Promise<CheckAvailabilityResponse> {
      const deadline = remainingMs(ctx.timeoutMs());
      const requester = requesterOf(req, ctx);
      let records = req.records;
      if (records.length === 0) {
        if (!req.clusterId) throw new ConnectError("give a cluster id or records", Code.InvalidArgument);
        const owner = req.clusterId.slice(0, req.clusterId.lastIndexOf(":"));
        if (owner !== o.nodeId) {
          if (o.tier === Tier.REGIONAL && o.national) {
            return o.national.checkAvailability(
              { ...req, onBehalfOf: requester },
              { signal: ctx.signal, timeoutMs: Math.max(1, deadline - HOP_MARGIN_MS) },
            );
          }
          throw new ConnectError(`cluster ${req.clusterId} is not in this catalog`, Code.NotFound);
        }
        const c = o.union.getCluster(req.clusterId);
        if (!c) throw new ConnectError(`no cluster ${req.clusterId}`, Code.NotFound);
        records = heldRecords(c.records, req.institutionIds);
      }
      const res =
        o.tier === Tier.REGIONAL
          ? await askMembers(
              o.peers,
              records.filter((r) => o.peers.regionOf(r.institutionId) === o.peers.regionOf(o.nodeId)),
              deadline,
            )
          : await askRegions(o.peers, records, (r) => o.regionalCenterOf?.(r), deadline);
      return create(CheckAvailabilityResponseSchema, {
        institutions: res.institutions,
        coverage: res.coverage,
      });
    },
  };
}
