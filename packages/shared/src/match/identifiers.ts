/**
 * Standard identifiers as they are written in MARC 21 (020 ISBN, 022 ISSN, 010 LCCN, 035 OCLC
 * number), reduced to one canonical string each so that equal identifiers compare equal.
 *
 * Check digits are computed here rather than with isbn3. isbn3 (measured at about 0.8 µs per
 * `parse` against about 0.08 µs for the arithmetic below — fast enough either way) also requires the
 * ISBN to fall in a registration-group range it knows, and rejects check-digit-valid ISBNs from
 * ranges assigned after its bundled range table was built (e.g. `9791234567896`). A match key must
 * not change when a dependency is upgraded, so validity here means "well-formed with a correct
 * check digit". isbn3 is used where its range table is the point: hyphenating for display.
 */
import isbn3 from "isbn3";

// Fullwidth digits (CJK records) and other compatibility forms become ASCII under NFKC.
function compatFold(s: string): string {
  return s.normalize("NFKC").toUpperCase();
}

function isbn10CheckDigit(first9: string): string {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += (first9.charCodeAt(i) - 48) * (10 - i);
  const check = (11 - (sum % 11)) % 11;
  return check === 10 ? "X" : String(check);
}

function isbn13CheckDigit(first12: string): string {
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += (first12.charCodeAt(i) - 48) * (i % 2 === 0 ? 1 : 3);
  return String((10 - (sum % 10)) % 10);
}

/**
 * The ISBN-shaped prefix of a 020 $a-style value, without hyphens or spaces: "0-19-282760-X (pbk.)"
 * → "019282760X". Undefined when it is not 10 or 13 characters long.
 */
function compactIsbn(s: string): string | undefined {
  const lead = /^\s*(?:ISBN(?:-1[03])?\s*:?\s*)?([\dX][\dX\s-]*)/.exec(compatFold(s));
  if (!lead) return undefined;
  const run = lead[1]!.trim();
  const whole = run.replace(/[\s-]/g, "");
  if (whole.length === 10 || whole.length === 13) return whole;
  // "0451525884 9780451525888" (two numbers in one subfield): the first one is meant.
  const first = run.split(/\s+/)[0]!.replace(/-/g, "");
  return first.length === 10 || first.length === 13 ? first : undefined;
}

function validIsbn10(c: string): boolean {
  return /^\d{9}[\dX]$/.test(c) && isbn10CheckDigit(c.slice(0, 9)) === c[9];
}

function validIsbn13(c: string): boolean {
  // 979-0 is the ISMN (printed music) block of the EAN space, never an ISBN.
  return /^97[89]\d{10}$/.test(c) && !c.startsWith("9790") && isbn13CheckDigit(c.slice(0, 12)) === c[12];
}

/**
 * Converts an ISBN-10 to its ISBN-13 (prefix 978, check digit recomputed). Accepts the same forms as
 * {@link normalizeIsbn}; returns undefined when the input is not a valid ISBN-10.
 */
export function isbn10To13(isbn10: string): string | undefined {
  const c = compactIsbn(isbn10);
  if (c === undefined || !validIsbn10(c)) return undefined;
  const first12 = `978${c.slice(0, 9)}`;
  return first12 + isbn13CheckDigit(first12);
}

/**
 * Normalises an ISBN as written in 020 $a ("0-19-282760-X (pbk.)", "9780743297790 (alk. paper)",
 * "ISBN 4-588-46005-6") to the 13 digits of its ISBN-13. ISBN-10s are converted, so both forms of one
 * book give the same key. Returns undefined when the value has no well-formed ISBN or the check
 * digit is wrong — a wrong check digit is a typo and could point at another book.
 */
export function normalizeIsbn(s: string): string | undefined {
  const c = compactIsbn(s);
  if (c === undefined) return undefined;
  if (c.length === 10) return isbn10To13(c);
  return validIsbn13(c) ? c : undefined;
}

/**
 * Hyphenates a valid ISBN for display ("9784588460050" → "978-4-588-46005-0"), using isbn3's table
 * of registration-group ranges. Falls back to the plain ISBN-13 when the range is not in that table;
 * undefined when the input is not a valid ISBN.
 */
export function hyphenateIsbn(s: string): string | undefined {
  const isbn13 = normalizeIsbn(s);
  if (isbn13 === undefined) return undefined;
  // isbn3 is CommonJS: under Node's ESM loader only `parse` and `audit` are named exports, so go
  // through the default export.
  return isbn3.parse(isbn13)?.isbn13h ?? isbn13;
}

