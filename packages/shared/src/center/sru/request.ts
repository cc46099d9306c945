/**
 * SRU requests: reading them from the three bindings (GET query string, POST form, SOAP envelope)
 * into one shape, and checking their parameters into what the server executes.
 */
import { SaxesParser } from "saxes";
import { parseCql } from "../../cql/parser.js";
import { LRS_CQL_PROFILE } from "../../cql/validate.js";
import { type SruDiagnostic, SruDiagnosticCode, sruDiagnostic } from "./diagnostics.js";

export type SruVersion = "1.1" | "1.2" | "2.0";
export type SruBinding = "get" | "post" | "soap";
/** How records sit in `recordData`: as XML, or as XML escaped into a string. */
export type RecordPacking = "xml" | "string";

/** Namespaces of SRU 1.1/1.2 (SRW) and 2.0 messages. */
export const SRU_NS = {
  v1: "http://www.loc.gov/zing/srw/",
  v1Diagnostic: "http://www.loc.gov/zing/srw/diagnostic/",
  v2Request: "http://docs.oasis-open.org/ns/search-ws/sruRequest",
  v2Response: "http://docs.oasis-open.org/ns/search-ws/sruResponse",
  v2Diagnostic: "http://docs.oasis-open.org/ns/search-ws/diagnostic",
  v2Scan: "http://docs.oasis-open.org/ns/search-ws/scan",
} as const;

export const SOAP_11_ENVELOPE = "http://schemas.xmlsoap.org/soap/envelope/";
export const SOAP_12_ENVELOPE = "http://www.w3.org/2003/05/soap-envelope";

/** A request as it arrived, before anything is checked. */
export interface SruRawRequest {
  binding: SruBinding;
  /** The operation the request names: the `operation` parameter, or the SOAP body's element. */
  operation: string | undefined;
  /** Parameters by name; of a repeated parameter the first value counts. */
  params: ReadonlyMap<string, string>;
  /** SOAP only: the envelope's namespace (SOAP 1.1 or 1.2); the answer uses the same. */
  soapEnvelope?: string;
  /** The version to answer in when the request has no `version` (a SOAP request element's namespace says). */
  impliedVersion?: SruVersion;
}

/** Reads a GET query string or an `application/x-www-form-urlencoded` body. */
export function rawFromForm(text: string, binding: "get" | "post"): SruRawRequest {
  const params = new Map<string, string>();
  for (const [name, value] of new URLSearchParams(text)) if (!params.has(name)) params.set(name, value);
  return { binding, operation: params.get("operation"), params };
}

/** A SOAP request that cannot be read; answered with a SOAP Fault. */
export class SoapRequestError extends Error {
  override readonly name = "SoapRequestError";
}

const SOAP_OPERATIONS: Readonly<Record<string, string>> = {
  searchRetrieveRequest: "searchRetrieve",
  explainRequest: "explain",
  scanRequest: "scan",
};

/**
 * Reads an SRU request from a SOAP envelope (the SRU 1.2 SOAP binding, what yaz-client sends by
 * default): `Envelope/Body/searchRetrieveRequest` (or `explainRequest`, `scanRequest`) whose child
 * elements are the parameters. Nested parameters (`extraRequestData`) are not read. Documents with
 * a DTD are refused, as SOAP requires.
 *
 * @throws {SoapRequestError} when the text is not a SOAP envelope holding one request element.
 */
