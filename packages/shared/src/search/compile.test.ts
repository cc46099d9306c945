import { describe, expect, it } from "vitest";
import { CqlDiagnostic, CqlParseError } from "../cql/errors.js";
import { andPlan, compileQuery, MIN_TRUNCATION_STEM, notPlan, orPlan, type SearchPlan } from "./compile.js";

function plan(q: string): SearchPlan {
  return compileQuery(q).plan;
}

function match(q: string): string {
  const p = plan(q);
  if (p.kind !== "fts") throw new Error(`not a text plan: ${JSON.stringify(p)}`);
  return p.match;
}

function error(q: string): CqlParseError {
  try {
    compileQuery(q);
  } catch (err) {
    if (err instanceof CqlParseError) return err;
    throw err;
  }
  throw new Error(`no error for ${q}`);
}

describe("compileQuery: text indexes and relations", () => {
  it("maps each index to its FTS5 column; cql.anywhere and bare terms search every column", () => {
    expect(match("dc.title=history")).toBe('(title : ("history"))');
    expect(match("author=twain")).toBe('(author : ("twain"))');
    expect(match("dc.subject=china")).toBe('(subject : ("china"))');
    expect(match("dc.publisher=wiley")).toBe('(publisher : ("wiley"))');
    expect(match("cql.anywhere=history")).toBe('("history")');
    expect(match("history")).toBe('("history")');
  });

  it("reads = on several words as adj (CQL 1.2: adj or == as suits the index), all and any as word lists", () => {
    expect(match('title="oral history"')).toBe('(title : ("oral" + "history"))');
    expect(match('title adj "oral history"')).toBe('(title : ("oral" + "history"))');
    expect(match('title all "oral history"')).toBe('(title : ("oral" AND "history"))');
    expect(match('title any "oral history"')).toBe('(title : ("oral" OR "history"))');
  });

  it("normalises words as the index does: case, diacritics, punctuation", () => {
    expect(match('title="Ɓeyond Ǆ L\'été, à PARIS!"')).toBe(
      '(title : ("ɓeyond" + "dz" + "lete" + "a" + "paris"))',
    );
  });

  it("turns right truncation into FTS5 prefix queries, also inside a phrase", () => {
    expect(match("title=hist*")).toBe('(title : ("hist"*))');
    expect(match('title all "oral hist*"')).toBe('(title : ("oral" AND "hist"*))');
    expect(match('title="palomar assign* survey"')).toBe('(title : ("palomar" + "assign"* + "survey"))');
  });

  it("searches CJK as bigrams: a two-character word is one token, a longer run its bigrams or their phrase", () => {
    expect(match("title=中国")).toBe('(title : ("中国"))');
    expect(match("title=火山灰地")).toBe('(title : ("火山" + "山灰" + "灰地"))');
    expect(match('title all "火山灰地"')).toBe('(title : (("火山" "山灰" "灰地")))');
    // Before another word the run's last character is a token of the index (toFtsDocument).
    expect(match('title="東京 大学"')).toBe('(title : ("東京" + "京" + "大学"))');
    expect(match("title=学")).toBe('(title : ("学"*))');
  });

  it("quotes every token, so FTS5 syntax in a term is searched for as words", () => {
    expect(match('title="NEAR(a b) OR title:x \\^y AND -z"')).toBe(
      '(title : ("near" + "a" + "b" + "or" + "title" + "x" + "y" + "and" + "z"))',
    );
    expect(match('title any "AND OR"')).toBe('(title : ("and" OR "or"))');
  });

  it("requires the whole title for dc.title ==, and a phrase elsewhere", () => {
    expect(plan('title == "History of life"')).toEqual({
      kind: "and",
      items: [
        { kind: "fts", match: '(title : ("history" + "of" + "life"))' },
        { kind: "filter", filter: { kind: "exactTitle", titles: ["history of life"], prefix: false } },
      ],
    });
    expect(match('author == "Twain, Mark"')).toBe('(author : ("twain" + "mark"))');
  });
});

