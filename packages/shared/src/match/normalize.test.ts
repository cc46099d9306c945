import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  normalizeAuthor,
  normalizeEdition,
  normalizePublisher,
  normalizeText,
  normalizeTitle,
  normalizeYear,
} from "./normalize.js";

// Strings below are taken from records in data/marc/ (file and position in the comment).

describe("normalizeText", () => {
  it("folds case, Latin diacritics, punctuation and spacing", () => {
    // traject test_data.utf8.mrc #3 and #28: one title, two libraries, two kinds of quotes.
    expect(normalizeText('Kubo Sakae "Kazanbaichi" o yomu /')).toBe("kubo sakae kazanbaichi o yomu");
    expect(normalizeText("Kubo Sakae 'Kazanbaichi' o yomu /")).toBe("kubo sakae kazanbaichi o yomu");
    expect(normalizeText("Gabriel García Márquez.")).toBe("gabriel garcia marquez");
    expect(normalizeText("Łódź, Straße, Øresund, Æsop")).toBe("lodz strasse oresund aesop");
    // MARC-8 ligature halves (traject #4) and ALA-LC ayn/alif/soft sign (traject #16, #5).
    expect(normalizeText("Vi︠a︡tkin, M. P.")).toBe("viatkin m p");
    expect(normalizeText("Maʻrakah-ʼi jahānʹbīnīʹhā")).toBe("marakah i jahanbiniha");
    expect(normalizeText("ＡＢＣ　１２３")).toBe("abc 123");
    // Found by the idempotence property: capital sharp s, and final sigma chosen by context.
    expect(normalizeText("GROẞE")).toBe("grosse");
    expect(normalizeText("ΟΔΥΣΣΕΥΣ")).toBe("οδυσσευσ");
  });

  it("leaves CJK, Hangul, kana, Cyrillic and Hebrew letters alone", () => {
    // traject #13 (ideographic spaces and fullwidth slash), #28, #15; UChicago_SampleBibs #4.
    expect(normalizeText("北韓　法令集　／")).toBe("北韓 法令集");
    expect(normalizeText("久保栄「火山灰地」を読む /")).toBe("久保栄 火山灰地 を読む");
    expect(normalizeText("아직도　그럭　저럭　사십니까 :")).toBe("아직도 그럭 저럭 사십니까");
    expect(normalizeText("ガッコウ がっこう")).toBe("ガッコウ がっこう");
    expect(normalizeText("Толстой, Лев")).toBe("толстой лев");
    // Bidi marks go, the Hebrew maqaf separates words (traject #10).
    expect(normalizeText("‏שודדי־ים יהודיים :‏")).toBe("שודדי ים יהודיים");
  });

  it("is idempotent", () => {
    for (const unit of ["grapheme", "binary"] as const) {
      fc.assert(
        fc.property(fc.string({ unit, maxLength: 40 }), (s) => {
          const once = normalizeText(s);
          expect(normalizeText(once)).toBe(once);
        }),
        { numRuns: 2000 },
      );
    }
  });

  it("never leaves empty words or outer spaces", () => {
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (s) => {
        const out = normalizeText(s);
        expect(out).toBe(out.trim());
        if (out !== "") expect(out.split(" ")).not.toContain("");
      }),
    );
  });
});

describe("normalizeTitle", () => {
  it("drops the non-filing characters counted by the second indicator", () => {
    // uva_001_2000.mrc #564 (245 14), traject #18 (245 13).
    expect(normalizeTitle("The collected stories /", "4")).toBe("collected stories");
    expect(normalizeTitle("al-Ḥarb fī al-alfīyah al-thālithah /", 3)).toBe("harb fi al alfiyah al thalithah");
    expect(normalizeTitle("Collected stories /", "0")).toBe("collected stories");
  });

  it("ignores an indicator that is not a count or would eat the title", () => {
    expect(normalizeTitle("The Iliad", " ")).toBe("the iliad");
    expect(normalizeTitle("Ulysses", "9")).toBe("ulysses");
  });

  it("is idempotent", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.integer({ min: 0, max: 9 }), (s, n) => {
        const once = normalizeTitle(s, n);
        expect(normalizeTitle(once)).toBe(once);
      }),
    );
  });
});

