import type {
  CqlBooleanOp,
  CqlModifier,
  CqlNode,
  CqlPrefixAssignment,
  CqlQuery,
  CqlRelation,
  CqlSearchClause,
  CqlSortKey,
  CqlSortSpec,
  CqlTerm,
  CqlTermSegment,
} from "./ast.js";
import { CqlDiagnostic, type CqlDiagnosticCode, CqlParseError } from "./errors.js";
import { CqlLexer, type CqlToken, createCqlTerm } from "./lexer.js";

/** Default for {@link CqlParseOptions.maxLength}. */
export const CQL_DEFAULT_MAX_LENGTH = 4096;
/** Default for {@link CqlParseOptions.maxDepth}. */
export const CQL_DEFAULT_MAX_DEPTH = 64;

/** Limits that keep a hostile query from costing more than a honest one. */
export interface CqlParseOptions {
  /** Longest query accepted, in UTF-16 code units (default 4096); longer ones fail with diagnostic 12. */
  maxLength?: number;
  /** Deepest nesting of parentheses accepted (default 64); deeper ones fail with diagnostic 13. */
  maxDepth?: number;
}

/** The index of a clause written as a bare term. */
export const CQL_SERVER_CHOICE = "cql.serverChoice";

const BOOLEAN_OPS: ReadonlySet<string> = new Set<CqlBooleanOp>(["and", "or", "not", "prox"]);
const KEYWORDS: ReadonlySet<string> = new Set(["and", "or", "not", "prox", "sortby"]);
// Relations spelled as words. Any other word after a term joins it (`palomar assignment`), as in
// cql-java and yaz, unless it is prefixed (`cql.within`, `dc.foo`), which only a relation can be.
const NAMED_RELATIONS: ReadonlySet<string> = new Set(["all", "any", "adj", "within", "encloses", "exact"]);
const PREFIXED_NAME = /^[A-Za-z_][\w-]*\.[A-Za-z_][\w.-]*$/;

/** True when `word` is a CQL keyword (`and`, `or`, `not`, `prox`, `sortBy`), in any letter case. */
export function isCqlKeyword(word: string): boolean {
  return KEYWORDS.has(word.toLowerCase());
}

/** True when the unquoted word `word` is read as a relation where one may follow an index. */
export function isCqlRelationWord(word: string): boolean {
  return NAMED_RELATIONS.has(word.toLowerCase()) || PREFIXED_NAME.test(word);
}

/**
 * Parses a CQL query into its syntax tree.
 *
 * Follows the grammar of CQL 1.2 (OASIS searchRetrieve, part 5, and YAZ's cql1.2.y taken from it):
 * booleans have equal precedence and group to the left (`a and b or c` is `(a and b) or c`);
 * keywords and named relations are case-insensitive; a prefix assignment may open the query or a
 * parenthesised part; `and`, `or`, `not`, `prox` and `sortby` are search terms (and index names)
 * wherever the grammar expects a term, since a term is the only thing that can stand there
 * (`prox`, `fish and and`, `sortby sortby sortby`: the term "sortby" sorted by index "sortby").
 *
 * One extension, as cql-java and YAZ have it: consecutive unquoted words form one term, which a bare
 * clause (no index, no relation) searches as all of its words — `history music` means what
 * `cql.serverChoice all "history music"` does, as a search box would — while a quoted term stays
 * one phrase. Nothing is checked against a profile here: see `validateCql`.
 *
 * @throws {CqlParseError} for a query that is not CQL, too long or nested too deep; no other error.
 */
export function parseCql(query: string, opts: CqlParseOptions = {}): CqlQuery {
  const maxLength = opts.maxLength ?? CQL_DEFAULT_MAX_LENGTH;
  if (query.length > maxLength) {
    throw new CqlParseError({
      position: maxLength,
      reason: `the query is ${query.length} characters long; the limit is ${maxLength}`,
      diagnostic: CqlDiagnostic.TooManyCharacters,
      details: String(maxLength),
    });
  }
  return new Parser(query, opts.maxDepth ?? CQL_DEFAULT_MAX_DEPTH).parseQuery();
}

