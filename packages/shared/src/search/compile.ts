/**
 * CQL → what SQLite answers: FTS5 MATCH expressions over the search index (the same eight columns
 * in every catalog's index, built by the same rules, see catalog-index/) and filters that FTS5 cannot express (year ranges, identifiers, whole titles),
 * joined by AND/OR/NOT into a {@link SearchPlan}. The engine (engine.ts) turns a plan into SQL.
 *
 * What the indexes and relations mean here:
 *
 * - `dc.title` → column `title`, `dc.creator` → `author`, `dc.subject` → `subject`,
 *   `dc.publisher` → `publisher`; `cql.anywhere` (and a bare term, `cql.serverChoice`) → every
 *   column (the `any` column holds every word of the record, so this finds what `any` alone would,
 *   but bm25 then sees a word in the title as a title word and ranks it higher). A bare term that is
 *   a valid ISBN or ISSN also finds the record by the normalised number.
 * - `bath.isbn` → column `isbn`, the term normalised to ISBN-13 (hyphens and spaces ignored; an
 *   ISBN-10 finds the ISBN-13 record). `bath.issn` → column `issn`, as eight characters without the
 *   hyphen. A term that is not an ISBN/ISSN (wrong length or check digit) is refused (diagnostic 36).
 *   A truncated ISBN (`978019*`) is a prefix of the ISBN-13; a truncated prefix that does not begin
 *   with 978/979 is taken for an ISBN-10 prefix and gets 978 put in front.
 * - `rec.identifier` → the identifier a hit carries: in a union catalog the cluster id (a merged
 *   cluster's old id finds the survivor) or a contributing record as `institution/recordId` or as a
 *   bare record id; in a member catalog the record id (also as `institution/recordId`). Not FTS:
 *   a filter on the identifier columns.
 * - `dc.date` → a filter on the numeric year (the year a hit shows), never FTS. `<`, `<=`, `>`,
 *   `>=`, `=`, `==`, `adj`, `all` and `within "1990 2000"` (inclusive) compare years; a month or day
 *   (`1990-05-17`) is cut to its year, since catalogs record the year. `any "1990 1995"` is any of
 *   those years, `199*` the decade.
 *
 * Relations on text (CQL 1.2, cql context set): `all` — every word, anywhere in the index; `any` —
 * at least one word; `adj` — the words next to each other, in order (an FTS5 phrase); `=` — the
 * server's choice, which CQL 1.2 says is, for a string term, `adj` or `==` as suits the index: here
 * `adj` for every text index; `==` — exact: `adj`, and for `dc.title` the whole title must equal the
 * term (normalised: case, accents and punctuation aside; the title proper, before a `:`/`=`/`/`
 * subtitle, counts too, as does the title in its original script). A `*` at the end of a word is
 * right truncation (an FTS5 prefix query). CJK text is searched as overlapping bigrams
 * (match/cjk.ts), so a two-character word is one token and a longer run is its bigrams — all of
 * them with `all`/`any`, their phrase with `adj`/`=`/`==`.
 *
 * Text is tokenised exactly as the index was (normalizeText, CJK bigrams), and every token is written
 * as a quoted FTS5 string, so that quotes, column names, `AND`/`NEAR`/`^` and other FTS5 syntax in a
 * user's term are only ever searched for as words.
 */
import type { IndexColumn } from "../catalog-index/columns.js";
import { issnToken } from "../catalog-index/identifiers.js";
import type { CqlNode, CqlQuery, CqlSearchClause, CqlTerm } from "../cql/ast.js";
import { CqlDiagnostic, type CqlDiagnosticCode, CqlParseError } from "../cql/errors.js";
import { type CqlParseOptions, parseCql } from "../cql/parser.js";
import { LRS_CQL_PROFILE, validateCql } from "../cql/validate.js";
import { toFtsDocument, toFtsQuery } from "../match/cjk.js";
import { normalizeIsbn, normalizeIssn } from "../match/identifiers.js";
import { normalizeText } from "../match/normalize.js";

