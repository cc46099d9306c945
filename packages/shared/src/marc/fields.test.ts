import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  controlValue,
  getDataFields,
  getFields,
  linkedFields880,
  parseLinkage,
  subfieldValues,
} from "./fields.js";
import { parseIso2709 } from "./iso2709.js";
import type { MarcRecord } from "./record.js";

// traject's hebrew880s.marc: a UTF-8 record with Hebrew 880 fields (MIT).
const [result] = [
  ...parseIso2709(readFileSync(new URL("./fixtures/traject-hebrew880s.mrc", import.meta.url))),
];
if (!result?.ok) throw new Error("fixture did not parse");
const record = result.record;

describe("field helpers", () => {
  it("reads control fields", () => {
    expect(controlValue(record, "001")).toBe("4083985");
    expect(controlValue(record, "008")).toBe("110313s2011    is       b    001 0 heb c");
    expect(controlValue(record, "009")).toBeUndefined();
    // A data field with a control tag's name is not a control value.
    expect(controlValue(record, "020")).toBeUndefined();
  });

  it("collects subfield values across repeated fields, in order", () => {
    expect(subfieldValues(record, "020", "a")).toEqual(["9789651321337", "9651321334"]);
    expect(subfieldValues(record, "035", "a")).toEqual(["4083985", "ocn710973037", "(OCoLC)710973037"]);
    expect(subfieldValues(record, "001", "a")).toEqual([]);
    expect(subfieldValues(record, "999", "a")).toEqual([]);
  });

  it("finds fields by tag", () => {
    expect(getFields(record, "650")).toHaveLength(4);
    expect(getFields(record, "001")).toEqual([{ tag: "001", value: "4083985" }]);
    expect(getDataFields(record, "001")).toEqual([]);
    expect(getDataFields(record, "100")[0]?.subfields.map((sf) => sf.code)).toEqual(["6", "a"]);
  });

  it("pairs 880 fields with the tags they stand for", () => {
    const linked = linkedFields880(record);
    expect(linked.map((l) => l.linkage)).toEqual([
      { tag: "100", occurrence: "01", script: "(2", orientation: "r" },
      { tag: "245", occurrence: "02", script: "(2", orientation: "r" },
      { tag: "260", occurrence: "03", script: "(2", orientation: "r" },
    ]);
    // Checked against `yaz-marcdump -o line`.
    expect(linked[0]?.field.subfields.find((sf) => sf.code === "a")?.value).toBe("רצבי, שלום.");
    expect(linked[1]?.field.subfields.find((sf) => sf.code === "a")?.value).toBe("אנרכיזם ב״ציון״ :");
  });

  it("keeps 880 fields whose $6 is missing or unreadable", () => {
    const rec: MarcRecord = {
      leader: "00000nam a2200000 a 4500",
      fields: [
        { tag: "880", ind1: " ", ind2: " ", subfields: [{ code: "a", value: "无链接" }] },
        { tag: "880", ind1: " ", ind2: " ", subfields: [{ code: "6", value: "title" }] },
      ],
    };
    expect(linkedFields880(rec).map((l) => l.linkage)).toEqual([undefined, undefined]);
  });
});

describe("parseLinkage", () => {
  it("reads the forms found in real records", () => {
    expect(parseLinkage("245-01/$1")).toEqual({
      tag: "245",
      occurrence: "01",
      script: "$1",
      orientation: undefined,
    });
    expect(parseLinkage("880-02")).toEqual({
      tag: "880",
      occurrence: "02",
      script: undefined,
      orientation: undefined,
    });
    // LC records often end the $6 of right-to-left fields with U+200F.
    expect(parseLinkage("100-01/(3/r\u200f")).toEqual({
      tag: "100",
      occurrence: "01",
      script: "(3",
      orientation: "r",
    });
    expect(parseLinkage("500-00")?.occurrence).toBe("00");
    expect(parseLinkage("24501")).toBeUndefined();
  });
});