export function rawFromSoap(xml: string): SruRawRequest {
  const parser = new SaxesParser({ xmlns: true });
  const path: Array<{ uri: string; local: string }> = [];
  let envelope: string | undefined;
  let operationElement: { uri: string; local: string } | undefined;
  let param: string | undefined;
  let text = "";
  const params = new Map<string, string>();
  parser.on("doctype", () => {
    throw new SoapRequestError("a SOAP message must not contain a document type declaration");
  });
  parser.on("opentag", (tag) => {
    const depth = path.length;
    const el = { uri: tag.uri, local: tag.local };
    if (depth === 0) {
      if (el.local !== "Envelope" || (el.uri !== SOAP_11_ENVELOPE && el.uri !== SOAP_12_ENVELOPE)) {
        throw new SoapRequestError(`expected a SOAP Envelope, found <${tag.name}> in namespace "${el.uri}"`);
      }
      envelope = el.uri;
    } else if (depth === 2 && path[1]?.local === "Body" && path[1].uri === envelope) {
      if (operationElement) throw new SoapRequestError("the SOAP Body holds more than one request");
      operationElement = el;
    } else if (depth === 3 && operationElement && path[2] === operationElement) {
      param = el.local;
      text = "";
    }
    path.push(el);
  });
  parser.on("text", (t) => {
    if (param !== undefined && path.length === 4) text += t;
  });
  parser.on("cdata", (t) => {
    if (param !== undefined && path.length === 4) text += t;
  });
  parser.on("closetag", () => {
    if (path.length === 4 && param !== undefined) {
      if (!params.has(param)) params.set(param, text.trim());
      param = undefined;
    }
    path.pop();
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    if (err instanceof SoapRequestError) throw err;
    throw new SoapRequestError(`the request is not well-formed XML: ${(err as Error).message}`);
  }
  if (!operationElement) throw new SoapRequestError("the SOAP Body holds no SRU request");
  const local = operationElement.local;
  const impliedVersion: SruVersion =
    operationElement.uri === SRU_NS.v2Request || operationElement.uri === SRU_NS.v2Scan ? "2.0" : "1.2";
  return {
    binding: "soap",
    operation: SOAP_OPERATIONS[local] ?? local.replace(/Request$/, ""),
    params,
    soapEnvelope: envelope,
    impliedVersion,
  };
}

/** A record schema the server writes, with the names a request may use for it. */
export interface RecordSchemaSpec {
  name: "marcxml" | "dc";
  /** The URI the response names it by. */
  uri: string;
  title: string;
  /** Where its XML Schema is. */
  location: string;
}

export const RECORD_SCHEMAS: readonly RecordSchemaSpec[] = [
  {
    name: "marcxml",
    uri: "info:srw/schema/1/marcxml-v1.1",
    title: "MARCXML (MARC 21 slim)",
    location: "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
  },
  {
    name: "dc",
    uri: "info:srw/schema/1/dc-v1.1",
    title: "Dublin Core",
    location: "http://www.loc.gov/standards/sru/recordSchemas/dc-schema.xsd",
  },
];

// Spellings seen in the wild, lower-cased: yaz writes "marcxml-1.1", the DNB "MARC21-xml".
const SCHEMA_ALIASES: ReadonlyMap<string, RecordSchemaSpec["name"]> = new Map([
  ["marcxml", "marcxml"],
  ["marc21", "marcxml"],
  ["marc21-xml", "marcxml"],
  ["marc21slim", "marcxml"],
  ["info:srw/schema/1/marcxml-v1.1", "marcxml"],
  ["info:srw/schema/1/marcxml-1.1", "marcxml"],
  ["http://www.loc.gov/marc21/slim", "marcxml"],
  ["dc", "dc"],
  ["info:srw/schema/1/dc-v1.1", "dc"],
  ["info:srw/schema/1/dc-schema", "dc"],
  ["http://purl.org/dc/elements/1.1/", "dc"],
]);

/** The schema a request's `recordSchema` names, or undefined when the server does not have it. */
export function findRecordSchema(name: string): RecordSchemaSpec | undefined {
  const key = SCHEMA_ALIASES.get(name.trim().toLowerCase());
  return RECORD_SCHEMAS.find((s) => s.name === key);
}

/** The page sizes a request is checked against. */
export interface SruPageLimits {
  /** The most records one response carries; more is clamped to this. */
  maxRecords: number;
  /** Records per response when the request does not say. */
  defaultRecords: number;
}

/** What a searchRetrieve request asks for, once checked. */
export interface SearchSpec {
  /** The CQL query, with a `sortBy` clause appended when the request's `sortKeys` asked for one. */
  query: string;
  /** 1-based. */
  startRecord: number;
  /** After clamping to the server's limit. */
  maximumRecords: number;
  schema: RecordSchemaSpec;
  packing: RecordPacking;
}

interface Interpreted {
  version: SruVersion;
  /** Parameters to echo, in the order the response schema lists them. */
  echo: Array<[string, string]>;
  /** Fatal when the operation cannot go ahead; otherwise warnings that go with the answer. */
  diagnostics: SruDiagnostic[];
  packing: RecordPacking;
}

/** A request checked into what the server does with it. */
export type SruOperation =
  | (Interpreted & { operation: "explain" })
  | (Interpreted & { operation: "scan" })
  /** `search` is undefined when a diagnostic stops the search. */
  | (Interpreted & { operation: "searchRetrieve"; search: SearchSpec | undefined });

/** The highest version the server speaks, the details of diagnostic 5. */
export const HIGHEST_VERSION: SruVersion = "2.0";

/**
 * The version to answer in: the one asked for when the server speaks it; otherwise the closest one,
 * with `unsupported` set (diagnostic 5). Without a `version`, a SOAP request's namespace decides,
 * else a request naming an `operation` is 1.2 (2.0 has no such parameter) and any other is 2.0.
 */
export function negotiateVersion(raw: SruRawRequest): { version: SruVersion; unsupported?: string } {
  const asked = raw.params.get("version")?.trim();
  if (asked === undefined || asked === "") {
    if (raw.impliedVersion) return { version: raw.impliedVersion };
    // SRU 2.0 has no `operation` parameter; a request that names one speaks 1.x.
    return { version: raw.operation === undefined ? "2.0" : "1.2" };
  }
  if (asked === "1.1" || asked === "1.2" || asked === "2.0") return { version: asked };
  // Answered in the closest version the server speaks, with diagnostic 5.
  return { version: Number.parseFloat(asked) < 2 ? "1.2" : "2.0", unsupported: asked };
}

/** A non-negative whole number within the safe integer range, or undefined. */
function wholeNumber(s: string): number | undefined {
  if (!/^\s*\d{1,15}\s*$/.test(s)) return undefined;
  return Number(s);
}

function packingOf(raw: SruRawRequest, version: SruVersion, diagnostics: SruDiagnostic[]): RecordPacking {
  // 2.0 renamed 1.x's recordPacking to recordXMLEscaping and gave recordPacking a new meaning
  // (packed/unpacked); a 2.0 request that still says recordPacking=xml means the old one.
  const p = raw.params;
  let name = "recordPacking";
  let value = p.get("recordPacking");
  if (version === "2.0") {
    const packing = value?.trim().toLowerCase();
    if (packing === "unpacked") {
      diagnostics.push(
        sruDiagnostic(
          SruDiagnosticCode.UnsupportedParameterValue,
          "recordPacking",
          "recordPacking=unpacked is not supported; records are always packed",
        ),
      );
    }
    if (p.has("recordXMLEscaping") || packing === "packed" || packing === "unpacked" || value === undefined) {
      name = "recordXMLEscaping";
      value = p.get("recordXMLEscaping");
    }
  }
  if (value === undefined || value.trim() === "") return "xml";
  const v = value.trim().toLowerCase();
  if (v === "xml" || v === "string") return v;
  diagnostics.push(
    sruDiagnostic(
      SruDiagnosticCode.UnsupportedRecordPacking,
      value,
      `${name} must be "xml" or "string", not "${value}"`,
    ),
  );
  return "xml";
}

function echoPairs(
  raw: SruRawRequest,
  version: SruVersion,
  names: readonly string[],
): Array<[string, string]> {
  const out: Array<[string, string]> = [["version", version]];
  for (const name of names) {
    const value = raw.params.get(name);
    if (value === undefined) continue;
    // Echoed elements are typed (positiveInteger, nonNegativeInteger); a malformed number stays out.
    if ((name === "startRecord" || name === "maximumRecords") && wholeNumber(value) === undefined) continue;
    out.push([name, value]);
  }
  return out;
}

const SEARCH_ECHO_V1 = [
  "query",
  "startRecord",
  "maximumRecords",
  "recordPacking",
  "recordSchema",
  "resultSetTTL",
  "sortKeys",
  "stylesheet",
];
const SEARCH_ECHO_V2 = [
  "query",
  "queryType",
  "startRecord",
  "maximumRecords",
  "recordXMLEscaping",
  "recordPacking",
  "recordSchema",
  "resultSetTTL",
  "sortKeys",
  "stylesheet",
];
const EXPLAIN_ECHO_V1 = ["recordPacking", "stylesheet"];
const EXPLAIN_ECHO_V2 = ["recordXMLEscaping", "recordPacking", "stylesheet"];

/**
 * Checks a request's parameters. Version first (an unsupported one stops everything, diagnostic 5),
 * then the operation (4 for one the server does not have), then every searchRetrieve parameter,
 * so that one answer names all that is wrong with a request. `maximumRecords` above the limit is
 * clamped, not refused: the SRU specifications let the server return fewer records than asked, and
 * a diagnostic would make clients built on ZOOM (pazpar2, discovery layers) drop the whole answer.
 */
export function interpretRequest(raw: SruRawRequest, limits: SruPageLimits): SruOperation {
  const { version, unsupported } = negotiateVersion(raw);
  const p = raw.params;
  const query = p.get("query");
  const operation =
    raw.operation?.trim() ||
    (query !== undefined ? "searchRetrieve" : p.has("scanClause") ? "scan" : "explain");
  const diagnostics: SruDiagnostic[] = [];
  const v2 = version === "2.0";

  if (unsupported !== undefined) {
    diagnostics.push(
      sruDiagnostic(
        SruDiagnosticCode.UnsupportedVersion,
        HIGHEST_VERSION,
        `SRU version ${unsupported} is not supported; this server speaks 1.1, 1.2 and 2.0`,
      ),
    );
    const echo = echoPairs(raw, version, v2 ? SEARCH_ECHO_V2 : SEARCH_ECHO_V1);
    if (operation === "searchRetrieve")
      return { operation, version, echo, diagnostics, packing: "xml", search: undefined };
    return { operation: "explain", version, echo, diagnostics, packing: "xml" };
  }

  if (operation === "explain") {
    const packing = packingOf(raw, version, diagnostics);
    return {
      operation,
      version,
      echo: echoPairs(raw, version, v2 ? EXPLAIN_ECHO_V2 : EXPLAIN_ECHO_V1),
      diagnostics,
      packing,
    };
  }
  if (operation === "scan") {
    diagnostics.push(sruDiagnostic(SruDiagnosticCode.UnsupportedOperation, "scan", "scan is not supported"));
    return { operation, version, echo: echoPairs(raw, version, ["scanClause"]), diagnostics, packing: "xml" };
  }
  if (operation !== "searchRetrieve") {
    diagnostics.push(
      sruDiagnostic(
        SruDiagnosticCode.UnsupportedOperation,
        operation,
        `operation "${operation}" is not supported; this server answers explain and searchRetrieve`,
      ),
    );
    return { operation: "explain", version, echo: echoPairs(raw, version, []), diagnostics, packing: "xml" };
  }

  const echo = echoPairs(raw, version, v2 ? SEARCH_ECHO_V2 : SEARCH_ECHO_V1);
  if (query === undefined || query.trim() === "") {
    const message =
      p.has("x-pquery") || p.has("x-cql")
        ? "the query parameter (CQL) is missing; PQF (x-pquery) and XCQL (x-cql) queries are not supported"
        : "the query parameter is missing";
    diagnostics.push(sruDiagnostic(SruDiagnosticCode.MandatoryParameterNotSupplied, "query", message));
  }
  const queryType = p.get("queryType")?.trim();
  if (queryType !== undefined && queryType !== "" && queryType.toLowerCase() !== "cql") {
    diagnostics.push(
      sruDiagnostic(
        SruDiagnosticCode.UnsupportedParameterValue,
        "queryType",
        `queryType "${queryType}" is not supported; queries are CQL`,
      ),
    );
  }
  let startRecord = 1;
  const start = p.get("startRecord");
  if (start !== undefined && start.trim() !== "") {
    const n = wholeNumber(start);
    if (n === undefined || n < 1) {
      diagnostics.push(
        sruDiagnostic(
          SruDiagnosticCode.UnsupportedParameterValue,
          "startRecord",
          `startRecord must be a whole number from 1, not "${start}"`,
        ),
      );
    } else startRecord = n;
  }
  let maximumRecords = limits.defaultRecords;
  const max = p.get("maximumRecords");
  if (max !== undefined && max.trim() !== "") {
    const n = wholeNumber(max);
    if (n === undefined) {
      diagnostics.push(
        sruDiagnostic(
          SruDiagnosticCode.UnsupportedParameterValue,
          "maximumRecords",
          `maximumRecords must be a whole number from 0, not "${max}"`,
        ),
      );
    } else maximumRecords = Math.min(n, limits.maxRecords);
  }
  const schemaName = p.get("recordSchema");
  let schema = RECORD_SCHEMAS[0]!;
  if (schemaName !== undefined && schemaName.trim() !== "") {
    const found = findRecordSchema(schemaName);
    if (found) schema = found;
    else {
      diagnostics.push(
        sruDiagnostic(
          SruDiagnosticCode.UnknownSchema,
          schemaName,
          `record schema "${schemaName}" is not available; ask for marcxml (${RECORD_SCHEMAS[0]!.uri}) or dc (${RECORD_SCHEMAS[1]!.uri})`,
        ),
      );
    }
  }
  const packing = packingOf(raw, version, diagnostics);
  if (diagnostics.length > 0 || query === undefined) {
    return { operation, version, echo, diagnostics, packing, search: undefined };
  }
  const sortKeys = p.get("sortKeys");
  const sorted = sortKeys !== undefined && sortKeys.trim() !== "" ? withSortKeys(query, sortKeys) : undefined;
  if (sorted?.diagnostic) diagnostics.push(sorted.diagnostic);
  return {
    operation,
    version,
    echo,
    diagnostics,
    packing,
    search: { query: sorted?.query ?? query, startRecord, maximumRecords, schema, packing },
  };
}

/** Sort indexes the profile offers, by every name a sortKeys path may use for them. */
function sortIndex(path: string): string | undefined {
  const lower = path.trim().toLowerCase();
  const canonical =
    LRS_CQL_PROFILE.sortKeys.find((k) => k.toLowerCase() === lower) ??
    Object.entries(LRS_CQL_PROFILE.indexAliases).find(([alias]) => alias.toLowerCase() === lower)?.[1];
  return canonical !== undefined && LRS_CQL_PROFILE.sortKeys.includes(canonical) ? canonical : undefined;
}

/**
 * SRU 1.1's `sortKeys` ("path,schema,ascending,caseSensitive,missingValue", space-separated) as a
 * CQL `sortBy` clause appended to the query, which is how the search engine sorts. A query that
 * has its own `sortBy` keeps it. A key the server cannot sort by drops the sort with a non-fatal
 * diagnostic 88: the records still come, in relevance order. Case sensitivity and missing-value
 * handling are not offered and are ignored.
 */
export function withSortKeys(
  query: string,
  sortKeys: string,
): { query: string; diagnostic?: SruDiagnostic | undefined } {
  try {
    if (parseCql(query).sortBy) return { query };
  } catch {
    // The backend answers a query that does not parse with its diagnostic; the sort is moot.
    return { query };
  }
  const keys: string[] = [];
  for (const key of sortKeys.trim().split(/\s+/)) {
    const [path = "", , ascending = "1"] = key.split(",");
    const index = sortIndex(path);
    if (index === undefined) {
      return {
        query,
        diagnostic: sruDiagnostic(
          SruDiagnosticCode.UnsupportedSortPath,
          path,
          `cannot sort by "${path}" (sortable: ${LRS_CQL_PROFILE.sortKeys.join(", ")}); records are in relevance order`,
        ),
      };
    }
    if (!index.includes(".")) keys.push(index);
    else keys.push(`${index}/sort.${ascending.trim() === "0" ? "descending" : "ascending"}`);
  }
  return { query: `${query} sortBy ${keys.join(" ")}` };
}
