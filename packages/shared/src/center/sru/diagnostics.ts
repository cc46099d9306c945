/**
 * SRU diagnostics (`info:srw/diagnostic/1/N`) the server answers with, besides the CQL ones the
 * search backend raises (those carry their own number, see `CqlParseError.diagnostic`).
 * Numbers and standard messages from https://www.loc.gov/standards/sru/diagnostics/diagnosticsList.html
 */
export const SruDiagnosticCode = {
  GeneralSystemError: 1,
  SystemTemporarilyUnavailable: 2,
  UnsupportedOperation: 4,
  UnsupportedVersion: 5,
  UnsupportedParameterValue: 6,
  MandatoryParameterNotSupplied: 7,
  QuerySyntaxError: 10,
  TooManyCharactersInQuery: 12,
  FirstRecordOutOfRange: 61,
  SystemErrorRetrievingRecords: 63,
  UnknownSchema: 66,
  UnsupportedRecordPacking: 71,
  SortNotSupported: 80,
  UnsupportedSortPath: 88,
} as const;

/** One diagnostic as the response carries it. */
export interface SruDiagnostic {
  /** The number N of `info:srw/diagnostic/1/N`. */
  code: number;
  /** What the diagnostic list says goes in details (the parameter, the limit, the index…). */
  details?: string | undefined;
  /** A sentence for a person; the standard message when nothing more specific is known. */
  message: string;
}

const STANDARD_MESSAGES: Readonly<Record<number, string>> = {
  1: "General system error",
  2: "System temporarily unavailable",
  4: "Unsupported operation",
  5: "Unsupported version",
  6: "Unsupported parameter value",
  7: "Mandatory parameter not supplied",
  8: "Unsupported parameter",
  10: "Query syntax error",
  12: "Too many characters in query",
  61: "First record position out of range",
  63: "System error in retrieving records",
  66: "Unknown schema for retrieval",
  71: "Unsupported record packing",
  80: "Sort not supported",
  88: "Unsupported path for sort",
};

/** The diagnostic's URI, `info:srw/diagnostic/1/N`. */
export function sruDiagnosticUri(code: number): string {
  return `info:srw/diagnostic/1/${code}`;
}

/** A diagnostic with the standard message unless a more specific one is given. */
export function sruDiagnostic(code: number, details?: string, message?: string): SruDiagnostic {
  return { code, details, message: message ?? STANDARD_MESSAGES[code] ?? `Diagnostic ${code}` };
}