interface Operand {
  node: CqlNode;
  /** Where the operand's text starts, opening parentheses included. */
  start: number;
}

class Parser {
  private readonly lexer: CqlLexer;
  private depth = 0;

  constructor(
    private readonly query: string,
    private readonly maxDepth: number,
  ) {
    this.lexer = new CqlLexer(query);
  }

  parseQuery(): CqlQuery {
    const prefixes = this.parsePrefixes();
    const { node: root } = this.parseBooleanChain(prefixes.length > 0 ? "after the prefix assignment" : "");
    const next = this.lexer.peek();
    let sortBy: CqlSortSpec | undefined;
    if (isKeyword(next, "sortby")) sortBy = this.parseSortSpec();
    // The sort keys run to the end of the query, so only a query without them can stop short.
    const end = this.lexer.peek();
    if (end.kind === "rparen") throw unbalancedClose(end.position);
    if (end.kind !== "eof") {
      throw fail(
        end.position,
        `expected 'and', 'or', 'not', 'prox', 'sortBy' or the end of the query, found ${describe(end)}`,
      );
    }
    return sortBy ? { prefixes, root, sortBy } : { prefixes, root };
  }

  /** `> prefix = "uri"` or `> "uri"`, any number of times. */
  private parsePrefixes(): CqlPrefixAssignment[] {
    const assignments: CqlPrefixAssignment[] = [];
    for (;;) {
      const gt = this.lexer.peek();
      if (gt.kind !== "comparison" || gt.value !== ">") return assignments;
      this.lexer.next();
      const first = this.lexer.next();
      if (first.kind !== "word") {
        throw fail(
          first.position,
          `expected a context set name or identifier after '>', found ${describe(first)}`,
        );
      }
      const eq = this.lexer.peek();
      if (!first.quoted && eq.kind === "comparison" && eq.value === "=") {
        this.lexer.next();
        const uri = this.lexer.next();
        if (uri.kind !== "word") {
          throw fail(
            uri.position,
            `expected a context set identifier after '${first.raw} =', found ${describe(uri)}`,
          );
        }
        assignments.push({ prefix: first.term.value, uri: uri.term.value, position: gt.position });
      } else {
        assignments.push({ uri: first.term.value, position: gt.position });
      }
    }
  }

  /** Operands joined by booleans, grouped to the left. `after` names what precedes, for messages. */
  private parseBooleanChain(after: string): Operand {
    const first = this.parseOperand(after);
    let left = first.node;
    for (;;) {
      const op = this.lexer.peek();
      if (op.kind !== "word" || op.quoted || !BOOLEAN_OPS.has(op.raw.toLowerCase())) break;
      this.lexer.next();
      const modifiers = this.parseModifiers();
      const right = this.parseOperand(`after '${op.raw}'`);
      left = {
        kind: "boolean",
        op: op.raw.toLowerCase() as CqlBooleanOp,
        modifiers,
        left,
        right: right.node,
        position: first.start,
        operatorPosition: op.position,
      };
    }
    return { node: left, start: first.start };
  }

