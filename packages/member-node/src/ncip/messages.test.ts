import { ill } from "@lrs/shared";
import { describe, expect, it } from "vitest";
import {
  describeProblem,
  isTemporaryProblem,
  itemStatusOf,
  NCIP_NAMESPACE,
  NcipResponseError,
  readNcip,
  writeNcip,
} from "./messages.js";

const HEADER = { fromAgencyId: "north-a", toAgencyId: "MAIN", authentication: "s3cret" };
const wrap = (body: string) =>
  `<?xml version="1.0" encoding="UTF-8"?><ns1:NCIPMessage xmlns:ns1="${NCIP_NAMESPACE}" ns1:version="http://www.niso.org/schemas/ncip/v2_02/ncip_v2_02.xsd">${body}</ns1:NCIPMessage>`;

/** Element names of a document, as "Parent/Child" paths in order. */
function paths(xml: string): string[] {
  const out: string[] = [];
  const walk = (n: ill.XmlNode, at: string) => {
    const here = at ? `${at}/${n.local}` : n.local;
    out.push(here);
    for (const c of n.children) walk(c, here);
  };
  const root = ill.readXmlTree(xml);
  expect(root.uri).toBe(NCIP_NAMESPACE);
  walk(root, "");
  return out;
}

describe("NCIP 2.02 messages LRS sends", () => {
  it("writes LookupItem with the initiation header, the item and the fields it wants", () => {
    const xml = writeNcip(HEADER, { service: "LookupItem", input: { barcode: "39010 & <1>" } });
    expect(xml).toContain('ncip:version="http://www.niso.org/schemas/ncip/v2_02/ncip_v2_02.xsd"');
    expect(paths(xml)).toEqual([
      "NCIPMessage",
      "NCIPMessage/LookupItem",
      "NCIPMessage/LookupItem/InitiationHeader",
      "NCIPMessage/LookupItem/InitiationHeader/FromAgencyId",
      "NCIPMessage/LookupItem/InitiationHeader/FromAgencyId/AgencyId",
      "NCIPMessage/LookupItem/InitiationHeader/FromAgencyAuthentication",
      "NCIPMessage/LookupItem/InitiationHeader/ToAgencyId",
      "NCIPMessage/LookupItem/InitiationHeader/ToAgencyId/AgencyId",
      "NCIPMessage/LookupItem/ItemId",
      "NCIPMessage/LookupItem/ItemId/AgencyId",
      "NCIPMessage/LookupItem/ItemId/ItemIdentifierValue",
      "NCIPMessage/LookupItem/ItemElementType",
      "NCIPMessage/LookupItem/ItemElementType",
      "NCIPMessage/LookupItem/ItemElementType",
    ]);
    const root = ill.readXmlTree(xml);
    expect(root.children[0]!.children[1]!.children[1]!.text).toBe("39010 & <1>");
  });

  it("writes CheckOutItem to a patron, AcceptItem with a hold for pickup, CheckInItem and DeleteItem in schema order", () => {
    const due = new Date("2026-01-31T12:00:00.250Z");
    const out = writeNcip(HEADER, {
      service: "CheckOutItem",
      input: { userId: "ILL-north-a", barcode: "B1", requestId: "north-a:r1", dueDate: due },
    });
    expect(paths(out).filter((p) => p.split("/").length === 3)).toEqual([
      "NCIPMessage/CheckOutItem/InitiationHeader",
      "NCIPMessage/CheckOutItem/UserId",
      "NCIPMessage/CheckOutItem/ItemId",
      "NCIPMessage/CheckOutItem/RequestId",
      "NCIPMessage/CheckOutItem/DesiredDateDue",
    ]);
    expect(out).toContain("<DesiredDateDue>2026-01-31T12:00:00Z</DesiredDateDue>");
    const accept = writeNcip(
      { fromAgencyId: "north-a", toAgencyId: "MAIN" },
      {
        service: "AcceptItem",
        input: {
          requestId: "north-a:r1",
          userId: "patron-1",
          barcode: "ILL-1",
          title: "Science",
          author: "AAAS",
          dateForReturn: due,
          pickupLocation: "Main desk",
        },
      },
    );
    expect(paths(accept).filter((p) => p.split("/").length === 3)).toEqual([
      "NCIPMessage/AcceptItem/InitiationHeader",
      "NCIPMessage/AcceptItem/RequestId",
      "NCIPMessage/AcceptItem/RequestedActionType",
      "NCIPMessage/AcceptItem/UserId",
      "NCIPMessage/AcceptItem/ItemId",
      "NCIPMessage/AcceptItem/DateForReturn",
      "NCIPMessage/AcceptItem/ItemOptionalFields",
      "NCIPMessage/AcceptItem/PickupLocation",
    ]);
    expect(accept).toContain("<RequestedActionType>Hold For Pickup</RequestedActionType>");
    expect(accept).not.toContain("FromAgencyAuthentication");
    expect(accept).toContain("<BibliographicDescription><Author>AAAS</Author><Title>Science</Title>");
    expect(
      paths(writeNcip(HEADER, { service: "CheckInItem", input: { barcode: "B1" } })).filter(
        (p) => p.split("/").length === 3,
      ),
    ).toEqual(["NCIPMessage/CheckInItem/InitiationHeader", "NCIPMessage/CheckInItem/ItemId"]);
    expect(writeNcip(HEADER, { service: "DeleteItem", input: { barcode: "ILL-1" } })).toContain(
      "<DeleteItem><InitiationHeader>",
    );
  });
});

