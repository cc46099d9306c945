import type { MarcRecord } from "./record.js";

/** Where a problem was found: a byte offset (ISO 2709) or a line and column (MARCXML). */
export interface MarcPosition {
  /** Byte offset in the file. */
  offset?: number | undefined;
  /** 1-based line (MARCXML). */
  line?: number | undefined;
  /** 1-based column (MARCXML). */
  column?: number | undefined;
}

/** What {@link MarcParseError} is built from. */
export interface MarcParseErrorInit extends MarcPosition {
  recordIndex: number;
  field?: string | undefined;
  reason: string;
}

/**
 * A record that could not be read. The reader reports it and carries on with the next record, so
 * one bad record never costs the rest of the file.
 */
export class MarcParseError extends Error {
  override readonly name = "MarcParseError";
  /** 1-based number of the record in the file. */
  readonly recordIndex: number;
  /** Byte offset of the record in the file (ISO 2709); undefined for MARCXML. */
  readonly offset: number | undefined;
  /** Line of the record, or of the fault when the XML parser knows it (MARCXML). */
  readonly line: number | undefined;
  readonly column: number | undefined;
  /** Tag of the field at fault, when one field is. */
  readonly field: string | undefined;
  /** What is wrong, without the position (which `message` adds). */
  readonly reason: string;

  constructor(init: MarcParseErrorInit) {
    super(describe(init));
    this.recordIndex = init.recordIndex;
    this.offset = init.offset;
    this.line = init.line;
    this.column = init.column;
    this.field = init.field;
    this.reason = init.reason;
  }
}

function describe(init: MarcParseErrorInit): string {
  let where = `record ${init.recordIndex}`;
  if (init.offset !== undefined) where += ` at byte ${init.offset}`;
  if (init.line !== undefined) where += ` at line ${init.line}`;
  if (init.field !== undefined) where += `, field ${init.field}`;
  return `${where}: ${init.reason}`;
}

/** Something wrong in a record that was still read, e.g. invalid UTF-8 replaced by U+FFFD. */
export interface MarcWarning extends MarcPosition {
  /** Tag of the field concerned, if any. */
  field?: string | undefined;
  reason: string;
}

/** How the text of an ISO 2709 record was encoded (leader/09, or the caller's override). */
export type MarcSourceEncoding = "utf-8" | "marc-8";

/** A record read successfully (perhaps with warnings). */
export interface MarcReadOk extends MarcPosition {
  ok: true;
  /** 1-based number of the record in the file, counting failed records too. */
  index: number;
  record: MarcRecord;
  /** Encoding the record was decoded from (ISO 2709 only; MARCXML is always Unicode). */
  encoding?: MarcSourceEncoding | undefined;
  /** Problems that did not stop the record from being read; empty for a clean record. */
  warnings: readonly MarcWarning[];
}

/** A record that could not be read. */
export interface MarcReadFailure extends MarcPosition {
  ok: false;
  /** 1-based number of the record in the file, counting failed records too. */
  index: number;
  error: MarcParseError;
  /** The record's bytes as found (ISO 2709), so that a caller can quarantine them. */
  raw?: Uint8Array | undefined;
}

/** One result per record, in file order. */
export type MarcReadResult = MarcReadOk | MarcReadFailure;

/** A result from the ISO 2709 reader: the byte offset of the record is always known. */
export type Iso2709Result = MarcReadResult & { offset: number };

/** A result from the MARCXML reader: the line and column of the record are always known. */
export type MarcXmlResult = MarcReadResult & { line: number; column: number };

/** Shared, so that clean records do not each allocate an empty array. */
export const NO_WARNINGS: readonly MarcWarning[] = Object.freeze([]);
