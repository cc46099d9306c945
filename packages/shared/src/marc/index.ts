export { isMarcXmlBlob, readMarcBlob, readMarcBlobResult, toMarcBlob } from "./blob.js";
export {
  controlValue,
  getDataFields,
  getFields,
  isCopyField,
  type Linkage,
  type LinkedField880,
  linkedFields880,
  parseLinkage,
  subfieldValues,
} from "./fields.js";
export {
  Iso2709LimitError,
  type Iso2709Options,
  MAX_FIELD_LENGTH,
  MAX_RECORD_LENGTH,
  parseIso2709,
  readIso2709,
  toIso2709,
} from "./iso2709.js";
export { type FittedIso2709, fitIso2709 } from "./iso2709-fit.js";
export { decodeMarc8, type Marc8Issue, type Marc8IssueHandler } from "./marc8.js";
export {
  MARCXML_NAMESPACE,
  type MarcXmlWriteOptions,
  marcXmlCollection,
  parseMarcXml,
  readMarcXml,
  toMarcXml,
} from "./marcxml.js";
export { type MarcFormat, type ReadMarcOptions, readMarc, readMarcFile } from "./read-marc-file.js";
export {
  type Iso2709Result,
  MarcParseError,
  type MarcParseErrorInit,
  type MarcPosition,
  type MarcReadFailure,
  type MarcReadOk,
  type MarcReadResult,
  type MarcSourceEncoding,
  type MarcWarning,
  type MarcXmlResult,
} from "./read-result.js";
export {
  type ControlField,
  type DataField,
  isControlField,
  type MarcField,
  type MarcRecord,
  type Subfield,
} from "./record.js";
