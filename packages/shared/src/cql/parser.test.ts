import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CqlModifier, CqlNode, CqlQuery, CqlTermSegment } from "./ast.js";
import { CqlParseError } from "./errors.js";
import { createCqlTerm } from "./lexer.js";
import { parseCql } from "./parser.js";
import { cqlToString } from "./serialize.js";

/** Drops positions so that trees can be compared by shape. */
function shape<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (key, v) => (key === "position" || key === "operatorPosition" ? undefined : v)),
  ) as T;
}

function term(value: string) {
  return createCqlTerm(value === "" ? [] : [{ kind: "text", text: value }], 0);
}

function clause(index: string, base: string, value: string, modifiers: Partial<CqlModifier>[] = []): CqlNode {
  return {
    kind: "clause",
    index,
    relation: { base, modifiers: modifiers as CqlModifier[], position: 0 },
    term: term(value),
    position: 0,
  };
}

function bare(value: string): CqlNode {
  return clause("cql.serverChoice", "=", value);
}

/** Bare words typed one after another: all of them. */
function allOf(value: string): CqlNode {
  return clause("cql.serverChoice", "all", value);
}

function bool(
  op: "and" | "or" | "not" | "prox",
  left: CqlNode,
  right: CqlNode,
  modifiers: Partial<CqlModifier>[] = [],
) {
  return { kind: "boolean", op, modifiers, left, right, position: 0, operatorPosition: 0 } as CqlNode;
}

function query(root: CqlNode, extra: Partial<CqlQuery> = {}): CqlQuery {
  return { prefixes: [], root, ...extra };
}

function parseError(q: string, opts?: Parameters<typeof parseCql>[1]): CqlParseError {
  try {
    parseCql(q, opts);
  } catch (err) {
    expect(err).toBeInstanceOf(CqlParseError);
    return err as CqlParseError;
  }
  throw new Error(`expected ${JSON.stringify(q)} to fail`);
}

