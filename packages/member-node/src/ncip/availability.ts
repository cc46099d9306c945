// Live availability (`[availability] source = "ncip"`): each copy's circulation status asked of
// the ILS with LookupItem instead of the status last imported or harvested, then judged by the
// same lending rules (catalog/availability.ts). When the ILS cannot be reached the imported status
// answers, and the reason says so: a broker asking is never left without an answer.
import type { LendingPolicyConfig, searchPb } from "@lrs/shared";
import { availabilityOf, type LiveStatus } from "../catalog/availability.js";
import type { MemberCatalog } from "../store/catalog.js";
import type { NcipClient } from "./client.js";
import { describeProblem, itemStatusOf } from "./messages.js";

/** LookupItem calls at once (an ILS is one server; the broker's deadline is seconds). */
const PARALLEL = 4;

/**
 * Each copy's circulation status as the ILS says now (LookupItem); throws when the ILS cannot be
 * reached (a copy the ILS does not know is "not_available", with its problem).
 */
export async function liveStatuses(
  client: NcipClient,
  catalog: MemberCatalog,
  recordIds: readonly string[],
  signal?: AbortSignal,
): Promise<Map<string, LiveStatus>> {
  const barcodes = recordIds.flatMap((id) => catalog.get(id)?.holdings.map((h) => h.barcode) ?? []);
  const live = new Map<string, LiveStatus>();
  for (let i = 0; i < barcodes.length; i += PARALLEL) {
    const batch = barcodes.slice(i, i + PARALLEL);
    const answers = await Promise.all(
      batch.map((barcode) => client.send({ service: "LookupItem", input: { barcode } }, signal)),
    );
    answers.forEach((a, k) => {
      const barcode = batch[k]!;
      if (a.problems.length > 0)
        live.set(barcode, { status: "not_available", why: a.problems.map(describeProblem).join("; ") });
      else
        live.set(barcode, {
          status: itemStatusOf(a.circulationStatus),
          ...(a.dateDue ? { dueDate: a.dateDue.toISOString().slice(0, 10) } : {}),
        });
    });
  }
  return live;
}

export async function liveAvailability(
  client: NcipClient,
  catalog: MemberCatalog,
  institutionId: string,
  recordIds: readonly string[],
  policy: LendingPolicyConfig,
  signal?: AbortSignal,
): Promise<searchPb.InstitutionAvailability> {
  let live: Map<string, LiveStatus>;
  try {
    live = await liveStatuses(client, catalog, recordIds, signal);
  } catch (err) {
    if (signal?.aborted) throw err;
    const a = availabilityOf(catalog, institutionId, recordIds, policy);
    a.reason = `${a.reason} (from the imported status: the ILS did not answer: ${(err as Error).message})`;
    return a;
  }
  const a = availabilityOf(catalog, institutionId, recordIds, policy, live);
  if (live.size > 0) a.reason = `${a.reason} (live from the ILS)`;
  return a;
}
