import type {
  CqlBoolean,
  CqlBooleanOp,
  CqlModifier,
  CqlNode,
  CqlPrefixAssignment,
  CqlQuery,
  CqlSearchClause,
  CqlSortKey,
  CqlSortSpec,
  CqlTerm,
} from "./ast.js";
import { CqlDiagnostic, type CqlDiagnosticCode, CqlParseError } from "./errors.js";

/** What one index of a profile supports. */
export interface CqlIndexSpec {
  /** Canonical relations allowed on the index (`=`, `==`, `any`, `within`…). */
  relations: readonly string[];
  /**
   * `date` terms must be a year, year-month or full date (`1990`, `1990-05`, `1990-05-17`) under
   * an ordering relation, and two of them under `within`.
   */
  kind?: "text" | "date";
}

/** What parts of masking a profile supports; `*` at the end of a word is right truncation. */
export interface CqlMaskingSpec {
  rightTruncation: boolean;
  leftTruncation: boolean;
  /** `*` inside a word. */
  internal: boolean;
  /** `?` anywhere. */
  singleCharacter: boolean;
  /** `^` anywhere. */
  anchoring: boolean;
}

/**
 * The part of CQL a server supports. Names of context sets, indexes, aliases and modifiers are
 * matched case-insensitively; the spelling given here is the canonical one that
 * {@link validateCql} writes into the tree it returns.
 */
export interface CqlProfile {
  /** Context sets by their conventional short name (`dc`, `cql`, `sort`…), each with the URIs it answers to. */
  contextSets: Readonly<Record<string, readonly string[]>>;
  /** Indexes by canonical name, `set.name`, where `set` is a key of {@link contextSets}. */
  indexes: Readonly<Record<string, CqlIndexSpec>>;
  /**
   * Other names for indexes: unprefixed ones (`title`) used when no default context set is
   * assigned, and qualified ones (`cql.serverChoice`) reached through their context set.
   */
  indexAliases: Readonly<Record<string, string>>;
  /** Other spellings of relations (`exact` for `==`); a `cql.` prefix is always understood. */
  relationAliases: Readonly<Record<string, string>>;
  /** Relation modifiers (of the `cql` context set) that may be used, without a value. */
  relationModifiers: readonly string[];
  booleans: readonly CqlBooleanOp[];
  booleanModifiers: readonly string[];
  /**
   * Allowed sort keys: canonical index names, or names without a dot (`relevance`) that are
   * sort keys only. Empty when the server does not sort.
   */
  sortKeys: readonly string[];
  /** Sort modifiers (of the `sort` context set) that may be used, without a value. */
  sortModifiers: readonly string[];
  masking: CqlMaskingSpec;
  allowEmptyTerm: boolean;
}

const TEXT_RELATIONS = ["=", "==", "all", "any", "adj"] as const;
const text: CqlIndexSpec = { relations: TEXT_RELATIONS, kind: "text" };