describe("compileQuery: identifiers and dates", () => {
  it("normalises ISBNs to ISBN-13 (hyphens, spaces and ISBN-10 alike) and ISSNs to one token", () => {
    expect(match("bath.isbn=0-8247-7161-3")).toBe('(isbn : ("9780824771614"))');
    expect(match('isbn="0 8247 7161 3"')).toBe('(isbn : ("9780824771614"))');
    expect(match("isbn=978-0-8247-7161-4")).toBe('(isbn : ("9780824771614"))');
    expect(match('isbn any "0824771613 0-19-282760-X"')).toBe(
      '(isbn : ("9780824771614" OR "9780192827609"))',
    );
    expect(match("isbn=978082477*")).toBe('(isbn : ("978082477"*))');
    expect(match("isbn=0-8247*")).toBe('(isbn : ("97808247"*))');
    expect(match("bath.issn=0174-1578")).toBe('(issn : ("01741578"))');
    expect(match("issn=0000-006X")).toBe('(issn : ("0000006x"))');
  });

  it("also finds a bare ISBN or ISSN by its normalised number", () => {
    expect(match("0824771613")).toBe('(("0824771613")) OR ((isbn : "9780824771614"))');
    expect(match("0174-1578")).toBe('(("0174" + "1578")) OR ((issn : "01741578"))');
  });

  it("makes dc.date a year filter, never FTS", () => {
    const year = (q: string) => {
      const p = plan(q);
      if (p.kind !== "filter" || p.filter.kind !== "year") throw new Error(JSON.stringify(p));
      return p.filter.ranges;
    };
    expect(year('dc.date within "1990 2000"')).toEqual([[1990, 2000]]);
    expect(year('dc.date within "2000 1990"')).toEqual([[1990, 2000]]);
    expect(year("dc.date=1995")).toEqual([[1995, 1995]]);
    expect(year("dc.date=1995-05-17")).toEqual([[1995, 1995]]);
    expect(year("dc.date<1900")).toEqual([[Number.MIN_SAFE_INTEGER, 1899]]);
    expect(year("dc.date<=1900")).toEqual([[Number.MIN_SAFE_INTEGER, 1900]]);
    expect(year("dc.date>1900")).toEqual([[1901, Number.MAX_SAFE_INTEGER]]);
    expect(year("dc.date>=1900")).toEqual([[1900, Number.MAX_SAFE_INTEGER]]);
    expect(year('dc.date any "1990 1995"')).toEqual([
      [1990, 1990],
      [1995, 1995],
    ]);
    expect(year("dc.date=199*")).toEqual([[1990, 1999]]);
    expect(year('dc.date all "1990 1995"')).toEqual([]);
  });

  it("makes rec.identifier a filter on identifiers", () => {
    expect(plan("rec.identifier=u121")).toEqual({
      kind: "filter",
      filter: { kind: "identifier", values: ["u121"], prefix: false },
    });
    expect(plan('rec.identifier any "u121 u122"')).toEqual({
      kind: "filter",
      filter: { kind: "identifier", values: ["u121", "u122"], prefix: false },
    });
    expect(plan('id="(Sirsi) a353305"')).toEqual({
      kind: "filter",
      filter: { kind: "identifier", values: ["(Sirsi) a353305"], prefix: false },
    });
  });
});

describe("compileQuery: booleans", () => {
  it("merges text clauses into one FTS5 expression, NOT included", () => {
    expect(match("title=history and author=twain")).toBe(
      '((title : ("history"))) AND ((author : ("twain")))',
    );
    expect(match("title=history or title=china")).toBe('((title : ("history"))) OR ((title : ("china")))');
    expect(match("title=history not title=china")).toBe('((title : ("history"))) NOT ((title : ("china")))');
    expect(match("title=a not title=b not title=c")).toBe(
      '((title : ("a"))) NOT (((title : ("b"))) OR ((title : ("c"))))',
    );
    expect(match("(title=a or title=b) and (title=c or title=d)")).toBe(
      '(((title : ("a"))) OR ((title : ("b")))) AND (((title : ("c"))) OR ((title : ("d"))))',
    );
  });

  it("keeps SQL nodes where a filter takes part: AND of text and filter, OR with a filter", () => {
    expect(plan('title=history and dc.date within "1990 2000"')).toEqual({
      kind: "and",
      items: [
        { kind: "fts", match: '(title : ("history"))' },
        { kind: "filter", filter: { kind: "year", ranges: [[1990, 2000]] } },
      ],
    });
    expect(plan("title=history or dc.date<1900")).toEqual({
      kind: "or",
      items: [
        { kind: "fts", match: '(title : ("history"))' },
        { kind: "filter", filter: { kind: "year", ranges: [[Number.MIN_SAFE_INTEGER, 1899]] } },
      ],
    });
    expect(plan("dc.date<1900 not title=history")).toEqual({
      kind: "and",
      items: [
        { kind: "filter", filter: { kind: "year", ranges: [[Number.MIN_SAFE_INTEGER, 1899]] } },
        { kind: "not", item: { kind: "fts", match: '(title : ("history"))' } },
      ],
    });
  });

  it("compiles a long chain without deep recursion", () => {
    const q = Array.from({ length: 500 }, (_, i) => `t${i}`).join(" or ");
    expect(match(q).split(" OR ")).toHaveLength(500);
    const n = Array.from({ length: 400 }, (_, i) => `t${i}`).join(" not ");
    expect(match(n).match(/NOT/g)).toHaveLength(1);
  });

  it("flattens and simplifies plans", () => {
    const a: SearchPlan = { kind: "fts", match: "a" };
    const y: SearchPlan = { kind: "filter", filter: { kind: "year", ranges: [] } };
    expect(andPlan([a])).toEqual(a);
    expect(orPlan([y])).toEqual(y);
    expect(notPlan(notPlan(y))).toEqual(y);
    expect(andPlan([andPlan([y, a]), y])).toEqual({ kind: "and", items: [a, y, y] });
  });
});

