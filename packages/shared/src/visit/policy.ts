// Whom a member serves in person: its region, the whole federation, or named partners, as its
// published VisitingReaderPolicy says. One rule, used by the visited library's desk and its tests.
import { create } from "@bufbuild/protobuf";
import type { LendingPolicyConfig } from "../config.js";
import { parseMoney } from "../fees/money.js";
import type { Institution } from "../gen/lrs/v1/directory_pb.js";
import { type VisitingReaderPolicy, VisitingReaderPolicySchema } from "../gen/lrs/v1/visit_pb.js";

/** The `[lending_policy.visiting]` settings as the directory publishes them. */
export function visitingPolicyOf(v: LendingPolicyConfig["visiting"]): VisitingReaderPolicy {
  const fee = v.fee_per_loan ? parseMoney(v.fee_per_loan) : undefined;
  return create(VisitingReaderPolicySchema, {
    servesVisitors: v.serves_visitors,
    ownRegion: v.own_region,
    federation: v.federation,
    partners: v.partners,
    materialTypes: v.material_types,
    maxLoans: v.max_loans,
    loanPeriodDays: v.loan_period_days,
    ...(fee && fee.minor > 0n ? { feeCurrency: fee.currency, feePerLoanMinor: fee.minor } : {}),
  });
}

/**
 * Why `visited` does not serve readers of `home` in person, or undefined when it does.
 */
export function visitRefusal(visited: Institution, home: Institution | undefined): string | undefined {
  const p = visited.visitingPolicy;
  if (!p?.servesVisitors) return `${visited.id} serves no visiting readers`;
  if (!home) return "the reader's home institution is not in the directory";
  if (home.revoked) return `${home.id} has been revoked from the federation`;
  if (p.federation) return undefined;
  if (p.ownRegion && home.region === visited.region) return undefined;
  if (p.partners.includes(home.id)) return undefined;
  const whom = [
    p.ownRegion ? `members of region ${visited.region}` : "",
    p.partners.length ? `partners (${p.partners.join(", ")})` : "",
  ]
    .filter((s) => s !== "")
    .join(" and ");
  return `${visited.id} serves ${whom || "no visiting readers"}, and ${home.id} (region ${home.region}) is not one of them`;
}