/** The CQL that LRS search answers (design flow 4). */
export const LRS_CQL_PROFILE: CqlProfile = {
  contextSets: {
    // The identifiers of each context set, new and old: clients written for SRW 1.x still send the
    // http://www.loc.gov/zing/… forms the early specifications gave.
    cql: [
      "info:srw/cql-context-set/1/cql-v1.2",
      "info:srw/cql-context-set/1/cql-v1.1",
      "http://www.loc.gov/zing/cql/context-sets/cql/v1.1/",
      // CQL 1.0 called it the "srw" index set.
      "http://www.loc.gov/zing/cql/srw-indexes/v1.0/",
    ],
    dc: [
      "info:srw/cql-context-set/1/dc-v1.1",
      "info:srw/cql-context-set/1/dc-v1.0",
      // The spelling the CQL specification's own prefix example uses.
      "info:srw/context-sets/1/dc-v1.1",
      "http://www.loc.gov/zing/cql/context-sets/dc/v1.1/",
      "http://www.loc.gov/zing/cql/dc-indexes/v1.0/",
      // Dublin Core's own namespace, which some clients send for the dc context set.
      "http://purl.org/dc/elements/1.1/",
    ],
    // The Bath Profile for SRW 2.0 names one identifier for its context set.
    bath: ["http://zing.z3950.org/cql/bath/2.0/"],
    rec: ["info:srw/cql-context-set/2/rec-1.1", "info:srw/cql-context-set/2/rec-1.0"],
    sort: ["info:srw/cql-context-set/1/sort-v1.0"],
  },
  indexes: {
    "dc.title": text,
    "dc.creator": text,
    "dc.subject": text,
    "dc.publisher": text,
    "dc.date": { relations: [...TEXT_RELATIONS, "within", "<", ">", "<=", ">="], kind: "date" },
    "bath.isbn": text,
    "bath.issn": text,
    "rec.identifier": text,
    "cql.anywhere": text,
  },
  indexAliases: {
    "cql.serverChoice": "cql.anywhere",
    title: "dc.title",
    author: "dc.creator",
    creator: "dc.creator",
    subject: "dc.subject",
    publisher: "dc.publisher",
    date: "dc.date",
    year: "dc.date",
    isbn: "bath.isbn",
    issn: "bath.issn",
    id: "rec.identifier",
    any: "cql.anywhere",
  },
  relationAliases: { exact: "==" },
  // What SQLite FTS5's unicode61 tokenizer does anyway; ranking is always by relevance.
  relationModifiers: ["relevant", "ignoreCase", "ignoreAccents"],
  booleans: ["and", "or", "not"],
  booleanModifiers: [],
  sortKeys: ["dc.title", "dc.creator", "dc.date", "relevance"],
  sortModifiers: ["ascending", "descending"],
  // FTS5 matches prefixes (`dino*`) and nothing else.
  masking: {
    rightTruncation: true,
    leftTruncation: false,
    internal: false,
    singleCharacter: false,
    anchoring: false,
  },
  allowEmptyTerm: false,
};

/**
 * Checks a parsed query against a profile and returns it normalised: indexes, relations and
 * modifiers carry their canonical names (`author` → `dc.creator`, `cql.within` → `within`,
 * `sort.descending` → `descending`). Prefix assignments are resolved and dropped, since canonical
 * names need none; positions still point into the original query.
 *
 * @throws {CqlParseError} at the first unsupported part, in reading order, with the SRU diagnostic
 *   that names it (16 index, 19 relation, 22 relation on that index, 39 proximity, 80 sort…).
 */
export function validateCql(query: CqlQuery, profile: CqlProfile = LRS_CQL_PROFILE): CqlQuery {
  const validator = new Validator(profile);
  const scope = validator.scope(undefined, query.prefixes);
  const root = validator.node(query.root, scope);
  if (!query.sortBy) return { prefixes: [], root };
  return { prefixes: [], root, sortBy: validator.sort(query.sortBy, scope) };
}

/** Prefix assignments in force: innermost first through `parent`. */
interface Scope {
  prefixes: ReadonlyMap<string, string>;
  /** The default context set for unprefixed indexes, inherited from outer scopes. */
  defaultUri: string | undefined;
  parent: Scope | undefined;
}

class Validator {
  private readonly setByUri = new Map<string, string>();
  private readonly standardUri = new Map<string, string>();
  private readonly indexes = new Map<string, string>();
  private readonly qualifiedAliases = new Map<string, string>();
  private readonly plainAliases = new Map<string, string>();
  private readonly supportedRelations = new Set<string>();

  constructor(private readonly profile: CqlProfile) {
    for (const [set, uris] of Object.entries(profile.contextSets)) {
      for (const uri of uris) this.setByUri.set(uri, set);
      if (uris[0] !== undefined) this.standardUri.set(set.toLowerCase(), uris[0]);
    }
    for (const [name, spec] of Object.entries(profile.indexes)) {
      this.indexes.set(name.toLowerCase(), name);
      for (const relation of spec.relations) this.supportedRelations.add(relation);
    }
    for (const [alias, target] of Object.entries(profile.indexAliases)) {
      (alias.includes(".") ? this.qualifiedAliases : this.plainAliases).set(alias.toLowerCase(), target);
    }
  }

  scope(parent: Scope | undefined, assignments: readonly CqlPrefixAssignment[]): Scope | undefined {
    if (assignments.length === 0) return parent;
    const prefixes = new Map<string, string>();
    let defaultUri = parent?.defaultUri;
    for (const a of assignments) {
      if (a.prefix === undefined) defaultUri = a.uri;
      else prefixes.set(a.prefix.toLowerCase(), a.uri);
    }
    return { prefixes, defaultUri, parent };
  }