describe("parseCql on the examples of the CQL specification and tutorial", () => {
  const examples: Array<[string, CqlQuery]> = [
    ["dinosaur", query(bare("dinosaur"))],
    ['"complete dinosaur"', query(bare("complete dinosaur"))],
    ['title = "complete dinosaur"', query(clause("title", "=", "complete dinosaur"))],
    ['title exact "the complete dinosaur"', query(clause("title", "exact", "the complete dinosaur"))],
    ["dinosaur or bird", query(bool("or", bare("dinosaur"), bare("bird")))],
    // Consecutive unquoted words make one term, as cql-java and yaz read it.
    ['palomar assignment and "ice age"', query(bool("and", allOf("palomar assignment"), bare("ice age")))],
    ["dinosaur not reptile", query(bool("not", bare("dinosaur"), bare("reptile")))],
    // Equal precedence, grouped to the left: (dinosaur and bird) or dinobird.
    [
      "dinosaur and bird or dinobird",
      query(bool("or", bool("and", bare("dinosaur"), bare("bird")), bare("dinobird"))),
    ],
    [
      "(bird or dinosaur) and (feathers or scales)",
      query(
        bool("and", bool("or", bare("bird"), bare("dinosaur")), bool("or", bare("feathers"), bare("scales"))),
      ),
    ],
    [
      '"feathered dinosaur" and (yixian or jehol)',
      query(bool("and", bare("feathered dinosaur"), bool("or", bare("yixian"), bare("jehol")))),
    ],
    ["lengthOfFemur > 2.4", query(clause("lengthOfFemur", ">", "2.4"))],
    ["bioMass >= 100", query(clause("bioMass", ">=", "100"))],
    ["publicationYear < 1980", query(clause("publicationYear", "<", "1980"))],
    ['dc.title any "fish frog"', query(clause("dc.title", "any", "fish frog"))],
    ['dc.title all "fish frog"', query(clause("dc.title", "all", "fish frog"))],
    ['title any/relevant "fish frog"', query(clause("title", "any", "fish frog", [{ name: "relevant" }]))],
    ['subject any/rel.lr "fish frog"', query(clause("subject", "any", "fish frog", [{ name: "rel.lr" }]))],
    ['date within "2002 2005"', query(clause("date", "within", "2002 2005"))],
    ["dateRange encloses 2003", query(clause("dateRange", "encloses", "2003"))],
    ["dc.title cql.within cat", query(clause("dc.title", "cql.within", "cat"))],
    ["title <> cat", query(clause("title", "<>", "cat"))],
    ["title == cat", query(clause("title", "==", "cat"))],
    ["title <= cat", query(clause("title", "<=", "cat"))],
    ["title adj cat", query(clause("title", "adj", "cat"))],
    [
      "title =/cql.unit=word cat",
      query(clause("title", "=", "cat", [{ name: "cql.unit", comparison: "=", value: "word" }])),
    ],
    [
      "dc.title any fish or dc.creator any sanderson",
      query(bool("or", clause("dc.title", "any", "fish"), clause("dc.creator", "any", "sanderson"))),
    ],
    [
      "ribs prox/distance<=5 chevrons",
      query(
        bool("prox", bare("ribs"), bare("chevrons"), [{ name: "distance", comparison: "<=", value: "5" }]),
      ),
    ],
    [
      "ribs prox/unit=sentence chevrons",
      query(
        bool("prox", bare("ribs"), bare("chevrons"), [{ name: "unit", comparison: "=", value: "sentence" }]),
      ),
    ],
    [
      "ribs prox/distance>0/unit=paragraph chevrons",
      query(
        bool("prox", bare("ribs"), bare("chevrons"), [
          { name: "distance", comparison: ">", value: "0" },
          { name: "unit", comparison: "=", value: "paragraph" },
        ]),
      ),
    ],
    [
      '> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title = cat',
      query(clause("dc.title", "=", "cat"), {
        prefixes: [{ prefix: "dc", uri: "info:srw/cql-context-set/1/dc-v1.1", position: 0 }],
      }),
    ],
    [
      '> "info:srw/cql-context-set/1/dc-v1.1" title = cat',
      query(clause("title", "=", "cat"), {
        prefixes: [{ uri: "info:srw/cql-context-set/1/dc-v1.1", position: 0 }],
      }),
    ],
    [
      "dinosaur sortBy dc.date/sort.descending dc.title/sort.ascending",
      query(bare("dinosaur"), {
        sortBy: {
          position: 0,
          keys: [
            { index: "dc.date", modifiers: [{ name: "sort.descending", position: 0 }], position: 0 },
            { index: "dc.title", modifiers: [{ name: "sort.ascending", position: 0 }], position: 0 },
          ],
        },
      }),
    ],
    [
      "dc.title any fish sortBy dc.date/sort.ascending",
      query(clause("dc.title", "any", "fish"), {
        sortBy: {
          position: 0,
          keys: [{ index: "dc.date", modifiers: [{ name: "sort.ascending", position: 0 }], position: 0 }],
        },
      }),
    ],
    [
      "dc.creator=kernighan sortby dc.date/sort.missingValue=1970",
      query(clause("dc.creator", "=", "kernighan"), {
        sortBy: {
          position: 0,
          keys: [
            {
              index: "dc.date",
              modifiers: [{ name: "sort.missingValue", comparison: "=", value: "1970", position: 0 }],
              position: 0,
            },
          ],
        },
      }),
    ],
    ['""', query(bare(""))],
    ["cql.serverChoice = fish", query(bare("fish"))],
  ];

  it.each(examples)("%s", (text, expected) => {
    expect(shape(parseCql(text))).toEqual(shape(expected));
  });

  it("reads keywords and named relations in any letter case", () => {
    expect(shape(parseCql("Dinosaur AND bird Or dinobird NOT fish"))).toEqual(
      shape(
        query(
          bool(
            "not",
            bool("or", bool("and", bare("Dinosaur"), bare("bird")), bare("dinobird")),
            bare("fish"),
          ),
        ),
      ),
    );
    expect(shape(parseCql("title ANY fish SORTBY title")).root).toEqual(
      shape(clause("title", "any", "fish")),
    );
    expect(parseCql("a PROX b").root).toMatchObject({ kind: "boolean", op: "prox" });
  });

  it("groups booleans to the left whatever the operators, and parentheses override", () => {
    expect(shape(parseCql("a or b and c").root)).toEqual(
      shape(bool("and", bool("or", bare("a"), bare("b")), bare("c"))),
    );
    expect(shape(parseCql("a and b or c").root)).toEqual(
      shape(bool("or", bool("and", bare("a"), bare("b")), bare("c"))),
    );
    expect(shape(parseCql("a not b and c").root)).toEqual(
      shape(bool("and", bool("not", bare("a"), bare("b")), bare("c"))),
    );
    expect(shape(parseCql("a and (b or c)").root)).toEqual(
      shape(bool("and", bare("a"), bool("or", bare("b"), bare("c")))),
    );
    expect(shape(parseCql("((a))").root)).toEqual(shape(bare("a")));
  });

  it("keeps prefix assignments that open a parenthesised part on that part", () => {
    const ast = parseCql('(> x = "urn:x" x.title = cat) or dog');
    expect(shape(ast.root)).toEqual(
      shape(
        bool(
          "or",
          {
            kind: "prefix",
            assignments: [{ prefix: "x", uri: "urn:x", position: 0 }],
            query: clause("x.title", "=", "cat"),
            position: 0,
          },
          bare("dog"),
        ),
      ),
    );
    expect(ast.root).toMatchObject({ left: { position: 1 } });
  });

  it("takes a keyword after a relation as the term, since nothing else can stand there", () => {
    expect(shape(parseCql("title = and").root)).toEqual(shape(clause("title", "=", "and")));
  });

  it("records the start of every node", () => {
    const ast = parseCql("(bird or dinosaur) and (feathers or scales)");
    expect(ast.root).toMatchObject({
      position: 0,
      operatorPosition: 19,
      left: { position: 1, operatorPosition: 6, left: { position: 1 }, right: { position: 9 } },
      right: { position: 24, operatorPosition: 33, left: { position: 24 }, right: { position: 36 } },
    });
    const clauseAst = parseCql('title any/relevant "fish frog"');
    expect(clauseAst.root).toMatchObject({
      position: 0,
      relation: { position: 6, modifiers: [{ position: 9 }] },
      term: { position: 19 },
    });
    const sorted = parseCql('> dc = "urn:dc" x sortBy dc.date/sort.descending');
    expect(sorted.prefixes[0]?.position).toBe(0);
    expect(sorted.root.position).toBe(16);
    expect(sorted.sortBy).toMatchObject({
      position: 18,
      keys: [{ position: 25, modifiers: [{ position: 32 }] }],
    });
  });
});

