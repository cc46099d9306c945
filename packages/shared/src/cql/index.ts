export type {
  CqlBoolean,
  CqlBooleanOp,
  CqlComparison,
  CqlModifier,
  CqlNode,
  CqlPrefixAssignment,
  CqlPrefixed,
  CqlQuery,
  CqlRelation,
  CqlSearchClause,
  CqlSortKey,
  CqlSortSpec,
  CqlTerm,
  CqlTermSegment,
} from "./ast.js";
export {
  CqlDiagnostic,
  type CqlDiagnosticCode,
  CqlParseError,
  type CqlParseErrorInit,
  cqlDiagnosticUri,
} from "./errors.js";
export { createCqlTerm } from "./lexer.js";
export {
  CQL_DEFAULT_MAX_DEPTH,
  CQL_DEFAULT_MAX_LENGTH,
  CQL_SERVER_CHOICE,
  type CqlParseOptions,
  isCqlKeyword,
  isCqlRelationWord,
  parseCql,
} from "./parser.js";
export { cqlToString } from "./serialize.js";
export { cqlTerm, titleQuery } from "./title-query.js";
export {
  type CqlIndexSpec,
  type CqlMaskingSpec,
  type CqlProfile,
  LRS_CQL_PROFILE,
  validateCql,
} from "./validate.js";
