/**
 * The columns of the search index, in table order: a member's `catalog_fts` and a union catalog's
 * `union_fts` have these columns, filled by {@link indexDocument} (document.ts), and the query
 * compiler (search/compile.ts) and the ranking weights (search/engine.ts) name them.
 */
export const INDEX_COLUMNS = [
  "title",
  "author",
  "subject",
  "isbn",
  "issn",
  "publisher",
  "year",
  "any",
] as const;
export type IndexColumn = (typeof INDEX_COLUMNS)[number];

/** The text of each index column of one record, already tokenised for FTS5 (match/cjk.ts toFtsDocument). */
export type IndexDocument = Record<IndexColumn, string>;

/** The document of a record whose bytes cannot be read as MARC: it is stored, but found by nothing. */
export const EMPTY_INDEX_DOCUMENT: Readonly<IndexDocument> = {
  title: "",
  author: "",
  subject: "",
  isbn: "",
  issn: "",
  publisher: "",
  year: "",
  any: "",
};
