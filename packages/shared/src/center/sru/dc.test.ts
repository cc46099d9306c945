import { readFileSync } from "node:fs";
import { SaxesParser } from "saxes";
import { describe, expect, it } from "vitest";
import { parseIso2709 } from "../../marc/iso2709.js";
import type { DataField, MarcRecord } from "../../marc/record.js";
import { DC_NAMESPACE, type DcElement, marcToDublinCore, SRW_DC_NAMESPACE, toSrwDcXml } from "./dc.js";

const df = (tag: string, ind: string, ...subfields: string[]): DataField => ({
  tag,
  ind1: ind[0] ?? " ",
  ind2: ind[1] ?? " ",
  subfields: subfields.map((s) => ({ code: s[0]!, value: s.slice(1) })),
});

/** A record touching every element of the crosswalk. */
const record: MarcRecord = {
  leader: "01234nam a2200301 a 4500",
  fields: [
    { tag: "001", value: "rec-1" },
    { tag: "008", value: "900101s1990    nyu           000 0 eng d" },
    df("020", "  ", "a0394502884 (pbk.) :", "c$12.00"),
    df("022", "  ", "a0028-0836"),
    df("024", "3 ", "a9780394502885"),
    df("041", "1 ", "aengfre", "hger"),
    df("050", "00", "aQE862.D5", "bS65 1990"),
    df("100", "1 ", "aSmith, John A.,", "d1950-", "eauthor."),
    df("245", "10", "aDinosaurs of the West :", "ba field guide /", "cJohn A. Smith ; with maps."),
    df("246", "30", "aWestern dinosaurs"),
    df("264", " 1", "aNew York :", "bViking,", "c1990."),
    df("264", " 4", "c©1989"),
    df("300", "  ", "a320 p. :", "bill., maps ;", "c24 cm."),
    df("500", "  ", "aIncludes index."),
    df("504", "  ", "aBibliography: p. 300-310."),
    df("506", "1 ", "aRestricted to registered readers."),
    df("530", "  ", "aAlso available online."),
    df("540", "  ", "aCopyright Viking Press."),
    df("546", "  ", "aText in English and French."),
    df("600", "10", "aCope, Edward Drinker,", "d1840-1897."),
    df("650", " 0", "aDinosaurs", "zWest (U.S.)", "vGuidebooks."),
    df("651", " 0", "aRocky Mountains", "xDescription and travel."),
    df("653", "  ", "apaleontology", "afossils"),
    df("655", " 7", "aField guides.", "2lcgft"),
    df("700", "1 ", "aJones, Mary,", "eillustrator."),
    df("710", "2 ", "aNatural History Museum (London, England)"),
    df("752", "  ", "aUnited States", "bColorado", "dDenver."),
    df("776", "08", "iOnline version:", "tDinosaurs of the West", "w(OCoLC)123"),
    df("856", "40", "uhttps://example.org/dino", "qtext/html"),
    df("880", "10", "6245-01/$1", "a恐竜 /"),
  ],
};

function valuesOf(rec: MarcRecord, element: DcElement): string[] {
  return marcToDublinCore(rec)
    .filter((s) => s.element === element)
    .map((s) => s.value);
}