/** A condition FTS5 cannot express; the engine writes it as SQL on the catalog's own columns. */
export type SearchFilter =
  /** The year a hit shows lies in one of the ranges (inclusive); no ranges: nothing matches. */
  | { kind: "year"; ranges: Array<readonly [number, number]> }
  /** The hit's identifier is one of `values` (with `prefix`, begins with one of them). */
  | { kind: "identifier"; values: string[]; prefix: boolean }
  /** The record's whole title (or title proper), normalised, is one of `titles` (with `prefix`, begins with one). */
  | { kind: "exactTitle"; titles: string[]; prefix: boolean };

/**
 * What a query asks for. `fts` leaves are complete FTS5 MATCH expressions; neighbouring ones are
 * merged (`A and B` of two text clauses is one expression), so a plan has SQL nodes only where a
 * filter takes part. `not` appears only among the items of an `and` (CQL's NOT is binary).
 */
export type SearchPlan =
  | { kind: "fts"; match: string }
  | { kind: "filter"; filter: SearchFilter }
  | { kind: "and"; items: SearchPlan[] }
  | { kind: "or"; items: SearchPlan[] }
  | { kind: "not"; item: SearchPlan };

/** One `sortBy` key; relevance (best first) is the default and the last tie-breaker. */
export interface SearchSortKey {
  key: "title" | "creator" | "date" | "relevance";
  descending: boolean;
}

/** A query ready for the engine. */
export interface CompiledQuery {
  plan: SearchPlan;
  sort: SearchSortKey[];
  /**
   * Normalised phrases that earn the exact-title boost when a hit's title equals one: the terms of
   * `dc.title` and `cql.anywhere` clauses (relations `=`, `==`, `adj`, `all`) that are not negated.
   */
  exactTitles: string[];
  /**
   * An FTS5 expression that finds the records that may have one of {@link exactTitles} as their
   * title (the phrase at the start of the title column; anywhere in it for a non-Latin title, which
   * comes from an 880): the only ones the boost is checked for.
   */
  exactTitleMatch?: string;
  /** The validated query without positions, as JSON: what a paging cursor is bound to. */
  canonical: string;
}

/** At most this many phrases are tried for the exact-title boost. */
const MAX_EXACT_TITLES = 8;

const COLUMN_OF: Readonly<Record<string, IndexColumn | undefined>> = {
  "dc.title": "title",
  "dc.creator": "author",
  "dc.subject": "subject",
  "dc.publisher": "publisher",
  // Every column, see the head of this file.
  "cql.anywhere": undefined,
};

/**
 * Parses, validates (against the LRS profile) and compiles a CQL query.
 *
 * @throws {CqlParseError} for a query that cannot be parsed, uses what the profile does not support,
 *   or has a term that cannot be searched (see {@link compileCql}); no other error.
 */
export function compileQuery(query: string, opts: CqlParseOptions = {}): CompiledQuery {
  return compileCql(validateCql(parseCql(query, opts), LRS_CQL_PROFILE));
}

/**
 * Compiles a query tree that {@link validateCql} returned (canonical index and relation names).
 *
 * @throws {CqlParseError} with the term's position for what only shows at this point: a term with
 *   nothing searchable left after normalisation (27), an ISBN/ISSN/date that is not one (36); and,
 *   for a tree that was not validated, the diagnostic validation would have given.
 */
export function compileCql(query: CqlQuery): CompiledQuery {
  const c = new Compiler();
  const plan = simplify(c.node(query.root, true));
  const sort: SearchSortKey[] = (query.sortBy?.keys ?? []).map((k) => {
    const key = SORT_KEYS[k.index];
    if (key === undefined) {
      throw new CqlParseError({
        position: k.position,
        reason: `cannot sort by '${k.index}'`,
        diagnostic: CqlDiagnostic.SortNotSupported,
        details: k.index,
      });
    }
    return { key, descending: k.modifiers.some((m) => m.name === "descending") };
  });
  const exactTitles = [...new Set(c.exactTitles.map((t) => t.normalized))].slice(0, MAX_EXACT_TITLES);
  const phrases = [...new Set(c.exactTitles.map((t) => t.phrase))].slice(0, MAX_EXACT_TITLES);
  const out: CompiledQuery = { plan, sort, exactTitles, canonical: canonicalOf(query) };
  if (phrases.length > 0) out.exactTitleMatch = phrases.join(" OR ");
  return out;
}