  node(node: CqlNode, scope: Scope | undefined): CqlNode {
    switch (node.kind) {
      case "clause":
        return this.clause(node, scope);
      case "prefix":
        return this.node(node.query, this.scope(scope, node.assignments));
      case "boolean":
        return this.booleanChain(node, scope);
      default: {
        const _never: never = node;
        return _never;
      }
    }
  }

  // Walks the left spine in a loop (a long `a or b or …` chain is a left-deep tree) and checks the
  // parts in reading order, so the error reported is the leftmost one.
  private booleanChain(node: CqlBoolean, scope: Scope | undefined): CqlNode {
    const chain: CqlBoolean[] = [];
    let leftmost: CqlNode = node;
    while (leftmost.kind === "boolean") {
      chain.push(leftmost);
      leftmost = leftmost.left;
    }
    let result = this.node(leftmost, scope);
    for (let i = chain.length - 1; i >= 0; i--) {
      const step = chain[i]!;
      const modifiers = this.booleanModifiers(step);
      result = { ...step, modifiers, left: result, right: this.node(step.right, scope) };
    }
    return result;
  }

  /** Checks the operator and returns its modifiers under their canonical names. */
  private booleanModifiers(node: CqlBoolean): CqlModifier[] {
    if (!this.profile.booleans.includes(node.op)) {
      throw unsupported(
        node.operatorPosition,
        node.op === "prox"
          ? "proximity ('prox') is not supported"
          : `the boolean operator '${node.op}' is not supported`,
        node.op === "prox" ? CqlDiagnostic.ProximityNotSupported : CqlDiagnostic.UnsupportedBooleanOperator,
        node.op,
      );
    }
    return node.modifiers.map((modifier) => {
      const name = this.profile.booleanModifiers.find((m) => m.toLowerCase() === modifier.name.toLowerCase());
      if (name === undefined) {
        throw unsupported(
          modifier.position,
          `the boolean modifier '${modifier.name}' is not supported`,
          CqlDiagnostic.UnsupportedBooleanModifier,
          modifier.name,
        );
      }
      return { ...modifier, name };
    });
  }

  private clause(clause: CqlSearchClause, scope: Scope | undefined): CqlSearchClause {
    const index = this.index(clause.index, clause.position, scope);
    const spec = this.profile.indexes[index];
    // Only a profile whose alias names no index gets here.
    if (spec === undefined) throw unknownIndex(clause.index, clause.position);
    const relation = this.relation(clause.relation.base, clause.relation.position, scope);
    if (!spec.relations.includes(relation)) {
      throw unsupported(
        clause.relation.position,
        `the relation '${clause.relation.base}' cannot be used with the index '${clause.index}'`,
        CqlDiagnostic.UnsupportedRelationForIndex,
        `${clause.index} ${clause.relation.base}`,
      );
    }
    const modifiers = clause.relation.modifiers.map((m) => this.relationModifier(m, scope));
    this.term(clause.term, spec, relation);
    return {
      ...clause,
      index,
      relation: { ...clause.relation, base: relation, modifiers },
      term: { ...clause.term, segments: clause.term.segments.map((s) => ({ ...s })) },
    };
  }

  /** The canonical name of an index, or the diagnostic for it. */
  private index(name: string, position: number, scope: Scope | undefined): string {
    const dot = name.indexOf(".");
    let set: string;
    let base: string;
    if (dot > 0) {
      set = this.contextSet(name.slice(0, dot), position, scope);
      base = name.slice(dot + 1);
    } else {
      const defaultUri = scope?.defaultUri;
      if (defaultUri === undefined) {
        const alias = this.plainAliases.get(name.toLowerCase());
        if (alias !== undefined) return alias;
        throw unknownIndex(name, position);
      }
      set = this.setForUri(defaultUri, position);
      base = name;
    }
    const qualified = `${set}.${base}`.toLowerCase();
    const found = this.indexes.get(qualified) ?? this.qualifiedAliases.get(qualified);
    if (found === undefined) throw unknownIndex(name, position);
    return found;
  }

