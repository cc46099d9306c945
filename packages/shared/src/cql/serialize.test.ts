import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  CqlBooleanOp,
  CqlComparison,
  CqlModifier,
  CqlNode,
  CqlPrefixAssignment,
  CqlQuery,
  CqlSortSpec,
  CqlTermSegment,
} from "./ast.js";
import { createCqlTerm } from "./lexer.js";
import { parseCql } from "./parser.js";
import { cqlToString } from "./serialize.js";

function shape<T>(value: T): T {
  return JSON.parse(
    JSON.stringify(value, (key, v) => (key === "position" || key === "operatorPosition" ? undefined : v)),
  ) as T;
}

const roundTrip = (q: string) => cqlToString(parseCql(q));

describe("cqlToString", () => {
  it.each([
    ["dinosaur", "dinosaur"],
    ['"complete dinosaur"', '"complete dinosaur"'],
    ['"fish"', "fish"],
    ['title any/relevant "fish frog"', 'title any/relevant "fish frog"'],
    ["dinosaur and bird or dinobird", "dinosaur and bird or dinobird"],
    // Booleans group to the left, so these parentheses say nothing and go.
    ["(dinosaur and bird) or dinobird", "dinosaur and bird or dinobird"],
    ["dinosaur and (bird or dinobird)", "dinosaur and (bird or dinobird)"],
    // Bare words are all of them (parser.ts), which the serializer writes out.
    ["palomar   assignment", 'cql.serverChoice all "palomar assignment"'],
    ["cql.serverChoice = fish", "fish"],
    ["TITLE ANY fish AND bird", "TITLE any fish and bird"],
    ["ribs prox/distance<=5/unit=word chevrons", "ribs prox/distance<=5/unit=word chevrons"],
    [
      '> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title = cat',
      '> dc = "info:srw/cql-context-set/1/dc-v1.1" dc.title = cat',
    ],
    ['>"urn:x" a', '> "urn:x" a'],
    ['(> x = "urn:x" x.title = cat) or dog', '(> x = "urn:x" x.title = cat) or dog'],
    [
      "dinosaur sortBy dc.date/sort.descending dc.title/sort.ascending",
      "dinosaur sortBy dc.date/sort.descending dc.title/sort.ascending",
    ],
    ['title =/locale="en us" x', 'title =/locale="en us" x'],
    ["dino* and ^a?b", "dino* and ^a?b"],
    ['dino\\* and "a\\"b"', '"dino\\*" and "a\\"b"'],
    ['title = "and"', 'title = "and"'],
    ["title = and", 'title = "and"'],
    ['"any"', '"any"'],
    ['"" and x', '"" and x'],
    ['"a b" = x', '"a b" = x'],
  ])("writes %s as %s", (input, output) => {
    expect(roundTrip(input)).toBe(output);
    expect(shape(parseCql(output))).toEqual(shape(parseCql(input)));
  });

  it("refuses trees that no CQL text can express", () => {
    const base = parseCql("title = x");
    const withRelation = (relation: string): CqlQuery => ({
      ...base,
      root: {
        ...(base.root as Extract<CqlNode, { kind: "clause" }>),
        relation: { base: relation, modifiers: [], position: 0 },
      },
    });
    expect(() => cqlToString(withRelation("contains"))).toThrow(RangeError);
    expect(() => cqlToString(withRelation("ANY"))).toThrow(RangeError);
    expect(() =>
      cqlToString({
        ...base,
        root: {
          ...(base.root as Extract<CqlNode, { kind: "clause" }>),
          relation: { base: "=", modifiers: [{ name: "", position: 0 }], position: 0 },
        },
      }),
    ).toThrow(RangeError);
  });

  it("writes a very long chain of booleans without running out of stack", () => {
    const long = Array.from({ length: 50_000 }, (_, i) => `t${i}`).join(" and ");
    expect(cqlToString(parseCql(long, { maxLength: Number.POSITIVE_INFINITY }))).toBe(long);
  });
});