const SORT_KEYS: Readonly<Record<string, SearchSortKey["key"] | undefined>> = {
  "dc.title": "title",
  "dc.creator": "creator",
  "dc.date": "date",
  relevance: "relevance",
};

// The cursor's binding: the query as validated, positions left out (they depend on spacing only).
function canonicalOf(query: CqlQuery): string {
  return JSON.stringify(query, (key, value: unknown) =>
    key === "position" || key === "operatorPosition" ? undefined : value,
  );
}

// ---------------------------------------------------------------- plan algebra

/** Conjunction, flattened, with its text parts merged into one FTS5 expression. */
export function andPlan(items: readonly SearchPlan[]): SearchPlan {
  const flat: SearchPlan[] = [];
  for (const it of items) {
    if (it.kind === "and") flat.push(...it.items);
    else flat.push(it);
  }
  const positive: string[] = [];
  const negative: string[] = [];
  const rest: SearchPlan[] = [];
  for (const it of flat) {
    if (it.kind === "fts") positive.push(it.match);
    else if (it.kind === "not" && it.item.kind === "fts") negative.push(it.item.match);
    else rest.push(it);
  }
  if (positive.length === 0) return flat.length === 1 ? flat[0]! : { kind: "and", items: flat };
  let match = positive.length === 1 ? positive[0]! : positive.map((m) => `(${m})`).join(" AND ");
  // A NOT B NOT C as A NOT (B OR C): one level of FTS5 nesting however many NOTs.
  if (negative.length > 0) {
    match = `(${match}) NOT (${negative.length === 1 ? negative[0]! : negative.map((m) => `(${m})`).join(" OR ")})`;
  }
  const merged: SearchPlan = { kind: "fts", match };
  return rest.length === 0 ? merged : { kind: "and", items: [merged, ...rest] };
}

/** Disjunction, flattened, with its text parts merged into one FTS5 expression. */
export function orPlan(items: readonly SearchPlan[]): SearchPlan {
  const flat: SearchPlan[] = [];
  for (const it of items) {
    if (it.kind === "or") flat.push(...it.items);
    else flat.push(it);
  }
  const text = flat.filter((it): it is Extract<SearchPlan, { kind: "fts" }> => it.kind === "fts");
  if (text.length <= 1) return flat.length === 1 ? flat[0]! : { kind: "or", items: flat };
  const merged: SearchPlan = { kind: "fts", match: text.map((t) => `(${t.match})`).join(" OR ") };
  const rest = flat.filter((it) => it.kind !== "fts");
  return rest.length === 0 ? merged : { kind: "or", items: [merged, ...rest] };
}

/**
 * A chain as written, only flattened (`a and b and c` is one node): the compiler builds this
 * first and merges text parts afterwards ({@link simplify}), so that a long chain becomes one flat
 * FTS5 expression rather than one nested a level deeper per operator.
 */
function flat(kind: "and" | "or", items: readonly SearchPlan[]): SearchPlan {
  const out: SearchPlan[] = [];
  for (const it of items) {
    if (it.kind === kind) out.push(...it.items);
    else out.push(it);
  }
  return { kind, items: out };
}

/** Merges the text parts of a flattened plan, innermost first. */
function simplify(plan: SearchPlan): SearchPlan {
  switch (plan.kind) {
    case "fts":
    case "filter":
      return plan;
    case "not":
      return notPlan(simplify(plan.item));
    case "and":
      return andPlan(plan.items.map(simplify));
    case "or":
      return orPlan(plan.items.map(simplify));
    default: {
      const _never: never = plan;
      return _never;
    }
  }
}

