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
  type PostDemandRequest,
  type PostDemandResponse,
  PostDemandResponseSchema,
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

/** At most this many requests in one PostDemand (the outbox sends one at a time). */
const MAX_DEMAND_RECORDS = 1000;
const DEMAND_KEY = /^(isbn|issn|title):./;

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
      regions.push(
        create(RegionDemandSchema, {
          region: o.self.region,
          requests: BigInt(c.requests),
          countingSince: timestampFromDate(demand.countingSince()),
        }),
      );
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
    // The count is whole only from the day the last of the answering regions began counting.
    const began = regions
      .map((r) => (r.countingSince ? timestampDate(r.countingSince).getTime() : 0))
      .reduce((m, t) => Math.max(m, t), 0);
    return create(GetTitleDemandResponseSchema, {
      ...(began > 0 ? { countingSince: timestampFromDate(new Date(began)) } : {}),
      requests,
      ownRequests: BigInt(own),
      regions,
      coverage,
      since: timestampFromDate(since),
    });
  }

  /** At the national center, from a regional center: its counted requests (demand-upstream.ts). */
  async function postDemand(req: PostDemandRequest, ctx: HandlerContext): Promise<PostDemandResponse> {
    const caller = callerOf(ctx);
    if (caller.tier !== Tier.REGIONAL)
      throw new ConnectError(
        "PostDemand goes from a regional center to the national center",
        Code.PermissionDenied,
      );
    if (!req.region) throw new ValidationError("region is required");
    if (req.region !== caller.region)
      throw new ConnectError(
        `region: ${caller.id} sends the demand of ${caller.region}, not of "${req.region}"`,
        Code.PermissionDenied,
      );
    if (req.records.length > MAX_DEMAND_RECORDS)
      throw new ValidationError(
        `records: ${req.records.length}, over the limit of ${MAX_DEMAND_RECORDS} a call`,
      );
    const known = new Map(o.directory.current().institutions.map((i) => [i.id, i.region]));
    req.records.forEach((r, i) => {
      const where = `records[${i}]`;
      if (!r.requester || !r.requestId)
        throw new ValidationError(`${where}: requester and request_id are required`);
      const region = known.get(r.requester);
      if (region !== undefined && region !== caller.region)
        throw new ConnectError(
          `${where}.requester: ${r.requester} is a member of ${region}, not of ${caller.region}`,
          Code.PermissionDenied,
        );
      if (r.keys.length === 0 || r.keys.length > 50)
        throw new ValidationError(`${where}.keys: ${r.keys.length} keys; give 1 to 50`);
      r.keys.forEach((k, j) => {
        if (!DEMAND_KEY.test(k) || k.length > 600)
          throw new ValidationError(
            `${where}.keys[${j}]: "${k.slice(0, 40)}" is not isbn:…, issn:… or title:…`,
          );
      });
    });
    if (!req.countingSince) throw new ValidationError("counting_since is required");
    const since = timestampDate(req.countingSince);
    const r = demand.receive({ region: caller.region, center: caller.id }, since, req.records, now());
    return create(PostDemandResponseSchema, r);
  }

  // The national center takes the regions' demand; a regional center sends its own up (it serves no PostDemand).
  return o.self.tier === Tier.NATIONAL
    ? { getTitleDemand: mapErrors(getTitleDemand), postDemand: mapErrors(postDemand) }
    : { getTitleDemand: mapErrors(getTitleDemand) };
}
