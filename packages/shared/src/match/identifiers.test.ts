import fc from "fast-check";
import isbn3 from "isbn3";
import { describe, expect, it } from "vitest";
import {
  hyphenateIsbn,
  isbn10To13,
  normalizeIsbn,
  normalizeIssn,
  normalizeLccn,
  oclcNumber,
  oclcNumberFrom001,
} from "./identifiers.js";

/** Check digit of an ISBN-10, written independently of the code under test. */
function withCheck10(first9: string): string {
  const sum = [...first9].reduce((s, d, i) => s + Number(d) * (10 - i), 0);
  const c = (11 - (sum % 11)) % 11;
  return first9 + (c === 10 ? "X" : String(c));
}

function withCheck13(first12: string): string {
  const sum = [...first12].reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 1 : 3), 0);
  return first12 + String((10 - (sum % 10)) % 10);
}

const digits = (n: number) =>
  fc.string({ unit: fc.constantFrom(..."0123456789"), minLength: n, maxLength: n });
const isbn10Arb = digits(9).map(withCheck10);

describe("normalizeIsbn", () => {
  it("reads 020 $a values as catalogers write them", () => {
    // traject test_data.utf8.mrc #22 (LCCN 2007020969) carries both forms of one ISBN.
    expect(normalizeIsbn("9780743297790 (alk. paper)")).toBe("9780743297790");
    expect(normalizeIsbn("0743297792 (alk. paper)")).toBe("9780743297790");
    expect(normalizeIsbn("4588460056")).toBe("9784588460050");
    expect(normalizeIsbn("978-4-588-46005-0")).toBe("9784588460050");
    expect(normalizeIsbn("4 588 46005 6")).toBe("9784588460050");
    expect(normalizeIsbn("ISBN 0-8044-2957-X (pbk.)")).toBe("9780804429573");
    expect(normalizeIsbn("080442957x :")).toBe("9780804429573");
    // 979-11 is Korea (UChicago_SampleBibs #4); 979 ISBNs have no ISBN-10.
    expect(normalizeIsbn("9791126001774")).toBe("9791126001774");
    // Fullwidth digits, as some CJK records have them.
    expect(normalizeIsbn("９７８４５８８４６００５０")).toBe("9784588460050");
    // Two ISBNs in one subfield: the first one counts.
    expect(normalizeIsbn("0451525884 9780451525888")).toBe("9780451525888");
  });

  it("rejects wrong check digits, other lengths and non-ISBN EANs", () => {
    expect(normalizeIsbn("0743297793")).toBeUndefined();
    expect(normalizeIsbn("9780743297791")).toBeUndefined();
    expect(normalizeIsbn("074329779")).toBeUndefined();
    expect(normalizeIsbn("Rs10.00")).toBeUndefined();
    expect(normalizeIsbn("")).toBeUndefined();
    // 979-0 is the ISMN block (printed music), check digit valid but not an ISBN.
    expect(normalizeIsbn("9790000000001")).toBeUndefined();
    // An ISSN barcode (977) is an EAN, not an ISBN.
    expect(normalizeIsbn("9770028083009")).toBeUndefined();
  });

  it("accepts valid ISBNs in ranges isbn3 does not know, so keys survive an isbn3 upgrade", () => {
    expect(isbn3.parse("9791234567896")).toBeNull();
    expect(normalizeIsbn("9791234567896")).toBe("9791234567896");
  });

  it("gives one key for the ISBN-10 and its ISBN-13", () => {
    fc.assert(
      fc.property(isbn10Arb, (isbn10) => {
        const isbn13 = isbn10To13(isbn10);
        expect(isbn13).toBeDefined();
        expect(normalizeIsbn(isbn10)).toBe(normalizeIsbn(isbn13!));
        expect(normalizeIsbn(isbn10)).toBe(isbn13);
      }),
    );
  });

  it("agrees with isbn3 wherever isbn3 knows the range", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          isbn10Arb,
          digits(9).map((d) => withCheck13(`978${d}`)),
          digits(9).map((d) => withCheck13(`979${d}`)),
        ),
        (candidate) => {
          const parsed = isbn3.parse(candidate);
          // isbn3 rejects ranges it does not know; where it accepts, the two must agree.
          if (parsed) expect(normalizeIsbn(candidate)).toBe(parsed.isbn13);
          else if (candidate.startsWith("978") || candidate.length === 10)
            expect(normalizeIsbn(candidate)).toMatch(/^97[89]\d{10}$/);
        },
      ),
    );
  });

  it("detects every single-digit error", () => {
    fc.assert(
      fc.property(isbn10Arb, fc.nat(8), fc.integer({ min: 1, max: 9 }), (isbn10, pos, delta) => {
        const isbn13 = isbn10To13(isbn10)!;
        const wrong = (s: string) =>
          s.slice(0, pos) + String((Number(s[pos]) + delta) % 10) + s.slice(pos + 1);
        expect(normalizeIsbn(wrong(isbn10))).toBeUndefined();
        expect(normalizeIsbn(wrong(isbn13))).toBeUndefined();
      }),
    );
  });
});

