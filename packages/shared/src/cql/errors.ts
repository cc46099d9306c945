/**
 * SRU diagnostics (namespace `info:srw/diagnostic/1/`) raised by the CQL parser and validator.
 * Numbers from the SRU diagnostics list, https://www.loc.gov/standards/sru/diagnostics/diagnosticsList.html
 */
export const CqlDiagnostic = {
  /** 10 Query syntax error. */
  QuerySyntaxError: 10,
  /** 12 Too many characters in query (details: maximum supported). */
  TooManyCharacters: 12,
  /** 13 Invalid or unsupported use of parentheses (details: character offset). */
  InvalidParentheses: 13,
  /** 14 Invalid or unsupported use of quotes (details: character offset). */
  InvalidQuotes: 14,
  /** 15 Unsupported context set (details: URI or short name). */
  UnsupportedContextSet: 15,
  /** 16 Unsupported index (details: index name). */
  UnsupportedIndex: 16,
  /** 19 Unsupported relation (details: relation). */
  UnsupportedRelation: 19,
  /** 20 Unsupported relation modifier (details: modifier). */
  UnsupportedRelationModifier: 20,
  /** 21 Unsupported combination of relation modifiers. */
  UnsupportedModifierCombination: 21,
  /** 22 Unsupported combination of relation and index (details: index and relation). */
  UnsupportedRelationForIndex: 22,
  /** 27 Empty term unsupported. */
  EmptyTermUnsupported: 27,
  /** 28 Masking character not supported. */
  MaskingNotSupported: 28,
  /** 29 Masked words too short (details: the shortest stem accepted). */
  MaskedWordsTooShort: 29,
  /** 31 Anchoring character not supported. */
  AnchoringNotSupported: 31,
  /** 36 Term in invalid format for index or relation. */
  InvalidTermFormat: 36,
  /** 37 Unsupported boolean operator (details: operator). */
  UnsupportedBooleanOperator: 37,
  /** 39 Proximity not supported. */
  ProximityNotSupported: 39,
  /** 46 Unsupported boolean modifier (details: modifier). */
  UnsupportedBooleanModifier: 46,
  /** 49 Masking character in unsupported position. */
  MaskingInUnsupportedPosition: 49,
  /** 80 Sort not supported. */
  SortNotSupported: 80,
  /** 91 Unsupported case (sort). */
  UnsupportedSortCase: 91,
  /** 92 Unsupported missing value action (sort). */
  UnsupportedMissingValueAction: 92,
} as const;

/** One of the diagnostic numbers in {@link CqlDiagnostic}. */
export type CqlDiagnosticCode = (typeof CqlDiagnostic)[keyof typeof CqlDiagnostic];

/** The SRU diagnostic URI for a diagnostic number, e.g. `info:srw/diagnostic/1/10`. */
export function cqlDiagnosticUri(diagnostic: CqlDiagnosticCode): string {
  return `info:srw/diagnostic/1/${diagnostic}`;
}

// Diagnostics about the shape of the text; all others say the query is well formed but asks for
// something the profile does not offer, and the message should not call that a syntax error.
const SYNTAX_DIAGNOSTICS: ReadonlySet<number> = new Set([
  CqlDiagnostic.QuerySyntaxError,
  CqlDiagnostic.TooManyCharacters,
  CqlDiagnostic.InvalidParentheses,
  CqlDiagnostic.InvalidQuotes,
]);

/** What a {@link CqlParseError} is built from. */
export interface CqlParseErrorInit {
  position: number;
  reason: string;
  diagnostic: CqlDiagnosticCode;
  /** The SRU diagnostic's details field; defaults to the position for 13 and 14. */
  details?: string;
}

/**
 * A CQL query that cannot be parsed, or that asks for something the search profile does not support.
 * Carries what an SRU server needs to answer with a diagnostic.
 */
export class CqlParseError extends Error {
  override readonly name = "CqlParseError";
  /** 0-based offset of the offending token in the query. */
  readonly position: number;
  /** What is wrong, in words, without the position prefix. */
  readonly reason: string;
  /** The SRU diagnostic number (`info:srw/diagnostic/1/N`). */
  readonly diagnostic: CqlDiagnosticCode;
  /** The SRU diagnostic's details field (index name, relation, limit…), when it has one. */
  readonly details: string | undefined;

  constructor(init: CqlParseErrorInit) {
    const kind = SYNTAX_DIAGNOSTICS.has(init.diagnostic) ? "CQL syntax error" : "Unsupported CQL";
    super(`${kind} at position ${init.position}: ${init.reason}`);
    this.position = init.position;
    this.reason = init.reason;
    this.diagnostic = init.diagnostic;
    this.details =
      init.details ??
      (init.diagnostic === CqlDiagnostic.InvalidParentheses || init.diagnostic === CqlDiagnostic.InvalidQuotes
        ? String(init.position)
        : undefined);
  }

  /** The SRU diagnostic URI, e.g. `info:srw/diagnostic/1/16`. */
  get diagnosticUri(): string {
    return cqlDiagnosticUri(this.diagnostic);
  }
}
