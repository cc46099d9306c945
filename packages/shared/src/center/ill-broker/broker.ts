// The ILL broker of a union center: what is wanted (a cluster, identifiers or a title), who holds
// it, what they say about availability and what their lending policies allow — built into a rota
// by rota.ts. A regional center covers its own region and asks the national center for the rest.
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { formatAndLanguage } from "../../catalog-index/kind.js";
import type { HoldingData } from "../../catalog-sync/change-feed.js";
import { retainedLastCopies, tallyOf } from "../../catalog-sync/holding-summary.js";
import { holdingFromWire } from "../../catalog-sync/pusher.js";
import { CqlParseError } from "../../cql/errors.js";
import { titleQuery } from "../../cql/title-query.js";
import type { Database } from "../../db.js";
import { institutionsOf, regionalCenterOf } from "../../directory/lookup.js";
import type { DirectorySource } from "../../directory/source.js";
import { type Money, moneyOfCosts } from "../../fees/money.js";
import type { CatalogService, Cluster } from "../../gen/lrs/v1/catalog_pb.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import type { BibliographicItemId } from "../../gen/lrs/v1/ill_pb.js";
import {
  type BuildRotaRequest,
  BuildRotaRequestSchema,
  type BuildRotaResponse,
  BuildRotaResponseSchema,
  type IllService,
  type RotaCandidate,
} from "../../gen/lrs/v1/ill_service_pb.js";
import {
  type InstitutionAvailability,
  type NodeCoverage,
  NodeCoverage_Status,
} from "../../gen/lrs/v1/search_pb.js";
import { IllForbiddenError } from "../../iso18626/route-errors.js";
import type { Logger } from "../../log.js";
import { normalizeIsbn, normalizeIssn } from "../../match/identifiers.js";
import { NotFoundError, ValidationError } from "../../rpc/errors.js";
import { cover, HOP_MARGIN_MS, NATIONAL_SHARE, remainingMs, shareOf } from "../../search/deadline.js";
import type { NodeIdentity } from "../../tls/pki.js";
import type { PeerClients } from "../peers.js";
import { askMembers, askRegions, heldRecords } from "../search/availability.js";
import { searchUnion } from "../search/union-engine.js";
import { clusterOwner } from "../union/catalog-service.js";
import { DemandLog, type DemandUpstream } from "../union/demand.js";
import type { ClusterView, RecordRef, UnionCatalog } from "../union/union-catalog.js";
import type { IllRelay } from "./relay.js";
import { buildRota, type RotaHolder } from "./rota.js";
import { externalRota } from "./rota-external.js";

/** A title as one union catalog knows it: its cluster and who holds it. */
export interface ResolvedTitle {
  clusterId: string;
  /** Kind of material of the preferred record ("book", "score", …). */
  format: string;
  title: string;
  author: string;
  isbns: string[];
  issns: string[];
  /** Records of the cluster, the preferred first (to find the cluster in another catalog). */
  records: RecordRef[];
  /** Holding institutions: their record ids and what they hold (copies, orders, retention). */
  holders: Map<string, TitleHolder>;
}

/** One institution's holdings of a title as the broker reads them. */
export interface TitleHolder {
  recordIds: string[];
  holdings: HoldingData[];
}

export function titleOfView(c: ClusterView): ResolvedTitle {
  const holders = new Map<string, TitleHolder>();
  for (const h of c.holdings)
    holders.set(h.institutionId, { recordIds: [...h.recordIds], holdings: h.holdings });
  return {
    clusterId: c.id,
    format: c.summary.format,
    title: c.summary.title,
    author: c.summary.author,
    isbns: c.summary.isbns,
    issns: c.summary.issns,
    records: c.records.map((r) => ({ institutionId: r.institutionId, recordId: r.recordId })),
    holders,
  };
}

/** A cluster as another node's CatalogService sent it; the format is read from the preferred record's leader. */
export function titleOfWire(c: Cluster): ResolvedTitle {
  const holders = new Map<string, TitleHolder>();
  for (const r of c.records) {
    const h = holders.get(r.institutionId) ?? { recordIds: [], holdings: [] };
    h.recordIds.push(r.recordId);
    holders.set(r.institutionId, h);
  }
  for (const h of c.holdings) {
    const x = holders.get(h.institutionId);
    if (x) x.holdings = h.holdings.map(holdingFromWire);
  }
  const preferred = c.records.find((r) => r.preferred) ?? c.records[0];
  const ordered = preferred ? [preferred, ...c.records.filter((r) => r !== preferred)] : [];
  return {
    clusterId: c.id,
    format: preferred ? formatAndLanguage(preferred.marc).format : "",
    title: c.title,
    author: c.author,
    isbns: c.isbns,
    issns: c.issns,
    records: ordered.map((r) => ({ institutionId: r.institutionId, recordId: r.recordId })),
    holders,
  };
}

