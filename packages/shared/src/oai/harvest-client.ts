/**
 * The harvesting side of OAI-PMH: one request to a data provider (Koha, Evergreen, FOLIO, Alma,
 * another LRS center), its answer read into headers, MARC records and the resumption token. A
 * response that is not OAI-PMH (an HTML error page, a truncated document) is told apart from an
 * OAI-PMH error (badResumptionToken, noRecordsMatch) and from the network failing, because a
 * harvester retries the last and not the first.
 */
import { SaxesParser } from "saxes";
import { escapeXml, parseMarcXml } from "../marc/marcxml.js";
import type { MarcRecord } from "../marc/record.js";

/** One record of a ListRecords page. */
export interface HarvestedRecord {
  identifier: string;
  datestamp: string;
  deleted: boolean;
  /** The record, when it has MARCXML metadata that reads. */
  record?: MarcRecord;
  /** Why the metadata could not be read as MARC (the record is skipped and reported). */
  problem?: string;
}

export interface OaiPage {
  responseDate: string;
  records: HarvestedRecord[];
  /** The token for the next page; undefined or empty when the list is complete. */
  resumptionToken?: string;
  completeListSize?: number;
  /** The OAI-PMH error the provider answered with, if any. */
  error?: { code: string; message: string };
}

/** The answer was not an OAI-PMH response at all. */
export class OaiResponseError extends Error {
  override readonly name = "OaiResponseError";
}

/** The provider could not be reached, or answered with an HTTP error: worth trying again. */
export class OaiUnavailableError extends Error {
  override readonly name = "OaiUnavailableError";
  constructor(
    message: string,
    /** Seconds the provider asked to wait (HTTP Retry-After), if it said. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

const localName = (n: string) => n.slice(n.indexOf(":") + 1);

/**
 * Reads a ListRecords (or GetRecord, or error) response.
 *
 * @throws OaiResponseError when the text is not a well-formed OAI-PMH document
 */
export function parseOaiResponse(xml: string): OaiPage {
  const start = xml.trimStart().slice(0, 200).toLowerCase();
  if (start.startsWith("<!doctype html") || start.startsWith("<html")) {
    throw new OaiResponseError(
      "the provider answered with an HTML page, not OAI-PMH XML (is the base URL right?)",
    );
  }
  const parser = new SaxesParser({ position: true });
  const page: OaiPage = { responseDate: "", records: [] };
  const path: string[] = [];
  let text = "";
  let rec: HarvestedRecord | undefined;
  let metadata: string[] | undefined;
  let metadataDepth = 0;
  let tokenAttrs: Record<string, string> = {};
  let errorCode: string | undefined;
  let sawRoot = false;
  let failure: string | undefined;
  parser.on("error", (err) => {
    failure ??= `${err.message}`;
  });
  parser.on("opentag", (tag) => {
    const name = localName(tag.name);
    if (metadata) {
      metadataDepth++;
      const attrs = Object.entries(tag.attributes as Record<string, string>)
        .map(([k, v]) => ` ${k}="${escapeXml(v)}"`)
        .join("");
      metadata.push(`<${tag.name}${attrs}>`);
      return;
    }
    if (path.length === 0) {
      if (name !== "OAI-PMH") failure ??= `the document is <${tag.name}>, not <OAI-PMH>`;
      sawRoot = true;
    }
    path.push(name);
    text = "";
    if (name === "record" && path.length === 3) rec = { identifier: "", datestamp: "", deleted: false };
    if (name === "header" && rec)
      rec.deleted = (tag.attributes as Record<string, string>).status === "deleted";
    if (name === "metadata" && rec) {
      metadata = [];
      metadataDepth = 0;
    }
    if (name === "resumptionToken") tokenAttrs = tag.attributes as Record<string, string>;
    if (name === "error") errorCode = (tag.attributes as Record<string, string>).code ?? "unknown";
  });
  parser.on("text", (t) => {
    if (metadata) metadata.push(escapeXml(t));
    else text += t;
  });
  parser.on("cdata", (t) => {
    if (metadata) metadata.push(escapeXml(t));
    else text += t;
  });
  parser.on("closetag", (tag) => {
    const name = localName(tag.name);
    if (metadata && metadataDepth > 0) {
      metadataDepth--;
      metadata.push(`</${tag.name}>`);
      return;
    }
    if (metadata && name === "metadata" && rec) {
      const xmlText = metadata.join("");
      metadata = undefined;
      const results = parseMarcXml(xmlText);
      const first = results[0];
      if (!first) rec.problem = "the metadata holds no MARCXML record";
      else if (!first.ok) rec.problem = `the MARCXML does not read: ${first.error.reason}`;
      else rec.record = first.record;
    }
    path.pop();
    const value = text.trim();
    switch (name) {
      case "responseDate":
        page.responseDate = value;
        break;
      case "identifier":
        if (rec && path[path.length - 1] === "header") rec.identifier = value;
        break;
      case "datestamp":
        if (rec && path[path.length - 1] === "header") rec.datestamp = value;
        break;
      case "record":
        if (rec && path.length === 2) {
          page.records.push(rec);
          rec = undefined;
        }
        break;
      case "resumptionToken":
        page.resumptionToken = value;
        if (tokenAttrs.completeListSize && /^\d+$/.test(tokenAttrs.completeListSize)) {
          page.completeListSize = Number(tokenAttrs.completeListSize);
        }
        break;
      case "error":
        page.error = { code: errorCode ?? "unknown", message: value };
        break;
    }
    text = "";
  });
  try {
    parser.write(xml).close();
  } catch (err) {
    failure ??= err instanceof Error ? err.message : String(err);
  }
  if (!sawRoot) throw new OaiResponseError("the answer is empty or not XML");
  if (failure) throw new OaiResponseError(`the answer is not well-formed OAI-PMH XML: ${failure}`);
  return page;
}

export interface OaiFetchOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * Sends one request (GET with the arguments in the query string) and reads the answer.
 *
 * @throws OaiUnavailableError when the provider cannot be reached, times out or answers HTTP 5xx/429
 * @throws OaiResponseError when it answers something that is not OAI-PMH
 */
export async function fetchOaiPage(
  baseUrl: string,
  args: Record<string, string>,
  o: OaiFetchOptions = {},
): Promise<OaiPage> {
  const url = new URL(baseUrl);
  for (const [k, v] of Object.entries(args)) url.searchParams.set(k, v);
  const signals = [AbortSignal.timeout(o.timeoutMs ?? 120_000), ...(o.signal ? [o.signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, {
      signal: AbortSignal.any(signals),
      headers: { accept: "text/xml, application/xml" },
    });
  } catch (err) {
    if (o.signal?.aborted) throw err;
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new OaiUnavailableError(
      `${url.origin} cannot be reached: ${cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err))}`,
    );
  }
  const body = await res.text().catch((err: unknown) => {
    throw new OaiUnavailableError(
      `${url.origin} broke off its answer: ${err instanceof Error ? err.message : String(err)}`,
    );
  });
  if (res.status >= 500 || res.status === 429) {
    const after = Number(res.headers.get("retry-after"));
    throw new OaiUnavailableError(
      `${url.origin} answered HTTP ${res.status}`,
      Number.isFinite(after) && after > 0 ? after : undefined,
    );
  }
  if (res.status !== 200) {
    throw new OaiResponseError(
      `${url.origin} answered HTTP ${res.status} ${res.statusText} to ${url.pathname}`,
    );
  }
  return parseOaiResponse(body);
}