describe("compileQuery: sort and boosts", () => {
  it("reads sortBy keys with their direction", () => {
    expect(compileQuery("history sortBy dc.date/sort.descending dc.title").sort).toEqual([
      { key: "date", descending: true },
      { key: "title", descending: false },
    ]);
    expect(compileQuery("history sortBy creator relevance").sort).toEqual([
      { key: "creator", descending: false },
      { key: "relevance", descending: false },
    ]);
  });

  it("collects the title phrases of non-negated title and anywhere clauses for the exact-title boost", () => {
    const c = compileQuery('"History of life" and author=cowen not title="star trek"');
    expect(c.exactTitles).toEqual(["history of life"]);
    expect(c.exactTitleMatch).toBe('(title : (^ "history" + "of" + "life"))');
    // A title in another script is an 880: not at the start of the title column.
    expect(compileQuery("title=東海道").exactTitleMatch).toBe('(title : ("東海" + "海道"))');
    expect(compileQuery('title any "a b"').exactTitles).toEqual([]);
  });

  it("binds the same query written differently to one canonical form", () => {
    expect(compileQuery("title = history  and author=twain").canonical).toBe(
      compileQuery("dc.title=history and dc.creator=twain").canonical,
    );
    expect(compileQuery("title=history").canonical).not.toBe(compileQuery("title=historia").canonical);
  });
});

describe("compileQuery: errors", () => {
  it("refuses a term with nothing searchable left, at the term (27)", () => {
    const q = 'dc.title=history and dc.title="-- !"';
    const e = error(q);
    expect(e.diagnostic).toBe(CqlDiagnostic.EmptyTermUnsupported);
    expect(e.position).toBe(q.indexOf('"-- !"'));
  });

  it("refuses a first word truncated after fewer than three characters, naming the limit (29)", () => {
    for (const q of ["cql.anywhere=a*", "dc.title=hi*", "a*", 'dc.title any "a* history"']) {
      const e = error(q);
      expect(e.diagnostic, q).toBe(CqlDiagnostic.MaskedWordsTooShort);
      expect(e.diagnosticUri, q).toBe("info:srw/diagnostic/1/29");
      expect(e.details, q).toBe(String(MIN_TRUNCATION_STEM));
      expect(e.message, q).toMatch(/at least 3 characters before '\*'/);
    }
    expect(match("dc.title=his*")).toContain('"his"*');
    expect(match('dc.title="history of li*"')).toContain('"li"*');
    // One CJK character is a word of its own.
    expect(match("dc.title=中*")).toContain('"中"*');
  });

  it("refuses an ISBN or ISSN that is not one, at the term (36)", () => {
    const q = "title=history and bath.isbn=0-8247-7161-0";
    const e = error(q);
    expect(e.diagnostic).toBe(CqlDiagnostic.InvalidTermFormat);
    expect(e.position).toBe(q.indexOf("0-8247"));
    expect(e.diagnosticUri).toBe("info:srw/diagnostic/1/36");
    expect(error("issn=1234-5678").diagnostic).toBe(CqlDiagnostic.InvalidTermFormat);
    expect(error("isbn=abc*").diagnostic).toBe(CqlDiagnostic.InvalidTermFormat);
  });

  it("refuses a date that is not one (36)", () => {
    const q = 'dc.date = "nineteenth century"';
    const e = error(q);
    expect(e.diagnostic).toBe(CqlDiagnostic.InvalidTermFormat);
    expect(e.position).toBe(q.indexOf('"nine'));
    expect(error("dc.date=19x*").diagnostic).toBe(CqlDiagnostic.InvalidTermFormat);
  });

  it("passes on parse and validation errors with their positions", () => {
    expect(error("title=history and (author=twain").diagnostic).toBe(CqlDiagnostic.InvalidParentheses);
    const e = error("title=history and foo=bar");
    expect(e.diagnostic).toBe(CqlDiagnostic.UnsupportedIndex);
    expect(e.position).toBe(18);
    expect(error("title=*story").diagnostic).toBe(CqlDiagnostic.MaskingInUnsupportedPosition);
  });
});
