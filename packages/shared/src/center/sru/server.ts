/**
 * An SRU server (Search/Retrieve via URL, versions 1.1, 1.2 and 2.0) over plain HTTP, so that
 * existing clients — yaz-client, SRU client libraries, discovery layers — can search a center's
 * union catalog. It answers `explain` and `searchRetrieve` by GET, POST and SOAP; the search itself
 * is the backend's (the node's search engine), which gets CQL and a page and returns MARC records.
 */
import http from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { CqlParseError } from "../../cql/errors.js";
import type { Logger } from "../../log.js";
import { toMarcXml } from "../../marc/marcxml.js";
import type { MarcRecord } from "../../marc/record.js";
import { toSrwDcXml } from "./dc.js";
import { type SruDiagnostic, SruDiagnosticCode, sruDiagnostic, sruDiagnosticUri } from "./diagnostics.js";
import { zeerexRecord } from "./explain.js";
import {
  interpretRequest,
  negotiateVersion,
  type RecordSchemaSpec,
  rawFromForm,
  rawFromSoap,
  SOAP_11_ENVELOPE,
  SOAP_12_ENVELOPE,
  SoapRequestError,
  SRU_NS,
  type SruOperation,
  type SruRawRequest,
  type SruVersion,
} from "./request.js";
import {
  document,
  explainResponse,
  type ResponseRecord,
  scanResponse,
  searchRetrieveResponse,
  soapFault,
} from "./response.js";
import { escapeXml } from "./xml.js";

/** A record the backend found: its id (the cluster id in a union catalog) and its MARC. */
export interface SruRecord {
  id: string;
  marc: MarcRecord;
}

/** One page of a search. */
export interface SruSearchResult {
  /** How many records match in all. */
  total: number;
  /** The records from `startRecord` on, at most `maximumRecords` of them. */
  records: SruRecord[];
}

/** What the SRU server searches with: the node's search engine. */
export interface SruBackend {
  /**
   * Runs a CQL query and returns one page. `startRecord` is 1-based; `maximumRecords` may be 0
   * (count only). The signal aborts when the client goes away, the search takes too long or the
   * server closes.
   *
   * @throws {CqlParseError} for a query that does not parse or asks for what the engine does not
   *   offer; the client gets its diagnostic. Anything else is answered as a system error.
   */
  search(
    cql: string,
    startRecord: number,
    maximumRecords: number,
    signal: AbortSignal,
  ): Promise<SruSearchResult>;
}

export interface SruLimits {
  /** The most records one response carries; a larger maximumRecords is clamped to it. */
  maxRecords: number;
  /** Requests larger than this (URL for GET, body for POST and SOAP) are refused with HTTP 413. */
  maxRequestBytes: number;
  /** Records per response when the request does not say. */
  defaultRecords: number;
  /** A search that takes longer is abandoned with diagnostic 2. */
  searchTimeoutMs: number;
}

export const DEFAULT_SRU_LIMITS: Readonly<SruLimits> = {
  maxRecords: 100,
  maxRequestBytes: 64 * 1024,
  defaultRecords: 10,
  searchTimeoutMs: 30_000,
};

/** What explain says about the database. */
export interface SruDatabaseInfo {
  title: string;
  description: string;
  /** The node serving it. */
  nodeId: string;
}

