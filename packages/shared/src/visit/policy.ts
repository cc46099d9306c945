// Whom a member serves in person: its region, the whole federation, or named partners, as its
// published VisitingReaderPolicy says. One rule, used by the visited library's desk and its tests.
import type { Institution } from "../gen/lrs/v1/directory_pb.js";

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