describe("isbn10To13", () => {
  it("converts and recomputes the check digit", () => {
    expect(isbn10To13("0-19-282760-X")).toBe("9780192827609");
    expect(isbn10To13("0192827609")).toBeUndefined();
    expect(isbn10To13("9780192827609")).toBeUndefined();
  });
});

describe("hyphenateIsbn", () => {
  it("hyphenates by registration group, plain when the range is unknown", () => {
    expect(hyphenateIsbn("4588460056")).toBe("978-4-588-46005-0");
    expect(hyphenateIsbn("9791234567896")).toBe("9791234567896");
    expect(hyphenateIsbn("not an isbn")).toBeUndefined();
  });
});

describe("normalizeIssn", () => {
  it("checks the digit and writes 1234-5679", () => {
    // uva_001_2000.mrc #226 and #231: Journal of comparative physiology B and A.
    expect(normalizeIssn("0174-1578")).toBe("0174-1578");
    expect(normalizeIssn("03407594")).toBe("0340-7594");
    expect(normalizeIssn("ISSN 0028-0836 (print)")).toBe("0028-0836");
    expect(normalizeIssn("0932-612x")).toBe("0932-612X");
    expect(normalizeIssn("0028-0837")).toBeUndefined();
    expect(normalizeIssn("0028-08361")).toBeUndefined();
    expect(normalizeIssn("n/a")).toBeUndefined();
  });
});

describe("normalizeLccn", () => {
  it("follows the examples of the LC normalisation rules", () => {
    expect(normalizeLccn("n78-890351")).toBe("n78890351");
    expect(normalizeLccn("n78-89035")).toBe("n78089035");
    expect(normalizeLccn("n 78890351 ")).toBe("n78890351");
    expect(normalizeLccn(" 85000002 ")).toBe("85000002");
    expect(normalizeLccn("85-2 ")).toBe("85000002");
    expect(normalizeLccn("2001-000002")).toBe("2001000002");
    expect(normalizeLccn("75-425165//r75")).toBe("75425165");
    expect(normalizeLccn(" 79139101 /AC/r932")).toBe("79139101");
  });

  it("reads 010 $a as records carry it and keeps the prefix", () => {
    expect(normalizeLccn("   84047775 ")).toBe("84047775");
    expect(normalizeLccn("  2008543486")).toBe("2008543486");
    expect(normalizeLccn("sn 84012147 ")).toBe("sn84012147");
    expect(normalizeLccn("SN84012147")).toBe("sn84012147");
  });

  it("rejects what is not an LCCN", () => {
    expect(normalizeLccn("85-1234567")).toBeUndefined();
    expect(normalizeLccn("85-12a")).toBeUndefined();
    expect(normalizeLccn("1234567")).toBeUndefined();
    expect(normalizeLccn("abcd12345678")).toBeUndefined();
    // An ISBN-10 in the 010 of a UNIMARC record (Taiwanese CMARC in marc4j's Pride and prejudice set).
    expect(normalizeLccn("9573908670")).toBeUndefined();
    expect(normalizeLccn("")).toBeUndefined();
  });

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom(..."0123456789 -/nsr") }), (s) => {
        const once = normalizeLccn(s);
        if (once !== undefined) expect(normalizeLccn(once)).toBe(once);
      }),
    );
  });
});

describe("oclcNumber", () => {
  it("takes the number out of 035 $a (OCoLC) forms", () => {
    expect(oclcNumber("(OCoLC)ocm12345678")).toBe("12345678");
    expect(oclcNumber("(OCoLC)ocn123456789")).toBe("123456789");
    expect(oclcNumber("(OCoLC)on1234567890")).toBe("1234567890");
    expect(oclcNumber("(OCoLC)12345")).toBe("12345");
    expect(oclcNumber("(OCoLC)ocm00400866")).toBe("400866");
    expect(oclcNumber("(ocolc)00012345 ")).toBe("12345");
  });

  it("ignores other systems' numbers and local variants", () => {
    expect(oclcNumber("(CStRLIN)DCLP00-B1931")).toBeUndefined();
    expect(oclcNumber("(DLC)   84047775")).toBeUndefined();
    expect(oclcNumber("(Sirsi) o10696817")).toBeUndefined();
    // UVA's local copies of the number (uva_001_2000.mrc #115): not asserted by OCLC.
    expect(oclcNumber("DL(OCoLC)10696817")).toBeUndefined();
    expect(oclcNumber("(OCoLC)M-ESTCN12345")).toBeUndefined();
    expect(oclcNumber("(OCoLC)0")).toBeUndefined();
  });
});

describe("oclcNumberFrom001", () => {
  it("reads OCLC numbers kept in 001", () => {
    expect(oclcNumberFrom001("ocm34096165")).toBe("34096165");
    expect(oclcNumberFrom001("ocn921188321")).toBe("921188321");
    expect(oclcNumberFrom001("00427057", "OCoLC")).toBe("427057");
    expect(oclcNumberFrom001("4348311")).toBeUndefined();
    expect(oclcNumberFrom001("4348311", "OLE")).toBeUndefined();
  });
});
