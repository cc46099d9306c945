import { describe, expect, it } from "vitest";
import { adviseAcquisition, type TitleFacts } from "./advice.js";

const none: TitleFacts = {
  ownCopies: 0,
  ownOnOrder: 0,
  regionCopies: 0,
  regionOnOrder: 0,
  otherRegionCopies: 0,
  otherRegionOnOrder: 0,
  illRequests: 0,
  ownIllRequests: 0,
};

describe("adviseAcquisition", () => {
  it("borrows a title the region holds and orders, with little demand", () => {
    const a = adviseAcquisition({
      ...none,
      regionCopies: 3,
      regionOnOrder: 1,
      illRequests: 2,
      regionOnLoan: 1,
      otherRegionOnLoan: 0,
    });
    expect(a.verdict).toBe("borrow");
    expect(a.summary).toBe(
      "3 copies in the region (1 on loan now), 1 on order, 2 ILL requests last year: borrow, don't buy",
    );
  });

  it("buys a title nobody in the nation holds once it was asked for", () => {
    const a = adviseAcquisition({ ...none, illRequests: 14 });
    expect(a.verdict).toBe("buy");
    expect(a.summary).toBe("no copy in the nation, 14 ILL requests last year: buy");
  });

  it("only considers a title nobody holds and nobody asked for", () => {
    expect(adviseAcquisition(none).verdict).toBe("consider");
  });

  it("counts an order elsewhere as a copy to come: nobody holds it yet, one library ordered it", () => {
    const a = adviseAcquisition({ ...none, regionOnOrder: 1, illRequests: 3 });
    expect(a.verdict).toBe("borrow");
    expect(a.summary).toContain("0 copies in the region, 1 on order");
  });

  it("buys when the region's copies cannot meet the demand", () => {
    expect(adviseAcquisition({ ...none, regionCopies: 1, illRequests: 7 }).verdict).toBe("buy");
    expect(adviseAcquisition({ ...none, regionCopies: 2, illRequests: 7 }).verdict).toBe("borrow");
  });

  it("buys what the library's own readers keep asking for, whoever holds it", () => {
    const a = adviseAcquisition({ ...none, regionCopies: 5, illRequests: 4, ownIllRequests: 3 });
    expect(a.verdict).toBe("buy");
    expect(a.reasons.join("; ")).toContain("readers asked 3 times");
  });

  it("borrows from other regions until demand pays for a copy in the region", () => {
    expect(adviseAcquisition({ ...none, otherRegionCopies: 2, illRequests: 5 }).verdict).toBe("borrow");
    expect(adviseAcquisition({ ...none, otherRegionCopies: 2, illRequests: 6 }).verdict).toBe("buy");
  });

  it("says when the library already holds it or has it on order", () => {
    expect(adviseAcquisition({ ...none, ownCopies: 1, regionCopies: 1 }).summary).toMatch(
      /^this library holds 1 copy, .*: already held here$/,
    );
    expect(adviseAcquisition({ ...none, ownOnOrder: 2, illRequests: 9 }).verdict).toBe("ordered");
  });

  it("says when it does not know the holders' circulation", () => {
    const a = adviseAcquisition({ ...none, regionCopies: 3, illRequests: 2 });
    expect(a.summary).toBe(
      "3 copies in the region, their circulation unknown, 2 ILL requests last year: borrow, don't buy",
    );
    // Nobody holds it: there is no circulation to know.
    expect(adviseAcquisition({ ...none, illRequests: 2 }).summary).not.toContain("circulation");
  });

  it("buys sooner when every copy in the region is on loan now", () => {
    const facts = { ...none, regionCopies: 1, illRequests: 4, otherRegionOnLoan: 0 };
    expect(adviseAcquisition({ ...facts, regionOnLoan: 0 }).verdict).toBe("borrow");
    const busy = adviseAcquisition({ ...facts, regionOnLoan: 1 });
    expect(busy.verdict).toBe("buy");
    expect(busy.reasons.join("; ")).toContain("every copy in the region is on loan now");
    // Unknown circulation: the usual threshold.
    expect(adviseAcquisition({ ...none, regionCopies: 1, illRequests: 4 }).verdict).toBe("borrow");
  });

  it("counts demand from the day counting began when that is less than a year ago", () => {
    const a = adviseAcquisition({ ...none, illRequests: 2, illCountedSince: "2026-11-20" });
    expect(a.summary).toBe(
      "no copy in the nation, 2 ILL requests since 2026-11-20 (when counting began): buy",
    );
  });
});
