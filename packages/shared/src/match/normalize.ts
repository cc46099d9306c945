/**
 * Text normalisation for matching and indexing. Two catalogers transcribing the same title page
 * differ in case, diacritics, punctuation, spacing, romanisation marks and abbreviations; these
 * functions remove that variation and keep everything that tells two books apart.
 *
 * Every function here is pure and idempotent (normalising a normalised string changes nothing), so
 * a normalised value can be stored and compared with a freshly normalised one.
 */

// Latin letters that carry their "diacritic" in the base character, so NFD does not split them.
const LATIN_FOLD: Record<string, string> = {
  ł: "l",
  ø: "o",
  đ: "d",
  ð: "d",
  ħ: "h",
  ı: "i",
  ŀ: "l",
  æ: "ae",
  œ: "oe",
  þ: "th",
  ĸ: "k",
};
const LATIN_FOLD_RE = new RegExp(`[${Object.keys(LATIN_FOLD).join("")}]`, "gu");

// Characters that sit inside words: deleted rather than turned into a space (see normalizeText).
const DELETED = /[\p{Cf}'’‘`´ʹʺʻʼʽʾʿˈ]/gu;

/**
 * Lower-cased, diacritic-free, punctuation-free text with single spaces.
 *
 * - NFKC first: fullwidth letters and digits, ideographic spaces and ligatures ("ﬁ") become their
 *   plain forms, as CJK records often have them.
 * - Case fold by lower-, upper- then lower-casing, which also folds "ß" and "ẞ" to "ss"; final sigma
 *   becomes sigma, as lower-casing chooses between them by context and would not be idempotent.
 * - Diacritics are removed from Latin letters only. The same decomposition would turn Japanese
 *   "が" into "か" and Cyrillic "й" into "и" — different letters, not accents — so marks after
 *   non-Latin characters are kept.
 * - The ALA-LC romanisation marks for ayn, alif and the soft sign (ʻ ʼ ʹ, which Unicode counts as
 *   letters), apostrophes and format characters (bidi marks, zero-width joiners) are deleted, since
 *   catalogers write "Ma'rakah", "Maʻrakah" and "Marakah" for one word; every other punctuation mark
 *   or symbol, CJK brackets and middle dots included, becomes a space, so that it separates words.
 *   A combining mark left without its letter that way is dropped, not made a word of its own.
 */
export function normalizeText(s: string): string {
  return s
    .normalize("NFKC")
    .replace(DELETED, "")
    .toLowerCase()
    .toUpperCase()
    .toLowerCase()
    .replaceAll("ς", "σ")
    .normalize("NFD")
    .replace(/(\p{Script=Latin})\p{M}+/gu, "$1")
    .normalize("NFC")
    .replace(LATIN_FOLD_RE, (c) => LATIN_FOLD[c] ?? c)
    .replace(/[^\p{L}\p{N}\p{M}]+/gu, " ")
    .replace(/(^| )\p{M}+/gu, "$1")
    .replace(/ {2,}/g, " ")
    .trim();
}

/**
 * Normalised title from 245 $a$b$n$p (pass them joined with spaces). `nonFiling` is the 245 second
 * indicator: that many leading characters ("The ", "L'", "al-") are an article that is not filed on
 * and is dropped before normalising, so "The Iliad" and "Iliad" match. An indicator outside 1–9, or
 * one that would swallow the whole title, is ignored.
 */
export function normalizeTitle(title: string, nonFiling: number | string = 0): string {
  const n = typeof nonFiling === "number" ? nonFiling : Number.parseInt(nonFiling, 10);
  const skip = Number.isInteger(n) && n > 0 && n <= 9 ? n : 0;
  const rest = normalizeText(title.slice(skip));
  return rest === "" ? normalizeText(title) : rest;
}

/**
 * Normalised name of the first author from 100/110/111 $a. Dates and the words that introduce them
 * ("Smith, John, 1950-", "Smith, John, b. 1950") are cut off, since some records carry dates inside
 * $a and others in $d; the surname-first order is kept, as name headings are written that way by
 * every library: "Smith, John, 1950-" → "smith john".
 */
export function normalizeAuthor(name: string): string {
  const cut = /(?:^|[\s,(])(?:(?:b|d|fl|ca|active|born|died)\.?\s*)?\d{3,4}\b/iu.exec(name);
  return normalizeText(cut ? name.slice(0, cut.index) : name);
}

const YEAR_RE = /(?<!\d)(1\d{3}|20\d{2})(?!\d)/;
const DATE1_RE = /^(?:1\d{3}|20\d{2})$/;

/**
 * Year of publication: Date 1 of 008 (positions 07–10) when it is four digits, else the first
 * four-digit year in the 260/264 $c values given ("c1984", "[1998?]"). "" when neither has one —
 * "19uu" (unknown digits) is not a year.
 */
export function normalizeYear(field008: string | undefined, dateStatements: readonly string[] = []): string {
  const date1 = field008?.slice(7, 11) ?? "";
  if (DATE1_RE.test(date1)) return date1;
  for (const statement of dateStatements) {
    const m = YEAR_RE.exec(statement.normalize("NFKC"));
    if (m) return m[1]!;
  }
  return "";
}

const ORDINAL_WORDS: Record<string, number> = {
  first: 1,
  second: 2,
  third: 3,
  fourth: 4,
  fifth: 5,
  sixth: 6,
  seventh: 7,
  eighth: 8,
  ninth: 9,
  tenth: 10,
  erste: 1,
  zweite: 2,
  dritte: 3,
  vierte: 4,
  funfte: 5,
  premiere: 1,
  deuxieme: 2,
  seconde: 2,
  troisieme: 3,
  primera: 1,
  segunda: 2,
  tercera: 3,
  prima: 1,
  terza: 3,
  // Romanised CJK "first edition" and "second edition" (ALA-LC Chinese, Japanese, Korean).
  chuban: 1,
  shohan: 1,
  chopan: 1,
  chaepan: 2,
};

const HAN_DIGITS: Record<string, number> = {
  一: 1,
  二: 2,
  三: 3,
  四: 4,
  五: 5,
  六: 6,
  七: 7,
  八: 8,
  九: 9,
  十: 10,
};

// Words that only say "this is an edition statement"; what is left after removing them is the part
// that tells editions apart ("rev", "large print", "hardcover").
const EDITION_WORDS = new Set(
  "ed edn edition editions edicion aufl auflage ausg ausgabe uitg druk izd izdanie wyd wydanie chap tabah par then".split(
    " ",
  ),
);

/**
 * Edition from 250 $a reduced to what tells editions apart: its number when it has one ("2nd ed.",
 * "Second edition", "2. Aufl.", "第2版", "Chāp-i 2" → "2"), else the statement without the words
 * that merely mean "edition" ("Rev. ed." → "rev"), else "".
 *
 * A first edition gives "" — the same as no 250 at all — because many catalogers record no edition
 * statement for a first edition while copy cataloging from the publisher's data adds "1st ed.":
 * the two records describe the same book.
 */
export function normalizeEdition(statement: string | undefined): string {
  if (statement === undefined) return "";
  const nfkc = statement.normalize("NFKC");
  let n: number | undefined;
  if (/初版/.test(nfkc)) n = 1;
  else if (/再版/.test(nfkc)) n = 2;
  else {
    const han = /第\s*(\d+|[一二三四五六七八九十])\s*[版刷]/.exec(nfkc);
    if (han) n = /\d/.test(han[1]!) ? Number(han[1]) : HAN_DIGITS[han[1]!];
  }
  const text = normalizeText(nfkc);
  if (n === undefined) {
    const digits = /(?:^|\D)(\d{1,3})(?=\D|$)/.exec(text);
    if (digits) n = Number(digits[1]);
  }
  if (n === undefined) {
    // "chu ban", "chʻopʻan": romanised compounds are written with and without a space.
    const compact = text.replace(/\s+/g, "");
    for (const word of [...text.split(" "), compact]) {
      const v = ORDINAL_WORDS[word];
      if (v !== undefined) {
        n = v;
        break;
      }
    }
  }
  if (n !== undefined) return n <= 1 ? "" : String(n);
  return text
    .split(" ")
    .filter((w) => w !== "" && !EDITION_WORDS.has(w))
    .join(" ");
}

// Legal forms and trade words that one record has and another leaves out or abbreviates for the
// same publisher ("Penguin Books Ltd." / "Penguin", "Oxford University Press" / "Oxford Univ. Pr.").
// "Press" is dropped as well: it is abbreviated inconsistently ("Pr.", "P.") by AACR2-era records and
// spelled out by RDA ones, and the publisher is only one of five parts of the fuzzy key, so "Free
// Press" becoming "free" cannot by itself merge two books.
const PUBLISHER_NOISE = new Set(
  "inc incorporated ltd limited llc plc co corp corporation company gmbh ag kg sa srl bv nv pty the and press pr publisher publishers publishing pub publications books verlag".split(
    " ",
  ),
);

// "[s.n.]" (AACR2, sine nomine) and "[publisher not identified]" (RDA) say that there is no name.
const NO_PUBLISHER =
  /\bs\.\s?n\.|\b(?:name of )?(?:publisher|distributor|manufacturer|producer) not identified\b/gi;

/**
 * Publisher from 260/264 $b, reduced to its distinctive words: legal forms (Inc., Ltd., GmbH), trade
 * words (Press, Publishers, Books, Verlag) and "[s.n.]" / "[publisher not identified]" are removed, and
 * "Univ." is spelled out. "Oxford University Press" and "Oxford Univ. Pr." both give
 * "oxford university".
 */
export function normalizePublisher(name: string | undefined): string {
  if (name === undefined) return "";
  const text = normalizeText(name.replace(NO_PUBLISHER, " "));
  return text
    .split(" ")
    .map((w) => (w === "univ" ? "university" : w))
    .filter((w) => w !== "" && !PUBLISHER_NOISE.has(w))
    .join(" ");
}
