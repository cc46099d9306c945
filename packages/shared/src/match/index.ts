export { cjkBigrams, type FtsQueryOptions, toFtsDocument, toFtsQuery } from "./cjk.js";
export {
  hyphenateIsbn,
  isbn10To13,
  normalizeIsbn,
  normalizeIssn,
  normalizeLccn,
  oclcNumber,
  oclcNumberFrom001,
} from "./identifiers.js";
export {
  HAND_PRESS_END,
  identifiersConflict,
  type MatchKeys,
  MIN_TITLE_LENGTH,
  matchKeys,
  recordCompleteness,
} from "./keys.js";
export {
  normalizeAuthor,
  normalizeEdition,
  normalizePublisher,
  normalizeText,
  normalizeTitle,
  normalizeYear,
} from "./normalize.js";
