import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CqlQuery } from "./ast.js";
import { CqlParseError } from "./errors.js";
import { parseCql } from "./parser.js";
import { cqlToString } from "./serialize.js";
import { LRS_CQL_PROFILE, validateCql } from "./validate.js";

function shape<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (key, v) => (key === "position" || key === "operatorPosition" ? undefined : v)),
  ) as T;
}

const DC = "info:srw/cql-context-set/1/dc-v1.1";
const check = (q: string, profile = LRS_CQL_PROFILE): CqlQuery => validateCql(parseCql(q), profile);
/** The validated query, written back as text: a compact way to state what normalisation did. */
const normalised = (q: string) => cqlToString(check(q));

function validationError(q: string, profile = LRS_CQL_PROFILE): CqlParseError {
  const ast = parseCql(q);
  try {
    validateCql(ast, profile);
  } catch (err) {
    expect(err).toBeInstanceOf(CqlParseError);
    return err as CqlParseError;
  }
  throw new Error(`expected ${JSON.stringify(q)} to be refused`);
}

describe("validateCql normalises to canonical names", () => {
  it.each([
    ["dinosaur", "cql.anywhere = dinosaur"],
    ['"complete dinosaur"', 'cql.anywhere = "complete dinosaur"'],
    ['title = "complete dinosaur"', 'dc.title = "complete dinosaur"'],
    ['title exact "the complete dinosaur"', 'dc.title == "the complete dinosaur"'],
    ["dinosaur or bird", "cql.anywhere = dinosaur or cql.anywhere = bird"],
    [
      'palomar assignment and "ice age"',
      'cql.anywhere all "palomar assignment" and cql.anywhere = "ice age"',
    ],
    ["dinosaur not reptile", "cql.anywhere = dinosaur not cql.anywhere = reptile"],
    [
      "(bird or dinosaur) and (feathers or scales)",
      "cql.anywhere = bird or cql.anywhere = dinosaur and (cql.anywhere = feathers or cql.anywhere = scales)",
    ],
    ['dc.title any "fish frog"', 'dc.title any "fish frog"'],
    ['dc.title all "fish frog"', 'dc.title all "fish frog"'],
    ['title any/relevant "fish frog"', 'dc.title any/relevant "fish frog"'],
    ['TITLE ANY/CQL.RELEVANT "fish frog"', 'dc.title any/relevant "fish frog"'],
    ["author = tolkien", "dc.creator = tolkien"],
    ["creator adj tolkien", "dc.creator adj tolkien"],
    ["subject = dinosaurs and publisher = dover", "dc.subject = dinosaurs and dc.publisher = dover"],
    ["isbn = 9780306406157 or issn = 0317-8471", "bath.isbn = 9780306406157 or bath.issn = 0317-8471"],
    ["id == rec123", "rec.identifier == rec123"],
    ["any = fish", "cql.anywhere = fish"],
    ["cql.serverChoice = fish", "cql.anywhere = fish"],
    ['year within "1990 2000"', 'dc.date within "1990 2000"'],
    ['dc.date cql.within "1990 2000"', 'dc.date within "1990 2000"'],
    ["date >= 1990-05 and year < 2000", "dc.date >= 1990-05 and dc.date < 2000"],
    ['dino* and title = "palomar assign*"', 'cql.anywhere = dino* and dc.title = "palomar assign*"'],
    [`> dc = "${DC}" dc.title = cat`, "dc.title = cat"],
    [`> lib = "${DC}" lib.title = cat`, "dc.title = cat"],
    [`> "${DC}" creator = cat`, "dc.creator = cat"],
    [`(> x = "${DC}" x.subject = cat) or dog`, "dc.subject = cat or cql.anywhere = dog"],
    [
      "dinosaur sortBy dc.date/sort.descending dc.title/sort.ascending",
      "cql.anywhere = dinosaur sortBy dc.date/descending dc.title/ascending",
    ],
    [
      "dinosaur sortBy author year/DESCENDING relevance",
      "cql.anywhere = dinosaur sortBy dc.creator dc.date/descending relevance",
    ],
  ])("%s becomes %s", (input, output) => {
    expect(normalised(input)).toBe(output);
  });

  it("returns the tree shape of the parser, positions kept, prefix assignments resolved away", () => {
    const ast = check(`> dc = "${DC}" author any/relevant "fish frog"`);
    expect(ast).toEqual({
      prefixes: [],
      root: {
        kind: "clause",
        index: "dc.creator",
        relation: { base: "any", modifiers: [{ name: "relevant", position: 54 }], position: 51 },
        term: {
          value: "fish frog",
          segments: [{ kind: "text", text: "fish frog" }],
          leftTruncated: false,
          rightTruncated: false,
          hasMask: false,
          hasAnchor: false,
          position: 64,
        },
        position: 44,
      },
    });
  });

  it("does not change the tree it is given", () => {
    const ast = parseCql("author = x and title any/relevant y sortBy title/sort.descending");
    const before = structuredClone(ast);
    check("author = x");
    validateCql(ast);
    expect(ast).toEqual(before);
  });
});