export interface SruServerOptions {
  /** The address to listen on; loopback unless the operator says otherwise. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** The base URL's path, the SRU "database". Default `/sru`. */
  path?: string;
  backend: SruBackend;
  databaseInfo: SruDatabaseInfo;
  limits?: Partial<SruLimits>;
  log: Logger;
  /** Told of every searchRetrieve answered (traffic accounting): how long, and whether it failed. */
  onSearch?: (ms: number, failed: boolean) => void;
  /** Other paths this listener answers besides the SRU base URL (the node's /metrics). */
  extraRoutes?: Record<string, (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>>;
}

export interface SruServer {
  /** Starts listening; resolves with the base URL (`http://127.0.0.1:8210/sru`). */
  start(): Promise<string>;
  /** Abandons searches in flight, stops listening and closes connections. Safe to call more than once. */
  close(): Promise<void>;
}

/** Creates an SRU server; nothing listens until `start()`. Throws RangeError for impossible limits. */
export function createSruServer(opts: SruServerOptions): SruServer {
  return new SruHttpServer(opts, toLimits(opts.limits), toPath(opts.path ?? "/sru"));
}

function toLimits(given: Partial<SruLimits> | undefined): SruLimits {
  const limits = { ...DEFAULT_SRU_LIMITS };
  for (const [key, value] of Object.entries(given ?? {}) as Array<[keyof SruLimits, number | undefined]>) {
    if (value !== undefined) limits[key] = value;
  }
  for (const [key, value] of Object.entries(limits)) {
    const least = key === "defaultRecords" ? 0 : 1;
    if (!Number.isSafeInteger(value) || value < least) {
      throw new RangeError(`SRU limits.${key} must be a whole number of at least ${least}, not ${value}`);
    }
  }
  if (limits.defaultRecords > limits.maxRecords) {
    throw new RangeError(
      `SRU limits.defaultRecords (${limits.defaultRecords}) is above limits.maxRecords (${limits.maxRecords})`,
    );
  }
  return limits;
}

function toPath(path: string): string {
  if (!path.startsWith("/")) throw new RangeError(`the SRU path must start with "/", not "${path}"`);
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}

const XML_TYPE = "text/xml; charset=utf-8";
const SOAP_12_TYPE = "application/soap+xml; charset=utf-8";

function mediaType(header: string | undefined): string | undefined {
  const type = header?.split(";")[0]?.trim().toLowerCase();
  return type === "" ? undefined : type;
}

type Body = { text: string } | { tooLarge: number } | { gone: true };

/**
 * Reads a request body of at most `max` bytes; stops reading at the first byte over. A client that
 * goes away before the end is `gone`.
 */
function readBody(req: http.IncomingMessage, max: number): Promise<Body> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > max) {
        done = true;
        req.pause();
        resolve({ tooLarge: size });
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (done) return;
      done = true;
      resolve({ text: Buffer.concat(chunks).toString("utf8") });
    });
    const gone = () => {
      if (done) return;
      done = true;
      resolve({ gone: true });
    };
    req.on("error", gone);
    req.on("close", gone);
  });
}

/** Settles with `promise`, or rejects with the signal's reason as soon as it aborts. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

const ABORT_TIMEOUT = "search timeout";
const ABORT_CLOSING = "server closing";
const ABORT_CLIENT_GONE = "client gone";

/** A response body and what went into it. */
interface Answer {
  body: string;
  diagnostics: SruDiagnostic[];
  hits?: number;
}

/** What one request came to, for the request log line. */
interface Outcome {
  /** The HTTP status sent; 499 (nginx's "client closed request") when the client left first and nothing was. */
  status: number;
  binding?: string;
  operation?: string;
  version?: string;
  hits?: number;
  diagnostics?: number[];
}

class SruHttpServer implements SruServer {
  readonly #server: http.Server;
  readonly #inFlight = new Set<AbortController>();
  #closing: Promise<void> | undefined;

