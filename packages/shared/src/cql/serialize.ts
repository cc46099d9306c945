import type {
  CqlBoolean,
  CqlModifier,
  CqlNode,
  CqlPrefixAssignment,
  CqlQuery,
  CqlRelation,
  CqlSearchClause,
  CqlTerm,
} from "./ast.js";
import { isWordBreak } from "./lexer.js";
import { CQL_SERVER_CHOICE, isCqlKeyword, isCqlRelationWord } from "./parser.js";

const COMPARISONS: ReadonlySet<string> = new Set(["=", "==", "<>", "<", ">", "<=", ">="]);

/**
 * Writes a query tree back as CQL text that `parseCql` reads as the same tree (positions aside).
 * Terms are quoted only when they must be, so the output is a canonical spelling of the query.
 *
 * @throws {RangeError} for a tree no CQL text can express: an empty modifier name, or a relation
 *   that is neither a comparison sign nor a word the parser takes for a relation.
 */
export function cqlToString(query: CqlQuery): string {
  const parts: string[] = [];
  for (const assignment of query.prefixes) parts.push(writePrefixAssignment(assignment));
  parts.push(writeNode(query.root));
  // An empty sort specification means no sorting, and `sortBy` alone would not parse.
  if (query.sortBy && query.sortBy.keys.length > 0) {
    parts.push("sortBy");
    for (const key of query.sortBy.keys) parts.push(writeIndex(key.index) + writeModifiers(key.modifiers));
  }
  return parts.join(" ");
}

function writeNode(node: CqlNode): string {
  switch (node.kind) {
    case "clause":
      return writeClause(node);
    case "prefix":
      return `(${[...node.assignments.map(writePrefixAssignment), writeNode(node.query)].join(" ")})`;
    case "boolean":
      return writeBoolean(node);
    default: {
      const _never: never = node;
      return _never;
    }
  }
}

// Left operands are walked in a loop: a long `a or b or c …` chain is a left-deep tree that would
// otherwise cost a stack frame per operator.
function writeBoolean(node: CqlBoolean): string {
  const chain: CqlBoolean[] = [];
  let leftmost: CqlNode = node;
  while (leftmost.kind === "boolean") {
    chain.push(leftmost);
    leftmost = leftmost.left;
  }
  let text = writeNode(leftmost);
  for (let i = chain.length - 1; i >= 0; i--) {
    const step = chain[i]!;
    // Booleans group to the left, so only a boolean on the right needs parentheses; prefix nodes
    // write their own.
    const right = step.right.kind === "boolean" ? `(${writeNode(step.right)})` : writeNode(step.right);
    text = `${text} ${step.op}${writeModifiers(step.modifiers)} ${right}`;
  }
  return text;
}

function writeClause(clause: CqlSearchClause): string {
  const term = writeTerm(clause.term);
  if (
    clause.index === CQL_SERVER_CHOICE &&
    clause.relation.base === "=" &&
    clause.relation.modifiers.length === 0
  ) {
    return term;
  }
  return `${writeIndex(clause.index)} ${writeRelation(clause.relation)} ${term}`;
}

function writeRelation(relation: CqlRelation): string {
  const base = relation.base;
  if (!COMPARISONS.has(base) && !(isCqlRelationWord(base) && base === base.toLowerCase())) {
    throw new RangeError(`CQL cannot express the relation '${base}'`);
  }
  return base + writeModifiers(relation.modifiers);
}

function writeModifiers(modifiers: readonly CqlModifier[]): string {
  let text = "";
  for (const modifier of modifiers) {
    if (modifier.name === "") throw new RangeError("CQL cannot express a modifier with an empty name");
    text += `/${escapeWord(modifier.name)}`;
    if (modifier.comparison !== undefined && modifier.value !== undefined) {
      text += modifier.comparison + writeString(modifier.value);
    }
  }
  return text;
}

function writePrefixAssignment(assignment: CqlPrefixAssignment): string {
  const uri = quote(assignment.uri);
  if (assignment.prefix === undefined) return `> ${uri}`;
  if (assignment.prefix === "") throw new RangeError("CQL cannot express an empty context set prefix");
  return `> ${escapeWord(assignment.prefix)} = ${uri}`;
}

/** An index or sort key: a word, quoted when it holds anything that would end or change the word. */
function writeIndex(index: string): string {
  return needsQuotes(index) || isCqlKeyword(index) ? quote(index) : index;
}

/** A modifier value: masking characters carry no meaning there, so only quotes and backslashes are escaped. */
function writeString(value: string): string {
  return needsQuotes(value) ? quote(value) : value;
}

function writeTerm(term: CqlTerm): string {
  let plain = "";
  let quoted = "";
  let mustQuote = term.segments.length === 0;
  for (const seg of term.segments) {
    switch (seg.kind) {
      case "text":
        plain += seg.text;
        quoted += seg.text.replace(/[\\"*?^]/g, "\\$&");
        if (/[\\*?^]/.test(seg.text) || needsQuotes(seg.text)) mustQuote = true;
        break;
      case "mask":
        plain += seg.char;
        quoted += seg.char;
        break;
      case "anchor":
        plain += "^";
        quoted += "^";
        break;
      default: {
        const _never: never = seg;
        return _never;
      }
    }
  }
  // A keyword would be read as an operator, a relation word as the relation of a clause.
  if (mustQuote || isCqlKeyword(plain) || isCqlRelationWord(plain)) return `"${quoted}"`;
  return plain;
}

function needsQuotes(text: string): boolean {
  if (text === "") return true;
  for (const ch of text) if (isWordBreak(ch) || ch === "\\") return true;
  return false;
}

function quote(text: string): string {
  return `"${text.replace(/[\\"]/g, "\\$&")}"`;
}

/** Writes `text` as one unquoted word, escaping what would end it (modifier names must not be quoted). */
function escapeWord(text: string): string {
  let out = "";
  for (const ch of text) out += isWordBreak(ch) || ch === "\\" ? `\\${ch}` : ch;
  return out;
}