  private parseOperand(after: string): Operand {
    const open = this.lexer.peek();
    if (open.kind !== "lparen") {
      const clause = this.parseClause(after);
      return { node: clause, start: clause.position };
    }
    this.lexer.next();
    if (this.depth >= this.maxDepth) {
      throw fail(
        open.position,
        `parentheses are nested deeper than ${this.maxDepth} levels`,
        CqlDiagnostic.InvalidParentheses,
        String(this.maxDepth),
      );
    }
    this.depth++;
    const empty = this.lexer.peek();
    if (empty.kind === "rparen") {
      throw fail(empty.position, "empty parentheses", CqlDiagnostic.InvalidParentheses);
    }
    const assignments = this.parsePrefixes();
    const inner = this.parseBooleanChain(
      assignments.length > 0 ? "after the prefix assignment" : "after '('",
    );
    const close = this.lexer.peek();
    if (close.kind !== "rparen") {
      if (close.kind === "eof") {
        throw fail(
          open.position,
          "unbalanced parentheses: this '(' is never closed",
          CqlDiagnostic.InvalidParentheses,
        );
      }
      if (isKeyword(close, "sortby")) {
        throw fail(close.position, "'sortBy' may only follow the whole query, not a parenthesised part");
      }
      throw fail(close.position, `expected a boolean operator or ')', found ${describe(close)}`);
    }
    this.lexer.next();
    this.depth--;
    const node: CqlNode =
      assignments.length > 0
        ? { kind: "prefix", assignments, query: inner.node, position: assignments[0]!.position }
        : inner.node;
    return { node, start: open.position };
  }

  private parseClause(after: string): CqlSearchClause {
    const first = this.lexer.peek();
    if (first.kind !== "word") throw this.missingTerm(first, after);
    this.lexer.next();
    // Where a clause begins only a term (or an index) can stand, so a keyword here is one (CQL 1.2:
    // `term ::= identifier | and | or | not | prox | sortby`); it is one word, never joined.
    const keyword = !first.quoted && isCqlKeyword(first.raw);
    const words = keyword ? { term: first.term, joined: false } : this.joinWords(first);
    const next = this.lexer.peek();
    if (!isRelationToken(next)) {
      return {
        kind: "clause",
        index: CQL_SERVER_CHOICE,
        // Bare words typed one after another: all of them (see parseCql).
        relation: { base: words.joined ? "all" : "=", modifiers: [], position: first.position },
        term: words.term,
        position: first.position,
      };
    }
    if (words.joined) {
      throw fail(
        next.position,
        `expected a boolean operator, found relation ${describe(next)}: an index is a single word, so quote a term of several words`,
      );
    }
    const relation = this.parseRelation();
    const termToken = this.lexer.peek();
    if (termToken.kind !== "word") {
      throw fail(
        termToken.position,
        `expected a search term after relation '${relation.base}'${termToken.kind === "eof" ? "" : `, found ${describe(termToken)}`}`,
      );
    }
    this.lexer.next();
    // Only a relation can precede this token, so a keyword here is a term (CQL allows `title = and`).
    const term =
      isCqlKeyword(termToken.raw) && !termToken.quoted ? termToken.term : this.joinWords(termToken).term;
    return { kind: "clause", index: first.term.value, relation, term, position: first.position };
  }

  /** Joins the unquoted words that follow `first` into one term, as `palomar assignment`. */
  private joinWords(first: Extract<CqlToken, { kind: "word" }>): { term: CqlTerm; joined: boolean } {
    if (first.quoted) return { term: first.term, joined: false };
    const segments: CqlTermSegment[] = [...first.term.segments];
    for (;;) {
      const next = this.lexer.peek();
      if (next.kind !== "word" || next.quoted || isCqlKeyword(next.raw) || isCqlRelationWord(next.raw)) break;
      this.lexer.next();
      segments.push({ kind: "text", text: " " }, ...next.term.segments);
    }
    return segments.length === first.term.segments.length
      ? { term: first.term, joined: false }
      : { term: createCqlTerm(segments, first.position), joined: true };
  }

  private parseRelation(): CqlRelation {
    const token = this.lexer.next();
    let base: string;
    if (token.kind === "comparison") base = token.value;
    else if (token.kind === "word") base = token.raw.toLowerCase();
    else throw fail(token.position, `expected a relation, found ${describe(token)}`);
    return { base, modifiers: this.parseModifiers(), position: token.position };
  }