describe("MARC 21 → Dublin Core", () => {
  it("maps each element after the LoC crosswalk, ISBD punctuation chopped", () => {
    // The 880 (vernacular) title right after the 245 it pairs with.
    expect(valuesOf(record, "title")).toEqual([
      "Dinosaurs of the West : a field guide",
      "恐竜",
      "Western dinosaurs",
    ]);
    expect(valuesOf(record, "creator")).toEqual([
      "Smith, John A., 1950-",
      "Jones, Mary",
      "Natural History Museum (London, England)",
    ]);
    expect(valuesOf(record, "subject")).toEqual([
      "Cope, Edward Drinker, 1840-1897",
      "Dinosaurs--West (U.S.)--Guidebooks",
      "Rocky Mountains--Description and travel",
      "paleontology",
      "fossils",
      "QE862.D5 S65 1990",
    ]);
    expect(valuesOf(record, "description")).toEqual(["Includes index", "Bibliography: p. 300-310"]);
    expect(valuesOf(record, "publisher")).toEqual(["Viking"]);
    expect(valuesOf(record, "date")).toEqual(["1990"]);
    expect(valuesOf(record, "type")).toEqual(["Text", "Field guides"]);
    expect(valuesOf(record, "format")).toEqual(["320 p. : ill., maps ; 24 cm.", "text/html"]);
    expect(valuesOf(record, "identifier")).toEqual([
      "0394502884 (pbk.)",
      "0028-0836",
      "9780394502885",
      "https://example.org/dino",
    ]);
    expect(valuesOf(record, "language")).toEqual(["eng", "fre", "ger", "Text in English and French"]);
    expect(valuesOf(record, "relation")).toEqual(["Also available online", "Dinosaurs of the West"]);
    expect(valuesOf(record, "coverage")).toEqual(["Rocky Mountains", "United States--Colorado--Denver"]);
    expect(valuesOf(record, "rights")).toEqual([
      "Restricted to registered readers",
      "Copyright Viking Press",
    ]);
  });

  it("takes the date from 008/07-10 only when no 260/264 $c has one", () => {
    const bare: MarcRecord = {
      leader: "00000cem a2200000 a 4500",
      fields: [{ tag: "008", value: "900101s1874    xxu           000 0 eng d" }, df("245", "00", "aA map.")],
    };
    expect(valuesOf(bare, "date")).toEqual(["1874"]);
    expect(valuesOf(bare, "type")).toEqual(["Image"]);
    const unknown = { ...bare, fields: [{ tag: "008", value: "900101s19uu    xxu" }] };
    expect(valuesOf(unknown, "date")).toEqual([]);
  });

  it("types from leader/06 and /07: sound, collections, serials", () => {
    const type = (leader: string) => valuesOf({ leader, fields: [] }, "type");
    expect(type("00000njm a2200000 a 4500")).toEqual(["Sound"]);
    expect(type("00000nkc a2200000 a 4500")).toEqual(["Image", "Collection"]);
    expect(type("00000nas a2200000 a 4500")).toEqual(["Text", "Collection"]);
    expect(type("00000nmm a2200000 a 4500")).toEqual([]);
  });

  it("writes an SRU Dublin Core record that parses, escaped", () => {
    const rec: MarcRecord = {
      leader: "00000nam a2200000 a 4500",
      fields: [df("245", "10", "aFish & chips <a history> \u0001"), df("260", "  ", "bPenguin,", "c2001.")],
    };
    const xml = toSrwDcXml(rec);
    const seen: Array<[string, string, string]> = [];
    let text = "";
    const parser = new SaxesParser({ xmlns: true });
    parser.on("opentag", () => {
      text = "";
    });
    parser.on("text", (t) => {
      text += t;
    });
    parser.on("closetag", (tag) => seen.push([tag.uri, tag.local, text.trim()]));
    parser.write(xml).close();
    expect(seen.at(-1)?.slice(0, 2)).toEqual([SRW_DC_NAMESPACE, "dc"]);
    expect(seen.filter(([uri]) => uri === DC_NAMESPACE).map(([, local, value]) => [local, value])).toEqual([
      ["title", "Fish & chips <a history>"],
      ["publisher", "Penguin"],
      ["date", "2001"],
      ["type", "Text"],
    ]);
  });

  it("gives every record of a real file a title and the language of its 008", () => {
    const bytes = readFileSync(
      new URL("../../../../../data/marc/traject/test_data.utf8.mrc", import.meta.url),
    );
    for (const r of parseIso2709(bytes)) {
      if (!r.ok) throw r.error;
      const dc = marcToDublinCore(r.record);
      expect(dc.some((s) => s.element === "title")).toBe(true);
      expect(dc.filter((s) => s.element === "type").map((s) => s.value)).toContain("Text");
      expect(() => new SaxesParser().write(toSrwDcXml(r.record)).close()).not.toThrow();
    }
  });
});