describe("NCIP answers", () => {
  it("reads a LookupItemResponse: status, title, the most specific location, due date", () => {
    const a = readNcip(
      wrap(`<ns1:LookupItemResponse><ns1:ItemId><ns1:ItemIdentifierValue>B1</ns1:ItemIdentifierValue></ns1:ItemId>
        <ns1:ItemOptionalFields><ns1:BibliographicDescription><ns1:Title>Science</ns1:Title></ns1:BibliographicDescription>
        <ns1:CirculationStatus>On Loan</ns1:CirculationStatus>
        <ns1:Location><ns1:LocationType>Permanent Location</ns1:LocationType><ns1:LocationName>
          <ns1:LocationNameInstance><ns1:LocationNameLevel>1</ns1:LocationNameLevel><ns1:LocationNameValue>MAIN</ns1:LocationNameValue></ns1:LocationNameInstance>
          <ns1:LocationNameInstance><ns1:LocationNameLevel>2</ns1:LocationNameLevel><ns1:LocationNameValue>Stacks</ns1:LocationNameValue></ns1:LocationNameInstance>
        </ns1:LocationName></ns1:Location><ns1:DateDue>2026-02-01T00:00:00Z</ns1:DateDue></ns1:ItemOptionalFields>
      </ns1:LookupItemResponse>`),
      "LookupItem",
    );
    expect(a).toMatchObject({
      problems: [],
      itemId: "B1",
      circulationStatus: "On Loan",
      title: "Science",
      location: "Stacks",
    });
    expect(a.dateDue?.toISOString()).toBe("2026-02-01T00:00:00.000Z");
    expect(itemStatusOf(a.circulationStatus)).toBe("on_loan");
  });

  it("returns an NCIP Problem as the answer, naming the element and value", () => {
    const a = readNcip(
      wrap(
        "<ns1:CheckOutItemResponse><ns1:Problem><ns1:ProblemType>Unknown User</ns1:ProblemType><ns1:ProblemDetail>no such patron</ns1:ProblemDetail><ns1:ProblemElement>UserIdentifierValue</ns1:ProblemElement><ns1:ProblemValue>ILL-north-a</ns1:ProblemValue></ns1:Problem></ns1:CheckOutItemResponse>",
      ),
      "CheckOutItem",
    );
    expect(a.problems).toHaveLength(1);
    expect(describeProblem(a.problems[0]!)).toBe(
      'Unknown User (UserIdentifierValue "ILL-north-a"): no such patron',
    );
    expect(isTemporaryProblem(a.problems[0]!)).toBe(false);
    // A responder that could not read the message answers with a bare Problem.
    const bare = readNcip(
      wrap("<ns1:Problem><ns1:ProblemType>Temporary Processing Failure</ns1:ProblemType></ns1:Problem>"),
      "AcceptItem",
    );
    expect(bare.problems.map(isTemporaryProblem)).toEqual([true]);
  });

  it("reads the ids AcceptItem and CheckOutItem give back", () => {
    const accepted = readNcip(
      wrap(
        "<ns1:AcceptItemResponse><ns1:RequestId><ns1:RequestIdentifierValue>north-a:r1</ns1:RequestIdentifierValue></ns1:RequestId><ns1:ItemId><ns1:ItemIdentifierValue>TMP-77</ns1:ItemIdentifierValue></ns1:ItemId></ns1:AcceptItemResponse>",
      ),
      "AcceptItem",
    );
    expect(accepted).toMatchObject({ requestId: "north-a:r1", itemId: "TMP-77" });
    const out = readNcip(
      wrap(
        "<ns1:CheckOutItemResponse><ns1:ItemId><ns1:ItemIdentifierValue>B1</ns1:ItemIdentifierValue></ns1:ItemId><ns1:UserId><ns1:UserIdentifierValue>ILL-x</ns1:UserIdentifierValue></ns1:UserId><ns1:DateDue>2026-03-01T10:00:00+01:00</ns1:DateDue></ns1:CheckOutItemResponse>",
      ),
      "CheckOutItem",
    );
    expect(out.userId).toBe("ILL-x");
    expect(out.dateDue?.toISOString()).toBe("2026-03-01T09:00:00.000Z");
  });

  it("refuses what is not an NCIP answer, saying what it is", () => {
    const bad = (xml: string, expected: RegExp) =>
      expect(() => readNcip(xml, "LookupItem")).toThrow(
        expect.objectContaining({ message: expect.stringMatching(expected) }),
      );
    bad("<!DOCTYPE html><html><body>Login</body></html>", /HTML page/);
    bad("<html><body>502</body></html>", /HTML page/);
    bad('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><NCIPMessage/>', /DOCTYPE/);
    bad("<NCIPMessage xmlns='urn:other'><LookupItemResponse/></NCIPMessage>", /namespace is urn:other/);
    bad(wrap("<ns1:CheckInItemResponse/>"), /CheckInItemResponse, not LookupItemResponse/);
    bad(wrap(""), /empty/);
    bad("<NCIPMessage><LookupItemResponse>", /not NCIP XML/);
    bad(`<NCIPMessage>${"<a>".repeat(30)}`, /nested deeper than 20/);
    expect(() => readNcip("x".repeat(1_000_001), "LookupItem")).toThrow(NcipResponseError);
  });

  it("maps NCIP circulation statuses to the catalog's", () => {
    expect(itemStatusOf("Available On Shelf")).toBe("available");
    expect(itemStatusOf("available for pickup")).toBe("available");
    expect(itemStatusOf("Missing")).toBe("missing");
    expect(itemStatusOf("Lost")).toBe("lost");
    expect(itemStatusOf("In Transit Between Library Locations")).toBe("on_loan");
    expect(itemStatusOf("In Process")).toBe("not_available");
    expect(itemStatusOf(undefined)).toBe("not_available");
  });
});
