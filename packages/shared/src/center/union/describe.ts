/**
 * What the union catalog derives from one record when it arrives, so that clustering, choosing the
 * preferred record and indexing a cluster never parse MARC again: the match keys and completeness
 * (from match/), and the display summary and search text by the rules every catalog uses
 * (catalog-index/).
 */
import type { IndexDocument } from "../../catalog-index/columns.js";
import { EMPTY_INDEX_DOCUMENT } from "../../catalog-index/columns.js";
import { type DisplayFields, displayFields } from "../../catalog-index/display.js";
import { indexDocument } from "../../catalog-index/document.js";
import { readMarcBlob } from "../../marc/blob.js";
import { matchKeys, recordCompleteness } from "../../match/keys.js";

/**
 * What a cluster shows in a result list, taken from its preferred record: the record's display
 * fields (catalog-index/display.ts) but its identifiers — a cluster shows those of all its records.
 */
export type RecordSummary = Omit<DisplayFields, "isbns" | "issns">;

/** Everything the union catalog keeps about a record besides its bytes and holdings. */
export interface RecordDescription {
  /** False when the bytes could not be read as MARC: the record is kept (and forwarded) but unmatched. */
  readable: boolean;
  strong: string[];
  fuzzy: string | undefined;
  completeness: number;
  summary: RecordSummary;
  search: IndexDocument;
}

const EMPTY_SUMMARY: RecordSummary = {
  title: "",
  titleVernacular: "",
  author: "",
  year: "",
  language: "",
  format: "",
};

/** The summary a record shows (its display fields without identifiers). */
export function recordSummary(fields: DisplayFields): RecordSummary {
  const { isbns: _i, issns: _s, ...summary } = fields;
  return summary;
}

/** Derives keys, completeness, summary and search text from a record's bytes. */
export function describeRecord(marc: Uint8Array): RecordDescription {
  const record = readMarcBlob(marc);
  if (!record) {
    return {
      readable: false,
      strong: [],
      fuzzy: undefined,
      completeness: 0,
      summary: EMPTY_SUMMARY,
      search: { ...EMPTY_INDEX_DOCUMENT },
    };
  }
  const keys = matchKeys(record);
  return {
    readable: true,
    strong: keys.strong,
    fuzzy: keys.fuzzy,
    completeness: recordCompleteness(record),
    summary: recordSummary(displayFields(record)),
    search: indexDocument(record),
  };
}