/**
 * Normalises an ISSN (022 $a: "0028-0836", "0028 0836", "ISSN 0317-8471 (print)") to the "1234-5679"
 * form, upper-case X. Returns undefined when there is no ISSN or its check digit is wrong.
 */
export function normalizeIssn(s: string): string | undefined {
  const m = /^\s*(?:ISSN\s*:?\s*)?(\d{4})\s*-?\s*(\d{3}[\dX])(?![\dX])/.exec(compatFold(s));
  if (!m) return undefined;
  const digits = m[1]! + m[2]!;
  let sum = 0;
  for (let i = 0; i < 7; i++) sum += (digits.charCodeAt(i) - 48) * (8 - i);
  const check = (11 - (sum % 11)) % 11;
  if ((check === 10 ? "X" : String(check)) !== digits[7]) return undefined;
  return `${m[1]}-${m[2]}`;
}

/**
 * Normalises an LCCN (010 $a) by the Library of Congress rules
 * (https://www.loc.gov/marc/lccn-namespace.html): remove blanks; drop a "/" and everything after it
 * (revision and supplement information such as "/AC/r932"); remove a hyphen and left-fill the serial
 * number after it with zeros to six digits. "n 78-89035" → "n78089035", "   85000002 " → "85000002",
 * "2001-2" → "2001000002".
 *
 * The prefix is kept ("sn85000002" and "85000002" are different records) and lower-cased, the form
 * LC uses. Returns undefined when the result does not have the canonical syntax (8–12 characters,
 * the rightmost 8 digits, a 0–3 letter prefix, a four-digit year from 2001 on), so that free text or
 * an ISBN in 010 never becomes a key. The
 * two-digit-year form ("00314247", before 2001) and a four-digit restatement ("2000314247") are
 * different strings under these rules and are not equated.
 */
export function normalizeLccn(s: string): string | undefined {
  let v = s.replace(/\s+/g, "");
  const slash = v.indexOf("/");
  if (slash >= 0) v = v.slice(0, slash);
  const hyphen = v.indexOf("-");
  if (hyphen >= 0) {
    const serial = v.slice(hyphen + 1);
    if (!/^\d{1,6}$/.test(serial)) return undefined;
    v = v.slice(0, hyphen) + serial.padStart(6, "0");
  }
  v = v.toLowerCase();
  return isCanonicalLccn(v) ? v : undefined;
}

function isCanonicalLccn(v: string): boolean {
  if (!/^[a-z\d]{0,4}\d{8}$/.test(v)) return false;
  // Four-digit years began in 2001. Checking that keeps out ISBN-10s that UNIMARC records carry in
  // their 010 (where a MARC 21 record has its LCCN), e.g. "9573908670".
  if (/^[a-z]{0,2}\d{10}$/.test(v) && !/^[a-z]{0,2}20/.test(v)) return false;
  const head = v.slice(0, v.length - 8);
  switch (head.length) {
    case 0:
      return true;
    case 1:
      return /^[a-z]$/.test(head);
    case 2:
      return /^(?:\d\d|[a-z][a-z])$/.test(head);
    case 3:
      return /^[a-z](?:\d\d|[a-z][a-z])$/.test(head);
    case 4:
      return /^[a-z][a-z]\d\d$/.test(head);
    default:
      return false;
  }
}

/**
 * The OCLC number in a 035 $a ("(OCoLC)ocm00400866", "(OCoLC)ocn137335139", "(OCoLC)on1041204177",
 * "(OCoLC)12345") as digits without leading zeros ("400866"). The ocm/ocn/on prefixes only say how
 * many digits the number had when it was issued; they are not part of the number. Returns undefined
 * for 035s from other systems ("(CStRLIN)…", "(DLC)…") and for values with anything but digits after
 * the prefix (OCLC's "(OCoLC)M-…" and similar are local, not OCLC numbers).
 */
export function oclcNumber(value: string): string | undefined {
  const m = /^\s*\(OCoLC\)\s*(?:ocm|ocn|on)?\s*0*([1-9]\d*)\s*$/i.exec(compatFold(value));
  return m ? m[1] : undefined;
}

/**
 * The OCLC number carried in 001 itself: "ocm34096165"-style values (records kept with their OCLC
 * control number), or a bare number when 003 says OCoLC. Undefined otherwise — a bare 001 is the
 * local system's own number.
 */
export function oclcNumberFrom001(f001: string, f003?: string): string | undefined {
  const v = f001.trim();
  const prefixed = /^(?:ocm|ocn|on)0*([1-9]\d*)$/i.exec(v);
  if (prefixed) return prefixed[1];
  if (f003?.trim().toUpperCase() === "OCOLC") return /^0*([1-9]\d*)$/.exec(v)?.[1];
  return undefined;
}
