import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { toConfig } from "../config.js";
import { Tier } from "../gen/lrs/v1/common_pb.js";
import { FeeScheduleSchema } from "../gen/lrs/v1/directory_pb.js";
import {
  chargeText,
  computeCharge,
  countPages,
  discounted,
  feeScheduleOf,
  overMaximum,
  type SupplyMode,
} from "./fees.js";
import { formatAmount, MoneyError, moneyOfCosts, parseAmount, parseMoney } from "./money.js";

describe("amounts", () => {
  it.each([
    ["8.50", "EUR", 850n],
    ["8.5", "EUR", 850n],
    ["8", "EUR", 800n],
    ["0.10", "EUR", 10n],
    ["0.1", "EUR", 10n],
    [" 12.00 ", "USD", 1200n],
    ["8.500", "EUR", 850n],
    ["1200", "JPY", 1200n],
    ["1.234", "KWD", 1234n],
    ["19.99", "GBP", 1999n],
  ])("reads %s %s exactly as %d minor units", (text, currency, minor) => {
    expect(parseAmount(text, currency)).toBe(minor);
  });

  it.each([
    ["8.505", "EUR", /more decimals than EUR has \(2\)/],
    ["12.5", "JPY", /whole units only/],
    ["-1.00", "EUR", /not an amount/],
    ["1e3", "EUR", /not an amount/],
    ["", "EUR", /not an amount/],
    ["8,50", "EUR", /not an amount/],
    ["1.00", "EURO", /not an ISO 4217 currency code/],
    ["1.00", "eur", /not an ISO 4217 currency code/],
    ["1.00", "XYZ", /not an ISO 4217 currency code/],
    ["99999999999.00", "EUR", /more than the largest amount/],
  ])("refuses %j %s, saying why", (text, currency, why) => {
    expect(() => parseAmount(text, currency)).toThrow(MoneyError);
    expect(() => parseAmount(text, currency)).toThrow(why);
  });

  it("writes amounts back as decimals of the currency", () => {
    expect(formatAmount(850n, "EUR")).toBe("8.50");
    expect(formatAmount(5n, "EUR")).toBe("0.05");
    expect(formatAmount(0n, "EUR")).toBe("0.00");
    expect(formatAmount(-1250n, "EUR")).toBe("-12.50");
    expect(formatAmount(1200n, "JPY")).toBe("1200");
    expect(formatAmount(1234n, "KWD")).toBe("1.234");
  });

  it("reads an amount with its currency either way round", () => {
    expect(parseMoney("10.00 EUR")).toEqual({ currency: "EUR", minor: 1000n });
    expect(parseMoney("EUR 10")).toEqual({ currency: "EUR", minor: 1000n });
    expect(parseMoney("10.00 eur")).toEqual({ currency: "EUR", minor: 1000n });
    expect(() => parseMoney("10.00")).toThrow(/an amount with its currency, e.g. "10.00 EUR"/);
    expect(() => parseMoney("ten EUR")).toThrow(/not an amount/);
  });

  it("reads ISO Costs; empty Costs are no amount", () => {
    expect(moneyOfCosts({ currencyCode: "EUR", monetaryValue: "10.00" }, "maximum_costs")).toEqual({
      currency: "EUR",
      minor: 1000n,
    });
    expect(moneyOfCosts(undefined, "maximum_costs")).toBeUndefined();
    expect(moneyOfCosts({ currencyCode: "", monetaryValue: "" }, "maximum_costs")).toBeUndefined();
    expect(() => moneyOfCosts({ currencyCode: "", monetaryValue: "10" }, "maximum_costs")).toThrow(
      /^maximum_costs: "" is not an ISO 4217/,
    );
  });
});

const SCHEDULE = create(FeeScheduleSchema, {
  currency: "EUR",
  loanMinor: 850n,
  copyMinor: 500n,
  perPageMinor: 10n,
  rushSurchargeMinor: 300n,
  reciprocalPartners: ["north-a"],
  discounts: [
    { institutionId: "south-a", percent: 20 },
    { institutionId: "east-a", percent: 100 },
  ],
});

