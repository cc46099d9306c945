/**
 * An OAI-PMH 2.0 data provider: the six verbs over a repository of MARC records that keeps the
 * order in which its items changed (see token.ts for why that order makes resumption safe).
 * Formats: `marc21` (MARCXML, what Koha, Evergreen, VuFind and Catmandu harvest) and `oai_dc`.
 */
import { MARCXML_NAMESPACE, toMarcXml } from "../../marc/marcxml.js";
import type { MarcRecord } from "../../marc/record.js";
import { OAI_DC_NAMESPACE, toOaiDcXml } from "../sru/dc.js";
import { escapeXml, XML_DECLARATION } from "../sru/xml.js";
import { type OaiDateRange, OaiError, type OaiRequest, oaiDatestamp, parseOaiRequest } from "./request.js";
import { decodeToken, encodeToken, type OaiListState } from "./token.js";

export const OAI_NAMESPACE = "http://www.openarchives.org/OAI/2.0/";

/** One item of the repository: a record, or the trace of one that was deleted. */
export interface OaiItem {
  identifier: string;
  /** Position in the order of changes. */
  seq: number;
  /** When it last changed (ISO 8601 instant). */
  changedAt: string;
  deleted: boolean;
  setSpecs: string[];
}

/** Chooses the items of a set; what it is is the repository's business. */
export type OaiSetFilter = unknown;

/** What the provider serves. */
export interface OaiRepository {
  readonly repositoryName: string;
  readonly adminEmails: readonly string[];
  /** An identifier of the form the repository gives (for Identify's description). */
  readonly sampleIdentifier: string;
  /** The namespace part of `oai:<namespace>:<local>` identifiers. */
  readonly identifierNamespace: string;
  earliestDatestamp(): string | undefined;
  sets(): Array<{ spec: string; name: string }>;
  /** The filter for a set; undefined when there is no such set. */
  setFilter(spec: string): OaiSetFilter | undefined;
  range(r: OaiDateRange): { after: number; upto: number };
  list(after: number, upto: number, set: OaiSetFilter | undefined, limit: number): OaiItem[];
  count(after: number, upto: number, set: OaiSetFilter | undefined): number;
  item(identifier: string): OaiItem | undefined;
  /** The record of a live item; undefined when it cannot be read. */
  record(item: OaiItem): MarcRecord | undefined;
}

export interface OaiProviderOptions {
  repository: OaiRepository;
  /** Records (or headers) per response. Default 100. */
  pageSize?: number;
  /** How long a resumption token is accepted. Default 24 hours. */
  tokenLifetimeMs?: number;
  now?: () => Date;
}

interface Format {
  prefix: string;
  schema: string;
  namespace: string;
  write: (r: MarcRecord) => string;
}

const FORMATS: readonly Format[] = [
  {
    prefix: "marc21",
    schema: "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd",
    namespace: MARCXML_NAMESPACE,
    write: (r) => toMarcXml(r).trimEnd(),
  },
  {
    prefix: "oai_dc",
    schema: "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    namespace: OAI_DC_NAMESPACE,
    write: toOaiDcXml,
  },
];

function formatOf(prefix: string): Format {
  const f = FORMATS.find((x) => x.prefix === prefix);
  if (!f) {
    throw new OaiError(
      "cannotDisseminateFormat",
      `metadataPrefix ${JSON.stringify(prefix)} is not served here (${FORMATS.map((x) => x.prefix).join(", ")})`,
    );
  }
  return f;
}

function header(item: OaiItem): string {
  const sets = item.setSpecs.map((s) => `<setSpec>${escapeXml(s)}</setSpec>`).join("");
  return `<header${item.deleted ? ' status="deleted"' : ""}><identifier>${escapeXml(item.identifier)}</identifier><datestamp>${oaiDatestamp(item.changedAt)}</datestamp>${sets}</header>`;
}

export interface OaiResponse {
  /** The whole XML document. */
  xml: string;
  verb?: string;
  /** The error code, when the answer is an error. */
  error?: string;
}

/** Answers OAI-PMH requests; `baseUrl` is what the request was sent to. */
export class OaiProvider {
  readonly #repo: OaiRepository;
  readonly #pageSize: number;
  readonly #lifetime: number;
  readonly #now: () => Date;

