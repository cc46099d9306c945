import { toJson } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ErrorType, ReasonRetry, Status } from "../gen/lrs/v1/ill_pb.js";
import { Iso18626ReadError, parseIsoDateTime, readIso18626 } from "./xml-read.js";
import { allSamples, sampleRequest, sampleSupplyingAgencyMessages } from "./xml-samples.test-util.js";
import { Iso18626WriteError, MESSAGE_SCHEMAS, writeIso18626 } from "./xml-write.js";
import { iso18626Schema } from "./xsd.js";

const NS = 'xmlns="http://illtransactions.org/2013/iso18626"';

function readError(xml: string): Iso18626ReadError {
  try {
    readIso18626(xml);
  } catch (err) {
    if (err instanceof Iso18626ReadError) return err;
    throw err;
  }
  throw new Error("read without error");
}

const json = (m: { case: keyof typeof MESSAGE_SCHEMAS; value: unknown }) =>
  toJson(MESSAGE_SCHEMAS[m.case], m.value as never);

describe("ISO 18626 schemas", () => {
  it("are read from the XSDs: order, occurrences and closed codes", () => {
    const v2021 = iso18626Schema("2021-2");
    const sam = v2021.elements.get("supplyingAgencyMessage");
    expect(sam?.type.kind === "complex" && sam.type.children.map((c) => c.name)).toEqual([
      "header",
      "messageInfo",
      "statusInfo",
      "retryInfo",
      "deliveryInfo",
      "shippingInfo",
      "returnInfo",
    ]);
    const v12 = iso18626Schema("1.2");
    const item = v12.elements.get("bibliographicItemId");
    expect(item?.type.kind === "complex" && item.type.children.map((c) => c.name)).toEqual([
      "bibliographicItemIdentifier",
      "bibliographicItemIdentifierCode",
    ]);
  });
});

describe("writing and reading ISO 18626 XML", () => {
  for (const version of ["2021-2", "1.2"] as const)
    it(`round-trips every message kind the gateway writes (${version})`, () => {
      for (const sample of allSamples()) {
        const { xml, dropped } = writeIso18626(sample, { version });
        const back = readIso18626(xml);
        expect(back.version).toBe(version);
        expect(back.message.case).toBe(sample.case);
        const expected = json(sample) as Record<string, Record<string, unknown>>;
        delete expected.header?.messageId;
        // 1.2 has no loan conditions in serviceInfo; everything else in the samples is in both.
        if (version === "1.2" && sample.case === "request") {
          delete expected.serviceInfo?.loanCondition;
          expect(dropped).toEqual(["request/serviceInfo/loan_condition"]);
        } else expect(dropped).toEqual([]);
        expect(json(back.message)).toEqual(expected);
      }
    });

  it("escapes text and writes the version attribute in the ISO namespace", () => {
    const { xml } = writeIso18626(sampleRequest(), { version: "2021-2" });
    expect(xml).toContain("<title>Moby Dick &amp; the whale &lt;abridged&gt;</title>");
    expect(xml).toContain('ill:version="2021-2"');
    expect(readIso18626(xml).message.value).toMatchObject({
      bibliographicInfo: { title: "Moby Dick & the whale <abridged>" },
    });
  });

  it("moves retry costs and dates to messageInfo for 1.2, and back", () => {
    const retry = sampleSupplyingAgencyMessages()[3];
    if (!retry) throw new Error("no sample");
    const { xml, dropped } = writeIso18626(retry, { version: "1.2" });
    expect(xml).toMatch(/<messageInfo>.*<offeredCosts>.*<retryAfter>.*<\/messageInfo>/);
    expect(xml).not.toContain("<retryInfo>");
    expect(dropped).toEqual([]);
    const back = readIso18626(xml).message.value as {
      retryInfo?: { offeredCosts: unknown[] };
      messageInfo?: { reasonRetry: number };
    };
    expect(back.retryInfo?.offeredCosts).toHaveLength(1);
    expect(back.messageInfo?.reasonRetry).toBe(ReasonRetry.COST_EXCEEDS_MAX_COST);
  });

  it("writes the requester's authentication in the header", () => {
    const { xml } = writeIso18626(sampleRequest(), {
      version: "2021-2",
      authentication: { accountId: "acct", securityCode: "s3cret" },
    });
    expect(xml).toContain(
      "<requestingAgencyRequestId>P-1</requestingAgencyRequestId><requestingAgencyAuthentication><accountId>acct</accountId><securityCode>s3cret</securityCode></requestingAgencyAuthentication>",
    );
    expect(readIso18626(xml).authentication).toEqual({ accountId: "acct", securityCode: "s3cret" });
  });

  it("refuses to write what the version cannot carry or what the schema requires", () => {
    const holdReturn = sampleSupplyingAgencyMessages()[0];
    if (holdReturn?.case !== "supplyingAgencyMessage") throw new Error("no sample");
    const statusInfo = holdReturn.value.statusInfo;
    if (statusInfo) statusInfo.status = Status.HOLD_RETURN;
    expect(() => writeIso18626(holdReturn, { version: "1.2" })).toThrow(
      /supplyingAgencyMessage\/statusInfo\/status: "HoldReturn" is not a code of ISO 18626 1.2/,
    );
    expect(writeIso18626(holdReturn, { version: "2021-2" }).xml).toContain("<status>HoldReturn</status>");
    holdReturn.value.statusInfo = undefined;
    expect(() => writeIso18626(holdReturn, { version: "2021-2" })).toThrow(Iso18626WriteError);
  });

  it("lists what a version has no element for", () => {
    const loaned = sampleSupplyingAgencyMessages()[1];
    if (loaned?.case !== "supplyingAgencyMessage") throw new Error("no sample");
    loaned.value.shippingInfo = {
      $typeName: "lrs.v1.ShippingInfo",
      courierName: "UPS",
      trackingId: [],
      insurance: 0,
      insuranceThirdParty: 0,
      thirdPartyName: "",
      insuranceCosts: [],
    };
    expect(writeIso18626(loaned, { version: "1.2" }).dropped).toEqual([
      "supplyingAgencyMessage/shipping_info",
    ]);
    expect(writeIso18626(loaned, { version: "2021-2" }).dropped).toEqual([]);
  });
});

