// The automatic responder: answers other members' requests without staff. "availability"
// answers from the items on the shelf and the lending policy (staff still ship); "scenario"
// hands a request whose note names a scenario to the mock lender (scenario-responder.ts) and
// answers the rest by availability. It acts as staff do, through the store's actions, after the
// Deliver transaction, and leaves its reason on the timeline.
import {
  type catalogPb,
  formatAndLanguage,
  type IllConfig,
  illPb,
  type LendingPolicyConfig,
  type Logger,
  lendsMaterial,
  searchPb,
} from "@lrs/shared";
import { availabilityOf, type LiveStatus } from "../catalog/availability.js";
import { ftsIndexQuery, type MemberCatalog } from "../store/catalog.js";
import { IllStateError } from "./errors.js";
import type { Applied, IllRefusal } from "./receiver.js";
import { ScenarioResponder } from "./scenario-responder.js";
import type { ActionDetail, IllEvent, IllRequest, IllStore } from "./store.js";

const { Availability } = searchPb;
const { ReasonUnfilled, ServiceType } = illPb;

export type AutoRespondMode = IllConfig["auto_respond"];

/** The responder's answer to a request, with the reason staff see on the timeline. */
export type Decision =
  | { readonly event: "respond_yes"; readonly why: string }
  | { readonly event: "respond_no"; readonly reason: illPb.ReasonUnfilled; readonly why: string };

/**
 * The answer availability and the lending policy give: yes when a copy can go (a loan needs a
 * lendable item on the shelf, a copy any item on the shelf, reference copies included) and the
 * policy supplies that service; otherwise no with the ISO reasonUnfilled.
 */
export function decideByAvailability(
  serviceType: illPb.ServiceType,
  catalog: MemberCatalog,
  agencyId: string,
  recordIds: readonly string[],
  policy: LendingPolicyConfig,
  now: Date,
  /** Each copy's status as the ILS says now (`[availability] source = "ncip"`). */
  live?: ReadonlyMap<string, LiveStatus>,
): Decision {
  const today = now.toISOString().slice(0, 10);
  const closed = policy.closed_periods.find((p) => p.from <= today && today <= p.to);
  if (closed)
    return {
      event: "respond_no",
      reason: ReasonUnfilled.POLICY_PROBLEM,
      why: `closed from ${closed.from} to ${closed.to}${closed.reason ? ` (${closed.reason})` : ""}`,
    };
  if (recordIds.length === 0)
    return {
      event: "respond_no",
      reason: ReasonUnfilled.NOT_HELD,
      why: "no record of the title in this catalog",
    };
  const loan = () => decideLoan(catalog, agencyId, recordIds, policy, live);
  const copy = () => decideCopy(catalog, agencyId, recordIds, policy, live);
  switch (serviceType) {
    case ServiceType.LOAN:
      return loan();
    case ServiceType.COPY:
      return copy();
    default: {
      const asLoan = loan();
      if (asLoan.event === "respond_yes") return asLoan;
      const asCopy = copy();
      return asCopy.event === "respond_yes" ? asCopy : asLoan;
    }
  }
}

