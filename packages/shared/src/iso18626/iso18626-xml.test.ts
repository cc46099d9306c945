import { describe, expect, it } from "vitest";
import { file_lrs_v1_ill, Status } from "../gen/lrs/v1/ill_pb.js";
import {
  codeListOf,
  fieldOfXmlElement,
  ISO18626_2017_NAMES,
  ISO18626_CODES,
  ISO18626_ELEMENTS,
  ISO18626_MESSAGE_ELEMENTS,
  xmlElementOf,
} from "./iso18626-xml.js";

// ISO 18626 element names and codes are lowerCamel or UpperCamel words ("URL", "OK", "Y" too).
const XML_NAME = /^[A-Za-z][A-Za-z0-9]*$/;

describe("ISO 18626 code lists", () => {
  it("cover every enum of ill.proto", () => {
    const mapped = Object.values(ISO18626_CODES).map((list) => list.schema.typeName);
    expect(new Set(mapped).size).toBe(mapped.length);
    expect(new Set(mapped)).toEqual(new Set(file_lrs_v1_ill.enums.map((e) => e.typeName)));
  });

  it("give every enum value exactly one XML code, and the zero value none", () => {
    for (const enumDesc of file_lrs_v1_ill.enums) {
      const list = codeListOf(enumDesc);
      expect(list, enumDesc.typeName).toBeDefined();
      if (!list) continue;
      for (const value of enumDesc.values) {
        const code = list.toXml(value.number);
        if (value.number === 0) {
          expect(code, value.name).toBeUndefined();
          continue;
        }
        expect(code, value.name).toMatch(XML_NAME);
      }
      const codes = [...list.codes.values()];
      expect(new Set(codes).size, `${enumDesc.name}: a code used twice`).toBe(codes.length);
      expect(list.codes.size, `${enumDesc.name}: a code for a value that does not exist`).toBe(
        enumDesc.values.length - 1,
      );
    }
  });

  it("round-trip: value → code → value, and code → value → code", () => {
    for (const list of Object.values(ISO18626_CODES)) {
      const codes = list.codes as ReadonlyMap<number, string>;
      for (const [value, code] of codes) {
        expect(list.fromXml(code)).toBe(value);
        expect(list.toXml(list.fromXml(code) as never)).toBe(code);
      }
    }
  });

  it("are the ISO names (spot checks against the 2021 schema and code lists)", () => {
    expect(ISO18626_CODES.status.toXml(Status.WILL_SUPPLY)).toBe("WillSupply");
    expect(ISO18626_CODES.status.fromXml("CompletedWithoutReturn")).toBe(Status.COMPLETED_WITHOUT_RETURN);
    expect(ISO18626_CODES.reasonUnfilled.fromXml("NotAvailableForILL")).toBeDefined();
    expect(ISO18626_CODES.reasonRetry.fromXml("ReqPayMethodNotSupported")).toBeDefined();
    expect(ISO18626_CODES.requestSubType.fromXml("SupplyingLibrarysChoice")).toBeDefined();
    expect(ISO18626_CODES.errorType.fromXml("UnrecognisedDataValue")).toBeDefined();
    expect(ISO18626_CODES.messageStatus.fromXml("ERROR")).toBeDefined();
    // Codes are case-sensitive, and an open list's unknown code is not guessed.
    expect(ISO18626_CODES.status.fromXml("willsupply")).toBeUndefined();
    expect(ISO18626_CODES.reasonUnfilled.fromXml("LocalReason")).toBeUndefined();
  });
});

describe("ISO 18626 elements", () => {
  it("cover every message of ill.proto and every field of each, and nothing else", () => {
    const messages = file_lrs_v1_ill.messages;
    expect(new Set(Object.keys(ISO18626_ELEMENTS))).toEqual(new Set(messages.map((m) => m.name)));
    for (const message of messages) {
      const map = ISO18626_ELEMENTS[message.name];
      expect(map?.schema.typeName).toBe(message.typeName);
      expect(new Set(Object.keys(map?.fields ?? {})), message.name).toEqual(
        new Set(message.fields.map((f) => f.name)),
      );
    }
  });

  it("give each field its own element within a message, and round-trip", () => {
    for (const [message, map] of Object.entries(ISO18626_ELEMENTS)) {
      const named = Object.entries(map.fields).filter(([, xml]) => xml !== null);
      const xmls = named.map(([, xml]) => xml);
      expect(new Set(xmls).size, `${message}: an element used twice`).toBe(xmls.length);
      for (const [field, xml] of named) {
        expect(xml).toMatch(XML_NAME);
        expect(xmlElementOf(message, field)).toBe(xml);
        expect(fieldOfXmlElement(message, xml as string)).toBe(field);
      }
    }
  });

  it("keep only the LRS message ids without an ISO element", () => {
    const unmapped = Object.entries(ISO18626_ELEMENTS).flatMap(([message, map]) =>
      Object.entries(map.fields)
        .filter(([, xml]) => xml === null)
        .map(([field]) => `${message}.${field}`),
    );
    expect(unmapped.sort()).toEqual(["ConfirmationHeader.message_id", "Header.message_id"]);
  });

  it("name the ISO elements (spot checks)", () => {
    expect(xmlElementOf("Header", "requesting_agency_request_id")).toBe("requestingAgencyRequestId");
    expect(xmlElementOf("BibliographicInfo", "supplier_unique_record_id")).toBe("supplierUniqueRecordId");
    expect(xmlElementOf("DeliveryInfo", "url")).toBe("URL");
    expect(xmlElementOf("BillingInfo", "maximum_costs")).toBe("maximumCosts");
    expect(fieldOfXmlElement("PatronInfo", "surname")).toBeUndefined();
    expect(fieldOfXmlElement("NoSuchMessage", "title")).toBeUndefined();
  });

  it("name the top-level messages and the 2017 renamings by fields that exist", () => {
    for (const message of Object.keys(ISO18626_MESSAGE_ELEMENTS))
      expect(ISO18626_ELEMENTS[message]).toBeDefined();
    expect(Object.keys(ISO18626_MESSAGE_ELEMENTS)).toHaveLength(6);
    for (const path of Object.keys(ISO18626_2017_NAMES)) {
      const [message = "", field = ""] = path.split(".");
      expect(xmlElementOf(message, field), path).toEqual(expect.any(String));
    }
  });
});