/** Negation; only meaningful as an item of {@link andPlan}. */
export function notPlan(item: SearchPlan): SearchPlan {
  return item.kind === "not" ? item.item : { kind: "not", item };
}

// ---------------------------------------------------------------- terms

/**
 * Fewest characters a truncated first word (`hist*`) must keep before its `*`: a shorter stem
 * (`a*`) expands to a large part of the index's vocabulary and costs every other caller a slow
 * search; it is refused with diagnostic 29 (masked words too short). A later word of a term
 * (`title=="history of li*"`) is bound to the words before it. One character of a CJK script is
 * enough: it is a word of its own (match/cjk.ts).
 */
export const MIN_TRUNCATION_STEM = 3;
const CJK_CHARACTER = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}]/u;

/** A word of a term, with whether it ends in a truncation `*`. */
interface Word {
  text: string;
  truncated: boolean;
}

function fail(term: CqlTerm, reason: string, diagnostic: CqlDiagnosticCode, details?: string): CqlParseError {
  return new CqlParseError(
    details === undefined
      ? { position: term.position, reason, diagnostic }
      : { position: term.position, reason, diagnostic, details },
  );
}

/** The words of a term; masking other than right truncation is refused as the validator would. */
function wordsOf(term: CqlTerm): Word[] {
  const words: Word[] = [];
  let text = "";
  let truncated = false;
  const flush = () => {
    if (text !== "" || truncated) words.push({ text, truncated });
    text = "";
    truncated = false;
  };
  for (const seg of term.segments) {
    switch (seg.kind) {
      case "text":
        for (const ch of seg.text) {
          if (/\s/u.test(ch)) {
            flush();
          } else if (truncated) {
            throw fail(
              term,
              `masking inside a word is not supported in '${term.value}'`,
              CqlDiagnostic.MaskingInUnsupportedPosition,
            );
          } else {
            text += ch;
          }
        }
        break;
      case "mask":
        if (seg.char === "?") {
          throw fail(
            term,
            `single-character masking ('?') is not supported in '${term.value}'`,
            CqlDiagnostic.MaskingNotSupported,
          );
        }
        if (text === "" || truncated) {
          throw fail(
            term,
            `masking at the start of a word (left truncation) is not supported in '${term.value}'`,
            CqlDiagnostic.MaskingInUnsupportedPosition,
          );
        }
        if (words.length === 0 && [...text].length < MIN_TRUNCATION_STEM && !CJK_CHARACTER.test(text)) {
          throw fail(
            term,
            `a truncated word needs at least ${MIN_TRUNCATION_STEM} characters before '*': '${text}*' would match too many words`,
            CqlDiagnostic.MaskedWordsTooShort,
            String(MIN_TRUNCATION_STEM),
          );
        }
        truncated = true;
        break;
      case "anchor":
        throw fail(
          term,
          `anchoring ('^') is not supported in '${term.value}'`,
          CqlDiagnostic.AnchoringNotSupported,
        );
      default: {
        const _never: never = seg;
        return _never;
      }
    }
  }
  flush();
  return words;
}

/** The term's text without its masking characters, as one string. */
function plainText(words: readonly Word[]): string {
  return words.map((w) => w.text).join(" ");
}

function quote(token: string): string {
  return `"${token.replaceAll('"', '""')}"`;
}

function withPrefix(expr: string, truncated: boolean): string {
  // A lone CJK character is a prefix query already (`"学"*`).
  return truncated && expr.endsWith('"') ? `${expr}*` : expr;
}

function searchable(w: Word): boolean {
  return normalizeText(w.text) !== "";
}

/** A word for `all`/`any`: its tokens, all of them (a CJK run: all of its bigrams). */
function unitOf(w: Word): string {
  const q = withPrefix(toFtsQuery(w.text)!, w.truncated);
  return q.includes(" ") ? `(${q})` : q;
}

/**
 * The words as one FTS5 phrase, tokenised like the indexed text: every word but the last as the
 * index has it (toFtsDocument: a CJK run's bigrams and its final character), the last as
 * toFtsQuery writes a phrase's end (the text's run may go on past it).
 */