describe("terms", () => {
  const segments = (q: string): CqlTermSegment[] => {
    const root = parseCql(q).root;
    if (root.kind !== "clause") throw new Error("not a clause");
    return root.term.segments;
  };

  it("removes quotes and resolves backslash escapes", () => {
    const root = parseCql('title = "a \\"quoted\\" back\\\\slash"').root;
    expect(root).toMatchObject({ term: { value: 'a "quoted" back\\slash', hasMask: false } });
  });

  it("records masking and anchoring, and tells an escaped asterisk from a masking one", () => {
    expect(parseCql("dino*").root).toMatchObject({
      term: { value: "dino*", rightTruncated: true, leftTruncated: false, hasMask: true },
    });
    expect(parseCql("*saur").root).toMatchObject({
      term: { value: "*saur", rightTruncated: false, leftTruncated: true, hasMask: true },
    });
    expect(parseCql('"d?no"').root).toMatchObject({ term: { hasMask: true, rightTruncated: false } });
    expect(parseCql("^dino").root).toMatchObject({ term: { hasAnchor: true, hasMask: false } });
    expect(parseCql("dino\\*").root).toMatchObject({
      term: { value: "dino*", rightTruncated: false, hasMask: false },
    });
    expect(segments("dino\\*")).toEqual([{ kind: "text", text: "dino*" }]);
    expect(segments('"^a\\*b?c*"')).toEqual([
      { kind: "anchor" },
      { kind: "text", text: "a*b" },
      { kind: "mask", char: "?" },
      { kind: "text", text: "c" },
      { kind: "mask", char: "*" },
    ]);
  });

  it("builds terms by hand the way the lexer does: adjacent text merged, empty text dropped", () => {
    const built = createCqlTerm(
      [
        { kind: "text", text: "" },
        { kind: "text", text: "di" },
        { kind: "text", text: "no" },
        { kind: "mask", char: "*" },
      ],
      7,
    );
    expect(built).toEqual({
      value: "dino*",
      segments: [
        { kind: "text", text: "dino" },
        { kind: "mask", char: "*" },
      ],
      leftTruncated: false,
      rightTruncated: true,
      hasMask: true,
      hasAnchor: false,
      position: 7,
    });
    expect(createCqlTerm([], 0)).toMatchObject({
      value: "",
      segments: [],
      hasMask: false,
      rightTruncated: false,
    });
  });

  it("joins unquoted words with one space and keeps quoted whitespace as written", () => {
    expect(parseCql("palomar \t assignment").root).toMatchObject({ term: { value: "palomar assignment" } });
    expect(parseCql('"ice \t age"').root).toMatchObject({ term: { value: "ice \t age" } });
  });
});

