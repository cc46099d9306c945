/**
 * SRU response documents: searchRetrieveResponse, explainResponse and scanResponse in SRU 1.1/1.2
 * (namespace `http://www.loc.gov/zing/srw/`) or 2.0 (`…/search-ws/sruResponse`), element order as
 * the response schemas give it, and the SOAP envelope and Fault around them.
 */
import { type SruDiagnostic, sruDiagnosticUri } from "./diagnostics.js";
import { type RecordPacking, SOAP_12_ENVELOPE, SRU_NS, type SruVersion } from "./request.js";
import { escapeXml, textElement, XML_DECLARATION } from "./xml.js";

/** One record of a response, already written in its schema. */
export interface ResponseRecord {
  schemaUri: string;
  /** The record's XML (one element). */
  xml: string;
  /** 1-based position in the result set. */
  position: number;
}

function namespaces(version: SruVersion): { sru: string; diag: string } {
  return version === "2.0"
    ? { sru: SRU_NS.v2Response, diag: SRU_NS.v2Diagnostic }
    : { sru: SRU_NS.v1, diag: SRU_NS.v1Diagnostic };
}

/** `<zs:name>` with the text escaped, or nothing. */
function zs(name: string, value: string | number | undefined): string {
  return textElement(`zs:${name}`, value);
}

function diagnosticsXml(version: SruVersion, diagnostics: readonly SruDiagnostic[]): string {
  if (diagnostics.length === 0) return "";
  const ns = namespaces(version).diag;
  const items = diagnostics.map(
    (d) =>
      `<diag:diagnostic xmlns:diag="${ns}">` +
      textElement("diag:uri", sruDiagnosticUri(d.code)) +
      textElement("diag:details", d.details) +
      textElement("diag:message", d.message) +
      "</diag:diagnostic>",
  );
  return `<zs:diagnostics>${items.join("")}</zs:diagnostics>`;
}

function echoXml(element: string, echo: ReadonlyArray<readonly [string, string]>): string {
  return `<zs:${element}>${echo.map(([name, value]) => zs(name, value)).join("")}</zs:${element}>`;
}

/** A `<zs:record>`: schema, packing (1.x) or XML escaping (2.0), data, position. */
function recordXml(
  version: SruVersion,
  schemaUri: string,
  packing: RecordPacking,
  xml: string,
  position: number | undefined,
): string {
  const data = packing === "xml" ? xml : escapeXml(xml);
  return (
    "<zs:record>" +
    zs("recordSchema", schemaUri) +
    zs(version === "2.0" ? "recordXMLEscaping" : "recordPacking", packing) +
    `<zs:recordData>${data}</zs:recordData>` +
    zs("recordPosition", position) +
    "</zs:record>"
  );
}

export interface SearchRetrieveResponseInit {
  /** The number of matching records; 0 when a fatal diagnostic stopped the search. */
  total: number;
  records: readonly ResponseRecord[];
  packing: RecordPacking;
  nextRecordPosition: number | undefined;
  echo: ReadonlyArray<readonly [string, string]>;
  diagnostics: readonly SruDiagnostic[];
}

/**
 * A searchRetrieveResponse. In 2.0 the response carries no `version` (as yaz writes it) and ends
 * with `resultCountPrecision`, always `exact` here.
 */
export function searchRetrieveResponse(version: SruVersion, r: SearchRetrieveResponseInit): string {
  const records =
    r.records.length === 0
      ? ""
      : `<zs:records>${r.records.map((rec) => recordXml(version, rec.schemaUri, r.packing, rec.xml, rec.position)).join("")}</zs:records>`;
  return (
    `<zs:searchRetrieveResponse xmlns:zs="${namespaces(version).sru}">` +
    (version === "2.0" ? "" : zs("version", version)) +
    zs("numberOfRecords", r.total) +
    records +
    zs("nextRecordPosition", r.nextRecordPosition) +
    echoXml("echoedSearchRetrieveRequest", r.echo) +
    diagnosticsXml(version, r.diagnostics) +
    (version === "2.0" ? zs("resultCountPrecision", "exact") : "") +
    "</zs:searchRetrieveResponse>"
  );
}

export const ZEEREX_SCHEMA = "http://explain.z3950.org/dtd/2.0/";

/** An explainResponse carrying the server's ZeeRex record. */
export function explainResponse(
  version: SruVersion,
  r: {
    zeerex: string;
    packing: RecordPacking;
    echo: ReadonlyArray<readonly [string, string]>;
    diagnostics: readonly SruDiagnostic[];
  },
): string {
  return (
    `<zs:explainResponse xmlns:zs="${namespaces(version).sru}">` +
    zs("version", version) +
    recordXml(version, ZEEREX_SCHEMA, r.packing, r.zeerex, undefined) +
    echoXml("echoedExplainRequest", r.echo) +
    diagnosticsXml(version, r.diagnostics) +
    "</zs:explainResponse>"
  );
}

/** A scanResponse that only carries diagnostics (the server does not scan). */
export function scanResponse(
  version: SruVersion,
  r: { echo: ReadonlyArray<readonly [string, string]>; diagnostics: readonly SruDiagnostic[] },
): string {
  const ns = version === "2.0" ? SRU_NS.v2Scan : SRU_NS.v1;
  return (
    `<zs:scanResponse xmlns:zs="${ns}">` +
    zs("version", version) +
    echoXml("echoedScanRequest", r.echo) +
    diagnosticsXml(version, r.diagnostics) +
    "</zs:scanResponse>"
  );
}

/** A whole document: the XML declaration, then the body, in a SOAP envelope when `soapEnvelope` is given. */
export function document(body: string, soapEnvelope: string | undefined): string {
  if (soapEnvelope === undefined) return `${XML_DECLARATION}${body}\n`;
  return (
    `${XML_DECLARATION}<SOAP-ENV:Envelope xmlns:SOAP-ENV="${soapEnvelope}">` +
    `<SOAP-ENV:Body>${body}</SOAP-ENV:Body></SOAP-ENV:Envelope>\n`
  );
}

/** A SOAP Fault (1.1 or 1.2 shape) for a request that is not an SRU SOAP request. */
export function soapFault(soapEnvelope: string, reason: string): string {
  const body =
    soapEnvelope === SOAP_12_ENVELOPE
      ? "<SOAP-ENV:Fault><SOAP-ENV:Code><SOAP-ENV:Value>SOAP-ENV:Sender</SOAP-ENV:Value></SOAP-ENV:Code>" +
        `<SOAP-ENV:Reason><SOAP-ENV:Text xml:lang="en">${escapeXml(reason)}</SOAP-ENV:Text></SOAP-ENV:Reason></SOAP-ENV:Fault>`
      : `<SOAP-ENV:Fault><faultcode>SOAP-ENV:Client</faultcode><faultstring>${escapeXml(reason)}</faultstring></SOAP-ENV:Fault>`;
  return document(body, soapEnvelope);
}
