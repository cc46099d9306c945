// What a BorrowRequest may say of money, speed and copyright, as IllStaffService checks it.
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { illPb, illServicePb } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import { validateBorrow } from "./ill-staff.js";

const NOW = new Date("2026-03-10T09:00:00Z");
const req = (o: Parameters<typeof create<typeof illServicePb.BorrowRequestSchema>>[1] = {}) =>
  create(illServicePb.BorrowRequestSchema, {
    clusterId: "north-rc:c1",
    serviceType: illPb.ServiceType.COPY,
    ...o,
  });

function refusal(o: Parameters<typeof req>[0]): string {
  try {
    validateBorrow(req(o), NOW);
  } catch (err) {
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.InvalidArgument);
    return (err as ConnectError).rawMessage;
  }
  throw new Error("not refused");
}

describe("validateBorrow: terms", () => {
  it("takes a maximum cost, an ISO service level in any case, a compliance code and a publication date", () => {
    const input = validateBorrow(
      req({
        maximumCosts: { currencyCode: "eur", monetaryValue: "10" },
        serviceLevel: "rush",
        copyrightCompliance: "US:CCL",
        publicationDate: "2024-05-01",
      }),
      NOW,
    );
    expect(input).toMatchObject({
      maximumCost: { currency: "EUR", minor: 1000n },
      serviceLevel: "Rush",
      copyrightCompliance: "US:CCL",
      publicationDate: "2024-05-01",
    });
    // "Normal" is the default and is not stored.
    expect(validateBorrow(req({ serviceLevel: "Normal" }), NOW).serviceLevel).toBeUndefined();
  });

  it("refuses what it cannot read, naming the field", () => {
    expect(refusal({ maximumCosts: { currencyCode: "EUR", monetaryValue: "1.234" } })).toMatch(
      /^maximum_costs: "1.234" has more decimals than EUR has/,
    );
    expect(refusal({ maximumCosts: { currencyCode: "", monetaryValue: "10" } })).toMatch(
      /^maximum_costs: ""/,
    );
    expect(refusal({ serviceLevel: "Snail" })).toMatch(
      /^service_level: "Snail" is not one of Normal, Express, Rush/,
    );
    expect(refusal({ copyrightCompliance: "US:CCG", serviceType: illPb.ServiceType.LOAN })).toMatch(
      /^copyright_compliance: goes with a copy request/,
    );
    expect(refusal({ copyrightCompliance: "<script>" })).toMatch(/is not a compliance code/);
    expect(refusal({ publicationDate: "2024-13" })).toMatch(
      /^publication_date: "2024-13" is not a year or a date/,
    );
    expect(refusal({ publicationDate: "2027" })).toMatch(/^publication_date: 2027 is in the future/);
  });
});
