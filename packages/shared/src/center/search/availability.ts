import { create } from "@bufbuild/protobuf";
import {
  Availability,
  type CheckAvailabilityResponse,
  type HeldRecord,
  HeldRecordSchema,
  type InstitutionAvailability,
  InstitutionAvailabilitySchema,
  type NodeCoverage,
  SearchService,
} from "../../gen/lrs/v1/search_pb.js";
import { AVAILABILITY_CONCURRENCY, fanOut } from "../../search/deadline.js";
import type { PeerClients } from "../peers.js";

function group(records: readonly HeldRecord[], key: (r: HeldRecord) => string): Map<string, HeldRecord[]> {
  const m = new Map<string, HeldRecord[]>();
  for (const r of records) {
    const k = key(r);
    m.set(k, [...(m.get(k) ?? []), r]);
  }
  return m;
}

function unknown(institutionId: string, region: string, reason: string): InstitutionAvailability {
  return create(InstitutionAvailabilitySchema, {
    institutionId,
    region,
    state: Availability.UNKNOWN,
    reason,
  });
}

/**
 * A regional center asks its own members, in parallel, about their records.
 * A member that does not answer in time is reported as unknown, with why.
 */
export async function askMembers(
  peers: PeerClients,
  records: readonly HeldRecord[],
  deadlineMs: number,
): Promise<{ institutions: InstitutionAvailability[]; coverage: NodeCoverage[] }> {
  const byMember = group(records, (r) => r.institutionId);
  const { results, coverage } = await fanOut(
    [...byMember.keys()],
    deadlineMs,
    async (member, signal, timeoutMs) => {
      const res = await peers
        .client(SearchService, member)
        .checkAvailability({ records: byMember.get(member)! }, { signal, timeoutMs });
      return res.institutions;
    },
    (v) => v.length,
    false,
    AVAILABILITY_CONCURRENCY,
  );
  const answered = new Map(results.map((r) => [r.target, r.value]));
  const institutions: InstitutionAvailability[] = [];
  for (const member of byMember.keys()) {
    const got = answered.get(member)?.find((i) => i.institutionId === member);
    const region = peers.regionOf(member) ?? "";
    if (got) institutions.push(Object.assign(got, { region }));
    else {
      const c = coverage.find((x) => x.nodeId === member);
      institutions.push(unknown(member, region, `no answer from ${member}: ${c?.detail || "failed"}`));
    }
  }
  return { institutions, coverage };
}

/** The national center asks each region's center about the records of that region's members. */
export async function askRegions(
  peers: PeerClients,
  records: readonly HeldRecord[],
  regionalCenterOf: (region: string) => string | undefined,
  deadlineMs: number,
): Promise<{ institutions: InstitutionAvailability[]; coverage: NodeCoverage[] }> {
  const byRegion = group(records, (r) => peers.regionOf(r.institutionId) ?? "");
  const institutions: InstitutionAvailability[] = [];
  const centers = new Map<string, HeldRecord[]>();
  for (const [region, recs] of byRegion) {
    const center = regionalCenterOf(region);
    if (!center) {
      for (const r of recs)
        institutions.push(unknown(r.institutionId, region, `no regional center for region "${region}"`));
      continue;
    }
    centers.set(center, recs);
  }
  const { results, coverage } = await fanOut(
    [...centers.keys()],
    deadlineMs,
    async (center, signal, timeoutMs) =>
      peers
        .client(SearchService, center)
        .checkAvailability({ records: centers.get(center)! }, { signal, timeoutMs }),
    (v: CheckAvailabilityResponse) => v.institutions.length,
  );
  const allCoverage = [...coverage];
  for (const [center, recs] of centers) {
    const got = results.find((r) => r.target === center)?.value;
    if (got) {
      institutions.push(...got.institutions);
      allCoverage.push(...got.coverage);
    } else {
      const c = coverage.find((x) => x.nodeId === center);
      for (const inst of new Set(recs.map((r) => r.institutionId))) {
        institutions.push(
          unknown(
            inst,
            peers.regionOf(inst) ?? "",
            `regional center ${center} did not answer: ${c?.detail || "failed"}`,
          ),
        );
      }
    }
  }
  return { institutions, coverage: allCoverage };
}

export function heldRecords(
  records: ReadonlyArray<{ institutionId: string; recordId: string }>,
  only: readonly string[] = [],
): HeldRecord[] {
  return records
    .filter((r) => only.length === 0 || only.includes(r.institutionId))
    .map((r) => create(HeldRecordSchema, { institutionId: r.institutionId, recordId: r.recordId }));
}