function decideLoan(
  catalog: MemberCatalog,
  agencyId: string,
  recordIds: readonly string[],
  policy: LendingPolicyConfig,
  live: ReadonlyMap<string, LiveStatus> | undefined,
): Decision {
  if (!policy.lends_items)
    return {
      event: "respond_no",
      reason: ReasonUnfilled.POLICY_PROBLEM,
      why: "policy: this library does not lend items",
    };
  // The broker leaves such a lender out already; a request can still come (a rota built before
  // the policy changed, or a request sent by a system without our broker). By the same rule.
  if (policy.material_types.length > 0) {
    const held = recordIds.map((id) => catalog.get(id)).find((r) => r !== undefined);
    const format = held ? formatAndLanguage(held.marc).format : "";
    if (!lendsMaterial(policy.material_types, format))
      return {
        event: "respond_no",
        reason: ReasonUnfilled.POLICY_PROBLEM,
        why: `policy: this library lends ${policy.material_types.join(", ")} only, not ${format || "this material"}`,
      };
  }
  const a = availabilityOf(catalog, agencyId, recordIds, policy, live);
  const no = (reason: illPb.ReasonUnfilled): Decision => ({ event: "respond_no", reason, why: a.reason });
  switch (a.state) {
    case Availability.AVAILABLE:
      return { event: "respond_yes", why: a.reason };
    case Availability.ON_LOAN:
      return no(ReasonUnfilled.NOT_ON_SHELF);
    case Availability.NOT_LENDABLE:
      if (a.items.length === 0) return no(ReasonUnfilled.NOT_HELD);
      if (a.items.every((i) => i.reason === "non-circulating")) return no(ReasonUnfilled.NON_CIRCULATING);
      // A copy is on the shelf, yet the policy keeps it (the last copy stays).
      if (a.items.some((i) => i.state === Availability.AVAILABLE)) return no(ReasonUnfilled.POLICY_PROBLEM);
      return no(ReasonUnfilled.NOT_ON_SHELF);
    default:
      return no(ReasonUnfilled.NOT_HELD);
  }
}

function decideCopy(
  catalog: MemberCatalog,
  agencyId: string,
  recordIds: readonly string[],
  policy: LendingPolicyConfig,
  live: ReadonlyMap<string, LiveStatus> | undefined,
): Decision {
  if (!policy.supplies_copies)
    return {
      event: "respond_no",
      reason: ReasonUnfilled.POLICY_PROBLEM,
      why: "policy: this library does not supply copies",
    };
  // A copy never leaves the building: what matters is an item on the shelf.
  const a = availabilityOf(
    catalog,
    agencyId,
    recordIds,
    {
      ...policy,
      lends_items: true,
      lend_only_if_multiple_copies: false,
    },
    live,
  );
  if (a.state === Availability.UNKNOWN || a.items.length === 0)
    return { event: "respond_no", reason: ReasonUnfilled.NOT_HELD, why: a.reason };
  const onShelf = a.items.find(
    (i) =>
      i.state === Availability.AVAILABLE ||
      (i.state === Availability.NOT_LENDABLE && i.reason === "non-circulating"),
  );
  if (onShelf) return { event: "respond_yes", why: `a copy can be made from item ${onShelf.barcode}` };
  return { event: "respond_no", reason: ReasonUnfilled.NOT_ON_SHELF, why: "no item is on the shelf to copy" };
}

export interface AutoResponderOptions {
  readonly store: IllStore;
  readonly catalog: MemberCatalog;
  readonly agencyId: string;
  readonly policy: LendingPolicyConfig;
  readonly mode: () => AutoRespondMode;
  readonly log: Logger;
  readonly now: () => Date;
  /** This member's record ids in a union catalog cluster (asks the regional center). */
  readonly clusterRecords?: (clusterId: string) => Promise<readonly string[]>;
  /**
   * Delivers a copy as staff would with `ill upload-copy` (document delivery: the mock lender
   * scans a generated page); without it the scenario lender only moves its machine on.
   */
  readonly deliverCopy?: (requestId: string, why: string) => Promise<void>;
  /**
   * `[availability] source = "ncip"`: each copy's status asked of the ILS (LookupItem) instead of
   * the imported one; throws when the ILS cannot be reached (the imported status answers then).
   */
  readonly liveStatuses?: (recordIds: readonly string[]) => Promise<ReadonlyMap<string, LiveStatus>>;
}

export class AutoResponder {
  readonly #o: AutoResponderOptions;
  readonly #scenario: ScenarioResponder;