describe("the CQL 1.2 grammar: keywords are terms where only a term can stand", () => {
  it.each<[string, CqlNode]>([
    ["prox", bare("prox")],
    ["and", bare("and")],
    ["fish and and", bool("and", bare("fish"), bare("and"))],
    ["fish or sortby", bool("or", bare("fish"), bare("sortby"))],
    ["fish not prox", bool("not", bare("fish"), bare("prox"))],
    ["(or)", bare("or")],
    ["and = x", clause("and", "=", "x")],
  ])("%s", (q, root) => {
    expect(shape(parseCql(q).root)).toEqual(shape(root));
  });

  it("sortby sortby sortby: the term sortby, sorted by the index sortby", () => {
    const q = parseCql("sortby sortby sortby");
    expect(shape(q.root)).toEqual(shape(bare("sortby")));
    expect(q.sortBy?.keys.map((k) => k.index)).toEqual(["sortby"]);
  });

  it("a prefix assignment opens a parenthesised part, in the old and the new identifiers", () => {
    const q = parseCql(
      '>dc="http://www.loc.gov/zing/cql/dc-indexes/v1.0/" (>dc="info:srw/cql-context-set/1/dc-v1.1" title=x or fish)',
    );
    expect(q.prefixes).toEqual([
      { prefix: "dc", uri: "http://www.loc.gov/zing/cql/dc-indexes/v1.0/", position: 0 },
    ]);
    expect(q.root).toMatchObject({
      kind: "prefix",
      assignments: [{ prefix: "dc", uri: "info:srw/cql-context-set/1/dc-v1.1" }],
    });
  });

  it("bare words one after another are all of them; quoted, one phrase", () => {
    expect(shape(parseCql("history music").root)).toEqual(shape(allOf("history music")));
    expect(shape(parseCql('"history music"').root)).toEqual(shape(bare("history music")));
    expect(shape(parseCql("title = history music").root)).toEqual(
      shape(clause("title", "=", "history music")),
    );
  });
});