  constructor(
    private readonly opts: SruServerOptions,
    private readonly limits: SruLimits,
    private readonly path: string,
  ) {
    this.#server = http.createServer(
      {
        // The URL of a GET is the request; let it reach the size check instead of node's 431.
        maxHeaderSize: Math.max(16 * 1024, limits.maxRequestBytes + 8 * 1024),
        requestTimeout: 60_000,
      },
      (req, res) => {
        this.#handle(req, res).catch((err: unknown) => {
          opts.log.error({ err }, "SRU request failed");
          if (!res.headersSent) this.#plain(res, 500, "Internal server error\n");
          else res.destroy();
        });
      },
    );
  }

  start(): Promise<string> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(this.opts.port, this.opts.host, () => {
        this.#server.off("error", reject);
        const addr = this.#server.address() as AddressInfo;
        const host = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
        const url = `http://${host}:${addr.port}${this.path}`;
        this.opts.log.info({ url }, "SRU server listening");
        resolve(url);
      });
    });
  }

  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      for (const c of this.#inFlight) c.abort(ABORT_CLOSING);
      if (!this.#server.listening) {
        resolve();
        return;
      }
      this.#server.close(() => resolve());
      this.#server.closeIdleConnections();
      // Searches were aborted, so answers are on their way; a client that does not read its
      // answer does not hold the shutdown up.
      setTimeout(() => this.#server.closeAllConnections(), 2_000).unref();
    });
    return this.#closing;
  }

  async #handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = performance.now();
    const extra = this.opts.extraRoutes?.[(req.url ?? "/").split("?")[0]!];
    if (extra) return extra(req, res);
    const outcome = await this.#answer(req, res);
    if (outcome.operation === "searchRetrieve")
      this.opts.onSearch?.(
        performance.now() - started,
        outcome.status >= 500 ||
          (outcome.diagnostics ?? []).some(
            (d) =>
              d === SruDiagnosticCode.GeneralSystemError ||
              d === SruDiagnosticCode.SystemTemporarilyUnavailable,
          ),
      );
    this.opts.log.debug(
      { method: req.method, ...outcome, ms: Math.round(performance.now() - started) },
      "SRU request",
    );
  }

  async #answer(req: http.IncomingMessage, res: http.ServerResponse): Promise<Outcome> {
    const target = req.url ?? "/";
    let url: URL;
    try {
      url = new URL(target, "http://sru.invalid");
    } catch {
      return this.#plain(res, 400, "Bad request target\n");
    }
    if (url.pathname !== this.path && url.pathname !== `${this.path}/`) {
      return this.#plain(res, 404, `Not found. The SRU base URL's path is ${this.path}\n`);
    }
    let raw: SruRawRequest;
    if (req.method === "GET" || req.method === "HEAD") {
      const size = Buffer.byteLength(target);
      const query = url.search.slice(1);
      if (size > this.limits.maxRequestBytes) return this.#tooLarge(res, size, rawFromForm(query, "get"));
      raw = rawFromForm(query, "get");
    } else if (req.method === "POST") {
      const type = mediaType(req.headers["content-type"]);
      const soap =
        type === "text/xml" ||
        type === "application/xml" ||
        type === "application/soap+xml" ||
        (type === undefined && req.headers.soapaction !== undefined);
      if (!soap && type !== "application/x-www-form-urlencoded") {
        return this.#plain(
          res,
          415,
          "An SRU POST is application/x-www-form-urlencoded; an SRU SOAP request is text/xml\n",
        );
      }
      const envelope = type === "application/soap+xml" ? SOAP_12_ENVELOPE : SOAP_11_ENVELOPE;
      const declared = Number(req.headers["content-length"]);
      // An unread body says nothing of its version; SOAP is 1.x only, and 1.2 is what POST clients send.
      const tooLargeRaw = (): SruRawRequest =>
        soap
          ? {
              binding: "soap",
              operation: undefined,
              params: new Map(),
              soapEnvelope: envelope,
              impliedVersion: "1.2",
            }
          : { binding: "post", operation: undefined, params: new Map(), impliedVersion: "1.2" };
      if (declared > this.limits.maxRequestBytes) return this.#tooLarge(res, declared, tooLargeRaw());
      const body = await readBody(req, this.limits.maxRequestBytes);
      if ("gone" in body) return { status: 499 };
      if ("tooLarge" in body) return this.#tooLarge(res, body.tooLarge, tooLargeRaw());
      if (soap) {
        try {
          raw = rawFromSoap(body.text);
        } catch (err) {
          if (!(err instanceof SoapRequestError)) throw err;
          // SOAP 1.1 answers a Fault with HTTP 500, whoever is at fault.
          this.#send(res, 500, soapFault(envelope, err.message), envelope);
          return { status: 500, binding: "soap" };
        }
      } else raw = rawFromForm(body.text, "post");
    } else {
      res.setHeader("Allow", "GET, HEAD, POST");
      return this.#plain(res, 405, "SRU is GET, POST or SOAP (POST)\n");
    }

    const op = interpretRequest(raw, this.limits);
    const abort = new AbortController();
    const onClose = () => {
      if (!res.writableFinished) abort.abort(ABORT_CLIENT_GONE);
    };
    res.on("close", onClose);
    try {
      const answer = await this.#execute(op, req, abort);
      if (abort.signal.reason === ABORT_CLIENT_GONE) return { status: 499, binding: raw.binding };
      this.#send(res, 200, document(answer.body, raw.soapEnvelope), raw.soapEnvelope);
      return {
        status: 200,
        binding: raw.binding,
        operation: op.operation,
        version: op.version,
        hits: answer.hits,
        diagnostics: answer.diagnostics.map((d) => d.code),
      };
    } finally {
      res.off("close", onClose);
    }
  }

  async #execute(op: SruOperation, req: http.IncomingMessage, abort: AbortController): Promise<Answer> {
    switch (op.operation) {
      case "explain":
        return {
          diagnostics: op.diagnostics,
          body: explainResponse(op.version, {
            zeerex: zeerexRecord({
              ...this.#publicAddress(req),
              database: this.path.slice(1),
              title: this.opts.databaseInfo.title,
              description: this.opts.databaseInfo.description,
              nodeId: this.opts.databaseInfo.nodeId,
              version: op.version,
              limits: this.limits,
            }),
            packing: op.packing,
            echo: op.echo,
            diagnostics: op.diagnostics,
          }),
        };
      case "scan":
        return {
          diagnostics: op.diagnostics,
          body: scanResponse(op.version, { echo: op.echo, diagnostics: op.diagnostics }),
        };
      case "searchRetrieve":
        return this.#searchRetrieve(op, abort);
      default: {
        const _never: never = op;
        return _never;
      }
    }
  }

  async #searchRetrieve(
    op: Extract<SruOperation, { operation: "searchRetrieve" }>,
    abort: AbortController,
  ): Promise<Answer> {
    const failed = (diagnostics: SruDiagnostic[]): Answer => ({
      diagnostics,
      body: searchRetrieveResponse(op.version, {
        total: 0,
        records: [],
        packing: op.packing,
        nextRecordPosition: undefined,
        echo: op.echo,
        diagnostics,
      }),
    });
    const spec = op.search;
    if (!spec) return failed(op.diagnostics);

    const timer = setTimeout(() => abort.abort(ABORT_TIMEOUT), this.limits.searchTimeoutMs);
    this.#inFlight.add(abort);
    let result: SruSearchResult;
    try {
      result = await abortable(
        this.opts.backend.search(spec.query, spec.startRecord, spec.maximumRecords, abort.signal),
        abort.signal,
      );
    } catch (err) {
      return failed([...op.diagnostics, this.#searchFailure(err, abort.signal)]);
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(abort);
    }

    const diagnostics = [...op.diagnostics];
    const total = result.total;
    // Never more than asked, whatever the backend returned.
    const records = result.records.slice(0, spec.maximumRecords);
    if (spec.maximumRecords > 0 && spec.startRecord > total && !(total === 0 && spec.startRecord === 1)) {
      diagnostics.push(
        sruDiagnostic(
          SruDiagnosticCode.FirstRecordOutOfRange,
          String(spec.startRecord),
          `startRecord ${spec.startRecord} is beyond the last of the ${total} records found`,
        ),
      );
    }
    const rendered = records.map((r, i) => this.#render(r, spec.schema, spec.startRecord + i, op.version));
    const after = spec.startRecord + records.length;
    return {
      hits: total,
      diagnostics,
      body: searchRetrieveResponse(op.version, {
        total,
        records: rendered,
        packing: spec.packing,
        nextRecordPosition: records.length > 0 && after <= total ? after : undefined,
        echo: op.echo,
        diagnostics,
      }),
    };
  }

  #searchFailure(err: unknown, signal: AbortSignal): SruDiagnostic {
    if (err instanceof CqlParseError) {
      return sruDiagnostic(err.diagnostic, err.details ?? String(err.position), err.message);
    }
    if (signal.aborted && signal.reason === ABORT_TIMEOUT) {
      this.opts.log.warn({ timeoutMs: this.limits.searchTimeoutMs }, "SRU search timed out");
      return sruDiagnostic(
        SruDiagnosticCode.SystemTemporarilyUnavailable,
        undefined,
        `the search did not finish within ${this.limits.searchTimeoutMs} ms`,
      );
    }
    if (signal.aborted && signal.reason === ABORT_CLOSING) {
      return sruDiagnostic(
        SruDiagnosticCode.SystemTemporarilyUnavailable,
        undefined,
        "the server is shutting down",
      );
    }
    if (signal.aborted) return sruDiagnostic(SruDiagnosticCode.GeneralSystemError);
    // The cause goes to the log, not to the client.
    this.opts.log.error({ err }, "SRU search failed");
    return sruDiagnostic(SruDiagnosticCode.GeneralSystemError, undefined, "the search failed");
  }

  #render(
    record: SruRecord,
    schema: RecordSchemaSpec,
    position: number,
    version: SruVersion,
  ): ResponseRecord {
    try {
      const xml = schema.name === "dc" ? toSrwDcXml(record.marc) : toMarcXml(record.marc).trimEnd();
      return { schemaUri: schema.uri, xml, position };
    } catch (err) {
      // One unwritable record becomes a surrogate diagnostic in its place; the others still go.
      this.opts.log.warn({ err, record: record.id }, "SRU record could not be written");
      const ns = version === "2.0" ? SRU_NS.v2Diagnostic : SRU_NS.v1Diagnostic;
      return {
        schemaUri: "info:srw/schema/1/diagnostics-v1.1",
        position,
        xml:
          `<diagnostic xmlns="${ns}"><uri>${sruDiagnosticUri(SruDiagnosticCode.SystemErrorRetrievingRecords)}</uri>` +
          `<details>${escapeXml(record.id)}</details><message>the record could not be written in this schema</message></diagnostic>`,
      };
    }
  }

  /** Host and port as the client addressed the server (the Host header), else the bound address. */
  #publicAddress(req: http.IncomingMessage): { host: string; port: number } {
    const bound = this.#server.address() as AddressInfo;
    const header = req.headers.host;
    if (header) {
      try {
        const u = new URL(`http://${header}`);
        return { host: u.hostname.replace(/^\[|\]$/g, ""), port: u.port === "" ? 80 : Number(u.port) };
      } catch {
        // A malformed Host header: fall back to the address the server is bound to.
      }
    }
    return { host: bound.address, port: bound.port };
  }

  /** Refuses a request over the size limit: HTTP 413 with a diagnostic stating the limit. */
  #tooLarge(res: http.ServerResponse, size: number, raw: SruRawRequest): Outcome {
    const max = this.limits.maxRequestBytes;
    const diagnostic = sruDiagnostic(
      SruDiagnosticCode.TooManyCharactersInQuery,
      String(max),
      `the request is ${size} bytes; this server accepts requests of at most ${max} bytes`,
    );
    const { version } = negotiateVersion(raw);
    const body =
      raw.params.get("operation") === "explain"
        ? explainResponse(version, {
            zeerex: "",
            packing: "xml",
            echo: [["version", version]],
            diagnostics: [diagnostic],
          })
        : searchRetrieveResponse(version, {
            total: 0,
            records: [],
            packing: "xml",
            nextRecordPosition: undefined,
            echo: [["version", version]],
            diagnostics: [diagnostic],
          });
    // The rest of the body is not read; the connection cannot be reused.
    res.setHeader("Connection", "close");
    this.#send(res, 413, document(body, raw.soapEnvelope), raw.soapEnvelope);
    return { status: 413, binding: raw.binding, diagnostics: [diagnostic.code] };
  }

  #send(res: http.ServerResponse, status: number, xml: string, soapEnvelope: string | undefined): void {
    const body = Buffer.from(xml, "utf8");
    // A closing server keeps no connection open after its last answers.
    if (this.#closing) res.setHeader("Connection", "close");
    res.writeHead(status, {
      "Content-Type": soapEnvelope === SOAP_12_ENVELOPE ? SOAP_12_TYPE : XML_TYPE,
      "Content-Length": body.length,
      "Cache-Control": "no-store",
    });
    res.end(body);
  }

  #plain(res: http.ServerResponse, status: number, text: string): Outcome {
    res.writeHead(status, {
      "Content-Type": "text/plain; charset=utf-8",
      "Content-Length": Buffer.byteLength(text),
    });
    res.end(text);
    return { status };
  }
}