  constructor(opts: AutoResponderOptions) {
    this.#o = opts;
    this.#scenario = new ScenarioResponder({
      store: opts.store,
      agencyId: opts.agencyId,
      log: opts.log,
      now: opts.now,
      act: (requestId, event, why, detail) => this.#act(requestId, event, why, detail),
      ...(opts.deliverCopy ? { deliverCopy: opts.deliverCopy } : {}),
    });
  }

  /** The scenario lender refuses a Request with the token `scenario:error` outright. */
  screen(req: illPb.Request): IllRefusal | undefined {
    return this.#o.mode() === "scenario" ? this.#scenario.screen(req) : undefined;
  }

  /** Answers a new lender request, as the mode says. */
  async answer(requestId: string): Promise<void> {
    const mode = this.#o.mode();
    if (mode === "off") return;
    const request = this.#o.store.get(requestId);
    if (request?.role !== "lender" || request.state !== "new") return;
    if (mode === "scenario" && (await this.#scenario.answer(request))) return;
    await this.#byAvailability(request, mode);
  }

  /** What the scenario lender does after a borrower's message: check in what comes back, recall what arrived. */
  followUp(applied: Applied): void {
    if (this.#o.mode() === "scenario") this.#scenario.followUp(applied);
  }

  async #byAvailability(request: IllRequest, mode: AutoRespondMode): Promise<void> {
    const { catalog, agencyId, policy, now } = this.#o;
    const recordIds = await this.recordIds(request);
    let live: ReadonlyMap<string, LiveStatus> | undefined;
    let source = "";
    if (this.#o.liveStatuses && recordIds.length > 0) {
      try {
        live = await this.#o.liveStatuses(recordIds);
        source = " (live from the ILS)";
      } catch (err) {
        source = ` (from the imported status: the ILS did not answer: ${(err as Error).message})`;
      }
    }
    const decided = decideByAvailability(
      request.serviceType,
      catalog,
      agencyId,
      recordIds,
      policy,
      now(),
      live,
    );
    const decision = { ...decided, why: `${decided.why}${source}` };
    // The request may have been answered by staff meanwhile.
    if (this.#o.store.get(request.id)?.state !== "new") return;
    this.#act(
      request.id,
      decision.event,
      `${mode}: ${decision.why}`,
      decision.event === "respond_no" ? { reasonUnfilled: decision.reason } : {},
    );
  }

  /** This member's records of the requested title: as the Request names it, else by ISBN/ISSN, else by cluster. */
  async recordIds(request: IllRequest): Promise<string[]> {
    const { catalog, log } = this.#o;
    if (request.recordId && catalog.get(request.recordId)) return [request.recordId];
    const found = new Set<string>();
    for (const id of request.bibliographicInfo.bibliographicItemId) {
      const code = id.bibliographicItemIdentifierCode.toUpperCase();
      const index = code === "ISBN" ? "isbn" : code === "ISSN" ? "issn" : undefined;
      const query = index ? ftsIndexQuery(index, id.bibliographicItemIdentifier) : undefined;
      if (query) for (const hit of catalog.searchLocal(query, 10)) found.add(hit.recordId);
    }
    if (found.size > 0) return [...found];
    const clusterId = request.clusterId ?? request.bibliographicInfo.supplierUniqueRecordId;
    if (clusterId && this.#o.clusterRecords) {
      try {
        for (const id of await this.#o.clusterRecords(clusterId)) if (catalog.get(id)) found.add(id);
      } catch (err) {
        log.warn({ err: (err as Error).message, requestId: request.id, clusterId }, "cluster lookup failed");
      }
    }
    return [...found];
  }

  /** One action as staff would take it; a refusal is logged. True when applied. */
  #act(requestId: string, event: IllEvent, why: string, detail: ActionDetail = {}): boolean {
    const note = `automatic responder (${why})`;
    try {
      const { request } = this.#o.store.applyAction(requestId, event, { ...detail, note });
      this.#o.log.info({ requestId, event, state: request.state, why }, "automatic responder acted");
      return true;
    } catch (err) {
      if (!(err instanceof IllStateError)) throw err;
      this.#o.log.warn({ requestId, event, reason: err.reason }, "automatic responder refused");
      return false;
    }
  }
}

/** This member's record ids in a cluster, from the cluster as the union catalog has it. */
export function ownRecordsOf(cluster: catalogPb.Cluster | undefined, agencyId: string): string[] {
  return (cluster?.records ?? []).filter((r) => r.institutionId === agencyId).map((r) => r.recordId);
}