function phraseOf(words: readonly Word[]): string | undefined {
  const live = words.filter(searchable);
  if (live.length === 0) return undefined;
  const parts: string[] = [];
  live.forEach((w, i) => {
    if (i < live.length - 1) {
      const tokens = toFtsDocument(w.text).split(" ").map(quote);
      tokens[tokens.length - 1] = withPrefix(tokens[tokens.length - 1]!, w.truncated);
      parts.push(...tokens);
    } else {
      parts.push(withPrefix(toFtsQuery(w.text, { phrase: true })!, w.truncated));
    }
  });
  return parts.join(" + ");
}

function inColumn(column: IndexColumn | undefined, expr: string): string {
  return column === undefined ? `(${expr})` : `(${column} : (${expr}))`;
}

const NON_LATIN = /[^\p{Script=Latin}\p{N}\s]/u;
const DATE = /^(\d{4})(?:-\d{2}(?:-\d{2})?)?$/;

// ---------------------------------------------------------------- the compiler

class Compiler {
  readonly exactTitles: Array<{ normalized: string; phrase: string }> = [];

  /** Compiles a subtree; `positive` is false under a NOT (its terms earn no boost). */
  node(root: CqlNode, positive: boolean): SearchPlan {
    // Walks a left-deep `a or b or …` chain in a loop, as the parser and validator do.
    switch (root.kind) {
      case "clause":
        return this.clause(root, positive);
      case "prefix":
        return this.node(root.query, positive);
      case "boolean": {
        const chain: Array<Extract<CqlNode, { kind: "boolean" }>> = [];
        let leftmost: CqlNode = root;
        while (leftmost.kind === "boolean") {
          chain.push(leftmost);
          leftmost = leftmost.left;
        }
        let plan = this.node(leftmost, positive);
        for (let i = chain.length - 1; i >= 0; i--) {
          const step = chain[i]!;
          switch (step.op) {
            case "and":
              plan = flat("and", [plan, this.node(step.right, positive)]);
              break;
            case "or":
              plan = flat("or", [plan, this.node(step.right, positive)]);
              break;
            case "not":
              plan = flat("and", [plan, notPlan(this.node(step.right, !positive))]);
              break;
            case "prox":
              throw new CqlParseError({
                position: step.operatorPosition,
                reason: "proximity ('prox') is not supported",
                diagnostic: CqlDiagnostic.ProximityNotSupported,
                details: "prox",
              });
            default: {
              const _never: never = step.op;
              return _never;
            }
          }
        }
        return plan;
      }
      default: {
        const _never: never = root;
        return _never;
      }
    }
  }

  private clause(clause: CqlSearchClause, positive: boolean): SearchPlan {
    const relation = clause.relation.base;
    const term = clause.term;
    switch (clause.index) {
      case "dc.title":
      case "dc.creator":
      case "dc.subject":
      case "dc.publisher":
      case "cql.anywhere":
        return this.text(clause, COLUMN_OF[clause.index], positive);
      case "bath.isbn":
        return { kind: "fts", match: identifierMatch("isbn", relation, term) };
      case "bath.issn":
        return { kind: "fts", match: identifierMatch("issn", relation, term) };
      case "rec.identifier": {
        const words = wordsOf(term);
        const values =
          relation === "any" ? words.map((w) => w.text) : [plainText(words).trim()].filter((v) => v !== "");
        if (values.length === 0) {
          throw fail(term, "an empty identifier finds nothing", CqlDiagnostic.EmptyTermUnsupported);
        }
        // Truncation makes every value a prefix (`any "u12* u13*"`).
        const prefix = words.some((w) => w.truncated);
        return { kind: "filter", filter: { kind: "identifier", values, prefix } };
      }
      case "dc.date":
        return { kind: "filter", filter: { kind: "year", ranges: yearRanges(relation, term) } };
      default:
        throw new CqlParseError({
          position: clause.position,
          reason: `the index '${clause.index}' is not supported`,
          diagnostic: CqlDiagnostic.UnsupportedIndex,
          details: clause.index,
        });
    }
  }