describe("validateCql knows the DC, Bath and CQL context sets by their old and new identifiers", () => {
  it.each([
    ['>dc="info:srw/cql-context-set/1/dc-v1.1" dc.title=fish', "dc.title = fish"],
    ['>dc="http://www.loc.gov/zing/cql/dc-indexes/v1.0/" dc.title=fish', "dc.title = fish"],
    ['>dc="http://www.loc.gov/zing/cql/context-sets/dc/v1.1/" dc.creator=smith', "dc.creator = smith"],
    [
      '>dc="http://purl.org/dc/elements/1.1/" (>dc="info:srw/cql-context-set/1/dc-v1.0" dc.title=x or fish)',
      "dc.title = x or cql.anywhere = fish",
    ],
    ['>bath="http://zing.z3950.org/cql/bath/2.0/" bath.isbn=0123456789', "bath.isbn = 0123456789"],
    ['>x="http://www.loc.gov/zing/cql/dc-indexes/v1.0/" x.title=fish', "dc.title = fish"],
    ['>cql="http://www.loc.gov/zing/cql/context-sets/cql/v1.1/" cql.anywhere=fish', "cql.anywhere = fish"],
  ])("%s", (q, expected) => {
    expect(normalised(q)).toBe(expected);
  });
});

describe("validateCql refuses what the profile does not support", () => {
  const cases: Array<[string, number, number, string]> = [
    ["lengthOfFemur > 2.4", 0, 16, "the index 'lengthOfFemur' is not supported"],
    ["bioMass >= 100", 0, 16, "the index 'bioMass' is not supported"],
    ["publicationYear < 1980", 0, 16, "the index 'publicationYear' is not supported"],
    ["dc.foo = cat", 0, 16, "the index 'dc.foo' is not supported"],
    ["title = x and colour = red", 14, 16, "the index 'colour' is not supported"],
    ["foo.title = cat", 0, 15, "the context set prefix 'foo' is not assigned"],
    ['> dc = "urn:other" dc.title = cat', 19, 15, "the context set 'urn:other' is not supported"],
    [`> "${DC}" author = cat`, 39, 16, "the index 'author' is not supported"],
    [`(> x = "${DC}" x.title = a) or x.title = b`, 60, 15, "the context set prefix 'x' is not assigned"],
    ['title within "1990 2000"', 6, 22, "the relation 'within' cannot be used with the index 'title'"],
    ["title < 1990", 6, 22, "the relation '<' cannot be used with the index 'title'"],
    ["date encloses 2003", 5, 19, "the relation 'encloses' is not supported"],
    ["title <> cat", 6, 19, "the relation '<>' is not supported"],
    ["title foo.any cat", 6, 15, "the context set prefix 'foo' is not assigned"],
    ["title any/stem cat", 9, 20, "the relation modifier 'stem' is not supported"],
    ["title =/cql.unit=word cat", 7, 20, "the relation modifier 'cql.unit=word' is not supported"],
    ["title any/relevant=1 cat", 9, 20, "the relation modifier 'relevant=1' is not supported"],
    ["ribs prox chevrons", 5, 39, "proximity ('prox') is not supported"],
    ["ribs prox/distance<=5 chevrons", 5, 39, "proximity ('prox') is not supported"],
    ["a and/rel.combine=sum b", 5, 46, "the boolean modifier 'rel.combine' is not supported"],
    ['title = ""', 8, 27, "an empty search term is not supported"],
    ['title = "  "', 8, 27, "an empty search term is not supported"],
    ["dino** and a", 0, 49, "masking inside a word is not supported in 'dino**'"],
    ["*saur", 0, 49, "masking at the start of a word (left truncation) is not supported in '*saur'"],
    ["di*no", 0, 49, "masking inside a word is not supported in 'di*no'"],
    [
      '"palomar *"',
      0,
      49,
      "masking at the start of a word (left truncation) is not supported in 'palomar *'",
    ],
    ["d?no", 0, 28, "single-character masking ('?') is not supported in 'd?no'"],
    ["^dino", 0, 31, "anchoring ('^') is not supported in '^dino'"],
    ["date within 1990", 12, 36, "'within' needs two dates, as in \"1990 2000\"; found '1990'"],
    ['date < "last year"', 7, 36, "'<' needs a date such as 1990 or 1990-05-17; found 'last year'"],
    ["date > 199*", 7, 36, "'>' needs a date such as 1990 or 1990-05-17; found '199*'"],
    [
      "dinosaur sortBy dc.subject",
      16,
      80,
      "cannot sort by 'dc.subject'; sort keys are dc.title, dc.creator, dc.date, relevance",
    ],
    ["dinosaur sortBy colour", 16, 16, "the index 'colour' is not supported"],
    [
      "dinosaur sortBy title/sort.respectCase",
      21,
      91,
      "the sort modifier 'sort.respectCase' is not supported",
    ],
    [
      "dinosaur sortBy title/sort.missingOmit",
      21,
      92,
      "the sort modifier 'sort.missingOmit' is not supported",
    ],
    ["dinosaur sortBy title/sort.locale=fr", 21, 80, "the sort modifier 'sort.locale=fr' is not supported"],
    ["dinosaur sortBy title/dc.descending", 21, 80, "the sort modifier 'dc.descending' is not supported"],
    [
      "dinosaur sortBy title/ascending/descending",
      16,
      80,
      "the sort key 'title' is both ascending and descending",
    ],
  ];

  it.each(cases)("%j is refused at %i with diagnostic %i", (q, position, diagnostic, reason) => {
    const err = validationError(q);
    expect({ position: err.position, diagnostic: err.diagnostic, reason: err.reason }).toEqual({
      position,
      diagnostic,
      reason,
    });
    expect(err.message).toBe(`Unsupported CQL at position ${position}: ${reason}`);
  });

  it("gives the SRU details field: the index, the relation, the operator", () => {
    expect(validationError("colour = red").details).toBe("colour");
    expect(validationError("colour = red").diagnosticUri).toBe("info:srw/diagnostic/1/16");
    expect(validationError("title encloses x").details).toBe("encloses");
    expect(validationError("title within x").details).toBe("title within");
    expect(validationError("a prox b").details).toBe("prox");
  });

  it("reports the leftmost problem first", () => {
    expect(validationError("colour = red prox size = big").position).toBe(0);
    expect(validationError("title = red prox size = big").position).toBe(12);
    expect(validationError("(a or b) and (c or d*e)").position).toBe(19);
  });

  it("refuses any sortBy when the profile does not sort, and other booleans when it lacks them", () => {
    const noSort = { ...LRS_CQL_PROFILE, sortKeys: [] };
    expect(validationError("dinosaur sortBy title", noSort)).toMatchObject({ diagnostic: 80, position: 9 });
    const andOnly = { ...LRS_CQL_PROFILE, booleans: ["and"] as const };
    expect(validationError("a and b or c", andOnly)).toMatchObject({
      diagnostic: 37,
      position: 8,
      details: "or",
    });
    const withProx = { ...LRS_CQL_PROFILE, booleans: ["and", "or", "not", "prox"] as const };
    expect(cqlToString(check("a prox b", withProx))).toBe("cql.anywhere = a prox cql.anywhere = b");
  });

  it("validates a very long chain of booleans without running out of stack", () => {
    const long = Array.from({ length: 50_000 }, (_, i) => `t${i}`).join(" or ");
    const ast = validateCql(parseCql(long, { maxLength: Number.POSITIVE_INFINITY }));
    expect(ast.root).toMatchObject({
      kind: "boolean",
      right: { index: "cql.anywhere", term: { value: "t49999" } },
    });
  });
});

