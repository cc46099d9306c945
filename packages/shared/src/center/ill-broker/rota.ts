// The broker's rule book: which holders of a title go into a request's rota, in which order, and
// why every other holder is left out. Pure: the broker (broker.ts) gathers the facts.
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { lendsMaterial } from "../../directory/lending-policy.js";
import { type Charge, chargeText, computeCharge, overMaximum, type SupplyMode } from "../../fees/fees.js";
import { costsOf, type Money } from "../../fees/money.js";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import type { Institution, LendingPolicySummary } from "../../gen/lrs/v1/directory_pb.js";
import { ServiceType } from "../../gen/lrs/v1/ill_pb.js";
import { type RotaCandidate, RotaCandidateSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { Availability, type InstitutionAvailability } from "../../gen/lrs/v1/search_pb.js";

/** How long a broker waits for a lender that names no response time of its own: 3 days. */
export const DEFAULT_RESPONSE_TIME_SECONDS = 3 * 86_400;

/** One institution holding the title, with what the broker found out about it. */
export interface RotaHolder {
  agencyId: string;
  /** Its region, from the directory ("" when unknown). */
  region: string;
  /** Its own record id for the title, and the cluster that record is in. */
  recordId: string;
  clusterId: string;
  /** Its directory entry; undefined when the directory does not know it. */
  institution: Institution | undefined;
  /** Copies it holds of the title (its holdings in the cluster; orders are not copies). */
  copies: number;
  /** Copies it has on order (acquisitions): never lent; a holder with only orders is left out. */
  onOrder?: number;
  /**
   * When every copy it holds is under a shared retention commitment still in force: the year the
   * commitment runs through (its last copies, kept for the region: asked after other copies).
   * 0 or absent otherwise.
   */
  retainedUntil?: number;
  /** What the live availability check said; undefined when it was not asked. */
  availability: InstitutionAvailability | undefined;
  /** Requests it filled and made, as this broker has seen them. */
  lent: number;
  borrowed: number;
}

export interface RotaInput {
  /** The borrowing member and its region. */
  requester: { id: string; region: string };
  /** UNSPECIFIED is taken as a loan, the usual ILL request. */
  serviceType: ServiceType;
  /** The title's kind of material as the union catalog names it ("book", "score", …); "" when unknown. */
  format: string;
  /** Lenders closed on this day are left out. */
  needBefore?: Date | undefined;
  /** The most the requester pays: a lender charging more (or in another currency) is left out. */
  maximum?: Money | undefined;
  /** ISO 18626 service level: "Rush", "Express" and "Urgent" cost the lender's rush surcharge. */
  serviceLevel?: string | undefined;
  /** Pages of a copy, for the per-page charge. */
  pages?: number | undefined;
  now: Date;
  holders: readonly RotaHolder[];
}

export interface Rota {
  /** The lenders to ask, in order. */
  rota: RotaCandidate[];
  /** Holders left out, each with the reason. */
  excluded: RotaCandidate[];
}

/** An ISO date ("2026-12-24") of a moment, as closed periods and due dates are written. */
function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** Why a lender with this policy cannot lend the item itself, or undefined when it can. */
function noLoan(policy: LendingPolicySummary, format: string, copies: number): string | undefined {
  if (!policy.lendsItems) return "does not lend items (lending policy)";
  if (!lendsMaterial(policy.materialTypes, format))
    return `lends only ${policy.materialTypes.join(", ")}; this is a ${format}`;
  if (policy.lendOnlyIfMultipleCopies && copies < 2)
    return `lends a title only while it holds more than one copy, and holds ${copies}`;
  return undefined;
}

/** Why the lender takes no request now (or until after the need-before date), or undefined. */
function closedReason(
  policy: LendingPolicySummary,
  now: Date,
  needBefore: Date | undefined,
): string | undefined {
  const today = isoDay(now);
  const need = needBefore ? isoDay(needBefore) : undefined;
  for (const p of policy.closedPeriods) {
    const why = p.reason ? ` (${p.reason})` : "";
    if (p.from <= today && today <= p.to) return `closed from ${p.from} to ${p.to}${why}`;
    if (need !== undefined && need >= today && p.from <= need && need <= p.to)
      return `closed from ${p.from} to ${p.to}${why}, through the need-before date ${need}`;
  }
  return undefined;
}

/** The availability check's items on the shelf for copying: available, or for use in the library only. */
function onShelfForCopy(a: InstitutionAvailability): number {
  // The member marks reference copies NOT_LENDABLE with the reason "non-circulating": they cannot be
  // lent but can be copied. Missing or withdrawn copies are NOT_LENDABLE with their status as reason.
  return a.items.filter(
    (i) =>
      i.state === Availability.AVAILABLE ||
      (i.state === Availability.NOT_LENDABLE && i.reason === "non-circulating"),
  ).length;
}

function onLoanText(a: InstitutionAvailability): string {
  const until = a.onLoanUntil ? ` until ${isoDay(timestampDate(a.onLoanUntil))}` : "";
  return `every copy is on loan${until}`;
}

function copiesText(available: number, total: number, what = "available"): string {
  return `${available} of ${total} ${total === 1 ? "copy" : "copies"} ${what}`;
}

type Verdict =
  | { included: false; reason: string; charge?: Charge }
  | { included: true; available: boolean; what: string; mode: SupplyMode; charge: Charge };

/** Everything but the availability: who may be asked at all for this service. */
function eligibility(
  h: RotaHolder,
  input: RotaInput,
): { reason: string } | { loan: boolean; copy: boolean; policy: LendingPolicySummary } {
  const inst = h.institution;
  if (h.agencyId === input.requester.id) return { reason: "the requester itself" };
  if (h.copies === 0 && (h.onOrder ?? 0) > 0)
    return {
      reason: `has it on order only (${h.onOrder} ${h.onOrder === 1 ? "copy" : "copies"}): an order is not lent`,
    };
  if (!inst) return { reason: "not in the federation directory" };
  if (inst.revoked) return { reason: "revoked from the federation" };
  if (inst.tier !== Tier.MEMBER) return { reason: "not a member library" };
  const policy = inst.lendingPolicy;
  if (!policy) return { reason: "has published no lending policy" };
  if (h.region !== input.requester.region && !policy.lendsOutsideRegion)
    return { reason: `lends to members of its own region (${h.region}) only` };
  const closed = closedReason(policy, input.now, input.needBefore);
  if (closed) return { reason: closed };
  const loanRefusal = noLoan(policy, input.format, h.copies);
  const copy = policy.suppliesCopies;
  switch (input.serviceType) {
    case ServiceType.COPY:
      return copy ? { loan: false, copy, policy } : { reason: "does not supply copies (lending policy)" };
    case ServiceType.COPY_OR_LOAN:
      if (loanRefusal && !copy) return { reason: `${loanRefusal}, and does not supply copies` };
      return { loan: loanRefusal === undefined, copy, policy };
    case ServiceType.LOAN:
    case ServiceType.UNSPECIFIED:
      return loanRefusal ? { reason: loanRefusal } : { loan: true, copy: false, policy };
    default: {
      const _never: never = input.serviceType;
      return { reason: `unknown service type ${String(_never)}` };
    }
  }
}

function verdict(h: RotaHolder, input: RotaInput): Verdict {
  const e = eligibility(h, input);
  if ("reason" in e) return { included: false, reason: e.reason };
  const mode: SupplyMode = e.loan && e.copy ? "copy or loan" : e.loan ? "loan" : "copy";
  // The lender's own fee schedule, for this requester and this request; its availability does
  // not matter to a requester who cannot pay it.
  const charge = computeCharge(h.institution?.feeSchedule, {
    requesterId: input.requester.id,
    mode,
    pages: input.pages ?? 0,
    serviceLevel: input.serviceLevel ?? "",
  });
  const over = overMaximum(charge, input.maximum);
  if (over) return { included: false, reason: over, charge };
  const a = h.availability;
  if (!a || a.state === Availability.UNKNOWN || a.state === Availability.UNSPECIFIED)
    return {
      included: true,
      available: false,
      what: `availability unknown (${a?.reason || "not asked"})`,
      mode,
      charge,
    };
  const total = a.items.length;
  if (e.loan && a.state === Availability.AVAILABLE) {
    const free = a.items.filter((i) => i.state === Availability.AVAILABLE).length;
    return {
      included: true,
      available: true,
      what: total > 0 ? copiesText(free, total) : a.reason,
      mode,
      charge,
    };
  }
  if (e.copy) {
    const shelf = onShelfForCopy(a);
    if (shelf > 0)
      return {
        included: true,
        available: true,
        what: copiesText(shelf, total, "on the shelf to copy"),
        mode,
        charge,
      };
  }
  if (a.state === Availability.ON_LOAN) return { included: false, reason: onLoanText(a) };
  if (a.state === Availability.NOT_LENDABLE)
    return { included: false, reason: `not lendable: ${a.reason || "no copy can go out"}` };
  // AVAILABLE for a copy-only request without an item on the shelf: nothing to copy from.
  return { included: false, reason: `no copy on the shelf to copy${a.reason ? ` (${a.reason})` : ""}` };
}

/**
 * Builds the rota: every holder is checked against its directory entry and lending policy
 * (membership, region, closed periods, service, material, copies), its fee schedule against the
 * requester's maximum cost, and the live availability; every candidate carries its charge;
 * those left are ordered own region first, then other regions, and within each the holders of
 * copies other than retained last copies (shared print: a copy kept for the region is lent when
 * no other copy can be) before those, the available before the unknown, then by balance (lent − borrowed, ascending: a library that borrowed more
 * than it lent is asked first, which spreads the work), then by id.
 */
export function buildRota(input: RotaInput): Rota {
  type Kept = {
    h: RotaHolder;
    own: boolean;
    retained: boolean;
    available: boolean;
    what: string;
    mode: string;
    charge: Charge;
  };
  const kept: Kept[] = [];
  const excluded: RotaCandidate[] = [];
  for (const h of input.holders) {
    const v = verdict(h, input);
    const own = h.region === input.requester.region;
    if (v.included)
      kept.push({
        h,
        own,
        // A retained last copy is lent, but only after the other copies of its part of the rota.
        retained: (h.retainedUntil ?? 0) > 0 && input.serviceType !== ServiceType.COPY,
        available: v.available,
        what: v.what,
        mode: v.mode,
        charge: v.charge,
      });
    else excluded.push(candidate(h, false, v.reason, v.charge));
  }
  kept.sort(
    (a, b) =>
      Number(b.own) - Number(a.own) ||
      Number(a.retained) - Number(b.retained) ||
      Number(b.available) - Number(a.available) ||
      a.h.lent - a.h.borrowed - (b.h.lent - b.h.borrowed) ||
      (a.h.agencyId < b.h.agencyId ? -1 : a.h.agencyId > b.h.agencyId ? 1 : 0),
  );
  excluded.sort(
    (a, b) =>
      Number(b.region === input.requester.region) - Number(a.region === input.requester.region) ||
      (a.agencyId < b.agencyId ? -1 : a.agencyId > b.agencyId ? 1 : 0),
  );
  const rota = kept.map((k) => {
    const where = k.own ? "own region" : `other region (${k.h.region || "unknown"})`;
    const service = input.serviceType === ServiceType.COPY_OR_LOAN ? `; ${k.mode}` : "";
    const fee = k.charge.currency === "" ? "" : `; ${chargeText(k.charge)}`;
    const kept = k.retained
      ? `; last copies retained for the region until ${k.h.retainedUntil}, asked after others`
      : "";
    return candidate(
      k.h,
      true,
      `${where}; ${k.what}${service}${fee}${kept}; lent ${k.h.lent}, borrowed ${k.h.borrowed}`,
      k.charge,
    );
  });
  return { rota, excluded };
}

function candidate(h: RotaHolder, included: boolean, reason: string, charge?: Charge): RotaCandidate {
  return create(RotaCandidateSchema, {
    // What it would charge, in its currency ("0.00" for a reciprocal partner); unset when it
    // publishes no fees.
    ...(charge && charge.currency !== ""
      ? { charge: costsOf({ currency: charge.currency, minor: charge.minor }) }
      : {}),
    agencyId: h.agencyId,
    region: h.region,
    recordId: h.recordId,
    clusterId: h.clusterId,
    included,
    reason,
    responseTimeSeconds: h.institution?.lendingPolicy?.responseTimeSeconds || DEFAULT_RESPONSE_TIME_SECONDS,
    availability: h.availability?.state ?? Availability.UNKNOWN,
    lent: BigInt(h.lent),
    borrowed: BigInt(h.borrowed),
  });
}