describe("reading what real systems send", () => {
  it("takes a message without the wrapper, without a namespace, in 1.2 order, +0000 timestamps", () => {
    const xml = `<supplyingAgencyMessage>
      <header>
        <supplyingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-NjP</agencyIdValue></supplyingAgencyId>
        <requestingAgencyId><agencyIdType>LRS</agencyIdType><agencyIdValue>LRS</agencyIdValue></requestingAgencyId>
        <timestamp>2026-12-05T10:00:00.123+0000</timestamp>
        <requestingAgencyRequestId>R-1</requestingAgencyRequestId>
      </header>
      <messageInfo><reasonForMessage>StatusChange</reasonForMessage><reasonUnfilled>LocalReason</reasonUnfilled></messageInfo>
      <statusInfo><status>Loaned</status><lastChange>2026-12-05T10:00:00+01:00</lastChange></statusInfo>
      <deliveryInfo><dateSent>2026-12-05</dateSent><sentVia>Mail</sentVia><deliveredFormat>Printed</deliveredFormat></deliveryInfo>
    </supplyingAgencyMessage>`;
    const read = readIso18626(xml);
    expect(read.version).toBeUndefined();
    expect(read.uncoded).toEqual(["supplyingAgencyMessage/messageInfo/reasonUnfilled: LocalReason"]);
    expect(json(read.message)).toMatchObject({
      header: { timestamp: "2026-12-05T10:00:00.123Z" },
      statusInfo: { status: "STATUS_LOANED", lastChange: "2026-12-05T09:00:00Z" },
      deliveryInfo: { dateSent: "2026-12-05T00:00:00Z", deliveryMethod: "Mail", itemFormat: "Printed" },
    });
  });

  it("takes bibliographicItemId in either version's order and ignores ISO elements LRS does not carry", () => {
    const xml = `<ISO18626Message ${NS} version="1.2"><request><header>
      <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-NjP</agencyIdValue></requestingAgencyId>
      <timestamp>2026-12-05T10:00:00Z</timestamp><requestingAgencyRequestId>P-1</requestingAgencyRequestId></header>
      <bibliographicInfo><title>T</title><bibliographicItemId><bibliographicItemIdentifier>9780142437247</bibliographicItemIdentifier><bibliographicItemIdentifierCode scheme="x">ISBN</bibliographicItemIdentifierCode></bibliographicItemId></bibliographicInfo>
      <serviceInfo><serviceType>Copy</serviceType></serviceInfo>
      <patronInfo><patronId>p</patronId><surname>Doe</surname></patronInfo></request></ISO18626Message>`;
    const read = readIso18626(xml);
    expect(read.version).toBe("1.2");
    expect(read.ignored).toEqual(["request/patronInfo/surname"]);
    expect(json(read.message)).toMatchObject({
      bibliographicInfo: { bibliographicItemId: [{ bibliographicItemIdentifierCode: "ISBN" }] },
    });
  });

  it("parses the timestamps real systems write", () => {
    expect(parseIsoDateTime("2026-12-05T10:00:00Z")?.toISOString()).toBe("2026-12-05T10:00:00.000Z");
    expect(parseIsoDateTime("2026-12-05T10:00:00+0200")?.toISOString()).toBe("2026-12-05T08:00:00.000Z");
    expect(parseIsoDateTime("2026-12-05T10:00:00.5-05:00")?.toISOString()).toBe("2026-12-05T15:00:00.500Z");
    expect(parseIsoDateTime("2026-12-05 10:00:00")?.toISOString()).toBe("2026-12-05T10:00:00.000Z");
    expect(parseIsoDateTime("05/12/2026")).toBeUndefined();
    expect(parseIsoDateTime("2026-13-05T10:00:00Z")).toBeUndefined();
  });
});

