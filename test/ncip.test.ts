// NCIP 2 to each library's ILS, through real node processes: a cross-region loan with an NCIP
// responder (the dev-env mock, NCIP 2.02 XML over HTTP) behind the lender and another behind the
// borrower, asserting what each ILS was told; then the lender's ILS down while a loan goes
// through: ISO 18626 goes on, the failure shows on the request, and the retry succeeds once
// the ILS is back.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Federation, type FederationSpec, type MockNcip, startMockNcip } from "@lrs/dev-env";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventually } from "./harness.js";
import {
  act,
  borrow,
  ILL_SPEC,
  lenderConfig,
  lenderSide,
  SOUTH_ONLY_ISBNS,
  show,
  startIllFederation,
  waitFor,
} from "./ill-harness.js";

const NCIP = (url: string, agency: string) => `
[ncip]
url = "${url}"
agency_id = "${agency}"
authentication = "ncip-secret"
pickup_location = "Main desk"
retry_delay = "1s"
attempts = 12
timeout = "5s"
`;

let fed: Federation;
let destroy: (() => Promise<void>) | undefined;
let lenderIls: MockNcip;
let borrowerIls: MockNcip;

beforeAll(async () => {
  lenderIls = await startMockNcip({ agencyId: "SOUTH-ILS", patrons: ["ILL-north-a"] });
  borrowerIls = await startMockNcip({ agencyId: "NORTH-ILS", patrons: ["patron-ncip-1", "patron-ncip-2"] });
  const [north, south] = ILL_SPEC.regions;
  const spec: FederationSpec = {
    ...ILL_SPEC,
    regions: [
      {
        ...north!,
        members: north!.members.map((m) =>
          m.id === "north-a"
            ? { ...m, extraConfig: `${m.extraConfig ?? ""}${NCIP(borrowerIls.url, "NORTH-ILS")}` }
            : m,
        ),
      },
      {
        ...south!,
        members: [
          {
            id: "south-a",
            name: "South Library A",
            extraConfig: lenderConfig("3s").replace(
              "[ill]",
              `${NCIP(lenderIls.url, "SOUTH-ILS")}\n[availability]\nsource = "ncip"\n\n[ill]`,
            ),
          },
        ],
      },
    ],
  };
  const started = await startIllFederation(spec);
  fed = started.fed;
  destroy = started.destroy;
  // The lender's ILS has the copies its catalog has (the items file the import read).
  const csv = readFileSync(join(fed.dir, "items", "south-a.csv"), "utf8")
    .trim()
    .split("\n")
    .slice(1);
  for (const row of csv) lenderIls.addItem(row.split(",")[1]!, "");
}, 240_000);

afterAll(async () => {
  await destroy?.();
  await lenderIls?.close();
  await borrowerIls?.close();
});

const notes = (r: { timeline: Array<{ event: string; note: string }> }) =>
  r.timeline.filter((t) => t.event === "ncip").map((t) => t.note);

