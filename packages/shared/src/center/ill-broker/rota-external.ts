// External ILL partners in a rota: asked as a last resort, after every LRS holder, when a region
// lets them in ([iso18626] partners_in_rota). Pure, like rota.ts; the broker appends the result.
import { create } from "@bufbuild/protobuf";
import { chargeText, computeCharge, overMaximum, type SupplyMode } from "../../fees/fees.js";
import { costsOf, type Money } from "../../fees/money.js";
import type { ExternalPartner } from "../../gen/lrs/v1/directory_pb.js";
import { ServiceType } from "../../gen/lrs/v1/ill_pb.js";
import { type RotaCandidate, RotaCandidateSchema } from "../../gen/lrs/v1/ill_service_pb.js";
import { Availability } from "../../gen/lrs/v1/search_pb.js";
import { DEFAULT_RESPONSE_TIME_SECONDS, type Rota } from "./rota.js";

export interface ExternalRotaInput {
  partners: readonly ExternalPartner[];
  requesterId: string;
  serviceType: ServiceType;
  maximum?: Money | undefined;
  serviceLevel?: string | undefined;
  pages?: number | undefined;
}

function candidate(
  p: ExternalPartner,
  included: boolean,
  reason: string,
  charge?: { currency: string; minor: bigint },
): RotaCandidate {
  return create(RotaCandidateSchema, {
    ...(charge && charge.currency !== "" ? { charge: costsOf(charge) } : {}),
    agencyId: p.id,
    region: "",
    included,
    reason,
    responseTimeSeconds: DEFAULT_RESPONSE_TIME_SECONDS,
    availability: Availability.UNKNOWN,
  });
}

/** The partners that lend what is asked for, in the order of their ids, and the others with the reason. */
export function externalRota(input: ExternalRotaInput): Rota {
  const rota: RotaCandidate[] = [];
  const excluded: RotaCandidate[] = [];
  const type = input.serviceType === ServiceType.UNSPECIFIED ? ServiceType.LOAN : input.serviceType;
  for (const p of [...input.partners].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    const who = `external partner (${p.agencyIdType}:${p.agencyIdValue})`;
    if (!p.mayLend) {
      excluded.push(candidate(p, false, `${who}; does not lend to this federation`));
      continue;
    }
    const loan = p.lendsLoans && (type === ServiceType.LOAN || type === ServiceType.COPY_OR_LOAN);
    const copy = p.suppliesCopies && (type === ServiceType.COPY || type === ServiceType.COPY_OR_LOAN);
    if (!loan && !copy) {
      excluded.push(
        candidate(p, false, `${who}; does not ${type === ServiceType.COPY ? "supply copies" : "lend loans"}`),
      );
      continue;
    }
    const mode: SupplyMode = loan && copy ? "copy or loan" : loan ? "loan" : "copy";
    const charge = computeCharge(p.fees, {
      requesterId: input.requesterId,
      mode,
      pages: input.pages ?? 0,
      serviceLevel: input.serviceLevel ?? "",
    });
    const over = overMaximum(charge, input.maximum);
    if (over) {
      excluded.push(candidate(p, false, `${who}; ${over}`, charge));
      continue;
    }
    const what = loan && copy ? "lends loans and copies" : loan ? "lends loans" : "supplies copies";
    const fee = charge.currency === "" ? "" : `, ${chargeText(charge)}`;
    rota.push(candidate(p, true, `${who}, last resort after LRS holders; ${what}${fee}`, charge));
  }
  return { rota, excluded };
}
