// AcquisitionsService at regional and national centers: GetTitleDemand, ILL requests for a title
// in the last year. Each regional center counts its own members' requests (union/demand.ts); a
// regional center asked for NATIONAL scope adds what the national center answers for the other
// regions, and the national center asks those regions' centers, in parallel within the deadline.
import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Database } from "../../db.js";
import type { DirectorySource } from "../../directory/source.js";
import {
  AcquisitionsService,
  type GetTitleDemandRequest,
  type GetTitleDemandResponse,
  GetTitleDemandResponseSchema,
  type RegionDemand,
  RegionDemandSchema,
} from "../../gen/lrs/v1/acquisitions_pb.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { type NodeCoverage, NodeCoverage_Status, Scope } from "../../gen/lrs/v1/search_pb.js";
import { mapErrors, ValidationError } from "../../rpc/errors.js";
import { peerKey } from "../../rpc/peer.js";
import { cover, fanOut, HOP_MARGIN_MS, remainingMs } from "../../search/deadline.js";
import type { NodeIdentity } from "../../tls/pki.js";
import type { PeerClients } from "../peers.js";
import { DemandLog, yearBefore } from "../union/demand.js";

export interface AcquisitionsCenterOptions {
  self: NodeIdentity;
  db: Database;
  directory: DirectorySource;
  peers: PeerClients;
  /** At a regional center: the national center's AcquisitionsService. */
  national?: { client: Client<typeof AcquisitionsService>; id: () => string };
  now?: () => Date;
}

function callerOf(ctx: HandlerContext): NodeIdentity {
  return ctx.values.get(peerKey).identity!;
}

/** The regional centers of the federation, but those of the excluded regions. */
function regionalCenters(directory: DirectorySource, exclude: ReadonlySet<string>): string[] {
  return directory
    .current()
    .institutions.filter((i) => i.tier === Tier.REGIONAL && !i.revoked && !exclude.has(i.region))
    .map((i) => i.id)
    .sort();
}

export function acquisitionsCenterService(
  o: AcquisitionsCenterOptions,
): Partial<ServiceImpl<typeof AcquisitionsService>> {
  const demand = new DemandLog(o.db);
  const now = o.now ?? (() => new Date());

  async function getTitleDemand(
    req: GetTitleDemandRequest,
    ctx: HandlerContext,
  ): Promise<GetTitleDemandResponse> {
    const caller = callerOf(ctx);
    const t = req.title;
    if (!t || (t.isbns.length === 0 && t.issns.length === 0 && !t.title.trim()))
      throw new ValidationError("title: give ISBNs, ISSNs or a title");
    const since = req.since ? timestampDate(req.since) : yearBefore(now());
    if (Number.isNaN(since.getTime())) throw new ValidationError("since: not a valid time");
    // A member asks for itself only.
    const onBehalfOf = caller.tier === Tier.MEMBER ? caller.id : req.onBehalfOf;
    const deadline = remainingMs(ctx.timeoutMs());
    const started = Date.now();
    const regions: RegionDemand[] = [];
    const coverage: NodeCoverage[] = [];
    let own = 0;
    const query = { isbns: t.isbns, issns: t.issns, title: t.title };
    if (o.self.tier === Tier.REGIONAL) {
      const c = demand.count(query, since, onBehalfOf);
      own = c.own;
      regions.push(create(RegionDemandSchema, { region: o.self.region, requests: BigInt(c.requests) }));
      coverage.push(cover(o.self.id, NodeCoverage_Status.ANSWERED, "", Date.now() - started, c.requests));
      if (req.scope === Scope.NATIONAL && o.national) {
        const nationalId = o.national.id();
        try {
          const up = await o.national.client.getTitleDemand(
            {
              title: t,
              scope: Scope.NATIONAL,
              excludeRegions: [o.self.region],
              since: timestampFromDate(since),
              onBehalfOf,
            },
            { signal: ctx.signal, timeoutMs: Math.max(1, deadline - (Date.now() - started) - HOP_MARGIN_MS) },
          );
          regions.push(...up.regions);
          coverage.push(...up.coverage);
        } catch (err) {
          const ce = ConnectError.from(err);
          coverage.push(
            cover(
              nationalId,
              ce.code === Code.DeadlineExceeded ? NodeCoverage_Status.TIMED_OUT : NodeCoverage_Status.FAILED,
              ce.rawMessage,
              Date.now() - started,
            ),
          );
        }
      }
    } else {
      const targets = regionalCenters(o.directory, new Set(req.excludeRegions));
      const asked = await fanOut(
        targets,
        deadline,
        (center, signal, timeoutMs) =>
          o.peers
            .client(AcquisitionsService, center)
            .getTitleDemand(
              { title: t, scope: Scope.REGION, since: timestampFromDate(since), onBehalfOf },
              { signal, timeoutMs },
            ),
        (r) => Number(r.requests),
      );
      for (const { value } of asked.results) regions.push(...value.regions);
      coverage.push(...asked.coverage.filter((c) => c.status !== NodeCoverage_Status.ANSWERED));
      for (const { value } of asked.results) coverage.push(...value.coverage);
    }
    const requests = regions.reduce((n, r) => n + r.requests, 0n);
    return create(GetTitleDemandResponseSchema, {
      requests,
      ownRequests: BigInt(own),
      regions,
      coverage,
      since: timestampFromDate(since),
    });
  }

  return { getTitleDemand: mapErrors(getTitleDemand) };
}
