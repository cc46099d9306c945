import { fileURLToPath } from "node:url";
import { type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Database, type LendingPolicyConfig, readMarcFile, searchPb } from "@lrs/shared";
import { lendingPolicy, memoryDatabase, shelfItem } from "@lrs/shared/testing";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MemberCatalog } from "../store/catalog.js";
import { memberMigrations } from "../store/migrations.js";
import { availabilityOf } from "./availability.js";

const { Availability } = searchPb;
const CJK = fileURLToPath(new URL("../../../shared/src/marc/fixtures/traject-cjk-880.mrc", import.meta.url));

const policy: LendingPolicyConfig = lendingPolicy();

const copy = shelfItem;

const day = (t: Timestamp | undefined) => (t ? timestampDate(t).toISOString().slice(0, 10) : undefined);

let db: Database;
let catalog: MemberCatalog;
let recordId: string;

beforeEach(async () => {
  db = memoryDatabase(memberMigrations);
  catalog = new MemberCatalog(db, "m1");
  for await (const r of readMarcFile(CJK)) {
    if (!r.ok) continue;
    recordId = catalog.upsert(r.record, []).recordId;
    break;
  }
});

afterEach(() => db.close());

describe("availabilityOf", () => {
  it("is on loan until the first due date among lendable copies when every lendable copy is out", () => {
    catalog.setHoldings(recordId, [
      copy("A", { status: "on_loan", dueDate: "2027-01-04" }),
      copy("B", { status: "on_loan", dueDate: "2026-12-14" }),
      copy("C", { status: "on_loan" }),
      // Not lendable: its due date says nothing about when the library can lend.
      copy("R", { status: "on_loan", dueDate: "2026-12-01", loanRule: "reference" }),
    ]);
    const a = availabilityOf(catalog, "m1", [recordId], policy);
    expect(a.state).toBe(Availability.ON_LOAN);
    expect(a.reason).toBe("every lendable copy is on loan; first due back 2026-12-14");
    expect(day(a.onLoanUntil)).toBe("2026-12-14");
    expect(a.items.map((i) => [i.barcode, day(i.due)])).toEqual([
      ["A", "2027-01-04"],
      ["B", "2026-12-14"],
      ["C", undefined],
      ["R", undefined],
    ]);
  });

  it("says no date when no copy on loan has one, and none while a copy is on the shelf", () => {
    catalog.setHoldings(recordId, [copy("A", { status: "on_loan" })]);
    const out = availabilityOf(catalog, "m1", [recordId], policy);
    expect(out.state).toBe(Availability.ON_LOAN);
    expect(out.reason).toBe("every lendable copy is on loan");
    expect(out.onLoanUntil).toBeUndefined();

    catalog.setHoldings(recordId, [copy("A", { status: "on_loan", dueDate: "2026-12-14" }), copy("B")]);
    const shelf = availabilityOf(catalog, "m1", [recordId], policy);
    expect(shelf.state).toBe(Availability.AVAILABLE);
    expect(shelf.onLoanUntil).toBeUndefined();
    expect(day(shelf.items[0]!.due)).toBe("2026-12-14");
  });
});
