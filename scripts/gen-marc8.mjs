#!/usr/bin/env node
// Turns the Library of Congress MARC-8 code tables (data/marc8/codetables.xml) into the compact table
// module the decoder loads (packages/shared/src/marc/marc8-tables.ts).
//
//   node scripts/gen-marc8.mjs           regenerate
//   node scripts/gen-marc8.mjs --check   exit 1 when the committed module differs from a fresh one
//
// The module holds plain strings rather than a 16,000-key object literal: tsc would otherwise infer
// (and re-check on every build) a type with thousands of members, and the decoder would pay for
// parsing all of it even when no record is MARC-8. Strings cost nothing to type-check and are turned
// into lookup arrays on first use.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { SaxesParser } from "saxes";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const sourcePath = join(root, "data/marc8/codetables.xml");
const targetPath = join(root, "packages/shared/src/marc/marc8-tables.ts");

/** @typedef {{ marc: string, ucs: string, combining: boolean }} Code */
/** @typedef {{ name: string, isoCode: string, codes: Code[] }} CharSet */

/** @returns {CharSet[]} */
function readTables(xml) {
  /** @type {CharSet[]} */
  const sets = [];
  /** @type {CharSet | undefined} */
  let set;
  /** @type {Partial<Code> | undefined} */
  let code;
  let text = "";
  const parser = new SaxesParser();
  parser.on("error", (err) => {
    throw err;
  });
  parser.on("opentag", (tag) => {
    text = "";
    if (tag.name === "characterSet") {
      set = { name: String(tag.attributes.name), isoCode: String(tag.attributes.ISOcode), codes: [] };
      sets.push(set);
    } else if (tag.name === "code") {
      code = { combining: false };
    }
  });
  parser.on("text", (t) => {
    text += t;
  });
  parser.on("closetag", (tag) => {
    if (code) {
      if (tag.name === "marc") code.marc = text.trim().toUpperCase();
      else if (tag.name === "ucs") code.ucs = text.trim().toUpperCase();
      else if (tag.name === "isCombining") code.combining = text.trim() === "true";
      else if (tag.name === "code") {
        if (!set || code.marc === undefined || code.ucs === undefined) throw new Error("code outside a set");
        set.codes.push(/** @type {Code} */ (code));
        code = undefined;
      }
    }
    text = "";
  });
  parser.write(xml).close();
  return sets;
}

// Characters that would be invisible, combine with their neighbour or upset a linter when written raw
// into the source are written as escapes; everything else (CJK ideographs, letters) stays readable.
const ESCAPE = /[\p{M}\p{Z}\p{C}\\]/u;

