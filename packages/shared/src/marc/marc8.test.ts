import { describe, expect, it } from "vitest";
import { decodeMarc8, eaccTableSize, type Marc8Issue } from "./marc8.js";

const ESC = "\x1b";

/** Bytes from a string whose characters are all below U+0100 (MARC-8 written as Latin-1). */
function bytes(s: string): Buffer {
  return Buffer.from(s, "latin1");
}

function decode(s: string): { text: string; issues: Marc8Issue[] } {
  const issues: Marc8Issue[] = [];
  const text = decodeMarc8(bytes(s), (issue) => issues.push(issue));
  return { text, issues };
}

// The expected strings of well-formed input were checked against yaz 5.34
// (`yaz-marcdump -f MARC-8 -t UTF-8 -o line`, NFC-normalised) on records built from the same bytes.
// On bad input yaz drops bytes silently (or, after an unknown escape or a trailing diacritic, the
// whole subfield); here they become U+FFFD and are reported.
describe("decodeMarc8", () => {
  it("loads every EACC code point of the LC table", () => {
    const { loaded, expected } = eaccTableSize();
    expect(loaded).toBe(expected);
    expect(loaded).toBe(15739);
  });

  it("passes ASCII through", () => {
    expect(decode("The book of the dance / $12.50").text).toBe("The book of the dance / $12.50");
  });

  it("moves ANSEL diacritics after their base letter and composes them (NFC)", () => {
    expect(decode("Pached \xe1a Deir el-M\xe2edineh").text).toBe("Pached à Deir el-Médineh");
    // Two marks on one letter: both follow it, in MARC-8 order; NFC composes what it can.
    expect(decode("Pr\xe2\xe3ague").text).toBe("Pr\u00e1\u0302gue");
    expect(decode("\xe8u\xf0c").text).toBe("üç");
  });

  it("maps the two halves of a ligature to one double inverted breve", () => {
    expect(decode("Sol\xebi\xecano\xe6i stolp").text).toBe("Soli\u0361anoĭ stolp");
    expect(decode("\xebt\xecs").text).toBe("t\u0361s");
  });

  it("decodes ANSEL spacing characters", () => {
    expect(decode("Wu, Ju-k\xb0ang. \xa5sop \xc3 1984").text).toBe("Wu, Ju-kʻang. Æsop © 1984");
  });

  it("switches G0 with ESC ( F, ESC , F and ESC ( ! E", () => {
    expect(decode(`${ESC}(2\x79\x6c\x65\x6d${ESC}(B (Hebrew)`).text).toBe("שלום (Hebrew)");
    expect(decode(`${ESC}(N\x6d\x4f\x53\x4b\x57\x41${ESC}(B`).text).toBe("Москва");
    expect(decode(`${ESC},N\x6d\x4f${ESC}(B`).text).toBe("Мо");
    expect(decode(`${ESC}(S\x22\x61\x62${ESC}(B`).text).toBe("άβ");
    expect(decode(`${ESC}(3\x63\x4a\x47\x48${ESC}(B`).text).toBe("كتاب");
    // ANSEL as G0: 0x62 is ANSEL's acute (0xE2), waiting for its base across the switch back.
    expect(decode(`${ESC}(!Eb${ESC}(Be`).text).toBe("é");
  });

  it("switches G1 with ESC ) F and ESC - F", () => {
    expect(decode(`Z${ESC})Q\xc4${ESC})!Elka`).text).toBe("Zёlka");
    expect(decode(`${ESC})2\xf9\xec\xe5\xed${ESC})!E`).text).toBe("שלום");
    expect(decode(`${ESC}-2\xf9${ESC}-!E\xe8u`).text).toBe("שü");
  });

  it("handles the technique 1 sets: Greek symbols, subscripts, superscripts", () => {
    expect(decode(`Alpha ${ESC}ga${ESC}s and ${ESC}gb${ESC}s`).text).toBe("Alpha α and β");
    expect(decode(`${ESC}b2${ESC}s x${ESC}p3${ESC}s`).text).toBe("₂ x³");
    expect(decode(`33 ${ESC}p1${ESC}s/${ESC}b3${ESC}s rpm`).text).toBe("33 ¹/₃ rpm");
  });

  it("decodes EACC three-byte characters, with 0x20 as a single-byte space", () => {
    expect(decode(`${ESC}$1\x21\x30\x21 \x21\x30\x22${ESC}(B x`).text).toBe("一 丁 x");
    expect(decode(`${ESC}$)1\xa1\xb0\xa1${ESC})!E`).text).toBe("一");
  });

  it("starts every string from the defaults (ASCII, ANSEL)", () => {
    // yaz, marc4j and MARC::Charset decode each subfield afresh; so does a new call.
    decode(`${ESC}(N\x41`);
    expect(decode("\x41").text).toBe("A");
  });

  it("replaces unknown bytes by U+FFFD and reports them with their offset", () => {
    const { text, issues } = decode("a\xa0b\xbec");
    expect(text).toBe("a\ufffdb\ufffdc");
    expect(issues).toEqual([
      { offset: 1, bytes: "A0", reason: "byte not assigned in Extended Latin (ANSEL) (G1)" },
      { offset: 3, bytes: "BE", reason: "byte not assigned in Extended Latin (ANSEL) (G1)" },
    ]);
  });

  it("reports unknown escape sequences, unmapped EACC codes and stray controls", () => {
    const unknownEscape = decode(`x${ESC}(Zy`);
    expect(unknownEscape.text).toBe("x\ufffd(Zy");
    expect(unknownEscape.issues).toEqual([{ offset: 1, bytes: "1B", reason: "unknown escape sequence" }]);

    const unmapped = decode(`${ESC}$1\x7e\x7e\x7e`);
    expect(unmapped.text).toBe("\ufffd");
    expect(unmapped.issues[0]).toMatchObject({
      offset: 3,
      bytes: "7E 7E 7E",
      reason: "unmapped EACC character",
    });

    const cut = decode(`${ESC}$1\x21\x30`);
    expect(cut.text).toBe("\ufffd\ufffd");
    expect(cut.issues[0]?.reason).toBe("incomplete EACC character");

    const control = decode("a\x01b");
    expect(control.text).toBe("a\ufffdb");
    expect(control.issues[0]?.reason).toBe("control character not allowed in MARC-8 data");
  });

  it("keeps a diacritic that has no base letter, on a space, and reports it", () => {
    const { text, issues } = decode("abc\xe2");
    expect(text).toBe("abc \u0301");
    expect(issues).toEqual([
      { offset: 3, bytes: "E2", reason: "combining mark with no base character after it" },
    ]);
  });

  it("maps the non-sort markers and joiners of the C1 range", () => {
    expect(decode("\x88The\x89 end").text).toBe("\u0098The\u009c end");
  });

  it("decodes a slice of a larger buffer", () => {
    const buf = bytes("xxM\xe2edinehyy");
    expect(decodeMarc8(buf, undefined, 2, 10)).toBe("Médineh");
    expect(decodeMarc8(new Uint8Array(buf), undefined, 3, 5)).toBe("é");
  });
});