describe("parse errors", () => {
  const cases: Array<[string, number, number, string]> = [
    ["dinosaur and", 12, 10, "expected a search term after 'and'"],
    // `or` after a boolean is the term "or" (CQL 1.2); what cannot follow it is another word.
    [
      "dinosaur and or bird",
      16,
      10,
      "expected 'and', 'or', 'not', 'prox', 'sortBy' or the end of the query, found 'bird'",
    ],
    ["dinosaur and )", 13, 10, "expected a search term after 'and', found ')'"],
    ["", 0, 10, "the query is empty"],
    ["   ", 3, 10, "the query is empty"],
    [
      "and dinosaur",
      4,
      10,
      "expected 'and', 'or', 'not', 'prox', 'sortBy' or the end of the query, found 'dinosaur'",
    ],
    ["title =", 7, 10, "expected a search term after relation '='"],
    ["title any ) ", 10, 10, "expected a search term after relation 'any', found ')'"],
    ["(dinosaur or bird", 0, 13, "unbalanced parentheses: this '(' is never closed"],
    ["a and ((b or c)", 6, 13, "unbalanced parentheses: this '(' is never closed"],
    ["dinosaur)", 8, 13, "unbalanced ')': there is no '(' to close"],
    [")", 0, 13, "unbalanced ')': there is no '(' to close"],
    ["()", 1, 13, "empty parentheses"],
    ['title = "complete dinosaur', 8, 14, "unterminated quoted string (no closing '\"')"],
    ['title = "ends in a backslash\\', 8, 14, "unterminated quoted string (no closing '\"')"],
    ["title = fish\\", 12, 10, "a backslash at the end of the query escapes nothing"],
    [
      'dinosaur "ice age"',
      9,
      10,
      "expected 'and', 'or', 'not', 'prox', 'sortBy' or the end of the query, found '\"ice age\"'",
    ],
    [
      "palomar assignment = x",
      19,
      10,
      "expected a boolean operator, found relation '=': an index is a single word, so quote a term of several words",
    ],
    ["title any/ = fish", 11, 10, "expected a modifier name after '/', found '='"],
    // `fish` is the modifier's value, so the term is missing.
    ["title any/x= fish", 17, 10, "expected a search term after relation 'any'"],
    ["title any/x= ) fish", 13, 10, "expected a value after 'x=', found ')'"],
    ["dinosaur sortBy", 15, 10, "expected a sort key after 'sortBy'"],
    ["dinosaur sortBy dc.title (", 25, 10, "expected a sort key, found '('"],
    ["(a sortBy b)", 3, 10, "'sortBy' may only follow the whole query, not a parenthesised part"],
    ['a and > dc = "x" b', 6, 10, "a prefix assignment may only open the query or a parenthesised part"],
    ["> = x", 2, 10, "expected a context set name or identifier after '>', found '='"],
    ["> dc = ( x", 7, 10, "expected a context set identifier after 'dc =', found '('"],
    ['> dc = "urn:x"', 14, 10, "expected a search term after the prefix assignment"],
    ['(a or "b" c)', 10, 10, "expected a boolean operator or ')', found 'c'"],
  ];

  it.each(cases)("%j fails at %i with diagnostic %i", (q, position, diagnostic, reason) => {
    const err = parseError(q);
    expect(err.name).toBe("CqlParseError");
    expect({ position: err.position, diagnostic: err.diagnostic, reason: err.reason }).toEqual({
      position,
      diagnostic,
      reason,
    });
    expect(err.message).toBe(`CQL syntax error at position ${position}: ${reason}`);
  });

  it("gives SRU details for parentheses and quotes: the offset", () => {
    expect(parseError("(a").details).toBe("0");
    expect(parseError('a = "b').details).toBe("4");
    expect(parseError("(a").diagnosticUri).toBe("info:srw/diagnostic/1/13");
  });

  it("refuses a query over the length limit, naming the limit", () => {
    const err = parseError("a".repeat(4097));
    expect(err).toMatchObject({ diagnostic: 12, position: 4096, details: "4096" });
    expect(err.message).toBe(
      "CQL syntax error at position 4096: the query is 4097 characters long; the limit is 4096",
    );
    expect(() => parseCql("a".repeat(4096))).not.toThrow();
    expect(parseError("dinosaur and bird", { maxLength: 10 })).toMatchObject({
      diagnostic: 12,
      position: 10,
    });
    expect(() => parseCql("a".repeat(5000), { maxLength: 5000 })).not.toThrow();
  });

  it("refuses parentheses nested deeper than the limit before the stack can suffer", () => {
    const nested = (depth: number) => `${"(".repeat(depth)}a${")".repeat(depth)}`;
    expect(shape(parseCql(nested(64)).root)).toEqual(shape(bare("a")));
    expect(parseError(nested(65))).toMatchObject({ diagnostic: 13, position: 64, details: "64" });
    expect(parseError(nested(65)).reason).toBe("parentheses are nested deeper than 64 levels");
    expect(parseError("((a))", { maxDepth: 1 })).toMatchObject({ diagnostic: 13, position: 1 });
    const hostile = "(".repeat(200_000);
    expect(parseError(hostile, { maxLength: Number.POSITIVE_INFINITY })).toMatchObject({
      diagnostic: 13,
      position: 64,
    });
  });

  it("parses a long chain of booleans without recursion", () => {
    const long = Array.from({ length: 20_000 }, (_, i) => `t${i}`).join(" or ");
    const ast = parseCql(long, { maxLength: Number.POSITIVE_INFINITY });
    expect(ast.root).toMatchObject({ kind: "boolean", op: "or", right: { term: { value: "t19999" } } });
    expect(cqlToString(ast)).toBe(long);
  });
});