/** The CQL that finds the title by its ISBNs and ISSNs; undefined when it names none. */
export function identifierQuery(ids: readonly BibliographicItemId[]): string | undefined {
  const clauses: string[] = [];
  ids.forEach((id, i) => {
    const code = id.bibliographicItemIdentifierCode.trim().toUpperCase();
    const value = id.bibliographicItemIdentifier;
    if (code === "ISBN") {
      const isbn = normalizeIsbn(value);
      if (!isbn) throw new ValidationError(`item_ids[${i}]: "${value}" is not a valid ISBN`);
      clauses.push(`bath.isbn=${isbn}`);
    } else if (code === "ISSN") {
      const issn = normalizeIssn(value);
      if (!issn) throw new ValidationError(`item_ids[${i}]: "${value}" is not a valid ISSN`);
      clauses.push(`bath.issn=${issn}`);
    }
  });
  return clauses.length > 0 ? clauses.join(" or ") : undefined;
}

export { titleQuery };

export interface RotaBrokerOptions {
  /** This node: a regional center (its region) or the national center. */
  self: NodeIdentity;
  db: Database;
  union: UnionCatalog;
  directory: DirectorySource;
  peers: PeerClients;
  /** Loans and requests seen, for the balance. */
  relay: IllRelay;
  log: Logger;
  /** At a regional center: the national center, for clusters held elsewhere and for the other regions. */
  national?: {
    ill: Client<typeof IllService>;
    catalog: Client<typeof CatalogService>;
    id: () => string;
  };
  now?: () => Date;
  /** At a regional center: counted demand goes up to the national center (union/demand.ts). */
  demandUpstream?: DemandUpstream;
  /**
   * At a regional center: external ILL partners close the rota, after every LRS holder (unless
   * the national center keeps them out of every rota: Directory.partners_out_of_rotas).
   */
  partnersInRota?: boolean;
}

export interface RotaCallOptions {
  signal?: AbortSignal;
  /** The caller's deadline; the default of a fan-out when unset. */
  timeoutMs?: number | undefined;
}

interface Upward {
  rota: RotaCandidate[];
  excluded: RotaCandidate[];
  coverage: NodeCoverage[];
  clusterId: string;
  /** The national center answered that it knows no such title. */
  notFound?: string;
  /** The national center could not be asked. */
  failed?: string;
}

/**
 * BuildRota at a union center. At a regional center, for one of its members: the own region's
 * holders from the regional union catalog with live availability, then what the national center
 * answers for the other regions. At the national center, for a regional center: the holders of
 * the other regions, availability asked of their regional centers.
 */
export class RotaBroker {
  readonly #o: RotaBrokerOptions;
  readonly #demand: DemandLog;

  constructor(o: RotaBrokerOptions) {
    this.#o = o;
    this.#demand = new DemandLog(o.db, o.demandUpstream);
  }

  /**
   * @throws IllForbiddenError (a requester the caller may not speak for), ValidationError (bad
   *   input, naming the field), NotFoundError (no catalog knows the title), ConnectError Unavailable
   *   (the title could only be resolved by the national center, which did not answer).
   */
  async buildRota(
    req: BuildRotaRequest,
    caller: NodeIdentity,
    call: RotaCallOptions = {},
  ): Promise<BuildRotaResponse> {
    const started = Date.now();
    const deadline = remainingMs(call.timeoutMs);
    const left = () => Math.max(1, deadline - (Date.now() - started));
    const requester = this.#requester(req, caller);
    if (!req.clusterId && req.itemIds.length === 0 && !req.title.trim())
      throw new ValidationError("give cluster_id, item_ids or title: what is wanted");
    const terms = termsOf(req);
    return this.#o.self.tier === Tier.REGIONAL
      ? this.#regional(req, requester, terms, left, call.signal)
      : this.#national(req, requester, terms, left);
  }