describe("charges", () => {
  const cases: Array<{
    name: string;
    requester?: string;
    mode: SupplyMode;
    pages?: number;
    level?: string;
    minor: bigint;
    detail: string | RegExp;
    schedule?: typeof SCHEDULE | undefined;
  }> = [
    { name: "a loan", mode: "loan", minor: 850n, detail: "loan 8.50" },
    { name: "a copy without pages", mode: "copy", minor: 500n, detail: "copy 5.00" },
    {
      name: "a copy of 23 pages",
      mode: "copy",
      pages: 23,
      minor: 730n,
      detail: "copy 5.00 + 23 pages × 0.10",
    },
    { name: "a copy of one page", mode: "copy", pages: 1, minor: 510n, detail: "copy 5.00 + 1 page × 0.10" },
    { name: "a rush loan", mode: "loan", level: "Rush", minor: 1150n, detail: "loan 8.50 + rush 3.00" },
    { name: "an express copy", mode: "copy", level: "express", minor: 800n, detail: /rush 3.00/ },
    { name: "an urgent loan", mode: "loan", level: "URGENT", minor: 1150n, detail: /rush/ },
    { name: "a normal loan", mode: "loan", level: "Normal", minor: 850n, detail: "loan 8.50" },
    {
      name: "a reciprocal partner",
      requester: "north-a",
      mode: "loan",
      level: "Rush",
      minor: 0n,
      detail: /reciprocal/,
    },
    {
      name: "a discount of 20% on rush and pages",
      requester: "south-a",
      mode: "copy",
      pages: 12,
      level: "Rush",
      // 5.00 + 1.20 + 3.00 = 9.20, less 20% = 7.36
      minor: 736n,
      detail: "copy 5.00 + 12 pages × 0.10 + rush 3.00, less 20% by agreement",
    },
    { name: "a 100% discount", requester: "east-a", mode: "loan", minor: 0n, detail: /less 100%/ },
    {
      name: "copy or loan: the dearer",
      mode: "copy or loan",
      pages: 50,
      // copy 5.00 + 5.00 = 10.00 > loan 8.50
      minor: 1000n,
      detail: "up to copy 5.00 + 50 pages × 0.10 (copy or loan)",
    },
    {
      name: "copy or loan, short copy",
      mode: "copy or loan",
      pages: 2,
      minor: 850n,
      detail: /up to loan 8.50/,
    },
    { name: "no schedule", mode: "loan", minor: 0n, detail: "publishes no fees", schedule: undefined },
  ];
  it.each(cases)("$name", (c) => {
    const charge = computeCharge("schedule" in c ? c.schedule : SCHEDULE, {
      requesterId: c.requester ?? "west-z",
      mode: c.mode,
      pages: c.pages ?? 0,
      serviceLevel: c.level ?? "",
    });
    expect(charge.minor).toBe(c.minor);
    expect(charge.detail).toMatch(c.detail);
  });

  it("rounds a discount to the nearest minor unit, half up", () => {
    expect(discounted(1080n, 20)).toBe(864n);
    expect(discounted(999n, 15)).toBe(849n); // 849.15
    expect(discounted(10n, 25)).toBe(8n); // 7.5 → 8
    expect(discounted(1n, 50)).toBe(1n); // 0.5 → 1
    expect(discounted(500n, 100)).toBe(0n);
  });

  it("says the charge as a rota reason does", () => {
    const at = (requesterId: string) =>
      chargeText(computeCharge(SCHEDULE, { requesterId, mode: "loan", pages: 0, serviceLevel: "" }));
    expect(at("west-z")).toBe("charges 8.50 EUR");
    expect(at("north-a")).toBe("free (reciprocal partner)");
    expect(at("east-a")).toBe("charges nothing");
  });

  it("leaves a lender out when it charges more than the maximum, or in another currency", () => {
    const loan = computeCharge(SCHEDULE, {
      requesterId: "west-z",
      mode: "loan",
      pages: 0,
      serviceLevel: "Rush",
    });
    expect(overMaximum(loan, { currency: "EUR", minor: 1000n })).toBe(
      "charges 11.50 EUR, over the maximum 10.00 EUR",
    );
    expect(overMaximum(loan, { currency: "EUR", minor: 1150n })).toBeUndefined();
    expect(overMaximum(loan, undefined)).toBeUndefined();
    expect(overMaximum(loan, { currency: "USD", minor: 100_000n })).toBe(
      "charges 11.50 EUR, not in the maximum's currency (1000.00 USD)",
    );
    const free = computeCharge(SCHEDULE, {
      requesterId: "north-a",
      mode: "loan",
      pages: 0,
      serviceLevel: "",
    });
    expect(overMaximum(free, { currency: "USD", minor: 0n })).toBeUndefined();
  });

  it("counts the pages of page ranges", () => {
    expect(countPages("12-34")).toBe(23);
    expect(countPages("5")).toBe(1);
    expect(countPages("12-14, 20-21")).toBe(5);
    expect(countPages("S12-S15")).toBe(4);
    expect(countPages("e1-e9")).toBe(9);
    expect(countPages("")).toBe(0);
    expect(countPages("34-12")).toBeUndefined();
    expect(countPages("A1-B4")).toBeUndefined();
    expect(countPages("the whole thing")).toBeUndefined();
  });
});