// Tokens from every corner of the grammar, valid and broken, so that random sequences of them reach
// deep into the parser instead of failing at the first character.
const TOKENS = [
  "(",
  ")",
  "and",
  "OR",
  "not",
  "prox",
  "sortBy",
  "=",
  "==",
  "<>",
  "<",
  ">",
  "<=",
  ">=",
  "/",
  "any",
  "all",
  "adj",
  "within",
  "encloses",
  "exact",
  "cql.within",
  "dc.title",
  "title",
  "author",
  "fish",
  "dino*",
  "*saur",
  "d?no",
  "^a",
  "2.4",
  '"ice age"',
  '""',
  '"a\\"b"',
  '"unterminated',
  "\\",
  "\\*",
  "/relevant",
  "/sort.descending",
  "/distance<=5",
  "/unit=word",
  ">",
  "dc",
  '"info:srw/cql-context-set/1/dc-v1.1"',
  "é漢字",
];

/** Queries made of grammar tokens, sometimes glued together without spaces. */
const tokenSoup = fc
  .tuple(fc.array(fc.constantFrom(...TOKENS), { maxLength: 14 }), fc.constantFrom(" ", "", "  "))
  .map(([tokens, glue]) => tokens.join(glue));

/** Queries that follow the grammar's shape more closely, so that many of them parse. */
const clauseText = fc
  .tuple(
    fc.constantFrom("", "title = ", "dc.title any/relevant ", "year within ", "x <> ", "dc.date>="),
    fc.constantFrom("fish", '"ice age"', "dino*", '"a\\*b"', "and", "1990"),
  )
  .map(([head, tail]) => head + tail);
const shapedQuery: fc.Arbitrary<string> = fc.letrec<{ q: string }>((tie) => ({
  q: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    clauseText,
    fc
      .tuple(tie("q"), fc.constantFrom(" and ", " or ", " not ", " prox/unit=word ", " AND/x "), tie("q"))
      .map(([l, op, r]) => `${l}${op}${r}`),
    tie("q").map((q) => `(${q})`),
    tie("q").map((q) => `(> p = "urn:p" ${q})`),
  ),
})).q;
const grammarish = fc.oneof(
  tokenSoup,
  fc
    .tuple(shapedQuery, fc.constantFrom("", " sortBy title", " sortBy dc.date/sort.descending title"))
    .map(([q, s]) => q + s),
  // One token spliced into a well-formed query breaks it somewhere in the middle.
  fc
    .tuple(shapedQuery, fc.constantFrom(...TOKENS), fc.nat())
    .map(([q, t, at]) => q.slice(0, at % (q.length + 1)) + t + q.slice(at % (q.length + 1))),
);

function parsesOrFailsCleanly(q: string): CqlQuery | undefined {
  try {
    return parseCql(q);
  } catch (err) {
    if (!(err instanceof CqlParseError)) throw err;
    expect(err.position).toBeGreaterThanOrEqual(0);
    expect(err.position).toBeLessThanOrEqual(q.length);
    expect(Number.isInteger(err.position)).toBe(true);
    expect(err.message).toBe(`CQL syntax error at position ${err.position}: ${err.reason}`);
    return undefined;
  }
}

describe("parseCql on arbitrary input", () => {
  it("returns a tree or throws a CqlParseError inside the query, for any string", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.string({ unit: "grapheme-ascii" })),
        (q) => {
          parsesOrFailsCleanly(q);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it("returns a tree or throws a CqlParseError inside the query, for strings of CQL tokens", () => {
    fc.assert(
      fc.property(grammarish, (q) => {
        parsesOrFailsCleanly(q);
      }),
      { numRuns: 5000 },
    );
  });

  it("exercises the parser deeply: a good share of the generated queries parse", () => {
    const samples = fc.sample(grammarish, { numRuns: 2000, seed: 42 });
    const parsed = samples.filter((q) => parsesOrFailsCleanly(q) !== undefined);
    expect(parsed.length).toBeGreaterThan(samples.length / 4);
    expect(parsed.some((q) => q.includes("(("))).toBe(true);
  });

  it("writes every query it parses as text that parses to the same tree", () => {
    fc.assert(
      fc.property(grammarish, (q) => {
        const ast = parsesOrFailsCleanly(q);
        if (ast === undefined) return;
        const text = cqlToString(ast);
        expect(shape(parseCql(text, { maxLength: Number.POSITIVE_INFINITY }))).toEqual(shape(ast));
        expect(cqlToString(parseCql(text, { maxLength: Number.POSITIVE_INFINITY }))).toBe(text);
      }),
      { numRuns: 3000 },
    );
  });
});
