import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type ClusterInput, clusterRecords as cluster, type SplitSide } from "./clustering.js";

const rec = (
  ref: string,
  strong: string[],
  fuzzy?: string,
  institution = ref.split("/")[0]!,
): ClusterInput => ({
  ref,
  institution,
  strong,
  fuzzy,
});

const clusterRecords = (records: readonly ClusterInput[], splits?: Map<string, SplitSide[]>) =>
  cluster(records, splits).map((g) => g.refs);

describe("clusterRecords", () => {
  it("says which clusters the fuzzy key joined", () => {
    const out = cluster([
      rec("a/1", ["isbn:1"], "F"),
      rec("b/1", ["isbn:1"]),
      rec("c/1", [], "F"),
      rec("d/1", ["isbn:9"]),
    ]);
    expect(out).toEqual([
      { refs: ["a/1", "b/1", "c/1"], fuzzyJoined: true },
      { refs: ["d/1"], fuzzyJoined: false },
    ]);
  });

  it("joins records sharing a strong key, transitively through a bridge", () => {
    const out = clusterRecords([
      rec("a/1", ["isbn:1"]),
      rec("b/1", ["isbn:2"]),
      rec("c/1", ["isbn:1", "isbn:2"]),
      rec("d/1", ["isbn:3"]),
    ]);
    expect(out).toEqual([["a/1", "b/1", "c/1"], ["d/1"]]);
  });

  it("joins by fuzzy key only where no ISBN or ISSN contradicts", () => {
    const out = clusterRecords([
      rec("a/1", ["isbn:1"], "F"),
      rec("b/1", ["isbn:2"], "F"), // another ISBN: another manifestation
      rec("c/1", ["lccn:7"], "F"), // an LCCN contradicts nothing
      rec("d/1", ["oclc:8"], "F"),
      rec("e/1", ["issn:1"], "G"),
      rec("f/1", ["issn:2"], "G"),
    ]);
    expect(out).toEqual([["a/1", "c/1", "d/1"], ["b/1"], ["e/1"], ["f/1"]]);
  });

  it("never joins two records of one institution by the fuzzy key alone", () => {
    const out = clusterRecords([rec("a/1", [], "F"), rec("a/2", [], "F"), rec("b/1", [], "F")]);
    expect(out).toEqual([["a/1", "b/1"], ["a/2"]]);
    // …but an identifier they share still joins them.
    expect(clusterRecords([rec("a/1", ["lccn:1"], "F"), rec("a/2", ["lccn:1"], "G")])).toEqual([
      ["a/1", "a/2"],
    ]);
  });

  it("puts a record without identifiers into exactly one of two conflicting clusters", () => {
    const out = clusterRecords([
      rec("a/1", ["isbn:1"], "F"),
      rec("b/1", ["isbn:2"], "F"),
      rec("c/1", [], "F"),
    ]);
    expect(out).toEqual([["a/1", "c/1"], ["b/1"]]);
  });

  it("leaves records without keys alone", () => {
    expect(clusterRecords([rec("a/1", []), rec("b/1", [])])).toEqual([["a/1"], ["b/1"]]);
  });

  it("keeps the two sides of a split apart whatever keys they share", () => {
    const splits = new Map<string, SplitSide[]>([
      ["a/1", [{ splitId: 1, side: 0 }]],
      ["c/1", [{ splitId: 1, side: 0 }]],
      ["b/1", [{ splitId: 1, side: 1 }]],
    ]);
    const records = [
      rec("a/1", ["isbn:1"]),
      rec("b/1", ["isbn:1", "isbn:2"]),
      rec("c/1", ["isbn:1", "isbn:2"]),
    ];
    expect(clusterRecords(records, splits)).toEqual([["a/1", "c/1"], ["b/1"]]);
    // A newcomer sharing keys with both sides joins one side only.
    const more = [...records, rec("d/1", ["isbn:2"])];
    expect(clusterRecords(more, splits)).toEqual([["a/1", "c/1", "d/1"], ["b/1"]]);
    // A split only forbids: records that were together only through the one split off fall apart.
    const bridged = [rec("a/1", ["isbn:1"]), rec("b/1", ["isbn:1", "isbn:2"]), rec("c/1", ["isbn:2"])];
    expect(clusterRecords(bridged, splits)).toEqual([["a/1"], ["b/1"], ["c/1"]]);
  });

  const arbRecords = fc
    .uniqueArray(
      fc.record({
        inst: fc.constantFrom("a", "b", "c"),
        id: fc.integer({ min: 1, max: 6 }),
        strong: fc.uniqueArray(fc.constantFrom("isbn:1", "isbn:2", "oclc:1", "lccn:1", "issn:1"), {
          maxLength: 2,
        }),
        fuzzy: fc.option(fc.constantFrom("F", "G"), { nil: undefined }),
      }),
      { selector: (r) => `${r.inst}/${r.id}`, maxLength: 12 },
    )
    .map((rs) => rs.map((r) => rec(`${r.inst}/${r.id}`, r.strong, r.fuzzy)));

  it("is a partition of the records and does not depend on their order", () => {
    const withPermutation = arbRecords.chain((rs) =>
      fc.tuple(fc.constant(rs), fc.shuffledSubarray(rs, { minLength: rs.length, maxLength: rs.length })),
    );
    fc.assert(
      fc.property(withPermutation, ([records, shuffled]) => {
        const out = clusterRecords(records);
        expect(out.flat().sort()).toEqual(records.map((r) => r.ref).sort());
        expect(clusterRecords(shuffled)).toEqual(out);
      }),
    );
  });

  it("puts records sharing a strong key together when no split forbids it", () => {
    fc.assert(
      fc.property(arbRecords, (records) => {
        const clusterOf = new Map<string, number>();
        clusterRecords(records).forEach((c, i) => {
          for (const ref of c) clusterOf.set(ref, i);
        });
        for (const a of records) {
          for (const b of records) {
            if (a.strong.some((k) => b.strong.includes(k)))
              expect(clusterOf.get(a.ref)).toBe(clusterOf.get(b.ref));
          }
        }
      }),
    );
  });
});