describe("[fees] and [copyright] in a member's config", () => {
  const raw = (values: Record<string, unknown>) => ({
    file: "/etc/lrs/member.toml",
    values: {
      id: "north-a",
      name: "North A",
      region: "north",
      listen: "127.0.0.1:0",
      parent: "127.0.0.1:1",
      ...values,
    },
    fromEnv: new Map<string, string>(),
  });

  it("reads fees exactly and publishes them as a FeeSchedule", () => {
    const cfg = toConfig(
      Tier.MEMBER,
      raw({
        fees: {
          currency: "EUR",
          loan: "8.50",
          copy: "5",
          per_page: "0.10",
          rush_surcharge: "3.00",
          reciprocal_partners: ["south-a"],
          discounts: [{ institution: "north-b", percent: 20 }],
        },
      }),
    );
    expect(cfg.fees).toEqual({
      currency: "EUR",
      loan: 850n,
      copy: 500n,
      perPage: 10n,
      rushSurcharge: 300n,
      reciprocalPartners: ["south-a"],
      discounts: [{ institution: "north-b", percent: 20 }],
    });
    const s = feeScheduleOf(cfg.fees)!;
    expect(s.currency).toBe("EUR");
    expect(s.loanMinor).toBe(850n);
    expect(s.discounts.map((d) => [d.institutionId, d.percent])).toEqual([["north-b", 20]]);
  });

  it("charges nothing without [fees], and takes CONTU as the copyright rule", () => {
    const cfg = toConfig(Tier.MEMBER, raw({}));
    expect(cfg.fees.currency).toBe("");
    expect(feeScheduleOf(cfg.fees)).toBeUndefined();
    expect(cfg.copyright).toEqual({
      compliance: "US:CCG",
      maxPerTitle: 5,
      recentYears: 5,
      overLimit: "review",
      keepYears: 3,
    });
    expect(cfg.ill.maximum_cost).toBeUndefined();
  });

  it.each([
    [{ fees: { currency: "EUR", loan: "8.505" } }, /"fees.loan": "8.505" has more decimals than EUR/],
    [{ fees: { loan: "8.50" } }, /"fees.currency": is required with fees/],
    [{ fees: { currency: "EURO", loan: "1" } }, /"fees.currency": "EURO" is not an ISO 4217/],
    [{ fees: { currency: "EUR", copy: "-1" } }, /"fees.copy": expected an amount/],
    [
      { fees: { currency: "EUR", discounts: [{ institution: "x-y", percent: 0 }] } },
      /fees.discounts.0.percent/,
    ],
    [{ ill: { maximum_cost: "ten euros" } }, /"ill.maximum_cost": "EUROS" is not an ISO 4217/],
    [{ copyright: { over_limit: "fee" } }, /"copyright.fee" is missing/],
    [{ copyright: { over_limit: "fee", fee: "10.00" } }, /"copyright.currency" is missing/],
    [{ copyright: { over_limit: "warn" } }, /copyright.over_limit/],
  ])("refuses %j, naming the setting", (values, why) => {
    expect(() => toConfig(Tier.MEMBER, raw(values))).toThrow(why);
  });

  it("takes a maximum cost and a copyright fee in the fees' currency", () => {
    const cfg = toConfig(
      Tier.MEMBER,
      raw({
        fees: { currency: "EUR" },
        ill: { maximum_cost: "10.00 EUR" },
        copyright: { over_limit: "fee", fee: "2.50", payee: "rights-org" },
      }),
    );
    expect(cfg.ill.maximum_cost).toEqual({ currency: "EUR", minor: 1000n });
    expect(cfg.copyright.fee).toEqual({ currency: "EUR", minor: 250n });
    expect(cfg.copyright.payee).toBe("rights-org");
  });
});