function literalChar(cp) {
  const ch = String.fromCodePoint(cp);
  if (!ESCAPE.test(ch)) return ch;
  if (ch === "\\") return "\\\\";
  return cp > 0xffff
    ? `\\u{${cp.toString(16).toUpperCase()}}`
    : `\\u${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

// Written the way Biome formats it, so that formatting the repository leaves the module unchanged.
function property(name, value) {
  const line = `    ${name}: ${value},`;
  return line.length <= 110 ? line : `    ${name}:\n      ${value},`;
}

// Biome's choice of quotes: double unless the text holds more double quotes than single ones.
function quote(s) {
  const doubles = s.split('"').length - 1;
  const singles = s.split("'").length - 1;
  return doubles > singles ? `'${s.replaceAll("'", "\\'")}'` : `"${s.replaceAll('"', '\\"')}"`;
}

function generate(sets) {
  const single = [];
  let c1 = "";
  /** @type {Map<string, string>} */
  const eaccRows = new Map();
  let eaccCount = 0;

  for (const set of sets) {
    if (set.isoCode === "31") {
      const sorted = [...set.codes].sort((a, b) => (a.marc < b.marc ? -1 : 1));
      for (const code of sorted) {
        if (code.marc.length !== 6 || code.ucs === "") throw new Error(`unexpected EACC entry ${code.marc}`);
        const bytes = [0, 2, 4].map((i) => Number.parseInt(code.marc.slice(i, i + 2), 16) & 0x7f);
        const row = bytes.slice(0, 2).map(literalChar).join("");
        eaccRows.set(
          row,
          (eaccRows.get(row) ?? "") + literalChar(bytes[2]) + literalChar(Number.parseInt(code.ucs, 16)),
        );
        eaccCount++;
      }
      continue;
    }
    if (set.isoCode.length !== 2) throw new Error(`unexpected ISO code ${set.isoCode}`);
    let pairs = "";
    let combining = "";
    for (const code of set.codes) {
      const byte = Number.parseInt(code.marc, 16);
      if (code.marc.length !== 2) throw new Error(`unexpected code ${code.marc} in ${set.name}`);
      // Controls are the same in every set (only ANSEL's table lists the C1 ones): kept apart.
      if (byte < 0x20 || byte === 0x20) continue;
      if (byte >= 0x80 && byte < 0xa0) {
        c1 += literalChar(byte & 0x7f) + literalChar(Number.parseInt(code.ucs, 16));
        continue;
      }
      // A set is used both as G0 (0x21–0x7E) and as G1 (0xA1–0xFE); the tables list whichever the LC
      // page shows, so positions are stored in their 7-bit form.
      const pos = literalChar(byte & 0x7f);
      // LC maps the second halves of the double diacritics (ligature, double tilde) to nothing: the
      // first half already produced the spanning mark. An empty value is written as U+0000.
      pairs += pos + literalChar(code.ucs === "" ? 0 : Number.parseInt(code.ucs, 16));
      if (code.combining) combining += pos;
    }
    const final = String.fromCharCode(Number.parseInt(set.isoCode, 16));
    single.push({ name: set.name, final, pairs, combining });
  }

  const setEntries = single
    .map(
      (s) => `  {
    name: ${quote(s.name)},
    final: ${quote(literalChar(s.final.charCodeAt(0)))},
${property("pairs", quote(s.pairs))}
    combining: ${quote(s.combining)},
  },`,
    )
    .join("\n");
  const rows = [...eaccRows].map(([row, pairs]) => `  ${quote(row + pairs)},`).join("\n");
  return `// Generated by scripts/gen-marc8.mjs from data/marc8/codetables.xml (Library of Congress MARC-8
// code tables, public domain; see data/marc8/SOURCES.md). Do not edit: run \`node scripts/gen-marc8.mjs\`.

/** A single-byte MARC-8 graphic set as the generator writes it. */
export interface Marc8SetTable {
  /** Name in the LC tables. */
  name: string;
  /** Final character of the escape sequence that designates the set. */
  final: string;
  /**
   * Pairs of characters: the 7-bit position (the byte with its high bit cleared) and the Unicode
   * character it decodes to; U+0000 means the position decodes to nothing.
   */
  pairs: string;
  /** Positions (7-bit) holding combining marks, which MARC-8 writes before their base character. */
  combining: string;
}

/** The single-byte graphic sets, in the order of the LC tables. */
export const MARC8_SETS: readonly Marc8SetTable[] = [
${setEntries}
];

/** C1 controls with a MARC-8 meaning (non-sort markers, joiners): pairs of (byte − 0x80, character). */
export const MARC8_C1: string = ${quote(c1)};

/** Final character of the escape sequence that designates EACC, the only multibyte set. */
export const EACC_FINAL: string = "1";

/** Number of EACC code points in the LC table. */
export const EACC_SIZE: number = ${eaccCount};

/**
 * East Asian Character Code (EACC, CJK), one string per row: the first two characters are the first
 * two bytes of the three-byte code (EACC bytes are printable ASCII, so they are written as such),
 * followed by pairs of (third byte, Unicode character).
 */
export const EACC_ROWS: readonly string[] = [
${rows}
];
`;
}

const generated = generate(readTables(readFileSync(sourcePath, "utf8")));
if (process.argv.includes("--check")) {
  let current = "";
  try {
    current = readFileSync(targetPath, "utf8");
  } catch {}
  if (current !== generated) {
    console.error(`${relative(root, targetPath)} is stale: run node scripts/gen-marc8.mjs`);
    process.exit(1);
  }
} else {
  writeFileSync(targetPath, generated);
  console.log(`wrote ${relative(root, targetPath)} (${generated.length} characters)`);
}