describe("what cannot be read is an ISO error naming the element", () => {
  const header = `<header><supplyingAgencyId><agencyIdType>LRS</agencyIdType><agencyIdValue>LRS</agencyIdValue></supplyingAgencyId>
    <requestingAgencyId><agencyIdType>ISIL</agencyIdType><agencyIdValue>US-NjP</agencyIdValue></requestingAgencyId>
    <timestamp>2026-12-05T10:00:00Z</timestamp><requestingAgencyRequestId>P-1</requestingAgencyRequestId></header>`;
  const cases: Array<[string, string, ErrorType, RegExp]> = [
    ["not XML", "this is not xml", ErrorType.BADLY_FORMED_MESSAGE, /not well-formed XML/],
    ["cut short", `<ISO18626Message ${NS}><request>`, ErrorType.BADLY_FORMED_MESSAGE, /not well-formed/],
    [
      "a DTD",
      `<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><request>&x;</request>`,
      ErrorType.BADLY_FORMED_MESSAGE,
      /DOCTYPE/,
    ],
    [
      "another root",
      "<html><body/></html>",
      ErrorType.BADLY_FORMED_MESSAGE,
      /html: not an ISO 18626 message/,
    ],
    ["another namespace", '<request xmlns="urn:x"/>', ErrorType.BADLY_FORMED_MESSAGE, /namespace "urn:x"/],
    [
      "an unknown element",
      `<request>${header}<bibliographicInfo><colour>red</colour></bibliographicInfo><serviceInfo><serviceType>Loan</serviceType></serviceInfo></request>`,
      ErrorType.UNRECOGNISED_DATA_ELEMENT,
      /^request\/bibliographicInfo\/colour: not an element of request\/bibliographicInfo$/,
    ],
    [
      "an unknown closed code",
      `<request>${header}<bibliographicInfo/><serviceInfo><serviceType>Borrow</serviceType></serviceInfo></request>`,
      ErrorType.UNRECOGNISED_DATA_VALUE,
      /^request\/serviceInfo\/serviceType: "Borrow" is not a code of type_serviceType$/,
    ],
    [
      "a bad timestamp",
      `<requestingAgencyMessage>${header.replace("2026-12-05T10:00:00Z", "yesterday")}<action>Received</action></requestingAgencyMessage>`,
      ErrorType.UNRECOGNISED_DATA_VALUE,
      /requestingAgencyMessage\/header\/timestamp: "yesterday" is not a date and time/,
    ],
    [
      "an unknown action",
      `<requestingAgencyMessage>${header}<action>Borrow</action></requestingAgencyMessage>`,
      ErrorType.UNSUPPORTED_ACTION_TYPE,
      /requestingAgencyMessage\/action: "Borrow"/,
    ],
    [
      "an unknown reason for message",
      `<supplyingAgencyMessage>${header}<messageInfo><reasonForMessage>Gossip</reasonForMessage></messageInfo><statusInfo><status>Loaned</status></statusInfo></supplyingAgencyMessage>`,
      ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE,
      /messageInfo\/reasonForMessage: "Gossip"/,
    ],
    [
      "a missing required element",
      `<requestingAgencyMessage>${header}</requestingAgencyMessage>`,
      ErrorType.BADLY_FORMED_MESSAGE,
      /^requestingAgencyMessage\/action: missing$/,
    ],
    [
      "an element twice",
      `<requestingAgencyMessage>${header}<action>Received</action><action>Cancel</action></requestingAgencyMessage>`,
      ErrorType.BADLY_FORMED_MESSAGE,
      /requestingAgencyMessage\/action: appears more than once/,
    ],
  ];
  for (const [what, xml, type, value] of cases)
    it(`${what}`, () => {
      const err = readError(xml);
      expect(err.errorType).toBe(type);
      expect(err.errorValue).toMatch(value);
    });

  it("keeps the header it could read, for the confirmation", () => {
    const err = readError(
      `<requestingAgencyMessage>${header}<action>Borrow</action></requestingAgencyMessage>`,
    );
    expect(err.kind).toBe("requestingAgencyMessage");
    expect(err.header?.requestingAgencyRequestId).toBe("P-1");
    expect(err.header?.requestingAgencyId?.agencyIdValue).toBe("US-NjP");
  });

  it("refuses documents over the limits, naming the limit", () => {
    const deep = `${"<a>".repeat(40)}${"</a>".repeat(40)}`;
    expect(readError(deep).errorValue).toMatch(/nested deeper than 16/);
    expect(readError(`<request>${" ".repeat(1_000_001)}</request>`).errorValue).toMatch(
      /over the limit of 1000000/,
    );
  });
});