  /**
   * The rota of an external partner's request addressed to the federation (the ISO 18626
   * gateway's broker mode), at the national center: every region's holders, ordered and filtered
   * as for a member of no region (a holder that lends only inside its region is left out).
   * @throws NotFoundError (no catalog knows the title), ValidationError (bad identifiers).
   */
  async buildRotaForPartner(
    partnerId: string,
    req: Pick<BuildRotaRequest, "itemIds" | "title" | "author" | "serviceType" | "serviceLevel">,
    timeoutMs: number,
  ): Promise<BuildRotaResponse> {
    if (this.#o.self.tier !== Tier.NATIONAL)
      throw new IllForbiddenError(
        `${this.#o.self.id} brokers partners' requests only at the national center`,
      );
    if (req.itemIds.length === 0 && !req.title.trim())
      throw new ValidationError("bibliographicInfo: give a title or an ISBN/ISSN: what is wanted");
    const started = Date.now();
    const full = create(BuildRotaRequestSchema, { ...req, requestingAgencyId: partnerId });
    return this.#national(full, { id: partnerId, region: "" }, termsOf(full), () =>
      Math.max(1, timeoutMs - (Date.now() - started)),
    );
  }

  /** Who borrows, and whether the caller may ask for it. */
  #requester(req: BuildRotaRequest, caller: NodeIdentity): { id: string; region: string } {
    const me = this.#o.self;
    const asked = req.requestingAgencyId;
    if (me.tier === Tier.REGIONAL && caller.tier === Tier.MEMBER) {
      if (asked && asked !== caller.id)
        throw new IllForbiddenError(`${caller.id} may build rotas for itself only, not for ${asked}`);
      return { id: caller.id, region: caller.region };
    }
    const self = caller.id === me.id;
    if (!self && !(me.tier === Tier.NATIONAL && caller.tier === Tier.REGIONAL))
      throw new IllForbiddenError(`${caller.id} may not ask ${me.id} for a rota`);
    if (!asked) throw new ValidationError("requesting_agency_id is required: the member that borrows");
    const inst = institutionsOf(this.#o.directory).get(asked);
    if (!inst || inst.tier !== Tier.MEMBER)
      throw new NotFoundError(`requesting agency ${asked} is not a member library in the directory`);
    // A regional center (itself, or asking the national center) speaks for its own members only.
    const region = me.tier === Tier.REGIONAL ? me.region : self ? undefined : caller.region;
    if (region !== undefined && inst.region !== region)
      throw new IllForbiddenError(`${asked} is not a member of region ${region}`);
    return { id: asked, region: inst.region };
  }