  /** The profile's name for the context set a prefix stands for in this scope. */
  private contextSet(prefix: string, position: number, scope: Scope | undefined): string {
    const key = prefix.toLowerCase();
    for (let s = scope; s !== undefined; s = s.parent) {
      const uri = s.prefixes.get(key);
      if (uri !== undefined) return this.setForUri(uri, position);
    }
    const uri = this.standardUri.get(key);
    if (uri === undefined) {
      throw unsupported(
        position,
        `the context set prefix '${prefix}' is not assigned`,
        CqlDiagnostic.UnsupportedContextSet,
        prefix,
      );
    }
    return this.setForUri(uri, position);
  }

  private setForUri(uri: string, position: number): string {
    const set = this.setByUri.get(uri);
    if (set === undefined) {
      throw unsupported(
        position,
        `the context set '${uri}' is not supported`,
        CqlDiagnostic.UnsupportedContextSet,
        uri,
      );
    }
    return set;
  }

  private relation(base: string, position: number, scope: Scope | undefined): string {
    let name = base.toLowerCase();
    const dot = name.indexOf(".");
    if (dot > 0) {
      // Only the cql context set defines relations; `foo.within` names some other set's relation.
      const set = this.contextSet(base.slice(0, dot), position, scope);
      if (set !== "cql") throw unsupportedRelation(base, position);
      name = name.slice(dot + 1);
    }
    name = this.profile.relationAliases[name] ?? name;
    if (!this.supportedRelations.has(name)) throw unsupportedRelation(base, position);
    return name;
  }

  private relationModifier(modifier: CqlModifier, scope: Scope | undefined): CqlModifier {
    const name = this.modifierName(modifier, "cql", this.profile.relationModifiers, scope);
    if (name === undefined || modifier.comparison !== undefined) {
      throw unsupported(
        modifier.position,
        `the relation modifier '${writtenModifier(modifier)}' is not supported`,
        CqlDiagnostic.UnsupportedRelationModifier,
        writtenModifier(modifier),
      );
    }
    return { ...modifier, name };
  }

  /** The canonical name of a modifier from context set `set`, or undefined when not supported. */
  private modifierName(
    modifier: CqlModifier,
    set: string,
    supported: readonly string[],
    scope: Scope | undefined,
  ): string | undefined {
    let base = modifier.name;
    const dot = base.indexOf(".");
    if (dot > 0) {
      if (this.contextSet(base.slice(0, dot), modifier.position, scope) !== set) return undefined;
      base = base.slice(dot + 1);
    }
    return supported.find((s) => s.toLowerCase() === base.toLowerCase());
  }

  private term(term: CqlTerm, spec: CqlIndexSpec, relation: string): void {
    // A term of blanks finds what an empty one does: nothing, or everything.
    if (term.value.trim() === "" && !this.profile.allowEmptyTerm) {
      throw unsupported(
        term.position,
        "an empty search term is not supported",
        CqlDiagnostic.EmptyTermUnsupported,
      );
    }
    if (spec.kind === "date" && (relation === "within" || ORDERING.has(relation))) {
      const values = term.value.trim().split(/\s+/);
      const count = relation === "within" ? 2 : 1;
      if (values.length !== count || !values.every((v) => DATE.test(v)) || term.hasMask || term.hasAnchor) {
        throw unsupported(
          term.position,
          relation === "within"
            ? `'within' needs two dates, as in "1990 2000"; found '${term.value}'`
            : `'${relation}' needs a date such as 1990 or 1990-05-17; found '${term.value}'`,
          CqlDiagnostic.InvalidTermFormat,
          `${relation} ${term.value}`,
        );
      }
    }
    this.masking(term);
  }

  private masking(term: CqlTerm): void {
    const problem = maskingProblem(term, this.profile.masking);
    if (problem) throw unsupported(term.position, `${problem.reason} in '${term.value}'`, problem.diagnostic);
  }

  sort(spec: CqlSortSpec, scope: Scope | undefined): CqlSortSpec {
    if (this.profile.sortKeys.length === 0) {
      throw unsupported(spec.position, "sorting is not supported", CqlDiagnostic.SortNotSupported);
    }
    return { ...spec, keys: spec.keys.map((key) => this.sortKey(key, scope)) };
  }

