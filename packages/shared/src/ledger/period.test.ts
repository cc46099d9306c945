import { describe, expect, it } from "vitest";
import { isPeriod, nextPeriod, parsePeriod, periodEnd, periodOf, periodStart } from "./period.js";

describe("periods", () => {
  it("are UTC months", () => {
    expect(periodOf(new Date("2026-11-30T23:59:59.999Z"))).toBe("2026-11");
    expect(periodOf(new Date("2026-12-01T00:00:00Z"))).toBe("2026-12");
    expect(periodStart("2026-11").toISOString()).toBe("2026-11-01T00:00:00.000Z");
    expect(periodEnd("2026-12").toISOString()).toBe("2027-01-01T00:00:00.000Z");
    expect(nextPeriod("2026-12")).toBe("2027-01");
  });
  it("are written YYYY-MM, and anything else is refused naming the value", () => {
    expect(parsePeriod(" 2026-02 ")).toBe("2026-02");
    for (const bad of ["2026-13", "2026-1", "26-01", "2026/01", "1969-12", ""]) {
      expect(isPeriod(bad)).toBe(false);
      expect(() => parsePeriod(bad, "--period")).toThrow(`--period "${bad}" is not a period`);
    }
  });
});