describe("normalizeAuthor", () => {
  it("keeps the surname-first heading and cuts off dates", () => {
    expect(normalizeAuthor("Smith, John, 1950-")).toBe("smith john");
    expect(normalizeAuthor("Smith, John, b. 1950")).toBe("smith john");
    expect(normalizeAuthor("Ayaz, Shaikh, 1923-1997.")).toBe("ayaz shaikh");
    expect(normalizeAuthor("Yoshida, Hajime,")).toBe("yoshida hajime");
    expect(normalizeAuthor("García Márquez, Gabriel,")).toBe("garcia marquez gabriel");
    expect(normalizeAuthor("3M Company.")).toBe("3m company");
  });
});

describe("normalizeYear", () => {
  it("prefers 008 Date 1", () => {
    expect(normalizeYear("840216s1984    ctua     b    00110 eng  ", ["[1985]"])).toBe("1984");
    // UChicago_SampleBibs #4: an 008 with its blanks collapsed still has Date 1 in place.
    expect(normalizeYear("180524s2017 ko a b 000 0 kor")).toBe("2017");
  });

  it("falls back to the first year in 260/264 $c", () => {
    expect(normalizeYear("840216s19uu    ctua     b    00110 eng  ", ["c1984."])).toBe("1984");
    expect(normalizeYear(undefined, ["[1998?]"])).toBe("1998");
    expect(normalizeYear("short", ["about 1465-1480]."])).toBe("1465");
    expect(normalizeYear(undefined, ["n.d.", "１９９７"])).toBe("1997");
    expect(normalizeYear(undefined, [])).toBe("");
    expect(normalizeYear(undefined, ["12345"])).toBe("");
  });
});

describe("normalizeEdition", () => {
  it("reduces numbered editions to the number", () => {
    expect(normalizeEdition("2nd ed.")).toBe("2");
    expect(normalizeEdition("Second edition")).toBe("2");
    expect(normalizeEdition("2. Aufl.")).toBe("2");
    // nlm.xml #87, #2, #58.
    expect(normalizeEdition("3., unveränderte Aufl.")).toBe("3");
    expect(normalizeEdition("2e éd. rev. et complétée.")).toBe("2");
    expect(normalizeEdition("3e éd. rév.")).toBe("3");
    // traject #13 (Korean) and pride-and-prejudice 880s (Chinese).
    expect(normalizeEdition("Chaepʻan.")).toBe("2");
    expect(normalizeEdition("再版．")).toBe("2");
    expect(normalizeEdition("第3版")).toBe("3");
    expect(normalizeEdition("第二版")).toBe("2");
  });

  it("treats a first edition like no edition statement", () => {
    expect(normalizeEdition(undefined)).toBe("");
    expect(normalizeEdition("1st ed.")).toBe("");
    // traject #22, #28, #15, #29, #2.
    expect(normalizeEdition("1st Atria Books hardcover ed.")).toBe("");
    expect(normalizeEdition("Shohan.")).toBe("");
    expect(normalizeEdition("Chʻopʻan.")).toBe("");
    expect(normalizeEdition("Chu ban.")).toBe("");
    expect(normalizeEdition("Chāp-i 1.")).toBe("");
    expect(normalizeEdition("初版.")).toBe("");
    expect(normalizeEdition("北京第1版.")).toBe("");
  });

  it("keeps what distinguishes unnumbered editions", () => {
    expect(normalizeEdition("Rev. ed.")).toBe("rev");
    expect(normalizeEdition("Large print edition.")).toBe("large print");
    expect(normalizeEdition("Hardcover ed.")).not.toBe(normalizeEdition("Paperback ed."));
  });
});

describe("normalizePublisher", () => {
  it("removes legal forms and trade words", () => {
    expect(normalizePublisher("Oxford University Press,")).toBe("oxford university");
    expect(normalizePublisher("Oxford Univ. Pr.")).toBe("oxford university");
    expect(normalizePublisher("Penguin Books Ltd.")).toBe("penguin");
    // uva_001_2000.mrc #1659 and #1660.
    expect(normalizePublisher("Ticknor and Fields,")).toBe(normalizePublisher("Ticknor & Fields,"));
    expect(normalizePublisher("JAI Press,")).toBe("jai");
    expect(normalizePublisher("Hōsei Daigaku Shuppankyoku,")).toBe("hosei daigaku shuppankyoku");
  });

  it("treats 'no publisher named' as no publisher", () => {
    expect(normalizePublisher("[s.n.],")).toBe("");
    // folio 100.mrc #87.
    expect(normalizePublisher("[publisher not identified],")).toBe("");
    expect(normalizePublisher(undefined)).toBe("");
  });
});