  private sortKey(key: CqlSortKey, scope: Scope | undefined): CqlSortKey {
    const special = this.profile.sortKeys.find(
      (k) => !k.includes(".") && k.toLowerCase() === key.index.toLowerCase(),
    );
    const index = special ?? this.index(key.index, key.position, scope);
    if (!this.profile.sortKeys.includes(index)) {
      throw unsupported(
        key.position,
        `cannot sort by '${key.index}'; sort keys are ${this.profile.sortKeys.join(", ")}`,
        CqlDiagnostic.SortNotSupported,
        key.index,
      );
    }
    const modifiers = key.modifiers.map((modifier) => {
      const name = this.modifierName(modifier, "sort", this.profile.sortModifiers, scope);
      if (name !== undefined && modifier.comparison === undefined) return { ...modifier, name };
      const written = writtenModifier(modifier);
      const base = (modifier.name.split(".").pop() ?? "").toLowerCase();
      const diagnostic =
        base === "ignorecase" || base === "respectcase"
          ? CqlDiagnostic.UnsupportedSortCase
          : base.startsWith("missing")
            ? CqlDiagnostic.UnsupportedMissingValueAction
            : CqlDiagnostic.SortNotSupported;
      throw unsupported(
        modifier.position,
        `the sort modifier '${written}' is not supported`,
        diagnostic,
        written,
      );
    });
    const names = new Set(modifiers.map((m) => m.name.toLowerCase()));
    if (names.has("ascending") && names.has("descending")) {
      throw unsupported(
        key.position,
        `the sort key '${key.index}' is both ascending and descending`,
        CqlDiagnostic.SortNotSupported,
        key.index,
      );
    }
    return { ...key, index, modifiers };
  }
}

/** The first use of masking or anchoring in `term` that `masking` does not allow. */
function maskingProblem(
  term: CqlTerm,
  masking: CqlMaskingSpec,
): { reason: string; diagnostic: CqlDiagnosticCode } | undefined {
  // Masking applies per word: `palomar assign*` truncates the second word on the right.
  const words: Array<Array<"char" | "*" | "?">> = [[]];
  for (const seg of term.segments) {
    switch (seg.kind) {
      case "text":
        for (const ch of seg.text) {
          if (/\s/.test(ch)) words.push([]);
          else words[words.length - 1]!.push("char");
        }
        break;
      case "mask":
        words[words.length - 1]!.push(seg.char);
        break;
      case "anchor":
        if (!masking.anchoring) {
          return {
            reason: "anchoring ('^') is not supported",
            diagnostic: CqlDiagnostic.AnchoringNotSupported,
          };
        }
        break;
      default: {
        const _never: never = seg;
        return _never;
      }
    }
  }
  for (const word of words) {
    for (const [i, unit] of word.entries()) {
      if (unit === "?" && !masking.singleCharacter) {
        return {
          reason: "single-character masking ('?') is not supported",
          diagnostic: CqlDiagnostic.MaskingNotSupported,
        };
      }
      if (unit !== "*") continue;
      const [allowed, reason] =
        i === 0
          ? [masking.leftTruncation, "masking at the start of a word (left truncation) is not supported"]
          : i === word.length - 1
            ? [masking.rightTruncation, "right truncation is not supported"]
            : [masking.internal, "masking inside a word is not supported"];
      if (!allowed) return { reason, diagnostic: CqlDiagnostic.MaskingInUnsupportedPosition };
    }
  }
  return undefined;
}

const ORDERING: ReadonlySet<string> = new Set(["<", ">", "<=", ">="]);
const DATE = /^\d{4}(-\d{2}(-\d{2})?)?$/;

function writtenModifier(modifier: CqlModifier): string {
  return modifier.comparison === undefined
    ? modifier.name
    : `${modifier.name}${modifier.comparison}${modifier.value ?? ""}`;
}

function unknownIndex(name: string, position: number): CqlParseError {
  return unsupported(position, `the index '${name}' is not supported`, CqlDiagnostic.UnsupportedIndex, name);
}

function unsupportedRelation(relation: string, position: number): CqlParseError {
  return unsupported(
    position,
    `the relation '${relation}' is not supported`,
    CqlDiagnostic.UnsupportedRelation,
    relation,
  );
}

function unsupported(
  position: number,
  reason: string,
  diagnostic: CqlDiagnosticCode,
  details?: string,
): CqlParseError {
  return new CqlParseError(
    details === undefined ? { position, reason, diagnostic } : { position, reason, diagnostic, details },
  );
}