  /** Finds the title in this node's own union catalog by identifiers, else by title and author. */
  #findLocal(req: Pick<BuildRotaRequest, "itemIds" | "title" | "author">): ResolvedTitle | undefined {
    const { db, union, self, peers } = this.#o;
    const queries = [identifierQuery(req.itemIds), titleQuery(req.title, req.author)].filter(
      (q): q is string => q !== undefined,
    );
    if (queries.length === 0)
      throw new ValidationError(
        `item_ids: only ISBN and ISSN are looked up (got ${req.itemIds.map((i) => i.bibliographicItemIdentifierCode || "no code").join(", ")}); give a title or a cluster id`,
      );
    for (const q of queries) {
      let id: string | undefined;
      try {
        id = searchUnion({ db, nodeId: self.id }, q, { limit: 1, regionOf: (i) => peers.regionOf(i) }).hits[0]
          ?.id;
      } catch (err) {
        if (err instanceof CqlParseError)
          throw new ValidationError(`cannot look the title up: ${err.message}`);
        throw err;
      }
      const c = id ? union.getCluster(id) : undefined;
      if (c) return titleOfView(c);
    }
    return undefined;
  }

  /** Holders of `t` (in the given regions, or outside the excluded ones), with what the relay counted. */
  #holders(
    t: ResolvedTitle,
    keep: (region: string) => boolean,
    defaultRegion = "",
  ): Array<Omit<RotaHolder, "availability">> {
    const dir = institutionsOf(this.#o.directory);
    const out: Array<Omit<RotaHolder, "availability">> = [];
    const ids = [...t.holders.keys()];
    const balances = this.#o.relay.balances(ids);
    for (const [id, h] of t.holders) {
      const inst = dir.get(id);
      const region = inst?.region ?? defaultRegion;
      if (!keep(region)) continue;
      const b = balances.get(id)!;
      const tally = tallyOf(h.holdings);
      out.push({
        agencyId: id,
        region,
        recordId: h.recordIds[0] ?? "",
        clusterId: t.clusterId,
        institution: inst,
        copies: tally.items,
        onOrder: tally.onOrder,
        retainedUntil: retainedLastCopies(tally, (this.#o.now?.() ?? new Date()).getUTCFullYear())
          ? tally.retainedUntil
          : 0,
        lent: b.lent,
        borrowed: b.borrowed,
      });
    }
    return out;
  }

  /** Counts the request as demand for the title (acquisitions: `acquire check`, collection reports). */
  #recordDemand(
    req: BuildRotaRequest,
    requester: string,
    title: ResolvedTitle | undefined,
    held: boolean,
  ): void {
    const ids = (code: string) =>
      req.itemIds
        .filter((i) => i.bibliographicItemIdentifierCode.trim().toUpperCase() === code)
        .map((i) => i.bibliographicItemIdentifier);
    try {
      this.#demand.record({
        requester,
        requestId: req.requestId,
        title: {
          isbns: [...ids("ISBN"), ...(title?.isbns ?? [])],
          issns: [...ids("ISSN"), ...(title?.issns ?? [])],
          title: req.title || title?.title || "",
        },
        held,
        at: this.#o.now?.() ?? new Date(),
      });
    } catch (err) {
      // Counting demand must never stop a loan.
      this.#o.log.warn({ err }, "ILL demand not recorded");
    }
  }

  /** The records to ask availability of: every holder's but the requester's (it is not asked to lend to itself). */
  #availabilityTargets(t: ResolvedTitle, holders: ReadonlyArray<{ agencyId: string }>, requester: string) {
    const ids = new Set(holders.map((h) => h.agencyId).filter((id) => id !== requester));
    return heldRecords(t.records.filter((r) => ids.has(r.institutionId)));
  }

  async #regional(
    req: BuildRotaRequest,
    requester: { id: string; region: string },
    terms: RotaTerms,
    left: () => number,
    signal: AbortSignal | undefined,
  ): Promise<BuildRotaResponse> {
    const { self, union, national, log } = this.#o;
    let local: ResolvedTitle | undefined;
    let fromNational: ResolvedTitle | undefined;
    const coverage: NodeCoverage[] = [];
    if (req.clusterId) {
      const owner = clusterOwner(req.clusterId);
      if (owner === self.id) {
        const c = union.getCluster(req.clusterId);
        if (!c)
          throw new NotFoundError(`cluster_id: no cluster ${req.clusterId} in ${self.id}'s union catalog`);
        local = titleOfView(c);
      } else {
        if (!national)
          throw new NotFoundError(
            `cluster_id: ${req.clusterId} belongs to ${owner}, which ${self.id} cannot ask`,
          );
        try {
          const res = await national.catalog.getCluster(
            { clusterId: req.clusterId },
            { signal, timeoutMs: Math.max(1, shareOf(left, NATIONAL_SHARE)() - HOP_MARGIN_MS) },
          );
          if (!res.cluster) throw new ConnectError("no cluster in the answer", Code.NotFound);
          fromNational = titleOfWire(res.cluster);
        } catch (err) {
          const ce = ConnectError.from(err);
          if (ce.code === Code.NotFound)
            throw new NotFoundError(`cluster_id: ${req.clusterId} is not in the national union catalog`);
          throw new ConnectError(
            `cluster_id: ${req.clusterId} is held by the national center, which could not be asked: ${ce.rawMessage}`,
            Code.Unavailable,
          );
        }
      }
    } else {
      local = this.#findLocal(req);
    }

    // Own region: from the regional catalog, or the own members among a national cluster's holders.
    const ownTitle = local ?? fromNational;
    const own = ownTitle
      ? // Every record of the regional catalog is a member's of this region, also one the directory lacks.
        this.#holders(ownTitle, (r) => r === self.region, local ? self.region : "")
      : [];
    this.#recordDemand(
      req,
      requester.id,
      ownTitle,
      own.some((h) => h.copies > 0),
    );
    // Each leg that may hang (a member's availability, the national center) gets a share of the
    // deadline, so a hung node delays the rota by at most that share, never the whole deadline.
    const availability = askMembers(
      this.#o.peers,
      ownTitle ? this.#availabilityTargets(ownTitle, own, requester.id) : [],
      shareOf(left, NATIONAL_SHARE)(),
    );
    const upward = this.#askNational(
      req,
      requester.id,
      local,
      fromNational,
      shareOf(left, NATIONAL_SHARE),
      signal,
    );
    const [avail, up] = await Promise.all([availability, upward]);
    coverage.push(...avail.coverage);
    if (up) coverage.push(...up.coverage);

    // Both the region ([iso18626] partners_in_rota here) and the national center (its setting, in
    // the directory) must let external partners into a rota.
    const external =
      this.#o.partnersInRota && !this.#o.directory.current().partnersOutOfRotas
        ? externalRota({
            partners: this.#o.directory.current().externalPartners,
            requesterId: requester.id,
            serviceType: req.serviceType,
            ...terms,
          })
        : { rota: [], excluded: [] };
    // No LRS holder at all: the external partners, if any lend it, are the whole rota.
    if (!ownTitle && external.rota.length === 0) {
      if (up?.failed)
        throw new ConnectError(
          `the title is not in ${self.id}'s union catalog, and the national center could not be asked: ${up.failed}`,
          Code.Unavailable,
        );
      if (!up || up.notFound !== undefined)
        throw new NotFoundError(`no union catalog knows the title${up?.notFound ? ` (${up.notFound})` : ""}`);
    }

    const ownAvailability = byInstitution(avail.institutions);
    const mine = buildRota({
      requester,
      serviceType: req.serviceType,
      format: ownTitle?.format ?? "",
      needBefore: req.needBefore ? timestampDate(req.needBefore) : undefined,
      ...terms,
      now: this.#o.now?.() ?? new Date(),
      holders: own.map((h) => ({ ...h, availability: ownAvailability.get(h.agencyId) })),
    });
    const res = create(BuildRotaResponseSchema, {
      rota: [...mine.rota, ...(up?.rota ?? []), ...external.rota],
      excluded: [...mine.excluded, ...(up?.excluded ?? []), ...external.excluded],
      clusterId: ownTitle?.clusterId ?? up?.clusterId ?? "",
      coverage,
    });
    log.info(
      {
        requester: requester.id,
        cluster: res.clusterId,
        rota: res.rota.map((c) => c.agencyId),
        excluded: res.excluded.length,
        national: up?.failed ? "unreachable" : "asked",
      },
      "rota built",
    );
    return res;
  }

  /**
   * The other regions' part of the rota, from the national center. The cluster is named in the
   * national catalog's terms: a national cluster as given; an own cluster mapped through one of its
   * records (LocateRecord); otherwise by identifiers or title, as the member asked.
   */
  async #askNational(
    req: BuildRotaRequest,
    requester: string,
    local: ResolvedTitle | undefined,
    fromNational: ResolvedTitle | undefined,
    left: () => number,
    signal: AbortSignal | undefined,
  ): Promise<Upward | undefined> {
    const { national, self, log } = this.#o;
    if (!national) return undefined;
    const nationalId = national.id() || "national";
    const started = Date.now();
    const timeoutMs = () => Math.max(1, left() - HOP_MARGIN_MS);
    try {
      let clusterId = fromNational?.clusterId ?? "";
      if (!clusterId && local) {
        // A few records suffice: the national catalog holds every record the region sent, and the
        // first (preferred) one is nearly always there; sync lag is what the others are for.
        for (const r of local.records.slice(0, 3)) {
          clusterId = (await national.catalog.locateRecord(r, { signal, timeoutMs: timeoutMs() })).clusterId;
          if (clusterId) break;
        }
      }
      const byWords = local
        ? {
            itemIds: [
              ...local.isbns.map((v) => ({
                bibliographicItemIdentifierCode: "ISBN",
                bibliographicItemIdentifier: v,
              })),
              ...local.issns.map((v) => ({
                bibliographicItemIdentifierCode: "ISSN",
                bibliographicItemIdentifier: v,
              })),
            ],
            title: local.title,
            author: local.author,
          }
        : { itemIds: req.itemIds, title: req.title, author: req.author };
      const res = await national.ill.buildRota(
        {
          ...(clusterId ? { clusterId } : byWords),
          serviceType: req.serviceType,
          requestingAgencyId: requester,
          excludeRegions: [self.region],
          ...(req.needBefore ? { needBefore: req.needBefore } : {}),
          // The other regions' lenders are priced and left out by the same terms.
          ...(req.maximumCosts ? { maximumCosts: req.maximumCosts } : {}),
          serviceLevel: req.serviceLevel,
          pages: req.pages,
        },
        { signal, timeoutMs: timeoutMs() },
      );
      return {
        rota: res.rota,
        excluded: res.excluded,
        clusterId: res.clusterId,
        coverage: [
          cover(
            nationalId,
            NodeCoverage_Status.ANSWERED,
            "other regions",
            Date.now() - started,
            res.rota.length,
          ),
          ...res.coverage,
        ],
      };
    } catch (err) {
      const ce = ConnectError.from(err);
      const elapsed = Date.now() - started;
      if (ce.code === Code.NotFound)
        return {
          rota: [],
          excluded: [],
          clusterId: "",
          coverage: [
            cover(nationalId, NodeCoverage_Status.ANSWERED, `other regions: ${ce.rawMessage}`, elapsed),
          ],
          notFound: ce.rawMessage,
        };
      const status =
        ce.code === Code.DeadlineExceeded || ce.code === Code.Canceled
          ? NodeCoverage_Status.TIMED_OUT
          : NodeCoverage_Status.FAILED;
      log.warn({ err: ce.rawMessage }, "national center unreachable for a rota; own region only");
      return {
        rota: [],
        excluded: [],
        clusterId: "",
        coverage: [cover(nationalId, status, `other regions not asked: ${ce.rawMessage}`, elapsed)],
        failed: ce.rawMessage,
      };
    }
  }

  async #national(
    req: BuildRotaRequest,
    requester: { id: string; region: string },
    terms: RotaTerms,
    left: () => number,
  ): Promise<BuildRotaResponse> {
    const { self, union, directory, peers, log } = this.#o;
    let title: ResolvedTitle | undefined;
    if (req.clusterId && clusterOwner(req.clusterId) === self.id) {
      const c = union.getCluster(req.clusterId);
      if (!c)
        throw new NotFoundError(`cluster_id: no cluster ${req.clusterId} in the national union catalog`);
      title = titleOfView(c);
    } else if (req.itemIds.length > 0 || req.title.trim()) {
      title = this.#findLocal(req);
      if (!title)
        throw new NotFoundError("no cluster of the national union catalog matches the identifiers or title");
    } else {
      throw new NotFoundError(
        `cluster_id: ${req.clusterId} is not a national cluster; name the national cluster (LocateRecord) or give identifiers`,
      );
    }
    const excluded = new Set(req.excludeRegions);
    const holders = this.#holders(title, (r) => !excluded.has(r));
    const avail = await askRegions(
      peers,
      this.#availabilityTargets(title, holders, requester.id),
      (r) => regionalCenterOf(directory, r),
      left(),
    );
    const availability = byInstitution(avail.institutions);
    const rota = buildRota({
      requester,
      serviceType: req.serviceType,
      format: title.format,
      needBefore: req.needBefore ? timestampDate(req.needBefore) : undefined,
      ...terms,
      now: this.#o.now?.() ?? new Date(),
      holders: holders.map((h) => ({ ...h, availability: availability.get(h.agencyId) })),
    });
    log.info(
      { requester: requester.id, cluster: title.clusterId, rota: rota.rota.map((c) => c.agencyId) },
      "rota of the other regions built",
    );
    return create(BuildRotaResponseSchema, { ...rota, clusterId: title.clusterId, coverage: avail.coverage });
  }
}

/** What a request pays and how fast it wants it: the rota's pricing terms. */
interface RotaTerms {
  maximum: Money | undefined;
  serviceLevel: string;
  pages: number;
}

/** @throws MoneyError naming maximum_costs when it is not an amount in an ISO 4217 currency. */
function termsOf(req: BuildRotaRequest): RotaTerms {
  return {
    maximum: moneyOfCosts(req.maximumCosts, "maximum_costs"),
    serviceLevel: req.serviceLevel.trim(),
    pages: req.pages,
  };
}

function byInstitution(list: readonly InstitutionAvailability[]): Map<string, InstitutionAvailability> {
  return new Map(list.map((a) => [a.institutionId, a]));
}