  private text(clause: CqlSearchClause, column: IndexColumn | undefined, positive: boolean): SearchPlan {
    const { term } = clause;
    const relation = clause.relation.base;
    const words = wordsOf(term);
    const live = words.filter(searchable);
    if (live.length === 0) {
      throw fail(
        term,
        `nothing searchable is left of '${term.value}' once punctuation is set aside`,
        CqlDiagnostic.EmptyTermUnsupported,
      );
    }
    let expr: string;
    switch (relation) {
      case "any":
        expr = live.map(unitOf).join(" OR ");
        break;
      case "all":
        expr = live.map(unitOf).join(" AND ");
        break;
      case "=":
      case "==":
      case "adj":
        expr = phraseOf(live)!;
        break;
      default:
        throw new CqlParseError({
          position: clause.relation.position,
          reason: `the relation '${relation}' cannot be used with the index '${clause.index}'`,
          diagnostic: CqlDiagnostic.UnsupportedRelationForIndex,
          details: `${clause.index} ${relation}`,
        });
    }
    let plan: SearchPlan = { kind: "fts", match: inColumn(column, expr) };
    if (column === undefined && live.length === 1 && !live[0]!.truncated) {
      // A bare ISBN or ISSN finds the record by its normalised number as well.
      const isbn = normalizeIsbn(live[0]!.text);
      const issn = normalizeIssn(live[0]!.text);
      if (isbn !== undefined) plan = flat("or", [plan, { kind: "fts", match: `(isbn : ${quote(isbn)})` }]);
      else if (issn !== undefined)
        plan = flat("or", [plan, { kind: "fts", match: `(issn : ${quote(issnToken(issn))})` }]);
    }
    const normalized = normalizeText(plainText(live));
    if (relation === "==" && column === "title") {
      plan = flat("and", [
        plan,
        { kind: "filter", filter: { kind: "exactTitle", titles: [normalized], prefix: term.rightTruncated } },
      ]);
    }
    if (positive && relation !== "any" && (column === "title" || column === undefined) && !term.hasMask) {
      // A title in Latin script begins the title column of a record that has it as its title (245
      // comes first unless a uniform title precedes it); one in another script is an 880, which
      // the index puts after the other title fields.
      const start = NON_LATIN.test(normalized) ? "" : "^ ";
      this.exactTitles.push({ normalized, phrase: `(title : (${start}${phraseOf(live)!}))` });
    }
    return plan;
  }
}

/** `isbn : …` / `issn : …` for a term of one or more numbers. */
function identifierMatch(column: "isbn" | "issn", relation: string, term: CqlTerm): string {
  const words = wordsOf(term).filter((w) => w.text.trim() !== "");
  if (words.length === 0)
    throw fail(term, "an empty search term is not supported", CqlDiagnostic.EmptyTermUnsupported);
  const token = column === "isbn" ? isbnToken : issnTokenOf;
  let tokens: string[];
  if (relation === "any") {
    tokens = words.map((w) => token(w, term));
  } else {
    // `= "0 19 282760 X"`: one number written with spaces, else every word a number of its own.
    const whole = { text: plainText(words), truncated: term.rightTruncated };
    const one =
      words.length > 1 && !words.slice(0, -1).some((w) => w.truncated)
        ? tryToken(token, whole, term)
        : undefined;
    tokens = one !== undefined ? [one] : words.map((w) => token(w, term));
  }
  const expr = tokens.length === 1 ? tokens[0]! : tokens.join(relation === "any" ? " OR " : " AND ");
  return `(${column} : (${expr}))`;
}

function tryToken(token: (w: Word, term: CqlTerm) => string, w: Word, term: CqlTerm): string | undefined {
  try {
    return token(w, term);
  } catch {
    return undefined;
  }
}