  constructor(o: OaiProviderOptions) {
    this.#repo = o.repository;
    this.#pageSize = o.pageSize ?? 100;
    if (!Number.isInteger(this.#pageSize) || this.#pageSize < 1) {
      throw new RangeError(`the OAI-PMH page size must be a whole number of at least 1, not ${o.pageSize}`);
    }
    this.#lifetime = o.tokenLifetimeMs ?? 24 * 3600_000;
    this.#now = o.now ?? (() => new Date());
  }

  answer(args: ReadonlyMap<string, readonly string[]>, baseUrl: string): OaiResponse {
    const now = this.#now();
    const head = `${XML_DECLARATION}<OAI-PMH xmlns="${OAI_NAMESPACE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="${OAI_NAMESPACE} http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd">\n<responseDate>${oaiDatestamp(now)}</responseDate>\n`;
    let req: OaiRequest | undefined;
    try {
      req = parseOaiRequest(args);
      const body = this.#verb(req, now, baseUrl);
      const attrs = [...args].map(([k, v]) => ` ${k}="${escapeXml(v[0] ?? "")}"`).join("");
      return {
        verb: req.verb,
        xml: `${head}<request${attrs}>${escapeXml(baseUrl)}</request>\n${body}\n</OAI-PMH>\n`,
      };
    } catch (err) {
      if (!(err instanceof OaiError)) throw err;
      // After badVerb or badArgument the request element carries no attributes (spec 3.6).
      const attrs =
        err.code === "badVerb" || err.code === "badArgument"
          ? ""
          : [...args].map(([k, v]) => ` ${k}="${escapeXml(v[0] ?? "")}"`).join("");
      return {
        ...(req ? { verb: req.verb } : {}),
        error: err.code,
        xml: `${head}<request${attrs}>${escapeXml(baseUrl)}</request>\n<error code="${err.code}">${escapeXml(err.message)}</error>\n</OAI-PMH>\n`,
      };
    }
  }

  #verb(req: OaiRequest, now: Date, baseUrl: string): string {
    switch (req.verb) {
      case "Identify":
        return this.#identify(baseUrl);
      case "ListMetadataFormats": {
        if (req.identifier !== undefined) this.#item(req.identifier);
        const formats = FORMATS.map(
          (f) =>
            `<metadataFormat><metadataPrefix>${f.prefix}</metadataPrefix><schema>${f.schema}</schema><metadataNamespace>${f.namespace}</metadataNamespace></metadataFormat>`,
        );
        return `<ListMetadataFormats>${formats.join("\n")}</ListMetadataFormats>`;
      }
      case "ListSets": {
        if (req.resumptionToken !== undefined) {
          throw new OaiError(
            "badResumptionToken",
            "ListSets is answered in one response: it issues no resumptionToken",
          );
        }
        const sets = this.#repo
          .sets()
          .map(
            (s) =>
              `<set><setSpec>${escapeXml(s.spec)}</setSpec><setName>${escapeXml(s.name)}</setName></set>`,
          );
        return `<ListSets>${sets.join("\n")}</ListSets>`;
      }
      case "GetRecord": {
        const format = formatOf(req.metadataPrefix);
        const item = this.#item(req.identifier);
        return `<GetRecord>${this.#record(item, format, true)}</GetRecord>`;
      }
      case "ListIdentifiers":
      case "ListRecords":
        return this.#list(req, now);
      default: {
        const _never: never = req;
        throw new Error(`unknown verb ${JSON.stringify(_never)}`);
      }
    }
  }