// Queries built from the profile's own vocabulary, with a sprinkling of what it refuses.
const indexName = fc.constantFrom(
  "title",
  "author",
  "creator",
  "subject",
  "publisher",
  "date",
  "year",
  "isbn",
  "issn",
  "id",
  "any",
  "dc.title",
  "DC.Creator",
  "bath.isbn",
  "rec.identifier",
  "cql.serverChoice",
  "cql.anywhere",
  "x.title",
  "colour",
);
const relation = fc.constantFrom(
  "=",
  "==",
  "any",
  "all",
  "adj",
  "exact",
  "cql.any",
  "within",
  "<",
  ">=",
  "encloses",
);
const termText = fc.constantFrom(
  "fish",
  '"ice age"',
  "dino*",
  "1990",
  '"1990 2000"',
  "1990-05-17",
  '""',
  "*saur",
);
const clauseText = fc.oneof(
  termText,
  fc
    .tuple(indexName, relation, fc.constantFrom("", "/relevant", "/cql.ignoreCase", "/stem"), termText)
    .map(([i, r, m, t]) => `${i} ${r}${m} ${t}`),
);
const queryText: fc.Arbitrary<string> = fc.letrec<{ q: string }>((tie) => ({
  q: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    clauseText,
    fc
      .tuple(tie("q"), fc.constantFrom("and", "OR", "not", "prox"), tie("q"))
      .map(([l, op, r]) => `${l} ${op} ${r}`),
    tie("q").map((q) => `(${q})`),
    tie("q").map((q) => `(> x = "${DC}" ${q})`),
  ),
})).q;
const fullQuery = fc
  .tuple(
    fc.constantFrom("", `> dc = "${DC}" `, '> dc = "urn:other" ', `> "${DC}" `),
    queryText,
    fc.constantFrom("", " sortBy title", " sortBy year/sort.descending relevance", " sortBy subject"),
  )
  .map(([p, q, s]) => p + q + s);

describe("validateCql on generated queries", () => {
  it("returns a tree or throws a CqlParseError inside the query", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fullQuery, (q) => {
        const ast = parseCql(q);
        try {
          validateCql(ast);
          accepted++;
        } catch (err) {
          if (!(err instanceof CqlParseError)) throw err;
          expect(err.position).toBeGreaterThanOrEqual(0);
          expect(err.position).toBeLessThanOrEqual(q.length);
        }
      }),
      { numRuns: 3000 },
    );
    expect(accepted).toBeGreaterThan(100);
  });

  it("is idempotent: a validated query, written and parsed again, validates to itself", () => {
    fc.assert(
      fc.property(fullQuery, (q) => {
        let ast: CqlQuery;
        try {
          ast = validateCql(parseCql(q));
        } catch {
          return;
        }
        const again = validateCql(parseCql(cqlToString(ast)));
        expect(shape(again)).toEqual(shape(ast));
      }),
      { numRuns: 3000 },
    );
  });
});
