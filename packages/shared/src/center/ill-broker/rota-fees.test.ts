// The rota and the lenders' fees: every candidate carries its charge for this request, and a
// lender charging more than the requester's maximum (or in another currency) is left out, saying so.
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Tier } from "../../gen/lrs/v1/common_pb.js";
import { FeeScheduleSchema, InstitutionSchema } from "../../gen/lrs/v1/directory_pb.js";
import { ServiceType } from "../../gen/lrs/v1/ill_pb.js";
import {
  Availability,
  InstitutionAvailabilitySchema,
  ItemAvailabilitySchema,
} from "../../gen/lrs/v1/search_pb.js";
import { buildRota, type RotaHolder, type RotaInput } from "./rota.js";

const NOW = new Date("2026-06-10T12:00:00Z");

type FeeInit = MessageInitShape<typeof FeeScheduleSchema>;

function holder(id: string, region: string, fees?: FeeInit): RotaHolder {
  return {
    agencyId: id,
    region,
    recordId: `${id}-r1`,
    clusterId: "north-rc:c1",
    institution: create(InstitutionSchema, {
      id,
      tier: Tier.MEMBER,
      region,
      lendingPolicy: { lendsItems: true, suppliesCopies: true, lendsOutsideRegion: true },
      ...(fees ? { feeSchedule: create(FeeScheduleSchema, fees) } : {}),
    }),
    copies: 2,
    availability: create(InstitutionAvailabilitySchema, {
      state: Availability.AVAILABLE,
      items: [create(ItemAvailabilitySchema, { state: Availability.AVAILABLE })],
    }),
    lent: 0,
    borrowed: 0,
  };
}

function rotaOf(holders: RotaHolder[], o: Partial<RotaInput> = {}) {
  return buildRota({
    requester: { id: "north-a", region: "north" },
    serviceType: ServiceType.LOAN,
    format: "book",
    now: NOW,
    holders,
    ...o,
  });
}

const EUR = (loan: bigint, more: FeeInit = {}): FeeInit => ({
  currency: "EUR",
  loanMinor: loan,
  copyMinor: 300n,
  perPageMinor: 20n,
  rushSurchargeMinor: 500n,
  ...more,
});

describe("buildRota: charges and the maximum cost", () => {
  it("leaves out a lender over the maximum and keeps one under it, each saying its charge", () => {
    const r = rotaOf([holder("north-b", "north", EUR(1200n)), holder("south-a", "south", EUR(850n))], {
      maximum: { currency: "EUR", minor: 1000n },
    });
    expect(r.rota.map((c) => c.agencyId)).toEqual(["south-a"]);
    expect(r.rota[0]!.reason).toMatch(/; charges 8\.50 EUR; /);
    expect(r.rota[0]!.charge).toMatchObject({ currencyCode: "EUR", monetaryValue: "8.50" });
    expect(r.excluded).toHaveLength(1);
    expect(r.excluded[0]!.agencyId).toBe("north-b");
    expect(r.excluded[0]!.reason).toBe("charges 12.00 EUR, over the maximum 10.00 EUR");
    expect(r.excluded[0]!.charge).toMatchObject({ currencyCode: "EUR", monetaryValue: "12.00" });
  });

  it("keeps a lender charging exactly the maximum", () => {
    const r = rotaOf([holder("north-b", "north", EUR(1000n))], {
      maximum: { currency: "EUR", minor: 1000n },
    });
    expect(r.rota.map((c) => c.agencyId)).toEqual(["north-b"]);
  });

  it("leaves out a lender charging in another currency than the maximum's", () => {
    const r = rotaOf([holder("north-b", "north", { currency: "USD", loanMinor: 100n })], {
      maximum: { currency: "EUR", minor: 1000n },
    });
    expect(r.rota).toEqual([]);
    expect(r.excluded[0]!.reason).toBe("charges 1.00 USD, not in the maximum's currency (10.00 EUR)");
  });

  it("keeps every lender without a maximum, and free lenders under any maximum", () => {
    const holders = [
      holder("north-b", "north", EUR(5000n)),
      holder("north-c", "north"),
      holder("south-a", "south", EUR(900n, { reciprocalPartners: ["north-a"] })),
    ];
    expect(rotaOf(holders).rota.map((c) => c.agencyId)).toEqual(["north-b", "north-c", "south-a"]);
    const capped = rotaOf(holders, { maximum: { currency: "GBP", minor: 0n } });
    expect(capped.rota.map((c) => c.agencyId)).toEqual(["north-c", "south-a"]);
    const free = capped.rota.find((c) => c.agencyId === "south-a")!;
    expect(free.reason).toMatch(/free \(reciprocal partner\)/);
    expect(free.charge).toMatchObject({ currencyCode: "EUR", monetaryValue: "0.00" });
    // A lender publishing no fees says nothing of money and carries no charge.
    const none = capped.rota.find((c) => c.agencyId === "north-c")!;
    expect(none.charge).toBeUndefined();
    expect(none.reason).not.toMatch(/charge/);
  });

  it("prices a rush request with the surcharge, and a copy by its pages", () => {
    const h = [holder("north-b", "north", EUR(850n))];
    const rush = rotaOf(h, { serviceLevel: "Rush", maximum: { currency: "EUR", minor: 1350n } });
    expect(rush.rota[0]!.charge?.monetaryValue).toBe("13.50");
    expect(
      rotaOf(h, { serviceLevel: "Rush", maximum: { currency: "EUR", minor: 1349n } }).excluded[0]!.reason,
    ).toBe("charges 13.50 EUR, over the maximum 13.49 EUR");
    const copy = rotaOf(h, { serviceType: ServiceType.COPY, pages: 23 });
    // 3.00 + 23 × 0.20
    expect(copy.rota[0]!.charge?.monetaryValue).toBe("7.60");
  });

  it("applies a discount agreed with the requester", () => {
    const h = [
      holder("north-b", "north", EUR(1200n, { discounts: [{ institutionId: "north-a", percent: 25 }] })),
    ];
    const r = rotaOf(h, { maximum: { currency: "EUR", minor: 1000n } });
    expect(r.rota[0]!.charge?.monetaryValue).toBe("9.00");
    expect(r.rota[0]!.reason).toMatch(/charges 9\.00 EUR/);
  });

  it("does not price a lender left out for another reason", () => {
    const closed = holder("north-b", "north", EUR(5000n));
    closed.institution!.lendingPolicy!.lendsItems = false;
    const r = rotaOf([closed], { maximum: { currency: "EUR", minor: 1000n } });
    expect(r.excluded[0]!.reason).toBe("does not lend items (lending policy)");
    expect(r.excluded[0]!.charge).toBeUndefined();
  });
});