function isbnToken(w: Word, term: CqlTerm): string {
  if (w.truncated) {
    const digits = w.text.normalize("NFKC").replace(/[\s-]/g, "");
    if (!/^\d{1,13}$/.test(digits)) {
      throw fail(
        term,
        `'${w.text}*' is not the beginning of an ISBN`,
        CqlDiagnostic.InvalidTermFormat,
        term.value,
      );
    }
    const prefix = /^97[89]/.test(digits) ? digits : `978${digits.slice(0, 9)}`;
    return `${quote(prefix)}*`;
  }
  const isbn = normalizeIsbn(w.text);
  if (isbn === undefined) {
    throw fail(
      term,
      `'${w.text}' is not an ISBN (10 or 13 digits with a valid check digit)`,
      CqlDiagnostic.InvalidTermFormat,
      term.value,
    );
  }
  return quote(isbn);
}

function issnTokenOf(w: Word, term: CqlTerm): string {
  if (w.truncated) {
    const chars = w.text.normalize("NFKC").replace(/-/g, "").toLowerCase();
    if (!/^\d{1,7}$/.test(chars)) {
      throw fail(
        term,
        `'${w.text}*' is not the beginning of an ISSN`,
        CqlDiagnostic.InvalidTermFormat,
        term.value,
      );
    }
    return `${quote(chars)}*`;
  }
  const issn = normalizeIssn(w.text);
  if (issn === undefined) {
    throw fail(
      term,
      `'${w.text}' is not an ISSN (8 characters with a valid check digit)`,
      CqlDiagnostic.InvalidTermFormat,
      term.value,
    );
  }
  return quote(issnToken(issn));
}

/** The year ranges a `dc.date` clause stands for. */
function yearRanges(relation: string, term: CqlTerm): Array<readonly [number, number]> {
  const words = wordsOf(term);
  const bad = (why: string) =>
    fail(term, `${why}; found '${term.value}'`, CqlDiagnostic.InvalidTermFormat, `${relation} ${term.value}`);
  const range = (w: Word): readonly [number, number] => {
    if (w.truncated) {
      if (!/^\d{1,4}$/.test(w.text))
        throw bad("a truncated date must be the first digits of a year, as in 199*");
      return [Number(w.text.padEnd(4, "0")), Number(w.text.padEnd(4, "9"))];
    }
    const m = DATE.exec(w.text);
    if (!m) throw bad("a date must be a year, year-month or full date, such as 1990 or 1990-05-17");
    const y = Number(m[1]);
    return [y, y];
  };
  if (words.length === 0) throw bad("a date is needed");
  switch (relation) {
    case "within": {
      if (words.length !== 2) throw bad("'within' needs two dates, as in \"1990 2000\"");
      const [a, b] = [range(words[0]!), range(words[1]!)];
      return [[Math.min(a[0], b[0]), Math.max(a[1], b[1])]];
    }
    case "any":
      return words.map(range);
    case "<":
    case "<=":
    case ">":
    case ">=": {
      if (words.length !== 1 || words[0]!.truncated) throw bad(`'${relation}' needs one date`);
      const [y] = range(words[0]!);
      if (relation === "<") return [[Number.MIN_SAFE_INTEGER, y - 1]];
      if (relation === "<=") return [[Number.MIN_SAFE_INTEGER, y]];
      if (relation === ">") return [[y + 1, Number.MAX_SAFE_INTEGER]];
      return [[y, Number.MAX_SAFE_INTEGER]];
    }
    case "=":
    case "==":
    case "adj":
    case "all": {
      // Every date given must hold at once: one year, or nothing when they differ.
      const ranges = words.map(range);
      const lo = Math.max(...ranges.map((r) => r[0]));
      const hi = Math.min(...ranges.map((r) => r[1]));
      return lo <= hi ? [[lo, hi]] : [];
    }
    default:
      throw new CqlParseError({
        position: term.position,
        reason: `the relation '${relation}' cannot be used with the index 'dc.date'`,
        diagnostic: CqlDiagnostic.UnsupportedRelationForIndex,
        details: `dc.date ${relation}`,
      });
  }
}
