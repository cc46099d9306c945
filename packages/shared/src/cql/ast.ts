/**
 * The syntax tree of a CQL query (Contextual Query Language, the query language of SRU).
 *
 * Every node carries `position`: the 0-based offset (in UTF-16 code units, i.e. a JavaScript string
 * index) of the first character of the node in the query text, so diagnostics can point at it.
 */

/** A CQL boolean operator. CQL gives all four the same precedence and groups them to the left. */
export type CqlBooleanOp = "and" | "or" | "not" | "prox";

/** The symbolic relations and comparison signs CQL knows; named relations (`any`, `cql.within`) are words. */
export type CqlComparison = "=" | "==" | "<>" | "<" | ">" | "<=" | ">=";

/**
 * A modifier on a relation (`any/relevant`), a boolean (`prox/distance<=5`) or a sort key
 * (`dc.date/sort.descending`). `comparison` and `value` are both present or both absent.
 */
export interface CqlModifier {
  /** As written, possibly prefixed (`cql.unit`, `sort.descending`). */
  name: string;
  comparison?: CqlComparison;
  /** The value with quotes removed and backslash escapes resolved. */
  value?: string;
  position: number;
}

/** The relation of a search clause. */
export interface CqlRelation {
  /** A comparison sign, or a named relation in lower case (`any`, `within`, `cql.within`). */
  base: string;
  modifiers: CqlModifier[];
  position: number;
}

/**
 * One piece of a search term. Masking (`*` any run of characters, `?` one character) and anchoring
 * (`^`) characters are only special when not escaped; splitting the term keeps a masking `*` apart
 * from a literal, escaped one, which the flat {@link CqlTerm.value} cannot.
 */
export type CqlTermSegment =
  | { kind: "text"; text: string }
  | { kind: "mask"; char: "*" | "?" }
  | { kind: "anchor" };

/** A search term with quotes removed and backslash escapes resolved. */
export interface CqlTerm {
  /** The term's characters, masking and anchoring characters included as written. */
  value: string;
  /** The term split into literal text and unescaped masking/anchoring characters. */
  segments: CqlTermSegment[];
  /** The term begins with an unescaped `*`. */
  leftTruncated: boolean;
  /** The term ends with an unescaped `*`. */
  rightTruncated: boolean;
  /** The term holds an unescaped `*` or `?` anywhere. */
  hasMask: boolean;
  /** The term holds an unescaped `^` (anchoring). */
  hasAnchor: boolean;
  position: number;
}

/** `index relation term`, or a bare term (then the index is `cql.serverChoice` and the relation `=`). */
export interface CqlSearchClause {
  kind: "clause";
  /** As written (case preserved), or `cql.serverChoice` when the clause is a bare term. */
  index: string;
  relation: CqlRelation;
  term: CqlTerm;
  position: number;
}

/** Two sub-queries joined by a boolean operator. */
export interface CqlBoolean {
  kind: "boolean";
  op: CqlBooleanOp;
  modifiers: CqlModifier[];
  left: CqlNode;
  right: CqlNode;
  /** Where the left operand starts, opening parentheses included. */
  position: number;
  /** Where the operator keyword is. */
  operatorPosition: number;
}

/**
 * Prefix assignments that open a parenthesised sub-query, e.g. `(> dc = "…" dc.title = cat)`.
 * They apply to `query` only; the ones that open the whole query live in {@link CqlQuery.prefixes}.
 */
export interface CqlPrefixed {
  kind: "prefix";
  /** Never empty. */
  assignments: CqlPrefixAssignment[];
  query: CqlNode;
  position: number;
}

/** `> dc = "info:srw/cql-context-set/1/dc-v1.1"`, or `> "uri"` which sets the default context set. */
export interface CqlPrefixAssignment {
  /** The short name, or undefined for a default context set assignment. */
  prefix?: string;
  uri: string;
  position: number;
}

/** Any node of the query tree below the root. */
export type CqlNode = CqlSearchClause | CqlBoolean | CqlPrefixed;

/** A sort key after `sortBy`: an index and its modifiers, e.g. `dc.date/sort.descending`. */
export interface CqlSortKey {
  index: string;
  modifiers: CqlModifier[];
  position: number;
}

/** The `sortBy` part of a query. */
export interface CqlSortSpec {
  /** Never empty. */
  keys: CqlSortKey[];
  /** Where the `sortBy` keyword is. */
  position: number;
}

/** A whole parsed CQL query. */
export interface CqlQuery {
  /** Prefix assignments before the query; they scope over the query and the sort keys. */
  prefixes: CqlPrefixAssignment[];
  root: CqlNode;
  sortBy?: CqlSortSpec;
}