  /** `/name` or `/name<comparison>value`, any number of times. */
  private parseModifiers(): CqlModifier[] {
    const modifiers: CqlModifier[] = [];
    for (;;) {
      const slash = this.lexer.peek();
      if (slash.kind !== "slash") return modifiers;
      this.lexer.next();
      const name = this.lexer.next();
      if (name.kind !== "word" || name.quoted) {
        throw fail(name.position, `expected a modifier name after '/', found ${describe(name)}`);
      }
      const comparison = this.lexer.peek();
      if (comparison.kind !== "comparison") {
        modifiers.push({ name: name.term.value, position: slash.position });
        continue;
      }
      this.lexer.next();
      const value = this.lexer.next();
      if (value.kind !== "word") {
        throw fail(
          value.position,
          `expected a value after '${name.raw}${comparison.value}', found ${describe(value)}`,
        );
      }
      modifiers.push({
        name: name.term.value,
        comparison: comparison.value,
        value: value.term.value,
        position: slash.position,
      });
    }
  }

  private parseSortSpec(): CqlSortSpec {
    const sortBy = this.lexer.next();
    const keys: CqlSortKey[] = [];
    for (;;) {
      const key = this.lexer.peek();
      if (key.kind === "eof") break;
      // A sort key is an index, and an index may be any term, keywords included.
      if (key.kind !== "word") {
        if (key.kind === "rparen") {
          throw unbalancedClose(key.position);
        }
        throw fail(key.position, `expected a sort key, found ${describe(key)}`);
      }
      this.lexer.next();
      keys.push({ index: key.term.value, modifiers: this.parseModifiers(), position: key.position });
    }
    if (keys.length === 0) {
      throw fail(
        this.query.length,
        `expected a sort key after '${sortBy.kind === "word" ? sortBy.raw : "sortBy"}'`,
      );
    }
    return { keys, position: sortBy.position };
  }

  private missingTerm(found: CqlToken, after: string): CqlParseError {
    if (found.kind === "eof" && after === "" && this.query.trim() === "") {
      return fail(found.position, "the query is empty");
    }
    if (found.kind === "rparen" && after === "") {
      return unbalancedClose(found.position);
    }
    const expected = `expected a search term${after === "" ? "" : ` ${after}`}`;
    if (found.kind === "eof") {
      return fail(found.position, after === "" ? `${expected}, found the end of the query` : expected);
    }
    if (found.kind === "comparison" && found.value === ">") {
      return fail(found.position, "a prefix assignment may only open the query or a parenthesised part");
    }
    const hint = found.kind === "word" ? " (quote it to search for the word)" : "";
    return fail(found.position, `${expected}, found ${describe(found)}${hint}`);
  }
}

function isKeyword(token: CqlToken, keyword: string): boolean {
  return token.kind === "word" && !token.quoted && token.raw.toLowerCase() === keyword;
}

function isRelationToken(token: CqlToken): boolean {
  if (token.kind === "comparison") return true;
  return token.kind === "word" && !token.quoted && isCqlRelationWord(token.raw);
}

function describe(token: CqlToken): string {
  switch (token.kind) {
    case "eof":
      return "the end of the query";
    case "word": {
      const text = token.raw.length > 40 ? `${token.raw.slice(0, 40)}…` : token.raw;
      return !token.quoted && isCqlKeyword(token.raw) ? `keyword '${text}'` : `'${text}'`;
    }
    case "comparison":
      return `'${token.value}'`;
    case "lparen":
      return "'('";
    case "rparen":
      return "')'";
    case "slash":
      return "'/'";
    default: {
      const _never: never = token;
      return _never;
    }
  }
}

function unbalancedClose(position: number): CqlParseError {
  return fail(position, "unbalanced ')': there is no '(' to close", CqlDiagnostic.InvalidParentheses);
}

function fail(
  position: number,
  reason: string,
  diagnostic: CqlDiagnosticCode = CqlDiagnostic.QuerySyntaxError,
  details?: string,
): CqlParseError {
  return new CqlParseError(
    details === undefined ? { position, reason, diagnostic } : { position, reason, diagnostic, details },
  );
}
