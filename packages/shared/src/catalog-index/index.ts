/**
 * The one set of rules by which every catalog of the federation — a member's local catalog, the
 * union catalogs of regional and national centers — turns a MARC record into the text of its search
 * index columns and the fields a result list shows.
 */
export { EMPTY_INDEX_DOCUMENT, INDEX_COLUMNS, type IndexColumn, type IndexDocument } from "./columns.js";
export { type DisplayFields, displayFields, publisherOf, trimPunctuation } from "./display.js";
export { indexDocument } from "./document.js";
export { formatOfLeader, languageOf } from "./formats.js";
export { indexedIdentifiers, issnToken, type RecordIdentifiers, shownIdentifiers } from "./identifiers.js";
export { formatAndLanguage } from "./kind.js";
export {
  INDEX_RULES_VERSION,
  type IndexRebuildResult,
  type IndexRebuildTarget,
  indexRulesOf,
  rebuildSearchIndex,
} from "./rebuild.js";
export { recordYears } from "./years.js";