// Characters that stress quoting and escaping, with ordinary ones so words also come out plain.
const tricky = fc.constantFrom(
  "a",
  "b",
  "Z",
  "0",
  ".",
  "-",
  "é",
  "漢",
  " ",
  "\t",
  "\n",
  '"',
  "\\",
  "*",
  "?",
  "^",
  "(",
  ")",
  "=",
  "<",
  ">",
  "/",
);
const text = fc.oneof(
  fc.string({ unit: tricky, minLength: 1, maxLength: 6 }),
  fc.string({ minLength: 1, maxLength: 4 }),
  fc.string({ unit: "binary", minLength: 1, maxLength: 3 }),
  fc.constantFrom("and", "OR", "sortBy", "any", "within", "dc.title", "cql.serverChoice"),
);
const segment: fc.Arbitrary<CqlTermSegment> = fc.oneof(
  text.map((t) => ({ kind: "text" as const, text: t })),
  fc.constantFrom<CqlTermSegment>(
    { kind: "mask", char: "*" },
    { kind: "mask", char: "?" },
    { kind: "anchor" },
  ),
);
const term = fc.array(segment, { maxLength: 4 }).map((segments) => createCqlTerm(segments, 0));
const name = fc.oneof(
  text,
  fc.constantFrom("title", "dc.title", "cql.serverChoice", "relevant", "sort.descending"),
);
const comparison = fc.constantFrom<CqlComparison>("=", "==", "<>", "<", ">", "<=", ">=");
const modifier: fc.Arbitrary<CqlModifier> = fc
  .tuple(name, fc.option(fc.tuple(comparison, fc.oneof(text, fc.constant("")))))
  .map(([n, cv]) =>
    cv === null ? { name: n, position: 0 } : { name: n, comparison: cv[0], value: cv[1], position: 0 },
  );
const modifiers = fc.array(modifier, { maxLength: 2 });
const relationBase = fc.constantFrom(
  "=",
  "==",
  "<>",
  "<",
  ">",
  "<=",
  ">=",
  "all",
  "any",
  "adj",
  "within",
  "encloses",
  "exact",
  "cql.within",
  "cql.any",
);
const index = fc.oneof(name, fc.constant(""), fc.constant("cql.serverChoice"));
const clause: fc.Arbitrary<CqlNode> = fc
  .tuple(index, relationBase, modifiers, term)
  .map(([idx, base, mods, t]) => ({
    kind: "clause",
    index: idx,
    relation: { base, modifiers: mods, position: 0 },
    term: t,
    position: 0,
  }));
const assignment: fc.Arbitrary<CqlPrefixAssignment> = fc
  .tuple(fc.option(name), fc.oneof(text, fc.constant("")))
  .map(([prefix, uri]) => (prefix === null ? { uri, position: 0 } : { prefix, uri, position: 0 }));
const node: fc.Arbitrary<CqlNode> = fc.letrec<{ node: CqlNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    clause,
    fc
      .tuple(fc.constantFrom<CqlBooleanOp>("and", "or", "not", "prox"), modifiers, tie("node"), tie("node"))
      .map(
        ([op, mods, left, right]): CqlNode => ({
          kind: "boolean",
          op,
          modifiers: mods,
          left,
          right,
          position: 0,
          operatorPosition: 0,
        }),
      ),
    fc
      .tuple(fc.array(assignment, { minLength: 1, maxLength: 2 }), tie("node"))
      .map(([assignments, query]): CqlNode => ({ kind: "prefix", assignments, query, position: 0 })),
  ),
})).node;
const sortSpec: fc.Arbitrary<CqlSortSpec> = fc
  .array(fc.tuple(name, modifiers), { minLength: 1, maxLength: 3 })
  .map((keys) => ({
    position: 0,
    keys: keys.map(([idx, mods]) => ({ index: idx, modifiers: mods, position: 0 })),
  }));
const queryTree: fc.Arbitrary<CqlQuery> = fc
  .tuple(fc.array(assignment, { maxLength: 2 }), node, fc.option(sortSpec))
  .map(([prefixes, root, sortBy]) => (sortBy === null ? { prefixes, root } : { prefixes, root, sortBy }));

describe("cqlToString on generated trees", () => {
  it("writes text that parses back to the same tree", () => {
    fc.assert(
      fc.property(queryTree, (ast) => {
        const text = cqlToString(ast);
        const again = parseCql(text, { maxLength: Number.POSITIVE_INFINITY, maxDepth: 10_000 });
        expect(shape(again)).toEqual(shape(ast));
      }),
      { numRuns: 3000 },
    );
  });

  it("is a fixed point: writing the parsed text again gives the same text", () => {
    fc.assert(
      fc.property(queryTree, (ast) => {
        const text = cqlToString(ast);
        expect(cqlToString(parseCql(text, { maxLength: Number.POSITIVE_INFINITY, maxDepth: 10_000 }))).toBe(
          text,
        );
      }),
      { numRuns: 1000 },
    );
  });
});