  #identify(baseUrl: string): string {
    const earliest = this.#repo.earliestDatestamp() ?? this.#now().toISOString();
    const emails = this.#repo.adminEmails.map((e) => `<adminEmail>${escapeXml(e)}</adminEmail>`).join("");
    return (
      `<Identify><repositoryName>${escapeXml(this.#repo.repositoryName)}</repositoryName><baseURL>${escapeXml(baseUrl)}</baseURL>` +
      `<protocolVersion>2.0</protocolVersion>${emails}<earliestDatestamp>${oaiDatestamp(earliest)}</earliestDatestamp>` +
      "<deletedRecord>persistent</deletedRecord><granularity>YYYY-MM-DDThh:mm:ssZ</granularity>" +
      `<description><oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">` +
      `<scheme>oai</scheme><repositoryIdentifier>${escapeXml(this.#repo.identifierNamespace)}</repositoryIdentifier><delimiter>:</delimiter><sampleIdentifier>${escapeXml(this.#repo.sampleIdentifier)}</sampleIdentifier></oai-identifier></description></Identify>`
    );
  }

  #item(identifier: string): OaiItem {
    const item = this.#repo.item(identifier);
    if (!item)
      throw new OaiError(
        "idDoesNotExist",
        `there is no item ${JSON.stringify(identifier)} in this repository`,
      );
    return item;
  }

  /** A `<record>`, or undefined when a live item's record cannot be read (left out of a list). */
  #record(item: OaiItem, format: Format, required: boolean): string | undefined {
    if (item.deleted) return `<record>${header(item)}</record>`;
    const rec = this.#repo.record(item);
    if (!rec) {
      if (required) {
        throw new OaiError(
          "cannotDisseminateFormat",
          `the record of ${item.identifier} cannot be read to disseminate it`,
        );
      }
      return undefined;
    }
    return `<record>${header(item)}<metadata>${format.write(rec)}</metadata></record>`;
  }

  #list(req: Extract<OaiRequest, { verb: "ListIdentifiers" | "ListRecords" }>, now: Date): string {
    let state: OaiListState;
    let resumed = false;
    if (req.resumptionToken !== undefined) {
      state = decodeToken(req.resumptionToken, now.getTime());
      resumed = true;
    } else {
      const set = req.set;
      if (set !== undefined && this.#repo.sets().length === 0) {
        throw new OaiError("noSetHierarchy", "this repository has no sets");
      }
      const filter = set === undefined ? undefined : this.#repo.setFilter(set);
      if (set !== undefined && filter === undefined) {
        throw new OaiError("noRecordsMatch", `there is no set ${JSON.stringify(set)} (ListSets names them)`);
      }
      const { after, upto } = this.#repo.range(req.range);
      state = {
        metadataPrefix: req.metadataPrefix!,
        ...(set !== undefined ? { set } : {}),
        after,
        upto,
        cursor: 0,
        completeListSize: 0,
        expires: now.getTime() + this.#lifetime,
      };
      formatOf(state.metadataPrefix);
      state.completeListSize = this.#repo.count(after, upto, filter);
      if (state.completeListSize === 0) throw new OaiError("noRecordsMatch", "no record matches the request");
    }
    const format = formatOf(state.metadataPrefix);
    const filter = state.set === undefined ? undefined : this.#repo.setFilter(state.set);
    if (state.set !== undefined && filter === undefined) {
      throw new OaiError(
        "badResumptionToken",
        `the set ${JSON.stringify(state.set)} of this resumptionToken is gone`,
      );
    }
    const items = this.#repo.list(state.after, state.upto, filter, this.#pageSize + 1);
    const more = items.length > this.#pageSize;
    const page = more ? items.slice(0, this.#pageSize) : items;
    const parts: string[] = [];
    for (const item of page) {
      const part = req.verb === "ListIdentifiers" ? header(item) : this.#record(item, format, false);
      if (part !== undefined) parts.push(part);
    }
    let token = "";
    const sent = state.cursor + page.length;
    const size = Math.max(state.completeListSize, sent);
    if (more) {
      const next = {
        ...state,
        after: page[page.length - 1]!.seq,
        cursor: sent,
        expires: now.getTime() + this.#lifetime,
      };
      token = `<resumptionToken expirationDate="${oaiDatestamp(new Date(next.expires))}" completeListSize="${size}" cursor="${state.cursor}">${encodeToken(next)}</resumptionToken>`;
    } else if (resumed) {
      token = `<resumptionToken completeListSize="${size}" cursor="${state.cursor}"/>`;
    }
    return `<${req.verb}>${parts.join("\n")}${token}</${req.verb}>`;
  }
}