describe("NCIP to the libraries' own ILSs", () => {
  it("a cross-region loan is checked out, accepted, and checked in at both ILSs", async () => {
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[1]!, "scenario:loaned", "patron-ncip-1");
    await waitFor(fed, "north-a", r.id, "shipped", 60_000);
    const [lent] = await lenderSide(fed, "south-a", r.id);
    expect(lent).toBeDefined();
    // Lender: the copy was looked up, then checked out to north-a's patron record.
    const checkout = await eventually(
      async () =>
        lenderIls.calls.find(
          (c) => c.service === "CheckOutItem" && c.requestId === lent!.requestingAgencyRequestId,
        ),
      (c) => c !== undefined,
      30_000,
    );
    const lookups = lenderIls.calls.filter(
      (c) => c.service === "LookupItem" && c.itemId === checkout!.itemId,
    );
    expect(lookups.length).toBeGreaterThanOrEqual(1);
    expect(lenderIls.calls.indexOf(lookups[0]!)).toBeLessThan(lenderIls.calls.indexOf(checkout!));
    expect(checkout).toMatchObject({
      userId: "ILL-north-a",
      fromAgencyId: "south-a",
      authentication: "ncip-secret",
    });
    expect(checkout!.problem).toBeUndefined();
    expect(checkout!.itemId).toMatch(/^south-a-/);
    expect(lenderIls.items.get(checkout!.itemId!)).toMatchObject({ status: "On Loan", user: "ILL-north-a" });
    const lenderView = await eventually(
      () => show(fed, "south-a", lent!.id),
      (s) => notes(s).some((n) => n.includes("checked out to ILL-north-a")),
      20_000,
    );
    expect(notes(lenderView).join("\n")).toMatch(/is Available On Shelf at Main stacks: ship this copy/);

    // Live availability ([availability] source = "ncip" at south-a): the copy on loan at the ILS
    // is on loan, though the imported items file says it is on the shelf.
    const availability = JSON.parse(
      await fed.cli(fed.node("north-a"), [
        "availability",
        r.clusterId,
        "--json",
        "--config",
        fed.node("north-a").config,
      ]),
    ) as {
      institutions: Array<{
        institutionId: string;
        reason?: string;
        items?: Array<{ barcode: string; state?: string }>;
      }>;
    };
    const south = availability.institutions.find((i) => i.institutionId === "south-a")!;
    expect(south.reason).toMatch(/live from the ILS/);
    expect(south.items?.find((i) => i.barcode === checkout!.itemId)?.state).toMatch(/ON_LOAN/);

    // Borrower: the loan arrives; the ILS makes a temporary item held for the patron.
    await act(fed, "north-a", r.id, "receive");
    const accept = await eventually(
      async () => borrowerIls.calls.find((c) => c.service === "AcceptItem"),
      (c) => c !== undefined,
      20_000,
    );
    expect(accept).toMatchObject({ userId: "patron-ncip-1", fromAgencyId: "north-a" });
    expect(accept!.problem).toBeUndefined();
    const temp = borrowerIls.items.get(accept!.itemId!);
    expect(temp).toMatchObject({ temporary: true, user: "patron-ncip-1", status: "Available For Pickup" });
    expect(temp!.title).toMatch(/Russell Crowe|\w/);

    // Returned: checked in and deleted at the borrower, checked in at the lender.
    await act(fed, "north-a", r.id, "return");
    await waitFor(fed, "north-a", r.id, "completed", 60_000);
    await eventually(
      async () => borrowerIls.calls.map((c) => `${c.service}:${c.itemId}:${c.problem ?? "ok"}`),
      (calls) => calls.includes(`DeleteItem:${accept!.itemId}:ok`),
      20_000,
    );
    const borrowerCalls = borrowerIls.calls.filter((c) => c.itemId === accept!.itemId).map((c) => c.service);
    expect(borrowerCalls).toEqual(["AcceptItem", "CheckInItem", "DeleteItem"]);
    expect(borrowerIls.items.has(accept!.itemId!)).toBe(false);
    await eventually(
      async () => lenderIls.items.get(checkout!.itemId!),
      (item) => item?.status === "Available On Shelf" && item.user === undefined,
      20_000,
    );
    const borrowerView = await show(fed, "north-a", r.id);
    expect(notes(borrowerView)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/temporary item ILL-\w+ made and held for patron patron-ncip-1 at Main desk/),
        expect.stringMatching(/checked in/),
        expect.stringMatching(/deleted/),
      ]),
    );
    expect(borrowerView.attention).toBe("");
  });

  it("with the lender's ILS down the loan goes on; the failure shows, and the retry succeeds when it is back", async () => {
    lenderIls.down = true;
    const before = lenderIls.calls.length;
    const r = await borrow(fed, "north-a", SOUTH_ONLY_ISBNS[3]!, "scenario:loaned", "patron-ncip-2");
    // ISO 18626 does not wait for the ILS.
    await waitFor(fed, "north-a", r.id, "shipped", 60_000);
    const [lent] = await lenderSide(fed, "south-a", r.id);
    const failing = await eventually(
      () => show(fed, "south-a", lent!.id),
      (s) => s.attention.startsWith("ILS (NCIP)"),
      30_000,
    );
    expect(failing.attention).toMatch(/LookupItem failed \(try \d+ of 12\): .*HTTP 503; trying again at/);
    expect(notes(failing).length).toBeGreaterThanOrEqual(1);
    expect(lenderIls.calls.length).toBe(before);
    // Staff see it in the member's queue too.
    const queue = await fed.cli(fed.node("south-a"), [
      "ncip",
      "list",
      "--json",
      "--config",
      fed.node("south-a").config,
    ]);
    expect(JSON.parse(queue).tasks).toEqual(
      expect.arrayContaining([expect.objectContaining({ requestId: lent!.id, service: "LookupItem" })]),
    );

    lenderIls.down = false;
    const done = await eventually(
      () => show(fed, "south-a", lent!.id),
      (s) => notes(s).some((n) => n.includes("checked out to ILL-north-a")),
      60_000,
    );
    expect(done.attention).toBe("");
    const checkout = lenderIls.calls.find(
      (c) => c.service === "CheckOutItem" && c.requestId === lent!.requestingAgencyRequestId,
    );
    expect(checkout).toMatchObject({ userId: "ILL-north-a" });
    expect(checkout!.problem).toBeUndefined();
    // Lookup first, then the checkout: the request's calls keep their order through the retries.
    const mine = lenderIls.calls.slice(before).map((c) => c.service);
    expect(mine.indexOf("LookupItem")).toBeLessThan(mine.indexOf("CheckOutItem"));
  });
});
