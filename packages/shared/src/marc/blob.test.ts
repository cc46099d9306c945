import { describe, expect, it } from "vitest";
import { isMarcXmlBlob, readMarcBlob, toMarcBlob } from "./blob.js";
import { MAX_RECORD_LENGTH, parseIso2709 } from "./iso2709.js";
import { fitIso2709 } from "./iso2709-fit.js";
import type { DataField, MarcRecord } from "./record.js";

const LEADER = "00000cas a2200000 a 4500";

function df(tag: string, ...subfields: Array<[string, string]>): DataField {
  return { tag, ind1: " ", ind2: " ", subfields: subfields.map(([code, value]) => ({ code, value })) };
}

/** A serial as Princeton exports Science: a description and thousands of holdings and item fields. */
function serial(copies: number, contents = 6000): MarcRecord {
  return {
    leader: LEADER,
    fields: [
      { tag: "001", value: "science-1" },
      df("022", ["a", "0036-8075"]),
      df("245", ["a", "Science."]),
      df("505", ["a", "é".repeat(contents)]),
      ...Array.from({ length: copies }, (_, i) => df("852", ["b", "firestone"], ["h", `Q1 .S35 v.${i}`])),
      ...Array.from({ length: copies }, (_, i) => df("949", ["i", `32101${String(i).padStart(9, "0")}`])),
    ],
  };
}

describe("toMarcBlob", () => {
  it("writes ISO 2709 when the record fits and MARCXML when it does not, and reads both back", () => {
    const small = serial(2, 100);
    const a = toMarcBlob(small);
    expect(isMarcXmlBlob(a)).toBe(false);
    expect(readMarcBlob(a)).toEqual({ ...small, leader: expect.any(String) });

    const big = serial(3000);
    const b = toMarcBlob(big);
    expect(b.length).toBeGreaterThan(MAX_RECORD_LENGTH);
    expect(isMarcXmlBlob(b)).toBe(true);
    expect(readMarcBlob(b)?.fields).toEqual(big.fields);
  });

  it("still refuses what no format can hold: a bad tag", () => {
    expect(() => toMarcBlob({ leader: LEADER, fields: [{ tag: "24", value: "x" }] })).toThrow(/tag/);
  });
});

describe("fitIso2709", () => {
  it("leaves a record that fits alone", () => {
    expect(fitIso2709(serial(2, 100)).changes).toEqual([]);
  });

  it("cuts a field over 9999 bytes at a character boundary and leaves out copy fields from the end, saying so", () => {
    const big = serial(2000);
    const { marc, changes } = fitIso2709(big);
    expect(marc.length).toBeLessThanOrEqual(MAX_RECORD_LENGTH);
    const [read] = [...parseIso2709(marc)];
    expect(read?.ok).toBe(true);
    if (!read?.ok) return;
    const tags = read.record.fields.map((f) => f.tag);
    // The description is whole but for the cut 505; items (949) went from the end, as few as
    // needed; the locations (852) stay.
    expect(tags.slice(0, 4)).toEqual(["001", "022", "245", "505"]);
    const items = tags.filter((t) => t === "949").length;
    expect(items).toBeGreaterThan(0);
    expect(items).toBeLessThan(2000);
    expect(tags.filter((t) => t === "852")).toHaveLength(2000);
    expect(changes[0]).toMatch(/field 505 cut from 12005 to \d+ bytes/);
    expect(changes[1]).toBe(
      `${2000 - items} field(s) left out to stay within ISO 2709's 99999 bytes: 949 ×${2000 - items}`,
    );
    const f505 = read.record.fields[3] as DataField;
    expect(f505.subfields[0]!.value).toMatch(/^é+$/);
  });

  it("leaves out notes before holdings, and holdings only when nothing else is left", () => {
    const { marc, changes } = fitIso2709(serial(4000));
    expect(marc.length).toBeLessThanOrEqual(MAX_RECORD_LENGTH);
    expect(changes[1]).toMatch(/: 852 ×\d+, 505, 949 ×4000$/);
  });
});
